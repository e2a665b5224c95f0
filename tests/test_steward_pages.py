"""topcop's pages in the Airflow UI, on the real API server (tests/airflow_server.py).

Behind Airflow's login (401 without it), values from returns escaped, and in a real
browser (Playwright driving Debian's chromium): log in through the simple auth
manager's form, open each page, read the matrix's statuses, click through to a
receipt, and approve a held correction in Airflow's own approval form, then see it
loaded in the revision history. Screenshots go to docs/screenshots/ for the README
(with TOPCOP_UPDATE_SCREENSHOTS=1), else to a temporary folder.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from topcop import config
from topcop.ingest import process_return
from topcop.landing.local import LocalLanding
from topcop.periods import Period
from topcop.returns.samples import fill_template, sample_content
from topcop.status import status_periods
from topcop.warehouse.engine import warehouse_engine
from topcop.warehouse.migrate import migrate

pytestmark = pytest.mark.slow

# The README's screenshots are refreshed with TOPCOP_UPDATE_SCREENSHOTS=1; otherwise they
# go to a temporary folder, so a test run leaves the working tree as it was.
DOCS_SHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCRIPT = "<script>alert('x')</script>"
PAGES = ["/topcop/", "/topcop/approvals", "/topcop/receipts/GE", "/topcop/history/GE/2025-Q2"]


def _drop(landing, unit, period, *, on, seed=5, spoil=False, name=None):
    sample = sample_content(unit, period, seed=seed, seizure_rows=6)
    if spoil:  # Georgia's rejected draft: a crime area that is no code, and a script in it
        sample.indicators[0]["crime_area"] = SCRIPT
    path = fill_template(sample, landing.area(unit, "inbox") / (name or f"{unit}_{period}.xlsx"))
    os.utime(path, (on.timestamp(), on.timestamp()))
    return path


@pytest.fixture(scope="module")
def pages(airflow_server):
    """The stack's landing and warehouse with a small demo: AM on time, GE's rejected draft, UA missing."""
    saved = os.environ.get("TOPCOP_VAR")
    os.environ["TOPCOP_VAR"] = str(airflow_server.var)
    try:
        landing = LocalLanding(config.landing_root())
        landing.ensure_areas()
        engine = warehouse_engine()
        migrate(engine)
        today = datetime.now(UTC).date()
        periods = status_periods(None, today)
        for unit in ("AM", "GE", "UA"):
            for code in periods:
                period = Period.parse(code)
                if unit == "UA" and code == periods[-1]:
                    continue  # Ukraine's latest quarter: missing
                arrived = datetime.combine(period.end + timedelta(days=3), datetime.min.time(), UTC)
                spoil = unit == "GE" and code == periods[-1]
                _drop(landing, unit, code, on=arrived, spoil=spoil)
                for item in landing.list_inbox(unit):
                    process_return(
                        item, landing=landing, engine=engine, today=arrived.date(), now=arrived
                    )
        yield airflow_server, landing, engine, periods
    finally:
        if saved is not None:
            os.environ["TOPCOP_VAR"] = saved


def test_every_page_needs_an_airflow_login(pages):
    server = pages[0]
    import httpx

    for path in [*PAGES, "/topcop/data-docs/index.html", "/topcop/files/GE/receipts/x.json"]:
        response = httpx.get(f"{server.url}{path}", timeout=30, follow_redirects=False)
        assert response.status_code in (401, 302, 307), path
    assert server.api("GET", "/topcop/").status_code == 200


def test_matrix_shows_the_statuses_and_receipts_escape_what_a_return_holds(pages):
    server, _landing, _engine, periods = pages
    html = server.api("GET", "/topcop/").text
    latest = periods[-1]
    assert f'data-unit="UA" data-period="{latest}" data-status="missing"' in html
    assert f'data-unit="GE" data-period="{latest}" data-status="rejected"' in html
    assert f'data-unit="AM" data-period="{latest}" data-status="on_time"' in html
    assert 'data-unit="BY"' in html and 'data-status="not_expected"' in html

    receipts = server.api("GET", f"/topcop/receipts/GE?period={latest}").text
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in receipts
    assert SCRIPT not in receipts
    assert 'data-status="rejected"' in receipts
    # The receipt's downloads are the stored bytes.
    name = next(n for n in _landing.list_area("GE", "receipts") if n.endswith(".xlsx"))
    download = server.api("GET", f"/topcop/files/GE/receipts/{name}")
    assert download.status_code == 200
    assert download.content == _landing.read("GE", "receipts", name)
    assert server.api("GET", "/topcop/files/GE/receipts/..%2F..%2Fetc").status_code == 404
    escape = server.api("GET", "/topcop/data-docs/..%2F..%2Fairflow%2Fpasswords.json")
    assert escape.status_code == 404 and server.password not in escape.text


def _held_correction(server, landing, engine) -> str:
    """AZ's 2025-Q2, loaded while open, then corrected late and held by a real ingest run."""
    first = datetime(2025, 8, 1, tzinfo=UTC)
    _drop(landing, "AZ", "2025-Q2", on=first, seed=21)
    (item,) = landing.list_inbox("AZ")
    assert process_return(
        item, landing=landing, engine=engine, today=first.date(), now=first
    ).loaded
    _drop(landing, "AZ", "2025-Q2", on=datetime.now(UTC), seed=22, name="AZ_2025-Q2_v2.xlsx")
    server.api("PATCH", "/api/v2/dags/topcop_ingest", json={"is_paused": False})
    assert server.api(
        "POST", "/api/v2/dags/topcop_ingest/dagRuns", json={"logical_date": None}
    ).is_success

    def asking():
        runs = server.api("GET", "/api/v2/dags/topcop_approval/dagRuns").json()["dag_runs"]
        for run in runs:
            if "__AZ__" in run["dag_run_id"]:
                path = (
                    f"/api/v2/dags/topcop_approval/dagRuns/{run['dag_run_id']}"
                    "/taskInstances/steward_decision/-1/hitlDetails"
                )
                if server.api("GET", path).status_code == 200:
                    return run["dag_run_id"]
        return None

    return server.wait_for("AZ's approval asking", asking)


def test_in_a_browser_log_in_read_the_pages_and_approve_a_correction(pages, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    server, landing, engine, periods = pages
    shots = DOCS_SHOTS if os.environ.get("TOPCOP_UPDATE_SCREENSHOTS") == "1" else tmp_path
    run_id = _held_correction(server, landing, engine)
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.set_default_timeout(60_000)

        page.goto(f"{server.url}/auth/login/")
        page.locator("input:not([type=password])").first.fill("steward")
        page.locator("input[type=password]").fill(server.password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(lambda url: "/auth/login" not in url)

        page.goto(f"{server.url}/topcop/")
        latest = periods[-1]
        ua = page.locator(f'td[data-unit="UA"][data-period="{latest}"]')
        expect(ua).to_have_attribute("data-status", "missing")
        ge = page.locator(f'td[data-unit="GE"][data-period="{latest}"]')
        expect(ge).to_have_attribute("data-status", "rejected")
        page.screenshot(path=shots / "completeness.png")

        ge.get_by_role("link").first.click()
        expect(page.locator("section.receipt").first).to_contain_text("rejected")
        expect(page.locator("section.receipt").first).to_contain_text(SCRIPT)  # as text
        page.screenshot(path=shots / "receipts.png")

        page.goto(f"{server.url}/topcop/approvals")
        expect(page.locator('section.approval[data-unit="AZ"]')).to_be_visible()
        page.screenshot(path=shots / "approvals.png")
        page.locator('section.approval[data-unit="AZ"]').get_by_role("link").click()

        # Airflow's own form: the reason field, then Approve.
        page.wait_for_url(lambda url: "required_actions" in url or "/dags/" in url)
        reason = page.get_by_role("textbox").first
        reason.fill("Checked with the focal point")
        page.screenshot(path=shots / "airflow_approval_form.png")
        page.get_by_role("button", name="Approve").click()

        server.wait_for(
            "AZ approval run done",
            lambda: (
                server.api("GET", f"/api/v2/dags/topcop_approval/dagRuns/{run_id}").json()["state"]
                == "success"
            ),
        )
        page.goto(f"{server.url}/topcop/history/AZ/2025-Q2")
        expect(page.locator("#history")).to_contain_text("approved by steward")
        expect(page.locator("#history")).to_contain_text("Checked with the focal point")
        page.screenshot(path=shots / "history.png")
        browser.close()
