"""The assessment's charts: which published numbers each one plots.

Charts read only the small blocks of numbers written beside them
(``layout.number_block``), never a table that may hold a letter or the
suppression flag, and only values the edition may show: a crime area's
indicator totals by reporting unit, and each unit of measure's seizures by
commodity and the top routes.
"""

from __future__ import annotations

from collections import defaultdict

from openpyxl.worksheet.worksheet import Worksheet

from topcop import config
from topcop.reports.figures import Figure
from topcop.reports.layout import (
    bar_chart,
    charts_end,
    heading,
    line_chart,
    number_block,
    place_charts,
)
from topcop.reports.order import position


def indicator_charts(
    ws: Worksheet, top: int, crime_area: str, figures: list[Figure], periods: list[str]
) -> None:
    """A line chart per indicator: its published totals, one line per reporting unit."""
    lists = config.codelists()
    totals: dict[str, dict[str, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    for f in figures:
        if f.breakdown is None and f.number is not None:
            totals[f.indicator][f.reporting_unit][f.period] = f.number
    indicators = sorted(totals, key=lambda i: position(list(lists.indicators), i))
    if not indicators:
        return
    data_top = charts_end(top, len(indicators)) + 1
    heading(ws, data_top, "Chart data: published totals (numbers only)")
    charts, r = [], data_top + 1
    for indicator in indicators:
        by_unit = totals[indicator]
        units = sorted(by_unit, key=lambda u: position(list(lists.reporting_units), u))
        block = number_block(
            ws, r, indicator, periods, [(u, [by_unit[u].get(p) for p in periods]) for u in units]
        )
        known = lists.indicators.get(indicator)
        charts.append(
            line_chart(
                block,
                f"{known.name if known else indicator} ({crime_area})",
                lists.units.get(known.unit, known.unit) if known else "",
            )
        )
        r = block.last_row + 2
    place_charts(ws, charts, top, "Charts: totals by reporting unit, published values")


def seizure_charts(
    ws: Worksheet,
    top: int,
    units: list[str],
    reporting: set[str],
    restricted: set[tuple[str, str]],
    period: str,
    quantities: dict[tuple[str, str], dict[str, float]],
    kinds: list[tuple[str, str]],
    ranked: list[tuple[str, str, int, str, str]],
) -> None:
    """A bar chart per unit of measure (commodities by reporting unit) and one of the top routes."""
    lists = config.codelists()
    shown_units = [u for u in units if u in reporting and (u, period) not in restricted]
    measures = sorted({m for _c, m in kinds}, key=lambda m: position(list(lists.units), m))
    count = len(measures) + (1 if ranked else 0)
    if not count or not shown_units:
        return
    data_top = charts_end(top, count) + 1
    heading(ws, data_top, "Chart data: published quantities (numbers only)")
    charts, r = [], data_top + 1
    for measure in measures:
        rows = [
            (commodity, [quantities.get((commodity, m), {}).get(u, 0.0) for u in shown_units])
            for commodity, m in kinds
            if m == measure
        ]
        block = number_block(ws, r, f"Commodity ({measure})", shown_units, rows)
        name = lists.units.get(measure, measure)
        charts.append(bar_chart(block, f"Seizures by commodity, {name.lower()}", name))
        r = block.last_row + 2
    if ranked:
        rows = [(f"{o} → {d}", [float(n)]) for o, d, n, _who, _what in ranked]
        block = number_block(ws, r, "Route", ["Seizures"], rows)
        charts.append(bar_chart(block, "Top routes: number of seizures", "Seizures"))
    place_charts(ws, charts, top, "Charts: published seizures")
