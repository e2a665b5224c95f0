-- Every assessment workbook built, and the submissions it was built from.
-- A reader can tell which returns (and which revision of each) a report reflects;
-- a steward can find the reports that a later correction has made out of date.

CREATE TABLE report_build (
    build_id          VARCHAR(32)   NOT NULL PRIMARY KEY,
    period            VARCHAR(10)   NOT NULL,  -- the report's period, the last it covers
    first_period      VARCHAR(10)   NOT NULL,  -- the first period it covers
    audience          VARCHAR(16)   NOT NULL,  -- edition: programme, or public (suppressed)
    built_at          TIMESTAMP     NOT NULL,  -- UTC, also in the file name
    data_as_of        TIMESTAMP,                -- UTC: latest processing among the submissions used
    location          VARCHAR(1000) NOT NULL,  -- local path or s3://bucket/key of the workbook
    submission_count  INTEGER       NOT NULL,
    CONSTRAINT ck_report_build_audience CHECK (audience IN ('programme', 'public')),
    CONSTRAINT uq_report_build_location UNIQUE (location)
);

CREATE INDEX ix_report_build_period ON report_build (period, audience, built_at);

CREATE TABLE report_build_submission (
    build_id       VARCHAR(32)  NOT NULL REFERENCES report_build (build_id),
    submission_id  VARCHAR(32)  NOT NULL REFERENCES submission (submission_id),
    PRIMARY KEY (build_id, submission_id)
);

-- Which builds used a submission: the reports a new revision of it outdates.
CREATE INDEX ix_report_build_submission_submission ON report_build_submission (submission_id);
