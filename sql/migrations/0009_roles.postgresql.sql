-- Who may do what on PostgreSQL: topcop_loader writes returns, topcop_analyst only reads.
-- Roles belong to the whole server, not to one database: they are created only when
-- missing, so every database of the server can run this file. Passwords never appear
-- in a file: the migration runner passes TOPCOP_LOADER_PASSWORD and
-- TOPCOP_ANALYST_PASSWORD from its environment as the settings topcop.loader_password
-- and topcop.analyst_password; a role without one cannot log in with a password.
-- The schema and its objects stay with the account that runs the migrations.

DO $$
DECLARE
    member text;
    secret text;
BEGIN
    FOREACH member IN ARRAY ARRAY['topcop_loader', 'topcop_analyst'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = member) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I LOGIN', member);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;  -- another database's migration created it a moment ago
            END;
        END IF;
        secret := NULLIF(current_setting('topcop.' || substr(member, 8) || '_password', true), '');
        IF secret IS NOT NULL THEN
            EXECUTE format('ALTER ROLE %I LOGIN PASSWORD %L', member, secret);
        END IF;
    END LOOP;
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO topcop_loader, topcop_analyst',
                   current_database());
END
$$;

GRANT USAGE ON SCHEMA public TO topcop_loader, topcop_analyst;

-- The loader records files, findings and facts, keeps the dimensions in step with the
-- codelists and marks reminders written. History is append-only: it may add to the audit
-- and fact tables but never change or remove a row of them.
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO topcop_loader;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO topcop_loader;
REVOKE UPDATE, DELETE ON submission, finding, expectation_result, indicator_fact,
    seizure_fact, report_build, report_build_submission, alert FROM topcop_loader;
REVOKE DELETE ON reminder FROM topcop_loader;
REVOKE INSERT, UPDATE, DELETE ON schema_migrations FROM topcop_loader;

-- The analyst reads the dimensions, the audit and fact tables and every view; not the
-- calendar's mailing records (addresses) nor the migration bookkeeping.
GRANT SELECT ON ALL TABLES IN SCHEMA public TO topcop_analyst;
REVOKE SELECT ON reminder, alert, schema_migrations FROM topcop_analyst;

-- Tables and views that later migrations create get the same rights.
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO topcop_loader;
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO topcop_loader;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO topcop_analyst;
