"""What happened to one file, as the small summary an ingest task passes back through XCom.

Kept below both the ingest run and the steward approval, which each end a file's
journey (loaded, rejected, held, decided) and report it the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

LOADED = ("accepted", "accepted_with_warnings")
# Another run, or this batch's earlier try, took the file between listing and fetching.
GONE = "gone"


@dataclass(frozen=True)
class IngestResult:
    """What happened to one file: the small summary passed back through XCom."""

    reporting_unit: str
    file_name: str
    status: str
    revision: int | None
    period: str | None
    indicator_rows: int
    seizure_rows: int
    errors: int
    warnings: int
    location: str
    receipt: str

    @property
    def loaded(self) -> bool:
        return self.status in LOADED

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def text_or_none(value: Any) -> str | None:
    """A metadata value as text; None for an empty cell (None or NaN)."""
    return None if value is None or value != value else str(value)
