"""Local-folder landing: ``<root>/<unit>/{inbox,archive,quarantine,receipts,templates}``.

The embedded default for the demo and tests, and a real option for a single
server that receives files by SFTP into those folders.
"""

from __future__ import annotations

import filecmp
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

from topcop import config
from topcop.landing.base import AREAS, FROM_HELD, FROM_INBOX, InboxFile


class LocalLanding:
    def __init__(self, root: Path):
        self.root = Path(root)

    def reporting_units(self) -> list[str]:
        return sorted(config.codelists().reporting_units)

    def area(self, reporting_unit: str, area: str) -> Path:
        if area not in AREAS or reporting_unit not in config.codelists().reporting_units:
            raise ValueError(f"no landing area {reporting_unit}/{area}")
        path = self.root / reporting_unit / area
        path.mkdir(parents=True, exist_ok=True)
        return path

    def ensure_areas(self) -> None:
        for unit in self.reporting_units():
            for area in AREAS:
                self.area(unit, area)

    def list_inbox(self, reporting_unit: str) -> list[InboxFile]:
        inbox = self.area(reporting_unit, "inbox")
        items = []
        for entry in os.scandir(inbox):
            # Only regular files directly in inbox/: a symlink could point anywhere.
            if entry.is_symlink() or not entry.is_file(follow_symlinks=False):
                continue
            st = entry.stat(follow_symlinks=False)
            items.append(
                InboxFile(
                    reporting_unit=reporting_unit,
                    name=entry.name,
                    size=st.st_size,
                    received_at=datetime.fromtimestamp(st.st_mtime, UTC).replace(microsecond=0),
                )
            )
        return sorted(items, key=lambda i: (i.received_at, i.name))

    def _inbox_path(self, item: InboxFile) -> Path:
        path = self.area(item.reporting_unit, "inbox") / item.name
        if path.parent != self.area(item.reporting_unit, "inbox"):
            raise ValueError(f"{item.name!r} is not a file directly in the inbox")
        return path

    def fetch(self, item: InboxFile, destination: Path) -> Path:
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self._inbox_path(item), destination)
        return destination

    def put(self, reporting_unit: str, area: str, name: str, data: bytes) -> str:
        path = self.area(reporting_unit, area) / name
        # "x": never overwrite an earlier receipt or template.
        with open(path, "xb") as f:
            f.write(data)
        return f"{reporting_unit}/{area}/{name}"

    def move(self, item: InboxFile, area: str, name: str) -> str:
        if area not in FROM_INBOX:
            raise ValueError(f"files leave the inbox only to {', '.join(FROM_INBOX)}, not {area}")
        source, target = self._inbox_path(item), self.area(item.reporting_unit, area) / name
        try:
            if target.exists():
                # Same stored name means same arrival, name and hash: the very file was kept already.
                if not filecmp.cmp(source, target, shallow=False):
                    raise FileExistsError(
                        f"{target} exists with other content; refusing to overwrite"
                    )
                source.unlink()
            else:
                os.replace(source, target)
        except FileNotFoundError:
            # Two runs took the same file: the other one moved it first. The stored
            # name carries the content hash, so a target by that name is this file.
            if not target.exists():
                raise
        return f"{item.reporting_unit}/{area}/{name}"

    def release(self, reporting_unit: str, name: str, area: str) -> str:
        if area not in FROM_HELD:
            raise ValueError(f"held files leave only to {', '.join(FROM_HELD)}, not {area}")
        source = self.area(reporting_unit, "held") / name
        target = self.area(reporting_unit, area) / name
        if source.parent != self.area(reporting_unit, "held"):
            raise ValueError(f"{name!r} is not a file directly in held/")
        if source.exists():
            os.replace(source, target)
        elif not target.exists():
            raise FileNotFoundError(f"{reporting_unit}/held/{name} is neither held nor in {area}")
        return f"{reporting_unit}/{area}/{name}"

    def exists(self, reporting_unit: str, area: str, name: str) -> bool:
        return (self.area(reporting_unit, area) / name).exists()

    def read(self, reporting_unit: str, area: str, name: str) -> bytes:
        return (self.area(reporting_unit, area) / name).read_bytes()

    def list_area(self, reporting_unit: str, area: str) -> list[str]:
        return sorted(p.name for p in self.area(reporting_unit, area).iterdir() if p.is_file())
