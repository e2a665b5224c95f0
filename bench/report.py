"""What the figures say: ratios to the baselines, growth exponents, verdicts on the targets.

Reads the dictionary ``python -m bench`` collected and turns it into the printed
table, the growth plot (``growth.png``) and the Markdown that bench/README.md
carries. The targets are those of the benchmark issue; each verdict is taken
on the 100k-row workbook unless it says otherwise (or on the largest size
run below it, when ``BENCH_SIZES`` asked for a subset).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

OURS = (
    "read",
    "validate",
    "load-sqlite",
    "load-postgresql",
    "receipt",
    "ingest-sqlite",
    "ingest-postgresql",
)
BASELINES = ("bare-read", "bare-executemany", "bare-copy", "naive")
TARGET_ROWS = 100_000
BIG_ROWS = 300_000
MEMORY_LIMIT = 1 * 2**30  # one ingest of the largest return (issue 18: 1M rows)
VALIDATE_SECONDS = 1.0  # the GX suites and cross-row rules on 100k rows
FIXED_COST_SECONDS = 0.5  # a warm worker's file task: start to first row read
LINEAR_UP_TO = 1.15  # a fitted exponent at most this is "~1: linear"
MiB = 2**20


# --- derived figures --------------------------------------------------------------------


def naive_seconds(entry: dict[str, Any], database: str, measure: str = "seconds") -> float:
    """The naive pipeline on one database: its read, its validation and its load there."""
    split = entry["split" if measure == "seconds" else "split_cpu"]
    return split["read"] + split["validate"] + split[f"load_{database}"]


def ratios(stages: dict[str, Any], rows: int, measure: str = "seconds") -> dict[str, float | None]:
    """Ours over the baseline at one size, by wall time or by ``cpu_seconds``."""
    key = str(rows)
    part = "split" if measure == "seconds" else "split_cpu"

    def seconds(stage: str) -> float | None:
        entry = stages.get(stage, {}).get(key)
        return None if entry is None else entry[measure]

    def over(a: float | None, b: float | None) -> float | None:
        return None if a is None or b is None or b == 0 else a / b

    naive = stages.get("naive", {}).get(key)
    # CPU time is our process's: PostgreSQL's own work is not in it, so only wall
    # time compares the PostgreSQL figures.
    client_cpu = measure != "seconds"
    return {
        "read / bare read": over(seconds("read"), seconds("bare-read")),
        "load SQLite / bare executemany": over(seconds("load-sqlite"), seconds("bare-executemany")),
        "load PostgreSQL / bare COPY": None
        if client_cpu
        else over(seconds("load-postgresql"), seconds("bare-copy")),
        "read / naive read": over(seconds("read"), naive and naive[part]["read"]),
        "naive / ingest (SQLite)": over(
            naive and naive_seconds(naive, "sqlite", measure), seconds("ingest-sqlite")
        ),
        "naive / ingest (PostgreSQL)": None
        if client_cpu
        else over(naive and naive_seconds(naive, "postgresql"), seconds("ingest-postgresql")),
    }


def exponent(points: list[tuple[int, float]]) -> float | None:
    """The slope of log(cost) on log(rows): 1 is linear. Sizes from 10k up when there are two."""
    big = [(n, v) for n, v in points if n >= 10_000 and v > 0]
    use = big if len(big) >= 2 else [(n, v) for n, v in points if v > 0]
    if len(use) < 2:
        return None
    xs = [math.log(n) for n, _ in use]
    ys = [math.log(v) for _, v in use]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    var = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var


def stage_memory(entry: dict[str, Any]) -> float:
    """What the stage itself added to the process: its peak over the RSS it started from."""
    return max(entry["peak_rss"] - entry["rss_before"], MiB)


def growth(stages: dict[str, Any]) -> dict[str, dict[str, float | None]]:
    out = {}
    for stage, by_rows in stages.items():
        sizes = sorted((int(n), e) for n, e in by_rows.items())
        out[stage] = {
            "time": exponent([(n, e["seconds"]) for n, e in sizes]),
            "memory": exponent([(n, stage_memory(e)) for n, e in sizes]),
        }
    return out


def reference_rows(stages: dict[str, Any]) -> int:
    sizes = sorted(int(n) for n in stages.get("ingest-sqlite", {}))
    below = [n for n in sizes if n <= TARGET_ROWS]
    return below[-1] if below else sizes[0]


def verdicts(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target of the issue: the figure, the target, met or not and by how much."""
    xlsx = results["stages"]["xlsx"]
    found: list[dict[str, Any]] = []

    def add(
        name: str,
        value: float | None,
        target: float,
        higher_is_better: bool,
        unit: str,
        cpu: float | None = None,
    ) -> None:
        if value is None:
            found.append({"target": name, "value": None, "met": None, "note": "not measured"})
            return
        met = value >= target if higher_is_better else value <= target
        if met:
            note = "met"
        elif higher_is_better:
            note = f"missed: {value:.2f}{unit} is {target / value:.2f}× short of {target}{unit}"
        else:
            note = f"missed: {value:.2f}{unit} is {value / target:.2f}× over {target}{unit}"
        if cpu is not None:
            note += f" (by CPU time: {cpu:.2f}{unit})"
        found.append(
            {"target": name, "value": value, "limit": target, "met": met, "cpu": cpu, "note": note}
        )

    if xlsx.get("ingest-sqlite"):
        rows = reference_rows(xlsx)
        wall, cpu = ratios(xlsx, rows), ratios(xlsx, rows, "cpu_seconds")
        naive_sizes = sorted(int(n) for n in xlsx.get("naive", {}) if int(n) >= rows)
        for size in naive_sizes or [rows]:
            at_wall, at_cpu = ratios(xlsx, size), ratios(xlsx, size, "cpu_seconds")
            for database, key in (
                ("SQLite", "naive / ingest (SQLite)"),
                ("PostgreSQL", "naive / ingest (PostgreSQL)"),
            ):
                add(f"xlsx whole ingest ≥ 10× faster than naive ({database}, {size:,} rows)",
                    at_wall[key], 10, True, "×", at_cpu[key])  # fmt: skip
        for key, name, target, higher in (
            ("read / bare read", "xlsx read ≤ 1.0× bare calamine (", 1.0, False),
            ("load PostgreSQL / bare COPY", "load on PostgreSQL ≤ 1.5× bare COPY (", 1.5, False),
        ):  # fmt: skip
            add(f"{name}{rows:,} rows)", wall[key], target, higher, "×", cpu[key])
        validate = xlsx.get("validate", {}).get(str(rows))
        if validate:
            add(f"validate ≤ {VALIDATE_SECONDS:g} s ({rows:,} rows)", validate["seconds"],
                VALIDATE_SECONDS, False, " s", validate["cpu_seconds"])  # fmt: skip
        csv_stages = results["stages"].get("csv", {})
        if csv_stages.get("read", {}).get(str(rows)):
            c_wall, c_cpu = ratios(csv_stages, rows), ratios(csv_stages, rows, "cpu_seconds")
            add(f"CSV read ≤ 1.5× bare csv module ({rows:,} rows)", c_wall["read / bare read"],
                1.5, False, "×", c_cpu["read / bare read"])  # fmt: skip
            add(f"CSV whole ingest ≥ 3× faster than naive (SQLite, {rows:,} rows)",
                c_wall["naive / ingest (SQLite)"], 3, True, "×",
                c_cpu["naive / ingest (SQLite)"])  # fmt: skip
        for fmt, stages in results["stages"].items():
            for database in ("sqlite", "postgresql"):
                done = stages.get(f"ingest-{database}")
                if not done:
                    continue
                big = max(int(n) for n in done)
                add(f"peak memory of one {fmt} ingest ≤ 1 GiB ({database}, {big:,} rows)",
                    done[str(big)]["peak_rss"] / 2**30, MEMORY_LIMIT / 2**30, False, " GiB")  # fmt: skip
        grown = growth(xlsx)
        for stage in OURS:
            if stage == "receipt":
                continue  # a constant cost on a clean return: no growth to fit
            for kind in ("time", "memory"):
                value = grown.get(stage, {}).get(kind)
                add(f"{stage}: {kind} grows linearly (fitted exponent)", value, LINEAR_UP_TO,
                    False, "")  # fmt: skip

    startup = results.get("startup")
    if startup:
        add("file task fixed cost, warm worker: start to first row read ≤ 0.5 s",
            startup["warm"]["seconds"], FIXED_COST_SECONDS, False, " s")  # fmt: skip
    parse = results.get("dag_parse")
    if parse:
        for name, figure in parse["files"].items():
            add(f"{name} parses in < 0.2 s", figure["seconds"], 0.2, False, " s")
    backfill = results.get("backfill")
    if backfill:
        add("backfill: Airflow wall time ≤ 2× the summed domain time",
            backfill["overhead_ratio"], 2, False, "×")  # fmt: skip
    return found


# --- the printed table ------------------------------------------------------------------


def text_table(results: dict[str, Any]) -> str:
    lines = []
    for fmt, stages in results["stages"].items():
        sizes = sorted({int(n) for s in stages.values() for n in s})
        if not sizes:
            continue
        lines.append(f"\n{fmt}: wall seconds | rows/s | peak RSS MiB (median of the runs)")
        lines.append(f"{'stage':<19}" + "".join(f"{n:>28,}" for n in sizes))
        for stage in (*OURS, *BASELINES):
            cells = []
            for n in sizes:
                e = stages.get(stage, {}).get(str(n))
                if e is None:
                    cells.append(f"{'-':>28}")
                    continue
                seconds = naive_seconds(e, "sqlite") if stage == "naive" else e["seconds"]
                cells.append(f"{seconds:>10.3f}{n / seconds:>10,.0f}{e['peak_rss'] / MiB:>8.0f}")
            lines.append(f"{stage:<19}" + "".join(cells))
        lines.append("(naive: read + validate + to_sql into SQLite)")
        lines.append(f"\n{fmt}: ours / baseline")
        for n in sizes:
            for measure, label in (("seconds", "wall"), ("cpu_seconds", "CPU ")):
                pairs = ", ".join(
                    f"{k} {v:.2f}" for k, v in ratios(stages, n, measure).items() if v is not None
                )
                lines.append(f"  {n:>8,} rows, {label}: {pairs}")
        lines.append(f"\n{fmt}: fitted growth exponents (time, stage memory)")
        for stage, g in growth(stages).items():
            lines.append(f"  {stage:<19} time {_fmt(g['time'])}  memory {_fmt(g['memory'])}")
    parse = results.get("dag_parse")
    if parse:
        lines.append("\nDAG parse (fresh child, median of 3):")
        for name, f in parse["files"].items():
            lines.append(f"  {name:<24} {f['seconds']:.3f} s  ({f['tasks']} tasks)")
    backfill = results.get("backfill")
    if backfill:
        a, d = backfill["airflow"], backfill["domain"]
        lines.append(
            f"\nBackfill: {a['returns']} returns in {a['wall_seconds']:.1f} s through Airflow "
            f"({a['returns_per_minute']:.1f}/min); summed domain time {d['sum_seconds']:.1f} s; "
            f"ratio {backfill['overhead_ratio']:.2f}"
        )
    lines.append("\nTargets:")
    for v in verdicts(results):
        mark = {True: "MET ", False: "MISS", None: "  - "}[v["met"]]
        value = "" if v["value"] is None else f"{v['value']:.3f}"
        lines.append(f"  [{mark}] {v['target']}: {value}  {v['note'] if not v['met'] else ''}")
    return "\n".join(lines)


def _fmt(value: float | None) -> str:
    return "  -  " if value is None else f"{value:5.2f}"


# --- the plot ------------------------------------------------------------------------------


def plot_growth(results: dict[str, Any], path: Path) -> None:
    """Time and stage memory against rows, log-log, one line per stage; exponents in the legend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_time, ax_mem) = plt.subplots(1, 2, figsize=(14, 6))
    styles = {"xlsx": "-", "csv": "--"}
    for fmt, stages in results["stages"].items():
        grown = growth(stages)
        for i, stage in enumerate((*OURS, *BASELINES)):
            by_rows = stages.get(stage)
            if not by_rows:
                continue
            sizes = sorted(int(n) for n in by_rows)
            entries = [by_rows[str(n)] for n in sizes]
            seconds = [
                naive_seconds(e, "sqlite") if stage == "naive" else e["seconds"] for e in entries
            ]
            memory = [stage_memory(e) / MiB for e in entries]
            colour = (*plt.get_cmap("tab10").colors, "black")[i]  # one per stage, both formats
            width = 2 if stage in OURS else 1
            g = grown[stage]
            ax_time.plot(sizes, seconds, styles[fmt], color=colour, marker="o", lw=width,
                         label=f"{fmt} {stage} (k={_fmt(g['time']).strip()})")  # fmt: skip
            ax_mem.plot(sizes, memory, styles[fmt], color=colour, marker="o", lw=width,
                        label=f"{fmt} {stage} (k={_fmt(g['memory']).strip()})")  # fmt: skip
    for ax, title, unit in (
        (ax_time, "Wall time against rows", "seconds"),
        (ax_mem, "Memory the stage adds (peak RSS − RSS at start)", "MiB"),
    ):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("seizure rows")
        ax.set_ylabel(unit)
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=6, ncol=2)
    fig.suptitle("Cost growth (k: fitted exponent from 10k rows up; 1 is linear)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# --- the README's figures ------------------------------------------------------------------


def markdown(results: dict[str, Any]) -> str:
    """The figures bench/README.md carries between its markers."""
    m = results["machine"]
    lines = [
        f"Run {m['date']} on {m['cpu']} ({m['cores']} cores), {m['memory_gib']:.1f} GiB RAM, "
        f"Python {m['python']}, PostgreSQL {m['postgresql']}; {m['packages']}. "
        f"The machine was shared with other work: read ratios within one run, not absolute times.",
        "",
    ]
    for fmt, stages in results["stages"].items():
        sizes = sorted({int(n) for s in stages.values() for n in s})
        if not sizes:
            continue
        lines.append(f"**{fmt}**: wall seconds · rows/s · peak RSS of the stage's process (MiB)")
        lines.append("")
        lines.append("| stage | " + " | ".join(f"{n:,} rows" for n in sizes) + " |")
        lines.append("|---|" + "---:|" * len(sizes))
        for stage in (*OURS, *BASELINES):
            if stage not in stages:
                continue
            cells = []
            for n in sizes:
                e = stages[stage].get(str(n))
                if e is None:
                    cells.append("–")
                    continue
                s = naive_seconds(e, "sqlite") if stage == "naive" else e["seconds"]
                cells.append(f"{s:.2f} s · {n / s:,.0f}/s · {e['peak_rss'] / MiB:.0f}")
            name = "naive (SQLite)" if stage == "naive" else stage
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append("")
        lines.append(
            "| ours / baseline, wall (CPU) | " + " | ".join(f"{n:,}" for n in sizes) + " |"
        )
        lines.append("|---|" + "---:|" * len(sizes))
        wall = {n: ratios(stages, n) for n in sizes}
        cpu = {n: ratios(stages, n, "cpu_seconds") for n in sizes}
        for key in wall[sizes[0]]:
            if all(wall[n][key] is None for n in sizes):
                continue
            cells = [f"{_ratio(wall[n][key])} ({_ratio(cpu[n][key])})" for n in sizes]
            lines.append(f"| {key} | " + " | ".join(cells) + " |")
        lines.append("")
        lines.append(
            "(in brackets: the same ratio by CPU time, less disturbed by a shared machine)"
        )
        lines.append("")
        grown = growth(stages)
        lines.append(
            "Fitted exponents (time / stage memory): "
            + "; ".join(
                f"{s} {_fmt(g['time']).strip()} / {_fmt(g['memory']).strip()}"
                for s, g in grown.items()
            )
        )
        lines.append("")
    parse = results.get("dag_parse")
    if parse:
        lines.append(
            "**DAG parse** (a fresh child per file, Airflow already imported; median of 3)"
        )
        lines.append("")
        lines.append(
            "| file | seconds | tasks | asset-URI handlers already loaded "
            "| in one process with the others | dag-processor's last duration |"
        )
        lines.append("|---|---:|---:|---:|---:|---:|")
        reported = (results.get("backfill") or {}).get("airflow", {}).get("dag_processor", {})
        for name, f in parse["files"].items():
            warm = parse["one_process"].get(name)
            lines.append(
                f"| {name} | {f['seconds']:.3f} | {f['tasks']} | "
                f"{f.get('seconds_asset_handlers_loaded', float('nan')):.3f} | "
                f"{'' if warm is None else f'{warm:.3f}'} | {reported.get(name, '')} |"
            )
        lines.append("")
    backfill = results.get("backfill")
    if backfill:
        a, d = backfill["airflow"], backfill["domain"]
        lines += [
            f"**Backfill** ({len(backfill['units'])} units × {backfill['quarters']} quarters, "
            f"{backfill['seizure_rows']} seizure rows each, LocalExecutor, parallelism "
            f"{backfill['parallelism']})",
            "",
            "| figure | value |",
            "|---|---:|",
            f"| returns | {a['returns']} |",
            f"| file-processing tasks (`TOPCOP_INGEST_MAX_TASKS`) | {a.get('tasks', a['returns'])} |",
            f"| wall time, trigger to end of run | {a['wall_seconds']:.1f} s |",
            f"| the run's own start to end | {_seconds(a.get('run_seconds'))} |",
            f"| returns per minute | {a['returns_per_minute']:.1f} |",
            f"| summed task durations (Airflow) | {a['task_seconds_sum']:.1f} s |",
            f"| median task duration | {_seconds(a['task_seconds_median'])} |",
            f"| summed domain time (`process_return` in one process) | {d['sum_seconds']:.1f} s |",
            f"| median domain time per return | {d['median_seconds']:.2f} s |",
            f"| **wall time / domain time** | **{backfill['overhead_ratio']:.2f}** |",
            "",
        ]
    lines.append("**Targets**")
    lines.append("")
    lines.append("| target | figure | verdict |")
    lines.append("|---|---:|---|")
    for v in verdicts(results):
        value = "–" if v["value"] is None else f"{v['value']:.2f}"
        lines.append(f"| {v['target']} | {value} | {v['note']} |")
    return "\n".join(lines)


def _ratio(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _seconds(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f} s"
