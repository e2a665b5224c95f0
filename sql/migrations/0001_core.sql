-- Core warehouse: the audit trail of every file received and the facts of accepted returns.
-- Portable SQL: runs unchanged on SQLite and PostgreSQL. Facts are never updated in
-- place; each accepted revision keeps its rows and views pick the current one.

CREATE TABLE submission (
    submission_id     VARCHAR(32)  NOT NULL PRIMARY KEY,
    reporting_unit    VARCHAR(8)   NOT NULL,
    period            VARCHAR(10),
    dataset           VARCHAR(16)  NOT NULL,
    file_name         VARCHAR(300) NOT NULL,
    stored_name       VARCHAR(400) NOT NULL,
    sha256            CHAR(64),
    file_format       VARCHAR(8),
    size_bytes        BIGINT,
    received_at       TIMESTAMP    NOT NULL,
    processed_at      TIMESTAMP    NOT NULL,
    status            VARCHAR(24)  NOT NULL,
    revision          INTEGER,
    supersedes        VARCHAR(32),
    template_version  VARCHAR(16),
    submission_date   DATE,
    focal_point_ref   TEXT,
    handling_code     VARCHAR(16),
    remarks           TEXT,
    indicator_rows    INTEGER      NOT NULL DEFAULT 0,
    seizure_rows      INTEGER      NOT NULL DEFAULT 0,
    error_count       INTEGER      NOT NULL DEFAULT 0,
    warning_count     INTEGER      NOT NULL DEFAULT 0,
    CONSTRAINT ck_submission_status CHECK (status IN ('accepted', 'accepted_with_warnings', 'rejected', 'duplicate')),
    CONSTRAINT ck_submission_dataset CHECK (dataset IN ('return', 'indicators', 'seizures')),
    CONSTRAINT ck_submission_revision CHECK ((revision IS NULL) = (status NOT IN ('accepted', 'accepted_with_warnings'))),
    CONSTRAINT uq_submission_revision UNIQUE (reporting_unit, period, revision)
);

-- The same content is loaded at most once per unit and dataset, whoever races to load it.
CREATE UNIQUE INDEX uq_submission_content ON submission (reporting_unit, dataset, sha256)
    WHERE status IN ('accepted', 'accepted_with_warnings');
CREATE INDEX ix_submission_unit_period ON submission (reporting_unit, period);

CREATE TABLE finding (
    submission_id  VARCHAR(32)  NOT NULL REFERENCES submission (submission_id),
    seq            INTEGER      NOT NULL,
    sheet          VARCHAR(32)  NOT NULL,
    row_number     INTEGER,
    column_name    VARCHAR(64),
    value          TEXT,
    rule           VARCHAR(120) NOT NULL,
    severity       VARCHAR(8)   NOT NULL,
    message        TEXT         NOT NULL,
    PRIMARY KEY (submission_id, seq),
    CONSTRAINT ck_finding_severity CHECK (severity IN ('error', 'warning'))
);

CREATE TABLE indicator_fact (
    submission_id  VARCHAR(32)  NOT NULL REFERENCES submission (submission_id),
    row_number     INTEGER      NOT NULL,
    crime_area     VARCHAR(16)  NOT NULL,
    indicator      VARCHAR(32)  NOT NULL,
    breakdown      VARCHAR(16),
    value          DOUBLE PRECISION,
    unit           VARCHAR(8)   NOT NULL,
    obs_status     CHAR(1)      NOT NULL,
    conf_status    CHAR(1)      NOT NULL,
    comment        TEXT,
    PRIMARY KEY (submission_id, row_number)
);

CREATE TABLE seizure_fact (
    submission_id        VARCHAR(32)  NOT NULL REFERENCES submission (submission_id),
    row_number           INTEGER      NOT NULL,
    seizure_ref          VARCHAR(64)  NOT NULL,
    seizure_date         DATE         NOT NULL,
    region               TEXT,
    commodity            VARCHAR(32)  NOT NULL,
    quantity             DOUBLE PRECISION NOT NULL,
    unit                 VARCHAR(8)   NOT NULL,
    origin_country       CHAR(2),
    departure_country    CHAR(2),
    destination_country  CHAR(2),
    transport_mode       VARCHAR(16),
    concealment          TEXT,
    ocg_involved         CHAR(1),
    PRIMARY KEY (submission_id, row_number)
);

-- Current figures: the latest accepted revision per reporting unit and period that
-- carries the dataset. Earlier revisions stay in the fact tables as history.
CREATE VIEW v_submission_accepted AS
SELECT * FROM submission WHERE status IN ('accepted', 'accepted_with_warnings');

CREATE VIEW v_indicator_current AS
SELECT s.reporting_unit, s.period, s.revision, s.handling_code, f.*
FROM indicator_fact f
JOIN v_submission_accepted s ON s.submission_id = f.submission_id
WHERE s.revision = (
    SELECT MAX(s2.revision) FROM v_submission_accepted s2
    WHERE s2.reporting_unit = s.reporting_unit AND s2.period = s.period
      AND s2.dataset IN ('return', 'indicators')
);

CREATE VIEW v_seizure_current AS
SELECT s.reporting_unit, s.period, s.revision, s.handling_code, f.*
FROM seizure_fact f
JOIN v_submission_accepted s ON s.submission_id = f.submission_id
WHERE s.revision = (
    SELECT MAX(s2.revision) FROM v_submission_accepted s2
    WHERE s2.reporting_unit = s.reporting_unit AND s2.period = s.period
      AND s2.dataset IN ('return', 'seizures')
);
