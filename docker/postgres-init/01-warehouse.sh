#!/bin/sh
# Runs once, when the postgres:15 data volume is empty. One server, two databases, each
# owned by its own role and closed to PUBLIC:
# - airflow: Airflow's metadata DB, owned by the airflow role (no superuser);
# - warehouse: owned by topcop_owner, which runs the migrations (airflow-init); the
#   pipeline connects as topcop_loader and analysts as topcop_analyst, whose rights
#   sql/migrations/0009_roles.postgresql.sql grants (it creates roles only when missing,
#   so the owner needs no CREATEROLE).
# Passwords are psql variables, quoted by psql (:'name'): a quote in one cannot end the
# string, and none is written into the SQL text.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v airflow_password="$AIRFLOW_DB_PASSWORD" \
  -v owner_password="$TOPCOP_OWNER_PASSWORD" \
  -v loader_password="$TOPCOP_LOADER_PASSWORD" \
  -v analyst_password="$TOPCOP_ANALYST_PASSWORD" <<'SQL'
CREATE ROLE airflow LOGIN PASSWORD :'airflow_password';
CREATE DATABASE airflow OWNER airflow;
REVOKE ALL ON DATABASE airflow FROM PUBLIC;

CREATE ROLE topcop_owner LOGIN PASSWORD :'owner_password';
CREATE ROLE topcop_loader LOGIN PASSWORD :'loader_password';
CREATE ROLE topcop_analyst LOGIN PASSWORD :'analyst_password';
CREATE DATABASE warehouse OWNER topcop_owner;
REVOKE ALL ON DATABASE warehouse FROM PUBLIC;
SQL
