"""topcop's pages: a FastAPI app Airflow mounts under /topcop, every route behind its login.

Jinja2 templates with autoescaping on, so every value from a return (a comment
holding ``<script>``) is shown as text. Downloads and the Data Docs site are
served only from their own folders, by name, never by a path the caller builds.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from airflow.api_fastapi.core_api.security import requires_authenticated
from fastapi import Depends, FastAPI, HTTPException
from fastapi.responses import FileResponse, HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

app = FastAPI(
    title="topcop steward pages",
    dependencies=[Depends(requires_authenticated())],
    docs_url=None,
    redoc_url=None,
    openapi_url=None,
)

_TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
)
_MEDIA = {
    ".json": "application/json",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".csv": "text/csv",
}


@cache
def _engine():
    from topcop.warehouse.engine import warehouse_engine

    return warehouse_engine()


def _landing():
    from topcop.landing import landing

    return landing()


def _page(template: str, **values) -> HTMLResponse:
    from topcop.ui.views import units

    html = _TEMPLATES.get_template(template).render(units=units(), **values)
    return HTMLResponse(html)


def _unit(code: str) -> str:
    from topcop.ui.views import units

    if code not in units():
        raise HTTPException(404, "no such reporting unit")
    return code


@app.get("/", response_class=HTMLResponse)
def completeness_page(period: str | None = None, dataset: str | None = None) -> HTMLResponse:
    """Units × periods, coloured by status; each cell links to receipts, history and runs."""
    from topcop import config
    from topcop.status import status_periods
    from topcop.ui.views import matrix

    today = datetime.now(UTC).date()
    datasets = list(config.codelists().datasets)
    dataset = dataset if dataset in datasets else datasets[0]
    try:
        periods = status_periods(period, today)
    except ValueError as error:
        raise HTTPException(400, str(error)) from None
    rows = matrix(_engine(), periods, today, dataset)
    return _page(
        "matrix.html", rows=rows, periods=periods, dataset=dataset, datasets=datasets, today=today
    )


@app.get("/receipts/{unit}", response_class=HTMLResponse)
def receipts_page(unit: str, period: str | None = None) -> HTMLResponse:
    from topcop.ui.views import receipts

    found = receipts(_landing(), _unit(unit), period)
    return _page("receipts.html", unit=unit, period=period, receipts=found)


@app.get("/files/{unit}/{area}/{name}")
def download(unit: str, area: str, name: str) -> Response:
    """The original file or a receipt, as stored, for download (never rendered)."""
    from topcop.ui.views import DOWNLOAD_AREAS

    if area not in DOWNLOAD_AREAS or "/" in name or "\\" in name or name.startswith("."):
        raise HTTPException(404, "no such file")
    landing = _landing()
    if not landing.exists(_unit(unit), area, name):
        raise HTTPException(404, "no such file")
    media = _MEDIA.get(Path(name).suffix.lower(), "application/octet-stream")
    return Response(
        landing.read(unit, area, name),
        media_type=media,
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "X-Content-Type-Options": "nosniff",
        },
    )


@app.get("/approvals", response_class=HTMLResponse)
def approvals_page() -> HTMLResponse:
    from topcop.ui.views import approvals

    return _page("approvals.html", approvals=approvals(_engine()))


@app.get("/history/{unit}/{period}", response_class=HTMLResponse)
def history_page(unit: str, period: str) -> HTMLResponse:
    from topcop.ui.views import history

    return _page(
        "history.html", unit=unit, period=period, rows=history(_engine(), _unit(unit), period)
    )


@app.get("/data-docs/{path:path}")
def data_docs(path: str) -> Response:
    """The GX Data Docs site (var/data_docs), file by file, only from inside it."""
    from topcop.validation.data_docs import site_dir

    root = site_dir().resolve()
    target = (root / (path or "index.html")).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        raise HTTPException(404, "not in the Data Docs site (built by each ingest run)")
    return FileResponse(target)
