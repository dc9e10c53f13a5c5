"""The isolation walk over /scim/v2 (issue 18 items 3 and 5), which the OpenAPI walk does not reach: its routes are
not in the spec's /api/v1, they authenticate with SCIM tokens, and they answer SCIM's error body, not problem+json.

Every /scim/v2 route of the URL map is walked, so a new SCIM route is covered the day it is added:

- a route naming a user or a group is called, for every user and provisioned group of the victims (cb-a and its
  client client-a), with the SCIM tokens of the stranger tenants (cb-b, client-b): 404 in SCIM's error body, and the
  database does not change;
- a list (with and without a filter naming the victims) shows a stranger's token no victim id, e-mail or name;
- a write to a collection (an empty body, a user with a victim's e-mail, a group naming a victim user as member)
  never answers 5xx (but 501, SCIM's "not implemented", for the search across resource types it does not serve)
  and never touches a victim's row;
- no token, a made-up token, a revoked token of cb-a and cb-a's admin's JWT (not a SCIM token) get 401 everywhere.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from grc import tenancy
from grc.extensions import db
from grc.scim import service
from tests.isolation.registry import VICTIM_TENANTS, Victim, Victims
from tests.isolation.victims_scim import scim_token
from tests.isolation.walk import (
    COLLECTION_APP,
    PATH_PARAM,
    Watch,
    build_victims,
    leaks,
    url_for_rule,
    victim_tenant_ids,
)
from tests.world import World

PREFIX = "/scim/v2"
SCIM_JSON = "application/scim+json"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
STRANGERS = {"cb-b": "cb_admin@cb-b.test", "client-b": "client_admin@client-b.test"}
# Path parameters that name no tenant's resource: the discovery documents every token reads alike, and the catch-all
# that answers 404/405 for what is not served. Each entry is a reviewed decision; tokens are still required there.
NOT_TENANT_RESOURCES = {"schema_id": "urn:ietf:params:scim:schemas:core:2.0:User", "type_id": "User",
                        "unknown": "Nothing"}
RESOURCE_PARAMS = {"user_id": "user_id", "group_id": "scim_group_id"}  # SCIM path parameter -> victims' parameter


@dataclass(frozen=True)
class ScimRoute:
    method: str
    rule: str
    params: tuple[str, ...]

    def __str__(self) -> str:
        return self.method + " " + PATH_PARAM.sub(r"{\2}", self.rule)


def scim_routes(app: Flask) -> list[ScimRoute]:
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(PREFIX + "/"):
            params = tuple(name for _converter, name in PATH_PARAM.findall(rule.rule))
            routes += [ScimRoute(method, rule.rule, params) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return sorted(routes, key=lambda route: (route.rule, route.method))


ROUTES = scim_routes(COLLECTION_APP)
RESOURCE_ROUTES = [route for route in ROUTES if set(route.params) & set(RESOURCE_PARAMS)]
COLLECTION_READS = [route for route in ROUTES if not route.params and route.method == "GET"]
COLLECTION_WRITES = [route for route in ROUTES if not route.params and route.method != "GET"]


@dataclass(frozen=True)
class ScimCaller:
    name: str
    tenant: str | None  # None: must be refused (401)
    authorization: str | None

    def headers(self) -> dict[str, str]:
        return {} if self.authorization is None else {"Authorization": self.authorization}


def stranger_callers(app: Flask) -> list[ScimCaller]:
    return [ScimCaller(f"SCIM token of {slug}", slug, f"Bearer {scim_token(app, admin, f'{slug} walk')[1]}")
            for slug, admin in STRANGERS.items()]


def refused_callers(app: Flask, world: World) -> list[ScimCaller]:
    """No token, a made-up one, a revoked one of cb-a, and a JWT of cb-a's admin (a JWT is no SCIM token)."""
    token_id, secret = scim_token(app, "cb_admin@cb-a.test", "cb-a revoked")
    with app.app_context():
        tenancy.scope_to(db.session, world.tenants["cb-a"])
        service.revoke_token(db.session, db.session.get_one(service.ScimToken, token_id),
                             caller=tenancy.Principal(world.tenants["cb-a"], "certification_body", "user",
                                                      world.users["cb_admin@cb-a.test"], frozenset({"cb_admin"})))
        db.session.commit()
    return [ScimCaller("anonymous", None, None), ScimCaller("made-up token", None, "Bearer grc_scim_made-up"),
            ScimCaller("revoked token of cb-a", None, f"Bearer {secret}"),
            ScimCaller("cb-a admin's JWT", None, f"Bearer {world.token('cb_admin@cb-a.test')}")]


def user_victims(world: World) -> list[Victim]:
    return [Victim("user_id", f"{email} of {slug}", user_id, frozenset({slug}))
            for email, user_id in world.users.items() for slug in VICTIM_TENANTS if email.endswith(f"@{slug}.test")]


def scim_victims(victims: Victims, world: World) -> dict[str, list[Victim]]:
    return {"user_id": user_victims(world), "group_id": victims.by_param["scim_group_id"]}


def call(client: FlaskClient, route: ScimRoute, values: dict[str, Any], caller: ScimCaller,
         body: Any = None) -> TestResponse:
    payload = {"json": body if body is not None else {}} if route.method in ("POST", "PUT", "PATCH") else {}
    return client.open(url_for_rule(route.rule, values), method=route.method,
                       headers={**caller.headers(), "Content-Type": SCIM_JSON}, **payload)


def scim_failure(response: TestResponse, allowed: set[int]) -> str | None:
    """Why the answer is wrong (unexpected status, or an error not in SCIM's error body), or None."""
    if response.status_code not in allowed:
        return f"answered {response.status_code} (expected {sorted(allowed)}): {response.get_data(as_text=True)[:200]}"
    if response.status_code >= 400:
        body = response.get_json(force=True, silent=True) or {}
        if response.mimetype != SCIM_JSON or body.get("schemas") != [ERROR]:
            return f"answered {response.status_code} as {response.mimetype}, not a SCIM error: {body}"
    return None


def bindings(route: ScimRoute, victims: dict[str, list[Victim]]) -> Iterator[tuple[dict[str, Any], Victim | None]]:
    """One victim per tenant-resource parameter (a route names at most one); the fixed value of the others."""
    fixed = {param: NOT_TENANT_RESOURCES[param] for param in route.params if param in NOT_TENANT_RESOURCES}
    named = [param for param in route.params if param in RESOURCE_PARAMS]
    if not named:
        yield fixed, None
        return
    for victim in victims[named[0]]:
        yield {**fixed, named[0]: victim.id}, victim


def report(route: ScimRoute, failures: list[str]) -> str:
    return f"{route}: {len(failures)} isolation failure(s)\n  " + "\n  ".join(failures)


# --------------------------------------------------------------------------- the tests


def test_every_scim_path_parameter_is_a_tenant_resource_with_victims_or_a_reviewed_exception() -> None:
    unknown = {param for route in ROUTES for param in route.params} - set(RESOURCE_PARAMS) - set(NOT_TENANT_RESOURCES)
    assert not unknown, f"/scim/v2 path parameters nobody attacks: {unknown}; add victims to RESOURCE_PARAMS"
    assert RESOURCE_ROUTES and COLLECTION_READS and COLLECTION_WRITES


@pytest.mark.parametrize("route", RESOURCE_ROUTES, ids=str)
def test_another_tenants_user_or_group_answers_a_strangers_scim_token_404_and_nothing_changes(
    app: Flask, client: FlaskClient, world: World, route: ScimRoute
) -> None:
    victims = scim_victims(build_victims(app, world), world)
    callers = stranger_callers(app) + refused_callers(app, world)
    watch = Watch(app)
    failures = []
    for index, (values, victim) in enumerate(bindings(route, victims)):
        for caller in callers:
            if caller.tenant is None and index > 0:
                continue
            body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
                {"op": "replace", "path": "active", "value": False}]} if route.method == "PATCH" else None
            response = call(client, route, values, caller, body)
            problem = scim_failure(response, {401} if caller.tenant is None else {404})
            changed = watch.changed_by_last_call(route.method)
            if problem or changed:
                failures.append(f"{caller.name} on {victim.label if victim else values}: {problem or changed}")
    failures += watch.unnoticed_changes()
    assert not failures, report(route, failures)


@pytest.mark.parametrize("route", COLLECTION_READS, ids=str)
def test_a_scim_list_shows_a_strangers_token_nothing_of_the_victims(
    app: Flask, client: FlaskClient, world: World, route: ScimRoute
) -> None:
    victims = build_victims(app, world)
    emails = [email for email in world.users if email.split("@")[1].removesuffix(".test") in VICTIM_TENANTS]
    filters = [None] + [f'userName eq "{email}"' for email in emails[:3]] + [
        f'displayName eq "{slug} provisioned staff"' for slug in VICTIM_TENANTS]
    callers = stranger_callers(app) + refused_callers(app, world)
    watch = Watch(app)
    failures = []
    for caller in callers:
        for text in filters:
            query = {"count": 200, **({"filter": text} if text else {})}
            response = client.get(route.rule, query_string=query, headers=caller.headers())
            allowed = {401} if caller.tenant is None else ({200, 400} if text else {200})
            problem = scim_failure(response, allowed)
            leaked = leaks(response.get_data(as_text=True), caller, victims.markers)  # type: ignore[arg-type]
            if problem or leaked:
                failures.append(f"{caller.name} ({text}): {problem or 'leaks ' + ', '.join(leaked)}")
    failures += watch.unnoticed_changes()
    assert not failures, report(route, failures)


@pytest.mark.parametrize("route", COLLECTION_WRITES, ids=str)
def test_a_strangers_scim_write_never_touches_the_victims(
    app: Flask, client: FlaskClient, world: World, route: ScimRoute
) -> None:
    victims = scim_victims(build_victims(app, world), world)
    victim_user = str(victims["user_id"][0].id)
    bodies: list[Any] = [{}, {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Taken over",
                              "members": [{"value": victim_user}]},
                         {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "auditor@cb-a.test"}]
    callers = stranger_callers(app) + refused_callers(app, world)
    watch = Watch(app, victim_tenant_ids(world))
    failures = []
    for caller in callers:
        for body in bodies:
            response = call(client, route, {}, caller, body)
            problem = scim_failure(response, {401} if caller.tenant is None else {response.status_code})
            if caller.tenant is not None and response.status_code >= 500 and response.status_code != 501:
                problem = f"answered {response.status_code}"
            changed = watch.changed_by_last_call(route.method)
            if problem or changed:
                failures.append(f"{caller.name} with {body}: {problem or f'changed victim rows of {changed}'}")
    failures += watch.unnoticed_changes()
    assert not failures, report(route, failures)
