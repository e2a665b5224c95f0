"""Where everything lives and how it is configured: the one place that reads settings.

Settings come from the environment so the same code runs in the demo, in tests
and in production; codelists, the reporting calendar and the input limits are
data files that a steward edits without touching code (see ``codelists/``).
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from pathlib import Path

import yaml

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent.parent


def _path_setting(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).resolve() if value else default


def var_dir() -> Path:
    """Generated state (landing folders, warehouse, reports); git-ignored."""
    return _path_setting("TOPCOP_VAR", PROJECT_DIR / "var")


def codelists_dir() -> Path:
    return _path_setting("TOPCOP_CODELISTS", PACKAGE_DIR / "codelists")


def expectations_dir() -> Path:
    return _path_setting("TOPCOP_EXPECTATIONS", PROJECT_DIR / "expectations")


def sql_dir() -> Path:
    return _path_setting("TOPCOP_SQL", PROJECT_DIR / "sql")


def landing_root() -> Path:
    return _path_setting("TOPCOP_LANDING_ROOT", var_dir() / "landing")


def reports_dir() -> Path:
    return _path_setting("TOPCOP_REPORTS", var_dir() / "reports")


def reports_location() -> str:
    """Reports go to a local folder (default ``var/reports``) or to ``s3://bucket/prefix``."""
    value = os.environ.get("TOPCOP_REPORTS", "")
    return value if value.startswith("s3://") else str(reports_dir())


# --- SDMX exports (issue 17) ---------------------------------------------------


def exports_dir() -> Path:
    return _path_setting("TOPCOP_EXPORTS", var_dir() / "exports")


def exports_location() -> str:
    """SDMX files go to a local folder (default ``var/exports``) or to ``s3://bucket/prefix``."""
    value = os.environ.get("TOPCOP_EXPORTS", "")
    return value if value.startswith("s3://") else str(exports_dir())


# --- end SDMX exports ------------------------------------------------------------


def ingest_max_tasks() -> int:
    """At most this many file-processing tasks per ingest run (``TOPCOP_INGEST_MAX_TASKS``).

    A run usually has a handful of files, one task each. A backfill drops hundreds,
    and each task process pays seconds of start-up (Airflow's task runner, the
    Great Expectations import) for about a second of work on a small return;
    past this many files they are grouped, so the start-up is paid per group.
    """
    value = int(os.environ.get("TOPCOP_INGEST_MAX_TASKS", "16"))
    if value < 1:
        raise ValueError(f"TOPCOP_INGEST_MAX_TASKS must be at least 1, not {value}")
    return value


def ingest_max_runs() -> int:
    """At most this many ingest runs at once (``TOPCOP_INGEST_MAX_RUNS``, default 3).

    Each run claims the files it lists (``topcop.warehouse.claims``), so runs may
    overlap: a file dropped while a run is busy gets a run of its own at once
    instead of waiting for the busy run's closing tasks. 1 serialises the runs.
    """
    value = int(os.environ.get("TOPCOP_INGEST_MAX_RUNS", "3"))
    if value < 1:
        raise ValueError(f"TOPCOP_INGEST_MAX_RUNS must be at least 1, not {value}")
    return value


def approval_remind_after() -> timedelta:
    """How long a held correction waits before the stewards are reminded (and again each time).

    ``TOPCOP_APPROVAL_REMIND_AFTER_DAYS`` (default 3). A request never expires: it is
    only reminded again, so a steward who does nothing never turns it into a loss.
    """
    days = float(os.environ.get("TOPCOP_APPROVAL_REMIND_AFTER_DAYS", "3"))
    if days <= 0:
        raise ValueError("TOPCOP_APPROVAL_REMIND_AFTER_DAYS must be positive")
    return timedelta(days=days)


def landing_backend() -> str:
    """``local`` (folders under ``var/landing``) or ``s3``."""
    return os.environ.get("TOPCOP_LANDING", "local")


# --- codelists -----------------------------------------------------------------


@dataclass(frozen=True)
class ReportingUnit:
    code: str
    name: str
    active_from: date
    active_until: date | None
    note: str
    language: str = "en"  # the focal point's default language (topcop.i18n.LANGUAGES)

    def is_active_on(self, day: date) -> bool:
        return self.active_from <= day and (self.active_until is None or day <= self.active_until)


@dataclass(frozen=True)
class Indicator:
    code: str
    name: str
    unit: str
    whole_number: bool
    breakdowns: tuple[str, ...]
    crime_areas: tuple[str, ...]  # empty: every crime area
    justice_chain_step: int | None

    def applies_to(self, crime_area: str) -> bool:
        return not self.crime_areas or crime_area in self.crime_areas


@dataclass(frozen=True)
class Commodity:
    code: str
    name: str
    units: tuple[str, ...]


@dataclass(frozen=True)
class Dataset:
    code: str
    frequency: str  # SDMX frequency: A, S, Q, M
    deadline_days: int
    close_after_days: int


@dataclass(frozen=True)
class Codelists:
    """Every list a return is checked against, read from ``codelists/``."""

    reporting_units: dict[str, ReportingUnit]
    crime_areas: dict[str, str]
    iccs_sections: dict[str, str]
    indicators: dict[str, Indicator]
    breakdowns: dict[str, str]
    units: dict[str, str]
    commodities: dict[str, Commodity]
    obs_status: dict[str, str]
    obs_status_value_required: frozenset[str]
    conf_status: dict[str, str]
    conf_status_publishable: frozenset[str]
    handling_codes: dict[str, str]
    handling_publishable: frozenset[str]
    transport_modes: dict[str, str]
    ocg_involved: dict[str, str]
    countries: frozenset[str]  # ISO 3166-1 alpha-2
    datasets: dict[str, Dataset]
    template_version: str


def _rows(name: str) -> list[dict[str, str]]:
    with open(codelists_dir() / f"{name}.csv", encoding="utf-8", newline="") as f:
        return [{k: (v or "").strip() for k, v in row.items()} for row in csv.DictReader(f)]


def _names(name: str) -> dict[str, str]:
    return {r["code"]: r["name"] for r in _rows(name)}


def _flag(value: str) -> bool:
    return value.lower() in {"true", "yes", "1"}


def _split(value: str) -> tuple[str, ...]:
    return tuple(v for v in value.split("|") if v)


@cache
def codelists() -> Codelists:
    """Load all codelists once per process (they are small and change by deploy)."""
    import pycountry

    units = {
        r["code"]: ReportingUnit(
            code=r["code"],
            name=r["name"],
            active_from=date.fromisoformat(r["active_from"]),
            active_until=date.fromisoformat(r["active_until"]) if r["active_until"] else None,
            note=r["note"],
            language=r.get("language") or "en",
        )
        for r in _rows("reporting_units")
    }
    indicators = {
        r["code"]: Indicator(
            code=r["code"],
            name=r["name"],
            unit=r["unit"],
            whole_number=_flag(r["whole_number"]),
            breakdowns=_split(r["breakdowns"]),
            crime_areas=_split(r["crime_areas"]),
            justice_chain_step=int(r["justice_chain_step"]) if r["justice_chain_step"] else None,
        )
        for r in _rows("indicators")
    }
    commodities = {
        r["code"]: Commodity(code=r["code"], name=r["name"], units=_split(r["units"]))
        for r in _rows("commodities")
    }
    crime_rows = _rows("crime_areas")
    obs = _rows("obs_status")
    conf = _rows("conf_status")
    handling = _rows("handling_codes")
    with open(codelists_dir() / "calendar.yaml", encoding="utf-8") as f:
        calendar = yaml.safe_load(f)
    datasets = {
        code: Dataset(
            code=code,
            frequency=spec.get("frequency", "Q"),
            deadline_days=int(spec.get("deadline_days", 30)),
            close_after_days=int(spec.get("close_after_days", 365)),
        )
        for code, spec in calendar["datasets"].items()
    }
    return Codelists(
        reporting_units=units,
        crime_areas={r["code"]: r["name"] for r in crime_rows},
        iccs_sections={r["code"]: r["iccs_section"] for r in crime_rows},
        indicators=indicators,
        breakdowns=_names("breakdowns"),
        units=_names("units"),
        commodities=commodities,
        obs_status={r["code"]: r["name"] for r in obs},
        obs_status_value_required=frozenset(r["code"] for r in obs if _flag(r["value_required"])),
        conf_status={r["code"]: r["name"] for r in conf},
        conf_status_publishable=frozenset(r["code"] for r in conf if _flag(r["publishable"])),
        handling_codes={r["code"]: r["name"] for r in handling},
        handling_publishable=frozenset(r["code"] for r in handling if _flag(r["publishable"])),
        transport_modes=_names("transport_modes"),
        ocg_involved=_names("ocg_involved"),
        countries=frozenset(c.alpha_2 for c in pycountry.countries),
        datasets=datasets,
        template_version=str(calendar.get("template_version", "1.0")),
    )


@dataclass(frozen=True)
class Limits:
    """Input limits, checked before a file is decoded in full (``limits.yaml``)."""

    max_file_bytes: int
    max_uncompressed_bytes: int
    max_compression_ratio: float
    max_rows_per_sheet: int
    max_columns_per_sheet: int
    max_text_length: int
    max_ref_length: int
    max_cells_per_sheet: int
    max_zip_members: int


@cache
def limits() -> Limits:
    with open(codelists_dir() / "limits.yaml", encoding="utf-8") as f:
        return Limits(**yaml.safe_load(f))


# --- Airflow -------------------------------------------------------------------


def airflow_defaults() -> dict[str, str]:
    """Airflow settings for running the project's DAGs on the embedded defaults.

    The plugins folder points away from ``plugins/``: our package is installed
    into the environment, and Airflow's plugin loader would otherwise import
    every module of it in the scheduler.
    """
    home = Path(os.environ.get("AIRFLOW_HOME") or var_dir() / "airflow")
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_DIR / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(home / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "GX_ANALYTICS_ENABLED": "false",
        "TOPCOP_VAR": str(var_dir()),
    }


def apply_airflow_defaults() -> None:
    """Set ``airflow_defaults()`` in this process's environment, keeping what is already set."""
    for key, value in airflow_defaults().items():
        os.environ.setdefault(key, value)
