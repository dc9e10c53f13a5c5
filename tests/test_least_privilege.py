"""Least privilege in the database: the API's role sees one tenant whatever statement it sends.

These tests connect as the API role (``grc.rls.API_ROLE``) with plain psycopg, the way an injected statement would
reach the database, and try every way out of the tenant: the bypass setting, another role, switching row-level
security off, emptying a table. Each must fail or show nothing of the other side of the world.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date

import psycopg
import pytest
from sqlalchemy import Table, event
from sqlalchemy.engine import make_url

from grc.models import Base
from grc.rls import API_ROLE
from tests import servers
from tests.certification import Certification
from tests.conftest import on_postgresql, request_engine, scope_params

pytestmark = pytest.mark.skipif(not on_postgresql(), reason="roles and row-level security are PostgreSQL features")

TENANT_COLUMNS = ("tenant_id", "client_tenant_id", "cb_tenant_id")
ENTER_SCOPE = "SELECT grc_enter_scope(%(tenant)s, %(writable)s, %(proof)s)"
PER_TENANT_TABLES = [table for table in Base.metadata.sorted_tables if "tenant_id" in table.c]
# Tables without a tenant of their own whose rows link tenant rows: each goes with the row its first column names.
# Not links: tenants (its own policy), revoked token ids and view versions (no tenant data; the API may only add to
# either, tested below).
LINK_TABLES = [table for table in Base.metadata.sorted_tables
               if "tenant_id" not in table.c and table.name not in ("tenants", "revoked_tokens", "view_versions")]


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


def scope_to(conn: psycopg.Connection, tenant_id: uuid.UUID, writable: str = "") -> None:
    """Enter a tenant's scope as the API does: through grc_enter_scope, with the proof only the app can make."""
    conn.execute(ENTER_SCOPE, scope_params(tenant_id, writable))


def users_seen(conn: psycopg.Connection) -> set[uuid.UUID]:
    return {row[0] for row in conn.execute("SELECT DISTINCT tenant_id FROM users")}


def tenants_named(conn: psycopg.Connection, table: Table) -> set[uuid.UUID]:
    """Every tenant any visible row of ``table`` names (as owner, subject or CB it is shared with)."""
    columns = [name for name in TENANT_COLUMNS if name in table.c]
    rows = conn.execute(f"SELECT {', '.join(columns)} FROM {table.name}").fetchall()
    return {value for row in rows for value in row if value is not None}


def side(world, cb: str) -> set[uuid.UUID]:  # type: ignore[no-untyped-def]
    """A CB and the client it certifies: all the tenants a CB may ever see rows of."""
    return {world.tenants[cb], world.tenants[cb.replace("cb-", "client-")]}


def test_T2_the_api_role_scoped_to_one_cb_sees_nothing_of_the_other_cb_in_any_per_tenant_table(api, owner, world):
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


def parent_of(table: Table) -> tuple[str, str]:
    """The column of a link table that names the row it goes with, and that row's table."""
    column = next(iter(table.c))
    return column.name, next(iter(column.foreign_keys)).column.table.name


def test_T2_link_tables_show_and_lose_only_the_rows_of_the_callers_tenant(api, owner, client, world):
    for cb, client_slug in (("cb-a", "client-a"), ("cb-b", "client-b")):
        Certification(client, world, cb, client_slug).plan("stage1", date(2027, 3, 1))
    assert {table.name for table in LINK_TABLES} == {
        "audit_schemes", "licence_certificates", "decision_audits", "risk_controls"}, "a new link table: check it"
    scope_to(api, world.tenants["cb-a"])
    for table in LINK_TABLES:
        column, parent = parent_of(table)
        orphans = f"SELECT count(*) FROM {table.name} WHERE {column} NOT IN (SELECT id FROM {parent})"
        assert api.execute(orphans).fetchone() == (0,), f"{table.name} shows rows of parents the caller cannot see"
    assert api.execute("DELETE FROM audit_schemes").rowcount == 1
    api.commit()
    tenants_left = "SELECT DISTINCT a.tenant_id FROM audit_schemes s JOIN audits a ON a.id = s.audit_id"
    assert [row[0] for row in owner.execute(tenants_left)] == [world.tenants["cb-b"]]


def test_T2_setting_the_bypass_as_the_api_role_changes_nothing(api, world):
    api.execute("SET app.rls_bypass = 'on'")
    assert api.execute("SELECT count(*) FROM users").fetchone() == (0,)
    assert api.execute("SELECT count(*) FROM tenants").fetchone() == (0,)
    scope_to(api, world.tenants["cb-a"])
    assert {row[0] for row in api.execute("SELECT tenant_id FROM users")} == {world.tenants["cb-a"]}


def test_T2_setting_another_tenant_as_the_api_role_shows_nothing(api, world):
    cb_b = str(world.tenants["cb-b"])
    api.execute("SELECT set_config('app.tenant_id', %s, false)", (cb_b,))
    assert users_seen(api) == set()
    scope_to(api, world.tenants["cb-a"])
    api.execute("SELECT set_config('app.tenant_id', %s, true)", (cb_b,))  # inside a sealed scope
    assert users_seen(api) == set()
    api.execute("SELECT set_config('app.writable_tenants', %s, true)", (cb_b,))
    assert users_seen(api) == set()


def test_T2_a_scope_needs_the_apps_proof(api, world):
    forged = {**scope_params(world.tenants["cb-b"]), "proof": b"\0" * 32}
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="proof"):
        api.execute(ENTER_SCOPE, forged)
    api.rollback()
    proof_for_a = scope_params(world.tenants["cb-a"])["proof"]
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="proof"):
        api.execute(ENTER_SCOPE, {**scope_params(world.tenants["cb-b"]), "proof": proof_for_a})
    api.rollback()
    with pytest.raises(psycopg.errors.InsufficientPrivilege):  # the key lives where only the owner reads
        api.execute("SELECT key FROM grc_private.scope_key")


def test_T2_a_seal_seen_in_one_transaction_is_worth_nothing_in_the_next(api, world):
    scope_to(api, world.tenants["cb-b"])  # a scope the attacker saw the app enter
    sealed = {name: api.execute("SELECT current_setting(%s)", (name,)).fetchone()[0]
              for name in ("app.tenant_id", "app.writable_tenants", "app.scope_seal")}
    assert users_seen(api) == {world.tenants["cb-b"]}
    api.commit()
    for name, value in sealed.items():
        api.execute("SELECT set_config(%s, %s, true)", (name, value))
    assert users_seen(api) == set()


def test_T2_a_temporary_table_cannot_pose_as_the_platform_tenant(api, world):
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
    "DELETE FROM revoked_tokens",
    "UPDATE revoked_tokens SET expires_at = now()",
    "DELETE FROM view_versions",
    "DELETE FROM signing_keys",
])
def test_T2_the_api_role_cannot_change_who_it_is_or_what_the_walls_are(api, world, statement):
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        api.execute(statement)


def test_T2_the_api_role_cannot_set_a_view_version_back_to_pass_a_stale_cached_view_as_fresh(api, owner, world):
    """A cached view is served while its owners' versions are those it was stored with (grc.viewcache): an injected
    statement that set a version back would have a stale view served again. Versions only grow."""
    cb_a = world.tenants["cb-a"]
    [(version,)] = owner.execute("INSERT INTO view_versions (owner, version) VALUES (%s, 1) ON CONFLICT (owner)"
                                 " DO UPDATE SET version = view_versions.version + 1 RETURNING version", (cb_a,))
    owner.commit()
    with pytest.raises(psycopg.errors.RaiseException):
        api.execute("UPDATE view_versions SET version = %s WHERE owner = %s", (version - 1, cb_a))
    api.rollback()
    api.execute("UPDATE view_versions SET version = version + 1 WHERE owner = %s", (cb_a,))


def test_T2_the_apps_requests_connect_as_the_api_role(app, client, world):
    """The suite's requests run as the API role (tests/conftest.py), so every scenario test proves it suffices."""
    engine, statements = request_engine(app), []
    assert engine.url.username == API_ROLE

    def record(_conn, _cursor, statement, *_rest):  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        assert client.get("/api/v1/me", headers=world.headers("auditor@cb-a.test")).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert any("FROM users" in statement for statement in statements)
