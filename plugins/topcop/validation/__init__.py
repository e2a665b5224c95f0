"""Validation of a return: the expectation suites, then the rules they cannot express.

``validate_return`` is the one entry point: it checks what a reader yielded
against the return contract (/work/shared/RETURNS.md) and says, as findings,
what is wrong and where. Importing this package is cheap; Great Expectations
is loaded on the first validation.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from topcop.findings import Finding
from topcop.returns.model import DATA_SHEETS, METADATA_SHEET, ReturnFile
from topcop.validation.rules import cross_rules, declared_period, metadata_location
from topcop.validation.suites import ExpectationResult, Validation

__all__ = ["ExpectationResult", "Validation", "validate_return"]

_SHEET_ORDER = {name: i for i, name in enumerate(("file", *DATA_SHEETS))}


def validate_return(ret: ReturnFile, *, reporting_unit: str, today: date) -> Validation:
    """Check a readable return received in ``reporting_unit``'s bucket, as of ``today``.

    The findings do not include the reader's own (``ret.findings``): the caller
    merges them. Cells the reader already flagged get no second finding here. A CSV return carries one dataset; only the suites of the tables
    present are run.
    """
    from topcop.validation import suites

    parameters = suites.suite_parameters(declared_period(ret))
    metadata = suites.validate_table(METADATA_SHEET, suites.metadata_frame(ret), parameters)
    findings = [_placed(ret, f) for f in metadata.findings]
    results = list(metadata.results)
    for dataset in ret.datasets:
        checked = suites.validate_table(dataset, ret.table(dataset), parameters)
        findings += checked.findings
        results += checked.results
    findings += cross_rules(ret, reporting_unit=reporting_unit, today=today)
    # A cell the reader could not read (a date that is no date) is empty in the table;
    # the reader's finding says why, so "missing" on the same cell would only repeat it.
    unreadable = {(f.sheet, f.row, f.column) for f in ret.findings if f.row is not None}
    findings = [f for f in findings if (f.sheet, f.row, f.column) not in unreadable]
    return Validation(sorted(findings, key=_finding_order), results)


def _placed(ret: ReturnFile, finding: Finding) -> Finding:
    """Metadata is one row per field on its sheet: place the finding on its field's row."""
    sheet, row = metadata_location(ret, finding.column or "")
    return replace(finding, sheet=sheet, row=row)


def _finding_order(finding: Finding) -> tuple[int, int, str]:
    sheet = _SHEET_ORDER.get(finding.sheet, len(_SHEET_ORDER))
    return sheet, -1 if finding.row is None else finding.row, finding.column or ""
