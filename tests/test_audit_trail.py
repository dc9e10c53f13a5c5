"""A1: every change writes an append-only, hash-chained audit event in the same transaction."""
from __future__ import annotations

import hashlib
import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select, text

from grc import tenancy
from grc.auditlog.models import AuditChainHead, AuditEvent
from grc.auditlog.service import HASH_VERSION
from grc.auth.models import User
from grc.db import new_id, utcnow
from grc.extensions import db
from tests.conftest import on_postgresql
from tests.test_auth import assert_problem
from tests.world import act_as

NEW_USER = {"email": "evan@cb-a.test", "name": "Evan", "password": "another long password", "roles": ["auditor"]}


def chain_head(app, tenant_id) -> int:  # type: ignore[no-untyped-def]
    with app.app_context(), tenancy.system_scope(db.session):
        head = db.session.get(AuditChainHead, tenant_id)
        return head.last_seq if head else 0


def events(app, tenant_id) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    with app.app_context(), tenancy.system_scope(db.session):
        query = select(AuditEvent).where(AuditEvent.tenant_id == tenant_id).order_by(AuditEvent.seq)
        return list(db.session.scalars(query))


def test_A1_creating_a_user_writes_an_event_naming_actor_entity_and_fields(app, client, world):
    headers = {**world.headers("cb_admin@cb-a.test"), "X-Request-ID": "req-a1-create"}
    created = client.post("/api/v1/users", headers=headers, json=NEW_USER).get_json()
    last = events(app, world.tenants["cb-a"])[-1]
    assert (last.action, last.entity_type, str(last.entity_id)) == ("user.created", "user", created["id"])
    assert last.actor_type == "user" and last.actor_id == world.users["cb_admin@cb-a.test"]
    assert last.changes["email"] == "evan@cb-a.test" and last.changes["password_hash"] == "[set]"
    assert last.request_id == "req-a1-create"


def test_A1_an_update_records_old_and_new_values_and_hides_secrets(app, client, world):
    headers = world.headers("cb_admin@cb-a.test")
    url = f"/api/v1/users/{world.users['auditor@cb-a.test']}"
    etag = client.get(url, headers=headers).headers["ETag"]
    edits = {"name": "Renamed", "password": "a brand new password"}
    client.patch(url, headers={**headers, "If-Match": etag}, json=edits)
    last = events(app, world.tenants["cb-a"])[-1]
    assert last.action == "user.updated"
    assert last.changes["name"] == ["auditor", "Renamed"] and last.changes["password_hash"] == "[changed]"


def test_A1_a_refused_change_leaves_no_event_and_no_row(app, client, world):
    before = chain_head(app, world.tenants["cb-a"])
    headers = world.headers("cb_admin@cb-a.test")
    url = f"/api/v1/users/{world.users['cb_admin@cb-a.test']}"
    etag = client.get(url, headers=headers).headers["ETag"]
    assert_problem(client.patch(url, headers={**headers, "If-Match": etag}, json={"is_active": False}), 409)
    assert_problem(client.post("/api/v1/users", headers=headers, json={**NEW_USER, "roles": ["nope"]}), 422)
    assert chain_head(app, world.tenants["cb-a"]) == before


def test_A1_the_chain_verifies_and_names_the_first_altered_event(app, client, world):
    admin = world.headers("cb_admin@cb-a.test")
    for n in range(3):
        client.post("/api/v1/users", headers=admin, json={**NEW_USER, "email": f"e{n}@cb-a.test"})
    report = client.get("/api/v1/audit-events/verify", headers=admin).get_json()
    assert report["valid"] is True and report["checked"] == chain_head(app, world.tenants["cb-a"])
    target = events(app, world.tenants["cb-a"])[2]
    tamper(app, "UPDATE audit_events SET changes = :c WHERE id = :id", {"c": '{"name": "forged"}', "id": target.id})
    report = client.get("/api/v1/audit-events/verify", headers=admin).get_json()
    assert report["valid"] is False
    assert report["first_broken"]["seq"] == 3 and report["first_broken"]["id"] == str(target.id)
    assert "altered" in report["first_broken"]["reason"]


def test_A1_a_deleted_event_breaks_the_chain_where_it_was(app, client, world):
    admin = world.headers("cb_admin@cb-a.test")
    for n in range(3):
        client.post("/api/v1/users", headers=admin, json={**NEW_USER, "email": f"d{n}@cb-a.test"})
    target = events(app, world.tenants["cb-a"])[4]
    tamper(app, "DELETE FROM audit_events WHERE id = :id", {"id": target.id})
    broken = client.get("/api/v1/audit-events/verify", headers=admin).get_json()["first_broken"]
    assert broken["seq"] == 5 and "missing" in broken["reason"]


def test_A1_the_database_itself_refuses_to_update_or_delete_events(app, world):
    with app.app_context():
        engine = db.engine
        for statement in ("UPDATE audit_events SET action = 'x'", "DELETE FROM audit_events"):
            with pytest.raises(Exception, match="append-only"):
                with engine.begin() as conn:
                    _bypass_rls(conn)
                    conn.execute(text(statement))


def test_A1_concurrent_writers_in_one_tenant_keep_one_unbroken_chain(app, client, world):
    admin = world.headers("cb_admin@cb-a.test")
    statuses: list[int] = []

    def invite(n: int) -> None:
        response = app.test_client().post("/api/v1/users", headers=admin, json={**NEW_USER, "email": f"c{n}@cb-a.test"})
        statuses.append(response.status_code)

    threads = [threading.Thread(target=invite, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [201] * 8
    seqs = [event.seq for event in events(app, world.tenants["cb-a"])]
    assert seqs == list(range(1, len(seqs) + 1))
    assert client.get("/api/v1/audit-events/verify", headers=admin).get_json()["valid"] is True


@pytest.mark.skipif(not on_postgresql(), reason="SQLite has one writer at a time (BEGIN IMMEDIATE) anyway")
def test_A1_a_writer_holds_its_tenants_chain_only_while_it_commits(app, client, world):
    """An open transaction that changed a user has noted its event but not locked the chain: another writer of
    the same tenant commits meanwhile; then the first commits, and the chain holds both, unbroken."""
    admin = world.headers("cb_admin@cb-a.test")
    with app.app_context():
        act_as("cb_admin@cb-a.test")
        user = db.session.get(User, world.users["auditor@cb-a.test"])
        user.name = "Renamed while another writer commits"
        db.session.flush()
        other = ThreadPoolExecutor(1).submit(
            lambda: app.test_client().post("/api/v1/users", headers=admin, json=NEW_USER).status_code)
        assert other.result(timeout=10) == 201  # not queued behind the open transaction
        db.session.commit()
    assert [e.action for e in events(app, world.tenants["cb-a"])][-2:] == ["user.created", "user.updated"]
    assert client.get("/api/v1/audit-events/verify", headers=admin).get_json()["valid"] is True


def test_A1_a_rolled_back_change_leaves_no_event_for_the_next_commit(app, world):
    before = chain_head(app, world.tenants["cb-a"])
    with app.app_context():
        act_as("cb_admin@cb-a.test")
        db.session.get(User, world.users["auditor@cb-a.test"]).name = "Never saved"
        db.session.flush()
        db.session.rollback()
        db.session.get(User, world.users["auditor@cb-a.test"]).name = "Saved"
        db.session.commit()
    added = events(app, world.tenants["cb-a"])[before:]
    assert [(e.action, e.changes["name"][1]) for e in added] == [("user.updated", "Saved")]


def test_A1_admins_list_events_newest_first_filtered_by_entity(client, world):
    admin = world.headers("cb_admin@cb-a.test")
    user_id = world.users["auditor@cb-a.test"]
    page = client.get("/api/v1/audit-events", headers=admin, query_string={"entity_id": user_id}).get_json()
    assert [e["action"] for e in page["items"]] == ["user.created"]
    newest = client.get("/api/v1/audit-events?limit=3", headers=admin).get_json()["items"]
    assert [e["seq"] for e in newest] == sorted((e["seq"] for e in newest), reverse=True)
    assert_problem(client.get("/api/v1/audit-events", headers=world.headers("auditor@cb-a.test")), 403)


def test_A1_a_changed_request_id_of_an_event_breaks_the_chain(app, client, world):
    """Events are hashed in format 2, which covers request_id (and the event's id): format 1 left them out."""
    admin = world.headers("cb_admin@cb-a.test")
    client.post("/api/v1/users", headers={**admin, "X-Request-ID": "req-genuine"}, json=NEW_USER)
    target = events(app, world.tenants["cb-a"])[-1]
    assert (target.request_id, target.hash_version) == ("req-genuine", HASH_VERSION) and HASH_VERSION == 2
    tamper(app, "UPDATE audit_events SET request_id = :r WHERE id = :id", {"r": "req-forged", "id": target.id})
    report = client.get("/api/v1/audit-events/verify", headers=admin).get_json()
    assert report["valid"] is False and report["first_broken"]["id"] == str(target.id)
    assert "altered" in report["first_broken"]["reason"]


def test_A1_an_event_passed_off_as_the_old_format_breaks_the_chain(app, client, world):
    """Downgrading a new event to format 1 (which ignores request_id) does not make a forged request_id pass."""
    admin = world.headers("cb_admin@cb-a.test")
    client.post("/api/v1/users", headers=admin, json=NEW_USER)
    target = events(app, world.tenants["cb-a"])[-1]
    tamper(app, "UPDATE audit_events SET request_id = 'req-forged', hash_version = 1 WHERE id = :id", {"id": target.id})
    report = client.get("/api/v1/audit-events/verify", headers=admin).get_json()
    assert report["valid"] is False and report["first_broken"]["id"] == str(target.id)


def test_A1_a_chain_holding_events_of_the_old_format_still_verifies(app, client, world):
    """Events written before hash formats were numbered (format 1, inserted here as that code did: without the
    column, hashed without request_id and id) verify next to the new ones that follow them on the same chain."""
    admin = world.headers("cb_admin@cb-a.test")
    append_old_format_events(app, world.tenants["cb-a"], 3)
    client.post("/api/v1/users", headers=admin, json=NEW_USER)
    trail = events(app, world.tenants["cb-a"])
    assert [e.hash_version for e in trail[-4:]] == [1, 1, 1, 2]
    report = client.get("/api/v1/audit-events/verify", headers=admin).get_json()
    assert report == {"valid": True, "checked": len(trail), "first_broken": None}
    old = trail[-2]
    tamper(app, "UPDATE audit_events SET changes = :c WHERE id = :id", {"c": '{"name": "forged"}', "id": old.id})
    broken = client.get("/api/v1/audit-events/verify", headers=admin).get_json()["first_broken"]
    assert broken["id"] == str(old.id) and "altered" in broken["reason"]  # format 1 still guards what it covered


def append_old_format_events(app, tenant_id, count: int) -> None:  # type: ignore[no-untyped-def]
    """Extend the tenant's chain as the code before hash versions did: its formula, copied here, and a row without
    hash_version (the column's default says 1)."""
    with app.app_context(), tenancy.system_scope(db.session):
        head = db.session.scalars(select(AuditChainHead).where(AuditChainHead.tenant_id == tenant_id)
                                  .with_for_update()).one()
        for _ in range(count):
            event = {"tenant_id": tenant_id, "seq": head.last_seq + 1, "occurred_at": utcnow(),
                     "actor_type": "system", "actor_id": None, "action": "user.updated", "entity_type": "user",
                     "entity_id": new_id(), "changes": {"name": ["old", "new"]}, "prev_hash": head.last_hash}
            canonical = {**event, "tenant_id": str(tenant_id), "entity_id": str(event["entity_id"]),
                         "occurred_at": event["occurred_at"].isoformat(timespec="microseconds")}
            payload = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            digest = hashlib.sha256(payload.encode()).hexdigest()
            db.session.execute(AuditEvent.__table__.insert().values(
                {**event, "id": new_id(), "request_id": "req-old", "hash": digest}))
            head.last_seq, head.last_hash = event["seq"], digest
        db.session.commit()


def tamper(app, statement: str, params: dict) -> None:  # type: ignore[no-untyped-def,type-arg]
    """Alter the trail behind the application's back, as an attacker with database access would."""
    with app.app_context(), db.engine.begin() as conn:
        _bypass_rls(conn)
        if conn.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"))
            conn.execute(text(statement), params)
            conn.execute(text("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only"))
        else:
            conn.execute(text("DROP TRIGGER audit_events_no_update"))
            conn.execute(text("DROP TRIGGER audit_events_no_delete"))
            sqlite_params = {k: (v.hex if hasattr(v, "hex") and not isinstance(v, str) else v)
                             for k, v in params.items()}
            conn.execute(text(statement), sqlite_params)


def _bypass_rls(conn) -> None:  # type: ignore[no-untyped-def]
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT set_config('app.rls_bypass', 'on', true)"))
