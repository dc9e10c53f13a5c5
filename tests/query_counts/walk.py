"""Statements per request, walked over the URL map (issue 7): no N+1, no OFFSET, no per-row Python over a table.

Every list endpoint (an authenticated GET whose answer has ``items``, or any collection GET: found in
``app.url_map``, so a new one is covered the day it is added) and the hot single reads are called with 3 rows
behind them, then with 25 (more than a page of 20). The number of SQL statements must be the same both times,
at most ``MAX_STATEMENTS``, and no list may page with ``OFFSET``. The rows come from the domains' growers
(``growers_<domain>.py``, registered in ``registry.py``); a list route without one fails and says so.
"""
from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.isolation.walk import COLLECTION_APP, ROUTES, Route
from tests.query_counts.counting import Statement, listing, measured
from tests.query_counts.registry import HOT_READS, LISTS, import_domains
from tests.query_counts.scene import Grow, Scene
from tests.world import World

DOMAINS = import_domains("tests.query_counts", "growers_")  # fills the registry before anything reads it

SMALL, LARGE = 3, 25  # LARGE is more than one page of the default limit (20)
MAX_STATEMENTS = 12


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


LIST_ROUTES = list_routes(COLLECTION_APP)
HOT_READ_NAMES = list(HOT_READS)


def missing_and_gone_growers() -> tuple[list[str], list[str]]:
    """List routes without a grower, and growers of routes that are gone."""
    return sorted(set(LIST_ROUTES) - set(LISTS)), sorted(set(LISTS) - set(LIST_ROUTES))


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


def assert_a_list_is_constant_in_rows_and_never_offsets(client: FlaskClient, world: World, route: str) -> None:
    small, answer, large = _constant(client, world, LISTS[route])
    _check(route, small, large)
    body = answer.get_json(silent=True)
    if isinstance(body, dict) and "next_cursor" in body:
        assert body["next_cursor"] is not None, f"{route}: {LARGE} rows fit one page, so the grower grew nothing"
    offsets = [s for s in large if s.offsets()]
    assert not offsets, f"{route} pages with OFFSET (use the keyset cursor):\n{listing(offsets)}"


def assert_a_hot_read_is_constant_in_rows(client: FlaskClient, world: World, name: str) -> None:
    small, _answer, large = _constant(client, world, HOT_READS[name])
    _check(name, small, large)
