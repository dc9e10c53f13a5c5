"""Scoping lives in one place: services cannot forget it, and PostgreSQL enforces it a second time."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select, text, update

from grc import tenancy
from grc.auth.models import User
from grc.extensions import db
from tests.conftest import on_postgresql, scope_params
from tests.world import act_as

ENTER_SCOPE = text("SELECT grc_enter_scope(:tenant, :writable, :proof)")


def emails(rows) -> set[str]:  # type: ignore[no-untyped-def]
    return {row if isinstance(row, str) else row.email for row in rows}


def test_a_query_with_no_caller_sees_nothing_rather_than_everything(app, world):
    with app.app_context():
        assert db.session.scalars(select(User)).all() == []
        assert db.session.get(User, world.users["cb_admin@cb-a.test"]) is None


def test_a_query_sees_only_the_callers_tenant_even_without_a_where_clause(app, world):
    with app.app_context():
        act_as("auditor@cb-b.test")
        assert {e.split("@")[1] for e in emails(db.session.scalars(select(User)))} == {"cb-b.test"}
        assert db.session.get(User, world.users["cb_admin@cb-a.test"]) is None


def test_bulk_updates_are_scoped_too(app, world):
    with app.app_context():
        act_as("cb_admin@cb-b.test")
        db.session.execute(update(User).values(name="renamed by cb-b"))
        db.session.commit()
    with app.app_context(), tenancy.system_scope(db.session):
        untouched = db.session.get(User, world.users["cb_admin@cb-a.test"])
        assert untouched.name != "renamed by cb-b"


def test_writing_a_row_into_another_tenant_is_refused(app, world):
    with app.app_context():
        act_as("cb_admin@cb-b.test")
        db.session.add(User(tenant_id=world.tenants["cb-a"], email="sneaky@cb-a.test", name="x", password_hash="x",
                            roles=["cb_admin"]))
        with pytest.raises(PermissionError):
            db.session.flush()


def test_every_api_route_with_a_resource_id_is_resolved_before_its_view(app):
    """A uuid path parameter without a visibility loader would fail create_app; this names what is covered."""
    assert {"client_id", "user_id", "api_client_id", "tenant_id"} <= tenancy.registered_path_params()


@pytest.mark.skipif(not on_postgresql(), reason="row-level security is a PostgreSQL feature")
def test_row_level_security_scopes_a_raw_query_without_the_application_filter(app, world):
    cb_a = world.tenants["cb-a"]
    with app.app_context(), db.engine.connect() as conn:
        with conn.begin():
            assert conn.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")).scalar() is False
        with conn.begin():
            conn.execute(ENTER_SCOPE, scope_params(cb_a))
            seen = emails(conn.execute(text("SELECT email FROM users")).scalars())
        assert seen and {e.split("@")[1] for e in seen} == {"cb-a.test"}
        with conn.begin():
            assert conn.execute(text("SELECT count(*) FROM users")).scalar() == 0  # no tenant set: nothing
        with conn.begin():
            conn.execute(ENTER_SCOPE, scope_params(cb_a))
            with pytest.raises(Exception, match="row-level security"):
                conn.execute(
                    text("INSERT INTO users (id, tenant_id, email, name, password_hash, roles, is_active, version,"
                         " created_at, updated_at) VALUES (:id, :t, 'x@y.z', 'x', 'x', '[]', true, 1, now(), now())"),
                    {"id": uuid.uuid4(), "t": world.tenants["cb-b"]},
                )


@pytest.mark.skipif(not on_postgresql(), reason="row-level security is a PostgreSQL feature")
def test_row_level_security_lets_both_sides_see_a_client_relationship(app, world):
    with app.app_context(), db.engine.connect() as conn:
        for tenant, expected in (("cb-a", 1), ("client-a", 1), ("client-b", 1), ("cb-b", 1)):
            with conn.begin():
                conn.execute(ENTER_SCOPE, scope_params(world.tenants[tenant]))
                assert conn.execute(text("SELECT count(*) FROM client_relationships")).scalar() == expected
