"""SDMX files written by pysdmx: structure messages and data messages, into a local folder.

Structures go out as SDMX-ML 3.0 (the current standard) and SDMX-ML 2.1 (what
most readers and registries still take, Eurostat's and sdmx1 among them); data as
SDMX-CSV 2.0 (for spreadsheets and pandas) and SDMX-ML 2.1 structure-specific (for
SDMX tools). Message headers carry fixed ids and times, so the same content gives
the same bytes: a structure file of one version never differs between writes.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from pysdmx.io import write_sdmx
from pysdmx.io.format import Format
from pysdmx.io.pd import PandasDataset
from pysdmx.model import Organisation
from pysdmx.model.message import Header

from topcop.exports.artefacts import StructureSet
from topcop.exports.design import AGENCY, INDICATORS_FLOW, SEIZURES_FLOW
from topcop.exports.observations import Observations

STRUCTURE_FORMATS = {"sdmx30": Format.STRUCTURE_SDMX_ML_3_0, "sdmx21": Format.STRUCTURE_SDMX_ML_2_1}
DATA_FORMATS = {".csv": Format.DATA_SDMX_CSV_2_0_0, ".xml": Format.DATA_SDMX_ML_2_1_STR}


def structure_file_names(version: str) -> list[str]:
    return [f"TOPCOP_structures_{version}_{kind}.xml" for kind in STRUCTURE_FORMATS]


def write_structures(structures: StructureSet, folder: Path, prepared: datetime) -> list[Path]:
    """The whole structure set in SDMX-ML 3.0 and 2.1; returns the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    # A message ID takes letters, digits and _@$- only: 1.2 becomes 1_2.
    header = _header(f"TOPCOP_STRUCTURES_{structures.version.replace('.', '_')}", prepared)
    written = []
    for name, fmt in zip(
        structure_file_names(structures.version), STRUCTURE_FORMATS.values(), strict=True
    ):
        path = folder / name
        write_sdmx(structures.artefacts(), fmt, output_path=str(path), header=header)
        written.append(path)
    return written


def data_file_names(period: str, edition: str) -> list[str]:
    return [
        f"TOPCOP_{flow}_{period}_{edition}{suffix}"
        for flow in (INDICATORS_FLOW, SEIZURES_FLOW)
        for suffix in DATA_FORMATS
    ]


def write_data(
    observations: Observations, structures: StructureSet, folder: Path, prepared: datetime
) -> list[Path]:
    """Both dataflows of one period and edition, as SDMX-CSV 2.0 and SDMX-ML 2.1 data."""
    folder.mkdir(parents=True, exist_ok=True)
    frames = {INDICATORS_FLOW: observations.indicators, SEIZURES_FLOW: observations.seizures}
    names = iter(data_file_names(observations.period, observations.edition.value))
    written = []
    for flow, frame in frames.items():
        dataset = PandasDataset(structure=structures.schema(flow), data=frame.copy())
        for suffix, fmt in DATA_FORMATS.items():
            path = folder / next(names)
            kwargs = {}
            if suffix == ".xml":
                stamp = prepared.strftime("%Y%m%dT%H%M%SZ")
                message_id = f"TOPCOP_{flow}_{observations.period}_{observations.edition}_{stamp}"
                kwargs["header"] = _header(message_id, prepared)
            write_sdmx([dataset], fmt, output_path=str(path), **kwargs)
            written.append(path)
    return written


def data_digest(observations: Observations, version: str) -> str:
    """SHA-256 of what an export writes: the same again need not be exported again."""
    content = {
        "period": observations.period,
        "edition": observations.edition.value,
        "version": version,
        "indicators": _records(observations.indicators),
        "seizures": _records(observations.seizures),
    }
    text = json.dumps(content, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _records(frame: pd.DataFrame) -> list[list]:
    return [
        [None if isinstance(v, float) and v != v else v for v in row]  # NaN is not JSON
        for row in frame.itertuples(index=False, name=None)
    ]


def _header(message_id: str, prepared: datetime) -> Header:
    if prepared.tzinfo is None:
        prepared = prepared.replace(tzinfo=UTC)
    return Header(id=message_id, prepared=prepared, sender=Organisation(id=AGENCY))
