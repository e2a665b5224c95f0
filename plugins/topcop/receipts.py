"""Receipts: what a focal point reads back in its own bucket after every file.

Two forms of the same content: JSON for machines, and a workbook for people
(a summary sheet, then every finding on a sheet of its own, errors and warnings
highlighted). Both say the status, the revision, counts, where the file now is
(quarantine for a rejected file) and every finding with sheet, row, column,
value, rule and what to do, in plain words. A receipt is written under the
file's stored name, so it is never overwritten.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from topcop.findings import Finding
from topcop.landing import Landing

RECEIPT_VERSION = 1

_STATUS_WORDS = {
    "accepted": "Accepted",
    "accepted_with_warnings": "Accepted with warnings",
    "rejected": "Rejected",
    "duplicate": "Already received",
    "held": "Waiting for approval",
    "refused": "Refused",
}
_HEADLINES = {
    "accepted": "Accepted: the return was loaded.",
    "accepted_with_warnings": "Accepted with warnings: the return was loaded; please check the "
    "warnings below and send a corrected file if a figure is wrong.",
    "rejected": "Rejected: nothing was loaded. Correct the errors below and send the file again.",
    "duplicate": "Already received: this file is identical to one accepted earlier; nothing "
    "new was loaded.",
    "held": "Waiting for approval: the period is closed, so this correction is held until a "
    "data steward approves or refuses it; nothing is loaded yet and you will get another "
    "receipt with the decision.",
    "refused": "Refused: a data steward refused this correction to a closed period; nothing "
    "was loaded.",
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
    history_checked: bool = False  # figures compared with the unit's earlier periods
    # A steward's decision on a correction to a closed period: by, at (ISO), reason.
    approval: dict[str, Any] | None = None

    @property
    def headline(self) -> str:
        if self.approval and self.status == "refused":
            return (
                f"Refused: {self.approval.get('reason') or 'no reason given'}. Nothing was loaded."
            )
        if self.approval and self.status in ("accepted", "accepted_with_warnings"):
            return (
                f"Approved and loaded: a data steward approved this correction to a closed "
                f"period; it was loaded as revision {self.revision}."
            )
        return _HEADLINES[self.status]

    @property
    def where(self) -> str:
        """Where the file is now, in words."""
        area = self.location.split("/", 2)[1] if self.location.count("/") >= 2 else ""
        if area == "quarantine":
            return f"Kept in quarantine, not loaded: {self.location}"
        if area == "held":
            return f"Held for a steward's decision, not loaded: {self.location}"
        return f"Archived: {self.location}"

    def counts(self) -> dict[str, int]:
        errors = sum(f.severity == "error" for f in self.findings)
        return {
            "indicator_rows": self.indicator_rows,
            "seizure_rows": self.seizure_rows,
            "errors": errors,
            "warnings": len(self.findings) - errors,
        }

    def as_dict(self) -> dict[str, Any]:
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
            "where": self.where,
            "history_checked": self.history_checked,
            "approval": self.approval,
            "counts": self.counts(),
            "findings": [f.as_dict() for f in self.findings],
        }

    def to_json(self) -> bytes:
        return json.dumps(self.as_dict(), ensure_ascii=False, indent=2).encode("utf-8")

    def to_xlsx(self) -> bytes:
        """The receipt as a workbook: a summary sheet and a findings sheet."""
        from openpyxl import Workbook

        from topcop.cells import safe_text

        wb = Workbook()
        _write_summary(wb.active, self)
        _write_findings(wb.create_sheet(FINDINGS_SHEET), self.findings)
        wb.properties.title = safe_text(f"Receipt {self.reporting_unit} {self.file_name}")
        wb.properties.creator = "topcop"
        buffer = io.BytesIO()
        wb.save(buffer)
        return buffer.getvalue()


# --- the workbook ---------------------------------------------------------------------

SUMMARY_SHEET = "summary"
FINDINGS_SHEET = "findings"
FINDING_COLUMNS = ("severity", "sheet", "row", "column", "value", "rule", "message")
_WIDTHS = {"severity": 10, "sheet": 12, "row": 7, "column": 20, "value": 24, "rule": 34}
# Excel's own "Bad" and "Neutral" cell colours: what a spreadsheet user already reads.
_FILLS = {"error": "FFC7CE", "warning": "FFEB9C"}


def _write_summary(ws: Any, receipt: Receipt) -> None:
    from openpyxl.styles import Alignment, Font

    from topcop.cells import write_cell

    ws.title = SUMMARY_SHEET
    counts = receipt.counts()
    lines: list[tuple[str, Any]] = [
        ("Status", _STATUS_WORDS[receipt.status]),
        ("What it means", receipt.headline),
        ("Reporting unit", _unit_words(receipt.reporting_unit)),
        ("File as sent", receipt.file_name),
        ("Received (UTC)", receipt.received_at),
        ("Processed (UTC)", receipt.processed_at),
        ("Declared country", receipt.declared_country),
        ("Declared period", receipt.declared_period),
        ("Revision", receipt.revision),
        ("Replaces submission", receipt.supersedes),
        ("Identical to submission", receipt.duplicate_of),
        ("Indicator rows loaded", receipt.indicator_rows),
        ("Seizure rows loaded", receipt.seizure_rows),
        ("Errors", counts["errors"]),
        ("Warnings", counts["warnings"]),
        ("Figures compared with earlier periods", "yes" if receipt.history_checked else "no"),
        ("Where the file is now", receipt.where),
        *_approval_lines(receipt.approval),
        ("Submission id", receipt.submission_id),
        ("SHA-256 of the file", receipt.sha256),
    ]
    title = write_cell(ws, 1, 1, f"Receipt for {receipt.file_name}")
    title.font = Font(bold=True, size=14)
    for row, (label, value) in enumerate(lines, start=3):
        write_cell(ws, row, 1, label).font = Font(bold=True)
        cell = write_cell(ws, row, 2, value)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        if isinstance(value, datetime):
            cell.number_format = "yyyy-mm-dd hh:mm:ss"
    if receipt.findings:
        note = len(lines) + 4
        write_cell(ws, note, 1, f"Every finding is listed on the sheet '{FINDINGS_SHEET}'.")
    ws.column_dimensions["A"].width = 38
    ws.column_dimensions["B"].width = 90


def _write_findings(ws: Any, findings: list[Finding]) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill

    from topcop.cells import write_cell

    for col, name in enumerate(FINDING_COLUMNS, start=1):
        write_cell(ws, 1, col, name).font = Font(bold=True)
    fills = {severity: PatternFill("solid", fgColor=rgb) for severity, rgb in _FILLS.items()}
    wrap = Alignment(wrap_text=True, vertical="top")
    for row, finding in enumerate(findings, start=2):
        values = (
            finding.severity,
            finding.sheet,
            finding.row,
            finding.column,
            _cell_value(finding.value),
            finding.rule,
            finding.message,
        )
        fill = fills.get(finding.severity)
        for col, value in enumerate(values, start=1):
            cell = write_cell(ws, row, col, value)
            if fill is not None:
                cell.fill = fill
        cell.alignment = wrap  # the message
    for col, name in enumerate(FINDING_COLUMNS, start=1):
        letter = ws.cell(1, col).column_letter
        ws.column_dimensions[letter].width = _WIDTHS.get(name, 100)
    ws.freeze_panes = "A2"
    if findings:
        ws.auto_filter.ref = ws.dimensions


def _approval_lines(approval: dict[str, Any] | None) -> list[tuple[str, Any]]:
    if not approval:
        return []
    return [
        ("Steward's decision", approval.get("decision")),
        ("Decided by", approval.get("decided_by")),
        ("Decided at (UTC)", approval.get("decided_at")),
        ("Steward's reason", approval.get("reason")),
    ]


def _unit_words(code: str) -> str:
    from topcop.config import codelists

    unit = codelists().reporting_units.get(code)
    return f"{unit.name} ({code})" if unit else code


def _cell_value(value: Any) -> Any:
    """A finding's value as a cell can hold it: as found, else as text."""
    if value is None or isinstance(value, str | bool | int | date):
        return value
    if isinstance(value, float):
        return None if value != value else value
    return str(value)


RECEIPT_FORMATS = (".json", ".xlsx")


def write_receipt(landing: Landing, receipt: Receipt) -> tuple[str, str]:
    """Write the receipt, JSON and workbook, under a name no earlier receipt has.

    Receipts are never overwritten: the same arrival processed again (a rerun
    after a crash, or the very same file dropped again) gets numbered receipts
    of its own, ``<stored name>.2.json`` and ``<stored name>.2.xlsx``. Returns
    the JSON receipt's location and the name both share (without extension).
    """
    unit, base = receipt.reporting_unit, receipt.stored_name
    name, n = base, 1
    while True:
        if not any(landing.exists(unit, "receipts", f"{name}{ext}") for ext in RECEIPT_FORMATS):
            try:
                location = landing.put(unit, "receipts", f"{name}.json", receipt.to_json())
                landing.put(unit, "receipts", f"{name}.xlsx", receipt.to_xlsx())
                return location, name
            except FileExistsError:
                pass  # another run processing the same arrival took this name meanwhile
        n += 1
        name = f"{base}.{n}"
