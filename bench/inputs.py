"""The benchmark's inputs, made by the project's own template filler and CSV writer.

One country (Ukraine, the biggest) and one closed quarter; each size is the
seizures sheet's row count, beside a full indicators sheet (every crime area ×
indicator the template prefills). A small return from another unit warms each
measured process up, so a figure never includes first-call costs (imports,
building the suites) unless it says so. Files are kept between runs and made
again only when missing: the filler is deterministic for a seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

UNIT = "UA"
PERIOD = "2026-Q2"
# "Today" as the validation sees it: after the period ended, before it closes.
TODAY = date(2026, 8, 15)
NOW = datetime(2026, 8, 15, 9, 0, tzinfo=UTC)
WARMUP_UNIT = "MD"
WARMUP_ROWS = 1_000
SEED = 7


@dataclass(frozen=True)
class Inputs:
    """One size's files: the workbook and the two CSV files of the same content."""

    rows: int
    xlsx: Path
    csv_seizures: Path
    csv_indicators: Path

    def file(self, fmt: str) -> Path:
        return self.xlsx if fmt == "xlsx" else self.csv_seizures


def make_inputs(directory: Path, rows: int, *, unit: str = UNIT, period: str = PERIOD) -> Inputs:
    """The return with ``rows`` seizures as xlsx and as CSV, made when not made before."""
    from topcop.returns.samples import fill_template, sample_content, write_csv

    folder = directory / f"{unit}-{period}-{rows}"
    inputs = Inputs(
        rows=rows,
        xlsx=folder / f"{unit}_{period}_return.xlsx",
        csv_seizures=folder / f"{unit}_{period}_seizures.csv",
        csv_indicators=folder / f"{unit}_{period}_indicators.csv",
    )
    if not all(p.exists() for p in (inputs.xlsx, inputs.csv_seizures, inputs.csv_indicators)):
        sample = sample_content(unit, period, seed=SEED, seizure_rows=rows)
        fill_template(sample, inputs.xlsx)
        write_csv(sample, folder)
    return inputs


def warmup_inputs(directory: Path) -> Inputs:
    return make_inputs(directory, WARMUP_ROWS, unit=WARMUP_UNIT)
