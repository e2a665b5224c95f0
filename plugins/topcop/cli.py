"""The ``topcop`` command: the demo, templates and offline checks for focal points, Airflow with our settings."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

from topcop import config


def _cmd_demo(args: argparse.Namespace) -> int:
    from topcop.demo import run_demo

    config.apply_airflow_defaults()
    run_demo()
    return 0


def _cmd_template(args: argparse.Namespace) -> int:
    from topcop.i18n import language  # issue 16: the language asked for, else the unit's
    from topcop.returns.template import write_template

    lang = language(args.lang, args.country)
    path = write_template(args.country, args.period, Path(args.out), lang)
    print(f"Template for {args.country} {args.period} in {lang}: {path}")
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from topcop.validation.offline import validate_file

    return validate_file(Path(args.file), country=args.country, period=args.period, lang=args.lang)


def _cmd_status(args: argparse.Namespace) -> int:
    from topcop.periods import PeriodError
    from topcop.status import status_report

    try:
        print(status_report(args.period), end="")
    except (PeriodError, ValueError) as exc:
        print(f"topcop status: {exc}", file=sys.stderr)
        return 2
    return 0


def _cmd_migrate(args: argparse.Namespace) -> int:
    from topcop.warehouse.migrate import main as migrate_main

    return migrate_main([args.url] if args.url else [])


def _cmd_policies(args: argparse.Namespace) -> int:
    from topcop.landing.policies import write_policies

    for path in write_policies(Path(args.out)):
        print(path)
    return 0


def _cmd_airflow(args: argparse.Namespace) -> int:
    """Run the Airflow CLI on the project's state directory (var/airflow).

    With the venv's ``bin`` on PATH, whether or not the venv is activated: Airflow
    starts its components as ``airflow …`` from PATH. ``standalone`` runs under a
    launcher that, on Ctrl-C or SIGTERM, stops every component and every process
    they started; the other commands replace this process.
    """
    from topcop.stack.processes import Child, path_with_venv, supervise

    config.apply_airflow_defaults()
    env = path_with_venv(os.environ)
    airflow = str(Path(sys.executable).with_name("airflow"))
    argv = [airflow, *args.airflow_args]
    if args.airflow_args[:1] == ["standalone"]:
        # standalone stops its components cleanly on SIGINT (KeyboardInterrupt) only.
        child = Child("airflow standalone", argv, env, stop_signal=signal.SIGINT, grace_seconds=60)
        return supervise([child])
    os.execve(airflow, argv, env)
    return 0  # not reached


def _cmd_stack(args: argparse.Namespace) -> int:
    from topcop.stack import command

    return command.up() if args.action == "up" else command.down()


# --- SDMX exports (issue 17) ---------------------------------------------------


def _cmd_export(args: argparse.Namespace) -> int:
    from topcop.exports.build import EDITIONS, export_closed_periods, export_period
    from topcop.periods import PeriodError

    editions = [args.edition] if args.edition else [e.value for e in EDITIONS]
    try:
        if args.period:
            exports = [export_period(args.period, e, destination=args.out) for e in editions]
        else:
            exports = export_closed_periods(destination=args.out, editions=tuple(editions))
    except (PeriodError, ValueError) as exc:
        print(f"topcop export: {exc}", file=sys.stderr)
        return 2
    for e in exports:
        state = "written" if e.written else "unchanged since"
        print(f"{e.period} {e.edition} (structures {e.structure_version}): {state} {e.location}")
    return 0


def _add_export_parser(sub) -> None:
    p = sub.add_parser("export", help="write SDMX structures and data of the current figures")
    p.add_argument("--period", help="reporting period, e.g. 2026-Q3 (default: every closed one)")
    p.add_argument("--edition", choices=["programme", "public"], help="default: both")
    p.add_argument("--out", help="folder or s3://bucket/prefix (default: the exports location)")
    p.set_defaults(func=_cmd_export)


# --- end SDMX exports ------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="topcop", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("demo", help="run the whole pipeline on generated returns").set_defaults(
        func=_cmd_demo
    )

    p = sub.add_parser("template", help="write the blank return template for a unit and period")
    p.add_argument("--country", required=True, help="reporting unit code, e.g. MD")
    p.add_argument("--period", required=True, help="reporting period, e.g. 2026-Q3")
    p.add_argument("--out", required=True, help="where to write the .xlsx")
    p.add_argument(
        "--lang", help="language of the template (en ru uk ro ka hy az); default: the unit's"
    )
    p.set_defaults(func=_cmd_template)

    p = sub.add_parser(
        "validate", help="check a return before sending it, with the pipeline's rules"
    )
    p.add_argument("file")
    p.add_argument("--country", required=True, help="your reporting unit code, e.g. MD")
    p.add_argument("--period", help="the period the return is for, e.g. 2026-Q3")
    p.add_argument(
        "--lang", help="language of the output (en ru uk ro ka hy az); default: the unit's"
    )
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser("status", help="completeness and timeliness of returns, units × periods")
    p.add_argument(
        "--period", help="latest period to show, e.g. 2026-Q3 (default: the last closed)"
    )
    p.set_defaults(func=_cmd_status)

    p = sub.add_parser("migrate", help="bring the warehouse schema and dimensions up to date")
    p.add_argument("url", nargs="?", help="SQLAlchemy URL (default: the configured warehouse)")
    p.set_defaults(func=_cmd_migrate)

    p = sub.add_parser("policies", help="write the S3 bucket policy of every landing bucket")
    p.add_argument("--out", default=str(config.PROJECT_DIR / "docker" / "s3-policies"))
    p.set_defaults(func=_cmd_policies)

    p = sub.add_parser("airflow", help="run the Airflow CLI on the project's var/airflow")
    p.add_argument("airflow_args", nargs=argparse.REMAINDER)
    p.set_defaults(func=_cmd_airflow)

    p = sub.add_parser(
        "stack", help="the production shape as local processes (PostgreSQL, Redis, S3, Celery)"
    )
    p.add_argument("action", choices=["up", "down"])
    p.set_defaults(func=_cmd_stack)

    _add_export_parser(sub)  # SDMX exports (issue 17)

    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
