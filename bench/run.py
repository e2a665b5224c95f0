"""The stage benchmarks: every stage and baseline, per size and format, each in its own process.

For each size (``BENCH_SIZES``, default 1k, 10k, 100k, 300k and 1M seizure rows)
and format (xlsx, and the seizures CSV of the same content), every stage of
``bench.stage`` runs in a fresh process, into a fresh database where it
writes: SQLite in a scratch file, PostgreSQL in a copy of a migrated template
on a throwaway server. Small sizes run a few times and keep the median; the
largest runs once. The naive baseline reads with openpyxl and is slow: sizes
above ``BENCH_NAIVE_MAX_ROWS`` (default 300k) skip it.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import uuid
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import yaml

from bench.inputs import UNIT, WARMUP_UNIT, Inputs, make_inputs, warmup_inputs
from bench.postgres import Server

DEFAULT_SIZES = (1_000, 10_000, 100_000, 300_000, 1_000_000)
FORMATS = ("xlsx", "csv")
# Ours beside the baseline each is compared with.
STAGES = (
    "read",
    "bare-read",
    "validate",
    "load-sqlite",
    "bare-executemany",
    "load-postgresql",
    "bare-copy",
    "receipt",
    "ingest-sqlite",
    "ingest-postgresql",
    "naive",
)
# Loads and receipts start from the decoded tables, whatever the file was, so CSV
# figures for them would repeat the workbook's; the same goes for the PostgreSQL
# half of a whole ingest. CSV runs what depends on the format.
CSV_STAGES = ("read", "bare-read", "validate", "ingest-sqlite", "naive")
PROFILED = {  # stage -> file name of its pyinstrument profile (100k xlsx, or the largest ≤ it)
    "ingest-sqlite": "profile.txt",
    "read": "profile-read.txt",
    "load-postgresql": "profile-load-postgresql.txt",
}


def sizes() -> list[int]:
    value = os.environ.get("BENCH_SIZES")
    if not value:
        return list(DEFAULT_SIZES)
    return sorted(int(v.replace("_", "")) for v in value.split(",") if v.strip())


def repeats(rows: int, fmt: str) -> int:
    """Median of three up to 100k rows (CSV: up to 10k), the rest once: the budget is ~25 min."""
    default = 3 if rows <= (100_000 if fmt == "xlsx" else 10_000) else 1
    return min(default, int(os.environ.get("BENCH_REPEATS", default)))


def naive_max_rows() -> int:
    """openpyxl reads 300k rows in over a minute, 1M in minutes: by default naive stops at 300k."""
    return int(os.environ.get("BENCH_NAIVE_MAX_ROWS", 300_000))


class StageRunner:
    """Runs ``python -m bench.stage`` processes against prepared inputs and fresh databases."""

    def __init__(self, out: Path, pg: Server):
        self.out = out
        self.pg = pg
        self.work = out / "work"
        self.work.mkdir(parents=True, exist_ok=True)
        self.warmup = warmup_inputs(out / "inputs")

    def prepare(self, inputs: Inputs, unit: str) -> None:
        """Read and validate each format once (one process), for the stages that start later."""
        args: list[Any] = ["prepare"]
        for fmt in FORMATS:
            args += ["--prepare", unit, inputs.file(fmt), self._work(inputs, fmt)]
        _python(args, self.codelists(inputs.rows))

    def run(
        self,
        stage: str,
        fmt: str,
        inputs: Inputs,
        repeats: int = 1,
        profile: Path | None = None,
    ) -> dict[str, Any]:
        args = [
            stage,
            "--fmt",
            fmt,
            "--file",
            inputs.file(fmt),
            "--work",
            self._work(inputs, fmt),
            "--warmup-file",
            self.warmup.file(fmt),
            "--warmup-work",
            self._work(self.warmup, fmt),
        ]
        args += ["--repeats", repeats]
        if profile:
            args += ["--profile", profile]
        with ExitStack() as stack:
            for _ in range(repeats):
                url, pg_url = stack.enter_context(self._databases(stage))
                args += ["--url", url]
                if pg_url:
                    args += ["--pg-url", pg_url]
            out = _python(args, self.codelists(inputs.rows))
        return json.loads(out.strip().splitlines()[-1])

    def codelists(self, rows: int) -> Path | None:
        """For a return past the shipped limits, a copy of the codelists whose limits take it.

        A steward raises ``limits.yaml`` for a country that sends a million seizures:
        data, not code. Up to the shipped limits the shipped codelists are used.
        """
        from topcop.config import PACKAGE_DIR, limits

        if rows <= limits().max_rows_per_sheet:
            return None
        folder = self.work / f"codelists-{rows}"
        if not folder.exists():
            shutil.copytree(PACKAGE_DIR / "codelists", folder)
            path = folder / "limits.yaml"
            raised = yaml.safe_load(path.read_text("utf-8"))
            scale = -(-rows // raised["max_rows_per_sheet"])  # the shipped limits, times this
            for key in ("max_file_bytes", "max_uncompressed_bytes", "max_cells_per_sheet"):
                raised[key] *= scale
            raised["max_rows_per_sheet"] = rows
            path.write_text(yaml.safe_dump(raised), "utf-8")
        return folder

    def _work(self, inputs: Inputs, fmt: str) -> Path:
        return self.work / f"{inputs.xlsx.parent.name}-{fmt}"

    @contextmanager
    def _databases(self, stage: str):
        sqlite = f"sqlite:///{self.work / f'db-{uuid.uuid4().hex[:12]}.db'}"
        try:
            if stage.endswith("postgresql") or stage == "bare-copy":
                with self.pg.database() as url:
                    yield url, None
            elif stage == "naive":
                with self.pg.database() as pg_url:
                    yield sqlite, pg_url
            else:
                yield sqlite, None
        finally:
            for suffix in ("", "-wal", "-shm"):
                Path(sqlite.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)


def run_stages(out: Path, pg: Server, log=print) -> dict[str, Any]:
    """Every stage × format × size; the median of the repeats, and every run's figures."""
    runner = StageRunner(out, pg)
    runner.prepare(runner.warmup, WARMUP_UNIT)
    results: dict[str, Any] = {fmt: {} for fmt in FORMATS}
    for rows in sizes():
        log(f"inputs: {rows:,} seizure rows")
        inputs = make_inputs(out / "inputs", rows)
        runner.prepare(inputs, UNIT)
        for fmt in FORMATS:
            for stage in STAGES if fmt == "xlsx" else CSV_STAGES:
                if stage == "naive" and rows > naive_max_rows():
                    continue
                summary = _summary(runner.run(stage, fmt, inputs, repeats(rows, fmt)))
                results[fmt].setdefault(stage, {})[str(rows)] = summary
                log(
                    f"  {fmt:<4} {stage:<18} {rows:>8,} rows  {summary['seconds']:8.3f} s"
                    f"  peak {summary['peak_rss'] / 2**20:7.0f} MiB  ({len(summary['runs'])} run(s))"
                )
    profiled = max((r for r in sizes() if r <= 100_000), default=min(sizes()))
    inputs = make_inputs(out / "inputs", profiled)
    for stage, name in PROFILED.items():
        log(f"profile: {stage} on {profiled:,} rows (xlsx) -> {out / name}")
        runner.run(stage, "xlsx", inputs, profile=out / name)
    return {"stages": results, "profiled_rows": profiled}


def _summary(result: dict[str, Any]) -> dict[str, Any]:
    """The stage's figures, with the naive baseline's split as the median over its repeats."""
    for key in ("split", "split_cpu"):
        splits = [r["detail"][key] for r in result["runs"] if key in r["detail"]]
        if splits:
            result[key] = {k: statistics.median(s[k] for s in splits) for k in splits[0]}
    return result


def _python(args: list[Any], codelists: Path | None = None) -> str:
    """Run ``python -m bench.stage`` from the project directory; its stdout, or raise."""
    project = Path(__file__).resolve().parent.parent
    env = {
        **os.environ,
        "GX_ANALYTICS_ENABLED": "false",
        "PYTHONPATH": str(project),
        # What the pipeline keeps beside the warehouse (GX results for Data Docs) stays here.
        "TOPCOP_VAR": str(project / "var" / "bench" / "work" / "var"),
    }
    env.pop("TOPCOP_WAREHOUSE_URL", None)
    if codelists is not None:
        env["TOPCOP_CODELISTS"] = str(codelists)
    result = subprocess.run(
        [sys.executable, "-m", "bench.stage", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=project,
        env=env,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"bench.stage {' '.join(map(str, args))} failed:\n{result.stderr[-4000:]}"
        )
    return result.stdout
