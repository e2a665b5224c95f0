"""An event trigger that watches every unit's inbox, so a dropped file is processed in seconds.

It runs in Airflow's triggerer (asyncio, no worker slot) behind an ``AssetWatcher``:
every few seconds it lists the landing inboxes (local folders or S3, whichever
``TOPCOP_LANDING`` selects) and emits one event when files appear that it has not
seen waiting before. The event updates the landing Asset, and the ingest DAG,
scheduled on that Asset (and, as a safety net, every 15 minutes), runs.

Why a polling event trigger and not S3 notifications through SQS: the same code
serves local folders and S3, MinIO needs no notification set-up, and the SQS
``MessageQueueTrigger`` path has open upstream bugs. A listing is cheap (one
ListObjectsV2 per unit). Both the watcher and the
timetable fire, yet nothing is processed twice: each ingest run claims the files it lists
(``topcop.warehouse.claims``) and a file another active run holds is left to it;
events that queue up while the runs allowed at once are busy are consumed
together by the next run.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseEventTrigger, TriggerEvent

DEFAULT_POLL_SECONDS = 3.0


def waiting_files() -> set[tuple[str, str, int, str]]:
    """(unit, name, size, arrival) of every file waiting in every inbox."""
    from topcop.landing import landing

    store = landing()
    return {
        (item.reporting_unit, item.name, item.size, item.received_at.isoformat())
        for unit in store.reporting_units()
        for item in store.list_inbox(unit)
    }


def arrivals(seen: set, waiting: set) -> list[dict[str, Any]]:
    """The files in ``waiting`` that were not waiting at the previous look."""
    return [
        {"reporting_unit": unit, "name": name, "size": size, "received_at": at}
        for unit, name, size, at in sorted(waiting - seen)
    ]


class InboxWatchTrigger(BaseEventTrigger):
    """Emits an event whenever new files wait in the landing inboxes."""

    def __init__(self, poll_seconds: float = DEFAULT_POLL_SECONDS):
        super().__init__()
        self.poll_seconds = float(poll_seconds)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {"poll_seconds": self.poll_seconds},
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        # Files already waiting when the watcher starts count as new: after a restart
        # of the triggerer they get a run at once instead of at the next 15 minutes.
        seen: set = set()
        while True:
            try:
                waiting = await asyncio.to_thread(waiting_files)
            except Exception:  # the store is unreachable: say so and look again later
                self.log.exception("could not list the landing inboxes")
            else:
                new = arrivals(seen, waiting)
                if new:
                    self.log.info("%d new file(s) in the landing inboxes", len(new))
                    yield TriggerEvent({"files": len(new), "first": new[:20]})
                # A file that left the inbox is forgotten: dropped again later, it is new.
                seen = waiting
            await asyncio.sleep(self.poll_seconds)
