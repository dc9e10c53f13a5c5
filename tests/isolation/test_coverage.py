"""The walk leaves no route out: every authenticated route is walked, every path parameter has victims, only
the reviewed routes are public, and what the domains registered names routes that exist."""
from __future__ import annotations

import importlib

import pytest
from flask import Flask

from tests.isolation.registry import LEGITIMATE, REGISTERED_BY, VALID_BODIES
from tests.isolation.walk import (
    API_PREFIX,
    COLLECTION_WRITES,
    DOMAINS,
    PUBLIC,
    PUBLIC_ROUTES,
    RESOURCE_ROUTES,
    ROUTES,
    Route,
    api_routes,
    missing_victims,
    require_victims,
)


def test_the_walk_covers_every_authenticated_api_route_of_the_app(app: Flask) -> None:
    """The routes collected from a throwaway app are those of the app under test, and they are not few."""
    live, walked = {str(r) for r in api_routes(app)}, {str(r) for r in ROUTES}
    assert live == walked, f"not walked: {sorted(live - walked)}; walked but not served: {sorted(walked - live)}"
    assert api_routes(app) == ROUTES
    assert {"GET /api/v1/me", "PATCH /api/v1/users/{user_id}", "POST /api/v1/tenants"} <= {str(r) for r in ROUTES}


def test_only_the_routes_meant_to_be_public_skip_authentication(app: Flask) -> None:
    """The walk skips public routes, so making one public is a decision this list records (docs/DESIGN.md
    section 4)."""
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
        f"routes with path parameters the isolation suite has no victim for: {missing}. Register a builder "
        "(@victims in a tests/isolation/victims_<domain>.py) that creates such a resource in cb-a or client-a."
    )


def test_every_domain_file_is_loaded_and_registers_something() -> None:
    """The walk imports every victims_*.py itself; a file that registers nothing is a builder forgotten."""
    assert len(DOMAINS) >= 8, DOMAINS
    empty = [name for name in DOMAINS
             if not REGISTERED_BY.get(importlib.import_module(f"tests.isolation.{name}").__name__)]
    assert not empty, f"victims files that register nothing: {empty}"


def test_valid_bodies_and_reviewed_exceptions_name_routes_the_walk_calls() -> None:
    """A misspelt route would silently turn an entry off."""
    writes, resources = {str(r) for r in COLLECTION_WRITES}, {str(r) for r in RESOURCE_ROUTES}
    assert set(VALID_BODIES) <= writes, f"VALID_BODIES of no collection write: {sorted(set(VALID_BODIES) - writes)}"
    legitimate = {route for route, _tenant, _label in LEGITIMATE}
    assert legitimate <= resources, f"LEGITIMATE names routes the walk does not call: {sorted(legitimate - resources)}"
