#!/bin/sh
# Runs once, when the postgres volume is first initialised (official image, /docker-entrypoint-initdb.d).
# Two login roles, neither a superuser (a superuser would bypass FORCE ROW LEVEL SECURITY, grc/rls.py):
#   grc      owns the database: migrations, worker, scheduler and the CLI connect as it (the system role: its
#            app.rls_bypass is the only one that counts).
#   grc_api  the API's role: owns nothing, gets SELECT/INSERT/UPDATE/DELETE on the tables from `grc db upgrade`
#            (grc.rls.grant_api_role), so it can neither widen what it sees nor alter or empty a table.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres -v app_password="$GRC_DB_PASSWORD" \
  -v api_password="$GRC_API_DB_PASSWORD" <<'SQL'
CREATE ROLE grc LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS PASSWORD :'app_password';
CREATE ROLE grc_api LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS PASSWORD :'api_password';
CREATE DATABASE grc OWNER grc;
SQL
