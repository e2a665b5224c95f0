"""Completeness classification and the assessment workbook, on a small hand-built warehouse.

Rows go into a migrated SQLite file with plain SQL, so these tests depend only
on the schema, not on the loader. Expected timeliness is worked out here from
the literal dates inserted, independently of ``topcop.periods``.
"""

from __future__ import annotations

import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import Engine, text

from topcop.reports.assessment import build_assessment
from topcop.reports.cells import write_cell
from topcop.reports.completeness import Timeliness, completeness
from topcop.warehouse.engine import warehouse_engine
from topcop.warehouse.migrate import migrate

PERIODS = ["2021-Q1", "2021-Q2", "2021-Q3"]
# Quarter end + 30 days (calendar.yaml), written out by hand.
DEADLINES = {
    "2021-Q1": date(2021, 4, 30),
    "2021-Q2": date(2021, 7, 30),
    "2021-Q3": date(2021, 10, 30),
}
TODAY = date(2021, 10, 15)  # Q1 and Q2 deadlines passed, Q3 not yet
UNITS = ["AM", "AZ", "BY", "GE", "MD", "UA"]
FORMULA_LIKE = '=HYPERLINK("http://x","y")'

ACC, WARN, REJ = "accepted", "accepted_with_warnings", "rejected"
# (submission_id, unit, period, dataset, status, revision, received_at); processed 5 minutes later
SUBMISSIONS = [
    ("am-q1", "AM", "2021-Q1", "return", ACC, 1, "2021-04-20 09:00"),
    # Received in the evening of the deadline day: still on time.
    ("am-q2-r1", "AM", "2021-Q2", "indicators", ACC, 1, "2021-07-30 23:10"),
    # A correction after the deadline: figures change, timeliness does not.
    ("am-q2-r2", "AM", "2021-Q2", "indicators", WARN, 2, "2021-09-01 10:00"),
    ("am-q3", "AM", "2021-Q3", "return", ACC, 1, "2021-10-01 08:00"),
    ("az-q1", "AZ", "2021-Q1", "return", ACC, 1, "2021-05-03 12:00"),
    # Only seizures for AZ in Q2: the indicators return is still missing.
    ("az-q2-s", "AZ", "2021-Q2", "seizures", ACC, 1, "2021-07-01 12:00"),
    ("az-q2-x", "AZ", "2021-Q2", "indicators", REJ, None, "2021-07-02 12:00"),
    ("by-q1", "BY", "2021-Q1", "return", ACC, 1, "2021-04-29 16:00"),
    ("by-q2-x", "BY", "2021-Q2", "return", REJ, None, "2021-07-15 12:00"),
    ("ge-q4", "GE", "2020-Q4", "return", ACC, 1, "2021-01-20 12:00"),
]
# Reprocessed after everything else, but for a period outside the report window.
PROCESSED_LATER = {"ge-q4": datetime(2021, 10, 14, 12, 0)}

# (submission_id, row, crime_area, indicator, breakdown, value, unit, obs, conf, comment)
FACTS = [
    ("am-q1", 2, "THB", "VICTIMS_IDENTIFIED", None, 5, "COUNT", "A", "F", None),
    ("am-q1", 3, "DRUGS_CCH", "PERSONS_ARRESTED", None, 9, "COUNT", "A", "F", None),
    ("am-q2-r1", 2, "DRUGS_CCH", "PERSONS_ARRESTED", None, 10, "COUNT", "A", "F", None),
    ("am-q2-r1", 3, "DRUGS_CCH", "PERSONS_ARRESTED", "NATIONAL", 7, "COUNT", "A", "F", None),
    ("am-q2-r1", 4, "DRUGS_CCH", "PERSONS_ARRESTED", "FOREIGN", 3, "COUNT", "A", "F", None),
    ("am-q2-r2", 2, "DRUGS_CCH", "PERSONS_ARRESTED", None, 12, "COUNT", "A", "F", None),
    ("am-q2-r2", 3, "DRUGS_CCH", "PERSONS_ARRESTED", "NATIONAL", 8, "COUNT", "A", "F", None),
    ("am-q2-r2", 4, "DRUGS_CCH", "PERSONS_ARRESTED", "FOREIGN", 4, "COUNT", "A", "F", None),
    ("am-q3", 2, "DRUGS_CCH", "PERSONS_ARRESTED", None, 15, "COUNT", "P", "F", FORMULA_LIKE),
    ("az-q1", 2, "DRUGS_CCH", "PERSONS_ARRESTED", None, 20, "COUNT", "A", "F", None),
    ("az-q1", 3, "FINML", "ASSETS_FROZEN_EUR", None, 1250.5, "EUR", "A", "F", None),
    ("by-q1", 2, "THB", "OCG_IDENTIFIED", None, None, "COUNT", "L", "F", None),
    ("ge-q4", 2, "CYBER", "INVESTIGATIONS_OPENED", None, 3, "COUNT", "A", "F", None),
]

ACCEPTED = {ACC, WARN}


@pytest.fixture
def warehouse(tmp_path: Path) -> Engine:
    engine = warehouse_engine(f"sqlite:///{tmp_path / 'warehouse.db'}")
    migrate(engine)
    with engine.begin() as conn:
        for sid, unit, period, dataset, status, revision, received_at in SUBMISSIONS:
            received = datetime.fromisoformat(received_at)
            conn.execute(
                text(
                    "INSERT INTO submission (submission_id, reporting_unit, period, dataset,"
                    " file_name, stored_name, sha256, received_at, processed_at, status, revision,"
                    " handling_code)"
                    " VALUES (:sid, :unit, :period, :dataset, :file, :stored, :sha, :received,"
                    " :processed, :status, :revision, 'PUBLIC')"
                ),
                {
                    "sid": sid,
                    "unit": unit,
                    "period": period,
                    "dataset": dataset,
                    "file": f"{sid}.xlsx",
                    "stored": f"{unit}/{sid}.xlsx",
                    "sha": sid.encode().hex().ljust(64, "0"),
                    "received": received,
                    "processed": PROCESSED_LATER.get(sid, received + timedelta(minutes=5)),
                    "status": status,
                    "revision": revision,
                },
            )
        for sid, row, area, indicator, breakdown, value, unit, obs, conf, comment in FACTS:
            conn.execute(
                text(
                    "INSERT INTO indicator_fact (submission_id, row_number, crime_area, indicator,"
                    " breakdown, value, unit, obs_status, conf_status, comment)"
                    " VALUES (:sid, :row, :area, :indicator, :breakdown, :value, :unit, :obs,"
                    " :conf, :comment)"
                ),
                {
                    "sid": sid,
                    "row": row,
                    "area": area,
                    "indicator": indicator,
                    "breakdown": breakdown,
                    "value": value,
                    "unit": unit,
                    "obs": obs,
                    "conf": conf,
                    "comment": comment,
                },
            )
    return engine


def expected_timeliness() -> dict[tuple[str, str], tuple[str, int | None]]:
    """From the inserted rows alone: (unit, period) → (status, days late)."""
    first: dict[tuple[str, str], date] = {}
    for _sid, unit, period, dataset, status, _rev, received in SUBMISSIONS:
        if status in ACCEPTED and dataset in ("return", "indicators") and period in PERIODS:
            day = datetime.fromisoformat(received).date()
            first[(unit, period)] = min(day, first.get((unit, period), day))
    out = {}
    for unit in UNITS:
        for period in PERIODS:
            deadline = DEADLINES[period]
            if (unit, period) in first:
                days = (first[(unit, period)] - deadline).days
                out[(unit, period)] = ("late" if days > 0 else "on_time", days)
            elif unit == "BY" and period == "2021-Q3":  # suspended on 2021-06-28
                out[(unit, period)] = ("not_expected", None)
            else:
                out[(unit, period)] = ("missing" if deadline < TODAY else "due", None)
    return out


def test_completeness_classifies_every_unit_and_period(warehouse):
    cells = completeness(warehouse, PERIODS, today=TODAY)
    got = {(c.reporting_unit, c.period): (c.status.value, c.days_late) for c in cells}
    assert got == expected_timeliness()
    # The cases the fixture was built for, spelled out.
    assert got[("AM", "2021-Q2")] == ("on_time", 0)
    assert got[("AZ", "2021-Q1")] == ("late", 3)
    assert got[("AZ", "2021-Q2")] == ("missing", None)
    assert got[("BY", "2021-Q2")] == ("missing", None)
    assert got[("BY", "2021-Q3")] == ("not_expected", None)
    assert got[("GE", "2021-Q3")] == ("due", None)


def test_completeness_counts_the_first_accepted_revision(warehouse):
    cells = {(c.reporting_unit, c.period): c for c in completeness(warehouse, PERIODS, today=TODAY)}
    am_q2 = cells[("AM", "2021-Q2")]
    assert am_q2.submission_id == "am-q2-r1"
    assert am_q2.received_at == datetime(2021, 7, 30, 23, 10)
    assert am_q2.deadline == DEADLINES["2021-Q2"]
    assert not cells[("BY", "2021-Q3")].expected
    assert cells[("BY", "2021-Q2")].expected


def test_completeness_for_seizures_uses_that_dataset(warehouse):
    cells = completeness(warehouse, ["2021-Q2"], dataset="seizures", today=TODAY)
    got = {c.reporting_unit: c.status for c in cells}
    assert got["AZ"] is Timeliness.ON_TIME  # its seizures CSV
    assert got["AM"] is Timeliness.MISSING  # indicators CSVs carry no seizures


def test_completeness_rejects_an_unknown_dataset(warehouse):
    with pytest.raises(ValueError, match="not a dataset"):
        completeness(warehouse, PERIODS, dataset="victims", today=TODAY)


@pytest.fixture
def report(warehouse, tmp_path: Path) -> Path:
    return build_assessment(
        warehouse, "2021-Q3", tmp_path / "reports", today=TODAY, periods_back=len(PERIODS)
    )


def rows_of(ws) -> list[list]:
    return [list(r) for r in ws.iter_rows(values_only=True)]


def series(ws) -> dict[tuple[str, str, str], dict[str, object]]:
    """(indicator, breakdown, country) → {period: value} read through the header row."""
    header, *body = rows_of(ws)
    period_columns = {i: h for i, h in enumerate(header) if h in PERIODS}
    return {
        (row[0], row[2], row[3]): {p: row[i] for i, p in period_columns.items()} for row in body
    }


def test_report_is_written_whole_under_its_name(report, tmp_path):
    assert report == tmp_path / "reports" / "eap_assessment_2021-Q3.xlsx"
    assert sorted(p.name for p in report.parent.iterdir()) == [report.name]


def test_report_sheets(report):
    wb = load_workbook(report)
    # Crime areas with data in the window, in codelist order; CYBER only has 2020-Q4.
    assert wb.sheetnames == ["overview", "completeness", "THB", "DRUGS_CCH", "FINML"]
    for ws in wb.worksheets:
        assert ws.freeze_panes is not None
        assert all(cell.font.bold for cell in ws[1] if cell.value is not None)


def test_report_shows_current_revision(report):
    drugs = series(load_workbook(report)["DRUGS_CCH"])
    assert drugs[("PERSONS_ARRESTED", "total", "AM")] == {
        "2021-Q1": 9,
        "2021-Q2": 12,  # revision 2, not revision 1's 10
        "2021-Q3": 15,
    }
    assert drugs[("PERSONS_ARRESTED", "NATIONAL", "AM")]["2021-Q2"] == 8
    assert drugs[("PERSONS_ARRESTED", "FOREIGN", "AM")]["2021-Q2"] == 4
    assert drugs[("PERSONS_ARRESTED", "total", "AZ")] == {
        "2021-Q1": 20,
        "2021-Q2": None,
        "2021-Q3": None,
    }
    thb = series(load_workbook(report)["THB"])
    assert thb[("OCG_IDENTIFIED", "total", "BY")]["2021-Q1"] == "L"  # no value: its obs status
    assert thb[("VICTIMS_IDENTIFIED", "total", "AM")]["2021-Q1"] == 5


def test_report_completeness_texts(report):
    header, *body = rows_of(load_workbook(report)["completeness"])
    assert header == ["Reporting unit", "Name", *PERIODS]
    table = {row[0]: dict(zip(PERIODS, row[2:], strict=True)) for row in body[: len(UNITS)]}
    assert list(table) == UNITS
    assert table["AM"] == {"2021-Q1": "on time", "2021-Q2": "on time", "2021-Q3": "on time"}
    assert table["AZ"] == {"2021-Q1": "late (3 days)", "2021-Q2": "missing", "2021-Q3": "due"}
    assert table["BY"] == {"2021-Q1": "on time", "2021-Q2": "missing", "2021-Q3": "n.a."}


def test_report_completeness_fills_differ_by_status(report):
    ws = load_workbook(report)["completeness"]
    fills = {
        ws.cell(r, c).value: ws.cell(r, c).fill.fgColor.rgb for r in range(2, 8) for c in (3, 4, 5)
    }
    labels = ["on time", "late (3 days)", "missing", "due", "n.a."]
    assert len({fills[label] for label in labels}) == len(labels)


def test_report_overview(report):
    overview = {row[0]: row[1] for row in rows_of(load_workbook(report)["overview"])[1:]}
    assert overview["Period"] == "2021-Q3"
    assert overview["Units expected"] == 5  # BY suspended
    assert overview["Units reporting"] == 1  # AM
    # Latest processing among the window's submissions; GE's 2020-Q4 is outside it.
    assert overview["Data as of (UTC, latest submission processed)"] == datetime(2021, 10, 1, 8, 5)
    assert isinstance(overview["Built at (UTC)"], datetime)


def test_formula_like_text_from_a_return_stays_text(report):
    ws = load_workbook(report)["DRUGS_CCH"]
    header = [c.value for c in ws[1]]
    comment_column = header.index("Comment (2021-Q3)") + 1
    am_total = next(
        r
        for r in range(2, ws.max_row + 1)
        if (ws.cell(r, 1).value, ws.cell(r, 3).value, ws.cell(r, 4).value)
        == ("PERSONS_ARRESTED", "total", "AM")
    )
    cell = ws.cell(am_total, comment_column)
    assert cell.value == FORMULA_LIKE
    assert cell.data_type == "s"


@pytest.mark.parametrize("text_value", [FORMULA_LIKE, "+1", "-1", "@SUM(A1:A2)", "#N/A", "=1+1"])
def test_write_cell_keeps_text_literal(tmp_path, text_value):
    wb = Workbook()
    write_cell(wb.active, 1, 1, text_value)
    wb.save(tmp_path / "t.xlsx")
    cell = load_workbook(tmp_path / "t.xlsx").active["A1"]
    assert (cell.value, cell.data_type) == (text_value, "s")


def test_write_cell_drops_characters_xlsx_cannot_hold(tmp_path):
    wb = Workbook()
    write_cell(wb.active, 1, 1, "bad\x01text")
    wb.save(tmp_path / "t.xlsx")
    assert load_workbook(tmp_path / "t.xlsx").active["A1"].value == "badtext"


def test_report_has_no_formulas(report):
    wb = load_workbook(report)
    formulas = [
        (ws.title, cell.coordinate)
        for ws in wb.worksheets
        for row in ws.iter_rows()
        for cell in row
        if cell.data_type == "f"
    ]
    assert formulas == []
    with zipfile.ZipFile(report) as z:
        sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
        assert sheets
        assert not any(b"<f>" in z.read(n) or b"<f " in z.read(n) for n in sheets)
