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

from sqlalchemy import text

from topcop import config
from topcop.periods import Period, last_closed_periods


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


def _revise(sample) -> None:
    """A corrected figure: the focal point found more arrests after checking."""
    for row in sample.indicators:
        if row["indicator"] in ("PERSONS_ARRESTED", "PERSONS_CHARGED") and row["value"]:
            row["value"] = row["value"] + (2 if not row.get("breakdown") else 1)
            if row["indicator"] == "PERSONS_ARRESTED" and row.get("breakdown") == "FOREIGN":
                row["value"] -= 1
            break


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
            plan.append(
                DemoFile(unit_code, period.code, _name(unit_code, period), dropped, round_, fmt)
            )
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
    """Per reporting unit and period: what was received and what stands in the warehouse."""
    from topcop.warehouse.engine import warehouse_engine

    engine = warehouse_engine()
    query = text(
        """
        SELECT reporting_unit, COALESCE(period, '?') AS period, status, COUNT(*) AS files,
               MAX(revision) AS revision, SUM(indicator_rows) AS indicator_rows,
               SUM(seizure_rows) AS seizure_rows, SUM(error_count) AS errors,
               SUM(warning_count) AS warnings
        FROM submission GROUP BY reporting_unit, COALESCE(period, '?'), status
        ORDER BY reporting_unit, period, status
        """
    )
    lines = [
        f"{'unit':<5}{'period':<9}{'status':<24}{'files':>6}{'rev':>5}"
        f"{'indicators':>12}{'seizures':>10}{'errors':>8}{'warnings':>10}"
    ]
    with engine.connect() as conn:
        for r in conn.execute(query):
            lines.append(
                f"{r.reporting_unit:<5}{r.period:<9}{r.status:<24}{r.files:>6}"
                f"{r.revision if r.revision is not None else '-':>5}"
                f"{r.indicator_rows:>12}{r.seizure_rows:>10}{r.errors:>8}{r.warnings:>10}"
            )
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
    print()
    print("\n".join(summary_lines()))
    print()
    reports = sorted(config.reports_dir().glob("eap_assessment_*.xlsx"))
    print(f"Warehouse: {config.warehouse_url()}")
    print(f"Receipts:  {config.landing_root()}/<unit>/receipts/")
    print(f"Report:    {reports[-1] if reports else '(none built)'}")
