"""The landing interface both backends implement, and the naming rules they share."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

# Per reporting unit: focal points drop files in inbox/ and read receipts/ and
# templates/; the pipeline moves each processed file to archive/ or quarantine/, or
# to held/ while a correction to a closed period waits for a steward's decision.
AREAS = ("inbox", "archive", "quarantine", "receipts", "templates", "held")
# Where a file may go from the inbox, and where a held file goes once decided.
FROM_INBOX = ("archive", "quarantine", "held")
FROM_HELD = ("archive", "quarantine")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class InboxFile:
    """A file waiting in a unit's inbox: a small reference passed between tasks."""

    reporting_unit: str
    name: str  # as the focal point named it, relative to inbox/
    size: int
    received_at: datetime  # when it landed (file mtime / S3 LastModified), UTC

    def as_ref(self) -> dict[str, Any]:
        d = asdict(self)
        d["received_at"] = self.received_at.isoformat()
        return d

    @classmethod
    def from_ref(cls, ref: dict[str, Any]) -> InboxFile:
        return cls(
            reporting_unit=ref["reporting_unit"],
            name=ref["name"],
            size=int(ref["size"]),
            received_at=datetime.fromisoformat(ref["received_at"]),
        )


class Landing(Protocol):
    def reporting_units(self) -> list[str]:
        """Units that have a landing area."""
        ...

    def list_inbox(self, reporting_unit: str) -> list[InboxFile]:
        """Files waiting in the unit's inbox, oldest first."""
        ...

    def fetch(self, item: InboxFile, destination: Path) -> Path:
        """Copy the file to a local path for reading; the inbox copy stays until moved."""
        ...

    def put(self, reporting_unit: str, area: str, name: str, data: bytes) -> str:
        """Write a new object (receipt, template); returns its location. Never overwrites."""
        ...

    def move(self, item: InboxFile, area: str, name: str) -> str:
        """Move an inbox file to archive/, quarantine/ or held/ under ``name``; its location."""
        ...

    def release(self, reporting_unit: str, name: str, area: str) -> str:
        """Move a held file to archive/ or quarantine/ (same name); its location.

        Idempotent: a file already moved by an earlier try is found at its target.
        """
        ...

    def exists(self, reporting_unit: str, area: str, name: str) -> bool: ...

    def read(self, reporting_unit: str, area: str, name: str) -> bytes: ...

    def list_area(self, reporting_unit: str, area: str) -> list[str]: ...


def safe_name(name: str, max_length: int = 120) -> str:
    """A file name that is safe on every store: no path parts, controls or odd characters."""
    name = unicodedata.normalize("NFKC", name).replace("\\", "/").split("/")[-1]
    cleaned = _UNSAFE.sub("_", name).strip("._") or "unnamed"
    if len(cleaned) > max_length:
        stem, dot, ext = cleaned.rpartition(".")
        if dot and len(ext) <= 8:
            cleaned = stem[: max_length - len(ext) - 1] + "." + ext
        else:
            cleaned = cleaned[:max_length]
    return cleaned


def stored_name(item: InboxFile, sha256: str | None) -> str:
    """The name a processed file keeps in archive/, quarantine/ and its receipts.

    Arrival time and content hash make it unique, so a resubmission under the
    same name never overwrites an earlier file or receipt. A file refused
    before it was read has no hash: ``unread`` stands in its place.
    """
    stamp = item.received_at.strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}_{(sha256 or 'unread')[:12]}_{safe_name(item.name)}"
