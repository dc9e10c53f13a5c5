"""Statements per request (issue 7): no N+1, no OFFSET, no per-row Python over a table.

Every list endpoint (an authenticated GET whose answer has ``items``, or any collection GET: found in
``app.url_map``, so a new one is covered the day it is added) and the hot single reads are called with 3 rows
behind them, then with 25 (more than a page of 20). The number of SQL statements must be the same both times,
at most ``MAX_STATEMENTS``, and no list may page with ``OFFSET``.

Statements are counted with SQLAlchemy's ``before_cursor_execute`` on the app's engine. The per-transaction
preamble is left out: PostgreSQL's ``set_config`` (row-level security, grc/tenancy.py) and SQLite's ``BEGIN
IMMEDIATE`` (grc/db.py) open every transaction whatever it reads, so counts stay comparable between backends.
"""
from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from grc import tenancy
from grc.actions import service as actions
from grc.actions.models import Action
from grc.audits import service as audits
from grc.audits.models import Audit
from grc.auth import users
from grc.certification.models import (
    Certificate,
    CertificateEvent,
    CertificateRevision,
    CertificateTransfer,
    CertificationDecision,
    Outcome,
    TransferStatus,
)
from grc.evidence import service as evidence
from grc.extensions import db
from grc.findings import service as findings
from grc.findings.models import Finding
from grc.marks import service as marks
from grc.marks.models import MarkLicence
from grc.notifications.models import (
    Delivery,
    DeliveryChannel,
    DeliveryStatus,
    Notification,
    OutboxMessage,
    OutboxStatus,
)
from grc.risks import controls, criteria
from grc.risks import service as risks
from grc.risks.models import Control, Risk, RiskRegister
from grc.schemes import service as schemes
from grc.schemes.catalogue import scheme_id
from grc.tenants import service as tenants
from grc.webhooks import service as webhooks
from tests.certificates import Issued, issue_certificate
from tests.test_isolation import ROUTES, Route, _collection_app
from tests.world import World, act_as

SMALL, LARGE = 3, 25  # LARGE is more than one page of the default limit (20)
MAX_STATEMENTS = 12
PREAMBLE = re.compile(r"\s*(SELECT set_config\(|BEGIN)", re.IGNORECASE)
OFFSET = re.compile(r"\bOFFSET\b", re.IGNORECASE)
TODAY = date.today()


# --------------------------------------------------------------------------- counting


@dataclass(frozen=True)
class Statement:
    sql: str
    parameters: Any

    def offsets(self) -> bool:
        """Pages with OFFSET. SQLite's dialect writes ``LIMIT ? OFFSET ?`` after every LIMIT and binds 0 when no
        offset was asked for, so there only a non-zero offset counts."""
        if not OFFSET.search(self.sql):
            return False
        padded = self.sql.rstrip().endswith("OFFSET ?") and bool(self.parameters) and self.parameters[-1] == 0
        return not padded


@contextmanager
def recorded_statements(app: Flask) -> Iterator[list[Statement]]:
    """The SQL the app's engine sends while the block runs, minus the per-transaction preamble."""
    engine = app.extensions["grc.db"][0]
    seen: list[Statement] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        if not PREAMBLE.match(statement):
            seen.append(Statement(statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


@dataclass(frozen=True)
class Read:
    """One request to measure: who calls (None: the public) and where."""

    caller: str | None
    url: str


def measured(client: FlaskClient, world: World, read: Read) -> tuple[TestResponse, list[Statement]]:
    """The answer and the statements of exactly one request (the token is minted before counting starts)."""
    headers = world.headers(read.caller) if read.caller else {}
    with recorded_statements(world.app) as statements:
        response = client.get(read.url, headers=headers)
    assert response.status_code == 200, f"{read.url}: {response.status_code} {response.get_data(as_text=True)[:300]}"
    return response, statements


def listing(statements: list[Statement]) -> str:
    return "\n".join(f"  {n + 1}. {' '.join(s.sql.split())[:220]}" for n, s in enumerate(statements))


# --------------------------------------------------------------------------- the scene


@dataclass
class Scene:
    """The world plus the parents the rows hang on (an audit, a finding, a register...), each built once."""

    app: Flask
    world: World
    parents: dict[str, Any] = field(default_factory=dict)
    made: dict[str, int] = field(default_factory=dict)

    @contextmanager
    def acting(self, email: str) -> Iterator[Session]:
        """A unit of work of ``email`` through the services, committed at the end."""
        with self.app.app_context():
            act_as(email)
            yield db.session
            db.session.commit()

    @contextmanager
    def system(self) -> Iterator[Session]:
        """A unit of work past the tenant walls, for rows only a job or the ORM factory writes."""
        with self.app.app_context(), tenancy.system_scope(db.session):
            yield db.session
            db.session.commit()

    def once(self, name: str, build: Callable[[], Any]) -> Any:
        if name not in self.parents:
            self.parents[name] = build()
        return self.parents[name]

    def serial(self, kind: str) -> int:
        """1, 2, 3... per kind of row across the calls of one test (unique names, numbers and e-mails)."""
        self.made[kind] = self.made.get(kind, 0) + 1
        return self.made[kind]

    def tenant(self, slug: str) -> uuid.UUID:
        return self.world.tenants[slug]

    def user(self, email: str) -> uuid.UUID:
        return self.world.users[email]


Grow = Callable[[Scene, int], Read]  # add ``count`` rows behind the read, then say which read to measure

CB_MANAGER, AUDITOR, CB_ADMIN = "certification_manager@cb-a.test", "auditor@cb-a.test", "cb_admin@cb-a.test"
CLIENT_ADMIN, RISK_MANAGER = "client_admin@client-a.test", "risk_manager@client-a.test"
PLATFORM_ADMIN = "platform_admin@platform.test"
PASSWORD = "correct horse battery staple"


# --------------------------------------------------------------------------- parents


def _audit(scene: Scene) -> uuid.UUID:
    """cb-a's ISO 9001 audit of client-a, in progress."""

    def build() -> uuid.UUID:
        audit_id = _plan_audits(scene, 1)[0]
        with scene.acting(AUDITOR) as session:
            audits.start(session, session.get(Audit, audit_id))
        return audit_id

    return scene.once("audit", build)


def _plan_audits(scene: Scene, count: int) -> list[uuid.UUID]:
    """cb-a's ISO 9001 and ISO/IEC 27001 audits of client-a, each with a second auditor on the team."""
    standards = [scheme_id("ISO 9001", "2015"), scheme_id("ISO/IEC 27001", "2022")]
    team = [_second_auditor(scene)]
    with scene.acting(CB_MANAGER) as session:
        return [audits.create_audit(session, {
            "client_id": scene.tenant("client-a"), "scheme_ids": standards, "type": "stage1", "planned_start": TODAY,
            "planned_end": TODAY, "sites": [], "lead_auditor_id": scene.user(AUDITOR), "team_ids": team}).id
            for _ in range(count)]


def _second_auditor(scene: Scene) -> uuid.UUID:
    def build() -> uuid.UUID:
        with scene.acting(CB_ADMIN) as session:
            return users.create_user(session, {"email": "second.auditor@cb-a.test", "name": "Second auditor",
                                               "password": PASSWORD, "roles": ["auditor"]}).id

    return scene.once("second auditor", build)


def _finding(scene: Scene) -> uuid.UUID:
    return scene.once("finding", lambda: _raise_findings(scene, 1)[0])


def _raise_findings(scene: Scene, count: int) -> list[uuid.UUID]:
    audit_id = _audit(scene)
    with scene.acting(AUDITOR) as session:
        audit = session.get(Audit, audit_id)
        nonconformity = {"grade": "major", "clause": "8.5", "scheme_id": audit.schemes[0].id, "requirement": "r",
                         "evidence": "e", "statement": "s"}
        return [findings.raise_on_audit(session, audit, dict(nonconformity)).id for _ in range(count)]


def _action(scene: Scene) -> uuid.UUID:
    return scene.once("action", lambda: _plan_actions(scene, 1)[0])


def _plan_actions(scene: Scene, count: int) -> list[uuid.UUID]:
    """Corrective actions of client-a on cb-a's finding, each with two progress notes."""
    finding_id = _finding(scene)
    with scene.acting(CLIENT_ADMIN) as session:
        finding = session.get(Finding, finding_id)
        planned = []
        for _ in range(count):
            action = actions.create_for_finding(session, finding, {
                "title": "fix", "owner_id": scene.user(CLIENT_ADMIN), "due_date": TODAY + timedelta(days=30)})
            for percent in (10, 50):
                actions.add_note(session, action, {"text": "progress", "progress_percent": percent})
            planned.append(action.id)
        return planned


def _register(scene: Scene) -> uuid.UUID:
    """client-a's register, shared with cb-a."""

    def build() -> uuid.UUID:
        with scene.acting(CLIENT_ADMIN) as session:
            register = risks.create_register(session, {"name": "Shop risks", "scope": "shop",
                                                        "owner_id": scene.user(RISK_MANAGER)})
            risks.share(session, register, scene.tenant("cb-a"))
            return register.id

    return scene.once("register", build)


def _control(scene: Scene) -> uuid.UUID:
    return scene.once("control", lambda: _controls(scene, 1)[0])


def _controls(scene: Scene, count: int) -> list[uuid.UUID]:
    with scene.acting(CLIENT_ADMIN) as session:
        return [controls.create_control(session, {
            "name": f"control {scene.serial('control')}", "type": "preventive", "nature": "manual",
            "owner_id": scene.user(RISK_MANAGER), "test_frequency_days": 90}).id for _ in range(count)]


def _assessed_risks(scene: Scene, count: int) -> list[uuid.UUID]:
    """Risks in client-a's register, each assessed, linked to a control and given an overdue treatment action."""
    register_id, control_id = _register(scene), _control(scene)
    ratings = {"inherent": {"likelihood": 4, "consequence": 4}, "current": {"likelihood": 3, "consequence": 4},
               "target": {"likelihood": 2, "consequence": 3}, "rationale": "workshop"}
    with scene.acting(RISK_MANAGER) as session:
        register = session.get(RiskRegister, register_id)
        made = []
        for _ in range(count):
            risk = risks.create_risk(session, register, {"title": f"risk {scene.serial('risk')}",
                                                         "owner_id": scene.user(RISK_MANAGER)})
            risks.assess(session, risk, ratings)
            controls.link_controls(session, risk, [control_id])
            risks.decide_treatment(session, risk, ["change_likelihood"])
            actions.create_for_risk(session, risk, {"title": "treat", "owner_id": scene.user(RISK_MANAGER),
                                                    "due_date": TODAY - timedelta(days=1)})
            made.append(risk.id)
        return made


def _risk(scene: Scene) -> uuid.UUID:
    return scene.once("risk", lambda: _assessed_risks(scene, 1)[0])


def _certificates(scene: Scene, count: int) -> list[Issued]:
    """cb-a's ISO 9001 certificates of client-a, each with a superseded revision (tests/certificates.py)."""
    return [issue_certificate(scene.app, scene.world, earlier_scopes=("earlier scope",)) for _ in range(count)]


def _certificate(scene: Scene) -> Issued:
    return scene.once("certificate", lambda: _certificates(scene, 1)[0])


def _subscription(scene: Scene) -> uuid.UUID:
    def build() -> uuid.UUID:
        with scene.acting(CB_ADMIN) as session:
            subscription, _secret = webhooks.create_subscription(session, {"url": "https://93.184.215.14/hook",
                                                                           "event_types": ["certificate.suspended"]})
            return subscription.id

    return scene.once("subscription", build)


def _deliveries(scene: Scene, count: int, subscription_id: uuid.UUID | None) -> None:
    """Dead deliveries in cb-a's log (rows, as the dispatcher leaves them): webhook calls or e-mails."""
    with scene.system() as session:
        for _ in range(count):
            message = OutboxMessage(tenant_id=scene.tenant("cb-a"), topic="certificate.suspended", payload={},
                                    status=OutboxStatus.dispatched)
            session.add(message)
            session.flush()
            channel = DeliveryChannel.webhook if subscription_id else DeliveryChannel.email
            session.add(Delivery(tenant_id=scene.tenant("cb-a"), channel=channel, event_id=message.id,
                                 topic=message.topic, subscription_id=subscription_id, recipient="x@cb-a.test",
                                 status=DeliveryStatus.dead, attempts=3))


# --------------------------------------------------------------------------- lists: rows behind each


def grow_actions(scene: Scene, count: int) -> Read:
    _plan_actions(scene, count)
    return Read(CLIENT_ADMIN, "/api/v1/actions")


def grow_action_evidence(scene: Scene, count: int) -> Read:
    action_id = _action(scene)
    _attach(scene, Action, action_id, count)
    return Read(CLIENT_ADMIN, f"/api/v1/actions/{action_id}/evidence")


def grow_finding_evidence(scene: Scene, count: int) -> Read:
    finding_id = _finding(scene)
    _attach(scene, Finding, finding_id, count)
    return Read(CLIENT_ADMIN, f"/api/v1/findings/{finding_id}/evidence")


def _attach(scene: Scene, model: type, parent_id: uuid.UUID, count: int) -> None:
    with scene.acting(CLIENT_ADMIN) as session:
        parent = session.get(model, parent_id)
        for _ in range(count):
            evidence.attach(session, parent, f"note-{scene.serial('file')}.txt", b"evidence")


def grow_api_clients(scene: Scene, count: int) -> Read:
    with scene.acting(CB_ADMIN) as session:
        for _ in range(count):
            users.create_api_client(session, {"name": f"erp {scene.serial('api client')}", "roles": ["cb_viewer"]})
    return Read(CB_ADMIN, "/api/v1/api-clients")


def grow_audit_events(scene: Scene, count: int) -> Read:
    _schemes(scene, count)
    return Read(CB_ADMIN, "/api/v1/audit-events")


def grow_chain_to_verify(scene: Scene, count: int) -> Read:
    """The chain is read in batches of VERIFY_BATCH (1000) links: constant up to that many events."""
    _schemes(scene, count)
    return Read(CB_ADMIN, "/api/v1/audit-events/verify")


def _schemes(scene: Scene, count: int) -> None:
    with scene.acting(CB_ADMIN) as session:
        for _ in range(count):
            schemes.create_scheme(session, {"code": f"SECTOR {scene.serial('scheme')}", "edition": "2026",
                                            "title": "sector", "clauses": [{"number": "1", "title": "Scope"}]})


def grow_schemes(scene: Scene, count: int) -> Read:
    _schemes(scene, count)
    return Read(CB_ADMIN, "/api/v1/schemes")


def grow_audits(scene: Scene, count: int) -> Read:
    _plan_audits(scene, count)
    return Read(CLIENT_ADMIN, "/api/v1/audits")


def grow_transfers(scene: Scene, count: int) -> Read:
    """Transfer requests cb-a received about client-a (rows, as tests/test_isolation.py makes them)."""
    source = _certificate(scene)
    with scene.system() as session:
        for _ in range(count):
            session.add(CertificateTransfer(
                tenant_id=scene.tenant("cb-a"), client_tenant_id=scene.tenant("client-a"),
                source_certificate_id=source.id, source_number=source.number, source_cb_name="CB B",
                status=TransferStatus.requested, requested_by=scene.user(CLIENT_ADMIN)))
    return Read(CB_MANAGER, "/api/v1/certificate-transfers")


def grow_certificates(scene: Scene, count: int) -> Read:
    _certificates(scene, count)
    return Read(CLIENT_ADMIN, "/api/v1/certificates")


def grow_certificate_export(scene: Scene, count: int) -> Read:
    _certificates(scene, count)
    return Read(CB_MANAGER, "/api/v1/certificates/export")


def grow_decisions(scene: Scene, count: int) -> Read:
    """Grant decisions of cb-a about client-a, each resting on its own audit (rows: the decision rules are not
    what is measured here)."""
    audit_ids = _plan_audits(scene, count)
    with scene.system() as session:
        for audit_id in audit_ids:
            session.add(CertificationDecision(
                tenant_id=scene.tenant("cb-a"), client_tenant_id=scene.tenant("client-a"),
                scheme_id=scheme_id("ISO 9001", "2015"), outcome=Outcome.grant, decided_by=scene.user(CB_MANAGER),
                decided_on=TODAY, rationale="clean", audits=[session.get(Audit, audit_id)]))
    return Read(CLIENT_ADMIN, "/api/v1/certification-decisions")


def grow_clients(scene: Scene, count: int) -> Read:
    with scene.acting(CB_ADMIN) as session:
        for _ in range(count):
            n = scene.serial("client")
            tenants.create_client(session, {
                "name": f"Client {n}", "legal_name": f"Client {n} Ltd", "country": "FR", "address": "1 rue",
                "sites": [{"name": "HQ", "address": "1 rue", "country": "FR"}],
                "admin": {"email": f"admin{n}@client{n}.test", "name": "a", "password": PASSWORD}})
    return Read(CB_MANAGER, "/api/v1/clients")


def grow_controls(scene: Scene, count: int) -> Read:
    _controls(scene, count)
    return Read(CLIENT_ADMIN, "/api/v1/controls")


def grow_control_tests(scene: Scene, count: int) -> Read:
    control_id = _control(scene)
    with scene.acting(RISK_MANAGER) as session:
        control = session.get(Control, control_id)
        for _ in range(count):
            controls.record_test(session, control, {"result": "effective", "notes": "sampled"})
    return Read(CLIENT_ADMIN, f"/api/v1/controls/{control_id}/tests")


def grow_deliveries(scene: Scene, count: int) -> Read:
    _deliveries(scene, count, None)
    return Read(CB_ADMIN, "/api/v1/deliveries")


def grow_webhook_deliveries(scene: Scene, count: int) -> Read:
    subscription_id = _subscription(scene)
    _deliveries(scene, count, subscription_id)
    return Read(CB_ADMIN, f"/api/v1/webhooks/{subscription_id}/deliveries")


def grow_webhooks(scene: Scene, count: int) -> Read:
    with scene.acting(CB_ADMIN) as session:
        for _ in range(count):
            webhooks.create_subscription(session, {"url": f"https://93.184.215.14/hook/{scene.serial('hook')}",
                                                   "event_types": ["certificate.suspended"]})
    return Read(CB_ADMIN, "/api/v1/webhooks")


def grow_findings(scene: Scene, count: int) -> Read:
    _raise_findings(scene, count)
    return Read(CLIENT_ADMIN, "/api/v1/findings")


def grow_nothing(read: Read) -> Grow:
    """A code catalogue (sweeps, event types): no rows behind it, so ``count`` changes nothing."""
    return lambda _scene, _count: read


def grow_licences(scene: Scene, count: int) -> Read:
    """Licences of client-a, each on two certificates of its own."""
    for _ in range(count):
        own = [certificate.id for certificate in _certificates(scene, 2)]
        with scene.acting(CB_MANAGER) as session:
            marks.grant(session, {"client_id": scene.tenant("client-a"), "certificate_ids": own,
                                  "permitted_uses": ["website"], "domains": ["shop.example"]})
    return Read(CLIENT_ADMIN, "/api/v1/mark-licences")


def _users(scene: Scene, count: int) -> None:
    with scene.acting(CB_ADMIN) as session:
        for _ in range(count):
            users.create_user(session, {"email": f"auditor{scene.serial('user')}@cb-a.test", "name": "auditor",
                                        "password": PASSWORD, "roles": ["auditor"]})


def grow_users(scene: Scene, count: int) -> Read:
    _users(scene, count)
    return Read(CB_ADMIN, "/api/v1/users")


def grow_me(scene: Scene, count: int) -> Read:
    _users(scene, count)
    return Read(CB_ADMIN, "/api/v1/me")


def grow_policy(scene: Scene, count: int) -> Read:
    _users(scene, count)
    return Read(CB_MANAGER, "/api/v1/policy")


def _notifications(scene: Scene, count: int) -> None:
    """Unread in-app notifications of client-a's admin (rows, as the relay writes them)."""
    with scene.system() as session:
        for _ in range(count):
            message = OutboxMessage(tenant_id=scene.tenant("client-a"), topic="finding.raised", payload={},
                                    status=OutboxStatus.dispatched)
            session.add(message)
            session.flush()
            session.add(Notification(tenant_id=scene.tenant("client-a"), user_id=scene.user(CLIENT_ADMIN),
                                     event_id=message.id, topic=message.topic, title="t", body="b", data={}))


def grow_notifications(scene: Scene, count: int) -> Read:
    _notifications(scene, count)
    return Read(CLIENT_ADMIN, "/api/v1/notifications")


def grow_unread_count(scene: Scene, count: int) -> Read:
    _notifications(scene, count)
    return Read(CLIENT_ADMIN, "/api/v1/notifications/unread-count")


def _criteria_versions(scene: Scene, count: int) -> None:
    with scene.acting(CLIENT_ADMIN) as session:
        for _ in range(count):
            criteria.save(session, criteria.DEFAULT)


def grow_criteria(scene: Scene, count: int) -> Read:
    _criteria_versions(scene, count)
    return Read(CLIENT_ADMIN, "/api/v1/risk-criteria")


def grow_criteria_versions(scene: Scene, count: int) -> Read:
    _criteria_versions(scene, count)
    return Read(CLIENT_ADMIN, "/api/v1/risk-criteria/versions")


def grow_registers(scene: Scene, count: int) -> Read:
    with scene.acting(CLIENT_ADMIN) as session:
        for _ in range(count):
            risks.create_register(session, {"name": f"register {scene.serial('register')}", "scope": "s",
                                            "owner_id": scene.user(RISK_MANAGER)})
    return Read(CLIENT_ADMIN, "/api/v1/risk-registers")


def grow_risks(scene: Scene, count: int) -> Read:
    _assessed_risks(scene, count)
    return Read(CLIENT_ADMIN, "/api/v1/risks")


def grow_reviews(scene: Scene, count: int) -> Read:
    risk_id = _risk(scene)
    with scene.acting(RISK_MANAGER) as session:
        risk = session.get(Risk, risk_id)
        for _ in range(count):
            risks.review(session, risk, "still relevant")
    return Read(CLIENT_ADMIN, f"/api/v1/risks/{risk_id}/reviews")


def grow_tenants(scene: Scene, count: int) -> Read:
    with scene.acting(PLATFORM_ADMIN) as session:
        for _ in range(count):
            n = scene.serial("cb")
            tenants.create_certification_body(session, {
                "kind": "certification_body", "name": f"CB {n}", "slug": f"cb-{n}x", "country": "DE",
                "admin": {"email": f"admin@cb-{n}x.test", "name": "a", "password": PASSWORD}})
    return Read(PLATFORM_ADMIN, "/api/v1/tenants")


def grow_kpis(scene: Scene, count: int) -> Read:
    """Assessed risks, each with a linked control and an overdue treatment action, and more controls."""
    _assessed_risks(scene, count)
    _controls(scene, count)
    return Read(CLIENT_ADMIN, "/api/v1/kpis")


def grow_cb_kpis(scene: Scene, count: int) -> Read:
    _certificates(scene, count)
    return Read(CB_MANAGER, "/api/v1/kpis")


def grow_heatmap(scene: Scene, count: int) -> Read:
    _assessed_risks(scene, count)
    return Read("cb_viewer@cb-a.test", f"/api/v1/risk-registers/{_register(scene)}/heatmap")


LISTS: dict[str, Grow] = {
    "GET /api/v1/actions": grow_actions,
    "GET /api/v1/actions/{action_id}/evidence": grow_action_evidence,
    "GET /api/v1/api-clients": grow_api_clients,
    "GET /api/v1/audit-events": grow_audit_events,
    "GET /api/v1/audit-events/verify": grow_chain_to_verify,
    "GET /api/v1/audits": grow_audits,
    "GET /api/v1/certificate-transfers": grow_transfers,
    "GET /api/v1/certificates": grow_certificates,
    "GET /api/v1/certificates/export": grow_certificate_export,
    "GET /api/v1/certification-decisions": grow_decisions,
    "GET /api/v1/clients": grow_clients,
    "GET /api/v1/controls": grow_controls,
    "GET /api/v1/controls/{control_id}/tests": grow_control_tests,
    "GET /api/v1/deliveries": grow_deliveries,
    "GET /api/v1/findings": grow_findings,
    "GET /api/v1/findings/{finding_id}/evidence": grow_finding_evidence,
    "GET /api/v1/jobs": grow_nothing(Read(CB_ADMIN, "/api/v1/jobs")),
    "GET /api/v1/kpis": grow_kpis,
    "GET /api/v1/mark-licences": grow_licences,
    "GET /api/v1/me": grow_me,
    "GET /api/v1/notifications": grow_notifications,
    "GET /api/v1/notifications/unread-count": grow_unread_count,
    "GET /api/v1/policy": grow_policy,
    "GET /api/v1/risk-criteria": grow_criteria,
    "GET /api/v1/risk-criteria/versions": grow_criteria_versions,
    "GET /api/v1/risk-registers": grow_registers,
    "GET /api/v1/risks": grow_risks,
    "GET /api/v1/risks/{risk_id}/reviews": grow_reviews,
    "GET /api/v1/schemes": grow_schemes,
    "GET /api/v1/tenants": grow_tenants,
    "GET /api/v1/users": grow_users,
    "GET /api/v1/webhooks": grow_webhooks,
    "GET /api/v1/webhooks/{subscription_id}/deliveries": grow_webhook_deliveries,
    "GET /api/v1/webhooks/event-types": grow_nothing(Read(CB_ADMIN, "/api/v1/webhooks/event-types")),
}


# --------------------------------------------------------------------------- hot single reads


def grow_certificate_history(scene: Scene, count: int) -> Read:
    """One certificate with ``count`` more revisions and events: a certificate that lived long."""
    issued = _certificate(scene)
    with scene.system() as session:
        certificate = session.get(Certificate, issued.id)
        for _ in range(count):
            certificate.revisions[-1].superseded_on = TODAY
            certificate.revision += 1
            certificate.revisions.append(CertificateRevision(
                tenant_id=certificate.tenant_id, client_tenant_id=certificate.client_tenant_id,
                revision=certificate.revision, issued_on=TODAY, reason="reissue", content=issued.content))
            certificate.history.append(CertificateEvent(
                tenant_id=certificate.tenant_id, client_tenant_id=certificate.client_tenant_id, action="reissued",
                from_status="active", to_status="active", reason="scope"))
    return Read(CLIENT_ADMIN, f"/api/v1/certificates/{issued.id}")


def grow_public_check(scene: Scene, count: int) -> Read:
    grow_certificate_history(scene, count)
    return Read(None, f"/api/v1/public/certificates/cb-a/{scene.parents['certificate'].number}")


def grow_verify_page(scene: Scene, count: int) -> Read:
    grow_certificate_history(scene, count)
    return Read(None, f"/verify/cb-a/{scene.parents['certificate'].number}")


def grow_badge(scene: Scene, count: int) -> Read:
    """A mark licence resting on ``count`` more certificates."""

    def build() -> tuple[uuid.UUID, str]:
        first = _certificate(scene).id
        with scene.acting(CB_MANAGER) as session:
            licence = marks.grant(session, {"client_id": scene.tenant("client-a"), "certificate_ids": [first],
                                            "permitted_uses": ["website"], "domains": ["shop.example"]})
            return licence.id, licence.number

    licence_id, number = scene.once("licence", build)
    added = _certificates(scene, count)
    with scene.system() as session:
        licence = session.get(MarkLicence, licence_id)
        licence.certificates.extend(session.get(Certificate, c.id) for c in added)
    return Read(None, f"/badges/{number}.svg")


HOT_READS: dict[str, Grow] = {
    "GET /api/v1/me": grow_me,
    "GET /api/v1/certificates/{certificate_id}": grow_certificate_history,
    "public certificate check": grow_public_check,
    "public verification page": grow_verify_page,
    "badge SVG": grow_badge,
    "heat map": grow_heatmap,
    "KPIs of a client organisation": grow_kpis,
    "KPIs of a certification body": grow_cb_kpis,
}


# --------------------------------------------------------------------------- the walk


def list_routes(app: Flask) -> list[str]:
    """Authenticated GETs that list: every collection route (no path parameter), and every route whose answer
    is a list (``items``), such as a finding's evidence or a webhook's deliveries."""
    return sorted(str(route) for route in ROUTES if route.method == "GET" and (not route.params or _lists(app, route)))


def _lists(app: Flask, route: Route) -> bool:
    endpoint = next(rule.endpoint for rule in app.url_map.iter_rules()
                    if rule.rule == route.rule and route.method in (rule.methods or ()))
    responses = getattr(app.view_functions[endpoint], "_apidoc", {}).get("response", {}).get("responses", {})
    schema = next((doc["schema"] for doc in responses.get(200, []) if "schema" in doc), None)
    return schema is not None and not isinstance(schema, dict) and "items" in schema.fields


LIST_ROUTES = list_routes(_collection_app())


def test_every_list_route_has_rows_to_grow() -> None:
    missing = sorted(set(LIST_ROUTES) - set(LISTS))
    assert not missing, f"list routes without a grower: {missing}. Add one to LISTS in tests/test_query_counts.py."
    gone = sorted(set(LISTS) - set(LIST_ROUTES))
    assert not gone, f"growers of routes that are gone: {gone}"


def _constant(client: FlaskClient, world: World, grow: Grow) -> tuple[list[Statement], TestResponse, list[Statement]]:
    """Statements of the same read with SMALL rows behind it, then the answer and statements with LARGE."""
    scene = Scene(world.app, world)
    small = measured(client, world, grow(scene, SMALL))[1]
    return small, *measured(client, world, grow(scene, LARGE - SMALL))


def _check(name: str, small: list[Statement], large: list[Statement]) -> None:
    assert len(small) == len(large), (
        f"{name}: {len(small)} statements with {SMALL} rows but {len(large)} with {LARGE} (an N+1?)\n"
        f"with {LARGE} rows:\n{listing(large)}")
    assert len(large) <= MAX_STATEMENTS, f"{name}: {len(large)} statements (> {MAX_STATEMENTS}):\n{listing(large)}"


@pytest.mark.parametrize("route", LIST_ROUTES)
def test_a_list_runs_as_many_statements_for_25_rows_as_for_3_and_never_offsets(
    client: FlaskClient, world: World, route: str
) -> None:
    small, answer, large = _constant(client, world, LISTS[route])
    _check(route, small, large)
    body = answer.get_json(silent=True)
    if isinstance(body, dict) and "next_cursor" in body:
        assert body["next_cursor"] is not None, f"{route}: {LARGE} rows fit one page, so the grower grew nothing"
    offsets = [s for s in large if s.offsets()]
    assert not offsets, f"{route} pages with OFFSET (use the keyset cursor):\n{listing(offsets)}"


@pytest.mark.parametrize("name", list(HOT_READS))
def test_a_hot_read_runs_as_many_statements_for_25_rows_as_for_3(client: FlaskClient, world: World, name: str) -> None:
    small, _answer, large = _constant(client, world, HOT_READS[name])
    _check(name, small, large)
