"""The seizures sheet: quantities by commodity and reporting unit, and the top routes.

Only published returns count towards region totals and routes; a withheld
return's column shows the suppression flag, and a commodity only a withheld
return seized gets no row, which would tell what it seized.
"""

from __future__ import annotations

from collections import defaultdict

from openpyxl import Workbook

from topcop import config
from topcop.periods import Period
from topcop.reports.charts import seizure_charts
from topcop.reports.edition import Edition
from topcop.reports.figures import RouteCount, SeizureTotal
from topcop.reports.handling import SUPPRESSED
from topcop.reports.layout import fit_columns, table, title_block
from topcop.reports.order import position

SHEET_SEIZURES = "seizures"
_TOP_ROUTES = 10


def seizures_sheet(
    wb: Workbook,
    edition: Edition,
    period: str,
    seizures: list[SeizureTotal],
    routes: list[RouteCount],
) -> None:
    """Add the seizures sheet for ``period``: quantities, top routes and their charts."""
    lists = config.codelists()
    ws = wb.create_sheet(SHEET_SEIZURES)
    restricted = {(s.reporting_unit, s.period) for s in seizures if s.suppressed}
    reporting = {s.reporting_unit for s in seizures}
    active = Period.parse(period).start
    units = [
        code
        for code, unit in lists.reporting_units.items()
        if unit.is_active_on(active) or code in reporting
    ]
    quantities: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    events: dict[tuple[str, str], int] = defaultdict(int)
    for s in seizures:
        if not s.suppressed:
            quantities[(s.commodity, s.unit)][s.reporting_unit] += s.quantity
            events[(s.commodity, s.unit)] += s.events
    # Only commodities some shown return seized: a row of its own would tell what a
    # withheld return seized.
    kinds = sorted(
        {(s.commodity, s.unit) for s in seizures if not s.suppressed},
        key=lambda k: (
            position(list(lists.units), k[1]),
            position(list(lists.commodities), k[0]),
        ),
    )
    suppressed_cells = len(kinds) * len({u for u, _p in restricted})
    legend = (
        "Empty: no seizures return for the period; 0: the return had none of this commodity."
        + (" Region totals and routes count published returns only." if restricted else "")
    )
    top = title_block(
        ws, f"Seizures, {period}", [*edition.notes(suppressed_cells, restricted), legend]
    )

    quantity_table = table(
        ws,
        top,
        f"Quantities seized by commodity and reporting unit, {period}",
        ["Commodity", "Name", "Unit", *units, "Region total", "Seizures"],
        [
            [commodity, lists.commodities[commodity].name if commodity in lists.commodities
             else "", measure,
             *(_seizure_cell(quantities[(commodity, measure)], u, period, reporting, restricted)
               for u in units),
             sum(quantities[(commodity, measure)].values()), events[(commodity, measure)]]
            for commodity, measure in kinds
        ],
        formats={c: "#,##0.##" for c in range(4, 5 + len(units))},
    )  # fmt: skip
    ranked = _top_routes(routes)
    route_table = table(
        ws,
        quantity_table[1] + 2,
        f"Top routes (origin → destination), {period}: seizures with both known",
        ["Rank", "Route", "Origin", "Destination", "Seizures", "Reporting units",
         "Main commodity"],
        [
            [rank, f"{origin} → {destination}", origin, destination, count, reporters, commodity]
            for rank, (origin, destination, count, reporters, commodity) in enumerate(ranked, 1)
        ],
    )  # fmt: skip
    fit_columns(ws, quantity_table, route_table)
    ws.freeze_panes = ws.cell(top + 2, 4).coordinate
    seizure_charts(
        ws, route_table[1] + 2, units, reporting, restricted, period, quantities, kinds, ranked
    )


def _seizure_cell(
    by_unit: dict[str, float],
    unit_code: str,
    period: str,
    reporting: set[str],
    restricted: set[tuple[str, str]],
) -> float | str | None:
    """The quantity, 0 when the unit's return had none, empty without a return, or the flag."""
    if (unit_code, period) in restricted:
        return SUPPRESSED
    return by_unit.get(unit_code, 0.0) if unit_code in reporting else None


def _top_routes(routes: list[RouteCount]) -> list[tuple[str, str, int, str, str]]:
    """(origin, destination, seizures, reporting units, main commodity), most seizures first."""
    lists = config.codelists()
    count: dict[tuple[str, str], int] = defaultdict(int)
    reporters: dict[tuple[str, str], set[str]] = defaultdict(set)
    by_commodity: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for route in routes:
        if route.suppressed:
            continue
        key = (route.origin, route.destination)
        count[key] += route.events
        reporters[key].add(route.reporting_unit)
        by_commodity[key][route.commodity] += route.events
    ranked = sorted(count, key=lambda k: (-count[k], k))[:_TOP_ROUTES]
    order = list(lists.reporting_units)
    return [
        (
            origin,
            destination,
            count[(origin, destination)],
            ", ".join(sorted(reporters[(origin, destination)], key=lambda u: position(order, u))),
            min(by_commodity[(origin, destination)].items(), key=lambda kv: (-kv[1], kv[0]))[0],
        )
        for origin, destination in ranked
    ]
