#!/bin/sh
# The warehouse database and its roles: topcop_owner owns the schema and runs the
# migrations (airflow-init); the pipeline connects as topcop_loader and analysts as
# topcop_analyst, whose rights sql/migrations/0009_roles.postgresql.sql grants.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" <<SQL
CREATE ROLE topcop_owner LOGIN PASSWORD '${TOPCOP_OWNER_PASSWORD}';
CREATE ROLE topcop_loader LOGIN PASSWORD '${TOPCOP_LOADER_PASSWORD}';
CREATE ROLE topcop_analyst LOGIN PASSWORD '${TOPCOP_ANALYST_PASSWORD}';
CREATE DATABASE warehouse OWNER topcop_owner;
REVOKE ALL ON DATABASE warehouse FROM PUBLIC;
SQL
