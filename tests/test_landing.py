"""Local landing folders: listing, fetching, receipts never overwritten, moves only out of the inbox."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest

from topcop.landing import stored_name
from topcop.landing.base import safe_name
from topcop.landing.local import LocalLanding


@pytest.fixture
def landing(tmp_path):
    landing = LocalLanding(tmp_path / "landing")
    landing.ensure_areas()
    return landing


def _drop(landing, unit, name, data=b"x", when=1_780_000_000):
    path = landing.area(unit, "inbox") / name
    path.write_bytes(data)
    os.utime(path, (when, when))
    return path


def test_every_unit_has_every_area(landing, tmp_path):
    for unit in ("AM", "AZ", "BY", "GE", "MD", "UA"):
        for area in ("inbox", "archive", "quarantine", "receipts", "templates"):
            assert (tmp_path / "landing" / unit / area).is_dir()


def test_list_inbox_oldest_first_with_arrival_time(landing):
    _drop(landing, "MD", "b.xlsx", when=1_780_000_100)
    _drop(landing, "MD", "a.xlsx", b"hello", when=1_780_000_000)
    items = landing.list_inbox("MD")
    assert [i.name for i in items] == ["a.xlsx", "b.xlsx"]
    assert items[0].size == 5
    assert items[0].received_at == datetime.fromtimestamp(1_780_000_000, UTC)
    assert landing.list_inbox("GE") == []


def test_symlinks_and_folders_in_inbox_are_ignored(landing, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the pipeline")
    os.symlink(secret, landing.area("MD", "inbox") / "link.xlsx")
    (landing.area("MD", "inbox") / "sub").mkdir()
    assert landing.list_inbox("MD") == []


def test_fetch_copies_and_move_archives(landing, tmp_path):
    _drop(landing, "GE", "r.xlsx", b"content")
    (item,) = landing.list_inbox("GE")
    local = landing.fetch(item, tmp_path / "work" / "r.xlsx")
    assert local.read_bytes() == b"content"
    assert landing.list_inbox("GE") == [item]  # still in the inbox until moved
    location = landing.move(item, "archive", "stored_r.xlsx")
    assert location == "GE/archive/stored_r.xlsx"
    assert landing.list_inbox("GE") == []
    assert landing.read("GE", "archive", "stored_r.xlsx") == b"content"


def test_receipts_are_never_overwritten(landing):
    landing.put("AM", "receipts", "r.json", b"{}")
    with pytest.raises(FileExistsError):
        landing.put("AM", "receipts", "r.json", b"{}")


def test_moves_go_only_to_archive_or_quarantine(landing):
    _drop(landing, "UA", "r.xlsx")
    (item,) = landing.list_inbox("UA")
    with pytest.raises(ValueError):
        landing.move(item, "receipts", "r.xlsx")


def test_unknown_unit_or_area_is_refused(landing):
    with pytest.raises(ValueError):
        landing.area("XX", "inbox")
    with pytest.raises(ValueError):
        landing.area("MD", "../MD")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("MD_2026-Q3_return.xlsx", "MD_2026-Q3_return.xlsx"),
        ("../../etc/passwd", "passwd"),
        ("return\x00\x1b.xlsx", "return_.xlsx"),
        ("отчёт 2026.xlsx", "2026.xlsx"),
        ("a" * 300 + ".xlsx", "a" * 115 + ".xlsx"),
    ],
)
def test_safe_name(name, expected):
    assert safe_name(name) == expected


def test_stored_name_is_unique_per_arrival_and_content(landing):
    _drop(landing, "MD", "r.xlsx")
    (item,) = landing.list_inbox("MD")
    a = stored_name(item, "a" * 64)
    b = stored_name(item, "b" * 64)
    assert a != b and a.endswith("_r.xlsx") and a.startswith(item.received_at.strftime("%Y%m%dT"))


def test_held_file_is_released_once_to_its_decided_area(tmp_path):
    """Steward approval: inbox -> held/ -> quarantine/, and a second release finds it there."""
    from topcop.landing.local import LocalLanding

    landing = LocalLanding(tmp_path)
    (landing.area("MD", "inbox") / "MD_2025-Q2.xlsx").write_bytes(b"late")
    (item,) = landing.list_inbox("MD")
    landing.move(item, "held", "held.xlsx")
    assert landing.list_area("MD", "held") == ["held.xlsx"]
    assert landing.release("MD", "held.xlsx", "quarantine") == "MD/quarantine/held.xlsx"
    assert landing.release("MD", "held.xlsx", "quarantine") == "MD/quarantine/held.xlsx"
    assert landing.read("MD", "quarantine", "held.xlsx") == b"late"
    with pytest.raises(FileNotFoundError):
        landing.release("MD", "other.xlsx", "archive")
