-- Corrections to closed periods, held for a data steward's decision (issue 15).
-- Portable SQL: runs unchanged on SQLite and PostgreSQL. One row per held file: written
-- when the ingest run holds it, decided once through Airflow's human-in-the-loop task.
-- A file is held in its unit's held/ landing area until decided, so the row and the
-- file survive restarts; the decision and the submission it produced are recorded in
-- the one transaction that loads (or refuses) it.

CREATE TABLE approval_request (
    request_id      VARCHAR(32)  NOT NULL PRIMARY KEY,
    reporting_unit  VARCHAR(8)   NOT NULL,
    period          VARCHAR(10)  NOT NULL,
    dataset         VARCHAR(16)  NOT NULL,
    file_name       VARCHAR(300) NOT NULL,
    stored_name     VARCHAR(400) NOT NULL,
    sha256          CHAR(64)     NOT NULL,
    size_bytes      BIGINT,
    received_at     TIMESTAMP    NOT NULL,
    held_at         TIMESTAMP    NOT NULL,
    current_revision INTEGER,
    summary         TEXT         NOT NULL,
    dag_run_id      VARCHAR(250) NOT NULL,
    status          VARCHAR(16)  NOT NULL DEFAULT 'pending',
    decided_by      VARCHAR(250),
    decided_at      TIMESTAMP,
    reason          TEXT,
    submission_id   VARCHAR(32)  REFERENCES submission (submission_id),
    CONSTRAINT ck_approval_status CHECK (status IN ('pending', 'approved', 'refused')),
    CONSTRAINT ck_approval_decided CHECK ((status = 'pending') = (decided_at IS NULL)),
    CONSTRAINT uq_approval_run UNIQUE (dag_run_id)
);

-- The same content waits for one decision at a time.
CREATE UNIQUE INDEX uq_approval_pending ON approval_request (reporting_unit, sha256)
    WHERE status = 'pending';
CREATE INDEX ix_approval_unit_period ON approval_request (reporting_unit, period);

-- For analysts: every steward decision on a late correction, with the revision it became.
CREATE VIEW v_approval AS
SELECT a.reporting_unit, a.period, a.dataset, a.file_name, a.received_at, a.held_at,
       a.status, a.decided_by, a.decided_at, a.reason, a.current_revision,
       s.revision AS approved_revision, a.submission_id, a.request_id
FROM approval_request a
LEFT JOIN submission s ON s.submission_id = a.submission_id AND a.status = 'approved';
