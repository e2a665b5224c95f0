-- The reporting calendar's memory: reminders sent to focal points and alerts sent to stewards.
-- Portable SQL: runs unchanged on SQLite and PostgreSQL. Both tables only grow.

-- One row per reminder a focal point gets. The primary key is what makes a reminder
-- go out exactly once: the daily run inserts the row first (a rerun finds it taken)
-- and writes the file afterwards, then sets written_at. A row without written_at
-- is a reminder whose file a crashed run did not finish; the next run writes it
-- from the message stored here, word for word.
CREATE TABLE reminder (
    reporting_unit  VARCHAR(8)    NOT NULL,
    period          VARCHAR(10)   NOT NULL,
    dataset         VARCHAR(16)   NOT NULL,
    kind            VARCHAR(16)   NOT NULL,  -- due_soon: deadline ahead; overdue: it has passed
    deadline        DATE          NOT NULL,  -- last day a return counts as on time
    written_on      DATE          NOT NULL,  -- the calendar day of the run that decided it
    message         TEXT          NOT NULL,  -- the plain-language text the focal point reads
    file_name       VARCHAR(200)  NOT NULL,  -- in the unit's receipts/ (.json, and .txt beside it)
    created_at      TIMESTAMP     NOT NULL,  -- UTC
    written_at      TIMESTAMP,               -- UTC; NULL until the file is in receipts/
    PRIMARY KEY (reporting_unit, period, dataset, kind),
    CONSTRAINT ck_reminder_kind CHECK (kind IN ('due_soon', 'overdue'))
);

CREATE INDEX ix_reminder_unwritten ON reminder (written_at);

-- Every alert sent to the data stewards, whether it went out by email or only to the log.
-- alert_key names what the alert is about (e.g. a deadline passed for one dataset and
-- period) so that it is sent once however often the daily run repeats; alerts about
-- one-off events (a task failure) have no key.
CREATE TABLE alert (
    alert_id    VARCHAR(32)   NOT NULL PRIMARY KEY,
    kind        VARCHAR(32)   NOT NULL,  -- deadline_passed, task_failed, ...
    alert_key   VARCHAR(200),
    subject     VARCHAR(300)  NOT NULL,
    body        TEXT          NOT NULL,
    channel     VARCHAR(8)    NOT NULL,  -- email: sent through topcop_smtp; log: log line only
    recipients  TEXT,                    -- comma-separated addresses when emailed
    created_at  TIMESTAMP     NOT NULL,  -- UTC
    CONSTRAINT ck_alert_channel CHECK (channel IN ('email', 'log')),
    CONSTRAINT uq_alert_key UNIQUE (alert_key)
);

CREATE INDEX ix_alert_created ON alert (created_at);
