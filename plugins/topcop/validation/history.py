"""History-aware warnings: a figure far outside the reporting unit's own history.

DHIS2's min-max and outlier analysis, and UNODC's questionnaires, ask one
question of every figure: is it plausible against what the same country
reported before? Two tests answer it here, with thresholds a steward sets in
``codelists/outliers.yaml``:

* a robust z-score (median and median absolute deviation) of the figure against
  the unit's figures for the same crime area, indicator and breakdown over the
  last N accepted periods;
* the ratio to the previous period's figure.

Either gives a warning, never an error (real surges happen), whose message
states the historical range and quotes the row's comment when the focal point
explained the figure, as UNODC asks respondents to do. A change smaller than the
configured minimum is never flagged, so small counts do not raise noise.

History is the warehouse's current accepted figures (``v_indicator_current``),
so this step needs an engine: ``validate_return`` stays a pure function of the
file and ``check_return`` adds this step when a warehouse is at hand.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from statistics import mean, median
from typing import Any

import pandas as pd
import yaml
from sqlalchemy import Engine, bindparam, text

from topcop.config import codelists, codelists_dir
from topcop.findings import WARNING, ExpectationResult, Finding
from topcop.i18n import Number, Text, msg
from topcop.periods import Period
from topcop.returns.model import INDICATORS_SHEET, ROW, ReturnFile
from topcop.validation.rules import declared_period

SUITE = "history"  # how the warehouse's data-quality results name this step
OUTLIER = "history_outlier"  # far outside the figures of the last N periods
CHANGE = "history_change"  # a large change on the previous period alone
_MAD_TO_SIGMA = 0.6745  # MAD of a normal distribution, in standard deviations
_MEAN_AD_TO_SIGMA = 1.253314  # the same for the mean absolute deviation

Key = tuple[str, str, str | None]  # crime area, indicator, breakdown (None: the total)


@dataclass(frozen=True)
class OutlierSettings:
    """The thresholds of ``codelists/outliers.yaml``."""

    periods: int
    min_history: int
    z_threshold: float
    ratio_threshold: float
    min_change: dict[str, float]

    def min_change_for(self, unit: str) -> float:
        return float(self.min_change.get(unit, self.min_change["default"]))


@cache
def outlier_settings() -> OutlierSettings:
    with open(codelists_dir() / "outliers.yaml", encoding="utf-8") as f:
        spec = yaml.safe_load(f)
    return OutlierSettings(
        periods=int(spec["periods"]),
        min_history=int(spec["min_history"]),
        z_threshold=float(spec["z_threshold"]),
        ratio_threshold=float(spec["ratio_threshold"]),
        min_change={str(k): float(v) for k, v in spec["min_change"].items()},
    )


def history_findings(
    ret: ReturnFile,
    *,
    reporting_unit: str,
    engine: Engine,
    settings: OutlierSettings | None = None,
) -> list[Finding]:
    """Warnings for the figures of ``ret`` far outside ``reporting_unit``'s own history."""
    period = declared_period(ret)
    if not applies_to(ret) or period is None:
        return []
    settings = settings or outlier_settings()
    earlier = earlier_periods(period, settings.periods)
    history = earlier_figures(engine, reporting_unit, earlier)
    if not history:
        return []
    lists = codelists()
    unit_name = Text(lists.reporting_units[reporting_unit].name)  # a label the catalogs translate
    figures = ret.indicators[
        ret.indicators["value"].notna()
        & ret.indicators["obs_status"].isin(list(lists.obs_status_value_required))
    ]
    findings = []
    for row in figures.itertuples(index=False):
        key = (_text(row.crime_area), _text(row.indicator), _text(row.breakdown))
        series = history.get(key)
        if not series:
            continue
        indicator = lists.indicators.get(key[1] or "")
        unit = indicator.unit if indicator else "default"
        value = float(row.value)
        judged = judge(
            value,
            series,
            previous=earlier[-1],
            settings=settings,
            min_change=settings.min_change_for(unit),
            unit_name=unit_name,
        )
        if judged is None:
            continue
        rule, verdict = judged
        comment = _text(row.comment)
        if comment:
            message = msg(
                '{figure} is {value}, {verdict} The comment says: "{comment}"',
                figure=_label(key),
                value=Number(value),
                verdict=verdict,
                comment=comment,
            )
        else:
            message = msg(
                "{figure} is {value}, {verdict} Please check the figure; if it is right, say why "
                "in the comment (for example a large operation, or a change in how it is "
                "counted).",
                figure=_label(key),
                value=Number(value),
                verdict=verdict,
            )
        findings.append(
            Finding(
                INDICATORS_SHEET, int(getattr(row, ROW)), "value", value, rule, WARNING, message
            )
        )
    return findings


def applies_to(ret: ReturnFile) -> bool:
    """Whether ``ret`` has figures to compare: an indicators table and a readable period."""
    return ret.indicators is not None and declared_period(ret) is not None


def history_results(findings: list[Finding]) -> list[ExpectationResult]:
    """How the figures fared against their history, for the warehouse's data-quality results."""
    return [
        ExpectationResult(SUITE, rule, "value", not count, count, WARNING)
        for rule in (OUTLIER, CHANGE)
        for count in [sum(f.rule == rule for f in findings)]
    ]


def earlier_periods(period: Period, count: int) -> list[Period]:
    """The ``count`` periods of the same frequency before ``period``, oldest first."""
    periods = [period.previous()]
    while len(periods) < count:
        periods.append(periods[-1].previous())
    return list(reversed(periods))


def earlier_figures(
    engine: Engine, reporting_unit: str, periods: list[Period]
) -> dict[Key, dict[Period, float]]:
    """The unit's current accepted figures for ``periods``, by key and then by period."""
    query = text(
        "SELECT period, crime_area, indicator, breakdown, value FROM v_indicator_current"
        " WHERE reporting_unit = :unit AND period IN :periods AND value IS NOT NULL"
        " AND obs_status IN :statuses"
    ).bindparams(bindparam("periods", expanding=True), bindparam("statuses", expanding=True))
    by_code = {p.code: p for p in periods}
    with engine.connect() as conn:
        rows = conn.execute(
            query,
            {
                "unit": reporting_unit,
                "periods": list(by_code),
                "statuses": sorted(codelists().obs_status_value_required),
            },
        ).all()
    history: dict[Key, dict[Period, float]] = {}
    for period, crime_area, indicator, breakdown, value in rows:
        key = (crime_area, indicator, breakdown or None)
        history.setdefault(key, {})[by_code[period]] = float(value)
    return history


def judge(
    value: float,
    series: dict[Period, float],
    *,
    previous: Period,
    settings: OutlierSettings,
    min_change: float,
    unit_name: str,
) -> tuple[str, Text] | None:
    """The rule and what to say when ``value`` stands out from ``series``; None when plausible.

    ``series`` holds the unit's earlier figures by period; ``previous`` is the
    period just before the return's.
    """
    figures = [series[p] for p in sorted(series)]
    centre = median(figures)
    z = robust_z(value, figures)
    outlier = (
        len(figures) >= settings.min_history
        and abs(z) >= settings.z_threshold
        and abs(value - centre) >= min_change
    )
    before = series.get(previous)
    changed = (
        before is not None
        and abs(value - before) >= min_change
        and (
            value >= settings.ratio_threshold * before or value * settings.ratio_threshold <= before
        )
    )
    if not (outlier or changed):
        return None
    first, last = min(series), max(series)
    span = (
        str(first) if first == last else msg("{first} to {last}", first=str(first), last=str(last))
    )
    summary = (
        msg(
            "between {low} and {high}, median {median}",
            low=Number(min(figures)),
            high=Number(max(figures)),
            median=Number(centre),
        )
        if len(figures) > 1
        else Number(figures[0])
    )
    if outlier:
        said = {"unit": unit_name, "count": len(figures), "span": span, "summary": summary}
        if changed:
            return OUTLIER, msg(
                "far outside {unit}'s own figures for the {count} earlier periods ({span}): "
                "{summary}. It is {change}.",
                change=_change(value, before, previous),
                **said,
            )
        return OUTLIER, msg(
            "far outside {unit}'s own figures for the {count} earlier periods ({span}): {summary}.",
            **said,
        )
    return CHANGE, msg(
        "{change}. {unit}'s figures for {span}: {summary}.",
        change=_change(value, before, previous),
        unit=unit_name,
        span=span,
        summary=summary,
    )


def robust_z(value: float, figures: list[float]) -> float:
    """How many (robust) standard deviations ``value`` lies from the median of ``figures``.

    The median absolute deviation stands for the spread; when more than half the
    figures are equal it is zero, and the mean absolute deviation stands in. A
    perfectly constant history makes any other value infinitely far.
    """
    centre = median(figures)
    deviations = [abs(f - centre) for f in figures]
    mad = median(deviations)
    if mad > 0:
        return _MAD_TO_SIGMA * (value - centre) / mad
    mean_ad = mean(deviations)
    if mean_ad > 0:
        return (value - centre) / (_MEAN_AD_TO_SIGMA * mean_ad)
    return 0.0 if value == centre else math.copysign(math.inf, value - centre)


def _change(value: float, before: float | None, previous: Period) -> Text:
    if before is None:
        raise ValueError("a change needs the previous period's figure")
    if value >= before:
        if before == 0:
            return msg("up from 0 in {previous}", previous=str(previous))
        return msg(
            "up from {before} in {previous} ({ratio} times as much)",
            before=Number(before),
            previous=str(previous),
            ratio=Number(round(value / before, 1), digits=1),
        )
    fall = 100 * (before - value) / before
    return msg(
        "down from {before} in {previous} (a fall of {fall}%)",
        before=Number(before),
        previous=str(previous),
        fall=Number(round(fall), digits=0),
    )


def _label(key: Key) -> Text:
    crime_area, indicator, breakdown = key
    if breakdown:
        return msg(
            "{indicator} ({breakdown}) for {crime_area}",
            indicator=indicator,
            breakdown=breakdown,
            crime_area=crime_area,
        )
    return msg("{indicator} for {crime_area}", indicator=indicator, crime_area=crime_area)


def _text(value: Any) -> str | None:
    if value is None or value is pd.NA or value != value:
        return None
    return str(value).strip() or None
