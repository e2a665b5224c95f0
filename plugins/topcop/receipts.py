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
from topcop.i18n import SOURCE, Text, in_language, msg
from topcop.landing import Landing

RECEIPT_VERSION = 1

_STATUS_WORDS = {
    "accepted": msg("Accepted"),
    "accepted_with_warnings": msg("Accepted with warnings"),
    "rejected": msg("Rejected"),
    "duplicate": msg("Already received"),
    "held": msg("Waiting for approval"),
    "refused": msg("Refused"),
}
_HEADLINES = {
    "accepted": msg("Accepted: the return was loaded."),
    "accepted_with_warnings": msg(
        "Accepted with warnings: the return was loaded; please check the "
        "warnings below and send a corrected file if a figure is wrong."
    ),
    "rejected": msg(
        "Rejected: nothing was loaded. Correct the errors below and send the file again."
    ),
    "duplicate": msg(
        "Already received: this file is identical to one accepted earlier; nothing new was loaded."
    ),
    "held": msg(
        "Waiting for approval: the period is closed, so this correction is held until a "
        "data steward approves or refuses it; nothing is loaded yet and you will get another "
        "receipt with the decision."
    ),
    "refused": msg(
        "Refused: a data steward refused this correction to a closed period; nothing was loaded."
    ),
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
    language: str = SOURCE  # what the focal point reads: the return's or the unit's language

    @property
    def headline(self) -> str:
        return self._headline().in_language(self.language)

    def _headline(self) -> Text:
        """What the receipt says, as a message that can be said in any language."""
        if self.approval and self.status == "refused":
            reason = self.approval.get("reason") or msg("no reason given")
            return msg("Refused: {reason}. Nothing was loaded.", reason=reason)
        if self.approval and self.status in ("accepted", "accepted_with_warnings"):
            return msg(
                "Approved and loaded: a data steward approved this correction to a closed "
                "period; it was loaded as revision {revision}.",
                revision=self.revision,
            )
        return _HEADLINES[self.status]

    @property
    def where(self) -> str:
        """Where the file is now, in words."""
        return self._where().in_language(self.language)

    def _where(self) -> Text:
        area = self.location.split("/", 2)[1] if self.location.count("/") >= 2 else ""
        if area == "quarantine":
            return msg("Kept in quarantine, not loaded: {location}", location=self.location)
        if area == "held":
            return msg(
                "Held for a steward's decision, not loaded: {location}", location=self.location
            )
        return msg("Archived: {location}", location=self.location)

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
            "language": self.language,
            "message": self.headline,
            "message_en": str(self._headline()),
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
            "where_en": str(self._where()),
            "history_checked": self.history_checked,
            "approval": self.approval,
            "counts": self.counts(),
            "findings": [f.as_dict(self.language) for f in self.findings],
        }

    def to_json(self) -> bytes:
        return json.dumps(self.as_dict(), ensure_ascii=False, indent=2).encode("utf-8")

    def to_xlsx(self) -> bytes:
        """The receipt as a workbook: a summary sheet and a findings sheet."""
        from openpyxl import Workbook

        from topcop.cells import safe_text

        wb = Workbook()
        _write_summary(wb.active, self)
        _write_findings(wb.create_sheet(FINDINGS_SHEET), self.findings, self.language)
        wb.properties.title = safe_text(f"Receipt {self.reporting_unit} {self.file_name}")
        wb.properties.language = self.language
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
    lang = receipt.language
    lines: list[tuple[Text, Any]] = [
        (msg("Status"), _STATUS_WORDS[receipt.status].in_language(lang)),
        (msg("What it means"), receipt.headline),
        (msg("Reporting unit"), _unit_words(receipt.reporting_unit, lang)),
        (msg("File as sent"), receipt.file_name),
        (msg("Received (UTC)"), receipt.received_at),
        (msg("Processed (UTC)"), receipt.processed_at),
        (msg("Declared country"), receipt.declared_country),
        (msg("Declared period"), receipt.declared_period),
        (msg("Revision"), receipt.revision),
        (msg("Replaces submission"), receipt.supersedes),
        (msg("Identical to submission"), receipt.duplicate_of),
        (msg("Indicator rows loaded"), receipt.indicator_rows),
        (msg("Seizure rows loaded"), receipt.seizure_rows),
        (msg("Errors"), counts["errors"]),
        (msg("Warnings"), counts["warnings"]),
        (msg("Figures compared with earlier periods"), _yes_no(receipt.history_checked, lang)),
        (msg("Where the file is now"), receipt.where),
        *_approval_lines(receipt.approval),
        (msg("Submission id"), receipt.submission_id),
        (msg("SHA-256 of the file"), receipt.sha256),
    ]
    title = write_cell(
        ws, 1, 1, msg("Receipt for {file_name}", file_name=receipt.file_name).in_language(lang)
    )
    title.font = Font(bold=True, size=14)
    for row, (label, value) in enumerate(lines, start=3):
        write_cell(ws, row, 1, label.in_language(lang)).font = Font(bold=True)
        cell = write_cell(ws, row, 2, value)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        if isinstance(value, datetime):
            cell.number_format = "yyyy-mm-dd hh:mm:ss"
    if receipt.findings:
        note = len(lines) + 4
        listed = msg("Every finding is listed on the sheet '{sheet}'.", sheet=FINDINGS_SHEET)
        write_cell(ws, note, 1, listed.in_language(lang))
    ws.column_dimensions["A"].width = 38
    ws.column_dimensions["B"].width = 90


def _write_findings(ws: Any, findings: list[Finding], lang: str = SOURCE) -> None:
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
            finding.message_in(lang),
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


def _approval_lines(approval: dict[str, Any] | None) -> list[tuple[Text, Any]]:
    if not approval:
        return []
    return [
        (msg("Steward's decision"), approval.get("decision")),
        (msg("Decided by"), approval.get("decided_by")),
        (msg("Decided at (UTC)"), approval.get("decided_at")),
        (msg("Steward's reason"), approval.get("reason")),
    ]


def _unit_words(code: str, lang: str = SOURCE) -> str:
    from topcop.config import codelists

    unit = codelists().reporting_units.get(code)
    return f"{in_language(unit.name, lang)} ({code})" if unit else code


def _yes_no(flag: bool, lang: str) -> str:
    return (msg("yes") if flag else msg("no")).in_language(lang)


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
