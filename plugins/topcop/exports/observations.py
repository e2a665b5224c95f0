"""The observations of one period and edition, read exactly as the report reads them.

Suppression is not decided here: the report's own queries
(``topcop.reports.figures.current_figures`` and ``seizure_totals``) read the
current view and mark what the edition must withhold, including figures from
which a withheld one could be worked out. The public edition leaves every
withheld observation out (as the public report leaves a commodity only a
withheld return seized out); the programme edition carries all, each with its
own CONF_STATUS.

Seizure totals have no flags of their own in the warehouse: they are normal
values (OBS_STATUS ``A``), free (CONF_STATUS ``F``) when their return's handling
code may be published and not for publication (``N``) otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Engine

from topcop.exports.design import QUANTITY, SEIZURE_COUNT, TOTAL
from topcop.periods import Period
from topcop.reports.figures import current_figures, seizure_totals
from topcop.reports.handling import Audience, Disclosure

NORMAL, FREE, NOT_FOR_PUBLICATION = "A", "F", "N"

INDICATOR_COLUMNS = [
    "FREQ", "REPORTING_UNIT", "CRIME_AREA", "INDICATOR", "BREAKDOWN", "TIME_PERIOD",
    "OBS_VALUE", "UNIT_MEASURE", "OBS_STATUS", "CONF_STATUS",
]  # fmt: skip
SEIZURE_COLUMNS = [
    "FREQ", "REPORTING_UNIT", "COMMODITY", "UNIT_MEASURE", "STATISTIC", "TIME_PERIOD",
    "OBS_VALUE", "OBS_STATUS", "CONF_STATUS",
]  # fmt: skip


@dataclass(frozen=True)
class Observations:
    """What one export of a period and edition writes, and the submissions it came from."""

    period: str
    edition: Audience
    indicators: pd.DataFrame  # INDICATOR_COLUMNS, sorted by the dimensions
    seizures: pd.DataFrame  # SEIZURE_COLUMNS, sorted by the dimensions
    submissions: frozenset[str]


def observations(engine: Engine, period: str, edition: Audience) -> Observations:
    """The current observations of ``period`` that ``edition`` may carry."""
    freq = Period.parse(period).frequency
    public = edition is Audience.PUBLIC
    figures = [
        f for f in current_figures(engine, [period], Disclosure(edition)) if not f.suppressed
    ]
    indicator_rows = [
        [freq, f.reporting_unit, f.crime_area, f.indicator, f.breakdown or TOTAL, period,
         f.value, f.unit, f.obs_status, f.conf_status]
        for f in figures
    ]  # fmt: skip
    # Asked as for the public edition: ``suppressed`` then says whether the return may
    # be published, which is the CONF_STATUS of its totals in either edition.
    totals = seizure_totals(engine, [period], Disclosure(Audience.PUBLIC))
    shown = [t for t in totals if not (public and t.suppressed)]
    seizure_rows = []
    for t in shown:
        conf = NOT_FOR_PUBLICATION if t.suppressed else FREE
        for statistic, value in ((QUANTITY, t.quantity), (SEIZURE_COUNT, float(t.events))):
            seizure_rows.append(
                [freq, t.reporting_unit, t.commodity, t.unit, statistic, period, value,
                 NORMAL, conf]
            )  # fmt: skip
    return Observations(
        period=period,
        edition=edition,
        indicators=_frame(indicator_rows, INDICATOR_COLUMNS, dimensions=6),
        seizures=_frame(seizure_rows, SEIZURE_COLUMNS, dimensions=6),
        submissions=frozenset(
            {f.submission_id for f in figures} | {t.submission_id for t in shown}
        ),
    )


def _frame(rows: list[list], columns: list[str], *, dimensions: int) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=columns)
    frame["OBS_VALUE"] = frame["OBS_VALUE"].astype("float64")
    keys = columns[:dimensions]
    if frame.duplicated(keys).any():
        raise ValueError(f"two observations with the same key {keys}: the current view is broken")
    return frame.sort_values(keys, ignore_index=True)
