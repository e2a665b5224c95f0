"""The reporting calendar: templates out at each period's start, deadlines watched every day.

Pure domain, no Airflow: the ``topcop_templates`` and ``topcop_deadlines`` DAGs,
the tests and the command line call these functions with the day they act for
(``today``), so a rerun or a backfill of a day does what the first run did.
Whether a return is on time, late, missing or still due is decided in
``reports.completeness`` alone; this module adds what the calendar needs around
that: which periods are still open, which units are expected, whether any file
arrived at all, and the reminders and steward alerts that follow.

Reminders go out exactly once. The ``reminder`` table's primary key (unit,
period, dataset, kind) is claimed first, in the warehouse; the file in the
unit's ``receipts/`` is written afterwards and the row marked written. A rerun
finds the key taken and writes nothing; a run that crashed between the two
leaves an unwritten row, whose file the next run writes from the stored text.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import yaml
from sqlalchemy import Date, Engine, bindparam, text

from topcop import config
from topcop.alerts import StewardAlert
from topcop.config import Dataset, ReportingUnit
from topcop.i18n import SOURCE, Text, language, msg, msgn, shown_value
from topcop.landing import Landing
from topcop.periods import Period, period_containing
from topcop.reports.completeness import Timeliness, completeness

DUE_SOON, OVERDUE = "due_soon", "overdue"
REMINDER_VERSION = 1
DEFAULT_DAYS_BEFORE = 7
# A reminder or alert whose day a stopped scheduler missed still goes out within
# this many days after the deadline; older ones are dropped, so switching the
# calendar on never floods focal points with notices about deadlines long past.
CATCH_UP_DAYS = 7


# --- the calendar ------------------------------------------------------------------


def reminder_days_before() -> int:
    """``reminders.days_before`` in ``codelists/calendar.yaml``: when the first reminder goes out."""
    with open(config.codelists_dir() / "calendar.yaml", encoding="utf-8") as f:
        spec = (yaml.safe_load(f) or {}).get("reminders") or {}
    days = int(spec.get("days_before", DEFAULT_DAYS_BEFORE))
    if days < 0:
        raise ValueError(f"calendar.yaml: reminders.days_before is {days}; it must be 0 or more")
    return days


def closes_on(period: Period, dataset: Dataset) -> date:
    """The last day ``period`` takes ordinary submissions of ``dataset``."""
    return period.deadline(dataset.deadline_days) + timedelta(days=dataset.close_after_days)


def expected_units(period: Period) -> list[ReportingUnit]:
    """Units whose activity window covers the period's start: the rule completeness counts by."""
    units = config.codelists().reporting_units.values()
    return [unit for unit in units if unit.is_active_on(period.start)]


def open_periods(dataset: Dataset, today: date) -> list[Period]:
    """Periods that have ended and still take ordinary submissions on ``today``, oldest first.

    The running period is not among them: nothing is due for it yet.
    """
    found = []
    p = period_containing(today, dataset.frequency).previous()
    while closes_on(p, dataset) >= today:
        found.append(p)
        p = p.previous()
    return list(reversed(found))


def watched_periods(dataset: Dataset, today: date, days_before: int) -> list[Period]:
    """Open periods, and the running one once its first reminder is due (days_before > deadline)."""
    periods = open_periods(dataset, today)
    running = period_containing(today, dataset.frequency)
    if running.deadline(dataset.deadline_days) - timedelta(days=days_before) <= today:
        periods.append(running)
    return periods


# --- templates ---------------------------------------------------------------------


def template_name(reporting_unit: str, period: str) -> str:
    return f"{reporting_unit}_{period}_template.xlsx"


def template_periods(today: date) -> list[Period]:
    """The running period of each frequency in the calendar: what a template run publishes."""
    frequencies = dict.fromkeys(d.frequency for d in config.codelists().datasets.values())
    return [period_containing(today, frequency) for frequency in frequencies]


def publish_templates(period: str | None, landing: Landing, today: date) -> list[str]:
    """Put the blank template for ``period`` into every expected unit's ``templates/``.

    ``None`` means the running period(s) on ``today``. Returns the locations
    written now; a template already there is kept as it is (its focal point may
    have downloaded it), so running this again publishes nothing twice.
    """
    from topcop.returns.template import build_template  # openpyxl: only when templates are built

    periods = [Period.parse(period)] if period else template_periods(today)
    written = []
    for p in periods:
        for unit in expected_units(p):
            name = template_name(unit.code, p.code)
            if landing.exists(unit.code, "templates", name):
                continue
            workbook = io.BytesIO()
            build_template(unit.code, p.code).save(workbook)
            try:
                written.append(landing.put(unit.code, "templates", name, workbook.getvalue()))
            except FileExistsError:
                continue  # a concurrent run published it first
    return written


# --- deadlines ---------------------------------------------------------------------


@dataclass(frozen=True)
class DeadlineState:
    """One dataset × reporting unit × period as the calendar sees it on one day."""

    dataset: str
    reporting_unit: str
    period: str
    deadline: date  # last day a return counts as on time
    closes: date  # last day of ordinary submissions
    status: Timeliness  # from reports.completeness
    label: str  # how a person reads the status: "late (3 days)"
    expected: bool  # the unit was active at the period's start
    received: bool  # some file for it arrived, accepted or not
    accepted: bool

    @property
    def on_time(self) -> bool:
        return self.status is Timeliness.ON_TIME

    @property
    def late(self) -> bool:
        return self.status is Timeliness.LATE

    @property
    def overdue(self) -> bool:
        """Expected, deadline passed, nothing accepted."""
        return self.status is Timeliness.MISSING


@dataclass(frozen=True)
class Reminder:
    """A notice in a unit's ``receipts/``: its return is due soon, or its deadline has passed."""

    reporting_unit: str
    period: str
    dataset: str
    kind: str  # due_soon | overdue
    deadline: date
    written_on: date  # the day of the run that decided it
    message: str

    @property
    def file_name(self) -> str:
        return f"{self.reporting_unit}_{self.period}_{self.dataset}_{self.kind}.json"

    def as_dict(self) -> dict[str, Any]:
        return {
            "reminder_version": REMINDER_VERSION,
            "language": language(None, self.reporting_unit),  # the message's first language
            "kind": self.kind,
            "reporting_unit": self.reporting_unit,
            "period": self.period,
            "dataset": self.dataset,
            "deadline": self.deadline.isoformat(),
            "written_on": self.written_on.isoformat(),
            "message": self.message,
        }

    def files(self) -> list[tuple[str, bytes]]:
        """The JSON notice and, beside it, the same message as plain text."""
        as_json = json.dumps(self.as_dict(), indent=2, ensure_ascii=False) + "\n"
        text_name = self.file_name.removesuffix(".json") + ".txt"
        return [(self.file_name, as_json.encode()), (text_name, (self.message + "\n").encode())]


@dataclass(frozen=True)
class DeadlineWatch:
    """What one daily run saw and did."""

    day: date
    states: list[DeadlineState]
    reminders: list[Reminder]  # written into receipts/ by this run
    alerts: list[StewardAlert]  # for the stewards; alerts.alert_stewards sends each once

    def summary(self) -> dict[str, Any]:
        """A small result for XCom and the log."""
        counts = Counter(f"{s.dataset} {s.status.value}" for s in self.states if s.expected)
        return {
            "day": self.day.isoformat(),
            "states": dict(sorted(counts.items())),
            "reminders": [f"{r.reporting_unit}/receipts/{r.file_name}" for r in self.reminders],
            "alerts": [a.as_dict() for a in self.alerts],
        }


_RECEIVED = text(
    "SELECT DISTINCT reporting_unit, period FROM submission"
    " WHERE dataset IN ('return', :dataset) AND period IN :periods"
).bindparams(bindparam("periods", expanding=True))


def received_returns(engine: Engine, periods: list[str], dataset: str) -> set[tuple[str, str]]:
    """(unit, period) pairs for which any file carrying ``dataset`` arrived, accepted or not."""
    if not periods:
        return set()
    with engine.connect() as conn:
        rows = conn.execute(_RECEIVED, {"dataset": dataset, "periods": list(periods)})
        return {(row.reporting_unit, row.period) for row in rows}


def deadline_states(
    engine: Engine, today: date, days_before: int | None = None
) -> list[DeadlineState]:
    """Every dataset × unit × watched period on ``today``, suspended units included (not expected)."""
    days_before = reminder_days_before() if days_before is None else days_before
    states = []
    for dataset in config.codelists().datasets.values():
        periods = {p.code: p for p in watched_periods(dataset, today, days_before)}
        if not periods:
            continue
        received = received_returns(engine, list(periods), dataset.code)
        for cell in completeness(engine, list(periods), dataset=dataset.code, today=today):
            states.append(
                DeadlineState(
                    dataset=dataset.code,
                    reporting_unit=cell.reporting_unit,
                    period=cell.period,
                    deadline=cell.deadline,
                    closes=closes_on(periods[cell.period], dataset),
                    status=cell.status,
                    label=cell.label,
                    expected=cell.expected,
                    received=cell.submission_id is not None
                    or (cell.reporting_unit, cell.period) in received,
                    accepted=cell.submission_id is not None,
                )
            )
    return states


def reminder_kind(state: DeadlineState, today: date, days_before: int) -> str | None:
    """The reminder ``state`` calls for on ``today``, if any.

    ``due_soon`` from ``days_before`` days before the deadline until the deadline
    day; ``overdue`` from the day after it (for up to ``CATCH_UP_DAYS`` days, in
    case runs were missed). Never for a unit not expected or a return accepted.
    """
    if not state.expected or state.accepted:
        return None
    if state.status is Timeliness.DUE and (state.deadline - today).days <= days_before:
        return DUE_SOON
    if state.overdue and (today - state.deadline).days <= CATCH_UP_DAYS:
        return OVERDUE
    return None


def reminder_message(state: DeadlineState, kind: str, today: date) -> str:
    """What the focal point reads, in plain words: in the unit's language, then in English.

    A notice is stored and written as one text (``reminder.message``), so it carries
    both: the focal point's own language first, English below for the stewards.
    """
    lang = language(None, state.reporting_unit)
    english = reminder_text(state, kind, today, SOURCE)
    if lang == SOURCE:
        return english
    return f"{reminder_text(state, kind, today, lang)}\n\n{english}"


def reminder_text(state: DeadlineState, kind: str, today: date, lang: str) -> str:
    """The reminder in ``lang``; dates as the language writes them."""
    unit = config.codelists().reporting_units[state.reporting_unit]
    said = {
        "period": state.period,
        "unit": Text(unit.name),  # a codelist label: the catalogs translate it
        "country": unit.code,
        "dataset": state.dataset,
        "deadline": _day(state.deadline, lang),
    }
    if kind == DUE_SOON:
        days = (state.deadline - today).days
        when = msg("today").in_language(lang) if days == 0 else None
        message = msg(
            "Reminder: the {period} return of {unit} ({country}) is due by {deadline}, {when}. "
            "Nothing with its {dataset} has been accepted yet. Please send the return workbook, "
            "or the {dataset} CSV file, to your inbox/ folder.",
            when=when or msgn("in {n} day", "in {n} days", days, lang),
            **said,
        )
    elif kind == OVERDUE:
        message = msg(
            "The {period} return of {unit} ({country}) was due by {deadline}, and nothing with "
            "its {dataset} has been accepted. Please send it as soon as you can; it will be "
            "recorded as late. Returns for {period} are taken until {closes}.",
            closes=_day(state.closes, lang),
            **said,
        )
    else:
        raise ValueError(f"no reminder of kind {kind!r}")
    text = message.in_language(lang)
    if state.received:
        arrived = msg(
            "A file for this period did arrive but was not accepted: its receipt in this "
            "folder says what to correct."
        )
        text += " " + arrived.in_language(lang)
    return text


def watch_deadlines(
    engine: Engine, landing: Landing, today: date, remind_days_before: int | None = None
) -> DeadlineWatch:
    """The daily run: states of every open period, reminders written once, alerts to send.

    ``remind_days_before`` defaults to ``reminders.days_before`` in calendar.yaml.
    """
    days_before = reminder_days_before() if remind_days_before is None else remind_days_before
    # A pendulum date (from an Airflow logical date) is a subclass SQLite's driver cannot bind.
    today = date(today.year, today.month, today.day)
    states = deadline_states(engine, today, days_before)
    due = []
    for state in states:
        kind = reminder_kind(state, today, days_before)
        if kind:
            due.append(
                Reminder(
                    reporting_unit=state.reporting_unit,
                    period=state.period,
                    dataset=state.dataset,
                    kind=kind,
                    deadline=state.deadline,
                    written_on=today,
                    message=reminder_message(state, kind, today),
                )
            )
    _claim(engine, due)
    written = _write_unwritten(engine, landing)
    return DeadlineWatch(
        day=today, states=states, reminders=written, alerts=steward_alerts(states, today)
    )


def steward_alerts(states: list[DeadlineState], today: date) -> list[StewardAlert]:
    """One alert per dataset and period whose deadline has just passed with returns missing.

    Keyed by dataset and period, so ``alerts.alert_stewards`` sends each once.
    """
    groups: dict[tuple[str, str], list[DeadlineState]] = {}
    for s in states:
        if s.expected and 0 < (today - s.deadline).days <= CATCH_UP_DAYS:
            groups.setdefault((s.dataset, s.period), []).append(s)
    units = config.codelists().reporting_units
    alerts = []
    for (dataset, period), group in groups.items():
        missing = [s for s in group if s.overdue]
        if not missing:
            continue
        lines = [
            f"The deadline for {dataset} returns for {period} was {_day(group[0].deadline)}.",
            f"Nothing accepted from {len(missing)} of the {len(group)} expected reporting units:",
        ]
        for s in missing:
            note = " (a file arrived but was rejected)" if s.received else ""
            lines.append(f"  {s.reporting_unit} {units[s.reporting_unit].name}{note}")
        accepted = [f"{s.reporting_unit} {s.label}" for s in group if s.accepted]
        if accepted:
            lines.append("Accepted: " + ", ".join(accepted) + ".")
        lines.append("Each unit missing has an overdue reminder in its receipts/ folder.")
        alerts.append(
            StewardAlert(
                kind="deadline_passed",
                subject=f"topcop: {period} {dataset} deadline passed, "
                f"{len(missing)} of {len(group)} returns missing",
                body="\n".join(lines),
                key=f"deadline_passed:{dataset}:{period}",
            )
        )
    return alerts


# --- reminder bookkeeping ----------------------------------------------------------

_KEY = (
    "reporting_unit = :reporting_unit AND period = :period AND dataset = :dataset AND kind = :kind"
)
_UNWRITTEN = text(
    "SELECT reporting_unit, period, dataset, kind, deadline, written_on, message FROM reminder"
    " WHERE written_at IS NULL ORDER BY created_at, reporting_unit, period, dataset, kind"
).columns(deadline=Date, written_on=Date)


def _claim(engine: Engine, reminders: list[Reminder]) -> None:
    """Record the reminders; a key already taken (sent before) is left as it is."""
    if not reminders:
        return
    now = _now()
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO reminder (reporting_unit, period, dataset, kind, deadline,"
                " written_on, message, file_name, created_at) VALUES (:reporting_unit, :period,"
                " :dataset, :kind, :deadline, :written_on, :message, :file_name, :created_at)"
                " ON CONFLICT (reporting_unit, period, dataset, kind) DO NOTHING"
            ),
            [
                {
                    "reporting_unit": r.reporting_unit,
                    "period": r.period,
                    "dataset": r.dataset,
                    "kind": r.kind,
                    "deadline": r.deadline,
                    "written_on": r.written_on,
                    "message": r.message,
                    "file_name": r.file_name,
                    "created_at": now,
                }
                for r in reminders
            ],
        )


def _write_unwritten(engine: Engine, landing: Landing) -> list[Reminder]:
    """Write the file of every recorded reminder that has none yet; mark each written."""
    with engine.connect() as conn:
        pending = [Reminder(**row._mapping) for row in conn.execute(_UNWRITTEN)]
    for reminder in pending:
        for name, data in reminder.files():
            if landing.exists(reminder.reporting_unit, "receipts", name):
                continue  # written before a crash, or by a concurrent run
            try:
                landing.put(reminder.reporting_unit, "receipts", name, data)
            except FileExistsError:
                continue
        with engine.begin() as conn:
            conn.execute(
                text(f"UPDATE reminder SET written_at = :now WHERE {_KEY}"),
                {
                    "now": _now(),
                    "reporting_unit": reminder.reporting_unit,
                    "period": reminder.period,
                    "dataset": reminder.dataset,
                    "kind": reminder.kind,
                },
            )
    return pending


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def _day(day: date, lang: str = SOURCE) -> str:
    return f"{day.day} {day:%B %Y}" if lang == SOURCE else shown_value(day, lang)
