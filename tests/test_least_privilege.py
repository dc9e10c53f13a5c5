"""Least privilege in the database: the API's role sees one tenant whatever statement it sends.

These tests connect as the API role (``grc.rls.API_ROLE``) with plain psycopg, the way an injected statement would
reach the database, and try every way out of the tenant: the bypass setting, another role, switching row-level
security off, emptying a table. Each must fail or show nothing of the other side of the world.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import Table
from sqlalchemy.engine import make_url

from grc.models import Base
from tests import servers
from tests.conftest import on_postgresql

pytestmark = pytest.mark.skipif(not on_postgresql(), reason="roles and row-level security are PostgreSQL features")

TENANT_COLUMNS = ("tenant_id", "client_tenant_id", "cb_tenant_id")
PER_TENANT_TABLES = [table for table in Base.metadata.sorted_tables if "tenant_id" in table.c]


def connect(url: str) -> psycopg.Connection:
    parts = make_url(url)
    return psycopg.connect(host=parts.host, port=parts.port, user=parts.username, password=parts.password,
                           dbname=parts.database)


@pytest.fixture
def api(database_url: str) -> Iterator[psycopg.Connection]:
    """A connection as the API role, outside the application."""
    with connect(servers.as_api_role(database_url)) as conn:
        yield conn


@pytest.fixture
def owner(database_url: str) -> Iterator[psycopg.Connection]:
    with connect(database_url) as conn:
        conn.execute("SELECT set_config('app.rls_bypass', 'on', false)")
        yield conn


def scope_to(conn: psycopg.Connection, tenant_id: uuid.UUID) -> None:
    conn.execute("SELECT set_config('app.tenant_id', %s, true)", (str(tenant_id),))


def tenants_named(conn: psycopg.Connection, table: Table) -> set[uuid.UUID]:
    """Every tenant any visible row of ``table`` names (as owner, subject or CB it is shared with)."""
    columns = [name for name in TENANT_COLUMNS if name in table.c]
    rows = conn.execute(f"SELECT {', '.join(columns)} FROM {table.name}").fetchall()
    return {value for row in rows for value in row if value is not None}


def side(world, cb: str) -> set[uuid.UUID]:  # type: ignore[no-untyped-def]
    """A CB and the client it certifies: all the tenants a CB may ever see rows of."""
    return {world.tenants[cb], world.tenants[cb.replace("cb-", "client-")]}


def test_the_api_role_scoped_to_one_cb_sees_nothing_of_the_other_cb_in_any_per_tenant_table(api, owner, world):
    mine, theirs = side(world, "cb-a"), side(world, "cb-b")
    owner.execute("INSERT INTO counters (tenant_id, name, value) VALUES (%s, 'n', 1), (%s, 'n', 1)",
                  (world.tenants["cb-a"], world.tenants["cb-b"]))
    owner.commit()
    everything = {table.name: tenants_named(owner, table) for table in PER_TENANT_TABLES}
    assert {"users", "audit_events", "audit_chain_heads", "counters", "client_relationships"} <= {
        name for name, named in everything.items() if named & theirs}, "the other side has rows to hide"
    scope_to(api, world.tenants["cb-a"])
    seen = {table.name: tenants_named(api, table) for table in PER_TENANT_TABLES}
    assert {name: named for name, named in seen.items() if not named <= mine} == {}
    assert seen["users"] and seen["audit_chain_heads"] == seen["counters"] == {world.tenants["cb-a"]}
    assert {row[0] for row in api.execute("SELECT id FROM tenants")} == mine


def test_setting_the_bypass_as_the_api_role_changes_nothing(api, world):
    api.execute("SET app.rls_bypass = 'on'")
    assert api.execute("SELECT count(*) FROM users").fetchone() == (0,)
    assert api.execute("SELECT count(*) FROM tenants").fetchone() == (0,)
    scope_to(api, world.tenants["cb-a"])
    assert {row[0] for row in api.execute("SELECT tenant_id FROM users")} == {world.tenants["cb-a"]}


def test_a_temporary_table_cannot_pose_as_the_platform_tenant(api, world):
    api.execute("CREATE TEMPORARY TABLE tenants (id uuid, kind text)")
    api.execute("INSERT INTO pg_temp.tenants VALUES (%s, 'platform')", (world.tenants["cb-a"],))
    scope_to(api, world.tenants["cb-a"])
    assert {row[0] for row in api.execute("SELECT id FROM public.tenants")} == side(world, "cb-a")


@pytest.mark.parametrize("statement", [
    "SET ROLE grc",
    "SET SESSION AUTHORIZATION grc",
    "ALTER TABLE users DISABLE ROW LEVEL SECURITY",
    "ALTER TABLE users NO FORCE ROW LEVEL SECURITY",
    "DROP POLICY tenant_isolation ON users",
    "ALTER POLICY tenant_isolation ON users USING (true)",
    "TRUNCATE users",
    "TRUNCATE audit_events",
    "DROP TRIGGER audit_events_append_only ON audit_events",
    "CREATE OR REPLACE FUNCTION grc_rls_bypass() RETURNS boolean LANGUAGE sql AS $$ SELECT true $$",
    "DELETE FROM alembic_version",
])
def test_the_api_role_cannot_change_who_it_is_or_what_the_walls_are(api, world, statement):
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        api.execute(statement)
