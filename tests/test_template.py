"""The generated return template: what a focal point receives for one country and period."""

from __future__ import annotations

import shutil
from datetime import date

import openpyxl
import pytest
from openpyxl.utils import range_boundaries

from topcop import config
from topcop.config import codelists
from topcop.periods import PeriodError
from topcop.returns.model import (
    CODELISTS_SHEET,
    INDICATOR_COLUMNS,
    INDICATORS_SHEET,
    INSTRUCTIONS_SHEET,
    METADATA_FIELDS,
    METADATA_SHEET,
    SEIZURE_COLUMNS,
    SEIZURES_SHEET,
)
from topcop.returns.template import build_template, write_template

COUNTRY, PERIOD = "GE", "2026-Q3"


@pytest.fixture(scope="module")
def wb(tmp_path_factory):
    """The template as saved to disk and opened again, i.e. as the focal point gets it (English)."""
    path = write_template(COUNTRY, PERIOD, tmp_path_factory.mktemp("template") / "t.xlsx", "en")
    return openpyxl.load_workbook(path)


def header(ws):
    return [c.value for c in ws[1] if c.value is not None]


def validations(ws):
    """Column letter -> data validations covering that column from row 2."""
    out = {}
    for dv in ws.data_validations.dataValidation:
        for area in dv.sqref.ranges:
            min_col, _, max_col, _ = range_boundaries(area.coord)
            for col in range(min_col, max_col + 1):
                out.setdefault(openpyxl.utils.get_column_letter(col), []).append(dv)
    return out


def list_codes(wb, dv):
    """The codes a list validation offers, read from the hidden sheet it points at."""
    sheet, area = dv.formula1.split("!")
    ws = wb[sheet]
    min_col, min_row, _, max_row = range_boundaries(area.replace("$", ""))
    return [ws.cell(r, min_col).value for r in range(min_row, max_row + 1)]


def column_letter(columns, name):
    return openpyxl.utils.get_column_letter(list(columns).index(name) + 1)


def test_sheets_in_order_with_codelists_hidden(wb):
    assert wb.sheetnames == [
        INSTRUCTIONS_SHEET,
        METADATA_SHEET,
        INDICATORS_SHEET,
        SEIZURES_SHEET,
        CODELISTS_SHEET,
    ]
    assert wb[CODELISTS_SHEET].sheet_state == "hidden"
    assert all(wb[n].sheet_state == "visible" for n in wb.sheetnames[:-1])


def test_headers_are_the_model_column_names(wb):
    assert header(wb[INDICATORS_SHEET]) == list(INDICATOR_COLUMNS)
    assert header(wb[SEIZURES_SHEET]) == list(SEIZURE_COLUMNS)
    assert wb[SEIZURES_SHEET].max_row == 1  # no data rows: the focal point adds them


def test_metadata_fields_and_prefilled_values(wb):
    ws = wb[METADATA_SHEET]
    assert [ws["A1"].value, ws["B1"].value] == ["field", "value"]
    fields = [ws.cell(r, 1).value for r in range(2, len(METADATA_FIELDS) + 2)]
    assert fields == list(METADATA_FIELDS)
    values = {ws.cell(r, 1).value: ws.cell(r, 2).value for r in range(2, ws.max_row + 1)}
    assert values["country"] == COUNTRY
    assert values["period"] == PERIOD
    assert values["template_version"] == codelists().template_version
    assert values["submission_date"] is None and values["handling_code"] is None


def test_indicator_rows_cover_every_crime_area_and_applicable_indicator(wb):
    lists = codelists()
    ws = wb[INDICATORS_SHEET]
    rows = [
        dict(zip(INDICATOR_COLUMNS, r, strict=True))
        for r in ws.iter_rows(min_row=2, max_col=len(INDICATOR_COLUMNS), values_only=True)
    ]
    expected = []
    for area in lists.crime_areas:
        for ind in lists.indicators.values():
            if ind.applies_to(area):
                expected += [(area, ind.code, b, ind.unit) for b in (None, *ind.breakdowns)]
    assert [(r["crime_area"], r["indicator"], r["breakdown"], r["unit"]) for r in rows] == expected
    # what the focal point fills is left empty
    assert all(
        r[c] is None for r in rows for c in ("value", "obs_status", "conf_status", "comment")
    )
    victims = {r["crime_area"] for r in rows if r["indicator"] == "VICTIMS_IDENTIFIED"}
    assert victims == {"THB", "CSE"}
    arrested = [
        r["breakdown"]
        for r in rows
        if r["crime_area"] == "THB" and r["indicator"] == "PERSONS_ARRESTED"
    ]
    assert arrested == [None, "NATIONAL", "FOREIGN"]


def test_hidden_sheet_holds_the_codelists(wb):
    lists = codelists()
    ws = wb[CODELISTS_SHEET]
    columns = {c.value: [] for c in ws[1]}
    for col, name in enumerate(columns, start=1):
        columns[name] = [
            v for (v,) in ws.iter_rows(min_row=2, min_col=col, max_col=col, values_only=True) if v
        ]
    assert columns["crime_area"] == list(lists.crime_areas)
    assert columns["indicator"] == list(lists.indicators)
    assert columns["obs_status"] == list(lists.obs_status)
    assert columns["conf_status"] == list(lists.conf_status)
    assert columns["commodity"] == list(lists.commodities)
    assert columns["unit"] == list(lists.units)
    assert columns["transport_mode"] == list(lists.transport_modes)
    assert columns["ocg_involved"] == list(lists.ocg_involved)
    assert columns["handling_code"] == list(lists.handling_codes)
    assert set(columns["country"]) == lists.countries


@pytest.mark.parametrize(
    ("sheet", "columns", "column", "codes"),
    [
        (SEIZURES_SHEET, SEIZURE_COLUMNS, "commodity", lambda cl: list(cl.commodities)),
        (SEIZURES_SHEET, SEIZURE_COLUMNS, "unit", lambda cl: list(cl.units)),
        (SEIZURES_SHEET, SEIZURE_COLUMNS, "origin_country", lambda cl: sorted(cl.countries)),
        (SEIZURES_SHEET, SEIZURE_COLUMNS, "destination_country", lambda cl: sorted(cl.countries)),
        (SEIZURES_SHEET, SEIZURE_COLUMNS, "transport_mode", lambda cl: list(cl.transport_modes)),
        (SEIZURES_SHEET, SEIZURE_COLUMNS, "ocg_involved", lambda cl: list(cl.ocg_involved)),
        (INDICATORS_SHEET, INDICATOR_COLUMNS, "obs_status", lambda cl: list(cl.obs_status)),
        (INDICATORS_SHEET, INDICATOR_COLUMNS, "conf_status", lambda cl: list(cl.conf_status)),
        (INDICATORS_SHEET, INDICATOR_COLUMNS, "crime_area", lambda cl: list(cl.crime_areas)),
    ],
)
def test_drop_downs_offer_the_codelist(wb, sheet, columns, column, codes):
    dvs = [dv for dv in validations(wb[sheet])[column_letter(columns, column)] if dv.type == "list"]
    assert len(dvs) == 1
    assert list_codes(wb, dvs[0]) == codes(codelists())


def test_handling_code_drop_down_on_metadata(wb):
    ws = wb[METADATA_SHEET]
    row = METADATA_FIELDS.index("handling_code") + 2
    dvs = [dv for dv in ws.data_validations.dataValidation if f"B{row}" in dv.sqref]
    assert [dv.type for dv in dvs] == ["list"]
    assert list_codes(wb, dvs[0]) == list(codelists().handling_codes)


def test_seizure_dates_and_quantities_are_validated(wb):
    by_column = validations(wb[SEIZURES_SHEET])
    (date_dv,) = by_column[column_letter(SEIZURE_COLUMNS, "seizure_date")]
    assert (date_dv.type, date_dv.operator) == ("date", "between")
    assert (date_dv.formula1, date_dv.formula2) == ("DATE(2026,7,1)", "DATE(2026,9,30)")
    (qty_dv,) = by_column[column_letter(SEIZURE_COLUMNS, "quantity")]
    assert (qty_dv.type, qty_dv.operator, qty_dv.formula1) == ("decimal", "greaterThanOrEqual", "0")
    # the validations reach as far down as a return may go
    assert (
        f"{column_letter(SEIZURE_COLUMNS, 'quantity')}{config.limits().max_rows_per_sheet + 1}"
        in qty_dv.sqref
    )


def test_count_indicators_take_whole_numbers_only(wb):
    lists = codelists()
    ws = wb[INDICATORS_SHEET]
    letter = column_letter(INDICATOR_COLUMNS, "value")
    kinds = {dv.type: dv for dv in validations(ws)[letter]}
    indicator_col = column_letter(INDICATOR_COLUMNS, "indicator")
    for row in range(2, ws.max_row + 1):
        whole = lists.indicators[ws[f"{indicator_col}{row}"].value].whole_number
        assert (f"{letter}{row}" in kinds["whole"].sqref) is whole
        assert (f"{letter}{row}" in kinds["decimal"].sqref) is not whole


def test_protection_locks_headers_and_keys_and_unlocks_data_cells(wb):
    assert wb.security.lockStructure
    assert all(wb[name].protection.sheet for name in wb.sheetnames)
    for name in (INDICATORS_SHEET, SEIZURES_SHEET, METADATA_SHEET):
        assert all(c.protection.locked for c in wb[name][1] if c.value is not None)

    seizures = wb[SEIZURES_SHEET]
    for col in range(1, len(SEIZURE_COLUMNS) + 1):
        letter = openpyxl.utils.get_column_letter(col)
        assert seizures.column_dimensions[letter].protection.locked is False
    assert (
        seizures.column_dimensions[column_letter(SEIZURE_COLUMNS, "seizure_date")].number_format
        == "yyyy-mm-dd"
    )

    indicators = wb[INDICATORS_SHEET]
    for col, name in enumerate(INDICATOR_COLUMNS, start=1):
        editable = name in ("value", "obs_status", "conf_status", "comment")
        assert indicators.cell(2, col).protection.locked is not editable
        assert indicators.cell(indicators.max_row, col).protection.locked is not editable

    metadata = wb[METADATA_SHEET]
    for row, name in enumerate(METADATA_FIELDS, start=2):
        prefilled = name in ("country", "period", "template_version")
        assert metadata.cell(row, 2).protection.locked is prefilled
        assert metadata.cell(row, 1).protection.locked


def test_instructions_give_deadline_csv_names_and_rules(wb):
    text = "\n".join(str(c.value) for c in wb[INSTRUCTIONS_SHEET]["A"] if c.value)
    deadline_days = codelists().datasets["indicators"].deadline_days
    due = date(2026, 9, 30).toordinal() + deadline_days
    assert date.fromordinal(due).isoformat() in text
    assert "GE_2026-Q3_indicators.csv" in text and "GE_2026-Q3_seizures.csv" in text
    assert "Do not rename" in text
    assert "Georgia" in text
    for code, name in codelists().obs_status.items():
        assert f"{code}: {name}" in text


def test_unknown_country_or_period_is_refused():
    with pytest.raises(ValueError, match="reporting unit"):
        build_template("XX", PERIOD)
    with pytest.raises(PeriodError):
        build_template(COUNTRY, "2026-Q5")


def test_template_follows_a_codelist_a_steward_edits(tmp_path, monkeypatch):
    """Adding a crime area to the data files adds its rows and drop-down entry: nothing hard-coded."""
    lists_dir = tmp_path / "codelists"
    shutil.copytree(config.codelists_dir(), lists_dir)
    with open(lists_dir / "crime_areas.csv", "a", encoding="utf-8") as f:
        f.write("MARITIME,Maritime piracy,11\n")
    monkeypatch.setenv("TOPCOP_CODELISTS", str(lists_dir))
    config.codelists.cache_clear()
    try:
        wb = build_template(COUNTRY, PERIOD)
        areas = {
            r[0] for r in wb[INDICATORS_SHEET].iter_rows(min_row=2, max_col=1, values_only=True)
        }
        assert "MARITIME" in areas
        ws = wb[CODELISTS_SHEET]
        hidden = [ws.cell(r, 1).value for r in range(2, ws.max_row + 1) if ws.cell(r, 1).value]
        assert hidden[-1] == "MARITIME"
    finally:
        monkeypatch.undo()
        config.codelists.cache_clear()
