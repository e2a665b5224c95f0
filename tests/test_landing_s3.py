"""S3 landing against a real HTTP endpoint (moto server) with the unmodified S3Hook."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from topcop.landing import landing as configured_landing
from topcop.landing.s3 import S3Landing, UnsafeKey


@pytest.fixture
def s3(s3_landing_env):
    landing = configured_landing()
    assert isinstance(landing, S3Landing)
    return landing, s3_landing_env["client"], s3_landing_env["prefix"]


def _get_object_calls(landing):
    """Record every GetObject the hook's client sends (botocore's public event hooks)."""
    calls = []
    landing.hook.get_conn().meta.events.register(
        "before-call.s3.GetObject", lambda **kw: calls.append(kw["params"]["Key"])
    )
    return calls


def test_list_fetch_move_and_receipt(s3, tmp_path):
    landing, client, prefix = s3
    client.put_object(Bucket=f"{prefix}-md", Key="inbox/MD_2026-Q3_return.xlsx", Body=b"abc")
    client.put_object(Bucket=f"{prefix}-md", Key="receipts/old.json", Body=b"{}")
    (item,) = landing.list_inbox("MD")
    assert (item.reporting_unit, item.name, item.size) == ("MD", "MD_2026-Q3_return.xlsx", 3)
    assert abs(item.received_at - datetime.now(UTC)) < timedelta(minutes=5)
    assert landing.list_inbox("GE") == []

    local = landing.fetch(item, tmp_path / "x.xlsx")
    assert local.read_bytes() == b"abc"
    assert landing.put("MD", "receipts", "r.json", b"{}") == "MD/receipts/r.json"
    with pytest.raises(FileExistsError):
        landing.put("MD", "receipts", "r.json", b"{}")
    assert landing.move(item, "archive", "stored.xlsx") == "MD/archive/stored.xlsx"
    assert landing.list_inbox("MD") == []
    assert landing.read("MD", "archive", "stored.xlsx") == b"abc"
    assert landing.list_area("MD", "receipts") == ["old.json", "r.json"]


@pytest.mark.parametrize(
    "key", ["inbox/../receipts/x.xlsx", "inbox/sub/x.xlsx", "inbox/a\x01.xlsx"]
)
def test_unsafe_key_is_refused_without_download(s3, tmp_path, key):
    landing, client, prefix = s3
    client.put_object(Bucket=f"{prefix}-ge", Key=key, Body=b"abc")
    (item,) = landing.list_inbox("GE")
    calls = _get_object_calls(landing)
    with pytest.raises(UnsafeKey):
        landing.fetch(item, tmp_path / "x.xlsx")
    assert calls == []
    assert not (tmp_path / "x.xlsx").exists()


def test_oversize_object_is_refused_without_download(s3, tmp_path, monkeypatch):
    from topcop import config

    landing, client, prefix = s3
    limits = config.limits()
    monkeypatch.setattr(
        config, "limits", lambda: type(limits)(**{**limits.__dict__, "max_file_bytes": 10})
    )
    client.put_object(Bucket=f"{prefix}-ua", Key="inbox/big.xlsx", Body=b"x" * 11)
    (item,) = landing.list_inbox("UA")
    calls = _get_object_calls(landing)
    with pytest.raises(UnsafeKey):
        landing.fetch(item, tmp_path / "big.xlsx")
    assert calls == []


def test_held_file_is_released_once_to_its_decided_area(s3):
    """Steward approval: inbox -> held/ -> archive/, and a second release finds it there."""
    landing, client, prefix = s3
    client.put_object(Bucket=f"{prefix}-ge", Key="inbox/GE_2025-Q2_v2.xlsx", Body=b"late")
    (item,) = landing.list_inbox("GE")
    assert landing.move(item, "held", "held.xlsx") == "GE/held/held.xlsx"
    assert landing.list_inbox("GE") == [] and landing.list_area("GE", "held") == ["held.xlsx"]

    assert landing.release("GE", "held.xlsx", "archive") == "GE/archive/held.xlsx"
    assert landing.release("GE", "held.xlsx", "archive") == "GE/archive/held.xlsx"
    assert landing.list_area("GE", "held") == []
    assert landing.read("GE", "archive", "held.xlsx") == b"late"
    with pytest.raises(ValueError):
        landing.release("GE", "held.xlsx", "inbox")
