"""The data-quality annex: warnings still standing, outliers, estimated and provisional values.

In the public edition a finding may not give away a suppressed value: one on a
suppressed row is dropped, another of the same return keeps its place without
its value and message.
"""

from __future__ import annotations

from dataclasses import replace

from openpyxl import Workbook

from topcop import config
from topcop.periods import Period
from topcop.reports.changes import OUTLIER_FACTOR, outliers
from topcop.reports.edition import Edition, restricted_returns
from topcop.reports.figures import FLAGGED, Figure, StandingFinding
from topcop.reports.handling import Disclosure
from topcop.reports.layout import fit_columns, table, title_block
from topcop.reports.order import position, series_order
from topcop.returns.model import INDICATORS_SHEET

SHEET_QUALITY = "data quality"
WITHHELD = "withheld in the public edition"


def quality_sheet(
    wb: Workbook,
    edition: Edition,
    periods: list[str],
    figures: list[Figure],
    findings: list[StandingFinding],
) -> None:
    """Add the annex: standing warnings, outliers, and estimated or provisional values."""
    lists = config.codelists()
    ws = wb.create_sheet(SHEET_QUALITY)
    shown_findings, dropped = _public_findings(edition.disclosure, findings, figures)
    flagged = [f for f in figures if f.obs_status in FLAGGED]
    flagged_shown = [f for f in flagged if not f.suppressed]
    suppressed = dropped + len(flagged) - len(flagged_shown)
    top = title_block(
        ws,
        f"Data-quality annex, {periods[0]} to {periods[-1]}",
        edition.notes(suppressed, restricted_returns(edition, figures)),
    )
    unit_order, area_order = list(lists.reporting_units), list(lists.crime_areas)

    warnings = table(
        ws,
        top,
        "Warnings still standing: findings of the current revision of each return",
        ["Country", "Period", "Submission", "Sheet", "Row", "Column", "Value", "Rule", "Message"],
        [
            [f.reporting_unit, f.period, f.submission_id, f.sheet, f.row_number, f.column_name,
             f.value, f.rule, f.message]
            for f in shown_findings
        ],
    )  # fmt: skip
    found = sorted(
        outliers(figures, periods),
        key=lambda o: (-abs(o.ratio - 1), position(unit_order, o.figure.reporting_unit)),
    )
    outlying = table(
        ws,
        warnings[1] + 2,
        f"Outliers: {periods[-1]} values at least {OUTLIER_FACTOR:g} times, or at most "
        f"1/{OUTLIER_FACTOR:g} of, the reporting unit's median over the earlier periods",
        ["Country", "Period", "Crime area", "Indicator", "Breakdown", "Value", "Median",
         "Periods", "Ratio", "Comment"],
        [
            [o.figure.reporting_unit, o.figure.period, o.figure.crime_area, o.figure.indicator,
             o.figure.breakdown or "total", o.figure.number, o.median, o.history, o.ratio,
             o.figure.comment_shown]
            for o in found
        ],
        formats={9: "0.0"},
    )  # fmt: skip
    flagged_shown.sort(
        key=lambda f: (
            Period.parse(f.period),
            position(unit_order, f.reporting_unit),
            position(area_order, f.crime_area),
            series_order((f.indicator, f.breakdown, f.reporting_unit)),
        )
    )
    estimated = table(
        ws,
        outlying[1] + 2,
        "Estimated and provisional values",
        ["Country", "Period", "Crime area", "Indicator", "Breakdown", "Value", "Status",
         "Comment"],
        [
            [f.reporting_unit, f.period, f.crime_area, f.indicator, f.breakdown or "total",
             f.number, f"{f.obs_status} {FLAGGED[f.obs_status]}", f.comment_shown]
            for f in flagged_shown
        ],
    )  # fmt: skip
    fit_columns(ws, warnings, outlying, estimated)
    ws.freeze_panes = ws.cell(top + 2, 1).coordinate


def _public_findings(
    disclosure: Disclosure, findings: list[StandingFinding], figures: list[Figure]
) -> tuple[list[StandingFinding], int]:
    """The findings this edition may show, and how many it drops or blanks.

    A finding on a suppressed row goes; another finding of a return holding
    suppressed values keeps its place but not its value and message, which may
    quote a neighbouring row (a justice-chain warning quotes two figures).
    """
    if not disclosure.public:
        return findings, 0
    hidden_rows = {(f.submission_id, f.row_number) for f in figures if f.suppressed}
    touched = {f.submission_id for f in figures if f.suppressed}
    shown, withheld = [], 0
    for f in findings:
        if not disclosure.return_publishable(f.handling_code) or (
            f.sheet == INDICATORS_SHEET and (f.submission_id, f.row_number) in hidden_rows
        ):
            withheld += 1
        elif f.submission_id in touched:
            withheld += 1
            shown.append(replace(f, value=None, message=WITHHELD))
        else:
            shown.append(f)
    return shown, withheld
