"""Validation: a rule-abiding sample return passes; each planted fault gives exactly its finding.

Returns are built from ``samples.sample_content`` (the project's generator of
rule-abiding content) turned into the typed tables a reader yields, so these tests
do not depend on the reader. GX's context is cached per process by
``topcop.validation.suites``, so it is built once for the whole file.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from topcop.config import expectations_dir
from topcop.findings import Finding, has_errors
from topcop.returns.model import (
    INDICATOR_COLUMNS,
    METADATA_FIELDS,
    ROW,
    SEIZURE_COLUMNS,
    ReturnFile,
)
from topcop.returns.samples import SampleReturn, sample_content
from topcop.validation import Validation, validate_return
from topcop.validation.rules import RULES
from topcop.validation.suites import SUITES

PERIOD = "2026-Q1"
TODAY = date(2026, 5, 15)  # after the period, before it closes
FIRST_ROW = 2  # the first data row of every sheet; row 1 holds the header


def typed_table(rows: list[dict[str, Any]], columns: dict[str, str]) -> pd.DataFrame:
    """The typed table a reader yields: the model's columns and dtypes, plus ``row``."""
    frame = pd.DataFrame(rows, columns=list(columns)).astype(columns)
    frame.insert(0, ROW, range(FIRST_ROW, FIRST_ROW + len(frame)))
    return frame


def as_return(sample: SampleReturn, *, file_format: str = "xlsx") -> ReturnFile:
    return ReturnFile(
        path=Path(f"{sample.country}_{sample.period}.{file_format}"),
        file_format=file_format,
        metadata=dict(sample.metadata),
        metadata_rows={name: FIRST_ROW + i for i, name in enumerate(METADATA_FIELDS)},
        indicators=typed_table(sample.indicators, INDICATOR_COLUMNS),
        seizures=typed_table(sample.seizures, SEIZURE_COLUMNS),
    )


def good_sample(country: str = "GE", period: str = PERIOD) -> SampleReturn:
    return sample_content(country, period, seed=7, seizure_rows=40)


def validate(sample: SampleReturn, *, unit: str = "GE", today: date = TODAY) -> Validation:
    return validate_return(as_return(sample), reporting_unit=unit, today=today)


def where(validation: Validation) -> list[tuple[Any, ...]]:
    """Each finding as (sheet, row, column, rule, severity): what a test pins down exactly."""
    return [(f.sheet, f.row, f.column, f.rule, f.severity) for f in validation.findings]


def indicator_row(
    sample: SampleReturn, crime_area: str, indicator: str, breakdown: str | None = None
) -> tuple[dict[str, Any], int]:
    """The sample's indicators row for these keys, and its row number on the sheet."""
    for i, row in enumerate(sample.indicators):
        if (row["crime_area"], row["indicator"], row["breakdown"]) == (
            crime_area,
            indicator,
            breakdown,
        ):
            return row, FIRST_ROW + i
    raise LookupError((crime_area, indicator, breakdown))


def set_justice_chain(sample: SampleReturn, crime_area: str, arrested: tuple[int, int], **later):
    """Give a crime area's arrests (national, foreign) and later steps as plain A figures."""
    figures = {
        ("PERSONS_ARRESTED", None): sum(arrested),
        ("PERSONS_ARRESTED", "NATIONAL"): arrested[0],
        ("PERSONS_ARRESTED", "FOREIGN"): arrested[1],
        ("PERSONS_CHARGED", None): later.get("charged", 0),
        ("PERSONS_CONVICTED", None): later.get("convicted", 0),
    }
    for (indicator, breakdown), value in figures.items():
        row, _ = indicator_row(sample, crime_area, indicator, breakdown)
        row.update(value=value, obs_status="A", comment=None)


# --- the good return -----------------------------------------------------------------


def test_good_return_has_no_finding_and_every_expectation_succeeds():
    sample = good_sample()
    euros = [r["value"] for r in sample.indicators if r["unit"] == "EUR" and r["value"]]
    assert any(v != int(v) for v in euros)  # amounts in euro may have cents; counts may not

    validation = validate(sample)

    assert validation.findings == []
    expected = sum(
        len(json.loads((expectations_dir() / f"{s}.json").read_text())["expectations"])
        for s in SUITES
    )
    assert len([r for r in validation.results if r.suite in SUITES]) == expected
    assert [r.expectation_type for r in validation.results if r.suite == "rules"] == [
        rule.name for rule in RULES
    ]
    assert all(r.success and r.unexpected_count == 0 for r in validation.results)
    assert {r.suite for r in validation.results} == {*SUITES, "rules"}
    assert [g["suite_name"] for g in validation.gx_results] == list(SUITES)


def test_return_without_seizures_this_period_is_fine():
    sample = good_sample()
    sample.seizures = []

    validation = validate(sample)

    assert validation.findings == []
    assert all(r.success for r in validation.results if r.suite == "seizures")


def test_suites_name_codelists_instead_of_copying_them():
    for name in SUITES:
        suite = json.loads((expectations_dir() / f"{name}.json").read_text())
        for expectation in suite["expectations"]:
            kwargs = expectation["kwargs"]
            for key in ("value_set", "value_pairs_set", "column_set"):
                if key in kwargs:
                    assert set(kwargs[key]) == {"$PARAMETER"}, (name, expectation["type"], key)
            conditions = [kwargs.get("row_condition") or {}]
            while conditions:
                condition = conditions.pop()
                conditions += condition.get("conditions", [])
                if condition.get("operator") in ("IN", "NOT_IN"):
                    assert set(condition["parameter"]) == {"$PARAMETER"}, (name, condition)
            assert expectation["meta"]["message"], (name, expectation["type"])
            assert expectation["severity"] in ("critical", "warning")


# --- indicators ----------------------------------------------------------------------


def test_unknown_crime_area():
    sample = good_sample()
    row, number = indicator_row(sample, "THB", "OCG_IDENTIFIED")
    row["crime_area"] = "TERROR"

    validation = validate(sample)

    assert where(validation) == [
        ("indicators", number, "crime_area", "expect_column_values_to_be_in_set", "error")
    ]
    assert validation.findings[0].value == "TERROR"
    assert "TERROR is not a crime area" in validation.findings[0].message


def test_unit_not_matching_indicator():
    sample = good_sample()
    row, number = indicator_row(sample, "CYBER", "OCG_IDENTIFIED")
    row["unit"] = "EUR"

    validation = validate(sample)

    assert where(validation) == [
        ("indicators", number, "unit", "expect_column_pair_values_to_be_in_codelist", "error")
    ]
    assert validation.findings[0].value == "EUR"
    assert "EUR is not the unit of OCG_IDENTIFIED" in validation.findings[0].message


def test_fraction_in_a_count():
    sample = good_sample()
    row, number = indicator_row(sample, "CYBER", "INVESTIGATIONS_OPENED")
    row.update(value=2.5, obs_status="A")

    validation = validate(sample)

    assert where(validation) == [
        ("indicators", number, "value", "expect_column_values_to_match_regex", "error")
    ]
    assert validation.findings[0].value == 2.5


def test_negative_value():
    sample = good_sample()
    row, number = indicator_row(sample, "CYBER", "JOINT_OPERATIONS")
    row.update(value=-3, obs_status="A")

    validation = validate(sample)

    assert where(validation) == [
        ("indicators", number, "value", "expect_column_values_to_be_between", "error")
    ]
    assert "-3 is negative" in validation.findings[0].message


def test_empty_value_with_status_a():
    sample = good_sample()
    row, number = indicator_row(sample, "CYBER", "OCG_DISRUPTED")
    row.update(value=None, obs_status="A")

    validation = validate(sample)

    assert where(validation) == [
        ("indicators", number, "value", "expect_column_values_to_not_be_null", "error")
    ]


def test_empty_value_with_status_o_is_fine():
    sample = good_sample()
    row, _ = indicator_row(sample, "CYBER", "OCG_DISRUPTED")
    row.update(value=None, obs_status="O")

    assert validate(sample).findings == []


def test_value_given_with_status_m_is_a_warning():
    sample = good_sample()
    row, number = indicator_row(sample, "CYBER", "OCG_DISRUPTED")
    row.update(value=4, obs_status="M")

    validation = validate(sample)

    assert where(validation) == [
        ("indicators", number, "value", "expect_column_values_to_be_null", "warning")
    ]


def test_duplicate_key_points_at_both_rows():
    sample = good_sample()
    row, number = indicator_row(sample, "THB", "OCG_IDENTIFIED")
    sample.indicators.append(dict(row))
    copy_number = FIRST_ROW + len(sample.indicators) - 1

    validation = validate(sample)

    rule = "expect_compound_columns_to_be_unique"
    assert where(validation) == [
        ("indicators", number, "indicator", rule, "error"),
        ("indicators", copy_number, "indicator", rule, "error"),
    ]


def test_victims_identified_only_for_thb_and_cse():
    sample = good_sample()
    sample.indicators.append(
        {
            "crime_area": "DRUGS_CCH",
            "indicator": "VICTIMS_IDENTIFIED",
            "breakdown": None,
            "value": 3,
            "unit": "COUNT",
            "obs_status": "A",
            "conf_status": "F",
            "comment": None,
        }
    )
    number = FIRST_ROW + len(sample.indicators) - 1

    validation = validate(sample)

    assert where(validation) == [
        ("indicators", number, "indicator", "expect_column_pair_values_to_be_in_codelist", "error")
    ]
    assert "not collected for crime area DRUGS_CCH" in validation.findings[0].message


def test_breakdown_the_indicator_does_not_have():
    sample = good_sample()
    row, number = indicator_row(sample, "CYBER", "OCG_IDENTIFIED")
    row["breakdown"] = "FOREIGN"

    validation = validate(sample)

    assert where(validation) == [
        ("indicators", number, "breakdown", "expect_column_pair_values_to_be_in_codelist", "error")
    ]


def test_total_not_equal_to_sum_of_breakdowns():
    sample = good_sample()
    set_justice_chain(sample, "THB", arrested=(7, 3), charged=5, convicted=2)
    row, number = indicator_row(sample, "THB", "PERSONS_ARRESTED")
    row["value"] = 11

    validation = validate(sample)

    assert where(validation) == [
        ("indicators", number, "value", "total_equals_sum_of_breakdowns", "error")
    ]
    assert "add up to 10" in validation.findings[0].message


def test_total_without_every_breakdown_is_not_compared():
    sample = good_sample()
    set_justice_chain(sample, "THB", arrested=(7, 3), charged=5, convicted=2)
    row, _ = indicator_row(sample, "THB", "PERSONS_ARRESTED", "FOREIGN")
    row.update(value=None, obs_status="L")

    assert validate(sample).findings == []


def test_charged_above_arrested_is_only_a_warning_and_quotes_the_comment():
    sample = good_sample()
    set_justice_chain(sample, "THB", arrested=(7, 3), charged=12, convicted=2)
    row, number = indicator_row(sample, "THB", "PERSONS_CHARGED")
    row["comment"] = "Includes persons arrested in 2025."

    validation = validate(sample)

    assert where(validation) == [("indicators", number, "value", "justice_chain_order", "warning")]
    assert not has_errors(validation.findings)
    assert '"Includes persons arrested in 2025."' in validation.findings[0].message


def test_over_long_comment():
    sample = good_sample()
    row, number = indicator_row(sample, "CYBER", "OCG_IDENTIFIED")
    row["comment"] = "x" * 1001

    validation = validate(sample)

    assert where(validation) == [
        ("indicators", number, "comment", "expect_column_value_lengths_to_be_between", "error")
    ]
    assert "more than 1000 characters" in validation.findings[0].message


def test_negative_total_is_one_finding_not_three():
    sample = good_sample()
    set_justice_chain(sample, "THB", arrested=(7, 3), charged=5, convicted=2)
    row, number = indicator_row(sample, "THB", "PERSONS_ARRESTED")
    row["value"] = -10  # also unequal to its breakdowns, and below persons charged

    validation = validate(sample)

    assert where(validation) == [
        ("indicators", number, "value", "expect_column_values_to_be_between", "error")
    ]


def test_rejected_total_and_breakdown_are_not_compared_down_the_chain():
    sample = good_sample()
    set_justice_chain(sample, "THB", arrested=(7, 3), charged=9, convicted=2)
    total, total_number = indicator_row(sample, "THB", "PERSONS_ARRESTED")
    foreign, foreign_number = indicator_row(sample, "THB", "PERSONS_ARRESTED", "FOREIGN")
    total["value"] = -10
    foreign["value"] = 2.5  # what is left, national 7, is below the 9 charged

    validation = validate(sample)

    assert where(validation) == [
        ("indicators", total_number, "value", "expect_column_values_to_be_between", "error"),
        ("indicators", foreign_number, "value", "expect_column_values_to_match_regex", "error"),
    ]


def test_a_deleted_row_is_one_warning_for_its_crime_area():
    sample = good_sample()
    sample.indicators = [
        r
        for r in sample.indicators
        if (r["crime_area"], r["indicator"])
        not in {("ENV", "OCG_IDENTIFIED"), ("ENV", "JOINT_OPERATIONS")}
    ]

    validation = validate(sample)

    assert where(validation) == [
        ("indicators", None, "indicator", "indicator_rows_complete", "warning")
    ]
    finding = validation.findings[0]
    assert finding.value == "ENV: OCG_IDENTIFIED, JOINT_OPERATIONS"
    assert "no row for crime area ENV and indicators OCG_IDENTIFIED, JOINT_OPERATIONS" in (
        finding.message
    )


def test_breakdown_rows_may_be_left_out():
    sample = good_sample()
    sample.indicators = [r for r in sample.indicators if r["breakdown"] is None]

    assert validate(sample).findings == []


def test_submission_date_before_the_period_ended_is_a_warning():
    sample = good_sample()
    sample.metadata["submission_date"] = date(2026, 3, 15)

    validation = validate(sample)

    assert where(validation) == [
        ("metadata", 5, "submission_date", "submission_date_after_period", "warning")
    ]
    assert "not after the end of the period 2026-Q1 (2026-03-31)" in validation.findings[0].message


def test_focal_point_reference_that_is_an_email_address_is_a_warning():
    sample = good_sample()
    sample.metadata["focal_point_ref"] = "i.petrov@police.example.org"

    validation = validate(sample)

    assert where(validation) == [
        ("metadata", 6, "focal_point_ref", "expect_column_values_to_not_match_regex", "warning")
    ]


def test_fraction_of_a_firearm():
    sample = good_sample()
    sample.seizures[4].update(commodity="FIREARMS", unit="PCS", quantity=2.5)

    validation = validate(sample)

    assert where(validation) == [
        ("seizures", FIRST_ROW + 4, "quantity", "expect_column_values_to_match_regex", "error")
    ]
    assert "FIREARMS is counted in pieces" in validation.findings[0].message


def test_pieces_for_a_commodity_weighed_is_only_the_unit_finding():
    sample = good_sample()
    sample.seizures[4].update(commodity="ALCOHOL", unit="PCS", quantity=12.5)

    validation = validate(sample)

    assert where(validation) == [
        ("seizures", FIRST_ROW + 4, "unit", "expect_column_pair_values_to_be_in_codelist", "error")
    ]


def test_a_cell_the_reader_could_not_read_gets_no_second_finding():
    sample = good_sample()
    row, number = indicator_row(sample, "CYBER", "OCG_DISRUPTED")
    row.update(value=None, obs_status="A")  # what the reader yields for "twelve"
    ret = as_return(sample)
    unreadable = Finding("indicators", number, "value", "twelve", "type_number", "error", "...")
    ret.findings.append(unreadable)

    assert validate_return(ret, reporting_unit="GE", today=TODAY).findings == []


def test_an_unreadable_submission_date_gets_no_second_finding():
    sample = good_sample()
    sample.metadata["submission_date"] = None  # what the reader yields for "last week"
    ret = as_return(sample)
    ret.findings.append(
        Finding("metadata", 5, "value", "last week", "type_date", "error", "not a date")
    )

    assert validate_return(ret, reporting_unit="GE", today=TODAY).findings == []


def test_missing_column_is_one_finding_not_a_crash():
    ret = as_return(good_sample())
    ret.indicators = ret.indicators.drop(columns=["comment"])

    validation = validate_return(ret, reporting_unit="GE", today=TODAY)

    assert where(validation) == [
        ("indicators", None, "comment", "expect_table_columns_to_match_set", "error")
    ]
    not_run = [r for r in validation.results if r.unexpected_count is None]
    assert [(r.expectation_type, r.column) for r in not_run] == [
        ("expect_column_value_lengths_to_be_between", "comment")
    ]


# --- seizures ------------------------------------------------------------------------


def test_duplicate_seizure_ref():
    sample = good_sample()
    sample.seizures[5]["seizure_ref"] = sample.seizures[2]["seizure_ref"]

    validation = validate(sample)

    rule = "expect_column_values_to_be_unique"
    assert where(validation) == [
        ("seizures", FIRST_ROW + 2, "seizure_ref", rule, "error"),
        ("seizures", FIRST_ROW + 5, "seizure_ref", rule, "error"),
    ]


def test_seizure_date_outside_the_period():
    sample = good_sample()
    sample.seizures[3]["seizure_date"] = date(2026, 4, 1)

    validation = validate(sample)

    assert where(validation) == [
        ("seizures", FIRST_ROW + 3, "seizure_date", "expect_column_values_to_be_between", "error")
    ]
    assert validation.findings[0].value == date(2026, 4, 1)
    assert "2026-04-01 is outside the reporting period 2026-Q1" in validation.findings[0].message


def test_seizure_on_the_last_day_of_the_period_is_inside():
    sample = good_sample()
    sample.seizures[3]["seizure_date"] = date(2026, 3, 31)
    sample.seizures[4]["seizure_date"] = date(2026, 1, 1)

    assert validate(sample).findings == []


def test_commodity_unit_wrong():
    sample = good_sample()
    sample.seizures[0].update(commodity="COCAINE", unit="PCS", quantity=3)

    validation = validate(sample)

    assert where(validation) == [
        ("seizures", FIRST_ROW, "unit", "expect_column_pair_values_to_be_in_codelist", "error")
    ]
    assert "PCS is not a unit for COCAINE" in validation.findings[0].message


def test_bad_iso_country():
    sample = good_sample()
    sample.seizures[1]["origin_country"] = "UK"  # the ISO code is GB

    validation = validate(sample)

    assert where(validation) == [
        ("seizures", FIRST_ROW + 1, "origin_country", "expect_column_values_to_be_in_set", "error")
    ]


def test_every_row_of_a_widespread_fault_is_listed():
    sample = sample_content("UA", PERIOD, seed=3, seizure_rows=3000)
    for row in sample.seizures:
        row["transport_mode"] = "CAMEL"

    validation = validate(sample, unit="UA")

    assert len(validation.findings) == 3000
    assert {f.column for f in validation.findings} == {"transport_mode"}
    assert [f.row for f in validation.findings] == list(range(FIRST_ROW, FIRST_ROW + 3000))
    result = next(r for r in validation.results if r.column == "transport_mode")
    assert (result.success, result.unexpected_count) == (False, 3000)


# --- metadata, bucket and calendar -----------------------------------------------------


def test_wrong_country_for_the_bucket():
    sample = good_sample()
    sample.metadata["country"] = "AM"

    validation = validate(sample, unit="GE")

    assert where(validation) == [("metadata", 2, "country", "country_matches_bucket", "error")]
    message = validation.findings[0].message
    assert "bucket of Georgia (GE)" in message
    assert "declares country AM (Armenia)" in message


def test_belarus_suspended_for_2026_q1():
    validation = validate(good_sample("BY"), unit="BY")

    assert where(validation) == [("metadata", 3, "period", "reporting_unit_active", "error")]
    assert "Suspended since 2021-06-28" in validation.findings[0].message


def test_belarus_still_active_for_the_quarter_it_left_in():
    assert validate(good_sample("BY", "2021-Q2"), unit="BY", today=date(2021, 8, 1)).findings == []


def test_period_not_yet_ended():
    validation = validate(good_sample(), today=date(2026, 3, 31))

    assert where(validation) == [("metadata", 3, "period", "period_has_ended", "error")]


def test_period_closed_needs_a_steward():
    validation = validate(good_sample(), today=date(2027, 6, 1))

    assert where(validation) == [("metadata", 3, "period", "period_closed", "error")]
    assert "steward's approval" in validation.findings[0].message


def test_period_that_is_no_period():
    sample = good_sample()
    sample.metadata["period"] = "2026-Q5"

    validation = validate(sample)

    assert where(validation) == [
        ("metadata", 3, "period", "expect_column_values_to_match_regex", "error")
    ]


def test_monthly_period_for_a_quarterly_return():
    sample = good_sample()
    sample.metadata["period"] = "2026-M02"

    validation = validate(sample)

    assert ("metadata", 3, "period", "period_frequency", "error") in where(validation)


def test_old_template_version():
    sample = good_sample()
    sample.metadata["template_version"] = "0.9"

    validation = validate(sample)

    assert where(validation) == [
        ("metadata", 4, "template_version", "expect_column_values_to_be_in_set", "error")
    ]


def test_missing_handling_code_and_unknown_one():
    sample = good_sample()
    sample.metadata["handling_code"] = None
    missing = validate(sample)
    sample.metadata["handling_code"] = "SECRET"
    unknown = validate(sample)

    assert where(missing) == [
        ("metadata", 7, "handling_code", "expect_column_values_to_not_be_null", "error")
    ]
    assert where(unknown) == [
        ("metadata", 7, "handling_code", "expect_column_values_to_be_in_set", "error")
    ]


# --- CSV returns and ordering ----------------------------------------------------------


def csv_return(sample: SampleReturn, dataset: str) -> ReturnFile:
    """A CSV return: one dataset, and only the country and period (from its file name)."""
    ret = as_return(sample, file_format="csv")
    ret.metadata = {"country": sample.country, "period": sample.period}
    ret.metadata_rows = {}
    setattr(ret, "seizures" if dataset == "indicators" else "indicators", None)
    return ret


@pytest.mark.parametrize("dataset", ["indicators", "seizures"])
def test_csv_return_with_one_dataset(dataset):
    validation = validate_return(
        csv_return(good_sample(), dataset), reporting_unit="GE", today=TODAY
    )

    assert validation.findings == []
    assert {r.suite for r in validation.results} == {"metadata", dataset, "rules"}
    # Rules on the table a CSV file does not carry were not evaluated.
    other = "seizures" if dataset == "indicators" else "indicators"
    not_evaluated = {r.expectation_type for r in validation.results if r.unexpected_count is None}
    assert not_evaluated == {rule.name for rule in RULES if rule.table == other}


def test_csv_country_from_the_file_name_must_match_the_bucket():
    validation = validate_return(
        csv_return(good_sample("MD"), "seizures"), reporting_unit="GE", today=TODAY
    )

    assert where(validation) == [("file", None, "country", "country_matches_bucket", "error")]


def test_findings_are_ordered_by_sheet_row_and_column():
    sample = good_sample()
    sample.seizures[0]["origin_country"] = "UK"
    sample.seizures[0]["destination_country"] = "EU"
    row, _ = indicator_row(sample, "CYBER", "OCG_IDENTIFIED")
    row["comment"] = "x" * 1001
    sample.metadata["country"] = "AM"

    validation = validate(sample)

    sheets = ["metadata", "indicators", "seizures", "seizures"]
    assert [f.sheet for f in validation.findings] == sheets
    assert [f.column for f in validation.findings][2:] == ["destination_country", "origin_country"]
