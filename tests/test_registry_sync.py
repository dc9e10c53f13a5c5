"""IAF CertSearch sync (G1, G2) against the stand-in registry of tests/certsearch_registry.py, which knows the
registry's documentation and nothing of grc's serializer."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text

from grc import tenancy
from grc.extensions import db
from grc.jobs.job_functions import push_registry_records
from grc.registry.models import RegistryConnection, RegistryRecordState, SyncStatus
from tests.certsearch_registry import CertSearch, running
from tests.test_auth import assert_problem
from tests.test_certification import TODAY, Decisions

CONNECTION = "/api/v1/registry-connections/certsearch"
UNTIL = (TODAY + timedelta(days=60)).isoformat()


@pytest.fixture
def registry(app: Flask) -> Iterator[CertSearch]:
    """The stand-in on 127.0.0.1, which the operator's allow-list lets the server reach for this test."""
    settings = app.config["GRC_SETTINGS"]
    app.config["GRC_SETTINGS"] = replace(settings, webhook_allowed_hosts="127.0.0.1", registry_timeout_seconds=2)
    try:
        with running() as stand_in:
            yield stand_in
    finally:
        app.config["GRC_SETTINGS"] = settings


def api_root(registry: CertSearch) -> str:
    return f"{registry.base_url}/api/client/v1"


def connect(client: FlaskClient, world: Any, registry: CertSearch, cb: str = "cb-a", **settings: Any) -> str:
    """The CB's admin connects with a key the registry issued to the CB's account; returns the key."""
    key = registry.issue_key(cb)
    body = {"api_key": key, "base_url": api_root(registry), "enabled": True, "dry_run": False, **settings}
    response = client.put(CONNECTION, headers=world.headers(f"cb_admin@{cb}.test"), json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    return key


def push(app: Flask) -> dict[str, int]:
    """What the worker does after the commit (the embedded mode may already have done it in-process)."""
    with app.app_context():
        return push_registry_records()


def states(app: Flask) -> dict[str, RegistryRecordState]:
    with app.app_context(), tenancy.system_scope(db.session):
        return {str(state.certificate_id): state for state in db.session.scalars(select(RegistryRecordState))}


# --------------------------------------------------------------------------- the connection


def test_G2_the_api_key_is_write_only_sealed_to_its_connection_and_never_returned(app, client, world, registry):
    key = connect(client, world, registry)
    shown = client.get(CONNECTION, headers=world.headers("cb_viewer@cb-a.test"))
    assert shown.status_code == 200
    assert key not in shown.get_data(as_text=True) and "api_key" not in shown.get_json()["connection"]
    assert shown.get_json()["connection"]["base_url"] == api_root(registry)
    with app.app_context(), tenancy.system_scope(db.session):
        stored = db.session.execute(text("SELECT sealed_api_key FROM registry_connections")).scalar_one()
    assert key.encode() not in bytes(stored)
    refused = client.put(CONNECTION, headers=world.headers("certification_manager@cb-a.test"), json={"enabled": False})
    assert_problem(refused, 403)


def test_G2_a_connection_needs_a_key_and_an_address_the_ssrf_guard_allows(client, world, registry):
    no_key = client.put(CONNECTION, headers=world.headers("cb_admin@cb-a.test"), json={"enabled": True})
    assert assert_problem(no_key, 422)["errors"] == {"api_key": [
        "The registry's API key is needed to create the connection."]}
    internal = client.put(CONNECTION, headers=world.headers("cb_admin@cb-a.test"),
                          json={"api_key": "k" * 20, "base_url": "http://169.254.169.254/latest"})
    assert "base_url" in assert_problem(internal, 422)["errors"]
    assert_problem(client.get(CONNECTION, headers=world.headers("cb_admin@cb-b.test")), 404)


def test_G2_the_key_check_is_a_harmless_read_that_says_whether_the_registry_takes_the_key(client, world, registry):
    key = connect(client, world, registry)
    checked = client.post(f"{CONNECTION}/test", headers=world.headers("cb_admin@cb-a.test"))
    assert checked.status_code == 200 and checked.get_json() == {
        "ok": True, "status": 200, "message": "The registry accepted the API key."}
    assert [(call.method, call.api_key) for call in registry.calls] == [("GET", key)]
    registry.revoke_key(key)
    refused = client.post(f"{CONNECTION}/test", headers=world.headers("cb_admin@cb-a.test")).get_json()
    assert refused == {"ok": False, "status": 401, "message": "Invalid Session token has been used."}
    assert registry.uploads() == []


# --------------------------------------------------------------------------- G1 before sending


def test_G1_a_record_breaking_a_registry_rule_is_not_sent_and_shows_why_on_its_certificate(app, client, world,
                                                                                          registry):
    """The client has no structured address yet: the registry would refuse it, so nothing is sent, the certificate
    says why in the registry's terms, and the CB's managers are told once."""
    connect(client, world, registry)
    cert = Decisions(client, world)
    certificate = cert.grant()
    push(app)
    push(app)
    assert registry.uploads() == []
    shown = client.get(f"/api/v1/certificates/{certificate['id']}", headers=cert.as_("cb_admin")).get_json()
    assert shown["registry_sync"]["status"] == "failed" and shown["registry_sync"]["synced_at"] is None
    assert "certified_entity_street_city: Missing Required Field" in shown["registry_sync"]["error"]
    seen_by_client = client.get(f"/api/v1/certificates/{certificate['id']}", headers=cert.as_("client_admin"))
    assert seen_by_client.get_json()["registry_sync"] is None  # the CB's bookkeeping, not the client's
    overview = client.get(CONNECTION, headers=cert.as_("cb_admin")).get_json()
    assert overview["failed"] == 1 and overview["last_errors"][0]["number"] == certificate["number"]
    with app.app_context(), tenancy.system_scope(db.session):
        told = db.session.execute(text(
            "SELECT count(*) FROM outbox_messages WHERE topic = 'registry.record_refused'")).scalar_one()
    assert told == 1


def test_G2_a_change_marks_its_record_pending_in_the_same_transaction_and_nothing_without_a_connection(
        app, client, world, registry):
    cert = Decisions(client, world)
    certificate = cert.grant()
    assert states(app) == {}  # no connection: nothing to follow
    connect(client, world, registry)
    assert set(states(app)) == {certificate["id"]}  # enabling marked every certificate of the CB
    with app.app_context(), tenancy.system_scope(db.session):
        db.session.execute(text("UPDATE registry_record_states SET status = 'synced'"))
        db.session.commit()
    cert.act(certificate, "suspend", reason="Surveillance audit refused by the client", until=UNTIL)
    assert states(app)[certificate["id"]].status != SyncStatus.synced  # pending, or failed once pushed (G1)
    with app.app_context(), tenancy.system_scope(db.session):
        connection = db.session.scalars(select(RegistryConnection)).one()
        assert connection.tenant_id == world.tenants["cb-a"]
