"""What moved: changes between periods, the biggest of them in words, and outliers.

A reader first wants to know what changed. Relative changes on small numbers
are noise (3 arrests instead of 1 is "+200%"), so a change is only told when
its base reaches a minimum for its unit and the change itself is large enough.
Only values the edition may show are compared, so neither a sentence nor an
outlier can give away a suppressed value.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass

from topcop import config
from topcop.periods import Period
from topcop.reports.figures import Figure, SeizureTotal

# A change is told when it is at least this large (0.25 = 25 %) ...
MIN_RELATIVE_CHANGE = 0.25
# ... and the earlier value reaches this base in its unit of measure.
MIN_BASE = {"COUNT": 10, "EUR": 10_000, "KG": 1, "L": 10, "PCS": 100}
DEFAULT_MIN_BASE = 10
MAX_SENTENCES = 5
# An outlier is at least this many times (or at most 1/this of) the unit's own median ...
OUTLIER_FACTOR = 3.0
# ... over at least this many earlier periods of the report.
MIN_HISTORY = 3

_PERIOD_WORDS = {"A": "year", "S": "half-year", "Q": "quarter", "M": "month"}
_UNIT_WORDS = {"COUNT": "", "KG": "kg", "L": "litres", "PCS": "pieces"}
_STATUS_WORDS = {"P": "provisional", "E": "estimated"}


def relative_change(current: float | None, base: float | None) -> float | None:
    """``current / base - 1``; ``None`` when either is missing or the base is not positive."""
    if current is None or base is None or base <= 0:
        return None
    return current / base - 1


@dataclass(frozen=True)
class Change:
    """One told change of one reporting unit's figure between two periods."""

    subject: str  # "Seizures of methamphetamine", "Persons arrested (cyber-attacks)"
    reporting_unit: str
    before: float
    after: float
    unit: str
    relative: float
    status: str | None = None  # obs status of the later value when worth saying

    def sentence(self, period_word: str) -> str:
        verb = "rose" if self.relative > 0 else "fell"
        note = _STATUS_WORDS.get(self.status or "")
        return (
            f"{self.subject} in {self.reporting_unit} {verb} {abs(self.relative) * 100:,.0f}% "
            f"on the previous {period_word} (from {amount(self.before, self.unit)} to "
            f"{amount(self.after, self.unit)}{', ' + note if note else ''})."
        )


def biggest_changes(figures: list[Figure], seizures: list[SeizureTotal], period: str) -> list[str]:
    """The largest changes on the previous period, as sentences, largest first."""
    p = Period.parse(period)
    previous = p.previous().code
    changes = _indicator_changes(figures, period, previous) + _seizure_changes(
        seizures, period, previous
    )
    changes.sort(key=lambda c: (-abs(c.relative), c.reporting_unit, c.subject))
    return [c.sentence(period_word(period)) for c in changes[:MAX_SENTENCES]]


def period_word(period: str) -> str:
    """What one period of this frequency is called: quarter, month, half-year, year."""
    return _PERIOD_WORDS[Period.parse(period).frequency]


def _worth_telling(before: float, after: float, unit: str) -> float | None:
    change = relative_change(after, before)
    if change is None or before < MIN_BASE.get(unit, DEFAULT_MIN_BASE):
        return None
    return change if abs(change) >= MIN_RELATIVE_CHANGE else None


def _indicator_changes(figures: list[Figure], period: str, previous: str) -> list[Change]:
    lists = config.codelists()
    totals = {
        (f.reporting_unit, f.period, f.crime_area, f.indicator): f
        for f in figures
        if f.breakdown is None and f.number is not None
    }
    changes = []
    for (unit_code, p, area, indicator), now in totals.items():
        then = totals.get((unit_code, previous, area, indicator))
        if p != period or then is None:
            continue
        change = _worth_telling(then.number, now.number, now.unit)
        if change is None:
            continue
        name = lists.indicators[indicator].name if indicator in lists.indicators else indicator
        area_name = _lower_first(lists.crime_areas.get(area, area))
        changes.append(
            Change(
                subject=f"{name} ({area_name})",
                reporting_unit=unit_code,
                before=then.number,
                after=now.number,
                unit=now.unit,
                relative=change,
                status=now.obs_status,
            )
        )
    return changes


def _seizure_changes(seizures: list[SeizureTotal], period: str, previous: str) -> list[Change]:
    """Per unit and commodity; a commodity a reporting unit did not seize counts as zero."""
    lists = config.codelists()
    quantities: dict[tuple[str, str], dict[tuple[str, str], float]] = defaultdict(
        lambda: defaultdict(float)
    )
    withheld = {(s.reporting_unit, s.period) for s in seizures if s.suppressed}
    for s in seizures:
        if (s.reporting_unit, s.period) not in withheld:
            quantities[(s.reporting_unit, s.period)][(s.commodity, s.unit)] += s.quantity
    changes = []
    for (unit_code, p), now in quantities.items():
        if p != period or (unit_code, previous) not in quantities:
            continue
        then = quantities[(unit_code, previous)]
        for commodity, measure in sorted(set(now) | set(then)):
            before, after = then.get((commodity, measure), 0.0), now.get((commodity, measure), 0.0)
            change = _worth_telling(before, after, measure)
            if change is None:
                continue
            known = lists.commodities.get(commodity)
            changes.append(
                Change(
                    subject=f"Seizures of {_lower_first(known.name if known else commodity)}",
                    reporting_unit=unit_code,
                    before=before,
                    after=after,
                    unit=measure,
                    relative=change,
                )
            )
    return changes


@dataclass(frozen=True)
class Outlier:
    """A report-period value far from the reporting unit's own recent history."""

    figure: Figure
    median: float
    history: int  # earlier periods the median is taken over
    ratio: float


def outliers(figures: list[Figure], periods: list[str]) -> list[Outlier]:
    """Values of the last of ``periods`` against the median of the earlier ones."""
    period, earlier = periods[-1], set(periods[:-1])
    history: dict[tuple, list[float]] = defaultdict(list)
    for f in figures:
        if f.period in earlier and f.number is not None:
            history[(f.reporting_unit, f.crime_area, f.indicator, f.breakdown)].append(f.number)
    found = []
    for f in figures:
        past = history.get((f.reporting_unit, f.crime_area, f.indicator, f.breakdown), [])
        if f.period != period or f.number is None or len(past) < MIN_HISTORY:
            continue
        median = statistics.median(past)
        if median <= 0 or median < MIN_BASE.get(f.unit, DEFAULT_MIN_BASE):
            continue
        ratio = f.number / median
        if ratio >= OUTLIER_FACTOR or ratio <= 1 / OUTLIER_FACTOR:
            found.append(Outlier(figure=f, median=median, history=len(past), ratio=ratio))
    return found


def amount(value: float, unit: str) -> str:
    """``5 kg``, ``EUR 1,250``, ``12`` (counts have no unit word)."""
    number = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
    if unit == "EUR":
        return f"EUR {number}"
    word = _UNIT_WORDS.get(unit, unit)
    return f"{number} {word}" if word else number


def _lower_first(name: str) -> str:
    """ "Trafficking in human beings" → "trafficking in ..."; acronyms (MDMA, MTIC) stay."""
    return name if name[:2].isupper() else name[:1].lower() + name[1:]
