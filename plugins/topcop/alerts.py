"""Telling the data stewards: a stored alert row, a log line, and an email when mail is set up.

Every alert is kept in the warehouse's ``alert`` table, so what the stewards were
told, when and how stays on record even where no mail server is configured.
Email goes through Airflow's SMTP provider and the ``topcop_smtp`` connection
(host, port, login and the ``from_email`` extra live in Airflow, not here) to
the addresses in ``TOPCOP_STEWARD_EMAILS``; without that connection or those
addresses an alert is a log line and a row, and the run carries on.

An alert may carry a key naming what it is about (a deadline passed for one
dataset and period): an alert whose key is already on record is not sent again,
however often the daily run repeats. The row is stored after the email went
out, so a run that fails in between sends it again on retry rather than never.
"""

from __future__ import annotations

import html
import logging
import os
import re
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, text

log = logging.getLogger(__name__)

SMTP_CONN_ID = "topcop_smtp"
STEWARD_EMAILS_ENV = "TOPCOP_STEWARD_EMAILS"
MAX_SUBJECT = 300  # alert.subject (sql/migrations/0005_calendar.sql)


@dataclass(frozen=True)
class StewardAlert:
    """What to tell the stewards; small enough to pass between tasks as a dict."""

    kind: str
    subject: str
    body: str
    key: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StewardAlert:
        return cls(**data)


def steward_emails() -> list[str]:
    """Addresses in ``TOPCOP_STEWARD_EMAILS``, separated by commas, semicolons or spaces."""
    value = os.environ.get(STEWARD_EMAILS_ENV, "")
    return [a for a in re.split(r"[,;\s]+", value) if a]


def smtp_configured(conn_id: str = SMTP_CONN_ID) -> bool:
    """Whether Airflow knows the SMTP connection (environment, secrets backend or metadata DB)."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        return False
    return True


def alert_stewards(
    engine: Engine, subject: str, body: str, *, kind: str, key: str | None = None
) -> str | None:
    """Log, email when configured, and store one alert; its id, or None when ``key`` was sent before.

    A failing mail server raises (the task retries, and the alert with it);
    missing mail configuration does not.
    """
    subject = subject[:MAX_SUBJECT]
    if key is not None and _already_sent(engine, key):
        return None
    channel, recipients = _notify(subject, body, kind)
    alert_id = uuid.uuid4().hex
    with engine.begin() as conn:
        # Two runs racing on one key: the first row stands, the second is dropped.
        inserted = conn.execute(
            text(
                "INSERT INTO alert (alert_id, kind, alert_key, subject, body, channel,"
                " recipients, created_at) VALUES (:id, :kind, :key, :subject, :body, :channel,"
                " :recipients, :created_at) ON CONFLICT (alert_key) DO NOTHING"
            ),
            {
                "id": alert_id,
                "kind": kind,
                "key": key,
                "subject": subject,
                "body": body,
                "channel": channel,
                "recipients": ", ".join(recipients) if channel == "email" else None,
                "created_at": datetime.now(UTC).replace(tzinfo=None, microsecond=0),
            },
        ).rowcount
    return alert_id if inserted else None


def alert_task_failure(context: dict[str, Any]) -> None:
    """Airflow failure callback body: a task gave up after its retries.

    The warehouse or the mail server may be the very thing that failed, so a
    problem storing or sending this alert is logged with its traceback and not
    raised: the callback must not hide the task's own error.
    """
    ti = context.get("task_instance") or context.get("ti")
    where = f"{getattr(ti, 'dag_id', '?')}.{getattr(ti, 'task_id', '?')}"
    subject = f"topcop: {where} failed after its retries"
    body = (
        f"Task {where} failed after its retries in run {getattr(ti, 'run_id', '?')}.\n"
        f"Error: {context.get('exception')}\n"
        "Open the task's log in the Airflow UI for the details."
    )
    try:
        from topcop.warehouse.engine import warehouse_engine
        from topcop.warehouse.migrate import migrate

        engine = warehouse_engine()
        migrate(engine)
    except Exception:
        # The warehouse may be what failed: the stewards hear of it all the same.
        log.exception("TOPCOP ALERT not stored: the warehouse is unreachable")
        try:
            _notify(subject, body, "task_failed")
        except Exception:
            log.exception("TOPCOP ALERT not sent: %s", subject)
        return
    try:
        alert_stewards(engine, subject, body, kind="task_failed")
    except Exception:
        log.exception("TOPCOP ALERT not stored or sent: %s", subject)


def _notify(subject: str, body: str, kind: str) -> tuple[str, list[str]]:
    """Log one alert and email it when mail is set up; the channel used and its recipients."""
    log.warning("TOPCOP ALERT [%s] %s\n%s", kind, subject, body)
    recipients, configured = steward_emails(), smtp_configured()
    if recipients and configured:
        _send_email(subject, body, recipients)
        return "email", recipients
    if recipients or configured:
        log.warning(
            "alert not emailed: set both the %s connection and %s", SMTP_CONN_ID, STEWARD_EMAILS_ENV
        )
    return "log", recipients


def _already_sent(engine: Engine, key: str) -> bool:
    with engine.connect() as conn:
        found = conn.execute(text("SELECT 1 FROM alert WHERE alert_key = :k"), {"k": key}).first()
    return found is not None


def _send_email(subject: str, body: str, recipients: list[str]) -> None:
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    # The sender comes from the connection's ``from_email`` extra, as Airflow documents it.
    with SmtpHook(smtp_conn_id=SMTP_CONN_ID) as hook:
        hook.send_email_smtp(
            to=recipients,
            subject=subject,
            html_content=f"<pre>{html.escape(body)}</pre>",
        )
