"""Great Expectations Data Docs for stewards: every suite and every file's validation, as HTML.

Validation runs in many mapped tasks at once, each with its own ephemeral GX
context; a file context on disk shared by them would race. So each processed
file leaves its GX results as one JSON file in ``var/gx/pending/`` (a name no
other file has), and ``build_data_docs``, run once per ingest run, moves them
into the results store of one file context (``var/gx/context``) and renders
the site to ``var/data_docs/index.html``.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from topcop import config

SITE_NAME = "topcop"


def pending_dir() -> Path:
    """Validation results waiting for the next Data Docs build."""
    return config.var_dir() / "gx" / "pending"


def context_dir() -> Path:
    """The GX file context whose stores hold the suites and every validation result."""
    return config.var_dir() / "gx" / "context"


def site_dir() -> Path:
    return config.var_dir() / "data_docs"


def save_validation_results(
    gx_results: list[dict[str, Any]],
    *,
    run_name: str,
    run_time: datetime,
    batch: str,
    meta: dict[str, Any],
) -> Path | None:
    """Keep one file's GX results for the next build; None when it had none (unread file).

    ``run_name`` names the processing (the receipt's name: unique, never reused),
    ``batch`` what was validated (unit and period), ``meta`` what a steward
    should see beside the results (submission id, status...).
    """
    if not gx_results:
        return None
    if "/" in run_name or "\\" in run_name:
        raise ValueError(f"run name {run_name!r} must not contain a path separator")
    directory = pending_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{run_name}.json"
    payload = {
        "run_name": run_name,
        "run_time": run_time.isoformat(),
        "batch": batch,
        "meta": meta,
        "results": gx_results,
    }
    # Written aside and renamed: a build never reads half a file.
    partial = path.with_suffix(".json.partial")
    partial.write_text(json.dumps(payload, ensure_ascii=False, default=str), encoding="utf-8")
    os.replace(partial, path)
    return path


def build_data_docs() -> Path:
    """Render every pending validation result, and the suites, into ``var/data_docs``.

    Call it once per ingest run, after every file was processed: only this
    function touches the file context. Returns the site's ``index.html``.
    """
    import great_expectations as gx
    from great_expectations.core.expectation_validation_result import (
        ExpectationSuiteValidationResultSchema,
    )
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    from topcop.validation.suites import SUITES, load_suite_config

    context = gx.get_context(mode="file", project_root_dir=str(context_dir()))
    _configure_site(context)
    for name in SUITES:
        context.suites.add_or_update(gx.ExpectationSuite(**load_suite_config(name)))

    store, schema = context.validation_results_store, ExpectationSuiteValidationResultSchema()
    new_keys = []
    for path in sorted(pending_dir().glob("*.json")):
        payload = json.loads(path.read_text(encoding="utf-8"))
        run_id = RunIdentifier(run_name=payload["run_name"], run_time=payload["run_time"])
        for result in payload["results"]:
            key = ValidationResultIdentifier(
                ExpectationSuiteIdentifier(result["suite_name"]), run_id, payload["batch"]
            )
            if not store.has_key(key):  # a build that crashed after storing it
                result["meta"] = {**(result.get("meta") or {}), "topcop": payload["meta"]}
                store.set(key, schema.load(result))
            new_keys.append(key)
        path.unlink()

    index = site_dir() / "index.html"
    # Only new pages are rendered, unless the site is missing (first build, or deleted).
    resources = None
    if index.exists():
        resources = [*(ExpectationSuiteIdentifier(name) for name in SUITES), *new_keys]
    context.build_data_docs(site_names=[SITE_NAME], resource_identifiers=resources)
    return index


def _configure_site(context: Any) -> None:
    """One site, rendered to ``var/data_docs`` (the path follows ``TOPCOP_VAR``)."""
    site = {
        "class_name": "SiteBuilder",
        "show_how_to_buttons": False,
        "store_backend": {
            "class_name": "TupleFilesystemStoreBackend",
            "base_directory": str(site_dir()),
        },
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
    }
    sites = context.list_data_docs_sites()
    for name in [n for n in sites if n != SITE_NAME]:
        context.delete_data_docs_site(name)  # GX's default local_site under the context
    if SITE_NAME in sites:
        context.update_data_docs_site(SITE_NAME, site)
    else:
        context.add_data_docs_site(SITE_NAME, site)
