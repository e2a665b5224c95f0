"""Completeness classification and the assessment workbook, on a small hand-built warehouse.

Rows go into a migrated SQLite file with plain SQL, so these tests depend only
on the schema, not on the loader. Every expected value is worked out here from
the literal rows inserted (and dates written out by hand), never by calling
the code under test.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import zipfile
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.chart import BarChart, LineChart
from sqlalchemy import Engine, text

from topcop.cells import write_cell
from topcop.reports.assessment import build_assessment
from topcop.reports.build import build_report, upload_report
from topcop.reports.completeness import Timeliness, completeness
from topcop.warehouse.engine import warehouse_engine
from topcop.warehouse.migrate import migrate

PERIODS = ["2019-Q4", "2020-Q1", "2020-Q2", "2020-Q3", "2020-Q4", "2021-Q1", "2021-Q2", "2021-Q3"]
# Quarter end + 30 days (calendar.yaml), written out by hand.
DEADLINES = {
    "2019-Q4": date(2020, 1, 30),
    "2020-Q1": date(2020, 4, 30),
    "2020-Q2": date(2020, 7, 30),
    "2020-Q3": date(2020, 10, 30),
    "2020-Q4": date(2021, 1, 30),
    "2021-Q1": date(2021, 4, 30),
    "2021-Q2": date(2021, 7, 30),
    "2021-Q3": date(2021, 10, 30),
}
TODAY = date(2021, 10, 15)  # every deadline passed but 2021-Q3's
UNITS = ["AM", "AZ", "BY", "GE", "MD", "UA"]
FORMULA_LIKE = '=HYPERLINK("http://x","y")'
BUILT_AT = datetime(2021, 10, 15, 9, 30, 0)

ACC, WARN, REJ = "accepted", "accepted_with_warnings", "rejected"
# (submission_id, unit, period, dataset, status, revision, received_at, handling)
SUBMISSIONS = [
    ("ge-2019q1", "GE", "2019-Q1", "return", ACC, 1, "2019-04-20 12:00", "PUBLIC"),
    ("am-2020q3", "AM", "2020-Q3", "return", ACC, 1, "2020-10-20 09:00", "PUBLIC"),
    ("ge-q4", "GE", "2020-Q4", "return", ACC, 1, "2021-01-20 12:00", "PUBLIC"),
    ("am-q1", "AM", "2021-Q1", "return", ACC, 1, "2021-04-20 09:00", "PUBLIC"),
    # Received in the evening of the deadline day: still on time.
    ("am-q2-r1", "AM", "2021-Q2", "indicators", ACC, 1, "2021-07-30 23:10", "PUBLIC"),
    # A correction after the deadline: figures change, timeliness does not.
    ("am-q2-r2", "AM", "2021-Q2", "indicators", WARN, 2, "2021-09-01 10:00", "PUBLIC"),
    ("am-q3", "AM", "2021-Q3", "return", WARN, 1, "2021-10-01 08:00", "PUBLIC"),
    ("az-q1", "AZ", "2021-Q1", "return", ACC, 1, "2021-05-03 12:00", "PUBLIC"),
    # Only seizures for AZ in Q2: the indicators return is still missing.
    ("az-q2-s", "AZ", "2021-Q2", "seizures", ACC, 1, "2021-07-01 12:00", "PUBLIC"),
    ("az-q2-x", "AZ", "2021-Q2", "indicators", REJ, None, "2021-07-02 12:00", "PUBLIC"),
    ("by-q1", "BY", "2021-Q1", "return", ACC, 1, "2021-04-29 16:00", "PUBLIC"),
    ("by-q2-x", "BY", "2021-Q2", "return", REJ, None, "2021-07-15 12:00", "PUBLIC"),
    ("md-q2", "MD", "2021-Q2", "return", ACC, 1, "2021-07-25 12:00", "PUBLIC"),
    ("md-q3", "MD", "2021-Q3", "return", WARN, 1, "2021-10-05 12:00", "PUBLIC"),
    # Restricted handling: nothing of it may appear in the public edition.
    ("ge-q3", "GE", "2021-Q3", "return", WARN, 1, "2021-10-10 12:00", "RESTRICTED"),
]
# Reprocessed after everything else, but for a period outside the report window.
PROCESSED_LATER = {"ge-2019q1": datetime(2021, 10, 14, 12, 0)}

# (submission_id, row, crime_area, indicator, breakdown, value, unit, obs, conf, comment)
FACTS = [
    ("ge-2019q1", 2, "HRCN", "OCG_IDENTIFIED", None, 2, "COUNT", "A", "F", None),
    ("am-2020q3", 2, "DRUGS_CCH", "PERSONS_ARRESTED", None, 10, "COUNT", "A", "F", None),
    ("am-2020q3", 3, "THB", "VICTIMS_IDENTIFIED", None, 12, "COUNT", "A", "F", None),
    ("ge-q4", 2, "CYBER", "INVESTIGATIONS_OPENED", None, 3, "COUNT", "A", "F", None),
    ("am-q1", 2, "THB", "VICTIMS_IDENTIFIED", None, 10, "COUNT", "A", "F", None),
    ("am-q1", 3, "DRUGS_CCH", "PERSONS_ARRESTED", None, 9, "COUNT", "A", "F", None),
    ("am-q2-r1", 2, "DRUGS_CCH", "PERSONS_ARRESTED", None, 10, "COUNT", "A", "F", None),
    ("am-q2-r1", 3, "DRUGS_CCH", "PERSONS_ARRESTED", "NATIONAL", 7, "COUNT", "A", "F", None),
    ("am-q2-r1", 4, "DRUGS_CCH", "PERSONS_ARRESTED", "FOREIGN", 3, "COUNT", "A", "F", None),
    ("am-q2-r2", 2, "DRUGS_CCH", "PERSONS_ARRESTED", None, 12, "COUNT", "A", "F", None),
    ("am-q2-r2", 3, "DRUGS_CCH", "PERSONS_ARRESTED", "NATIONAL", 8, "COUNT", "A", "F", None),
    # Confidential breakdown: the total and the other breakdown would give it away.
    ("am-q2-r2", 4, "DRUGS_CCH", "PERSONS_ARRESTED", "FOREIGN", 4, "COUNT", "A", "C", None),
    ("am-q2-r2", 5, "THB", "VICTIMS_IDENTIFIED", None, 11, "COUNT", "A", "F", None),
    ("am-q2-r2", 6, "CYBER", "INVESTIGATIONS_OPENED", None, 1, "COUNT", "A", "F", None),
    ("am-q3", 2, "DRUGS_CCH", "PERSONS_ARRESTED", None, 15, "COUNT", "P", "F", FORMULA_LIKE),
    ("am-q3", 3, "THB", "VICTIMS_IDENTIFIED", None, 40, "COUNT", "E", "F", "new shelter"),
    # +200 % on a base of 1: noise the narrative must not tell.
    ("am-q3", 4, "CYBER", "INVESTIGATIONS_OPENED", None, 3, "COUNT", "A", "F", None),
    ("am-q3", 5, "FINML", "ASSETS_FROZEN_EUR", None, 50000, "EUR", "A", "N", "one case"),
    ("az-q1", 2, "DRUGS_CCH", "PERSONS_ARRESTED", None, 20, "COUNT", "A", "F", None),
    ("az-q1", 3, "FINML", "ASSETS_FROZEN_EUR", None, 1250.5, "EUR", "A", "F", None),
    ("by-q1", 2, "THB", "OCG_IDENTIFIED", None, None, "COUNT", "L", "F", None),
    ("ge-q3", 2, "DRUGS_SYN", "OCG_IDENTIFIED", None, 4, "COUNT", "P", "F", "secret"),
]

# (submission_id, row, commodity, quantity, unit, origin, destination)
SEIZURES = [
    ("az-q2-s", 2, "HEROIN", 2, "KG", None, None),
    ("md-q2", 2, "METHAMPHETAMINE", 2, "KG", None, None),
    ("md-q2", 3, "METHAMPHETAMINE", 3, "KG", None, None),
    ("md-q2", 4, "CIGARETTES", 1000, "PCS", None, None),
    ("md-q3", 2, "METHAMPHETAMINE", 4, "KG", "AF", "DE"),
    ("md-q3", 3, "METHAMPHETAMINE", 4, "KG", "AF", "DE"),
    ("md-q3", 4, "METHAMPHETAMINE", 6, "KG", "TR", "MD"),
    ("md-q3", 5, "CIGARETTES", 1000, "PCS", "UA", "MD"),
    ("md-q3", 6, "COCAINE", 0.5, "KG", None, "DE"),
    ("am-q3", 2, "CANNABIS_HERB", 20, "KG", "AF", "DE"),
    ("am-q3", 3, "HEROIN", 1.5, "KG", "TR", "AM"),
    ("ge-q3", 2, "COCAINE", 100, "KG", "CO", "GE"),
    ("ge-q3", 3, "COCAINE", 50, "KG", "CO", "GE"),
    ("ge-q3", 4, "FIREARMS", 3, "PCS", None, None),
]

# (submission_id, seq, sheet, row, column, value, rule, message)
FINDINGS = [
    ("am-q2-r1", 1, "indicators", 2, "value", "10", "old_rule", "superseded revision"),
    ("am-q2-r2", 1, "indicators", 4, "value", "4", "total_equals_sum_of_breakdowns", "sum 12"),
    ("am-q3", 1, "indicators", 2, "value", "15", "large_change", f"Explained: {FORMULA_LIKE}"),
    ("md-q3", 1, "seizures", 6, "origin_country", None, "origin_known", "origin missing"),
    ("ge-q3", 1, "indicators", 2, "value", "4", "large_change", "restricted text"),
]

ACCEPTED = {ACC, WARN}
SUBMISSION = {s[0]: s for s in SUBMISSIONS}


@pytest.fixture
def warehouse(tmp_path: Path) -> Engine:
    return filled_warehouse(f"sqlite:///{tmp_path / 'warehouse.db'}")


def filled_warehouse(url: str) -> Engine:
    """A migrated warehouse holding the rows above."""
    engine = warehouse_engine(url)
    migrate(engine)
    with engine.begin() as conn:
        for sid, unit, period, dataset, status, revision, received_at, handling in SUBMISSIONS:
            received = datetime.fromisoformat(received_at)
            conn.execute(
                text(
                    "INSERT INTO submission (submission_id, reporting_unit, period, dataset,"
                    " file_name, stored_name, sha256, received_at, processed_at, status, revision,"
                    " handling_code)"
                    " VALUES (:sid, :unit, :period, :dataset, :file, :stored, :sha, :received,"
                    " :processed, :status, :revision, :handling)"
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
                    "handling": handling,
                },
            )
        conn.execute(
            text(
                "INSERT INTO indicator_fact (submission_id, row_number, crime_area, indicator,"
                " breakdown, value, unit, obs_status, conf_status, comment)"
                " VALUES (:sid, :row, :area, :indicator, :breakdown, :value, :unit, :obs,"
                " :conf, :comment)"
            ),
            [
                dict(zip(["sid", "row", "area", "indicator", "breakdown", "value", "unit", "obs",
                          "conf", "comment"], fact, strict=True))
                for fact in FACTS
            ],
        )  # fmt: skip
        conn.execute(
            text(
                "INSERT INTO seizure_fact (submission_id, row_number, seizure_ref, seizure_date,"
                " commodity, quantity, unit, origin_country, destination_country)"
                " VALUES (:sid, :row, :ref, :day, :commodity, :quantity, :unit, :origin,"
                " :destination)"
            ),
            [
                {"sid": sid, "row": row, "ref": f"{sid}-{row}", "day": _seizure_day(sid),
                 "commodity": commodity, "quantity": quantity, "unit": unit, "origin": origin,
                 "destination": destination}
                for sid, row, commodity, quantity, unit, origin, destination in SEIZURES
            ],
        )  # fmt: skip
        conn.execute(
            text(
                "INSERT INTO finding (submission_id, seq, sheet, row_number, column_name, value,"
                " rule, severity, message)"
                " VALUES (:sid, :seq, :sheet, :row, :column, :value, :rule, 'warning', :message)"
            ),
            [
                dict(zip(["sid", "seq", "sheet", "row", "column", "value", "rule", "message"],
                         finding, strict=True))
                for finding in FINDINGS
            ],
        )  # fmt: skip
    return engine


def _seizure_day(sid: str) -> date:
    period = SUBMISSION[sid][2]
    return date(int(period[:4]), (int(period[-1]) - 1) * 3 + 1, 15)


# --- expected values, from the rows above ----------------------------------------


def current_submission(unit: str, period: str, datasets: tuple[str, ...]) -> str | None:
    """The latest accepted revision of (unit, period) carrying one of ``datasets``."""
    candidates = [
        s for s in SUBMISSIONS
        if s[1] == unit and s[2] == period and s[4] in ACCEPTED and s[3] in datasets
    ]  # fmt: skip
    return max(candidates, key=lambda s: s[5])[0] if candidates else None


def current_facts() -> list[tuple]:
    """FACTS rows of the current revisions, with the submission's unit, period and handling."""
    out = []
    for fact in FACTS:
        _sid, unit, period, *_ = SUBMISSION[fact[0]]
        if current_submission(unit, period, ("return", "indicators")) == fact[0]:
            out.append((unit, period, SUBMISSION[fact[0]][7], *fact))
    return out


def expected_value(unit, period, area, indicator, breakdown=None):
    for u, p, _h, _sid, _row, a, i, b, value, _unit, obs, *_ in current_facts():
        if (u, p, a, i, b) == (unit, period, area, indicator, breakdown):
            return value if value is not None else obs
    return None


def publishable(handling: str, conf: str) -> bool:
    return handling == "PUBLIC" and conf == "F"


def expected_suppressed_groups() -> set[tuple]:
    """(unit, period, area, indicator) groups the public edition withholds entirely."""
    return {
        (u, p, a, i)
        for u, p, h, _sid, _row, a, i, _b, _v, _unit, _obs, conf, _c in current_facts()
        if not publishable(h, conf)
    }


def expected_timeliness(dataset: str = "indicators") -> dict[tuple[str, str], tuple]:
    """From the inserted rows alone: (unit, period) → (status, days late)."""
    first: dict[tuple[str, str], date] = {}
    for _sid, unit, period, ds, status, _rev, received, _h in SUBMISSIONS:
        if status in ACCEPTED and ds in ("return", dataset) and period in PERIODS:
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


def used_submissions() -> set[str]:
    """Every accepted submission of a period in the window: current, first-received or both."""
    return {s[0] for s in SUBMISSIONS if s[4] in ACCEPTED and s[2] in PERIODS}


# --- completeness ----------------------------------------------------------------


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
    assert got[("UA", "2021-Q3")] == ("due", None)


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


# --- the workbook ----------------------------------------------------------------


@pytest.fixture
def programme(warehouse, tmp_path: Path) -> Path:
    return build_assessment(
        warehouse, "2021-Q3", tmp_path / "reports", today=TODAY, built_at=BUILT_AT
    ).path


@pytest.fixture
def public(warehouse, tmp_path: Path) -> Path:
    return build_assessment(
        warehouse,
        "2021-Q3",
        tmp_path / "reports",
        today=TODAY,
        built_at=BUILT_AT,
        audience="public",
    ).path


def rows_of(ws) -> list[list]:
    return [list(r) for r in ws.iter_rows(values_only=True)]


def table_at(ws, first_title: str) -> tuple[list, list[list]]:
    """The header row whose first cell is ``first_title`` and the rows below it, to a blank row."""
    rows = rows_of(ws)
    start = next(i for i, r in enumerate(rows) if r[0] == first_title)
    body = []
    for row in rows[start + 1 :]:
        if row[0] is None:
            break
        body.append(row)
    return rows[start], body


def series(ws) -> dict[tuple[str, str, str], dict[str, object]]:
    """(indicator, breakdown, country) → {column title: value} read through the header row."""
    header, body = table_at(ws, "Indicator")
    return {(r[0], r[2], r[3]): dict(zip(header, r, strict=False)) for r in body}


def notes(ws) -> str:
    """The title block: every text above the first table."""
    return " ".join(str(r[0]) for r in rows_of(ws)[:4] if r[0])


def all_values(path: Path) -> list[object]:
    wb = load_workbook(path)
    return [v for ws in wb.worksheets for row in rows_of(ws) for v in row if v is not None]


CRIME_AREA_SHEETS = ["CYBER", "THB", "DRUGS_CCH", "DRUGS_SYN", "FINML"]  # codelist order
SHEETS = ["overview", "completeness", *CRIME_AREA_SHEETS, "seizures", "data quality"]


def test_report_is_named_for_period_edition_and_build_time(programme, public, tmp_path):
    assert programme.name == "eap_assessment_2021-Q3_programme_20211015T093000Z.xlsx"
    assert public.name == "eap_assessment_2021-Q3_public_20211015T093000Z.xlsx"
    # Written whole: no temporary file left beside them.
    assert sorted(p.name for p in programme.parent.iterdir()) == sorted(
        [programme.name, public.name]
    )


def test_a_build_never_replaces_an_earlier_one(warehouse, programme):
    before = programme.read_bytes()
    again = build_assessment(
        warehouse, "2021-Q3", programme.parent, today=TODAY, built_at=BUILT_AT
    ).path
    assert again != programme
    assert again.name == "eap_assessment_2021-Q3_programme_20211015T093000Z-2.xlsx"
    assert programme.read_bytes() == before


def test_report_sheets(programme, public):
    # Crime areas with current data in the eight quarters; HRCN only has 2019-Q1.
    sheet_areas = {f[5] for f in current_facts() if f[1] in PERIODS}
    assert set(CRIME_AREA_SHEETS) == sheet_areas
    for path in (programme, public):
        wb = load_workbook(path)
        assert wb.sheetnames == SHEETS
        for ws in wb.worksheets:
            # Tables keep their header row in view; the overview is a single screen.
            assert (ws.freeze_panes is not None) == (ws.title != "overview")
            assert ws.page_setup.orientation == "landscape"


def test_crime_area_sheet_shows_eight_periods_and_current_revision(programme):
    wb = load_workbook(programme)
    header, _ = table_at(wb["DRUGS_CCH"], "Indicator")
    assert header[5:13] == PERIODS
    drugs = series(wb["DRUGS_CCH"])
    for (indicator, breakdown, unit), row in drugs.items():
        for period in PERIODS:
            want = expected_value(
                unit, period, "DRUGS_CCH", indicator, None if breakdown == "total" else breakdown
            )
            assert row[period] == want, (indicator, breakdown, unit, period)
    assert drugs[("PERSONS_ARRESTED", "total", "AM")]["2021-Q2"] == 12  # revision 2, not 10
    assert series(wb["THB"])[("OCG_IDENTIFIED", "total", "BY")]["2021-Q1"] == "L"
    assert set(drugs) == {
        ("PERSONS_ARRESTED", "total", "AM"),
        ("PERSONS_ARRESTED", "NATIONAL", "AM"),
        ("PERSONS_ARRESTED", "FOREIGN", "AM"),
        ("PERSONS_ARRESTED", "total", "AZ"),
    }


def test_crime_area_sheet_changes_on_previous_period_and_year_earlier(programme):
    row = series(load_workbook(programme)["DRUGS_CCH"])[("PERSONS_ARRESTED", "total", "AM")]
    now = expected_value("AM", "2021-Q3", "DRUGS_CCH", "PERSONS_ARRESTED")
    before = expected_value("AM", "2021-Q2", "DRUGS_CCH", "PERSONS_ARRESTED")
    year_ago = expected_value("AM", "2020-Q3", "DRUGS_CCH", "PERSONS_ARRESTED")
    assert row["Change on previous period (2021-Q2)"] == pytest.approx(now / before - 1)  # +25 %
    assert row["Change on a year earlier (2020-Q3)"] == pytest.approx(now / year_ago - 1)  # +50 %
    assert row["Comment (2021-Q3)"] == FORMULA_LIKE
    # No earlier value: no change.
    az = series(load_workbook(programme)["DRUGS_CCH"])[("PERSONS_ARRESTED", "total", "AZ")]
    assert az["Change on previous period (2021-Q2)"] is None


def expected_line_charts(area: str, edition: str) -> int:
    """Indicators of ``area`` with at least one total this edition may show."""
    withheld = expected_suppressed_groups() if edition == "public" else set()
    return len(
        {
            f[6]
            for f in current_facts()
            if f[5] == area and f[7] is None and f[8] is not None and f[1] in PERIODS
            and (f[0], f[1], f[5], f[6]) not in withheld
        }
    )  # fmt: skip


def test_crime_area_sheets_have_a_line_chart_per_indicator_with_numbers(programme, public):
    for path, edition in ((programme, "programme"), (public, "public")):
        wb = load_workbook(path)
        for area in CRIME_AREA_SHEETS:
            charts = wb[area]._charts
            assert len(charts) == expected_line_charts(area, edition), (edition, area)
            assert all(isinstance(c, LineChart) for c in charts)
    assert expected_line_charts("DRUGS_SYN", "programme") == 1
    assert expected_line_charts("DRUGS_SYN", "public") == 0  # GE's restricted return only
    drugs = load_workbook(programme)["DRUGS_CCH"]._charts
    assert len(drugs[0].series) == 2  # AM and AZ


def test_report_completeness_grids(programme):
    ws = load_workbook(programme)["completeness"]
    for dataset in ("indicators", "seizures"):
        rows = rows_of(ws)
        start = rows.index(next(r for r in rows if r[0] == f"Returns carrying {dataset}"))
        header, body = rows[start + 1], rows[start + 2 : start + 2 + len(UNITS)]
        assert header[:10] == ["Reporting unit", "Name", *PERIODS]
        assert [r[0] for r in body] == UNITS
        expected = expected_timeliness(dataset)
        for row in body:
            for period, label in zip(PERIODS, row[2:10], strict=True):
                status, days = expected[(row[0], period)]
                want = {
                    "on_time": "on time",
                    "missing": "missing",
                    "due": "due",
                    "not_expected": "n.a.",
                    "late": f"late ({days} day{'s' if days != 1 else ''})",
                }[status]
                assert label == want, (dataset, row[0], period)
    indicators = {r[0]: r for r in table_at(ws, "Reporting unit")[1]}
    assert indicators["AZ"][7:10] == ["late (3 days)", "missing", "due"]


def test_report_completeness_fills_differ_by_status(programme):
    ws = load_workbook(programme)["completeness"]
    fills = {
        cell.value: cell.fill.fgColor.rgb
        for row in ws.iter_rows(min_col=3, max_col=10)
        for cell in row
        if cell.value in ("on time", "late (3 days)", "missing", "due", "n.a.")
    }
    assert len(set(fills.values())) == 5


def test_report_overview(programme):
    ws = load_workbook(programme)["overview"]
    overview = {r[0]: r[1] for r in table_at(ws, "Item")[1]}
    assert overview["Period"] == "2021-Q3"
    assert overview["Edition"] == "programme"
    assert overview["Built at (UTC)"] == BUILT_AT
    q3 = {u: s for (u, p), (s, _d) in expected_timeliness().items() if p == "2021-Q3"}
    assert overview["Units expected"] == sum(s != "not_expected" for s in q3.values())
    assert overview["Units reporting"] == sum(s in ("on_time", "late") for s in q3.values())
    assert overview["Units reporting"] == 3  # AM, MD, GE
    used = used_submissions()
    assert overview["Submissions used"] == len(used)
    latest = max(
        PROCESSED_LATER.get(s[0], datetime.fromisoformat(s[6]) + timedelta(minutes=5))
        for s in SUBMISSIONS
        if s[0] in used
    )
    # GE's 2019-Q1 return was processed later still, but lies outside the window.
    assert overview["Data as of (UTC, latest submission used)"] == latest


def test_overview_tells_the_biggest_changes(programme):
    rows = rows_of(load_workbook(programme)["overview"])
    start = next(i for i, r in enumerate(rows) if r[0] == "Biggest changes on the previous quarter")
    told = [r[0] for r in rows[start + 1 :] if r[0]]
    # Seizures of methamphetamine in MD: 2 + 3 kg in Q2, 4 + 4 + 6 kg in Q3.
    q2 = sum(q for sid, _r, c, q, *_ in SEIZURES if sid == "md-q2" and c == "METHAMPHETAMINE")
    q3 = sum(q for sid, _r, c, q, *_ in SEIZURES if sid == "md-q3" and c == "METHAMPHETAMINE")
    assert (q2, q3) == (5, 14)
    meth = (
        f"Seizures of methamphetamine in MD rose {round((q3 / q2 - 1) * 100)}% on the previous "
        f"quarter (from {q2} kg to {q3} kg)."
    )
    victims = (
        "Victims identified (trafficking in human beings) in AM rose "
        f"{round((40 / 11 - 1) * 100)}% on the previous quarter (from 11 to 40, estimated)."
    )
    arrests = (
        "Persons arrested (cannabis, cocaine and heroin trafficking) in AM rose 25% on the "
        "previous quarter (from 12 to 15, provisional)."
    )
    assert told == [victims, meth, arrests]  # largest first: +264 %, +180 %, +25 %
    # CYBER 1 → 3 (+200 %) is below the base of 10 and stays untold.
    assert not any("Investigations opened" in s for s in told)


def test_public_overview_tells_only_published_changes(public):
    rows = rows_of(load_workbook(public)["overview"])
    text_ = " ".join(str(r[0]) for r in rows if r[0])
    assert "Seizures of methamphetamine in MD rose 180%" in text_
    assert "Victims identified (trafficking in human beings) in AM rose 264%" in text_
    # AM's 2021-Q2 arrests are withheld (a confidential breakdown), so no change is told.
    withheld = expected_suppressed_groups()
    assert ("AM", "2021-Q2", "DRUGS_CCH", "PERSONS_ARRESTED") in withheld
    assert "Persons arrested" not in text_
    assert "suppressed in this edition" in notes(load_workbook(public)["overview"])


def test_seizures_sheet_quantities_by_commodity_and_country(programme):
    ws = load_workbook(programme)["seizures"]
    header, body = table_at(ws, "Commodity")
    expected: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    events: Counter = Counter()
    reporting = set()
    for sid, _row, commodity, quantity, unit, _o, _d in SEIZURES:
        if SUBMISSION[sid][2] == "2021-Q3":
            expected[(commodity, unit)][SUBMISSION[sid][1]] += quantity
            events[(commodity, unit)] += 1
            reporting.add(SUBMISSION[sid][1])
    got = {(r[0], r[2]): dict(zip(header, r, strict=False)) for r in body}
    assert set(got) == set(expected)
    for key, by_unit in expected.items():
        for unit in UNITS:
            if unit in reporting:
                assert got[key][unit] == by_unit.get(unit, 0), (key, unit)
            else:
                assert got[key].get(unit) is None, (key, unit)
        assert got[key]["Region total"] == pytest.approx(sum(by_unit.values()))
        assert got[key]["Seizures"] == events[key]
    assert got[("COCAINE", "KG")]["Region total"] == 150.5


def expected_routes(include_restricted: bool) -> list[tuple[str, int]]:
    counts: Counter = Counter()
    for sid, _row, _c, _q, _u, origin, destination in SEIZURES:
        shown = include_restricted or SUBMISSION[sid][7] == "PUBLIC"
        if SUBMISSION[sid][2] == "2021-Q3" and origin and destination and shown:
            counts[f"{origin} → {destination}"] += 1
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def test_seizures_sheet_top_routes_and_bar_charts(programme, public):
    for path, restricted in ((programme, True), (public, False)):
        ws = load_workbook(path)["seizures"]
        _header, body = table_at(ws, "Rank")
        assert [(r[1], r[4]) for r in body] == expected_routes(restricted)
        charts = ws._charts
        # One bar chart per unit of measure seized in Q3 (kg, pieces), one of the routes.
        measures = {u for sid, _r, _c, _q, u, *_ in SEIZURES if SUBMISSION[sid][2] == "2021-Q3"}
        assert len(charts) == len(measures) + 1
        assert all(isinstance(c, BarChart) for c in charts)
    top = table_at(load_workbook(programme)["seizures"], "Rank")[1][0]
    assert top[1:6] == ["AF → DE", "AF", "DE", 3, "AM, MD"]


def test_data_quality_annex(programme):
    ws = load_workbook(programme)["data quality"]
    _header, body = table_at(ws, "Country")
    current = {current_submission(s[1], s[2], ("return", "indicators")) for s in SUBMISSIONS} | {
        current_submission(s[1], s[2], ("return", "seizures")) for s in SUBMISSIONS
    }
    standing = [f for f in FINDINGS if f[0] in current and SUBMISSION[f[0]][2] in PERIODS]
    assert sorted((r[2], r[7]) for r in body) == sorted((f[0], f[6]) for f in standing)
    assert "am-q2-r1" not in [r[2] for r in body]  # superseded revision
    message = next(r[8] for r in body if r[2] == "am-q3")
    assert message == f"Explained: {FORMULA_LIKE}"

    rows = rows_of(ws)
    outliers_at = next(i for i, r in enumerate(rows) if str(r[0]).startswith("Outliers"))
    outlier = rows[outliers_at + 2]
    # AM victims: 40 against the median of 12, 10 and 11.
    assert outlier[:8] == ["AM", "2021-Q3", "THB", "VICTIMS_IDENTIFIED", "total", 40, 11, 3]
    assert outlier[8] == pytest.approx(40 / 11)
    assert rows[outliers_at + 3][0] is None  # the only one

    flagged_at = next(i for i, r in enumerate(rows) if r[0] == "Estimated and provisional values")
    flagged = [r for r in rows[flagged_at + 2 :] if r[0]]
    expected = [
        (u, p, a, i) for u, p, _h, _s, _r, a, i, _b, v, _un, obs, *_ in current_facts()
        if obs in ("P", "E") and p in PERIODS
    ]  # fmt: skip
    assert sorted(tuple(r[:4]) for r in flagged) == sorted(expected)


def test_public_edition_suppresses_and_says_so(public):
    wb = load_workbook(public)
    withheld = expected_suppressed_groups()
    assert withheld == {
        ("AM", "2021-Q2", "DRUGS_CCH", "PERSONS_ARRESTED"),  # a confidential breakdown
        ("AM", "2021-Q3", "FINML", "ASSETS_FROZEN_EUR"),  # not for publication
        ("GE", "2021-Q3", "DRUGS_SYN", "OCG_IDENTIFIED"),  # restricted return
    }
    for unit, period, area, indicator in withheld:
        for (i, _b, u), row in series(wb[area]).items():
            if (i, u) == (indicator, unit):
                assert row[period] == "c"
    drugs = series(wb["DRUGS_CCH"])
    assert drugs[("PERSONS_ARRESTED", "total", "AM")]["2021-Q1"] == 9  # published values stay
    # Nothing tells the confidential breakdown from the values withheld with it.
    ws = wb["DRUGS_CCH"]
    withheld_cells = [c for row in ws.iter_rows() for c in row if c.value == "c"]
    assert len(withheld_cells) == 3
    assert len({(c.fill.fgColor.rgb, c.font.i, c.number_format) for c in withheld_cells}) == 1
    # A change against a withheld value would give it away.
    assert drugs[("PERSONS_ARRESTED", "total", "AM")]["Change on previous period (2021-Q2)"] is None

    affected = {area for _u, _p, area, _i in withheld} | {"overview", "seizures", "data quality"}
    for ws in wb.worksheets:
        said = "Suppressed on this sheet" in notes(ws) or (
            ws.title == "overview" and "suppressed in this edition" in notes(ws)
        )
        assert said == (ws.title in affected), ws.title
        assert "Public edition" in notes(ws)

    # Nothing of the withheld values, the restricted return or its texts anywhere.
    values = all_values(public)
    for gone in (50000, "secret", "restricted text", "CO → GE", 150.5, 150, "one case",
                 "FIREARMS"):  # fmt: skip
        assert gone not in values, gone
    # AM's 2021-Q2 arrests (12 = 8 + 4): not in the table, nor in the chart data.
    drugs_values = [v for row in rows_of(wb["DRUGS_CCH"]) for v in row]
    assert not {12, 8, 4} & set(drugs_values)
    seizures = {r[0]: r for r in table_at(wb["seizures"], "Commodity")[1]}
    header = table_at(wb["seizures"], "Commodity")[0]
    assert seizures["COCAINE"][header.index("GE")] == "c"
    assert seizures["COCAINE"][header.index("Region total")] == 0.5


def test_public_data_quality_annex_drops_what_would_leak(public):
    _header, body = table_at(load_workbook(public)["data quality"], "Country")
    shown = {(r[2], r[7]): r for r in body}
    # GE's restricted return and the finding on AM's confidential breakdown are gone.
    assert set(shown) == {("am-q3", "large_change"), ("md-q3", "origin_known")}
    # AM's 2021-Q3 return holds a withheld value: its findings keep their place, not their text.
    assert shown[("am-q3", "large_change")][8] == "withheld in the public edition"
    assert shown[("md-q3", "origin_known")][8] == "origin missing"


def test_programme_edition_withholds_nothing(programme):
    wb = load_workbook(programme)
    for ws in wb.worksheets:
        assert "Programme edition" in notes(ws)
        assert "Suppressed" not in notes(ws)
    assert "c" not in all_values(programme)
    assert 50000 in all_values(programme)
    # What must not leave the programme is shaded; published values are not.
    ws = wb["FINML"]
    header, _body = table_at(ws, "Indicator")
    column = header.index("2021-Q3") + 1
    row_of = {ws.cell(r, 4).value: r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value}
    shaded = ws.cell(row_of["AM"], column).fill.fgColor.rgb
    plain = ws.cell(row_of["AZ"], header.index("2021-Q1") + 1).fill.fgColor.rgb
    assert ws.cell(row_of["AM"], column).value == 50000
    assert shaded != plain


def test_formula_like_text_from_a_return_stays_text(programme):
    wb = load_workbook(programme)
    cells = [
        (ws.title, cell)
        for ws in wb.worksheets
        for row in ws.iter_rows()
        for cell in row
        if isinstance(cell.value, str) and "HYPERLINK" in cell.value
    ]
    assert {title for title, _c in cells} == {"DRUGS_CCH", "data quality"}
    for _title, cell in cells:
        assert cell.data_type == "s"
        assert cell.value in (FORMULA_LIKE, f"Explained: {FORMULA_LIKE}")


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


def test_report_has_no_formulas_external_links_or_macros(programme, public):
    for path in (programme, public):
        wb = load_workbook(path)
        formulas = [
            (ws.title, cell.coordinate)
            for ws in wb.worksheets
            for row in ws.iter_rows()
            for cell in row
            if cell.data_type == "f"
        ]
        assert formulas == []
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
            sheets = [n for n in names if n.startswith("xl/worksheets/sheet")]
            assert len(sheets) == len(SHEETS)
            assert not any(b"<f>" in z.read(n) or b"<f " in z.read(n) for n in sheets)
            assert not any("externalLink" in n or "vbaProject" in n for n in names)
            content_types = z.read("[Content_Types].xml")
            assert b"macroEnabled" not in content_types
            assert b"externalLink" not in content_types
            # Charts are there, and read this workbook's own cells ("[1]..." is another file).
            charts = [n for n in names if n.startswith("xl/charts/chart")]
            refs = [
                r for n in charts for r in re.findall(rb"<(?:c:)?f>([^<]*)</(?:c:)?f>", z.read(n))
            ]
            assert charts and refs
            assert not any(b"[" in r for r in refs)


# --- building and recording ----------------------------------------------------


def test_build_report_records_the_build_and_its_submissions(warehouse, tmp_path):
    first = build_report(
        "2021-Q3", audience="public", engine=warehouse, destination=tmp_path / "out", today=TODAY
    )
    second = build_report(
        "2021-Q3", audience="programme", engine=warehouse, destination=tmp_path / "out", today=TODAY
    )
    assert Path(first.location).is_file() and Path(second.location).is_file()
    assert first.location != second.location
    assert Path(first.location).name.startswith("eap_assessment_2021-Q3_public_")
    with warehouse.connect() as conn:
        builds = conn.execute(
            text("SELECT build_id, period, first_period, audience, location FROM report_build")
        ).all()
        used = conn.execute(
            text("SELECT submission_id FROM report_build_submission WHERE build_id = :b"),
            {"b": first.build_id},
        ).scalars()
        used = set(used)
    assert sorted(tuple(b) for b in builds) == sorted(
        [
            (first.build_id, "2021-Q3", "2019-Q4", "public", first.location),
            (second.build_id, "2021-Q3", "2019-Q4", "programme", second.location),
        ]
    )
    assert used == used_submissions()


def test_build_report_defaults_to_the_latest_period(warehouse, tmp_path):
    build = build_report(engine=warehouse, destination=tmp_path, today=TODAY)
    assert build.period == max(s[2] for s in SUBMISSIONS if s[4] in ACCEPTED)


def test_build_report_refuses_an_unknown_audience(warehouse, tmp_path):
    with pytest.raises(ValueError, match="not a report audience"):
        build_report("2021-Q3", audience="press", engine=warehouse, destination=tmp_path)


def test_build_report_to_s3(warehouse, s3_endpoint, monkeypatch, tmp_path):
    import uuid
    from io import BytesIO

    from s3_server import s3_client, use_s3_connection

    use_s3_connection(monkeypatch, s3_endpoint)
    monkeypatch.delenv("TOPCOP_S3_CONN_ID", raising=False)
    client = s3_client(s3_endpoint)
    bucket = f"reports-{uuid.uuid4().hex[:8]}"
    client.create_bucket(Bucket=bucket)

    build = build_report(
        "2021-Q3", engine=warehouse, destination=f"s3://{bucket}/eap/", today=TODAY
    )
    key = build.location.removeprefix(f"s3://{bucket}/")
    assert key.startswith("eap/eap_assessment_2021-Q3_programme_") and key.endswith(".xlsx")
    body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
    assert load_workbook(BytesIO(body)).sheetnames == SHEETS
    with warehouse.connect() as conn:
        assert conn.execute(text("SELECT location FROM report_build")).scalar() == build.location

    # Never over an earlier build: the same name again is refused, the first copy stays.
    copy = tmp_path / Path(key).name
    copy.write_bytes(b"not a workbook")
    with pytest.raises(ValueError, match="already exists"):
        upload_report(copy, f"s3://{bucket}/eap")
    assert client.get_object(Bucket=bucket, Key=key)["Body"].read() == body


def test_report_is_the_same_on_postgresql(programme, public, postgresql_url, tmp_path):
    """The production database gives the very same workbooks, cell for cell."""
    engine = filled_warehouse(postgresql_url)
    try:
        for path, audience in ((programme, "programme"), (public, "public")):
            on_postgresql = build_assessment(
                engine, "2021-Q3", tmp_path / "pg", today=TODAY, built_at=BUILT_AT,
                audience=audience,
            ).path  # fmt: skip
            expected, got = load_workbook(path), load_workbook(on_postgresql)
            assert got.sheetnames == expected.sheetnames
            for ws in expected.worksheets:
                assert rows_of(got[ws.title]) == rows_of(ws), (audience, ws.title)
        build = build_report(
            "2021-Q3", audience="public", engine=engine, destination=tmp_path / "b", today=TODAY
        )
        with engine.connect() as conn:
            used = conn.execute(
                text("SELECT submission_id FROM report_build_submission WHERE build_id = :b"),
                {"b": build.build_id},
            ).scalars()
            assert set(used) == used_submissions()
    finally:
        engine.dispose()


# --- a real spreadsheet program ----------------------------------------------------


def _soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


@pytest.mark.slow
def test_workbook_opens_in_libreoffice(programme, tmp_path):
    soffice = _soffice()
    if soffice is None or shutil.which("pdftotext") is None:
        missing = "LibreOffice (soffice) or poppler-utils (pdftotext) is not installed"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{missing}; .ci/run installs libreoffice-calc and poppler-utils")
        pytest.skip(missing)
    out = tmp_path / "pdf"
    subprocess.run(
        [
            soffice,
            f"-env:UserInstallation=file://{tmp_path / 'lo-profile'}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(out),
            str(programme),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    pdf = out / (programme.stem + ".pdf")
    pages = _pdf_pages(pdf)
    # Each sheet prints one page wide: with this little data its tables take one page, and
    # its charts (if any) a page of their own, four to a page. The page header names the sheet.
    charts = {area: expected_line_charts(area, "programme") for area in CRIME_AREA_SHEETS}
    charts["seizures"] = 3  # kg, pieces, routes
    expected = [name for name in SHEETS for _page in range(1 + -(-charts.get(name, 0) // 4))]
    assert [_sheet_in_header(page) for page in pages] == expected
    assert len(pages) == 15
    assert all(f"Page {n} of {len(pages)}" in page for n, page in enumerate(pages, start=1))
    assert "Eastern Partnership organised crime assessment, 2021-Q3" in pages[0]
    assert "Seizures of methamphetamine in MD rose 180%" in pages[0]
    assert "Persons arrested (DRUGS_CCH)" in pages[expected.index("DRUGS_CCH") + 1]


def _sheet_in_header(page: str) -> str:
    """The header line reads "<report title>   <sheet name>"."""
    first = next(line for line in page.splitlines() if line.strip())
    return re.split(r"\s{2,}", first.strip())[-1]


def _pdf_pages(pdf: Path) -> list[str]:
    """The text of each page (poppler's pdftotext separates pages with form feeds)."""
    result = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, timeout=60
    )
    pages = result.stdout.decode("utf-8").split("\f")
    return pages[:-1] if pages and not pages[-1].strip() else pages
