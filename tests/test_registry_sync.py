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
from grc.db import utcnow
from grc.extensions import db
from grc.jobs.job_functions import push_registry_records, reconcile_registries
from grc.registry.models import RegistryConnection, RegistryRecordState, SyncStatus
from tests.certification import ISO_9001
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
    unconnected = client.get(CONNECTION, headers=world.headers("cb_admin@cb-b.test"))
    assert unconnected.status_code == 200 and unconnected.get_json()["connection"] is None


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


# --------------------------------------------------------------------------- pushing (a described client and CB)

REGISTERED = {"street": "1 rue du Test", "city": "Paris", "postcode": "75001"}
PROFILE = {"accreditation_body": "Comité français d'accréditation", "accreditation_body_acronym": "COFRAC",
           "accreditation_number": "4-0001", "accredited_schemes": [ISO_9001]}


def described(client: FlaskClient, world: Any, cb: str = "cb-a", client_slug: str = "client-a") -> Decisions:
    """The CB's registry profile and its client's registered address in lines: records the registry accepts."""
    admin = world.headers(f"cb_admin@{cb}.test")
    url = f"/api/v1/clients/{world.tenants[client_slug]}"
    patched = client.patch(url, headers={**admin, "If-Match": client.get(url, headers=admin).headers["ETag"]},
                           json=REGISTERED)
    assert patched.status_code == 200, patched.get_data(as_text=True)
    policy = client.put("/api/v1/policy", headers={
        **admin, "If-Match": client.get("/api/v1/policy", headers=admin).headers["ETag"]}, json={
        "response_due_days": 14, "major_closure_days": 90, "minor_closure_days": None,
        "surveillance_tolerance_days": 0, **PROFILE})
    assert policy.status_code == 200, policy.get_data(as_text=True)
    return Decisions(client, world, cb, client_slug)


def sync_of(client: FlaskClient, cert: Decisions, certificate: dict[str, Any]) -> dict[str, Any]:
    shown = client.get(f"/api/v1/certificates/{certificate['id']}", headers=cert.as_("cb_admin")).get_json()
    return shown["registry_sync"]  # type: ignore[no-any-return]


def overview(client: FlaskClient, world: Any, cb: str = "cb-a") -> dict[str, Any]:
    return client.get(CONNECTION, headers=world.headers(f"cb_admin@{cb}.test")).get_json()  # type: ignore[no-any-return]


def later(app: Flask, minutes: int) -> str:
    """A moment past the backoff (the push job's ``now``)."""
    with app.app_context():
        return (utcnow() + timedelta(minutes=minutes)).isoformat()


def test_G2_a_first_full_sync_sends_every_certificate_once_in_the_registrys_documented_shape(app, client, world,
                                                                                             registry):
    cert = described(client, world)
    certificate = cert.grant()
    connect(client, world, registry)
    push(app)
    push(app)
    [sent] = registry.uploads("cb-a")  # the stand-in checked it against the documentation and stored it
    assert sent["certificate_number"] == certificate["number"] and sent["certification_status"] == "active"
    assert sent["certified_entity_street_city"] == "Paris" and sent["accreditation_body_acronym_name"] == "COFRAC"
    assert [call.path for call in registry.calls] == ["/api/client/v1/cb/bulk-upload-cert"]
    assert registry.certifications("cb-a")[certificate["number"]]["certificate_accreditation_status"] == "Accredited"
    state = sync_of(client, cert, certificate)
    assert state["status"] == "synced" and state["synced_at"] and state["error"] is None
    assert overview(client, world)["synced"] == 1 and overview(client, world)["connection"]["last_success_at"]


def test_G2_each_status_change_is_pushed_once(app, client, world, registry):
    cert = described(client, world)
    certificate = cert.grant()
    connect(client, world, registry)
    push(app)
    cert.act(certificate, "suspend", reason="Surveillance audit refused by the client", until=UNTIL)
    push(app)
    push(app)
    cert.act(certificate, "withdraw", reason="The suspension was not lifted")
    push(app)
    push(app)
    assert [body["certification_status"] for body in registry.uploads("cb-a")] == ["active", "suspended", "withdrawn"]
    assert registry.certifications("cb-a")[certificate["number"]]["certification_status"] == "withdrawn"


def test_G2_a_500_and_a_timeout_leave_the_record_pending_and_it_is_pushed_after_the_backoff(app, client, world,
                                                                                          registry):
    cert = described(client, world)
    certificate = cert.grant()
    registry.fail_next(500)
    connect(client, world, registry)
    push(app)
    push(app)  # still within the backoff: nothing is called
    assert [call.status for call in registry.calls] == [500]
    assert sync_of(client, cert, certificate)["status"] == "pending"
    held = overview(client, world)["connection"]
    assert held["last_error"].startswith("HTTP 500: The stand-in was told to answer 500") and held["retry_at"]
    with app.app_context():
        assert push_registry_records(now=later(app, 2))["sent"] == 1
    assert sync_of(client, cert, certificate)["status"] == "synced"
    registry.stall(3)  # longer than the client waits (2 s in this test)
    cert.act(certificate, "suspend", reason="Surveillance audit refused by the client", until=UNTIL)
    with app.app_context():
        push_registry_records(now=later(app, 3))
    assert "Timeout" in overview(client, world)["connection"]["last_error"]
    assert sync_of(client, cert, certificate)["status"] == "pending"
    registry.stall(0)
    with app.app_context():
        push_registry_records(now=later(app, 10))
    assert sync_of(client, cert, certificate)["status"] == "synced"
    assert registry.certifications("cb-a")[certificate["number"]]["certification_status"] == "suspended"


def test_G2_a_validation_refusal_is_shown_on_the_certificate_in_the_registrys_words_and_not_retried(
        app, client, world, registry):
    cert = described(client, world)
    registry.accredit("cb-a", "ISO 14001")  # the registry knows cb-a accredited for another scheme only
    certificate = cert.grant()
    connect(client, world, registry)
    push(app)
    with app.app_context():
        push_registry_records(now=later(app, 120))
    refused = [call for call in registry.calls if call.status == 400]
    assert len(refused) == 1 and registry.certifications("cb-a") == {}
    state = sync_of(client, cert, certificate)
    assert state["status"] == "failed" and state["synced_at"] is None
    assert state["error"] == ("Invalid Accreditation: ISO 9001 does not match the CB's accreditation "
                              "(schemes.scheme_name)")
    assert overview(client, world)["last_errors"][0]["error"] == state["error"]


def test_G2_a_rotated_key_is_used_from_then_on_and_a_refused_key_holds_the_push_back(app, client, world, registry):
    cert = described(client, world)
    certificate = cert.grant()
    old = connect(client, world, registry)
    push(app)
    registry.revoke_key(old)
    cert.act(certificate, "suspend", reason="Surveillance audit refused by the client", until=UNTIL)
    push(app)
    assert sync_of(client, cert, certificate)["status"] == "pending"
    assert overview(client, world)["connection"]["last_error"] == "HTTP 401: Invalid Session token has been used."
    new = registry.issue_key("cb-a")
    rotated = client.put(CONNECTION, headers=world.headers("cb_admin@cb-a.test"), json={"api_key": new})
    assert rotated.status_code == 200 and rotated.get_json()["connection"]["retry_at"] is None
    push(app)
    assert sync_of(client, cert, certificate)["status"] == "synced"
    assert [(call.api_key, call.status) for call in registry.calls] == [(old, 200), (old, 401), (new, 200)]


def test_G2_the_nightly_reconciliation_reports_every_difference_and_re_pushes_when_asked(app, client, world,
                                                                                         registry):
    cert = described(client, world)
    certificate = cert.grant()
    connect(client, world, registry, repush_differences=True)
    push(app)
    registry.certifications("cb-a")[certificate["number"]]["certification_status"] = "withdrawn"  # edited by hand
    registry.certifications("cb-a")["FOREIGN-1"] = {**registry.certifications("cb-a")[certificate["number"]],
                                                    "certificate_number": "FOREIGN-1"}
    with app.app_context():
        assert reconcile_registries() == {"reconciled": 1, "differences": 2, "unreachable": 0}
    differences = overview(client, world)["connection"]["differences"]
    assert differences == [
        {"certificate_number": certificate["number"], "field": "certification_status", "ours": "active",
         "registry": "withdrawn"},
        {"certificate_number": "FOREIGN-1", "field": "certification", "ours": None, "registry": "present"}]
    push(app)
    assert registry.certifications("cb-a")[certificate["number"]]["certification_status"] == "active"
    with app.app_context(), tenancy.system_scope(db.session):
        told = db.session.execute(text(
            "SELECT count(*) FROM outbox_messages WHERE topic = 'registry.differences_found'")).scalar_one()
    assert told == 1


def test_G2_a_cbs_sync_never_contains_another_cbs_certificates(app, client, world, registry):
    ours, theirs = described(client, world), described(client, world, "cb-b", "client-b")
    mine, other = ours.grant(), theirs.grant()
    key_a = connect(client, world, registry)
    key_b = connect(client, world, registry, "cb-b")
    push(app)
    assert list(registry.certifications("cb-a")) == [mine["number"]]
    assert list(registry.certifications("cb-b")) == [other["number"]]
    for call in registry.calls:
        numbers = {body["certificate_number"] for body in call.body["certifications"]}
        assert numbers == {mine["number"] if call.api_key == key_a else other["number"]}, (call.api_key, key_b)


def test_G2_a_dry_run_checks_the_records_and_sends_nothing(app, client, world, registry):
    cert = described(client, world)
    certificate = cert.grant()
    connect(client, world, registry, dry_run=True)
    assert push(app) == {"sent": 0, "unchanged": 0, "failed": 0, "held_back": 0, "more": 0}
    assert registry.calls == [] and sync_of(client, cert, certificate)["status"] == "pending"
    client.put(CONNECTION, headers=world.headers("cb_admin@cb-a.test"), json={"dry_run": False})
    push(app)
    assert [body["certificate_number"] for body in registry.uploads("cb-a")] == [certificate["number"]]
