#!/bin/sh
# Creates the warehouse database and the loader role the pipeline connects as;
# the schema itself (and the analyst role) comes from sql/migrations on first load.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" <<SQL
CREATE ROLE topcop_loader LOGIN PASSWORD '${TOPCOP_LOADER_PASSWORD}';
CREATE DATABASE warehouse OWNER topcop_loader;
SQL
