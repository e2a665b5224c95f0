"""The shape of a return: its sheets, their columns, and the typed tables a reader yields.

Template, reader, validation and warehouse all take their column lists from here,
so the four can never drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from topcop.findings import Finding, has_errors

METADATA_SHEET = "metadata"
INDICATORS_SHEET = "indicators"
SEIZURES_SHEET = "seizures"
INSTRUCTIONS_SHEET = "instructions"
CODELISTS_SHEET = "codelists"
DATA_SHEETS = (METADATA_SHEET, INDICATORS_SHEET, SEIZURES_SHEET)
DATASETS = (INDICATORS_SHEET, SEIZURES_SHEET)  # what a return carries into the warehouse

# metadata sheet: one field per row, "field" in column A and "value" in column B.
METADATA_FIELDS = (
    "country",
    "period",
    "template_version",
    "submission_date",
    "focal_point_ref",
    "handling_code",
    "remarks",
)
# Optional metadata fields: a template made before they existed still reads.
# language: the language in which the focal point wants its receipt (topcop.i18n).
OPTIONAL_METADATA_FIELDS = ("language",)

# column name -> pandas dtype of the typed table the reader yields.
INDICATOR_COLUMNS: dict[str, str] = {
    "crime_area": "string",
    "indicator": "string",
    "breakdown": "string",
    "value": "Float64",
    "unit": "string",
    "obs_status": "string",
    "conf_status": "string",
    "comment": "string",
}
SEIZURE_COLUMNS: dict[str, str] = {
    "seizure_ref": "string",
    "seizure_date": "datetime64[ns]",
    "region": "string",
    "commodity": "string",
    "quantity": "Float64",
    "unit": "string",
    "origin_country": "string",
    "departure_country": "string",
    "destination_country": "string",
    "transport_mode": "string",
    "concealment": "string",
    "ocg_involved": "string",
}
COLUMNS = {INDICATORS_SHEET: INDICATOR_COLUMNS, SEIZURES_SHEET: SEIZURE_COLUMNS}

# Each typed table also has a "row" column: the row number as the spreadsheet
# shows it (for CSV, the line number), so every finding can point at it.
ROW = "row"


@dataclass
class ReturnFile:
    """A return as read from one file: its metadata, typed tables and reading findings.

    A CSV return carries one dataset; its metadata comes from its file name
    (``<CC>_<period>_<dataset>.csv``). Tables the file does not carry are ``None``.
    """

    path: Path
    file_format: str  # "xlsx" or "csv"
    metadata: dict[str, Any] = field(default_factory=dict)
    metadata_rows: dict[str, int] = field(default_factory=dict)  # field -> sheet row, for findings
    indicators: pd.DataFrame | None = None
    seizures: pd.DataFrame | None = None
    findings: list[Finding] = field(default_factory=list)

    @property
    def readable(self) -> bool:
        """False when the file could not be read into tables at all."""
        return not has_errors([f for f in self.findings if f.sheet == "file"])

    @property
    def datasets(self) -> list[str]:
        return [d for d in DATASETS if getattr(self, d) is not None]

    def table(self, dataset: str) -> pd.DataFrame | None:
        return getattr(self, dataset)
