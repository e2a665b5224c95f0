"""The vectorised pair expectation finds exactly the rows GX's own row-by-row one finds."""

from __future__ import annotations

import great_expectations as gx
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from topcop.validation.pairs import CODELIST_PAIR, ExpectColumnPairValuesToBeInCodelist

CODES = ["COC", "HER", "CAN", None]
UNITS = ["KG", "G", "PCS", None]
RESULT_FORMAT = {"result_format": "COMPLETE", "return_unexpected_index_query": False}


@pytest.fixture(scope="module")
def batch_definition():
    context = gx.get_context(mode="ephemeral")
    return (
        context.data_sources.add_pandas("pairs")
        .add_dataframe_asset("table")
        .add_batch_definition_whole_dataframe("whole")
    )


def _unexpected(batch_definition, expectation, frame, allowed):
    suite = gx.ExpectationSuite(name="pairs", expectations=[expectation])
    result = (
        batch_definition.get_batch(batch_parameters={"dataframe": frame})
        .validate(suite, result_format=RESULT_FORMAT, expectation_parameters={"allowed": allowed})
        .results[0]
    )
    assert result.exception_info.get("raised_exception") is not True, result.exception_info
    return result.success, result.result["unexpected_count"], result.result["unexpected_index_list"]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(
        st.tuples(st.sampled_from(CODES), st.sampled_from(UNITS)), min_size=1, max_size=30
    ),
    allowed=st.lists(
        st.tuples(st.sampled_from(CODES[:-1]), st.sampled_from(UNITS[:-1])), max_size=6
    ),
    ignore=st.sampled_from(["either_value_is_missing", "both_values_are_missing", "neither"]),
)
def test_same_rows_as_gx_pair_in_set(batch_definition, rows, allowed, ignore):
    frame = pd.DataFrame(rows, columns=["commodity", "unit"]).astype("string")
    kwargs = {
        "column_A": "commodity",
        "column_B": "unit",
        "value_pairs_set": {"$PARAMETER": "allowed"},
        "ignore_row_if": ignore,
    }
    ours = _unexpected(
        batch_definition, ExpectColumnPairValuesToBeInCodelist(**kwargs), frame, allowed
    )
    theirs = _unexpected(
        batch_definition, gx.expectations.ExpectColumnPairValuesToBeInSet(**kwargs), frame, allowed
    )
    assert ours == theirs


def test_registered_under_its_suite_name():
    # The suites name the expectation by type; GX must resolve that name to our class.
    from great_expectations.expectations.registry import get_expectation_impl

    assert get_expectation_impl(CODELIST_PAIR) is ExpectColumnPairValuesToBeInCodelist
