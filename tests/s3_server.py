"""A real HTTP S3 endpoint for tests: moto's ThreadedMotoServer on loopback.

boto3 and the Airflow S3Hook talk to it unmodified, through the ``topcop_s3``
connection given in the environment, exactly as they would talk to MinIO.
"""

from __future__ import annotations

import json
import os

import boto3
import pytest
from moto.server import ThreadedMotoServer

from topcop import config


@pytest.fixture(scope="session")
def s3_endpoint():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def use_s3_connection(monkeypatch, endpoint: str) -> None:
    """Airflow's ``topcop_s3`` connection, in the environment, pointing at ``endpoint``."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_TOPCOP_S3",
        json.dumps(
            {
                "conn_type": "aws",
                "login": "testing",
                "password": "testing-secret",
                "extra": {"region_name": "us-east-1", "endpoint_url": endpoint},
            }
        ),
    )


@pytest.fixture
def s3_landing_env(s3_endpoint, monkeypatch):
    """Fresh buckets for every unit and the environment that selects the S3 backend."""
    import uuid

    prefix = f"t{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("TOPCOP_LANDING", "s3")
    monkeypatch.setenv("TOPCOP_S3_BUCKET_PATTERN", prefix + "-{unit}")
    use_s3_connection(monkeypatch, s3_endpoint)
    client = s3_client(s3_endpoint)
    for unit in config.codelists().reporting_units:
        client.create_bucket(Bucket=f"{prefix}-{unit}".lower())
    return {"endpoint": s3_endpoint, "prefix": prefix, "client": client}


def s3_client(endpoint: str):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing-secret",
    )


os.environ.setdefault("MOTO_ALLOW_NONEXISTENT_REGION", "true")
