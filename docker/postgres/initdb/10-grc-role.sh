#!/bin/sh
# Runs once, when the postgres volume is first initialised (official image, /docker-entrypoint-initdb.d).
# The application role owns its database but is not a superuser: FORCE ROW LEVEL SECURITY (grc/rls.py) then
# applies to every query it makes. Only a superuser would bypass the policies, so the API never is one.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres -v app_password="$GRC_DB_PASSWORD" <<'SQL'
CREATE ROLE grc LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS PASSWORD :'app_password';
CREATE DATABASE grc OWNER grc;
SQL
