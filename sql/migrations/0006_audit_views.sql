-- Audit and history views: every finding with the file it was found in, and every
-- accepted revision's facts side by side. Portable SQL: runs unchanged on SQLite and
-- PostgreSQL.

-- The validation result of every file, one row per finding, with what the file was
-- and what became of it (rejected, accepted with warnings, ...).
CREATE VIEW v_validation_result AS
SELECT s.reporting_unit, s.period, s.dataset, s.file_name, s.received_at, s.status,
       s.revision, f.*
FROM finding f
JOIN submission s ON s.submission_id = f.submission_id;

-- Full revision history: the facts of every accepted revision, never only the latest.
CREATE VIEW v_indicator_history AS
SELECT s.reporting_unit, s.period, s.revision, s.handling_code, s.received_at, s.processed_at,
       f.*
FROM indicator_fact f
JOIN v_submission_accepted s ON s.submission_id = f.submission_id;

CREATE VIEW v_seizure_history AS
SELECT s.reporting_unit, s.period, s.revision, s.handling_code, s.received_at, s.processed_at,
       f.*
FROM seizure_fact f
JOIN v_submission_accepted s ON s.submission_id = f.submission_id;
