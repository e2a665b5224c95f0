-- Time travel: what the warehouse knew at a past moment. For each reporting unit and
-- period, the latest accepted revision processed (processed_at, UTC) at or before the
-- moment, with the same columns as v_indicator_current / v_seizure_current.
--   SELECT * FROM indicator_as_of('2026-05-01 00:00+00');
-- topcop.warehouse.asof runs the same query with a bound parameter on every database.

CREATE FUNCTION indicator_as_of(as_of timestamptz) RETURNS SETOF v_indicator_current
LANGUAGE sql STABLE
AS $$
SELECT s.reporting_unit, s.period, s.revision, s.handling_code, f.*
FROM indicator_fact f
JOIN v_submission_accepted s ON s.submission_id = f.submission_id
WHERE s.revision = (
    SELECT MAX(s2.revision) FROM v_submission_accepted s2
    WHERE s2.reporting_unit = s.reporting_unit AND s2.period = s.period
      AND s2.dataset IN ('return', 'indicators')
      AND s2.processed_at <= (as_of AT TIME ZONE 'UTC')
)
$$;

CREATE FUNCTION seizure_as_of(as_of timestamptz) RETURNS SETOF v_seizure_current
LANGUAGE sql STABLE
AS $$
SELECT s.reporting_unit, s.period, s.revision, s.handling_code, f.*
FROM seizure_fact f
JOIN v_submission_accepted s ON s.submission_id = f.submission_id
WHERE s.revision = (
    SELECT MAX(s2.revision) FROM v_submission_accepted s2
    WHERE s2.reporting_unit = s.reporting_unit AND s2.period = s.period
      AND s2.dataset IN ('return', 'seizures')
      AND s2.processed_at <= (as_of AT TIME ZONE 'UTC')
)
$$;
