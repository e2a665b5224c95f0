"""S3 landing: one bucket per reporting unit, with the same areas as the local folders.

Production backend (AWS or any S3-compatible store such as MinIO), reached
through the Airflow Amazon provider's ``S3Hook`` and the ``topcop_s3``
connection, so credentials and the endpoint URL live in Airflow, not here.
Keys are checked before anything is downloaded: a key with a path in it, or an
object over the size limit, is never fetched.

Two ingest runs may take the same file at once (Airflow's ``max_active_runs`` is
not a lock), so each step says plainly what the other run did: an object gone
from the inbox is ``FileNotFoundError``, as on local folders; a receipt name
already taken is ``FileExistsError``, decided by S3 itself with a conditional
write (``If-None-Match: *``), not by a check before the write; a file the other
run already moved counts as moved.
"""

from __future__ import annotations

import os
from datetime import UTC
from functools import cached_property
from pathlib import Path
from typing import Any

from topcop import config
from topcop.landing.base import AREAS, FROM_HELD, FROM_INBOX, InboxFile


class UnsafeKey(ValueError):
    """An object key or size that must not be downloaded."""


# S3 error codes: the object is not there; a conditional write found the key taken
# (or another conditional write to it under way).
_MISSING = {"404", "NoSuchKey", "NotFound"}
_TAKEN = {"412", "PreconditionFailed", "409", "ConditionalRequestConflict"}


def _error_code(error: Exception) -> str | None:
    response: Any = getattr(error, "response", None)
    return str(response.get("Error", {}).get("Code")) if isinstance(response, dict) else None


def bucket_pattern() -> str:
    """Bucket name per unit, e.g. ``topcop-{unit}`` → ``topcop-md`` (lower-cased)."""
    return os.environ.get("TOPCOP_S3_BUCKET_PATTERN", "topcop-{unit}")


def conn_id() -> str:
    return os.environ.get("TOPCOP_S3_CONN_ID", "topcop_s3")


def check_key(name: str, size: int) -> None:
    """Refuse names that could escape their area, and objects over the file-size limit."""
    if not name or name.startswith("/") or ".." in name.split("/") or "\\" in name:
        raise UnsafeKey(f"object key {name!r} has a path in it")
    if "/" in name:
        raise UnsafeKey(f"object key {name!r} is in a sub-folder of inbox/")
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise UnsafeKey(f"object key {name!r} has control characters")
    if size > config.limits().max_file_bytes:
        raise UnsafeKey(f"object {name!r} has {size} bytes, over the limit")


class S3Landing:
    def __init__(self, aws_conn_id: str | None = None, pattern: str | None = None):
        self.aws_conn_id = aws_conn_id or conn_id()
        self.pattern = pattern or bucket_pattern()

    @cached_property
    def hook(self):
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        return S3Hook(aws_conn_id=self.aws_conn_id)

    def bucket(self, reporting_unit: str) -> str:
        if reporting_unit not in config.codelists().reporting_units:
            raise ValueError(f"no landing bucket for {reporting_unit!r}")
        return self.pattern.format(unit=reporting_unit).lower()

    def reporting_units(self) -> list[str]:
        return sorted(config.codelists().reporting_units)

    @staticmethod
    def _key(area: str, name: str) -> str:
        if area not in AREAS:
            raise ValueError(f"no landing area {area!r}")
        return f"{area}/{name}"

    def list_inbox(self, reporting_unit: str) -> list[InboxFile]:
        items = [
            InboxFile(
                reporting_unit=reporting_unit,
                name=obj["Key"][len("inbox/") :],
                size=int(obj["Size"]),
                received_at=obj["LastModified"].astimezone(UTC).replace(microsecond=0),
            )
            for obj in self.hook.iter_file_metadata(
                prefix="inbox/", bucket_name=self.bucket(reporting_unit)
            )
            if not obj["Key"].endswith("/")
        ]
        return sorted(items, key=lambda i: (i.received_at, i.name))

    def fetch(self, item: InboxFile, destination: Path) -> Path:
        check_key(item.name, item.size)
        bucket, key = self.bucket(item.reporting_unit), self._key("inbox", item.name)
        head = self.hook.head_object(key=key, bucket_name=bucket)
        if head is None:
            raise FileNotFoundError(f"s3://{bucket}/{key} is gone")
        check_key(item.name, int(head["ContentLength"]))  # it may have been replaced since listing
        destination.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.hook.get_conn().download_file(bucket, key, str(destination))
        except Exception as error:
            if _error_code(error) in _MISSING:  # moved by another run since the check above
                raise FileNotFoundError(f"s3://{bucket}/{key} is gone") from error
            raise
        return destination

    def put(self, reporting_unit: str, area: str, name: str, data: bytes) -> str:
        bucket, key = self.bucket(reporting_unit), self._key(area, name)
        try:
            # Conditional write: two runs writing the same receipt name cannot both succeed.
            self.hook.get_conn().put_object(Bucket=bucket, Key=key, Body=data, IfNoneMatch="*")
        except Exception as error:
            if _error_code(error) in _TAKEN:
                raise FileExistsError(
                    f"s3://{bucket}/{key} exists; refusing to overwrite"
                ) from None
            raise
        return f"{reporting_unit}/{key}"

    def move(self, item: InboxFile, area: str, name: str) -> str:
        """Copy to archive/, quarantine/ or held/, then delete from the inbox: never the other way round."""
        if area not in FROM_INBOX:
            raise ValueError(f"files leave the inbox only to {', '.join(FROM_INBOX)}, not {area}")
        bucket = self.bucket(item.reporting_unit)
        source, target = self._key("inbox", item.name), self._key(area, name)
        if self.hook.head_object(key=target, bucket_name=bucket) is None:
            try:
                self.hook.copy_object(
                    source_bucket_key=source,
                    dest_bucket_key=target,
                    source_bucket_name=bucket,
                    dest_bucket_name=bucket,
                )
            except Exception as error:
                # Another run moved this very file in between: the stored name carries
                # the content hash, so the target it left is this file.
                moved = self.hook.head_object(key=target, bucket_name=bucket) is not None
                if _error_code(error) not in _MISSING or not moved:
                    raise
        self.hook.delete_objects(bucket=bucket, keys=[source])  # a key already gone is no error
        return f"{item.reporting_unit}/{target}"

    def release(self, reporting_unit: str, name: str, area: str) -> str:
        """Copy a held file to archive/ or quarantine/, then delete it from held/."""
        if area not in FROM_HELD:
            raise ValueError(f"held files leave only to {', '.join(FROM_HELD)}, not {area}")
        check_key(name, 0)
        bucket = self.bucket(reporting_unit)
        source, target = self._key("held", name), self._key(area, name)
        if self.hook.head_object(key=target, bucket_name=bucket) is None:
            self.hook.copy_object(
                source_bucket_key=source,
                dest_bucket_key=target,
                source_bucket_name=bucket,
                dest_bucket_name=bucket,
            )
        self.hook.delete_objects(bucket=bucket, keys=[source])
        return f"{reporting_unit}/{target}"

    def exists(self, reporting_unit: str, area: str, name: str) -> bool:
        key = self._key(area, name)
        return self.hook.head_object(key=key, bucket_name=self.bucket(reporting_unit)) is not None

    def read(self, reporting_unit: str, area: str, name: str) -> bytes:
        obj = self.hook.get_key(key=self._key(area, name), bucket_name=self.bucket(reporting_unit))
        return obj.get()["Body"].read()

    def list_area(self, reporting_unit: str, area: str) -> list[str]:
        prefix = f"{area}/"
        return sorted(
            obj["Key"][len(prefix) :]
            for obj in self.hook.iter_file_metadata(
                prefix=prefix, bucket_name=self.bucket(reporting_unit)
            )
            if not obj["Key"].endswith("/")
        )
