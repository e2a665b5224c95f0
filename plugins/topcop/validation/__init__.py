"""Validation of a return: the expectation suites, then the rules they cannot express.

``validate_return`` checks what a reader yielded against the return contract
(/work/shared/RETURNS.md) and says, as findings, what is wrong and where; it
needs nothing but the return. ``check_return`` (``topcop.validation.check``) is
what the pipeline and the offline validator both run on a file: read, validate,
and compare with the unit's history when a warehouse is at hand. Importing this
package is cheap; Great Expectations is loaded on the first validation.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import date

import pandas as pd

from topcop.findings import ERROR, ExpectationResult, Finding
from topcop.returns.model import DATA_SHEETS, INDICATORS_SHEET, METADATA_SHEET, ROW, ReturnFile
from topcop.validation.rules import cross_rules, declared_period, metadata_location, rule_results
from topcop.validation.suites import Validation

__all__ = [
    "ExpectationResult",
    "Validation",
    "finding_order",
    "validate_return",
    "without_rejected_values",
]

_SHEET_ORDER = {name: i for i, name in enumerate(("file", *DATA_SHEETS))}

# On import Great Expectations logs some two hundred INFO lines about its own API
# registry, which filled every ingest task's log; its warnings and errors still show.
logging.getLogger("great_expectations").setLevel(logging.WARNING)


def validate_return(ret: ReturnFile, *, reporting_unit: str, today: date) -> Validation:
    """Check a readable return received in ``reporting_unit``'s bucket, as of ``today``.

    The findings do not include the reader's own (``ret.findings``): the caller
    merges them. Cells the reader already flagged get no second finding here. A
    CSV return carries one dataset; only the suites of the tables present are run.
    """
    from topcop.validation import suites

    parameters = suites.suite_parameters(declared_period(ret))
    metadata = suites.validate_table(METADATA_SHEET, suites.metadata_frame(ret), parameters)
    findings = [_placed(ret, f) for f in metadata.findings]
    results = list(metadata.results)
    gx_results = list(metadata.gx_results)
    for dataset in ret.datasets:
        checked = suites.validate_table(dataset, ret.table(dataset), parameters)
        findings += checked.findings
        results += checked.results
        gx_results += checked.gx_results
    ruled = cross_rules(
        without_rejected_values(ret, findings), reporting_unit=reporting_unit, today=today
    )
    findings += ruled
    results += rule_results(ret, ruled)
    # A cell the reader could not read (a date that is no date) is empty in the table;
    # the reader's finding says why, so "missing" on the same cell would only repeat it.
    unreadable = _unreadable_cells(ret)
    findings = [f for f in findings if (f.sheet, f.row, f.column) not in unreadable]
    if any(f.rule == "metadata_layout" for f in ret.findings):
        # The reader could not tell where the fields are and said what it found where;
        # "the country code is missing" would be a wrong reason for a country written there.
        findings = [f for f in findings if f.sheet != METADATA_SHEET]
    return Validation(sorted(findings, key=finding_order), results, gx_results)


def without_rejected_values(ret: ReturnFile, findings: list[Finding]) -> ReturnFile:
    """``ret`` with the indicator values ``findings`` reject left empty, for the rules that
    add up or compare figures (cross-row rules, history).

    A negative total is one mistake: its own finding says so, and adding it up
    against its breakdowns or the justice chain would only say it again.
    """
    rows = {
        f.row
        for f in findings
        if f.sheet == INDICATORS_SHEET and f.column == "value" and f.severity == ERROR
    }
    if ret.indicators is None or not rows:
        return ret
    indicators = ret.indicators.copy()
    indicators.loc[indicators[ROW].isin(rows), "value"] = pd.NA
    return replace(ret, indicators=indicators)


def _unreadable_cells(ret: ReturnFile) -> set[tuple[str, int, str | None]]:
    """The cells the reader flagged, named as validation names them.

    On the metadata sheet the reader names the sheet's column ("value"); the
    validation names the field that row holds.
    """
    fields = {row: name for name, row in ret.metadata_rows.items()}
    cells = set()
    for f in ret.findings:
        if f.row is None:
            continue
        column = f.column
        if f.sheet == METADATA_SHEET and column == "value":
            column = fields.get(f.row, column)
        cells.add((f.sheet, f.row, column))
    return cells


def _placed(ret: ReturnFile, finding: Finding) -> Finding:
    """Metadata is one row per field on its sheet: place the finding on its field's row."""
    sheet, row = metadata_location(ret, finding.column or "")
    return replace(finding, sheet=sheet, row=row)


def finding_order(finding: Finding) -> tuple[int, int, str]:
    """Sort key: file, then metadata, indicators and seizures; within a sheet by row, column."""
    sheet = _SHEET_ORDER.get(finding.sheet, len(_SHEET_ORDER))
    return sheet, -1 if finding.row is None else finding.row, finding.column or ""
