-- Data quality for stewards: how every check fared on every file received.
-- Portable SQL: runs unchanged on SQLite and PostgreSQL. Written in the same
-- transaction as the file's submission row; only grows.

-- One row per expectation (GX suites in expectations/), per cross-row rule
-- (topcop.validation.rules) and per history check (topcop.validation.history),
-- per submission: also for rejected files and duplicates. The findings of a file
-- (which row, which value) are in `finding`; this table says which checks passed.
CREATE TABLE expectation_result (
    submission_id     VARCHAR(32)  NOT NULL REFERENCES submission (submission_id),
    seq               INTEGER      NOT NULL,  -- order in which the checks ran
    suite             VARCHAR(32)  NOT NULL,  -- metadata, indicators, seizures (GX suites), rules, history
    expectation_type  VARCHAR(120) NOT NULL,  -- e.g. expect_column_values_to_be_in_set, total_equals_sum_of_breakdowns
    column_name       VARCHAR(200),           -- the column checked; several joined by "," (pairs, compound keys)
    success           BOOLEAN      NOT NULL,
    unexpected_count  INTEGER,                -- rows that failed it; NULL: not evaluated (its column or table was missing)
    severity          VARCHAR(8)   NOT NULL,  -- what a failure means: error rejects the file, warning does not
    PRIMARY KEY (submission_id, seq),
    CONSTRAINT ck_expectation_result_severity CHECK (severity IN ('error', 'warning'))
);

CREATE INDEX ix_expectation_result_check ON expectation_result (suite, expectation_type);

-- Every check's outcome beside the file it ran on: the steward's data-quality table.
CREATE VIEW v_data_quality AS
SELECT s.reporting_unit, s.period, s.dataset, s.file_name, s.processed_at, s.status,
       s.revision, r.suite, r.expectation_type, r.column_name, r.success,
       r.unexpected_count, r.severity, r.submission_id, r.seq
FROM expectation_result r
JOIN submission s ON s.submission_id = r.submission_id;
