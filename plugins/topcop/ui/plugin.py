"""The Airflow plugin: topcop's pages mounted under /topcop and listed in the UI's navigation.

Loaded by every Airflow component through its entry point, so it imports nothing
heavy: the FastAPI app is built here, the pages' work happens per request.
"""

from __future__ import annotations

from typing import Any, ClassVar

from airflow.plugins_manager import AirflowPlugin

from topcop.ui.pages import app

PREFIX = "/topcop"


def _view(name: str, path: str, route: str) -> dict[str, str]:
    return {
        "name": name,
        "href": f"{PREFIX}/{path}",
        "url_route": route,
        "category": "topcop",
        "destination": "nav",
    }


class TopcopPlugin(AirflowPlugin):
    name = "topcop"
    fastapi_apps: ClassVar[list[dict[str, Any]]] = [
        {"app": app, "url_prefix": PREFIX, "name": "topcop steward pages"}
    ]
    external_views: ClassVar[list[dict[str, str]]] = [
        _view("Completeness", "", "topcop-completeness"),
        _view("Pending approvals", "approvals", "topcop-approvals"),
        _view("Data Docs", "data-docs/index.html", "topcop-data-docs"),
    ]
