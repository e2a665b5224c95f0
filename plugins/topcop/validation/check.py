"""One file, checked the one way: read, validate, compare with the unit's history.

The pipeline (``topcop.ingest.process_return``) and the focal point's offline
validator (``topcop validate``) both call ``check_return``, so a file checked
before sending gets exactly the findings its receipt will list — provided the
offline check sees the same warehouse, since the history step needs one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from topcop.findings import ExpectationResult, Finding
from topcop.returns.model import ReturnFile


@dataclass
class CheckedReturn:
    """A file as read, everything found in it, and how each expectation and rule fared.

    ``findings``: the reader's, the validation's and the history's, ordered by
    sheet (file, metadata, indicators, seizures), row and column. ``history_checked``
    says whether the figures were compared with the unit's earlier periods.
    """

    ret: ReturnFile
    findings: list[Finding] = field(default_factory=list)
    results: list[ExpectationResult] = field(default_factory=list)
    gx_results: list[dict[str, Any]] = field(default_factory=list)
    history_checked: bool = False


def check_return(
    path: Path, *, reporting_unit: str, today: date, engine: Engine | None = None
) -> CheckedReturn:
    """Check the file at ``path`` as received in ``reporting_unit``'s bucket on ``today``.

    With ``engine``, the indicators are also compared with the unit's accepted
    history (warnings only); without it, or without figures to compare (a
    seizures CSV, an unreadable period), that step is skipped and
    ``history_checked`` is False.
    """
    from topcop.returns.reader import read_return
    from topcop.validation import (
        finding_order,
        history,
        validate_return,
        without_rejected_values,
    )

    ret = read_return(Path(path))
    checked = CheckedReturn(ret=ret, findings=list(ret.findings))
    if not ret.readable:
        return checked
    validation = validate_return(ret, reporting_unit=reporting_unit, today=today)
    found = validation.findings
    checked.results = validation.results
    checked.gx_results = validation.gx_results
    if engine is not None and history.applies_to(ret):
        compared = history.history_findings(
            without_rejected_values(ret, [*ret.findings, *found]),
            reporting_unit=reporting_unit,
            engine=engine,
        )
        found = [*found, *compared]
        checked.results = [*checked.results, *history.history_results(compared)]
        checked.history_checked = True
    # One order for all, the reader's findings among the others: sheet by sheet, row by row.
    checked.findings = sorted([*checked.findings, *found], key=finding_order)
    return checked
