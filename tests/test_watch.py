"""The inbox watcher: an event when files arrive, none while nothing new waits."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from topcop.landing.watch import InboxWatchTrigger, arrivals


def _drop(root: Path, unit: str, name: str) -> None:
    inbox = root / unit / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / name).write_bytes(b"x")


def test_arrivals_are_what_was_not_waiting_before():
    seen = {("MD", "a.xlsx", 1, "t")}
    waiting = {("MD", "a.xlsx", 1, "t"), ("GE", "b.xlsx", 2, "t")}
    assert [a["name"] for a in arrivals(seen, waiting)] == ["b.xlsx"]
    assert arrivals(waiting, waiting) == []


def test_trigger_fires_once_per_arrival_on_the_local_landing(tmp_path, monkeypatch):
    monkeypatch.setenv("TOPCOP_LANDING", "local")
    monkeypatch.setenv("TOPCOP_VAR", str(tmp_path))
    root = tmp_path / "landing"

    async def scenario() -> list[dict]:
        trigger = InboxWatchTrigger(poll_seconds=0.05)
        events = trigger.run()
        _drop(root, "MD", "MD_2026-Q3_return.xlsx")
        first = await asyncio.wait_for(events.__anext__(), 10)
        # Nothing new: no event within a few polls.
        nothing = asyncio.ensure_future(events.__anext__())
        await asyncio.sleep(0.3)
        assert not nothing.done()
        _drop(root, "GE", "GE_2026-Q3_return.xlsx")
        second = await asyncio.wait_for(nothing, 10)
        await events.aclose()
        return [first.payload, second.payload]

    first, second = asyncio.run(scenario())
    assert [f["name"] for f in first["first"]] == ["MD_2026-Q3_return.xlsx"]
    assert [(f["reporting_unit"], f["name"]) for f in second["first"]] == [
        ("GE", "GE_2026-Q3_return.xlsx")
    ]
    assert os.path.exists(
        root / "MD" / "inbox" / "MD_2026-Q3_return.xlsx"
    )  # watching moves nothing
