"""The regional assessment workbook: who reported, what the current figures say, what moved.

Built only from the warehouse's current views (``figures``), for one edition
(``handling``): the programme's own, or a public one with what may not be
published suppressed and the suppression said on every sheet it touches.
This module reads what the workbook shows, puts its sheets together
(``reports.sheets``, one module per sheet) and saves the file. Every value goes
through ``topcop.cells.write_cell``, so text from a return is never evaluated
as a formula; openpyxl writes neither macros nor external links. A build never
replaces an earlier one: the file name carries the edition and the build time,
and the file appears under it only once complete.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from openpyxl import Workbook
from sqlalchemy import Engine

from topcop.periods import Period
from topcop.reports.changes import biggest_changes
from topcop.reports.completeness import completeness
from topcop.reports.edition import Edition
from topcop.reports.figures import (
    current_figures,
    latest_processed,
    seizure_routes,
    seizure_submissions,
    seizure_totals,
    standing_findings,
)
from topcop.reports.handling import Audience, Disclosure, parse_audience
from topcop.reports.layout import finish_sheet
from topcop.reports.order import by_crime_area
from topcop.reports.sheets.completeness import completeness_sheet
from topcop.reports.sheets.crime_area import crime_area_sheet
from topcop.reports.sheets.overview import overview_sheet
from topcop.reports.sheets.quality import quality_sheet
from topcop.reports.sheets.seizures import seizures_sheet


@dataclass(frozen=True)
class Assessment:
    """What one build wrote, and from which submissions."""

    path: Path
    period: str
    audience: Audience
    periods: tuple[str, ...]
    built_at: datetime  # naive UTC
    data_as_of: datetime | None  # naive UTC: latest processing among the submissions used
    submissions: frozenset[str]


def build_assessment(
    engine: Engine,
    period: str,
    out_dir: Path,
    *,
    today: date,
    periods_back: int = 8,
    audience: Audience | str = Audience.PROGRAMME,
    built_at: datetime | None = None,
) -> Assessment:
    """Write the workbook for the ``periods_back`` periods ending at ``period`` into ``out_dir``.

    The name is ``eap_assessment_<period>_<audience>_<UTC build time>.xlsx``; an
    existing file is never replaced.
    """
    disclosure = Disclosure(parse_audience(audience))
    built_at = built_at or datetime.now(UTC)
    if built_at.tzinfo is not None:
        built_at = built_at.astimezone(UTC).replace(tzinfo=None)
    built_at = built_at.replace(microsecond=0)
    periods = report_periods(period, periods_back)
    period = periods[-1]
    year_earlier = Period.parse(period).year_earlier().code
    previous = Period.parse(period).previous().code

    figures = current_figures(
        engine, sorted({*periods, year_earlier}, key=Period.parse), disclosure
    )
    shown = [f for f in figures if f.period in periods]
    seizures = seizure_totals(engine, [previous, period], disclosure)
    routes = seizure_routes(engine, period, disclosure)
    cells = completeness(engine, periods, dataset="indicators", today=today)
    seizure_cells = completeness(engine, periods, dataset="seizures", today=today)
    current = {f.submission_id for f in shown} | seizure_submissions(engine, periods)
    findings = standing_findings(engine, current)
    used = (
        current
        | {f.submission_id for f in figures}
        | {s.submission_id for s in seizures}
        | {c.submission_id for c in cells + seizure_cells if c.submission_id}
    )
    data_as_of = latest_processed(engine, used)

    edition = Edition(
        disclosure,
        f"EaP organised crime assessment {period}, {disclosure.audience.value} edition",
    )
    wb = Workbook()
    wb.remove(wb.active)
    wb.properties.title = edition.running_title
    wb.properties.creator = "topcop"
    overview_sheet(
        wb,
        edition,
        periods=periods,
        built_at=built_at,
        data_as_of=data_as_of,
        returns_used=len(used),
        cells=[c for c in cells if c.period == period],
        changes=biggest_changes(figures, seizures, period),
        suppressed=sum(f.suppressed for f in shown)
        + sum(s.suppressed for s in seizures if s.period == period),
    )
    completeness_sheet(wb, edition, periods, {"indicators": cells, "seizures": seizure_cells})
    for crime_area, area_figures in by_crime_area(shown).items():
        crime_area_sheet(wb, edition, crime_area, area_figures, figures, periods)
    seizures_sheet(wb, edition, period, [s for s in seizures if s.period == period], routes)
    quality_sheet(wb, edition, periods, shown, findings)
    for ws in wb.worksheets:
        finish_sheet(ws, edition.running_title)

    stamp = built_at.strftime("%Y%m%dT%H%M%SZ")
    name = f"eap_assessment_{period}_{disclosure.audience.value}_{stamp}"
    path = _save_new(wb, Path(out_dir), name)
    return Assessment(
        path=path,
        period=period,
        audience=disclosure.audience,
        periods=tuple(periods),
        built_at=built_at,
        data_as_of=data_as_of,
        submissions=frozenset(used),
    )


def report_periods(period: str, count: int) -> list[str]:
    """The ``count`` periods ending at ``period``, oldest first."""
    if count < 1:
        raise ValueError("a report covers at least one period")
    p = Period.parse(period)
    out = [p]
    while len(out) < count:
        p = p.previous()
        out.append(p)
    return [p.code for p in reversed(out)]


def _save_new(wb: Workbook, out_dir: Path, name: str) -> Path:
    """Save as ``<name>.xlsx`` (or ``<name>-2.xlsx``...), never replacing a file.

    Written to a temporary name first and then hard-linked under the final
    one: the link fails when the name exists, and no reader sees half a file.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / f".{name}.{secrets.token_hex(6)}.tmp"
    try:
        wb.save(tmp)
        for n in range(1, 100):
            path = out_dir / (f"{name}.xlsx" if n == 1 else f"{name}-{n}.xlsx")
            try:
                os.link(tmp, path)
            except FileExistsError:
                continue
            return path
        raise FileExistsError(f"{out_dir}: 99 builds named {name} already")
    finally:
        tmp.unlink(missing_ok=True)
