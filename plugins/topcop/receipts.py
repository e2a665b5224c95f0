"""Receipts: what a focal point reads back in its own bucket after every file.

Machine-readable JSON (this module) with the status, the revision, counts and
every finding with sheet, row, column, value and rule in plain words. A
receipt is written under the file's stored name, so it is never overwritten.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from topcop.findings import Finding

RECEIPT_VERSION = 1

_HEADLINES = {
    "accepted": "Accepted: the return was loaded.",
    "accepted_with_warnings": "Accepted with warnings: the return was loaded; please check the "
    "warnings below and send a corrected file if a figure is wrong.",
    "rejected": "Rejected: nothing was loaded. Correct the errors below and send the file again.",
    "duplicate": "Already received: this file is identical to one accepted earlier; nothing "
    "new was loaded.",
}


@dataclass
class Receipt:
    reporting_unit: str
    file_name: str
    stored_name: str
    sha256: str | None  # None: refused before it was read
    size_bytes: int
    received_at: datetime
    processed_at: datetime
    status: str
    location: str  # where the file now is: archive/... or quarantine/...
    declared_country: str | None = None
    declared_period: str | None = None
    submission_id: str | None = None
    revision: int | None = None
    supersedes: str | None = None
    duplicate_of: str | None = None
    indicator_rows: int = 0
    seizure_rows: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def headline(self) -> str:
        return _HEADLINES[self.status]

    def as_dict(self) -> dict[str, Any]:
        errors = sum(f.severity == "error" for f in self.findings)
        return {
            "receipt_version": RECEIPT_VERSION,
            "status": self.status,
            "message": self.headline,
            "reporting_unit": self.reporting_unit,
            "file_name": self.file_name,
            "stored_name": self.stored_name,
            "sha256": self.sha256,
            "size_bytes": self.size_bytes,
            "received_at": self.received_at.isoformat(),
            "processed_at": self.processed_at.isoformat(),
            "declared": {"country": self.declared_country, "period": self.declared_period},
            "submission_id": self.submission_id,
            "revision": self.revision,
            "supersedes": self.supersedes,
            "duplicate_of": self.duplicate_of,
            "location": self.location,
            "counts": {
                "indicator_rows": self.indicator_rows,
                "seizure_rows": self.seizure_rows,
                "errors": errors,
                "warnings": len(self.findings) - errors,
            },
            "findings": [f.as_dict() for f in self.findings],
        }

    def to_json(self) -> bytes:
        return json.dumps(self.as_dict(), ensure_ascii=False, indent=2).encode("utf-8")
