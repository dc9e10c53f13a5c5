"""PostgreSQL row-level security, the API role's grants and append-only guards (the third wall of tenancy.py).

Policies key on the per-transaction settings that ``tenancy`` writes: ``app.tenant_id`` (the caller's
tenant), ``app.writable_tenants`` (tenants a service was explicitly allowed to write to in this unit of
work) and ``app.rls_bypass`` (system scope: jobs and the CLI). ``FORCE ROW LEVEL SECURITY`` applies the
policies to the table owner too; only a superuser bypasses them, and no process of grc is one.

Two login roles (migration 0011): the database owner runs migrations, jobs and the CLI and is the only role
whose ``app.rls_bypass`` counts; the API connects as ``API_ROLE``, which may read and write rows but owns
nothing, so it can neither widen its own visibility nor change or empty a table (``grant_api_role``).
"""
from __future__ import annotations

import re
from collections.abc import Callable

from alembic import op
from sqlalchemy.engine import Connection

FUNCTIONS = """
CREATE OR REPLACE FUNCTION grc_rls_bypass() RETURNS boolean LANGUAGE sql STABLE AS
$$ SELECT coalesce(current_setting('app.rls_bypass', true), '') = 'on' $$;
CREATE OR REPLACE FUNCTION grc_current_tenant() RETURNS uuid LANGUAGE sql STABLE AS
$$ SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid $$;
CREATE OR REPLACE FUNCTION grc_may_write(t uuid) RETURNS boolean LANGUAGE sql STABLE AS
$$ SELECT grc_rls_bypass() OR t = grc_current_tenant()
       OR t::text = ANY(string_to_array(NULLIF(current_setting('app.writable_tenants', true), ''), ',')) $$;
CREATE OR REPLACE FUNCTION grc_append_only() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$;
"""
DROP_FUNCTIONS = """
DROP FUNCTION IF EXISTS grc_append_only();
DROP FUNCTION IF EXISTS grc_may_write(uuid);
DROP FUNCTION IF EXISTS grc_current_tenant();
DROP FUNCTION IF EXISTS grc_rls_bypass();
"""
OWN_ROWS = "tenant_id = grc_current_tenant()"


def is_postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def create_functions() -> None:
    if is_postgresql():
        op.execute(FUNCTIONS)


def drop_functions() -> None:
    if is_postgresql():
        op.execute(DROP_FUNCTIONS)


# From migration 0011 on, the write condition reads the tenants this unit of work may write to (the caller's and
# those a service allowed, sealed to the transaction) once per statement, as the bypass and the tenant are read.
BYPASS_ONCE = "(SELECT grc_rls_bypass())"
WRITABLE_ONCE = "(SELECT grc_writable_tenants())::uuid[]"


def may_write_once(column: str = "tenant_id") -> str:
    return f"{column} = ANY ({WRITABLE_ONCE})"


def enable_tenant_rls(table: str, visible: str = OWN_ROWS) -> None:
    """Rows are readable where ``visible`` holds and writable only in the caller's (or an allowed) tenant."""
    if not is_postgresql():
        return
    sealed = op.get_bind().exec_driver_sql("SELECT to_regprocedure('grc_writable_tenants()')").scalar() is not None
    may_write = f"({may_write_once()})" if sealed else "grc_may_write(tenant_id)"
    check = f"{BYPASS_ONCE} OR {may_write_once()}" if sealed else may_write
    _enable(table, read_once(f"grc_rls_bypass() OR {visible} OR {may_write}"), check)


def enable_parent_rls(table: str, column: str, parent: str) -> None:
    """Rows of a link table (no tenant of their own) are readable with their ``parent`` row (``column`` names it)
    and writable where the parent is (migration 0011 on)."""
    if not is_postgresql():
        return
    parent_row = f"SELECT 1 FROM {parent} WHERE {parent}.id = {table}.{column}"
    _enable(table, f"{BYPASS_ONCE} OR EXISTS ({parent_row})",
            f"{BYPASS_ONCE} OR EXISTS ({parent_row} AND {may_write_once(f'{parent}.tenant_id')})")


def _enable(table: str, visible: str, check: str) -> None:
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY tenant_isolation ON {table} USING ({visible}) WITH CHECK ({check})")


# A setting read through a bare call is read again for every row the policy filters (a third of a heat map's
# time over 100,000 risks); as a scalar subquery PostgreSQL reads it once per statement (an InitPlan).
_PER_ROW_SETTING = re.compile(r"(?<!SELECT )\b(grc_rls_bypass|grc_current_tenant)\(\)")


def read_once(expression: str) -> str:
    """``expression`` with each bare ``grc_rls_bypass()`` / ``grc_current_tenant()`` read once per statement;
    already wrapped calls (as PostgreSQL prints them back: ``( SELECT grc_current_tenant() AS ...)``) stay."""
    return _PER_ROW_SETTING.sub(r"(SELECT \1())", expression)


def read_per_row(expression: str) -> str:
    """The inverse of ``read_once`` on a policy as PostgreSQL prints it (for downgrades)."""
    return re.sub(r"\( SELECT (grc_rls_bypass|grc_current_tenant)\(\) AS \w+\)", r"\1()", expression)


def rewrite_policies(rewrite: Callable[[str], str], check: Callable[[str], str] | None = None) -> None:
    """Apply ``rewrite`` to the read condition (and ``check``, when given, to the write condition) of every
    tenant_isolation policy in the database."""
    if not is_postgresql():
        return
    policies = op.get_bind().exec_driver_sql(
        "SELECT tablename, qual, with_check FROM pg_policies"
        " WHERE schemaname = current_schema() AND policyname = 'tenant_isolation'"
    ).all()
    for table, qual, with_check in policies:
        write = f" WITH CHECK ({check(with_check)})" if check and with_check else ""
        op.execute(f"ALTER POLICY tenant_isolation ON {table} USING ({rewrite(qual)}){write}")


API_ROLE = "grc_api"
_API_GRANTS = """
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {role};
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {role};
REVOKE ALL ON {schema}.alembic_version FROM {role};
REVOKE UPDATE, DELETE ON {schema}.revoked_tokens FROM {role};
DO $$ BEGIN
  IF to_regclass('{schema}.view_versions') IS NOT NULL THEN REVOKE DELETE ON {schema}.view_versions FROM {role}; END IF;
  IF to_regclass('{schema}.signing_keys') IS NOT NULL THEN REVOKE DELETE ON {schema}.signing_keys FROM {role}; END IF;
END $$;
ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role};
ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT USAGE, SELECT ON SEQUENCES TO {role};
"""
_API_REVOKES = """
ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} REVOKE ALL ON SEQUENCES FROM {role};
ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} REVOKE ALL ON TABLES FROM {role};
REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema} FROM {role};
REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {role};
"""


def grant_api_role(connection: Connection) -> bool:
    """Let ``API_ROLE`` read and write rows of every table, now and in the tables later migrations create (row-level
    security still decides which rows); nothing more: no TRUNCATE, no DDL, not the migration table, and revocations
    only added (logout), never lifted (the owner's cleanup job removes expired ones), view versions never deleted
    (a deleted version, written again from 1, could pass a stale cached view as fresh), signing keys never deleted
    (the credentials a deleted key signed could no longer be verified: rotation retires). Idempotent:
    ``grc db upgrade`` runs it after migrating, so a role created after the migrations gets its grants there.
    Returns whether the role exists (without it there is nothing to grant)."""
    return _api_privileges(connection, _API_GRANTS)


def revoke_api_role(connection: Connection) -> bool:
    """Undo ``grant_api_role`` (a downgrade past the two roles)."""
    return _api_privileges(connection, _API_REVOKES)


def store_scope_key(connection: Connection, key: bytes) -> bool:
    """Keep the key that proves a tenant scope (``grc.tenancy.scope_key``) where only the owner reads it; the API
    derives the same key from its GRC_SECRET_KEY. Returns False where there is nowhere to keep it (SQLite, or a
    schema before migration 0011)."""
    if connection.dialect.name != "postgresql":
        return False
    if connection.exec_driver_sql("SELECT to_regclass('grc_private.scope_key')").scalar() is None:
        return False
    connection.exec_driver_sql(
        "INSERT INTO grc_private.scope_key (id, key) VALUES (1, %(key)s)"
        " ON CONFLICT (id) DO UPDATE SET key = excluded.key", {"key": key},
    )
    return True


def _api_privileges(connection: Connection, statements: str) -> bool:
    if connection.dialect.name != "postgresql":
        return False
    if connection.exec_driver_sql(f"SELECT 1 FROM pg_roles WHERE rolname = '{API_ROLE}'").first() is None:
        return False
    schema = connection.exec_driver_sql("SELECT quote_ident(current_schema())").scalar_one()
    connection.exec_driver_sql(statements.format(schema=schema, role=API_ROLE))
    return True


def disable_tenant_rls(table: str) -> None:
    if not is_postgresql():
        return
    op.execute(f"DROP POLICY IF EXISTS tenant_isolation ON {table}")
    op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")


def make_append_only(table: str) -> None:
    """Reject UPDATE and DELETE on ``table`` in the database itself (PostgreSQL and SQLite)."""
    if is_postgresql():
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION grc_append_only()"
        )
        return
    for verb in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
        )


def drop_append_only(table: str) -> None:
    if is_postgresql():
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        return
    for verb in ("update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{verb}")
