"""The production deployment, checked statically: no Docker engine runs here."""

from __future__ import annotations

import fnmatch
import json
import os
import re
import subprocess
import sys
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


AIRFLOW_SERVICES = (
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
)
TEST_TOOLS = (
    "pytest",
    "pytest-timeout",
    "moto",
    "hypothesis",
    "ruff",
    "pyinstrument",
    "matplotlib",
    "import-linter",
    "playwright",
)


def test_compose_runs_airflow_on_celery_with_every_component_and_store(compose):
    services = compose["services"]
    assert {"postgres", "redis", "minio", "minio-init", "airflow-init", *AIRFLOW_SERVICES} <= set(
        services
    )
    assert services["postgres"]["image"] == "postgres:15"
    assert services["minio"]["image"].startswith("minio/minio:")
    for name in (*AIRFLOW_SERVICES, "airflow-init"):
        env = services[name]["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://"), name
        assert "@redis:6379" in env["AIRFLOW__CELERY__BROKER_URL"]
        assert env["TOPCOP_LANDING"] == "s3"
        assert services[name]["build"]["dockerfile"] == "docker/Dockerfile"
    assert services["airflow-worker"]["command"][:3] == ["airflow", "celery", "worker"]


def test_the_worker_service_can_be_scaled(compose):
    worker = compose["services"]["airflow-worker"]
    assert "container_name" not in worker
    assert "ports" not in worker  # a fixed host port would clash at --scale airflow-worker=2


def test_every_long_running_service_has_a_healthcheck_and_waits_for_healthy_ones(compose):
    services = compose["services"]
    one_shot = {n for n, s in services.items() if s.get("restart") == "no"}
    assert one_shot == {"minio-init", "airflow-init"}
    for name, service in services.items():
        if name not in one_shot:
            assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
        for dependency, condition in (service.get("depends_on") or {}).items():
            expected = (
                "service_completed_successfully" if dependency in one_shot else "service_healthy"
            )
            assert condition == {"condition": expected}, f"{name} -> {dependency}"
    assert set(services["airflow-worker"]["depends_on"]) >= {"postgres", "redis", "airflow-init"}


@pytest.fixture(scope="module")
def airflow_options(tmp_path_factory) -> set[str]:
    """Every ``AIRFLOW__SECTION__KEY`` that this Airflow and its installed providers document.

    ``airflow config list --defaults`` names each option's variable, including those
    without a default (``sql_alchemy_conn_async``) that ``conf``'s option lists leave out.
    """
    home = tmp_path_factory.mktemp("airflow-home")
    listing = subprocess.run(
        [str(Path(sys.executable).with_name("airflow")), "config", "list", "--defaults"],
        env={**os.environ, "AIRFLOW_HOME": str(home)},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    return set(re.findall(r"^# Variable: (AIRFLOW__\w+)$", listing, re.MULTILINE))


def test_every_airflow_setting_in_compose_is_a_real_option(compose, airflow_options):
    assert {"AIRFLOW__CORE__EXECUTOR", "AIRFLOW__CELERY__BROKER_URL"} <= airflow_options
    used = {
        key
        for service in compose["services"].values()
        for key in service.get("environment") or {}
        if key.startswith("AIRFLOW__")
    }
    used |= set(re.findall(r"\b(AIRFLOW__\w+)=", (DOCKER / "Dockerfile").read_text()))
    assert {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC", "AIRFLOW__CORE__LOAD_EXAMPLES"} <= used
    assert used - airflow_options == set()


def test_postgres_keeps_the_metadata_db_and_the_warehouse_apart(compose):
    services = compose["services"]
    # The server's superuser is neither Airflow's account nor a warehouse role.
    assert services["postgres"]["environment"]["POSTGRES_USER"] == "postgres"
    init = (DOCKER / "postgres-init" / "01-warehouse.sh").read_text()
    for statement in (
        "CREATE DATABASE airflow OWNER airflow;",
        "REVOKE ALL ON DATABASE airflow FROM PUBLIC;",
        "CREATE DATABASE warehouse OWNER topcop_owner;",
        "REVOKE ALL ON DATABASE warehouse FROM PUBLIC;",
    ):
        assert statement in init
    # The roles 0009 grants rights to exist before it runs, their passwords quoted by psql.
    roles_sql = (DOCKER.parent / "sql" / "migrations" / "0009_roles.postgresql.sql").read_text()
    roles = re.findall(r"'(topcop_\w+)'", roles_sql.split("LOOP", 1)[0])
    assert roles == ["topcop_loader", "topcop_analyst"]
    for role in ("airflow", "topcop_owner", *roles):
        assert re.search(rf"CREATE ROLE {role} LOGIN PASSWORD :'\w+';", init), role
    assert "${" not in init.split("<<'SQL'", 1)[1]  # no password pasted into the SQL text
    for name in (*AIRFLOW_SERVICES, "airflow-init"):
        env = services[name]["environment"]
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].endswith("@postgres:5432/airflow")
        assert env["AIRFLOW_CONN_TOPCOP_WAREHOUSE"].startswith("postgresql://topcop_loader:")
    migrate = services["airflow-init"]["command"][-1]
    assert "postgresql+psycopg://topcop_owner:" in migrate and "topcop migrate" in migrate


def test_minio_init_applies_every_policy_with_the_account_filled_in(compose):
    init = compose["services"]["minio-init"]
    script = init["entrypoint"][-1]
    assert "./s3-policies:/policies:ro" in init["volumes"]
    assert "|| true" not in script  # a failed step fails the job, and nothing starts
    assert init["environment"]["AWS_ACCOUNT_ID"].startswith("${AWS_ACCOUNT_ID")
    assert 'sed "s/\\$${AWS_ACCOUNT_ID}/$$AWS_ACCOUNT_ID/g" "$$policy"' in script
    assert 'mc anonymous set-json /tmp/policy.json "local/topcop-$$unit"' in script
    for path in POLICIES:  # the placeholder the sed replaces, in the bucket the loop names
        text = path.read_text()
        assert "${AWS_ACCOUNT_ID}" in text and f"arn:aws:s3:::topcop-{path.stem}" in text


def test_a_stopped_worker_finishes_its_tasks_first(compose):
    worker = compose["services"]["airflow-worker"]
    assert worker["environment"]["DUMB_INIT_SETSID"] == "0"
    minutes = re.fullmatch(r"(\d+)m", worker["stop_grace_period"])
    assert minutes and int(minutes[1]) >= 1


def test_env_example_lists_names_only():
    for line in (DOCKER / "env.example").read_text().splitlines():
        if line and not line.startswith("#"):
            assert re.fullmatch(r"[A-Z0-9_]+=", line), line
    assert "docker/.env" in (DOCKER.parent / ".gitignore").read_text().splitlines()


def test_no_secret_is_written_in_the_compose_file(compose):
    text = (DOCKER / "docker-compose.yml").read_text()
    for name, service in compose["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if re.search(r"PASSWORD|SECRET|FERNET|KEY|AUTH", key) and "CONN" not in key:
                assert str(value).startswith("${"), f"{name}.{key} must come from the environment"
    # Connection strings carry credentials only as ${...} references.
    for url in re.findall(r"\w+://[^\s'\"]+@", text):
        assert re.search(r"://\w*:\$?\$\{", url), url
    example = (DOCKER / "env.example").read_text()
    for variable in set(re.findall(r"(?<!\$)\$\{(\w+)", text)):  # $${X} is the container's own
        assert f"{variable}=" in example, f"{variable} missing from docker/env.example"


def test_the_image_installs_the_runtime_pins_only():
    text = (DOCKER / "Dockerfile").read_text()
    assert "FROM apache/airflow:3.3.2" in text
    assert "-r /opt/topcop/requirements-runtime.txt -c /opt/topcop/constraints.txt" in text
    commands = [ln for ln in text.splitlines() if ln.startswith(("COPY", "RUN", " &&"))]
    assert not any(re.search(r"\brequirements\.txt", ln) for ln in commands), commands
    runtime = (DOCKER.parent / "requirements-runtime.txt").read_text().splitlines()
    pins = [line for line in runtime if line and not line.startswith("#")]
    assert pins and all("==" in line for line in pins)
    names = {re.split(r"[=\[]", line)[0].lower() for line in pins}
    assert not names & set(TEST_TOOLS), names & set(TEST_TOOLS)
    assert {"celery", "apache-airflow-providers-celery", "redis"} <= names
    everything = (DOCKER.parent / "requirements.txt").read_text()
    assert "-r requirements-runtime.txt" in everything


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
