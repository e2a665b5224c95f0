-- SDMX exports (issue 17): the structure versions issued, and every data export written.
-- Portable SQL: runs unchanged on SQLite and PostgreSQL. A structure version is issued
-- when the structures generated from the codelists differ from the latest one (a new
-- indicator code, a renamed crime area...), so partners can tell which data files go
-- with which structures; an export is recorded with the submissions it reflects, like
-- report_build, and the same observations are not exported twice.

CREATE TABLE sdmx_structure (
    version     VARCHAR(16)  NOT NULL PRIMARY KEY,  -- 1.0, 1.1, ...: every artefact of the set carries it
    seq         INTEGER      NOT NULL,              -- 1, 2, ...: the order versions were issued in
    sha256      CHAR(64)     NOT NULL,              -- of the structures' content, the version left out
    created_at  TIMESTAMP    NOT NULL,              -- UTC
    CONSTRAINT uq_sdmx_structure_seq UNIQUE (seq)
);

CREATE TABLE sdmx_export (
    export_id               VARCHAR(32)   NOT NULL PRIMARY KEY,
    period                  VARCHAR(10)   NOT NULL,
    edition                 VARCHAR(16)   NOT NULL,  -- programme, or public (suppressed)
    structure_version       VARCHAR(16)   NOT NULL REFERENCES sdmx_structure (version),
    exported_at             TIMESTAMP     NOT NULL,  -- UTC, also in the folder name
    data_sha256             CHAR(64)      NOT NULL,  -- of the observations and structure version written
    location                VARCHAR(1000) NOT NULL,  -- folder or s3://bucket/prefix holding the files
    indicator_observations  INTEGER       NOT NULL,
    seizure_observations    INTEGER       NOT NULL,
    CONSTRAINT ck_sdmx_export_edition CHECK (edition IN ('programme', 'public')),
    CONSTRAINT uq_sdmx_export_location UNIQUE (location)
);

CREATE INDEX ix_sdmx_export_period ON sdmx_export (period, edition, exported_at);

CREATE TABLE sdmx_export_submission (
    export_id      VARCHAR(32)  NOT NULL REFERENCES sdmx_export (export_id),
    submission_id  VARCHAR(32)  NOT NULL REFERENCES submission (submission_id),
    PRIMARY KEY (export_id, submission_id)
);

-- Which exports used a submission: the files a new revision of it outdates.
CREATE INDEX ix_sdmx_export_submission_submission ON sdmx_export_submission (submission_id);
