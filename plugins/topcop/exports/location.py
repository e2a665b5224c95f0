"""Where export files go: a local folder or an S3 prefix, laid out the same in both.

``<root>/structures/`` holds every structure version; ``<root>/<edition>/<period>/<export>/``
each export's data files, so a bucket policy can open ``public/`` to partners and
keep ``programme/`` to the programme. Like reports, files are written once and
never replaced: on S3 through ``topcop.reports.build.upload_report`` (the same
connection and no-overwrite rule as the reports), locally by refusing an existing
file.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from topcop.reports.build import S3_SCHEME, upload_report

STRUCTURES = "structures"


def join(root: str, *parts: str) -> str:
    """``root`` (a folder or ``s3://bucket/prefix``) with ``parts`` below it."""
    if root.startswith(S3_SCHEME):
        return "/".join([root.rstrip("/"), *parts])
    return str(Path(root, *parts).resolve())


def exists(location: str, name: str) -> bool:
    """Whether ``name`` is already under ``location``."""
    if not location.startswith(S3_SCHEME):
        return (Path(location) / name).exists()
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    from topcop.landing.s3 import conn_id

    bucket, key = _bucket_key(join(location, name))
    return S3Hook(aws_conn_id=conn_id()).check_for_key(key, bucket_name=bucket)


def publish(paths: list[Path], location: str) -> list[str]:
    """Put finished files under ``location``; returns where each now is. Never overwrites."""
    if location.startswith(S3_SCHEME):
        return [upload_report(path, location) for path in paths]
    target = Path(location)
    target.mkdir(parents=True, exist_ok=True)
    placed = []
    for path in paths:
        destination = target / path.name
        if destination.exists():
            raise FileExistsError(f"{destination} already exists: exports are never replaced")
        shutil.copyfile(path, destination)
        placed.append(str(destination.resolve()))
    return placed


def _bucket_key(uri: str) -> tuple[str, str]:
    bucket, _, key = uri[len(S3_SCHEME) :].partition("/")
    return bucket, key
