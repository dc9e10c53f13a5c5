"""The isolation walk over the URL map: the routes, the callers, the calls and what each answer must be.

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

The victims come from the domains: ``tests/isolation/victims_<domain>.py`` registers, with ``@victims`` (see
``registry.py``), builders that create the resources its path parameters name in cb-a or client-a and say who
may address them. When a new domain adds a path parameter (``<uuid:audit_id>``...), add such a file; until
then every test of that route fails and says so. The test modules of this package only choose which routes
they walk (``test_resources_1.py`` and ``_2.py`` each take half of the resource routes, so xdist's
``--dist loadfile`` can run the halves on two workers).
"""
from __future__ import annotations

import base64
import itertools
import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

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
from grc.extensions import db
from grc.guard import PUBLIC, REFRESH
from grc.models import Base
from grc.tenants.models import Tenant
from tests.isolation.registry import (
    LEGITIMATE,
    MARKED_PARAMS,
    MARKER_BUILDERS,
    VALID_BODIES,
    VICTIM_BUILDERS,
    VICTIM_TENANTS,
    Marker,
    Victim,
    Victims,
    import_domains,
    new_api_client,
    tenant_of,
)
from tests.world import World

DOMAINS = import_domains("tests.isolation", "victims_")  # fills the registry before anything reads it

API_PREFIX = "/api/v1"
NOT_API_BLUEPRINTS = frozenset({"static", "api-docs", "health", "api_docs_assets"})
PROBLEM = "application/problem+json"
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
MAX_PAGES = 50
PATH_PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")  # werkzeug's <converter:name>

# Routes anyone may call; the walk leaves them out, so each entry is a reviewed decision.
PUBLIC_ROUTES = frozenset({"POST /api/v1/auth/login", "POST /api/v1/auth/token", "POST /api/v1/auth/mfa",
                           "POST /api/v1/auth/mfa/enrolment", "POST /api/v1/auth/mfa/enrolment/confirm",
                           "GET /api/v1/public/mark-licences/<number>",
                           "GET /api/v1/public/certificates/<cb_slug>/<path:number>",
                           "GET /api/v1/public/certificates/<cb_slug>/<path:number>/credential",
                           "GET /api/v1/public/cbs/<cb_slug>/status-lists/<purpose>",
                           "GET /api/v1/public/cbs/<cb_slug>", "GET /api/v1/public/cbs/<cb_slug>/jwks.json",
                           "GET /api/v1/public/cbs/<cb_slug>/did.json",
                           "GET /api/v1/auth/sso/<tenant_slug>/start", "GET /api/v1/auth/sso/<tenant_slug>/callback"})


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
    from grc.app import create_app

    return create_app(env="test", database_url="sqlite://", secret_key="collect-" + "x" * 40, log_level="WARNING")


COLLECTION_APP = _collection_app()
ROUTES = api_routes(COLLECTION_APP)
RESOURCE_ROUTES = [route for route in ROUTES if route.params]
COLLECTION_READS = [route for route in ROUTES if not route.params and route.method == "GET"]
COLLECTION_WRITES = [route for route in ROUTES if not route.params and route.method != "GET"]

T = TypeVar("T")


def part(items: list[T], number: int, of: int) -> list[T]:
    """The ``number``-th of ``of`` interleaved parts (1-based): neighbours (one domain's routes) are spread evenly."""
    return items[number - 1::of]


def url_for_rule(rule: str, values: dict[str, uuid.UUID]) -> str:
    return PATH_PARAM.sub(lambda match: str(values[match.group(2)]), rule)


# --------------------------------------------------------------------------- the victims


def missing_victims(route: Route) -> list[str]:
    return [param for param in route.params if param not in VICTIM_BUILDERS]


def require_victims(route: Route) -> None:
    """A path parameter nobody attacks would let a new route escape the suite: fail and say what to add."""
    missing = missing_victims(route)
    if missing:
        pytest.fail(
            f"{route}: no victim for path parameter(s) {', '.join(missing)}. Register a builder in VICTIM_BUILDERS "
            "(@victims in a tests/isolation/victims_<domain>.py) that creates such a resource in cb-a or client-a "
            "and says who may address it."
        )


def build_victims(app: Flask, world: World) -> Victims:
    victims = Victims({param: build(app, world) for param, build in VICTIM_BUILDERS.items()})
    victims.markers = _markers(app, world, victims)
    return victims


def _markers(app: Flask, world: World, victims: Victims) -> list[Marker]:
    """Ids, e-mails and names of the victims' data, with the tenants that may legitimately see each."""
    markers = [marker for build in MARKER_BUILDERS for marker in build(app, world, victims)]
    for param in MARKED_PARAMS:
        markers += [Marker(str(victim.id), victim.label, victim.addressable_by) for victim in victims.by_param[param]]
    return markers


def victim_tenant_ids(world: World) -> frozenset[uuid.UUID]:
    return frozenset(world.tenants[slug] for slug in VICTIM_TENANTS)


def victim_bindings(victims: Victims, route: Route) -> Iterator[tuple[dict[str, uuid.UUID], list[Victim]]]:
    """Every way of filling the route's path parameters with victims (one victim per parameter)."""
    for chosen in itertools.product(*(victims.by_param[param] for param in route.params)):
        yield {victim.param: victim.id for victim in chosen}, list(chosen)


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
    made = {slug: new_api_client(app, slug, role, "stranger") for slug, role in admins}
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


# --------------------------------------------------------------------------- what each answer must be


def assert_strangers_get_404_and_nothing_changes(app: Flask, client: FlaskClient, world: World, route: Route) -> None:
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


Attack = tuple[dict[str, uuid.UUID], list[Victim], Caller]


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


def assert_a_list_shows_nobody_another_tenants_data(app: Flask, client: FlaskClient, world: World,
                                                    route: Route) -> None:
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


def assert_a_strangers_write_never_touches_the_victims(app: Flask, client: FlaskClient, world: World,
                                                       route: Route) -> None:
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
