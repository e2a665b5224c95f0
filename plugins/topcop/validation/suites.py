"""Great Expectations suites: the per-row and per-column rules of a return, kept as files.

The rules a steward reviews live in ``expectations/*.json`` (GX 1.x suite format),
one suite per table: ``metadata`` (the metadata sheet as a one-row table),
``indicators`` and ``seizures``. The suites name codelists, never copy them:
every value set is a ``{"$PARAMETER": ...}`` filled in from ``topcop.config`` at
validation time, so a steward who adds a crime area edits one CSV file.

This module loads the suites into one ephemeral GX context per process, runs
them on a table, and turns GX's results into findings (sheet, row, column,
value, rule, severity, plain-language message from the expectation's ``meta``)
plus one data-quality result per expectation for the warehouse. GX's own
result (trimmed of its row lists) is kept too, for the Data Docs that
``topcop.validation.data_docs`` renders for stewards.

Great Expectations is imported inside functions only: importing it takes
seconds, and DAG files import this package while the scheduler parses them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from string import Formatter
from typing import TYPE_CHECKING, Any

import pandas as pd

from topcop.config import codelists, expectations_dir, limits
from topcop.findings import ERROR, WARNING, ExpectationResult, Finding, Severity
from topcop.i18n import Text, placeholders
from topcop.periods import Period
from topcop.returns.model import (
    INDICATOR_COLUMNS,
    METADATA_FIELDS,
    ROW,
    SEIZURE_COLUMNS,
)

if TYPE_CHECKING:
    from topcop.returns.model import ReturnFile

SUITES = ("metadata", "indicators", "seizures")
# GX severities as findings know them; "info" is not used by our suites.
_SEVERITY: dict[str, Severity] = {"critical": ERROR, "warning": WARNING}
_TABLE_COLUMNS = "expect_table_columns_to_match_set"
_IN_SET = "expect_column_values_to_be_in_set"
_PAIR_IN_SET = "expect_column_pair_values_to_be_in_codelist"  # topcop.validation.pairs
# Row lists GX returns with result_format COMPLETE: the findings carry them, and kept in
# the result for Data Docs they would grow it by every row of a widespread fault.
_ROW_LISTS = (
    "unexpected_list",
    "unexpected_index_list",
    "unexpected_index_query",
    "unexpected_rows",
    "partial_unexpected_index_list",
)
# When the declared period cannot be read, the seizure dates have nothing to be
# checked against; the metadata suite already rejects the period itself.
_NO_PERIOD = (pd.Timestamp("1900-01-01"), pd.Timestamp("2200-01-01"))


@dataclass
class Validation:
    """Findings (ordered by sheet, row, column), per-expectation results and GX's own results.

    ``gx_results`` holds one GX suite validation result per table checked, as JSON
    dicts without their row lists: what Data Docs renders.
    """

    findings: list[Finding] = field(default_factory=list)
    results: list[ExpectationResult] = field(default_factory=list)
    gx_results: list[dict[str, Any]] = field(default_factory=list)


# --- parameters --------------------------------------------------------------------


@cache
def _codelist_parameters() -> dict[str, Any]:
    lists = codelists()
    indicators = lists.indicators.values()
    return {
        "indicator_columns": list(INDICATOR_COLUMNS),
        "seizure_columns": list(SEIZURE_COLUMNS),
        "reporting_units": sorted(lists.reporting_units),
        "template_versions": [lists.template_version],
        "handling_codes": sorted(lists.handling_codes),
        "crime_areas": sorted(lists.crime_areas),
        "indicators": sorted(lists.indicators),
        "breakdowns": sorted(lists.breakdowns),
        "obs_statuses": sorted(lists.obs_status),
        "obs_status_value_required": sorted(lists.obs_status_value_required),
        "obs_status_no_value": sorted(set(lists.obs_status) - lists.obs_status_value_required),
        "conf_statuses": sorted(lists.conf_status),
        "commodities": sorted(lists.commodities),
        "countries": sorted(lists.countries),
        "transport_modes": sorted(lists.transport_modes),
        "ocg_answers": sorted(lists.ocg_involved),
        "whole_number_indicators": sorted(i.code for i in indicators if i.whole_number),
        "indicator_units": [(i.code, i.unit) for i in indicators],
        "indicator_crime_areas": [
            (i.code, area) for i in indicators for area in lists.crime_areas if i.applies_to(area)
        ],
        "indicator_breakdowns": [(i.code, b) for i in indicators for b in i.breakdowns],
        "commodity_units": [(c.code, u) for c in lists.commodities.values() for u in c.units],
        "piece_commodities": sorted(c.code for c in lists.commodities.values() if "PCS" in c.units),
        "max_text_length": limits().max_text_length,
        "max_ref_length": limits().max_ref_length,
    }


def suite_parameters(period: Period | None) -> dict[str, Any]:
    """Everything the suites' ``$PARAMETER``s name: codelists, limits and the period's dates."""
    start, next_start = (
        (pd.Timestamp(period.start), pd.Timestamp(period.next().start)) if period else _NO_PERIOD
    )
    return {
        **_codelist_parameters(),
        "period": period.code if period else "",
        "period_start": start,
        "next_period_start": next_start,
    }


# --- suites and the GX context -------------------------------------------------------


def _substitute(node: Any, parameters: Mapping[str, Any]) -> Any:
    if isinstance(node, dict):
        if "$PARAMETER" in node:
            name = node["$PARAMETER"]
            if name not in parameters:
                raise KeyError(f"suite parameter {name!r} is not provided by suite_parameters()")
            return parameters[name]
        return {key: _substitute(value, parameters) for key, value in node.items()}
    if isinstance(node, list):
        return [_substitute(value, parameters) for value in node]
    return node


def load_suite_config(name: str) -> dict[str, Any]:
    """A suite's JSON as ``gx.ExpectationSuite(**d)`` takes it, row conditions resolved.

    GX 1.24 substitutes ``$PARAMETER`` only in an expectation's top-level kwargs: one
    nested in a ``row_condition`` stays a literal dict and the condition silently
    matches nothing, and a whole ``row_condition`` cannot be a parameter (the suite
    fails to load). The conditions that need a codelist ("value required for these
    observation statuses", "whole numbers for these indicators") are therefore
    written with the same ``$PARAMETER`` syntax and resolved here, from the same
    codelist parameters, when the suite is loaded.

    Pair checks use ``expect_column_pair_values_to_be_in_codelist``
    (``topcop.validation.pairs``), registered with GX by importing it here.
    """
    import topcop.validation.pairs  # noqa: F401  (defines the custom expectation the suites name)

    with open(expectations_dir() / f"{name}.json", encoding="utf-8") as f:
        config = json.load(f)
    config.pop("id", None)
    for expectation in config["expectations"]:
        expectation.pop("id", None)
        kwargs = expectation["kwargs"]
        if "row_condition" in kwargs:
            kwargs["row_condition"] = _substitute(kwargs["row_condition"], _codelist_parameters())
    return config


@cache
def _gx() -> tuple[Any, dict[str, Any]]:
    """One ephemeral context per process: the batch definition and the loaded suites."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch_definition = (
        context.data_sources.add_pandas("topcop")
        .add_dataframe_asset("return_table")
        .add_batch_definition_whole_dataframe("whole_table")
    )
    suites = {}
    for name in SUITES:
        config = load_suite_config(name)
        suite = suites[name] = context.suites.add(gx.ExpectationSuite(**config))
        # GX logs an expectation it cannot build (an unknown type) and leaves it out of
        # the suite; a rule silently missing would let bad returns through.
        if len(suite.expectations) != len(config["expectations"]):
            raise RuntimeError(
                f"suite {name!r}: {len(config['expectations']) - len(suite.expectations)} "
                "expectation(s) could not be built; see the GX error logged above"
            )
    return batch_definition, suites


# --- validating a table ------------------------------------------------------------


def metadata_frame(ret: ReturnFile) -> pd.DataFrame:
    """The metadata as a one-row table of text, with every field present (empty when absent)."""
    values = {name: _text(ret.metadata.get(name)) for name in METADATA_FIELDS}
    frame = pd.DataFrame([values], columns=list(METADATA_FIELDS), dtype="string")
    frame["file_format"] = pd.array([ret.file_format], dtype="string")
    frame[ROW] = 0  # metadata findings are placed by field (ReturnFile.metadata_rows)
    return frame


def validate_table(suite: str, frame: pd.DataFrame, parameters: dict[str, Any]) -> Validation:
    """Run one suite on one table; findings point at the table's ``row`` column."""
    batch_definition, suites = _gx()
    expectation_suite = suites[suite]
    # GX reports unexpected rows by index label; a fresh RangeIndex makes the label a
    # position, so every cell of an unexpected row (its "row" number, the cells its
    # message quotes) is fetched in one vectorised lookup. Asking GX for
    # unexpected_index_column_names=["row"] instead costs a per-cell lookup in GX 1.24:
    # 4-5 times slower when a fault runs through tens of thousands of seizures.
    frame = frame.reset_index(drop=True)
    outcome = _outcome(batch_definition, expectation_suite, frame, parameters)
    order = {e.id: i for i, e in enumerate(expectation_suite.expectations)}
    validation = Validation()
    pair_findings: list[tuple[Finding, list[str]]] = []
    for result in sorted(outcome.results, key=lambda r: order.get(r.expectation_config.id, 0)):
        config = result.expectation_config
        columns = _columns(config.kwargs)
        severity = _SEVERITY[config.severity.value]
        error = _exception_message(result)
        if error is not None:
            if set(columns) <= set(frame.columns):
                raise RuntimeError(f"expectation {config.type} on {suite} failed to run: {error}")
            # A missing column is reported once, by the table-columns expectation.
            validation.results.append(
                ExpectationResult(suite, config.type, ",".join(columns), False, None, severity)
            )
            continue
        findings = _findings(suite, config, result.result, severity, parameters, frame)
        if config.type == _PAIR_IN_SET:
            pair_findings += [(f, columns) for f in findings]
        else:
            validation.findings += findings
        count = result.result.get("unexpected_count")
        validation.results.append(
            ExpectationResult(
                suite,
                config.type,
                ",".join(columns) or None,
                bool(result.success),
                len(findings) if count is None else int(count),
                severity,
            )
        )
    validation.findings += _not_yet_said(pair_findings, validation.findings)
    validation.gx_results.append(_trimmed(outcome))
    return validation


def _outcome(
    batch_definition: Any, expectation_suite: Any, frame: pd.DataFrame, parameters: dict[str, Any]
) -> Any:
    """GX's results: counts for every expectation, every unexpected row for those that failed.

    Most returns pass. Asking GX for complete row lists makes it evaluate each
    expectation's condition again per list (a third more time on a big sheet), so
    the suite runs with counts only and the expectations that failed run again for
    their rows.
    """
    outcome = _validator(batch_definition, frame, "BASIC").validate_expectation_suite(
        expectation_suite, expectation_parameters=parameters
    )
    failed = {
        r.expectation_config.id
        for r in outcome.results
        if not r.success and _exception_message(r) is None
    }
    if failed:
        complete = _validator(batch_definition, frame, "COMPLETE")  # builds the batch once
        rows = {
            e.id: complete.validate_expectation(e, expectation_parameters=parameters)
            for e in expectation_suite.expectations
            if e.id in failed
        }
        outcome.results = [rows.get(r.expectation_config.id, r) for r in outcome.results]
    return outcome


def _validator(batch_definition: Any, frame: pd.DataFrame, result_format: str) -> Any:
    # What Batch.validate() uses, without first building a Batch it would throw away:
    # each build fingerprints the whole frame (0.2 s on 100,000 seizures).
    from great_expectations.validator.v1_validator import Validator

    return Validator(
        batch_definition=batch_definition,
        batch_parameters={"dataframe": frame},
        result_format={"result_format": result_format, "return_unexpected_index_query": False},
    )


def _trimmed(outcome: Any) -> dict[str, Any]:
    """GX's suite result as JSON, without the row lists the findings already hold."""
    for result in outcome.results:
        for key in _ROW_LISTS:
            (result.result or {}).pop(key, None)
    return outcome.to_json_dict()


def _not_yet_said(
    pair_findings: list[tuple[Finding, list[str]]], findings: list[Finding]
) -> list[Finding]:
    """Pair findings on rows where neither value already failed its own codelist check.

    An unknown indicator also fails "indicator x unit" and "indicator x crime area";
    one finding per mistake is enough. (A row_condition restricting the pair
    expectation to known codes would say this in the suite, but GX 1.24 on pandas
    miscounts column-pair expectations that have one.)
    """
    unknown = {(f.row, f.column) for f in findings if f.rule == _IN_SET}
    return [
        finding
        for finding, columns in pair_findings
        if not any((finding.row, column) in unknown for column in columns)
    ]


def _columns(kwargs: Mapping[str, Any]) -> list[str]:
    if "column" in kwargs:
        return [kwargs["column"]]
    if "column_A" in kwargs:
        return [kwargs["column_A"], kwargs["column_B"]]
    return list(kwargs.get("column_list") or [])


def _exception_message(result: Any) -> str | None:
    info = result.exception_info or {}
    # One expectation's info is flat; when a metric failed it is keyed by metric id.
    infos = [info] if "raised_exception" in info else list(info.values())
    for item in infos:
        if item.get("raised_exception"):
            return str(item.get("exception_message"))
    return None


def _findings(
    sheet: str,
    config: Any,
    result: Mapping[str, Any],
    severity: Severity,
    parameters: Mapping[str, Any],
    frame: pd.DataFrame,
) -> list[Finding]:
    template = config.meta["message"]
    if config.type == _TABLE_COLUMNS:
        missing = ((result.get("details") or {}).get("mismatched") or {}).get("missing") or []
        return [
            Finding(
                sheet,
                None,
                name,
                None,
                config.type,
                severity,
                _say(template, {**parameters, "column": name}),
            )
            for name in missing
        ]
    positions = result.get("unexpected_index_list") or []
    if not positions:
        return []
    column = config.meta.get("column") or config.kwargs.get("column")
    rows = frame.iloc[list(positions)]
    numbers = [_plain(n) for n in rows[ROW].tolist()]
    values = [_plain(v) for v in rows[column].tolist()]
    # A fault often repeats one value down a whole column: say each distinct message once.
    fields = [name for _, name, _, _ in Formatter().parse(template) if name]
    quoted = [name for name in fields if name in rows.columns]
    cells = zip(*(rows[name].tolist() for name in quoted), strict=True) if quoted else None
    said: dict[tuple[Any, ...], str] = {}
    findings = []
    for number, value in zip(numbers, values, strict=True):
        key = next(cells) if cells is not None else ()
        message = said.get(key)
        if message is None:
            words = {name: _plain(cell) for name, cell in zip(quoted, key, strict=True)}
            message = said[key] = _say(template, {**parameters, **words})
        findings.append(Finding(sheet, number, column, value, config.type, severity, message))
    return findings


def _say(template: str, fields: Mapping[str, Any]) -> str:
    """The expectation's message with the row's cells and the parameters filled in.

    A ``Text``: the English message that can be said again in the unit's language.
    """
    named = placeholders(template)
    return Text(template, **{key: _param(value) for key, value in fields.items() if key in named})


def _param(value: Any) -> Any:
    """A parameter as the English message shows it; numbers and dates stay values to format."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return int(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return _shown(value) if value is None else value


def _plain(value: Any) -> Any:
    """GX hands back numpy and pandas scalars; findings hold plain Python values."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.date() if value == value.normalize() else value.to_pydatetime()
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _shown(value: Any) -> str:
    if value is None:
        return "(empty)"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)


def _text(value: Any) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, date | datetime):
        return value.isoformat()
    text = str(value).strip()
    return text or None
