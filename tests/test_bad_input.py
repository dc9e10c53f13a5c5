"""Bad input is a 4xx, never a 500 (docs/DESIGN.md section 4: "Never 500 for anything a client sent").

A body nested too deep for the JSON parser, a lone UTF-16 surrogate that PostgreSQL cannot store, and the
losers of a race on one ETag each get a problem+json answer the client can act on.
"""
from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from grc.risks.models import Risk
from tests.conftest import on_postgresql
from tests.test_auth import assert_problem
from tests.test_risks import Shop
from tests.world import PASSWORD, World

DEEP = 10_000
LONE_SURROGATE = "\ud800"


def deeply_nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def post_raw(client: Any, url: str, body: str, headers: dict[str, str] | None = None) -> Any:
    return client.post(url, data=body, content_type="application/json", headers=headers or {})


# --------------------------------------------------------------------------- nesting


def test_a_deeply_nested_login_body_without_a_token_is_a_400_problem(client: Any, world: World) -> None:
    body = '{"email": "cb_admin@cb-a.test", "password": ' + deeply_nested(DEEP) + "}"
    refused = assert_problem(post_raw(client, "/api/v1/auth/login", body), 400)
    assert "nested" in refused["detail"]


def test_a_deeply_nested_body_to_an_authenticated_post_is_a_400_problem(client: Any, world: World) -> None:
    headers = world.headers("client_admin@client-a.test")
    for body in (deeply_nested(DEEP), '{"name": ' + '{"a": ' * DEEP + "1" + "}" * DEEP + "}"):
        refused = assert_problem(post_raw(client, "/api/v1/risk-registers", body, headers), 400)
        assert "nested" in refused["detail"]


def test_a_body_nested_just_past_the_limit_is_refused_and_brackets_inside_strings_do_not_count(
    client: Any, world: World
) -> None:
    """Depth is counted on the raw text, before parsing; a string full of brackets is no nesting at all."""
    headers = world.headers("client_admin@client-a.test")
    assert_problem(post_raw(client, "/api/v1/risk-registers", deeply_nested(65), headers), 400)
    assert "json" not in assert_problem(post_raw(client, "/api/v1/risk-registers", deeply_nested(64), headers),
                                        422)["errors"]  # parsed: the schema refuses a list
    brackets = '"' + "[{" * 5000 + '\\"' + "}]" * 5000 + '"'
    refused = assert_problem(post_raw(client, "/api/v1/risk-registers", '{"name": ' + brackets + "}", headers), 422)
    assert "name" in refused["errors"]


# --------------------------------------------------------------------------- lone surrogates


def test_a_lone_surrogate_in_a_risk_title_is_a_422_naming_the_field(client: Any, world: World) -> None:
    shop = Shop(client, world)
    register = shop.register()
    url = f"/api/v1/risk-registers/{register['id']}/risks"
    body = {"title": f"Card fraud {LONE_SURROGATE}", "category": "financial",
            "owner_id": shop.user_id("risk_manager"), "causes": "c", "consequences": "q"}
    refused = assert_problem(client.post(url, headers=shop.as_("risk_manager"), json=body), 422)
    assert list(refused["errors"]) == ["title"]


def test_a_lone_surrogate_in_a_login_password_is_a_422_naming_the_field(client: Any, world: World) -> None:
    body = {"email": "cb_admin@cb-a.test", "password": PASSWORD + LONE_SURROGATE}
    refused = assert_problem(client.post("/api/v1/auth/login", json=body), 422)
    assert list(refused["errors"]) == ["password"]
    body = {"email": f"cb_admin{LONE_SURROGATE}@cb-a.test", "password": PASSWORD}
    assert "email" in assert_problem(client.post("/api/v1/auth/login", json=body), 422)["errors"]


def test_a_lone_surrogate_in_a_client_id_is_a_422_naming_the_field(client: Any, world: World) -> None:
    body = {"client_id": f"grc_{LONE_SURROGATE}", "client_secret": "s" * 40}
    refused = assert_problem(client.post("/api/v1/auth/token", json=body), 422)
    assert list(refused["errors"]) == ["client_id"]


def test_a_lone_surrogate_as_a_field_name_or_deep_in_a_list_is_a_422(client: Any, world: World) -> None:
    """The field is named; a surrogate in the name itself is spelt out, since a client could not decode it."""
    headers = world.headers("cb_admin@cb-a.test")
    body = {"name": "Client C", "legal_name": "Client C Ltd", "country": "FR", "address": "1 rue",
            "sites": [{"name": "HQ", "address": f"2 rue {LONE_SURROGATE}", "country": "FR"}],
            "admin": {"email": "admin@client-c.test", "name": "Admin", "password": "x" * 12}}
    refused = assert_problem(client.post("/api/v1/clients", json=body, headers=headers), 422)
    assert list(refused["errors"]) == ["sites.0.address"]
    refused = assert_problem(client.post("/api/v1/clients", json={f"x{LONE_SURROGATE}": 1}, headers=headers), 422)
    assert list(refused["errors"]) == ["x\\ud800"]
    json.dumps(refused, ensure_ascii=False).encode("utf-8")  # no lone surrogate in the answer: this would raise


def test_surrogate_bytes_in_a_query_or_a_path_are_never_a_500(client: Any, world: World) -> None:
    """A URL cannot carry a surrogate: its percent-encoded UTF-8 bytes are not UTF-8 and arrive as U+FFFD."""
    headers = world.headers("member@client-a.test")
    urls = ["/api/v1/risks?q=%ED%A0%80", "/api/v1/risks?cursor=%ED%A0%80", "/api/v1/audit-events?entity_type=%ED%A0%80",
            "/api/v1/public/certificates/cb-a/CB-%ED%A0%80", "/api/v1/public/certificates/%ED%A0%80/CB-1",
            "/badges/%ED%A0%80"]
    for url in urls:
        response = client.get(url, headers=headers)
        assert response.status_code < 500, f"{url}: {response.get_data(as_text=True)}"


# --------------------------------------------------------------------------- one ETag, many writers


def a_risk_and_its_etag(app: Any, world: World) -> tuple[Any, Shop, str, str, dict[str, str]]:
    """A client's risk as its risk manager reads it: the test client, the shop, its URL, its ETag and the headers
    of a PATCH carrying that ETag in If-Match."""
    client = app.test_client()
    shop = Shop(client, world)
    risk = shop.risk(shop.register(), "Card fraud", "financial")
    url = f"/api/v1/risks/{risk['id']}"
    etag = client.get(url, headers=shop.as_("risk_manager")).headers["ETag"]
    return client, shop, url, etag, {**shop.as_("risk_manager"), "If-Match": etag}


def test_twenty_concurrent_patches_with_one_if_match_one_wins_every_other_gets_412(app: Any, world: World) -> None:
    """The README promises 412 for a stale ETag: a writer that lost the race sent an ETag that is stale now,
    whether its check ran after the winner's commit (the ETag differs) or before it (the version check fails)."""
    client, shop, url, etag, headers = a_risk_and_its_etag(app, world)
    start = threading.Barrier(20)

    def patch(index: int) -> Any:
        start.wait(timeout=30)
        return app.test_client().patch(url, headers=headers, json={"title": f"Card fraud, take {index}"})

    with ThreadPoolExecutor(20) as pool:
        responses = list(pool.map(patch, range(20)))
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] + [412] * 19, [r.get_data(as_text=True) for r in responses if r.status_code != 412]
    for response in responses:
        if response.status_code == 412:
            assert_problem(response, 412)
    winner = next(response.get_json() for response in responses if response.status_code == 200)
    shown = client.get(url, headers=shop.as_("risk_manager"))
    assert shown.get_json()["title"] == winner["title"] and shown.headers["ETag"] != etag


@pytest.mark.skipif(not on_postgresql(), reason="SQLite lets one writer in at a time: the two cannot overlap")
def test_a_patch_whose_if_match_passed_but_lost_the_version_check_gets_412_not_409(app: Any, world: World) -> None:
    """Deterministic: the other PATCH with the same ETag commits between this one's ETag check and its flush."""
    client, shop, url, _etag, headers = a_risk_and_its_etag(app, world)
    other: list[int] = []
    fired = threading.Event()  # once: the other PATCH's own flush passes through here too

    def the_other_patch_commits_first(session, _context, _instances):  # type: ignore[no-untyped-def]
        if not fired.is_set() and any(isinstance(obj, Risk) for obj in session.dirty):
            fired.set()
            other.append(ThreadPoolExecutor(1).submit(
                lambda: app.test_client().patch(url, headers=headers, json={"title": "Other"}).status_code
            ).result(timeout=30))

    event.listen(Session, "before_flush", the_other_patch_commits_first)
    try:
        response = client.patch(url, headers=headers, json={"title": "This one"})
    finally:
        event.remove(Session, "before_flush", the_other_patch_commits_first)
    assert other == [200]
    assert "stale" in assert_problem(response, 412)["detail"]
    assert client.get(url, headers=shop.as_("risk_manager")).get_json()["title"] == "Other"
