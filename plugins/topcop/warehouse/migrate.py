"""Bring a warehouse up to date: schema, documentation and dimensions, in one command.

The warehouse's one entry for setting up: the SQL migration files first
(``topcop.warehouse.schema``), then, on PostgreSQL, the data dictionary
(``sql/dictionary.yaml``) onto every table, view and column as ``COMMENT ON``
(``topcop.warehouse.dictionary``), and on every database the dimensions brought in
step with the codelists (``topcop.warehouse.dimensions``). Those three never
import this module, so the arrows point one way.

``migrate()`` runs before every load, so it must be cheap when nothing is pending:
it reads ``schema_migrations`` first and runs DDL only when a file is new. That is
also what lets the ``topcop_loader`` role, which may not change the schema, call it.

Command line, as the schema's owner: ``python -m topcop.warehouse.migrate [URL]``.
"""

from __future__ import annotations

import argparse

from sqlalchemy import Engine

from topcop.warehouse.dictionary import apply_comments
from topcop.warehouse.dimensions import seed_dimensions
from topcop.warehouse.schema import apply_migrations


def migrate(engine: Engine) -> list[str]:
    """Schema, comments and dimensions up to date; returns the migrations applied now."""
    applied_now = apply_migrations(engine)
    if engine.dialect.name == "postgresql":
        # A migration may have replaced a view, and its comments with it.
        apply_comments(engine, force=bool(applied_now))
    seed_dimensions(engine)
    return applied_now


def main(argv: list[str] | None = None) -> int:
    """``python -m topcop.warehouse.migrate [URL]``: what a deploy runs, as the schema's owner."""
    from topcop.warehouse.engine import warehouse_engine

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", nargs="?", help="SQLAlchemy URL (default: the configured warehouse)")
    args = parser.parse_args(argv)
    engine = warehouse_engine(args.url)
    try:
        applied = migrate(engine)
    finally:
        engine.dispose()
    print(f"{len(applied)} migration(s) applied" + (": " + ", ".join(applied) if applied else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
