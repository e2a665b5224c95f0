-- Reporting rates, as DHIS2 counts them: which returns were expected from which reporting
-- unit for which period, which arrived, on time or late, and which are missing.
-- Portable SQL: runs unchanged on SQLite and PostgreSQL. Dates are compared, never
-- computed, except one count of days written with julianday(), which SQLite has built in
-- and PostgreSQL gets from 0006_julianday.postgresql.sql. "Today" is CURRENT_DATE.
-- topcop.reports.completeness reads v_expected_return: this file is the one place that
-- says what on time, late, missing and due mean.

-- When each return arrived: the first accepted submission carrying the dataset (a whole
-- 'return' workbook carries every dataset). Later revisions correct the figures but do
-- not change when the return arrived.
CREATE VIEW v_first_accepted AS
SELECT dataset, reporting_unit, period, submission_id, revision, received_at
FROM (
    SELECT d.dataset, s.reporting_unit, s.period, s.submission_id, s.revision, s.received_at,
           ROW_NUMBER() OVER (
               PARTITION BY d.dataset, s.reporting_unit, s.period
               ORDER BY s.received_at, s.revision, s.submission_id
           ) AS arrival
    FROM v_submission_accepted s
    JOIN dataset d ON s.dataset IN ('return', d.dataset)
) arrivals
WHERE arrival = 1;

-- Every reporting unit for every dataset and period of the calendar. A unit is expected
-- when its activity window covers the period's start, so a suspended unit is never
-- missing. A return is on time when its date of arrival (UTC) is on or before the
-- deadline, late after it; without one it is missing once the deadline has passed and
-- due until then, or not_expected from a unit that was not active.
CREATE VIEW v_expected_return AS
SELECT dataset, reporting_unit, period, period_start, period_end, deadline, closes_on,
       expected, submission_id, revision, received_at, days_late,
       CASE
           WHEN submission_id IS NOT NULL AND days_late <= 0 THEN 'on_time'
           WHEN submission_id IS NOT NULL THEN 'late'
           WHEN NOT expected THEN 'not_expected'
           WHEN CURRENT_DATE > deadline THEN 'missing'
           ELSE 'due'
       END AS status
FROM (
    SELECT c.dataset, u.reporting_unit, c.period, p.start_date AS period_start,
           p.end_date AS period_end, c.deadline, c.closes_on,
           (u.active_from <= p.start_date
            AND (u.active_until IS NULL OR p.start_date <= u.active_until)) AS expected,
           f.submission_id, f.revision, f.received_at,
           CAST(julianday(date(f.received_at)) - julianday(c.deadline) AS INTEGER) AS days_late
    FROM reporting_calendar c
    JOIN reporting_period p ON p.period = c.period
    CROSS JOIN reporting_unit u
    LEFT JOIN v_first_accepted f
        ON f.dataset = c.dataset AND f.reporting_unit = u.reporting_unit
       AND f.period = c.period
) returns_due;

-- The rates per dataset and period that has ended: expected returns, those accepted
-- (on time or late), missing and still due, as counts and as a percentage of expected.
-- Returns from units that were not expected count nowhere here.
CREATE VIEW v_reporting_rate AS
SELECT dataset, period, period_start, period_end, deadline,
       SUM(CASE WHEN expected THEN 1 ELSE 0 END) AS expected_returns,
       SUM(CASE WHEN expected AND submission_id IS NOT NULL THEN 1 ELSE 0 END) AS actual_returns,
       SUM(CASE WHEN expected AND status = 'on_time' THEN 1 ELSE 0 END) AS on_time_returns,
       SUM(CASE WHEN expected AND status = 'late' THEN 1 ELSE 0 END) AS late_returns,
       SUM(CASE WHEN status = 'missing' THEN 1 ELSE 0 END) AS missing_returns,
       SUM(CASE WHEN status = 'due' THEN 1 ELSE 0 END) AS due_returns,
       ROUND(100.0 * SUM(CASE WHEN expected AND submission_id IS NOT NULL THEN 1 ELSE 0 END)
             / NULLIF(SUM(CASE WHEN expected THEN 1 ELSE 0 END), 0), 1) AS reporting_rate,
       ROUND(100.0 * SUM(CASE WHEN expected AND status = 'on_time' THEN 1 ELSE 0 END)
             / NULLIF(SUM(CASE WHEN expected THEN 1 ELSE 0 END), 0), 1) AS on_time_rate
FROM v_expected_return
WHERE period_end < CURRENT_DATE
GROUP BY dataset, period, period_start, period_end, deadline;
