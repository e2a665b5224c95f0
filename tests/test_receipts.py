"""Receipts: the JSON and the workbook say the same things, in words a focal point acts on.

Built from ``Receipt`` values directly; ``test_ingest.py`` and
``test_bad_returns.py`` check the receipts the pipeline writes.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime

import pytest
from openpyxl import load_workbook

from topcop.findings import ERROR, WARNING, Finding
from topcop.receipts import FINDING_COLUMNS, FINDINGS_SHEET, SUMMARY_SHEET, Receipt

FINDINGS = [
    Finding("metadata", 7, "handling_code", "SECRET", "expect_column_values_to_be_in_set", ERROR,
            "SECRET is not a handling code (see the codelists sheet)."),
    Finding("indicators", 14, "comment", "=HYPERLINK(\"http://x\",\"y\")", "rule_a", WARNING,
            "A comment that looks like a formula."),
    Finding("seizures", 9, "seizure_date", date(2026, 4, 1), "expect_column_values_to_be_between",
            ERROR, "The seizure date 2026-04-01 is outside the reporting period 2026-Q1."),
    Finding("seizures", 10, "region", "+380 44 000", "rule_b", WARNING, "Starts with a plus."),
    Finding("seizures", 11, "region", "-x", "rule_c", WARNING, "Starts with a minus."),
    Finding("seizures", 12, "region", "@home", "rule_d", WARNING, "Starts with an at sign."),
    Finding("indicators", 15, "value", float("nan"), "rule_e", WARNING, "Not a number."),
]  # fmt: skip


def receipt(status: str = "rejected", findings: list[Finding] | None = None, **extra) -> Receipt:
    area = "quarantine" if status == "rejected" else "archive"
    stored = "20260420T093000Z_0123456789ab_GE_2026-Q1_return.xlsx"
    return Receipt(
        reporting_unit="GE",
        file_name="GE_2026-Q1_return.xlsx",
        stored_name=stored,
        sha256="0123456789ab" + "0" * 52,
        size_bytes=12_345,
        received_at=datetime(2026, 4, 20, 9, 30, tzinfo=UTC),
        processed_at=datetime(2026, 4, 20, 9, 45, tzinfo=UTC),
        status=status,
        location=f"GE/{area}/{stored}",
        declared_country="GE",
        declared_period="2026-Q1",
        submission_id="a" * 32,
        findings=FINDINGS if findings is None else findings,
        history_checked=True,
        **extra,
    )


def workbook(r: Receipt):
    return load_workbook(io.BytesIO(r.to_xlsx()))


def summary(r: Receipt) -> dict[str, object]:
    ws = workbook(r)[SUMMARY_SHEET]
    return {label: value for label, value in ws.iter_rows(min_row=3, values_only=True) if label}


def test_json_lists_every_finding_with_where_and_what():
    data = json.loads(receipt().to_json())

    assert data["status"] == "rejected"
    assert data["counts"] == {"indicator_rows": 0, "seizure_rows": 0, "errors": 2, "warnings": 5}
    assert data["findings"][0] == {
        "sheet": "metadata",
        "row": 7,
        "column": "handling_code",
        "value": "SECRET",
        "rule": "expect_column_values_to_be_in_set",
        "severity": "error",
        "message": "SECRET is not a handling code (see the codelists sheet).",
        "message_id": "SECRET is not a handling code (see the codelists sheet).",
        "message_en": "SECRET is not a handling code (see the codelists sheet).",
        "params": {},
    }
    assert data["findings"][2]["value"] == "2026-04-01"
    assert data["findings"][6]["value"] is None  # NaN has no JSON form
    assert data["history_checked"] is True


def test_a_quarantined_file_receipt_names_the_quarantine():
    data = json.loads(receipt().to_json())

    assert data["location"].startswith("GE/quarantine/")
    assert data["where"] == f"Kept in quarantine, not loaded: {data['location']}"
    assert summary(receipt())["Where the file is now"] == data["where"]


def test_an_accepted_file_receipt_names_the_archive():
    r = receipt("accepted", findings=[], revision=2, supersedes="b" * 32, indicator_rows=187)

    data = json.loads(r.to_json())
    words = summary(r)

    assert data["where"].startswith("Archived: GE/archive/")
    assert words["Status"] == "Accepted"
    assert words["Revision"] == 2
    assert words["Replaces submission"] == "b" * 32
    assert words["Indicator rows loaded"] == 187
    assert words["Reporting unit"] == "Georgia (GE)"
    assert workbook(r)[FINDINGS_SHEET].max_row == 1  # the header only


def test_workbook_summary_tells_the_status_and_counts():
    words = summary(receipt())

    assert words["Status"] == "Rejected"
    assert words["What it means"].startswith("Rejected: nothing was loaded.")
    assert (words["Errors"], words["Warnings"]) == (2, 5)
    assert words["Figures compared with earlier periods"] == "yes"
    assert words["Received (UTC)"] == datetime(2026, 4, 20, 9, 30)


def test_findings_sheet_has_one_highlighted_row_per_finding():
    ws = workbook(receipt())[FINDINGS_SHEET]

    assert [c.value for c in ws[1]] == list(FINDING_COLUMNS)
    rows = list(ws.iter_rows(min_row=2))
    assert len(rows) == len(FINDINGS)
    expected = {"error": "00FFC7CE", "warning": "00FFEB9C"}
    for cells, finding in zip(rows, FINDINGS, strict=True):
        by_name = dict(zip(FINDING_COLUMNS, cells, strict=True))
        assert by_name["severity"].value == finding.severity
        assert (by_name["sheet"].value, by_name["row"].value) == (finding.sheet, finding.row)
        assert by_name["message"].value == finding.message
        assert {c.fill.fgColor.rgb for c in cells} == {expected[finding.severity]}
    assert ws.freeze_panes == "A2"


@pytest.mark.parametrize("row", [3, 5, 6, 7])
def test_values_from_the_return_stay_text(row):
    """A value starting with = + - @ is shown as typed, never run as a formula."""
    ws = workbook(receipt())[FINDINGS_SHEET]
    cell = ws.cell(row, FINDING_COLUMNS.index("value") + 1)

    assert cell.data_type == "s"
    assert cell.value == FINDINGS[row - 2].value


def test_dates_and_numbers_keep_their_type():
    ws = workbook(receipt())[FINDINGS_SHEET]
    column = FINDING_COLUMNS.index("value") + 1

    assert ws.cell(4, column).value == datetime(2026, 4, 1)
    assert ws.cell(8, column).value is None  # NaN: nothing to show
