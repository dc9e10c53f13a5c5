"""Tenant isolation, walked over the URL map (DESIGN.md sections 2 and 5).

Every authenticated route of the API blueprints is found in ``app.url_map`` at collection time and becomes
its own test id, so a new route is covered the day it is added, without writing a test for it:

- a route with path parameters is called, for every resource of the victim tenants (``cb-a`` and its client
  ``client-a``) that the parameters can name, by every caller that may not address that resource: each
  role of the other tenants, their machine clients, the platform admin, the victims' own CB or client on the
  other side of the relationship. Authenticated strangers must get 404 (never 403: ids cannot be probed),
  callers without a valid token 401, always as problem+json, and the database must not change at all;
- a collection GET must answer 200/403 and never show a stranger an id, e-mail or name of the victims;
- a collection write by a stranger (body ``{}``) must not answer 5xx and must not touch a victim's row;
- no token, a garbage token, a tampered signature, another key, ``alg: none`` or an expired token (all
  claiming to be cb-a's admin) get 401 problem+json everywhere.

When a new domain adds a path parameter (``<uuid:audit_id>``...), add a builder for it to ``VICTIM_BUILDERS``:
it creates the resource in cb-a or client-a and says which tenants may address it. Until then every test of
that route fails and says so.
"""
from __future__ import annotations

import base64
import itertools
import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import jwt as pyjwt
import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_jwt_extended import create_access_token, create_refresh_token, decode_token
from sqlalchemy import Select, Table, false, func, or_, select
from werkzeug.test import TestResponse

from grc import tenancy
from grc.auditlog.models import AuditChainHead
from grc.auth.models import ApiClient, User
from grc.auth.users import create_api_client
from grc.extensions import db
from grc.models import Base
from grc.routing import PUBLIC, REFRESH
from grc.tenants.models import Tenant
from tests.world import World, act_as

API_PREFIX = "/api/v1"
NOT_API_BLUEPRINTS = frozenset({"static", "api-docs", "ops"})
PROBLEM = "application/problem+json"
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
VICTIM_TENANTS = ("cb-a", "client-a")
MAX_PAGES = 50
PATH_PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")  # werkzeug's <converter:name>

# Routes anyone may call; the walk leaves them out, so each entry is a reviewed decision.
PUBLIC_ROUTES = frozenset({"POST /api/v1/auth/login", "POST /api/v1/auth/token",
                           "GET /api/v1/public/mark-licences/<number>",
                           "GET /api/v1/public/certificates/<cb_slug>/<path:number>"})

# (route, caller's tenant, victim label): addressing that resource is the caller's right, not a leak.
LEGITIMATE = frozenset({
    # The platform operator keeps the directory of certification bodies (DESIGN.md section 2).
    ("GET /api/v1/tenants/{tenant_id}", "platform", "cb-a's tenant"),
})


# --------------------------------------------------------------------------- the routes


@dataclass(frozen=True)
class Route:
    """One method of one URL rule; its string is the test id."""

    method: str
    rule: str
    params: tuple[str, ...]
    refresh: bool = False  # the route authenticates with a refresh token (POST /auth/refresh)

    def __str__(self) -> str:
        """``PATCH /api/v1/users/{user_id}``: the OpenAPI spelling, readable in test ids and messages."""
        return self.method + " " + PATH_PARAM.sub(r"{\2}", self.rule)


def api_routes(app: Flask) -> list[Route]:
    """Every authenticated route of the API blueprints: what the guard protects, hence what we attack."""
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] in NOT_API_BLUEPRINTS or not rule.rule.startswith(API_PREFIX + "/"):
            continue
        view = app.view_functions[rule.endpoint]
        if getattr(view, PUBLIC, False):
            continue
        params = tuple(name for _converter, name in PATH_PARAM.findall(rule.rule))
        refresh = bool(getattr(view, REFRESH, False))
        routes += [Route(method, rule.rule, params, refresh) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return sorted(routes, key=lambda route: (route.rule, route.method))


def _collection_app() -> Flask:
    """An app built like the ``app`` fixture, only to read its URL map while pytest collects the tests."""
    from grc import create_app

    return create_app(env="test", database_url="sqlite://", secret_key="collect-" + "x" * 40, log_level="WARNING")


ROUTES = api_routes(_collection_app())
RESOURCE_ROUTES = [route for route in ROUTES if route.params]
COLLECTION_READS = [route for route in ROUTES if not route.params and route.method == "GET"]
COLLECTION_WRITES = [route for route in ROUTES if not route.params and route.method != "GET"]


def url_for_rule(rule: str, values: dict[str, uuid.UUID]) -> str:
    return PATH_PARAM.sub(lambda match: str(values[match.group(2)]), rule)


# --------------------------------------------------------------------------- the victims


@dataclass(frozen=True)
class Victim:
    """A resource of cb-a or client-a a path parameter can name, and the tenants entitled to address it."""

    param: str
    label: str
    id: uuid.UUID
    addressable_by: frozenset[str]


@dataclass(frozen=True)
class Marker:
    """Text that identifies a victim's data; seen in a response of any other tenant, it is a leak."""

    text: str
    label: str
    seen_by: frozenset[str]


VictimBuilder = Callable[[Flask, World], list[Victim]]


def _tenant_victims(_app: Flask, world: World) -> list[Victim]:
    return [
        Victim("tenant_id", "cb-a's tenant", world.tenants["cb-a"], frozenset({"cb-a"})),
        Victim("tenant_id", "client-a's tenant", world.tenants["client-a"], frozenset({"client-a"})),
    ]


def _client_victims(_app: Flask, world: World) -> list[Victim]:
    """Clients are addressed by their tenant id, by the CBs that certify them (not by the client itself)."""
    return [Victim("client_id", "client-a (certified by cb-a)", world.tenants["client-a"], frozenset({"cb-a"}))]


def _user_victims(_app: Flask, world: World) -> list[Victim]:
    return [
        Victim("user_id", f"{slug}'s {role}", world.users[f"{role}@{slug}.test"], frozenset({slug}))
        for slug, role in (("cb-a", "cb_admin"), ("client-a", "client_admin"))
    ]


def _api_client_victims(app: Flask, world: World) -> list[Victim]:
    return [
        Victim("api_client_id", f"{slug}'s API client", _api_client(app, slug, role, "victim"), frozenset({slug}))
        for slug, role in (("cb-a", "cb_admin"), ("client-a", "client_admin"))
    ]


GRAPH_PARAMS = ("scheme_id", "audit_id", "finding_id", "action_id", "evidence_id")
CERTIFICATE_PARAMS = ("certificate_id", "decision_id", "transfer_id")
RISK_PARAMS = ("register_id", "risk_id")
BOTH = frozenset({"cb-a", "client-a"})
CLIENT_ONLY = frozenset({"client-a"})
CB_ONLY = frozenset({"cb-a"})
WEBHOOK_PARAMS = ("subscription_id", "delivery_id")


def _certification_graph(app: Flask, world: World) -> dict[str, list[Victim]]:
    """cb-a's own scheme, an audit of client-a with a finding, an action and evidence on it; and client-a's own
    nonconformity (F5) with its action and evidence, which cb-a must never reach. Built once per world."""
    cached = getattr(world, "_certification_graph", None)
    if cached is not None:
        return cached
    from datetime import timedelta

    from grc.actions.service import create_for_finding
    from grc.audits.service import create_audit, start
    from grc.db import utcnow
    from grc.evidence.service import attach
    from grc.findings.service import raise_on_audit, raise_own
    from grc.schemes.catalogue import scheme_id
    from grc.schemes.service import create_scheme

    today = utcnow().date()
    with app.app_context():
        act_as("cb_admin@cb-a.test")
        scheme = create_scheme(db.session, {"code": "CB-A SECTOR", "edition": "2026", "title": "cb-a's own scheme",
                                            "clauses": [{"number": "1", "title": "Scope"}]})
        audit = create_audit(db.session, {
            "client_id": world.tenants["client-a"], "scheme_ids": [scheme_id("ISO 9001", "2015")], "type": "stage1",
            "planned_start": today, "planned_end": today + timedelta(days=1), "sites": [],
            "lead_auditor_id": world.users["auditor@cb-a.test"]})
        db.session.commit()
        act_as("auditor@cb-a.test")
        start(db.session, audit)
        finding = raise_on_audit(db.session, audit, {"grade": "major", "clause": "8.5", "requirement": "r",
                                                     "evidence": "victim evidence", "statement": "s"})
        cb_file = attach(db.session, finding, "victim-report.txt", b"cb-a audit notes")
        db.session.commit()
        act_as("client_admin@client-a.test")
        action = create_for_finding(db.session, finding, {"title": "victim action", "owner_id":
                                                          world.users["client_admin@client-a.test"], "due_date": today})
        own = raise_own(db.session, {"source": "complaint", "grade": "minor", "clause": "7.1", "requirement": "r",
                                     "evidence": "private", "statement": "s",
                                     "verifier_id": world.users["client_admin@client-a.test"]})
        own_action = create_for_finding(db.session, own, {"title": "private action", "owner_id":
                                                          world.users["client_admin@client-a.test"], "due_date": today})
        own_file = attach(db.session, own, "private.txt", b"client-a private notes")
        db.session.commit()
        graph = {
            "scheme_id": [Victim("scheme_id", "cb-a's own scheme", scheme.id, frozenset({"cb-a"}))],
            "audit_id": [Victim("audit_id", "cb-a's audit of client-a", audit.id, BOTH)],
            "finding_id": [Victim("finding_id", "cb-a's finding on client-a", finding.id, BOTH),
                           Victim("finding_id", "client-a's own nonconformity", own.id, CLIENT_ONLY)],
            "action_id": [Victim("action_id", "client-a's action on cb-a's finding", action.id, BOTH),
                          Victim("action_id", "client-a's private action", own_action.id, CLIENT_ONLY)],
            "evidence_id": [Victim("evidence_id", "evidence on cb-a's finding", cb_file.id, BOTH),
                            Victim("evidence_id", "client-a's private evidence", own_file.id, CLIENT_ONLY)],
        }
    world._certification_graph = graph  # type: ignore[attr-defined]
    return graph


def _issued_certificate(app: Flask, world: World) -> dict[str, list[Victim]]:
    """A certificate cb-a granted to client-a (and the grant decision), through the real decision service."""
    cached = getattr(world, "_issued_certificate", None)
    if cached is not None:
        return cached
    from grc.audits.service import complete, create_audit, start
    from grc.certification.service import decide
    from grc.db import utcnow
    from grc.schemes.catalogue import scheme_id

    today, iso14001 = utcnow().date(), scheme_id("ISO 14001", "2015")  # the licence victim holds ISO 9001
    with app.app_context():
        act_as("auditor@cb-a.test")
        audits = []
        for kind in ("stage1", "stage2"):
            audit = create_audit(db.session, {
                "client_id": world.tenants["client-a"], "scheme_ids": [iso14001], "type": kind, "planned_start": today,
                "planned_end": today, "sites": [], "lead_auditor_id": world.users["auditor@cb-a.test"]})
            start(db.session, audit)
            complete(db.session, audit, today)
            audits.append(audit.id)
        db.session.commit()
        act_as("certification_manager@cb-a.test")
        decision = decide(db.session, {"outcome": "grant", "client_id": world.tenants["client-a"], "scheme_id": iso14001,
                                       "audit_ids": audits, "scope": "victim scope", "rationale": "clean"})
        db.session.commit()
        transfer = _transfer_row(world, decision.certificate_id)
        graph = {"certificate_id": [Victim("certificate_id", "cb-a's certificate of client-a", decision.certificate_id, BOTH)],
                 "decision_id": [Victim("decision_id", "cb-a's grant decision for client-a", decision.id, BOTH)],
                 "transfer_id": [Victim("transfer_id", "a transfer client-a asked of cb-a", transfer, BOTH)]}
    world._issued_certificate = graph  # type: ignore[attr-defined]
    return graph


def _transfer_row(world: World, certificate_id: uuid.UUID) -> uuid.UUID:
    """A transfer request owned by cb-a about client-a (a row, not a real move: only who may address it matters)."""
    from grc.certification.models import CertificateTransfer, TransferStatus

    with tenancy.system_scope(db.session):
        row = CertificateTransfer(tenant_id=world.tenants["cb-a"], client_tenant_id=world.tenants["client-a"],
                                  source_certificate_id=certificate_id, source_number="VICTIM", source_cb_name="CB A",
                                  status=TransferStatus.requested, requested_by=world.users["client_admin@client-a.test"])
        db.session.add(row)
        db.session.commit()
        return row.id


def _risk_registers(app: Flask, world: World) -> dict[str, list[Victim]]:
    """client-a's private register and one it shares with cb-a, each with a risk (through the services)."""
    cached = getattr(world, "_risk_registers", None)
    if cached is not None:
        return cached
    from grc.risks.service import create_register, create_risk, share

    graph: dict[str, list[Victim]] = {"register_id": [], "risk_id": []}
    with app.app_context():
        act_as("client_admin@client-a.test")
        owner = world.users["client_admin@client-a.test"]
        for label, shared in (("client-a's private register", False), ("client-a's register shared with cb-a", True)):
            register = create_register(db.session, {"name": label, "scope": "victim scope", "owner_id": owner})
            risk = create_risk(db.session, register, {"title": f"risk in {label}", "owner_id": owner})
            if shared:
                share(db.session, register, world.tenants["cb-a"])
            readers = BOTH if shared else CLIENT_ONLY
            graph["register_id"].append(Victim("register_id", label, register.id, readers))
            graph["risk_id"].append(Victim("risk_id", f"a risk in {label}", risk.id, readers))
        db.session.commit()
    world._risk_registers = graph  # type: ignore[attr-defined]
    return graph


def _from_risks(param: str) -> VictimBuilder:
    return lambda app, world: _risk_registers(app, world)[param]


def _control_victims(app: Flask, world: World) -> list[Victim]:
    """A control in client-a's library (R6), through the service; addressable by client-a only."""
    cached = getattr(world, "_control_victims", None)
    if cached is not None:
        return cached
    from grc.risks.controls import create_control

    with app.app_context():
        act_as("client_admin@client-a.test")
        control = create_control(db.session, {"name": "victim control", "type": "preventive", "nature": "manual",
                                              "owner_id": world.users["client_admin@client-a.test"],
                                              "test_frequency_days": 90})
        db.session.commit()
    victims = [Victim("control_id", "a control in client-a's library", control.id, CLIENT_ONLY)]
    world._control_victims = victims  # type: ignore[attr-defined]
    return victims


def _from_certificate(param: str) -> VictimBuilder:
    return lambda app, world: _issued_certificate(app, world)[param]


def _licence_victims(app: Flask, world: World) -> list[Victim]:
    """cb-a's mark licence for client-a, on an active certificate (made through the ORM); built once per world."""
    cached = getattr(world, "_licence_victims", None)
    if cached is not None:
        return cached
    from grc.marks.service import grant
    from tests.marks_factory import make_certificate

    certificate_id = make_certificate(app, world, number="VICTIM-LICENCE-CERT")
    with app.app_context():
        act_as("certification_manager@cb-a.test")
        licence = grant(db.session, {"client_id": world.tenants["client-a"], "certificate_ids": [certificate_id],
                                     "permitted_uses": ["website"], "domains": ["victim.example"]})
        db.session.commit()
    world._licence_victims = [Victim("licence_id", "cb-a's mark licence for client-a", licence.id, BOTH)]  # type: ignore[attr-defined]
    return world._licence_victims  # type: ignore[attr-defined]


def _notification_victims(app: Flask, world: World) -> list[Victim]:
    """An in-app notification of client-a's admin, made by relaying an event about client-a (as the job does)."""
    from grc.notifications.models import Notification
    from grc.notifications.service import publish, relay

    with app.app_context(), tenancy.system_scope(db.session):
        publish(db.session, "finding.raised", {"number": "VICTIM-1", "grade": "minor",
                                               "client_id": str(world.tenants["client-a"])},
                tenant_id=world.tenants["client-a"])
        db.session.commit()
        relay(db.session)
        owner = world.users["client_admin@client-a.test"]
        notification = db.session.scalars(select(Notification).where(Notification.user_id == owner)).first()
    return [Victim("notification_id", "client-a's admin's notification", notification.id, CLIENT_ONLY)]


def _run_victims(app: Flask, world: World) -> list[Victim]:
    """A sweep run that cb-a's admin started (an RQ job carrying its tenant)."""
    from grc.jobs.service import run_now

    with app.app_context():
        act_as("cb_admin@cb-a.test")
        run = run_now("certificate-expiry", None)
    return [Victim("run_id", "cb-a's sweep run", uuid.UUID(run.id), CB_ONLY)]


def _sweep_victims(app: Flask, world: World) -> list[Victim]:
    """Sweep names are a global catalogue, not a resource: everyone may name one, and a run touches only the
    caller's tenant (tests/test_reminders.py proves cb-b's run leaves cb-a's certificates alone)."""
    return [Victim("name", "the expiry-reminders sweep", "expiry-reminders", frozenset(world.tenants) | {"platform"})]  # type: ignore[arg-type]


def _webhook_victims(app: Flask, world: World) -> dict[str, list[Victim]]:
    """cb-a's webhook subscription (J5, through the service) with one delivery in its log; addressable by cb-a only.
    The delivery is a dead row (only who may address it matters): nothing sends it while the strangers call."""
    cached = getattr(world, "_webhook_victims", None)
    if cached is not None:
        return cached
    from grc.notifications.models import Delivery, DeliveryChannel, DeliveryStatus, OutboxMessage, OutboxStatus
    from grc.webhooks.service import create_subscription

    cb_a = world.tenants["cb-a"]
    with app.app_context():
        act_as("cb_admin@cb-a.test")
        subscription, _secret = create_subscription(db.session, {"url": "https://93.184.215.14/victim-hook",
                                                                 "event_types": ["risk.acceptance_expired"]})
        db.session.commit()
        with tenancy.system_scope(db.session):
            message = OutboxMessage(tenant_id=cb_a, topic="risk.acceptance_expired", payload={},
                                    status=OutboxStatus.dispatched)
            db.session.add(message)
            db.session.flush()
            delivery = Delivery(channel=DeliveryChannel.webhook, tenant_id=cb_a, event_id=message.id,
                                topic=message.topic, subscription_id=subscription.id, recipient=subscription.url,
                                status=DeliveryStatus.dead, attempts=8, last_error="the receiver answered HTTP 500")
            db.session.add(delivery)
            db.session.commit()
    graph = {"subscription_id": [Victim("subscription_id", "cb-a's webhook subscription", subscription.id, CB_ONLY)],
             "delivery_id": [Victim("delivery_id", "a delivery of cb-a's webhook", delivery.id, CB_ONLY)]}
    world._webhook_victims = graph  # type: ignore[attr-defined]
    return graph


def _from_webhooks(param: str) -> VictimBuilder:
    return lambda app, world: _webhook_victims(app, world)[param]


def _from_graph(param: str) -> VictimBuilder:
    return lambda app, world: _certification_graph(app, world)[param]


VICTIM_BUILDERS: dict[str, VictimBuilder] = {
    "tenant_id": _tenant_victims,
    "client_id": _client_victims,
    "user_id": _user_victims,
    "api_client_id": _api_client_victims,
    **{param: _from_graph(param) for param in GRAPH_PARAMS},
    "licence_id": _licence_victims,
    **{param: _from_certificate(param) for param in CERTIFICATE_PARAMS},
    **{param: _from_risks(param) for param in RISK_PARAMS},
    "control_id": _control_victims,
    "notification_id": _notification_victims,
    "run_id": _run_victims,
    "name": _sweep_victims,
    **{param: _from_webhooks(param) for param in WEBHOOK_PARAMS},
}


def _api_client(app: Flask, slug: str, role: str, purpose: str) -> uuid.UUID:
    """An API client of ``slug`` with ``role``, created through the service by that tenant's admin."""
    with app.app_context():
        act_as(f"{role}@{slug}.test")
        client, _secret = create_api_client(db.session, {"name": f"{purpose} integration of {slug}", "roles": [role]})
        db.session.commit()
        return client.id


def missing_victims(route: Route) -> list[str]:
    return [param for param in route.params if param not in VICTIM_BUILDERS]


def require_victims(route: Route) -> None:
    """A path parameter nobody attacks would let a new route escape the suite: fail and say what to add."""
    missing = missing_victims(route)
    if missing:
        pytest.fail(
            f"{route}: no victim for path parameter(s) {', '.join(missing)}. Add a builder to VICTIM_BUILDERS in "
            "tests/test_isolation.py that creates such a resource in cb-a or client-a and says who may address it."
        )


@dataclass
class Victims:
    """Every victim resource (by parameter) and every marker of the victims' data."""

    by_param: dict[str, list[Victim]] = field(default_factory=dict)
    markers: list[Marker] = field(default_factory=list)



def victim_tenant_ids(world: World) -> frozenset[uuid.UUID]:
    return frozenset(world.tenants[slug] for slug in VICTIM_TENANTS)


def build_victims(app: Flask, world: World) -> Victims:
    victims = Victims({param: build(app, world) for param, build in VICTIM_BUILDERS.items()})
    victims.markers = _markers(app, world, victims)
    return victims


def _markers(app: Flask, world: World, victims: Victims) -> list[Marker]:
    """Ids, e-mails and names of the victims' data, with the tenants that may legitimately see each."""
    markers = [
        Marker(str(world.tenants["cb-a"]), "cb-a's tenant id", frozenset({"cb-a", "client-a", "platform"})),
        Marker(str(world.tenants["client-a"]), "client-a's tenant id", frozenset({"client-a", "cb-a"})),
        Marker("Client client-a Ltd", "client-a's legal name", frozenset({"client-a", "cb-a"})),
    ]
    for email, user_id in world.users.items():
        slug = tenant_of(email)
        if slug in VICTIM_TENANTS:
            markers += [Marker(email, f"{slug}'s user e-mail", frozenset({slug})),
                        Marker(str(user_id), f"{slug}'s user id {email}", _user_id_seen_by(slug))]
    for victim in victims.by_param["api_client_id"]:
        markers += _api_client_markers(app, victim)
    for param in (*GRAPH_PARAMS, *CERTIFICATE_PARAMS, *RISK_PARAMS, *WEBHOOK_PARAMS, "licence_id", "control_id"):
        markers += [Marker(str(victim.id), victim.label, victim.addressable_by) for victim in victims.by_param[param]]
    return markers


def _user_id_seen_by(slug: str) -> frozenset[str]:
    """A CB and its client work on shared records (audits, findings, corrective actions), which name the people
    of both sides by id (auditors, action owners, actors in the trail); an id alone reveals nothing
    (GET /users/{id} answers 404 across tenants), while e-mails stay private to each tenant."""
    return frozenset({"cb-a", "client-a"}) if slug in ("cb-a", "client-a") else frozenset({slug})


def _api_client_markers(app: Flask, victim: Victim) -> list[Marker]:
    with app.app_context(), tenancy.system_scope(db.session):
        client = db.session.get(ApiClient, victim.id)
        texts = (str(client.id), client.client_id, client.name)
    return [Marker(text, victim.label, victim.addressable_by) for text in texts]


def victim_bindings(victims: Victims, route: Route) -> Iterator[tuple[dict[str, uuid.UUID], list[Victim]]]:
    """Every way of filling the route's path parameters with victims (one victim per parameter)."""
    for chosen in itertools.product(*(victims.by_param[param] for param in route.params)):
        yield {victim.param: victim.id for victim in chosen}, list(chosen)


# --------------------------------------------------------------------------- valid bodies

# An empty body is refused by validation before any service runs. For a collection write listed here the
# strangers also send a body that passes validation, so the service really acts: it must act only in the
# caller's own tenant. A body may name victims' ids (``victims.by_param``), as an attacker's would.
BodyBuilder = Callable[["Victims", "Caller", int], dict[str, Any]]
STRANGER_PASSWORD = "a long enough password"


def _admin_role(caller: Caller) -> str:
    tenant = caller.tenant or ""
    return "platform_admin" if tenant == "platform" else "cb_admin" if tenant.startswith("cb-") else "client_admin"


def _new_admin(n: int) -> dict[str, str]:
    return {"email": f"admin-{n}@stranger.test", "name": "Stranger admin", "password": STRANGER_PASSWORD}


VALID_BODIES: dict[str, BodyBuilder] = {
    "POST /api/v1/tenants": lambda _v, _c, n: {
        "kind": "certification_body", "name": f"Stranger CB {n}", "slug": f"stranger-{n}", "country": "DE",
        "admin": _new_admin(n),
    },
    "POST /api/v1/clients": lambda _v, _c, n: {
        "name": f"Stranger client {n}", "legal_name": f"Stranger client {n} Ltd", "country": "FR",
        "address": "2 rue Ailleurs, Lyon", "admin": _new_admin(n),
    },
    "POST /api/v1/users": lambda _v, c, n: {
        "email": f"user-{n}@stranger.test", "name": "Stranger", "password": STRANGER_PASSWORD,
        "roles": [_admin_role(c)],
    },
    "POST /api/v1/api-clients": lambda _v, c, n: {"name": f"stranger integration {n}", "roles": [_admin_role(c)]},
}


# --------------------------------------------------------------------------- the callers


@dataclass(frozen=True)
class Caller:
    """Who knocks: a user, a machine client, or someone without a valid token (``tenant`` None)."""

    name: str
    tenant: str | None
    token: Callable[[bool], str | None]  # refresh? -> bearer token (None: no Authorization header)

    def headers(self, route: Route) -> dict[str, str]:
        token = self.token(route.refresh)
        return {} if token is None else {"Authorization": f"Bearer {token}"}


def tenant_of(email: str) -> str:
    return email.split("@", 1)[1].removesuffix(".test")


@dataclass(frozen=True)
class Identity:
    """What a token names: the subject and the claims login (or the client-credentials exchange) puts in it."""

    subject: uuid.UUID
    claims: dict[str, str]


def identities(app: Flask, model: type[User | ApiClient]) -> dict[uuid.UUID, Identity]:
    """Every user (or API client) and the claims of its tenant, in one query."""
    typ = "api_client" if model is ApiClient else "user"
    with app.app_context(), tenancy.system_scope(db.session):
        rows = db.session.execute(select(model.id, Tenant.id, Tenant.kind).join(Tenant, Tenant.id == model.tenant_id))
        return {actor: Identity(actor, {"tid": str(tid), "kind": kind.value, "typ": typ}) for actor, tid, kind in rows}


def mint(app: Flask, who: Identity, *, refresh: bool = False, expires: timedelta | None = None) -> str:
    """A new token for each request (new jti): a caller that hits POST /auth/logout revokes the one it used."""
    make = create_refresh_token if refresh else create_access_token
    lifetime = {} if expires is None else {"expires_delta": expires}
    with app.app_context():
        return make(identity=str(who.subject), additional_claims=who.claims, **lifetime)


def user_callers(app: Flask, world: World) -> list[Caller]:
    users = identities(app, User)
    return [
        Caller(email, tenant_of(email), lambda refresh, who=users[user_id]: mint(app, who, refresh=refresh))
        for email, user_id in sorted(world.users.items())
    ]


def machine_callers(app: Flask) -> list[Caller]:
    """Admin-role API clients of the stranger tenants: machines are callers too (they get no refresh token)."""
    admins = (("cb-b", "cb_admin"), ("client-b", "client_admin"))
    made = {slug: _api_client(app, slug, role, "stranger") for slug, role in admins}
    machines = identities(app, ApiClient)
    return [
        Caller(f"API client of {slug}", slug, lambda _refresh, who=machines[client_id]: mint(app, who))
        for slug, client_id in made.items()
    ]


def unauthenticated_callers(app: Flask, world: World) -> list[Caller]:
    """No token, and tokens that claim to be cb-a's admin but must not be believed."""
    victim_admin = identities(app, User)[world.users["cb_admin@cb-a.test"]]
    genuine = mint(app, victim_admin)
    head, payload, signature = genuine.split(".")
    claims = _claims(app, genuine)
    expired = mint(app, victim_admin, expires=timedelta(seconds=-60))
    forged = {
        "anonymous": None,
        "garbage bearer": "not-a-jwt",
        "tampered signature": f"{head}.{payload}.{_flip(signature)}",
        "signed with another key": pyjwt.encode(claims, "another-key-" + "y" * 40, algorithm="HS256"),
        "alg none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{payload}.",
        "expired": expired,
    }
    return [Caller(name, None, lambda _r, token=token: token) for name, token in forged.items()]


def _claims(app: Flask, token: str) -> dict[str, Any]:
    with app.app_context():
        return decode_token(token)


def _flip(signature: str) -> str:
    """Change the first character: it carries 6 real bits (the last one may carry only padding)."""
    return ("B" if signature[0] == "A" else "A") + signature[1:]


def _b64(obj: dict[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")


def all_callers(app: Flask, world: World) -> list[Caller]:
    return user_callers(app, world) + machine_callers(app) + unauthenticated_callers(app, world)


# --------------------------------------------------------------------------- what changed


Rows = dict[str, Any]


class Watch:
    """Watches the database while strangers call: after each call a one-query fingerprint (row counts and the
    audit chain's length, so the change is pinned on its caller), and at the end every row compared (which
    catches an update of a table the audit chain does not cover)."""

    def __init__(self, app: Flask, tenants: frozenset[uuid.UUID] | None = None) -> None:
        self.app, self.tenants = app, tenants
        self.start = self._read(_rows)
        self.last = self._read(_fingerprint)
        self.reported = False

    def changed_by_last_call(self, method: str) -> list[str]:
        """Reads are only compared at the end (a query saved per call); a read that writes is found there
        too, just not pinned on its caller."""
        if method == "GET":
            return []
        now = self._read(_fingerprint)
        changed, self.last = _differing(self.last, now), now
        self.reported = self.reported or bool(changed)
        return changed

    def unnoticed_changes(self) -> list[str]:
        """Rows that differ from the start though no single call was caught changing them."""
        changed = [] if self.reported else _differing(self.start, self._read(_rows))
        if not changed:
            return []
        why = "no write call shows it: a read that writes, or an update of a table the audit chain does not cover"
        return [f"rows of {changed} changed during the test and {why}"]

    def _read(self, how: Callable[[frozenset[uuid.UUID] | None], Rows]) -> Rows:
        """Past every wall (system scope also lifts row-level security): the rows as they are."""
        with self.app.app_context(), tenancy.system_scope(db.session):
            return how(self.tenants)


def _differing(before: Rows, after: Rows) -> list[str]:
    return [name for name in before if before[name] != after.get(name)]


def _fingerprint(tenants: frozenset[uuid.UUID] | None) -> Rows:
    counts = [_owned(select(func.count()).select_from(table), table, tenants).scalar_subquery() for table in TABLES]
    chain = _owned(select(func.coalesce(func.sum(AuditChainHead.last_seq), 0)), AuditChainHead.__table__, tenants)
    row = db.session.execute(select(*counts, chain.scalar_subquery())).one()
    return dict(zip([table.name for table in TABLES] + ["audit chain length"], row, strict=True))


def _rows(tenants: frozenset[uuid.UUID] | None) -> Rows:
    return {
        table.name: db.session.execute(_owned(select(table), table, tenants).order_by(*table.primary_key)).all()
        for table in TABLES
    }


def _owned(stmt: Select[Any], table: Table, tenants: frozenset[uuid.UUID] | None) -> Select[Any]:
    """``stmt`` limited to the rows ``tenants`` own (all rows when ``tenants`` is None)."""
    if tenants is None:
        return stmt
    owners = _tenant_columns(table)
    return stmt.where(or_(*(column.in_(tenants) for column in owners))) if owners else stmt.where(false())


def _tenant_columns(table: Table) -> list[Any]:
    """Columns naming an owning tenant: foreign keys to tenants.id, or the tenant's own id."""
    if table.name == Tenant.__tablename__:
        return [table.c.id]
    return [column for column in table.columns if any(fk.column is Tenant.__table__.c.id for fk in column.foreign_keys)]


TABLES: list[Table] = list(Base.metadata.sorted_tables)


# --------------------------------------------------------------------------- calling


def call(
    app: Flask, client: FlaskClient, route: Route, values: dict[str, uuid.UUID], caller: Caller,
    body: dict[str, Any] | None = None,
) -> TestResponse:
    """The request a stranger would try: an empty JSON body unless one is given, a made-up ETag for PATCH."""
    headers = caller.headers(route)
    if route.method == "PATCH":
        headers["If-Match"] = '"x"'
    payload = {"json": body or {}} if route.method in BODY_METHODS else {}
    return client.open(url_for_rule(route.rule, values), method=route.method, headers=headers, **payload)


def problem_failure(response: TestResponse, allowed: set[int]) -> str | None:
    """Why the answer is wrong (unexpected status, or an error that is not problem+json), or None."""
    if response.status_code not in allowed:
        return f"answered {response.status_code} (expected {sorted(allowed)}): {response.get_data(as_text=True)[:200]}"
    if response.status_code >= 400 and response.mimetype != PROBLEM:
        return f"answered {response.status_code} as {response.mimetype}, not {PROBLEM}"
    return None


def leaks(text: str, caller: Caller, markers: list[Marker]) -> list[str]:
    return [f"{m.label} ({m.text})" for m in markers if caller.tenant not in m.seen_by and m.text in text]


def read_all_pages(app: Flask, client: FlaskClient, route: Route, caller: Caller) -> tuple[TestResponse, str]:
    """The first answer and the text of every page (a leak on page 2 is still a leak)."""
    first = response = call(app, client, route, {}, caller)
    texts = [response.get_data(as_text=True)]
    for _ in range(MAX_PAGES):
        cursor = _next_cursor(response)
        if cursor is None:
            break
        response = client.get(route.rule, query_string={"cursor": cursor}, headers=caller.headers(route))
        texts.append(response.get_data(as_text=True))
    return first, "\n".join(texts)


def _next_cursor(response: TestResponse) -> str | None:
    body = response.get_json(silent=True) if response.status_code == 200 else None
    return body.get("next_cursor") if isinstance(body, dict) else None


def report(route: Route, failures: list[str]) -> str:
    return f"{route}: {len(failures)} isolation failure(s)\n  " + "\n  ".join(failures)


# --------------------------------------------------------------------------- the walk


def test_the_walk_covers_every_authenticated_api_route_of_the_app(app: Flask) -> None:
    """The routes collected from a throwaway app are those of the app under test, and they are not few."""
    live, walked = {str(r) for r in api_routes(app)}, {str(r) for r in ROUTES}
    assert live == walked, f"not walked: {sorted(live - walked)}; walked but not served: {sorted(walked - live)}"
    assert api_routes(app) == ROUTES
    assert {"GET /api/v1/me", "PATCH /api/v1/users/{user_id}", "POST /api/v1/tenants"} <= {str(r) for r in ROUTES}


def test_only_the_routes_meant_to_be_public_skip_authentication(app: Flask) -> None:
    """The walk skips public routes, so making one public is a decision this list records (DESIGN.md section 4)."""
    public = {
        f"{method} {rule.rule}"
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith(API_PREFIX + "/") and getattr(app.view_functions[rule.endpoint], PUBLIC, False)
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert public == PUBLIC_ROUTES, f"public API routes changed: add or remove them in PUBLIC_ROUTES: {sorted(public)}"


def test_a_route_naming_a_resource_nobody_attacks_fails_the_suite() -> None:
    widget_route = Route("GET", "/api/v1/widgets/<uuid:widget_id>", ("widget_id",))
    with pytest.raises(pytest.fail.Exception, match="no victim for path parameter.*widget_id.*VICTIM_BUILDERS"):
        require_victims(widget_route)


def test_every_path_parameter_of_every_route_has_a_victim_to_attack() -> None:
    missing = {str(route): missing_victims(route) for route in RESOURCE_ROUTES if missing_victims(route)}
    assert not missing, (
        f"routes with path parameters the isolation suite has no victim for: {missing}. Add a builder to "
        "VICTIM_BUILDERS in tests/test_isolation.py that creates such a resource in cb-a or client-a."
    )


@pytest.mark.parametrize("route", RESOURCE_ROUTES, ids=str)
def test_another_tenants_resource_answers_strangers_404_and_nothing_changes(
    app: Flask, client: FlaskClient, world: World, route: Route
) -> None:
    """Visibility is resolved before roles and before the body, so every stranger gets the same 404."""
    require_victims(route)
    victims, callers = build_victims(app, world), all_callers(app, world)
    watch = Watch(app)
    failures = []
    for values, chosen, caller in attacks(route, victims, callers):
        response = call(app, client, route, values, caller)
        problem = problem_failure(response, {401} if caller.tenant is None else {404})
        changed = watch.changed_by_last_call(route.method)
        if problem or changed:
            target = " + ".join(victim.label for victim in chosen)
            failures.append(f"{caller.name} on {target}: {problem or f'changed {changed}'}")
    failures += watch.unnoticed_changes()
    assert not failures, report(route, failures)


Attack = tuple[dict[str, uuid.UUID], list[Victim], "Caller"]


def attacks(route: Route, victims: Victims, callers: list[Caller]) -> Iterator[Attack]:
    """Every stranger on every binding of the path; callers without a valid token once (the guard refuses them
    before any id is looked at)."""
    for index, (values, chosen) in enumerate(victim_bindings(victims, route)):
        for caller in callers:
            if caller.tenant is None and index > 0 or _entitled(route, caller, chosen):
                continue
            yield values, chosen, caller


def _entitled(route: Route, caller: Caller, chosen: list[Victim]) -> bool:
    """The caller may address every resource named in the path, so this call is no attack."""
    return caller.tenant is not None and all(
        caller.tenant in victim.addressable_by or (str(route), caller.tenant, victim.label) in LEGITIMATE
        for victim in chosen
    )


@pytest.mark.parametrize("route", COLLECTION_READS, ids=str)
def test_a_list_shows_nobody_another_tenants_data(app: Flask, client: FlaskClient, world: World, route: Route) -> None:
    """Each caller sees only what its tenant may see: no victim id, e-mail or name on any page; reads write nothing."""
    victims, callers = build_victims(app, world), all_callers(app, world)
    watch = Watch(app)
    failures = []
    for caller in callers:
        response, text = read_all_pages(app, client, route, caller)
        problem = problem_failure(response, {401} if caller.tenant is None else {200, 403})
        leaked = leaks(text, caller, victims.markers)
        changed = watch.changed_by_last_call(route.method)
        if problem or leaked or changed:
            failures.append(f"{caller.name}: " + "; ".join(filter(None, [
                problem, leaked and "leaks " + ", ".join(leaked), changed and f"changed {changed}"])))
    failures += watch.unnoticed_changes()
    assert not failures, report(route, failures)


@pytest.mark.parametrize("route", COLLECTION_WRITES, ids=str)
def test_a_strangers_write_to_a_collection_never_touches_the_victims(
    app: Flask, client: FlaskClient, world: World, route: Route
) -> None:
    """An empty body is refused (4xx, never 5xx) or, if valid, acts only in the caller's own tenant."""
    victims = build_victims(app, world)
    strangers = [c for c in all_callers(app, world) if c.tenant not in VICTIM_TENANTS]
    watch = Watch(app, victim_tenant_ids(world))
    failures, accepted = [], 0
    for n, caller in enumerate(strangers):
        for kind, body in _bodies(route, victims, caller, n):
            response = call(app, client, route, {}, caller, body)
            if kind == "valid" and response.status_code < 300:
                accepted += 1
            problem = _write_answer_failure(response, caller)
            changed = watch.changed_by_last_call(route.method)
            if problem or changed:
                failures.append(f"{caller.name} with {kind} body: {problem or f'changed victim rows of {changed}'}")
    if str(route) in VALID_BODIES and not accepted:
        failures.append(f"VALID_BODIES['{route}'] was refused by every caller: update it so the service runs")
    failures += watch.unnoticed_changes()
    assert not failures, report(route, failures)


def _bodies(route: Route, victims: Victims, caller: Caller, n: int) -> list[tuple[str, dict[str, Any]]]:
    build = VALID_BODIES.get(str(route))
    if build is None or caller.tenant is None:
        return [("empty", {})]
    return [("empty", {}), ("valid", build(victims, caller, n))]


def _write_answer_failure(response: TestResponse, caller: Caller) -> str | None:
    if caller.tenant is None:
        return problem_failure(response, {401})
    if response.status_code >= 500:
        return f"answered {response.status_code}: {response.get_data(as_text=True)[:200]}"
    return problem_failure(response, {response.status_code})
