"""The stack's backing services besides PostgreSQL: Redis (the Celery broker) and an S3 endpoint.

Redis keeps its data in ``var/stack/redis`` (append-only file), so queued work
survives a stop. The S3 endpoint is moto's server, which keeps objects in memory
only: on a stop, every bucket's objects and policy are copied to
``var/stack/s3/`` and put back at the next start, so a stop loses no file. (An
inbox file put back gets the restart as its arrival time; MinIO in
``docker/docker-compose.yml`` keeps objects on disk as they are.)
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

S3_REGION = "us-east-1"
# moto's default account: the bucket policies' ${AWS_ACCOUNT_ID} placeholder is filled with it.
MOTO_ACCOUNT_ID = "123456789012"


def redis_argv(port: int, password: str, directory: Path) -> list[str]:
    directory.mkdir(parents=True, exist_ok=True)
    redis = shutil.which("redis-server") or "/usr/bin/redis-server"
    return [
        redis,
        *("--bind", "127.0.0.1", "--port", str(port), "--dir", str(directory)),
        *("--appendonly", "yes", "--requirepass", password, "--save", "60 1"),
    ]


def wait_redis(port: int, password: str, timeout: float = 30.0) -> None:
    import redis

    client = redis.Redis(host="127.0.0.1", port=port, password=password)
    deadline = time.monotonic() + timeout
    while True:
        try:
            if client.ping():
                return
        except redis.exceptions.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def s3_argv(port: int) -> list[str]:
    return [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]


def s3_client(endpoint: str, key: str, secret: str):
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=S3_REGION,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
    )


def wait_s3(client, timeout: float = 60.0) -> None:
    from botocore.exceptions import EndpointConnectionError

    deadline = time.monotonic() + timeout
    while True:
        try:
            client.list_buckets()
            return
        except EndpointConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def ensure_buckets(client, buckets: list[str], policies: dict[str, str] | None = None) -> None:
    """Create every bucket that is missing and set its policy (``policies``: bucket → JSON).

    The local stack passes no policies: moto matches a policy's principals loosely (the
    focal point's Deny statements denied the pipeline's own requests too), so the
    policies of ``docker/s3-policies`` are proven by the IAM evaluator in
    ``tests/test_docker.py`` and applied to MinIO by the compose file.
    """
    policies = policies or {}
    existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
    for bucket in buckets:
        if bucket not in existing:
            client.create_bucket(Bucket=bucket)
        if bucket in policies:
            client.put_bucket_policy(
                Bucket=bucket, Policy=policies[bucket].replace("${AWS_ACCOUNT_ID}", MOTO_ACCOUNT_ID)
            )


def save_objects(client, directory: Path) -> int:
    """Copy every object of every bucket to ``directory/<bucket>/<key>``; returns how many."""
    staging = directory.with_name(directory.name + ".saving")
    shutil.rmtree(staging, ignore_errors=True)
    count = 0
    for bucket in (b["Name"] for b in client.list_buckets().get("Buckets", [])):
        root = staging / bucket
        root.mkdir(parents=True)
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for obj in page.get("Contents", []):
                target = (root / obj["Key"]).resolve()
                if root.resolve() not in target.parents:
                    continue  # a key that climbs out of its folder is not ours to write
                target.parent.mkdir(parents=True, exist_ok=True)
                client.download_file(bucket, obj["Key"], str(target))
                count += 1
    # Swap only once the copy is whole: a crash half way keeps the previous copy.
    if directory.exists():
        shutil.rmtree(directory)
    staging.rename(directory)
    return count


def restore_objects(client, directory: Path) -> int:
    """Put back what ``save_objects`` saved (buckets must exist); returns how many objects."""
    if not directory.is_dir():
        return 0
    count = 0
    for root in sorted(p for p in directory.iterdir() if p.is_dir()):
        existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
        if root.name not in existing:
            client.create_bucket(Bucket=root.name)
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            client.upload_file(str(path), root.name, path.relative_to(root).as_posix())
            count += 1
    return count
