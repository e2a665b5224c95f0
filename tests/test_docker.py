"""The production deployment, checked statically: no Docker engine runs here."""

from __future__ import annotations

import fnmatch
import json
import re
from pathlib import Path

import pytest
import yaml

from topcop import config
from topcop.landing.policies import bucket_policy, focal_point_arn, pipeline_arn

DOCKER = Path(__file__).resolve().parent.parent / "docker"
POLICIES = sorted((DOCKER / "s3-policies").glob("*.json"))


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((DOCKER / "docker-compose.yml").read_text())


def test_compose_has_every_airflow_component_and_the_stores(compose):
    services = compose["services"]
    assert {"postgres", "minio", "api-server", "scheduler", "dag-processor", "triggerer"} <= set(
        services
    )
    for name in ("api-server", "scheduler", "dag-processor", "triggerer"):
        env = services[name]["environment"]
        assert env["TOPCOP_LANDING"] == "s3"
        assert services[name]["build"]["dockerfile"] == "docker/Dockerfile"


def test_no_secret_is_written_in_the_compose_file(compose):
    text = (DOCKER / "docker-compose.yml").read_text()
    for name, service in compose["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if re.search(r"PASSWORD|SECRET|FERNET|KEY", key) and "CONN" not in key:
                assert str(value).startswith("${"), f"{name}.{key} must come from the environment"
    # Connection strings carry credentials only as ${...} references.
    for url in re.findall(r"\w+://[^\s'\"]+@", text):
        assert re.search(r"://\w+:\$\{", url), url


def test_dockerfile_installs_the_pinned_set():
    text = (DOCKER / "Dockerfile").read_text()
    assert "FROM apache/airflow:3.3.2" in text
    assert "-r /opt/topcop/requirements.txt -c /opt/topcop/constraints.txt" in text


def test_policy_files_are_the_generated_ones():
    units = sorted(config.codelists().reporting_units)
    assert [p.stem for p in POLICIES] == [u.lower() for u in units]
    for path in POLICIES:
        assert json.loads(path.read_text()) == bucket_policy(path.stem.upper())


def _allowed(policy: dict, principal: str, action: str, resource: str, prefix: str = "") -> bool:
    """A small IAM evaluator: explicit deny wins, then any allow, else implicit deny."""

    def matches(patterns, value):
        patterns = [patterns] if isinstance(patterns, str) else patterns
        return any(fnmatch.fnmatchcase(value, p) for p in patterns)

    def applies(st):
        who = st["Principal"]
        if who != "*" and principal not in (
            [who["AWS"]] if isinstance(who["AWS"], str) else who["AWS"]
        ):
            return False
        if "Action" in st and not matches(st["Action"], action):
            return False
        if "NotAction" in st and matches(st["NotAction"], action):
            return False
        if "Resource" in st and not matches(st["Resource"], resource):
            return False
        if "NotResource" in st and matches(st["NotResource"], resource):
            return False
        cond = st.get("Condition", {})
        if "Bool" in cond:  # only aws:SecureTransport here; requests are over TLS
            return False
        if "StringLike" in cond:
            return matches(cond["StringLike"]["s3:prefix"], prefix)
        return True

    statements = [st for st in policy["Statement"] if applies(st)]
    if any(st["Effect"] == "Deny" for st in statements):
        return False
    return any(st["Effect"] == "Allow" for st in statements)


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: p.stem)
def test_focal_point_may_only_drop_and_read_its_receipts(path):
    policy = json.loads(path.read_text())
    unit = path.stem.upper()
    me, bucket = focal_point_arn(unit), f"arn:aws:s3:::topcop-{path.stem}"
    assert _allowed(policy, me, "s3:PutObject", f"{bucket}/inbox/r.xlsx")
    assert _allowed(policy, me, "s3:GetObject", f"{bucket}/receipts/r.json")
    assert _allowed(policy, me, "s3:GetObject", f"{bucket}/templates/t.xlsx")
    assert _allowed(policy, me, "s3:ListBucket", bucket, prefix="receipts/")
    assert not _allowed(policy, me, "s3:ListBucket", bucket, prefix="archive/")
    assert not _allowed(policy, me, "s3:PutObject", f"{bucket}/receipts/fake.json")
    assert not _allowed(policy, me, "s3:PutObject", f"{bucket}/archive/r.xlsx")
    assert not _allowed(policy, me, "s3:GetObject", f"{bucket}/inbox/r.xlsx")
    assert not _allowed(policy, me, "s3:GetObject", f"{bucket}/archive/r.xlsx")
    assert not _allowed(policy, me, "s3:DeleteObject", f"{bucket}/inbox/r.xlsx")
    assert not _allowed(policy, me, "s3:PutBucketPolicy", bucket)
    assert _allowed(policy, pipeline_arn(), "s3:DeleteObject", f"{bucket}/inbox/r.xlsx")


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: p.stem)
def test_no_other_focal_point_may_touch_the_bucket(path):
    policy = json.loads(path.read_text())
    bucket = f"arn:aws:s3:::topcop-{path.stem}"
    for other in config.codelists().reporting_units:
        if other.lower() == path.stem:
            continue
        arn = focal_point_arn(other)
        assert not _allowed(policy, arn, "s3:PutObject", f"{bucket}/inbox/r.xlsx")
        assert not _allowed(policy, arn, "s3:GetObject", f"{bucket}/receipts/r.json")
