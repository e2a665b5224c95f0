"""The data dictionary: one description per table, view, column and function, two outputs.

Descriptions live in ``sql/dictionary.yaml``, next to the migrations. PostgreSQL
gets them as ``COMMENT ON`` (written by ``migrate()`` whenever the file changes or
a migration ran), so any SQL client shows them; ``docs/data_dictionary.md`` is
rendered from the same file, with the columns and types of the migrated schema.
Rendering fails on anything undescribed or described but absent, so the page and
the comments can only be complete.

``python -m topcop.warehouse.dictionary`` rewrites the page; ``--check`` only says
whether the committed one is current.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Engine, inspect, text

from topcop import config
from topcop.warehouse.schema import apply_migrations, is_recorded, lock, record, run_script

TABLE, VIEW, FUNCTION = "table", "view", "function"


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # as declared; empty for view columns
    description: str


@dataclass(frozen=True)
class Entry:
    """One documented object of the warehouse."""

    name: str  # a function's name includes its argument types
    kind: str  # table, view or function
    layer: str
    description: str
    columns: tuple[Column, ...]


def dictionary_path() -> Path:
    return config.sql_dir() / "dictionary.yaml"


def docs_path() -> Path:
    return config.PROJECT_DIR / "docs" / "data_dictionary.md"


def load_dictionary(path: Path | None = None) -> dict[str, Any]:
    with open(path or dictionary_path(), encoding="utf-8") as f:
        return yaml.safe_load(f)


def describe_column(spec: dict[str, Any], tables: dict[str, Any], column: str) -> str | None:
    """A column's description: its own, else that of the first ``columns_from`` table with it."""
    own = (spec.get("columns") or {}).get(column)
    if own:
        return _clean(own)
    for source in spec.get("columns_from") or ():
        inherited = (tables.get(source, {}).get("columns") or {}).get(column)
        if inherited:
            return _clean(inherited)
    return None


def entries(dictionary: dict[str, Any] | None = None) -> list[Entry]:
    """Every object of the migrated schema with its descriptions, in the page's order.

    Raises ValueError listing every object or column without a description, and every
    description of something the schema does not have.
    """
    dictionary = dictionary or load_dictionary()
    layers = list(dictionary["layers"])
    tables, views = dictionary.get("tables") or {}, dictionary.get("views") or {}
    functions = dictionary.get("functions") or {}
    structure = schema_structure()
    found, problems = [], []
    for name, (kind, columns) in structure.items():
        spec = (tables if kind == TABLE else views).get(name)
        if spec is None:
            problems.append(f"{kind} {name} is not in the dictionary")
            continue
        entry, entry_problems = _entry(name, kind, columns, spec, tables)
        found.append(entry)
        problems += entry_problems
        if entry.layer not in layers:
            problems.append(f"{name}: layer {entry.layer!r} is not one of {layers}")
    problems += [
        f"{n} is described but is in no migration"
        for n in {**tables, **views}
        if n not in structure
    ]
    found += [
        Entry(sig, FUNCTION, "", _clean(spec["description"]), ()) for sig, spec in functions.items()
    ]
    if problems:
        raise ValueError(
            "sql/dictionary.yaml does not match the schema:\n  " + "\n  ".join(problems)
        )
    # The page's order: layer by layer, tables before views, each as the file lists them.
    layer_order = {layer: i for i, layer in enumerate(layers)}
    listed = {name: i for i, name in enumerate([*tables, *views, *functions])}
    kind_order = {TABLE: 0, VIEW: 1, FUNCTION: 2}
    return sorted(
        found,
        key=lambda e: (
            e.kind == FUNCTION,
            layer_order.get(e.layer, 0),
            kind_order[e.kind],
            listed[e.name],
        ),
    )


def _entry(
    name: str,
    kind: str,
    columns: list[tuple[str, str]],
    spec: dict[str, Any],
    tables: dict[str, Any],
) -> tuple[Entry, list[str]]:
    problems = [] if spec.get("description") else [f"{kind} {name} has no description"]
    described = []
    for column, declared_type in columns:
        description = describe_column(spec, tables, column)
        if description is None:
            problems.append(f"{name}.{column} has no description")
        described.append(Column(column, declared_type if kind == TABLE else "", description or ""))
    stale = set(spec.get("columns") or {}) - {c for c, _t in columns}
    problems += [f"{name}.{c} is described but does not exist" for c in sorted(stale)]
    entry = Entry(
        name, kind, spec.get("layer"), _clean(spec.get("description", "")), tuple(described)
    )
    return entry, problems


@cache
def _structure(migrations_key: tuple[tuple[str, float], ...]) -> dict[str, tuple[str, list]]:
    from topcop.warehouse.engine import warehouse_engine

    with tempfile.TemporaryDirectory(prefix="topcop-dictionary-") as folder:
        engine = warehouse_engine(f"sqlite:///{Path(folder) / 'schema.db'}")
        try:
            apply_migrations(engine)
            structure = {}
            with engine.connect() as conn:
                inspector = inspect(conn)
                tables, views = inspector.get_table_names(), inspector.get_view_names()
                for kind, names in ((TABLE, tables), (VIEW, views)):
                    for name in names:
                        # PRAGMA table_info keeps each type as the DDL declares it.
                        info = conn.exec_driver_sql(f'PRAGMA table_info("{name}")')
                        structure[name] = (kind, [(row.name, row.type) for row in info])
        finally:
            engine.dispose()
    return structure


def schema_structure() -> dict[str, tuple[str, list[tuple[str, str]]]]:
    """Tables and views of the migrated schema with their columns and declared types.

    Read from a throwaway SQLite database migrated for the purpose: the portable
    migrations define the same tables and views on both databases.
    """
    folder = config.sql_dir() / "migrations"
    key = tuple((p.name, p.stat().st_mtime) for p in sorted(folder.glob("*.sql")))
    return _structure(key)


# --- the page ---------------------------------------------------------------------------


def render_dictionary(dictionary: dict[str, Any] | None = None) -> str:
    """docs/data_dictionary.md as it should be."""
    dictionary = dictionary or load_dictionary()
    documented = entries(dictionary)
    lines = [
        "# Data dictionary",
        "",
        "<!-- Generated by `python -m topcop.warehouse.dictionary` from sql/dictionary.yaml"
        " and sql/migrations. Do not edit: change sql/dictionary.yaml and regenerate. -->",
        "",
        "Every table, view and column of the warehouse. PostgreSQL carries the same text as"
        " comments (`\\d+ name` in psql, or the comment column of any SQL client). How the"
        " layers fit together, the as-of query and the database roles are described in"
        " [warehouse.md](warehouse.md).",
        "",
    ]
    for layer, about in dictionary["layers"].items():
        in_layer = [e for e in documented if e.layer == layer and e.kind != FUNCTION]
        if not in_layer:
            continue
        lines += [f"## {about['title']}", "", _clean(about["description"]), ""]
        for entry in in_layer:
            lines += [f"### {entry.name}", "", f"*{entry.kind}* — {entry.description}", ""]
            if entry.kind == TABLE:
                lines += ["| column | type | description |", "|---|---|---|"]
                lines += [
                    f"| `{c.name}` | {c.type} | {_cell(c.description)} |" for c in entry.columns
                ]
            else:
                lines += ["| column | description |", "|---|---|"]
                lines += [f"| `{c.name}` | {_cell(c.description)} |" for c in entry.columns]
            lines.append("")
    functions = [e for e in documented if e.kind == FUNCTION]
    if functions:
        lines += ["## PostgreSQL functions", ""]
        for entry in functions:
            lines += [f"### `{entry.name}`", "", entry.description, ""]
    return "\n".join(lines).rstrip() + "\n"


def write_dictionary(target: Path | None = None) -> Path:
    target = target or docs_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_dictionary(), encoding="utf-8")
    return target


def _clean(value: str) -> str:
    return re.sub(r"\s+", " ", str(value)).strip()


def _cell(value: str) -> str:
    return value.replace("|", "\\|")


# --- PostgreSQL comments ------------------------------------------------------------------


def dictionary_version(path: Path | None = None) -> str:
    """How ``schema_migrations`` records that this dictionary's comments were written."""
    digest = hashlib.sha256((path or dictionary_path()).read_bytes()).hexdigest()
    return f"dictionary:{digest[:16]}"


_CATALOG = text(
    "SELECT c.table_name, t.table_type, c.column_name"
    " FROM information_schema.columns c"
    " JOIN information_schema.tables t"
    "   ON t.table_schema = c.table_schema AND t.table_name = c.table_name"
    " WHERE c.table_schema = current_schema()"
    " ORDER BY c.table_name, c.ordinal_position"
)


def apply_comments(engine: Engine, *, force: bool = False) -> bool:
    """Write the dictionary onto PostgreSQL's objects as comments; whether it wrote.

    Done once per version of ``sql/dictionary.yaml`` (or again when ``force``, after a
    migration). Only what exists gets a comment: describing is checked by the tests and
    the page, not by loads.
    """
    version = dictionary_version()
    with engine.connect() as conn:
        if not force and is_recorded(conn, version):
            return False
    dictionary = load_dictionary()
    tables, views = dictionary.get("tables") or {}, dictionary.get("views") or {}
    with engine.begin() as conn:
        lock(conn)
        catalog: dict[str, tuple[str, list[str]]] = {}
        for row in conn.execute(_CATALOG):
            kind = VIEW if row.table_type == "VIEW" else TABLE
            catalog.setdefault(row.table_name, (kind, []))[1].append(row.column_name)
        statements = []
        for name, (kind, columns) in catalog.items():
            spec = (tables if kind == TABLE else views).get(name)
            if spec is None:
                continue
            statements.append(
                f"COMMENT ON {kind.upper()} {_ident(name)} IS {_literal(spec['description'])}"
            )
            for column in columns:
                description = describe_column(spec, tables, column)
                if description:
                    statements.append(
                        f"COMMENT ON COLUMN {_ident(name)}.{_ident(column)} IS {_literal(description)}"
                    )
        for signature, spec in (dictionary.get("functions") or {}).items():
            exists = conn.execute(text("SELECT to_regprocedure(:f)"), {"f": signature}).scalar()
            if exists is not None:
                statements.append(
                    f"COMMENT ON FUNCTION {signature} IS {_literal(spec['description'])}"
                )
        run_script(conn, ";\n".join(statements))
        if not is_recorded(conn, version):
            record(conn, version)
    return True


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: str) -> str:
    return "'" + _clean(value).replace("'", "''") + "'"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Render docs/data_dictionary.md from sql/dictionary.yaml."
    )
    parser.add_argument("--check", action="store_true", help="exit 1 when the page is out of date")
    args = parser.parse_args(argv)
    target = docs_path()
    if args.check:
        current = target.read_text(encoding="utf-8") if target.exists() else ""
        if current != render_dictionary():
            print(
                f"{target} is out of date: run python -m topcop.warehouse.dictionary",
                file=sys.stderr,
            )
            return 1
        print(f"{target} is current")
        return 0
    print(f"wrote {write_dictionary(target)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
