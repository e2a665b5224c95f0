-- SQLite's julianday() for dates, so the reporting-rate views count days between two
-- dates with one expression on both databases: julianday(a) - julianday(b).
-- 2440587.5 is the Julian day of 1970-01-01 at midnight, as SQLite counts it.
CREATE FUNCTION julianday(day date) RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT CAST((day - DATE '1970-01-01') + 2440587.5 AS double precision) $$;
