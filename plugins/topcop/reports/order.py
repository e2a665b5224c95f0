"""Codelist order: sheets and rows of a report in the order stewards know from the codelists.

Codes no longer in a codelist (a crime area retired after a return used it)
still appear, after the listed ones, alphabetically.
"""

from __future__ import annotations

from collections import defaultdict

from topcop import config
from topcop.reports.figures import Figure


def by_crime_area(figures: list[Figure]) -> dict[str, list[Figure]]:
    """Crime area → its figures, crime areas in codelist order, only those with data."""
    by_area: dict[str, list[Figure]] = defaultdict(list)
    for f in figures:
        by_area[f.crime_area].append(f)
    order = list(config.codelists().crime_areas)
    return {area: by_area[area] for area in sorted(by_area, key=lambda a: position(order, a))}


def series_order(key: tuple[str, str | None, str]) -> tuple:
    """Order of a series (indicator, breakdown, unit): indicator, its total first, then unit."""
    lists = config.codelists()
    indicator, breakdown, unit_code = key
    return (
        position(list(lists.indicators), indicator),
        breakdown is not None,
        position(list(lists.breakdowns), breakdown),
        position(list(lists.reporting_units), unit_code),
    )


def position(codes: list[str], code: str | None) -> tuple[int, str]:
    """Codelist order first; codes no longer in the list after them, alphabetically."""
    return (codes.index(code), "") if code in codes else (len(codes), code or "")
