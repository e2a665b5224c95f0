"""One measured stage in a process of its own, so each figure has its own memory peak.

``python -m bench.stage <stage> --fmt xlsx --file F --work W ...`` sets the
stage up (imports, engines), runs it once on the small warm-up return, prepares
the measured input untimed (e.g. unpickles the return a validation works on),
then times the stage once and prints one JSON line: wall and CPU seconds, the
process's peak RSS (``ru_maxrss``) and its RSS just before the timed part.

Our stages call the pipeline's public functions; the baselines are what a team
would write by hand (``naive``) and the bare tools underneath (``bare-*``).
``prepare`` is not measured: it reads and validates a file once and pickles the
return, its findings and its fact rows for the stages that start from them.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import pickle
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

_STARTED = time.perf_counter()

from bench.inputs import NOW, PERIOD, TODAY, UNIT, WARMUP_UNIT  # noqa: E402

Op = Callable[[], dict[str, Any]]
Prepare = Callable[["Target", int], Op]  # (what to work on, which repeat) -> the timed step


@dataclass(frozen=True)
class Target:
    """What one run of a stage works on: the unit's file and its prepared work files."""

    unit: str
    file: Path
    work: Path  # prefix of the pickles ``prepare`` wrote: <work>.ret.pkl, <work>.facts.pkl

    def loaded(self) -> dict[str, Any]:
        with open(f"{self.work}.ret.pkl", "rb") as f:
            return pickle.load(f)

    def facts(self) -> dict[str, Any]:
        with open(f"{self.work}.facts.pkl", "rb") as f:
            return pickle.load(f)


@dataclass(frozen=True)
class Job:
    stage: str
    fmt: str
    main: Target
    warmup: Target
    urls: list[str]  # per repeat, a fresh warehouse the stage writes to
    pg_urls: list[str]  # the naive baseline loads into PostgreSQL as well
    repeats: int
    scratch: Path

    def url(self, repeat: int) -> str:
        return self.urls[repeat]


# --- our pipeline ---------------------------------------------------------------------


def _read(job: Job) -> Prepare:
    from topcop.returns.reader import read_return

    def prepare(target: Target, repeat: int) -> Op:
        def op() -> dict[str, Any]:
            ret = read_return(target.file)
            return {"findings": len(ret.findings), "seizure_rows": _rows(ret.seizures)}

        return op

    return prepare


def _validate(job: Job) -> Prepare:
    from topcop.validation import validate_return

    def prepare(target: Target, repeat: int) -> Op:
        ret = target.loaded()["ret"]

        def op() -> dict[str, Any]:
            validation = validate_return(ret, reporting_unit=target.unit, today=TODAY)
            return {"findings": len(validation.findings), "seizure_rows": _rows(ret.seizures)}

        return op

    return prepare


def _load(job: Job) -> Prepare:
    from topcop.warehouse.load import ReceivedFile, record_submission

    def prepare(target: Target, repeat: int) -> Op:
        engine = _engine(job.url(repeat))
        loaded = target.loaded()
        ret, findings = loaded["ret"], loaded["findings"]
        received = ReceivedFile(
            file_name=target.file.name,
            stored_name=f"bench_{loaded['sha256'][:12]}_{target.file.name}",
            sha256=loaded["sha256"],
            size_bytes=loaded["size_bytes"],
            received_at=NOW,
        )

        def op() -> dict[str, Any]:
            outcome = record_submission(
                engine,
                ret,
                reporting_unit=target.unit,
                received=received,
                findings=findings,
                processed_at=NOW,
            )
            return {"status": outcome.status, "seizure_rows": outcome.seizure_rows}

        return op

    return prepare


def _receipt(job: Job) -> Prepare:
    from topcop.landing.local import LocalLanding
    from topcop.receipts import Receipt

    def prepare(target: Target, repeat: int) -> Op:
        landing = LocalLanding(job.scratch / f"landing-{repeat}")
        loaded = target.loaded()
        ret, findings = loaded["ret"], loaded["findings"]
        stored = f"bench_{loaded['sha256'][:12]}_{target.file.name}"

        def op() -> dict[str, Any]:
            receipt = Receipt(
                reporting_unit=target.unit,
                file_name=target.file.name,
                stored_name=stored,
                sha256=loaded["sha256"],
                size_bytes=loaded["size_bytes"],
                received_at=NOW,
                processed_at=NOW,
                status="accepted" if not findings else "accepted_with_warnings",
                location=f"{target.unit}/archive/{stored}",
                declared_country=ret.metadata.get("country"),
                declared_period=ret.metadata.get("period"),
                submission_id="0" * 32,
                revision=1,
                indicator_rows=_rows(ret.indicators),
                seizure_rows=_rows(ret.seizures),
                findings=findings,
            )
            written = _write_receipt(landing, receipt)
            return {"findings": len(findings), "written": written}

        return op

    return prepare


def _write_receipt(landing: Any, receipt: Any) -> list[str]:
    """Every form the pipeline writes a receipt in: JSON, and the workbook where there is one."""
    unit, name = receipt.reporting_unit, receipt.stored_name
    written = [landing.put(unit, "receipts", f"{name}.json", receipt.to_json())]
    to_xlsx = getattr(receipt, "to_xlsx", None)
    if callable(to_xlsx):
        written.append(landing.put(unit, "receipts", f"{name}.xlsx", to_xlsx()))
    return written


def _ingest(job: Job) -> Prepare:
    from topcop.ingest import process_return
    from topcop.landing.local import LocalLanding

    def prepare(target: Target, repeat: int) -> Op:
        # Each repeat on a fresh warehouse and landing: a second go would be a duplicate.
        engine = _engine(job.url(repeat))
        landing = LocalLanding(job.scratch / f"landing-{repeat}")
        inbox = landing.area(target.unit, "inbox")
        shutil.copyfile(target.file, inbox / target.file.name)
        (item,) = landing.list_inbox(target.unit)

        def op() -> dict[str, Any]:
            result = process_return(item, landing=landing, engine=engine, today=TODAY, now=NOW)
            return {"status": result.status, "seizure_rows": result.seizure_rows}

        return op

    return prepare


# --- baselines ------------------------------------------------------------------------


def _naive(job: Job) -> Prepare:
    """What a team writes by hand: pandas.read_excel, the same GX suites, DataFrame.to_sql."""
    import warnings
    from datetime import datetime

    import pandas as pd
    from sqlalchemy import create_engine

    from topcop.returns.model import (
        INDICATORS_SHEET,
        METADATA_SHEET,
        ROW,
        SEIZURES_SHEET,
        ReturnFile,
    )
    from topcop.validation import validate_return

    # pandas warns that its default xlsx engine will change; the default is the point here.
    warnings.filterwarnings("ignore", message=".*default engine.*")

    def numbered(frame: pd.DataFrame) -> pd.DataFrame:
        frame.insert(0, ROW, range(2, len(frame) + 2))
        return frame

    def read(target: Target) -> ReturnFile:
        if job.fmt == "csv":
            ret = ReturnFile(path=target.file, file_format="csv")
            ret.metadata = {"country": target.unit, "period": PERIOD}
            ret.seizures = numbered(pd.read_csv(target.file, parse_dates=["seizure_date"]))
            return ret
        sheets = pd.read_excel(
            target.file, sheet_name=[METADATA_SHEET, INDICATORS_SHEET, SEIZURES_SHEET]
        )
        meta = sheets[METADATA_SHEET]
        ret = ReturnFile(path=target.file, file_format="xlsx")
        ret.metadata = {
            # pandas gives dates as Timestamps; the validation takes dates.
            name: value.date() if isinstance(value, datetime) else value
            for name, value in zip(meta["field"], meta["value"], strict=True)
        }
        ret.metadata_rows = {name: i + 2 for i, name in enumerate(meta["field"])}
        ret.indicators = numbered(sheets[INDICATORS_SHEET])
        ret.seizures = numbered(sheets[SEIZURES_SHEET])
        return ret

    def prepare(target: Target, repeat: int) -> Op:
        engines = {
            "sqlite": create_engine(job.url(repeat)),
            "postgresql": create_engine(job.pg_urls[repeat]),
        }

        def op() -> dict[str, Any]:
            split, split_cpu = {}, {}
            t, cpu = time.perf_counter(), _cpu()
            ret = read(target)
            split["read"], split_cpu["read"] = _since(t), _cpu() - cpu
            t, cpu = time.perf_counter(), _cpu()
            findings = validate_return(ret, reporting_unit=target.unit, today=TODAY).findings
            split["validate"], split_cpu["validate"] = _since(t), _cpu() - cpu
            for name, engine in engines.items():
                t, cpu = time.perf_counter(), _cpu()
                for dataset in ret.datasets:
                    ret.table(dataset).to_sql(
                        f"naive_{dataset}_{target.unit}", engine, if_exists="append", index=False
                    )
                split[f"load_{name}"], split_cpu[f"load_{name}"] = _since(t), _cpu() - cpu
            return {
                "split": split,
                "split_cpu": split_cpu,
                "errors": sum(f.severity == "error" for f in findings),
                "seizure_rows": _rows(ret.seizures),
            }

        return op

    return prepare


def _bare_read(job: Job) -> Prepare:
    """python-calamine (or the csv module) into a table, with no check at all.

    The table holds the cells as they come (``dtype=object``): no typing, no
    inference, which is the least any reader must do.
    """
    import csv

    import pandas as pd
    from python_calamine import CalamineWorkbook

    from topcop.returns.model import DATA_SHEETS

    def prepare(target: Target, repeat: int) -> Op:
        def op() -> dict[str, Any]:
            tables = {}
            if job.fmt == "csv":
                with open(target.file, encoding="utf-8-sig", newline="") as f:
                    rows = list(csv.reader(f))
                tables["seizures"] = pd.DataFrame(rows[1:], columns=rows[0], dtype=object)
            else:
                with CalamineWorkbook.from_path(str(target.file)) as wb:
                    for name in DATA_SHEETS:
                        rows = wb.get_sheet_by_name(name).to_python()
                        tables[name] = pd.DataFrame(rows[1:], columns=rows[0], dtype=object)
            return {"seizure_rows": len(tables["seizures"])}

        return op

    return prepare


def _bare_copy(job: Job) -> Prepare:
    """PostgreSQL COPY of the already-decoded fact rows, with their submission row."""
    import psycopg
    from sqlalchemy.engine import make_url

    def prepare(target: Target, repeat: int) -> Op:
        _engine(job.url(repeat))  # migrated like the others (a no-op on the template's copy)
        url = make_url(job.url(repeat))
        connection = psycopg.connect(
            host=url.host, port=url.port, user=url.username, dbname=url.database
        )
        facts = target.facts()

        def op() -> dict[str, Any]:
            with connection.transaction(), connection.cursor() as cursor:
                cursor.execute(_BARE_SUBMISSION, _submission_values(facts, target))
                for table_name, (columns, rows, _iso_rows) in facts["tables"].items():
                    statement = f"COPY {table_name} ({', '.join(columns)}) FROM STDIN"
                    with cursor.copy(statement) as copy:
                        for row in rows:
                            copy.write_row(row)
            return {"seizure_rows": len(facts["tables"]["seizure_fact"][1])}

        return op

    return prepare


def _bare_executemany(job: Job) -> Prepare:
    """One sqlite3 transaction: the submission row and ``executemany`` of the fact rows."""
    import sqlite3

    from sqlalchemy.engine import make_url

    def prepare(target: Target, repeat: int) -> Op:
        _engine(job.url(repeat))
        database = make_url(job.url(repeat)).database
        connection = sqlite3.connect(database, isolation_level=None, timeout=60)
        connection.execute("PRAGMA foreign_keys = ON")  # as the warehouse engine sets them
        connection.execute("PRAGMA journal_mode = WAL")
        facts = target.facts()

        def op() -> dict[str, Any]:
            connection.execute("BEGIN IMMEDIATE")
            connection.execute(
                _BARE_SUBMISSION.replace("%s", "?"), _submission_values(facts, target)
            )
            for table_name, (columns, _, iso_rows) in facts["tables"].items():
                marks = ", ".join("?" * len(columns))
                connection.executemany(
                    f"INSERT INTO {table_name} ({', '.join(columns)}) VALUES ({marks})", iso_rows
                )
            connection.execute("COMMIT")
            return {"seizure_rows": len(facts["tables"]["seizure_fact"][1])}

        return op

    return prepare


_BARE_SUBMISSION = (
    "INSERT INTO submission (submission_id, reporting_unit, period, dataset, file_name,"
    " stored_name, received_at, processed_at, status, revision)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 'accepted', 1)"
)


def _submission_values(facts: dict[str, Any], target: Target) -> tuple[Any, ...]:
    stamp = NOW.replace(tzinfo=None).isoformat(sep=" ")
    dataset = "return" if target.file.suffix == ".xlsx" else "seizures"
    return (
        facts["submission_id"],
        target.unit,
        PERIOD,
        dataset,
        target.file.name,
        target.file.name,
        stamp,
        stamp,
    )


# --- preparing work files ----------------------------------------------------------------


def prepare_work(target: Target) -> None:
    """Read and validate a file once; pickle the return, its findings and its fact rows."""
    from datetime import date

    from topcop.ingest import sha256_of
    from topcop.returns.model import INDICATOR_COLUMNS, ROW, SEIZURE_COLUMNS
    from topcop.returns.reader import read_return
    from topcop.validation import validate_return

    ret = read_return(target.file)
    findings = list(ret.findings)
    findings += validate_return(ret, reporting_unit=target.unit, today=TODAY).findings
    errors = [f for f in findings if f.severity == "error"]
    if errors:
        raise RuntimeError(f"{target.file}: the benchmark's return has errors: {errors[:3]}")
    loaded = {
        "ret": ret,
        "findings": findings,
        "sha256": sha256_of(target.file),
        "size_bytes": target.file.stat().st_size,
    }
    with open(f"{target.work}.ret.pkl", "wb") as f:
        pickle.dump(loaded, f, protocol=pickle.HIGHEST_PROTOCOL)

    submission_id = f"bench{target.unit}".ljust(32, "0")
    tables = {}
    for table_name, frame, columns in (
        ("indicator_fact", ret.indicators, INDICATOR_COLUMNS),
        ("seizure_fact", ret.seizures, SEIZURE_COLUMNS),
    ):
        if frame is None:
            continue
        names = ["submission_id", "row_number", *columns]
        values = [[submission_id] * len(frame), frame[ROW].tolist()]
        iso = list(values)
        for name, dtype in columns.items():
            series = frame[name]
            if dtype.startswith("datetime"):
                series = series.dt.date
            plain = series.to_numpy(dtype=object, na_value=None).tolist()
            values.append(plain)
            iso.append([d.isoformat() if isinstance(d, date) else d for d in plain])
        tables[table_name] = (
            names,
            list(zip(*values, strict=True)),
            list(zip(*iso, strict=True)),
        )
    with open(f"{target.work}.facts.pkl", "wb") as f:
        pickle.dump(
            {"submission_id": submission_id, "tables": tables},
            f,
            protocol=pickle.HIGHEST_PROTOCOL,
        )


# --- running one stage -----------------------------------------------------------------

STAGES: dict[str, Callable[[Job], Callable[[Target], Op]]] = {
    "read": _read,
    "validate": _validate,
    "load-sqlite": _load,
    "load-postgresql": _load,
    "receipt": _receipt,
    "ingest-sqlite": _ingest,
    "ingest-postgresql": _ingest,
    "naive": _naive,
    "bare-read": _bare_read,
    "bare-copy": _bare_copy,
    "bare-executemany": _bare_executemany,
}


def measure(job: Job, profile: Path | None = None) -> dict[str, Any]:
    """Set up, warm up, then time the stage ``job.repeats`` times on the measured input.

    Repeats share the process (its set-up is paid once) but not their data:
    each writes to a warehouse of its own. Memory figures are the first
    repeat's: its peak RSS and the RSS just before it.
    """
    prepare = STAGES[job.stage](job)
    setup = _since(_STARTED)
    t = time.perf_counter()
    prepare(job.warmup, 0)()
    warmup = _since(t)
    runs = []
    for repeat in range(job.repeats):
        op = prepare(job.main, repeat)
        gc.collect()
        rss_before = _rss_now()
        cpu = _cpu()
        t = time.perf_counter()
        if profile is None:
            detail = op()
        else:
            from pyinstrument import Profiler

            with Profiler(interval=0.001) as profiler:
                detail = op()
            profile.write_text(_profile_text(profiler), encoding="utf-8")
        runs.append(
            {
                "seconds": _since(t),
                "cpu_seconds": _cpu() - cpu,
                "rss_before": rss_before,
                "peak_rss": _peak_rss(),  # never falls: only the first repeat's is its own
                "detail": detail,
            }
        )
    return {
        "stage": job.stage,
        "fmt": job.fmt,
        "seconds": statistics.median(r["seconds"] for r in runs),
        "cpu_seconds": statistics.median(r["cpu_seconds"] for r in runs),
        # The first repeat's memory: later repeats may find memory the allocator kept.
        "peak_rss": runs[0]["peak_rss"],
        "rss_before": runs[0]["rss_before"],
        "peak_rss_all_repeats": _peak_rss(),
        "setup_seconds": setup,
        "warmup_seconds": warmup,
        "detail": runs[0]["detail"],
        "runs": runs,
    }


def _profile_text(profiler: Any) -> str:
    """The call tree (library frames folded), then the costliest functions, libraries included."""
    tree = profiler.output_text(unicode=True, color=False)
    own = profiler.output_text(unicode=True, color=False, flat=True, show_all=True)
    total = profiler.output_text(
        unicode=True, color=False, flat=True, show_all=True, flat_time="total"
    )
    return (
        f"{tree}\n\n=== Functions by own time (top 40) ===\n"
        + "\n".join(own.strip().splitlines()[5:45])
        + "\n\n=== Functions by total time, callees included (top 80) ===\n"
        + "\n".join(total.strip().splitlines()[5:85])
        + "\n"
    )


@cache
def _engine(url: str) -> Any:
    """The warehouse at ``url``, migrated (untimed); one engine per URL in the process."""
    from topcop.warehouse.engine import warehouse_engine
    from topcop.warehouse.migrate import migrate

    engine = warehouse_engine(url)
    migrate(engine)
    return engine


def _rows(frame: Any) -> int:
    return 0 if frame is None else len(frame)


def _since(start: float) -> float:
    return time.perf_counter() - start


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _rss_now() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.stage", description=__doc__)
    parser.add_argument("stage", choices=[*STAGES, "prepare"])
    parser.add_argument("--fmt", choices=["xlsx", "csv"], default="xlsx")
    parser.add_argument("--file", type=Path)
    parser.add_argument("--work", type=Path)
    parser.add_argument("--warmup-file", type=Path)
    parser.add_argument("--warmup-work", type=Path)
    parser.add_argument(
        "--url", action="append", default=[], help="per repeat, the warehouse written to"
    )
    parser.add_argument(
        "--pg-url", action="append", default=[], help="naive baseline: per repeat, PostgreSQL"
    )
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--profile", type=Path, help="write a pyinstrument profile here")
    parser.add_argument(
        "--prepare",
        nargs=3,
        action="append",
        default=[],
        metavar=("UNIT", "FILE", "WORK"),
        help="prepare: a file of a unit and where its work files go (repeatable)",
    )
    args = parser.parse_args(argv)
    if args.stage == "prepare":
        for unit, file, work in args.prepare:
            prepare_work(Target(unit, Path(file), Path(work)))
        return 0
    main_target = Target(UNIT, args.file, args.work)
    with tempfile.TemporaryDirectory(prefix="topcop-bench-") as scratch:
        job = Job(
            stage=args.stage,
            fmt=args.fmt,
            main=main_target,
            warmup=Target(WARMUP_UNIT, args.warmup_file, args.warmup_work),
            urls=args.url,
            pg_urls=args.pg_url,
            repeats=args.repeats,
            scratch=Path(scratch),
        )
        result = measure(job, args.profile)
    print(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
