"""The demo world (issue 17 item 2): ``grc seed-demo`` on a fresh database, then everything a newcomer is promised,
read back through the API as the demo's people see it: the CB and its schemes, the shop's certificate and its badge
valid on the proven domain, the suspended certificate, the stage 2 findings at each CAPA step, the shared e-commerce
risk register, the inboxes, the webhook. Every printed link answers and shows what it promises; seeding twice changes
nothing; ``--reset`` rebuilds. The seed runs as the CLI runs it: the owner's session, the demo webhook host allowed.
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlsplit

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from grc import demo, tenancy
from grc.auditlog.models import AuditEvent
from grc.db import utcnow
from grc.demo import people
from grc.demo.links import WEBHOOK_HOST
from grc.demo.people import ensure_platform_admin
from grc.extensions import db
from grc.jobs.job_functions import relay_outbox
from grc.schemes.catalogue import scheme_id
from tests.world import World

TODAY = utcnow().date()
CB_STAFF = people.MANAGER
BASE = "http://demo.test"


def seed(app: Flask, *, reset: bool = False) -> tuple[bool, demo.Landmarks]:
    """What ``grc seed-demo [--reset]`` does, in the test's app (its settings as the CLI seeds with them)."""
    settings = app.config["GRC_SETTINGS"]
    app.config["GRC_SETTINGS"] = demo.seeding_settings(settings)
    try:
        with app.app_context():
            if reset:
                demo.reset_demo(db.session, settings.secret_key)
            created = demo.seed_demo(db.session)
            found = demo.landmarks(db.session)
    finally:
        app.config["GRC_SETTINGS"] = settings
    assert found is not None
    return created, found


@pytest.fixture
def seeded(app: Flask) -> Iterator[demo.Landmarks]:
    created, found = seed(app)
    assert created
    yield found


@pytest.fixture
def people_of(app: Flask) -> World:
    return World(app)  # bearer tokens for the demo's users, without the rate-limited login


def get(client: FlaskClient, who: World, email: str, path: str) -> Any:
    response = client.get(path, headers=who.headers(email))
    assert response.status_code == 200, (path, response.get_data(as_text=True))
    return response.get_json()


def items(client: FlaskClient, who: World, email: str, path: str) -> list[dict[str, Any]]:
    return get(client, who, email, path + ("&" if "?" in path else "?") + "limit=100")["items"]  # type: ignore[no-any-return]


def audit_events(app: Flask) -> int:
    with app.app_context(), tenancy.system_scope(db.session):
        return db.session.scalar(select(func.count(AuditEvent.id))) or 0


def _user_id(who: World, email: str) -> str:
    with who.app.app_context():
        return str(people.Cast(db.session).id(email))


# --------------------------------------------------------------------------- the world, through the API


def test_the_cb_certifies_its_clients_for_its_schemes_through_every_step(
        client: FlaskClient, seeded: demo.Landmarks, people_of: World) -> None:
    policy = get(client, people_of, people.CB_ADMIN, "/api/v1/policy")
    schemes = {str(scheme_id(code, edition)) for code, edition in
               (("GPEC", "2024"), ("ISO 9001", "2015"), ("ISO/IEC 27001", "2022"))}
    assert policy["accreditation_body_acronym"] == "DAkkS" and set(policy["accredited_schemes"]) == schemes
    registry = get(client, people_of, people.CB_ADMIN, "/api/v1/registry-connections/certsearch")
    assert registry["connection"]["enabled"] is False
    clients = {c["name"] for c in items(client, people_of, CB_STAFF, "/api/v1/clients")}
    assert clients == {"Example Shop", "Bergwerk Outdoor", "Nordsee Logistik"}

    certificates = {c["number"]: c for c in items(client, people_of, CB_STAFF, "/api/v1/certificates")}
    assert {c["status"] for c in certificates.values()} == {"active", "suspended"}
    shop = certificates[seeded.active_certificate]
    assert shop["status"] == "active" and shop["issue_date"] == TODAY.isoformat()
    suspended = certificates[seeded.suspended_certificate]
    assert suspended["status"] == "suspended" and date.fromisoformat(suspended["suspended_until"]) > TODAY
    history = get(client, people_of, CB_STAFF, f"/api/v1/certificates/{suspended['id']}")["history"]
    assert any(event["action"] == "suspended" and "special audit" in (event["reason"] or "") for event in history)

    decisions = items(client, people_of, CB_STAFF, "/api/v1/certification-decisions")
    grants = [d for d in decisions if d["outcome"] == "grant"]
    manager = _user_id(people_of, CB_STAFF)
    assert len(grants) == 2 and all(d["decided_by"] == manager for d in grants)  # not an auditor (C2)

    # audits lie in the past, the shop's first surveillance ahead; the third client is in stage 2
    audits = items(client, people_of, CB_STAFF, "/api/v1/audits")
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for audit in audits:
        by_kind.setdefault(audit["type"], []).append(audit)
    assert all(a["status"] == "completed" and date.fromisoformat(a["completed_on"]) < TODAY
               for a in by_kind["stage1"])
    assert sorted(a["status"] for a in by_kind["stage2"]) == ["completed", "completed", "in_progress"]
    [surveillance] = by_kind["surveillance"]
    assert surveillance["status"] == "planned" and date.fromisoformat(surveillance["planned_start"]) > TODAY

    # its findings at each CAPA step, and corrective actions on the clock
    findings = items(client, people_of, people.LOGISTICS_ADMIN, "/api/v1/findings")
    steps = sorted((f["grade"], f["status"]) for f in findings)
    assert steps == [("major", "open"), ("minor", "closed"), ("minor", "plan_accepted")]
    [closed] = [f for f in findings if f["status"] == "closed"]
    assert [event["action"] for event in get(client, people_of, people.LOGISTICS_ADMIN,
                                             f"/api/v1/findings/{closed['id']}")["history"]] == [
        "raised", "respond", "accept_plan", "implement", "verify_effective", "close"]

    corrective = items(client, people_of, CB_STAFF, "/api/v1/actions")
    due = {a["title"]: (date.fromisoformat(a["due_date"]), a["overdue"]) for a in corrective}
    assert any(overdue for _, overdue in due.values()), "one corrective action is overdue"
    assert any(not overdue and day <= TODAY + timedelta(days=14) for day, overdue in due.values()), "one due soon"


def test_the_shop_risk_register_is_alive_and_shared_and_the_inboxes_are_full(
        client: FlaskClient, seeded: demo.Landmarks, people_of: World) -> None:
    register = seeded.shop_register
    risks = items(client, people_of, people.SHOP_RISK, f"/api/v1/risks?register_id={register}")
    assert len(risks) >= 15
    assert all(r["inherent_level"] and r["current_level"] and r["target_level"] for r in risks)
    assert {r["status"] for r in risks} >= {"in_treatment", "monitored", "assessed"}
    reassessed = [get(client, people_of, people.SHOP_RISK, f"/api/v1/risks/{r['id']}") for r in risks]
    treated = [r for r in reassessed if len(r["assessments"]) == 2]
    assert treated and all(r["assessments"][0]["ratings"]["current"]["score"]
                           > r["assessments"][1]["ratings"]["current"]["score"] for r in treated)
    [retained] = [r for r in risks if r["treatment_options"] == ["retain"]]
    assert retained["above_appetite"] and retained["status"] == "monitored"  # needs a valid acceptance (R4)

    controls = items(client, people_of, people.SHOP_RISK, "/api/v1/controls")
    assert all(c["last_tested_on"] for c in controls)
    assert [c["reference"] for c in controls if c["test_overdue"]] == ["SEC-02"]

    kpis = get(client, people_of, people.SHOP_RISK, "/api/v1/kpis")
    assert kpis["open_risks"] == len(risks) and kpis["controls_test_overdue"] == 1
    assert kpis["overdue_treatment_actions"] >= 1 and kpis["findings_closed"] == 0
    shared = get(client, people_of, people.CB_ADMIN, f"/api/v1/risk-registers/{register}/heatmap")
    assert sum(cell["count"] for cell in shared["cells"]) == len(risks)
    cb_registers = items(client, people_of, people.CB_ADMIN, "/api/v1/risk-registers")
    assert {r["name"] for r in cb_registers} == {"Acme Certification: certification body risks",
                                                "Example Shop: e-commerce risks"}

    # the inboxes were filled by the events; the webhook points nowhere harmful
    for email in (people.SHOP_ADMIN, people.LOGISTICS_ADMIN, people.MANAGER):
        assert items(client, people_of, email, "/api/v1/notifications"), f"{email} has an empty inbox"
    [webhook] = items(client, people_of, people.CB_ADMIN, "/api/v1/webhooks")
    assert urlsplit(webhook["url"]).hostname == WEBHOOK_HOST and webhook["is_active"]
    assert urlsplit(webhook["url"]).hostname.endswith(".invalid")  # RFC 6761: never resolves
    [major] = [f for f in items(client, people_of, people.LOGISTICS_ADMIN, "/api/v1/findings") if f["grade"] == "major"]
    answer = {"correction": "Restore tested.", "root_cause": "No restore test.", "target_date": TODAY.isoformat(),
              "corrective_action_plan": "Quarterly restore tests."}
    response = client.post(f"/api/v1/findings/{major['id']}/response", json=answer,
                           headers=people_of.headers(people.LOGISTICS_ADMIN))
    assert response.status_code == 200, response.get_json()
    with client.application.app_context():
        relay_outbox()  # as the job after the commit would
    deliveries = items(client, people_of, people.CB_ADMIN, f"/api/v1/webhooks/{webhook['id']}/deliveries")
    assert [(d["topic"], d["delivered_at"]) for d in deliveries] == [("finding.response_submitted", None)]


# --------------------------------------------------------------------------- the printed links


def test_every_printed_link_answers_and_shows_what_it_promises(client: FlaskClient, seeded: demo.Landmarks,
                                                               people_of: World) -> None:
    pages: dict[str, str] = {}
    for link in demo.links(seeded, BASE):
        assert link.url.startswith(BASE)
        path = link.url.removeprefix(BASE)
        headers = people_of.headers(people.SHOP_RISK) if "/api/v1/" in path else {}
        response = client.get(path, headers=headers)
        assert response.status_code == 200, (link.title, path, response.status_code)
        pages[link.title] = response.get_data(as_text=True)
    active, suspended, badge, badge_page, heatmap, docs = pages.values()
    assert f"Certificate {seeded.active_certificate} is VALID" in active and "Signed credential: VALID" in active
    assert f"Certificate {seeded.suspended_certificate} is SUSPENDED" in suspended
    assert "VALID FOR shop.example" in badge and "NOT VERIFIED" not in badge
    assert seeded.licence in badge_page and "Example Shop" in badge_page
    assert '"cells"' in heatmap
    assert "swagger" in docs.lower()


# --------------------------------------------------------------------------- twice, and --reset


def test_seeding_twice_changes_nothing_an_unfinished_world_is_refused_and_reset_rebuilds(
        app: Flask, client: FlaskClient, seeded: demo.Landmarks, people_of: World) -> None:
    events = audit_events(app)
    certificates = items(client, people_of, CB_STAFF, "/api/v1/certificates")
    assert seed(app) == (None, seeded)
    assert audit_events(app) == events

    [webhook] = items(client, people_of, people.CB_ADMIN, "/api/v1/webhooks")  # made last: without it, unfinished
    deleted = client.delete(f"/api/v1/webhooks/{webhook['id']}", headers=people_of.headers(people.CB_ADMIN))
    assert deleted.status_code == 204
    with pytest.raises(demo.DemoError, match="--reset"):
        seed(app)
    created, rebuilt = seed(app, reset=True)
    assert created and rebuilt.licence != seeded.licence and rebuilt.shop_register != seeded.shop_register
    assert rebuilt.active_certificate == seeded.active_certificate  # numbered afresh from the start
    again = World(app)
    assert len(items(client, again, CB_STAFF, "/api/v1/certificates")) == len(certificates)
    assert client.get(f"/badges/{seeded.licence}").status_code == 404
    assert "VALID FOR shop.example" in client.get(f"/badges/{rebuilt.licence}.svg?domain=shop.example").text


def test_reset_refuses_a_database_holding_more_than_the_demo(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        ensure_platform_admin(db.session, "ops@platform.example", "a-long-enough-secret")
        db.session.commit()
    with pytest.raises(demo.DemoError, match="ops@platform.example"):
        seed(app, reset=True)
    assert get(client, World(app), "ops@platform.example", "/api/v1/me")["email"] == "ops@platform.example"


def test_sign_in_is_secured_the_officer_uses_a_second_factor_and_the_shop_provisions_by_scim(
        app: Flask, client: FlaskClient, people_of: World) -> None:
    """Issue 18 in the demo: the shop's security officer signs in in two steps with the factor shown at seeding
    (its next code: the confirming one was used), the shop's SCIM token lists the shop's people and nobody else,
    and the CB's own identity provider is configured but switched off (its issuer is a placeholder)."""
    shown, _found = seed(app)
    assert shown is not None and shown.officer == people.SHOP_SECURITY
    password = client.post("/api/v1/auth/login", json={"email": people.SHOP_SECURITY,
                                                       "password": demo.DEMO_PASSWORD})
    assert password.status_code == 403 and password.get_json()["type"].endswith("/mfa-required")
    totp = pyotp.parse_uri(shown.totp_uri)
    assert isinstance(totp, pyotp.TOTP)
    code = totp.at(time.time() + 30)
    signed_in = client.post("/api/v1/auth/mfa", json={"mfa_ticket": password.get_json()["mfa_ticket"], "code": code})
    assert signed_in.status_code == 200 and signed_in.get_json()["access_token"]
    users = client.get("/scim/v2/Users?count=50", headers={"Authorization": f"Bearer {shown.scim_token}"})
    assert users.status_code == 200
    names = {user["userName"] for user in users.get_json()["Resources"]}
    assert {people.SHOP_ADMIN, people.SHOP_RISK, people.SHOP_SECURITY} <= names
    assert not any(name.endswith("acme-cert.example") for name in names)
    [provider] = items(client, people_of, people.CB_ADMIN, "/api/v1/identity-providers")
    assert provider["enabled"] is False and provider["allowed_email_domains"] == ["acme-cert.example"]
    assert "client_secret" not in provider
