"""The demo: six focal points' returns for the last four quarters, through Airflow, end to end.

Made by filling the project's own templates, so the demo exercises exactly
what a focal point would send: on-time and late returns, a CSV return, a
rejected return with several errors and its corrected resubmission, a
correction that becomes revision 2, and a file from a suspended unit.
Running it again drops the same files again; they are acknowledged as
duplicates and nothing is loaded twice.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import make_url, text

from topcop import config
from topcop.periods import Period, last_closed_periods
from topcop.warehouse.engine import warehouse_url


@dataclass(frozen=True)
class DemoFile:
    unit: str
    period: str
    name: str
    dropped_at: datetime  # when the focal point "dropped" it: sets on-time or late
    round: int  # 1: first deliveries; 2: resubmissions after reading the receipts
    fmt: str = "xlsx"
    fault: Callable | None = None


def _plant_errors(sample) -> None:
    """Several errors a focal point might really make, in different sheets and rows."""
    sample.indicators[0]["crime_area"] = "DRUGZ"
    sample.indicators[3]["value"] = -4
    sample.indicators[5]["value"] = 2.5
    sample.seizures[0]["unit"] = "PCS"


def _plant_warning(sample) -> None:
    """More persons charged than arrested: possible (earlier arrests), so only a warning."""
    rows = {
        (r["crime_area"], r["indicator"], r.get("breakdown")): r
        for r in sample.indicators
        if isinstance(r["value"], int | float)
    }
    area = next(
        a for (a, i, b) in rows if i == "PERSONS_CHARGED" and (a, "PERSONS_ARRESTED", None) in rows
    )
    rows[(area, "PERSONS_CHARGED", None)]["value"] = (
        rows[(area, "PERSONS_ARRESTED", None)]["value"] + 5
    )
    rows[(area, "PERSONS_CHARGED", None)]["comment"] = (
        "Includes persons arrested in the previous quarter."
    )


def _revise(sample) -> None:
    """A corrected figure: the focal point found more investigations after checking."""
    row = next(
        r
        for r in sample.indicators
        if r["indicator"] == "INVESTIGATIONS_OPENED" and isinstance(r["value"], int | float)
    )
    row["value"] += 3
    row["comment"] = "Corrected: three investigations were registered late."


def demo_plan(today: date) -> list[DemoFile]:
    """Which file each focal point drops when, for the last four closed quarters."""
    codelists = config.codelists()
    deadline_days = codelists.datasets["indicators"].deadline_days
    periods = last_closed_periods(today, 4)
    latest, earlier = periods[-1], periods[-2]
    first_look = datetime.combine(latest.end + timedelta(days=5), time(9), UTC)
    plan: list[DemoFile] = []
    for period in periods:
        for unit_code, unit in sorted(codelists.reporting_units.items()):
            key = (unit_code, period)
            if not unit.is_active_on(period.start) or key == ("UA", latest):
                continue  # suspended unit, and UA's latest return is missing
            dropped = datetime.combine(period.end + timedelta(days=12), time(9), UTC)
            if key == ("AZ", earlier):  # late
                dropped = datetime.combine(earlier.deadline(deadline_days), time(9), UTC)
                dropped += timedelta(days=9)
            round_ = 1
            if key == ("GE", latest):  # GE's good return corrects its rejected draft
                round_, dropped = 2, first_look + timedelta(days=10)
            fmt = "csv" if key == ("AM", latest) else "xlsx"
            fault = _plant_warning if key == ("AZ", latest) else None  # accepted with a warning
            name = _name(unit_code, period)
            plan.append(DemoFile(unit_code, period.code, name, dropped, round_, fmt, fault))
    plan += [
        DemoFile(
            "GE", latest.code, f"GE_{latest.code}_draft.xlsx", first_look, 1, fault=_plant_errors
        ),
        DemoFile(
            "MD",
            latest.code,
            f"MD_{latest.code}_corrected.xlsx",
            first_look + timedelta(days=14),
            2,
            fault=_revise,
        ),
        DemoFile("BY", latest.code, _name("BY", latest), first_look, 1),  # suspended unit
    ]
    return plan


def _name(unit: str, period: Period) -> str:
    return f"{unit}_{period.code}_return.xlsx"


def make_files(plan: list[DemoFile], round_: int, directory: Path, *, seizure_rows: int = 40):
    """Make each planned file of a round by filling the template; yields (file, path)."""
    from topcop.returns.samples import fill_template, sample_content, write_csv

    for f in (f for f in plan if f.round == round_):
        seed = sum(map(ord, f"{f.unit}{f.period}"))
        sample = sample_content(f.unit, f.period, seed=seed, seizure_rows=seizure_rows)
        if f.fault:
            f.fault(sample)
        target = directory / f.unit
        target.mkdir(parents=True, exist_ok=True)
        paths = (
            write_csv(sample, target)
            if f.fmt == "csv"
            else [fill_template(sample, target / f.name)]
        )
        for path in paths:
            yield f, path


def drop_files(plan: list[DemoFile], round_: int, *, seizure_rows: int = 40) -> list[Path]:
    """Drop a round's files into the local landing inboxes, with their arrival times."""
    from topcop.landing.local import LocalLanding

    landing = LocalLanding(config.landing_root())
    landing.ensure_areas()
    dropped = []
    with tempfile.TemporaryDirectory() as tmp:
        for f, path in make_files(plan, round_, Path(tmp), seizure_rows=seizure_rows):
            target = landing.area(f.unit, "inbox") / path.name
            shutil.move(path, target)
            stamp = f.dropped_at.timestamp()
            os.utime(target, (stamp, stamp))
            dropped.append(target)
    return dropped


def airflow(*args: str) -> None:
    """Run an Airflow CLI command in the project's environment, failing loudly."""
    cmd = [str(Path(sys.executable).with_name("airflow")), *args]
    print("$", "airflow", *args, flush=True)
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        sys.stdout.write(result.stdout[-4000:])
        sys.stderr.write(result.stderr[-4000:])
        raise SystemExit(f"airflow {' '.join(args)} failed with exit code {result.returncode}")


def summary_lines() -> list[str]:
    """Per reporting unit and period: files by outcome, current revision, rows that stand."""
    from topcop.warehouse.engine import warehouse_engine

    query = text(
        """
        SELECT s.reporting_unit AS unit, COALESCE(s.period, '?') AS period,
          SUM(CASE WHEN s.status = 'accepted' THEN 1 ELSE 0 END) AS accepted,
          SUM(CASE WHEN s.status = 'accepted_with_warnings' THEN 1 ELSE 0 END) AS warned,
          SUM(CASE WHEN s.status = 'rejected' THEN 1 ELSE 0 END) AS rejected,
          SUM(CASE WHEN s.status = 'duplicate' THEN 1 ELSE 0 END) AS duplicate,
          MAX(s.revision) AS revision,
          (SELECT COUNT(*) FROM v_indicator_current i
            WHERE i.reporting_unit = s.reporting_unit AND i.period = s.period) AS indicators,
          (SELECT COUNT(*) FROM v_seizure_current z
            WHERE z.reporting_unit = s.reporting_unit AND z.period = s.period) AS seizures
        FROM submission s
        GROUP BY s.reporting_unit, COALESCE(s.period, '?'), s.period
        ORDER BY s.reporting_unit, COALESCE(s.period, '?')
        """
    )
    head = ("unit", "period", "accepted", "w/ warnings", "rejected", "duplicate", "revision")
    lines = [
        "{:<5}{:<9}{:>9}{:>12}{:>9}{:>10}{:>9}{:>12}{:>10}".format(*head, "indicators", "seizures")
    ]
    with warehouse_engine().connect() as conn:
        for r in conn.execute(query):
            lines.append(
                f"{r.unit:<5}{r.period:<9}{r.accepted:>9}{r.warned:>12}{r.rejected:>9}"
                f"{r.duplicate:>10}{r.revision if r.revision is not None else '-':>9}"
                f"{r.indicators:>12}{r.seizures:>10}"
            )
    lines.append("(indicators and seizures: rows of the current revision, as analysts see them)")
    return lines


def run_demo(today: date | None = None) -> None:
    today = today or datetime.now(UTC).date()
    plan = demo_plan(today)
    airflow("db", "migrate")
    for round_ in (1, 2):
        dropped = drop_files(plan, round_)
        print(f"Round {round_}: {len(dropped)} files dropped in the landing inboxes", flush=True)
        airflow("dags", "test", "topcop_ingest")
    airflow("dags", "test", "topcop_report")
    airflow("dags", "test", "topcop_export")  # SDMX exports (issue 17)
    print()
    print("\n".join(summary_lines()))
    print()
    reports = sorted(config.reports_dir().glob("eap_assessment_*.xlsx"))
    print(f"Warehouse: {make_url(warehouse_url()).render_as_string(hide_password=True)}")
    print(f"Receipts:  {config.landing_root()}/<unit>/receipts/")
    print(f"Report:    {reports[-1] if reports else '(none built)'}")
    print(f"SDMX:      {config.exports_location()}/ (structures/, public/, programme/)")
