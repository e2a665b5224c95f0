-- Claims on waiting files, so that ingest runs may overlap (issue 14: drop→receipt latency).
-- Portable SQL: runs unchanged on SQLite and PostgreSQL. One row per file an ingest run
-- took from an inbox; the primary key is the file's identity as listed (unit, name,
-- arrival, size), so two runs listing at once cannot both take it. A claim is moot once
-- the file has left the inbox; claims of files long gone are deleted by later listings.

CREATE TABLE intake_claim (
    reporting_unit  VARCHAR(8)   NOT NULL,
    file_name       VARCHAR(300) NOT NULL,
    received_at     VARCHAR(40)  NOT NULL,
    size_bytes      BIGINT       NOT NULL,
    dag_run_id      VARCHAR(250) NOT NULL,
    claimed_at      TIMESTAMP    NOT NULL,
    CONSTRAINT pk_intake_claim PRIMARY KEY (reporting_unit, file_name, received_at, size_bytes)
);

CREATE INDEX ix_intake_claim_run ON intake_claim (dag_run_id);
