"""The view cache (grc.viewcache): a repeated certificate check, badge, heat map or KPI page is answered without
the database, and yet a suspension, a licence change or a re-assessed risk shows on the very next request, a
lookup racing a change cannot store the old view, and a Redis outage costs speed, never an answer."""
from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from grc import viewcache
from tests import servers
from tests.certificates import issue_certificate
from tests.marks_factory import change_certificate, make_certificate
from tests.query_counts.counting import recorded_statements
from tests.test_risk_reporting import counted, three_assessed_risks
from tests.test_risks import Shop
from tests.world import World

CHECK = "/api/v1/public/certificates/cb-a"
MANAGER = "certification_manager@cb-a.test"


def status_of(client: FlaskClient, number: str) -> str:
    response = client.get(f"{CHECK}/{number}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return str(response.get_json()["status"])


def badge_text(client: FlaskClient, number: str) -> str:
    response = client.get(f"/badges/{number}.svg")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def grant_licence(client: FlaskClient, world: World, certificate_id: uuid.UUID) -> dict[str, Any]:
    response = client.post("/api/v1/mark-licences", headers=world.headers(MANAGER), json={
        "client_id": str(world.tenants["client-a"]), "certificate_ids": [str(certificate_id)],
        "permitted_uses": ["website"], "domains": ["shop.example"]})
    assert response.status_code == 201, response.get_data(as_text=True)
    return dict(response.get_json())


def test_a_repeated_certificate_check_and_badge_are_answered_without_the_database(
        app: Flask, client: FlaskClient, world: World) -> None:
    certificate_id = make_certificate(app, world, number="CB-A-CACHE-1")
    licence = grant_licence(client, world, certificate_id)
    assert status_of(client, "CB-A-CACHE-1") == "active" and "VALID" in badge_text(client, licence["number"])
    with recorded_statements(app) as seen:
        first, second = client.get(f"{CHECK}/CB-A-CACHE-1"), client.get(f"{CHECK}/CB-A-CACHE-1")
        assert "VALID" in badge_text(client, licence["number"])
    assert seen == []
    assert first.get_json()["verified_at"] != second.get_json()["verified_at"]  # the answer's own time, not the cache's


def test_a_suspension_through_the_api_shows_on_the_next_check_and_badge(
        app: Flask, client: FlaskClient, world: World) -> None:
    certificate_id = make_certificate(app, world, number="CB-A-CACHE-2")
    licence = grant_licence(client, world, certificate_id)
    assert status_of(client, "CB-A-CACHE-2") == "active" and "VALID" in badge_text(client, licence["number"])
    suspended = client.post(f"/api/v1/certificates/{certificate_id}/suspend", headers=world.headers(MANAGER),
                            json={"reason": "Surveillance audit not held", "until": str(date.today() + timedelta(30))})
    assert suspended.status_code == 200, suspended.get_data(as_text=True)
    assert status_of(client, "CB-A-CACHE-2") == "suspended"
    assert "SUSPENDED" in badge_text(client, licence["number"])


def test_a_change_by_a_job_or_to_the_licence_alone_shows_on_the_next_lookup(
        app: Flask, client: FlaskClient, world: World) -> None:
    certificate_id = make_certificate(app, world, number="CB-A-CACHE-3")
    licence = grant_licence(client, world, certificate_id)
    assert "VALID" in badge_text(client, licence["number"])
    change_certificate(app, certificate_id, "withdrawn", as_user=None)  # the way a sweep does it
    assert status_of(client, "CB-A-CACHE-3") == "withdrawn" and "WITHDRAWN" in badge_text(client, licence["number"])

    other = grant_licence(client, world, make_certificate(app, world, number="CB-A-CACHE-4"))
    assert "VALID" in badge_text(client, other["number"])
    suspended = client.post(f"/api/v1/mark-licences/{other['id']}/suspend", headers=world.headers(MANAGER),
                            json={"reason": "Mark used on a product"})
    assert suspended.status_code == 200, suspended.get_data(as_text=True)
    assert "SUSPENDED" in badge_text(client, other["number"])


def test_another_cbs_change_leaves_a_cbs_cached_views_alone(app: Flask, client: FlaskClient, world: World) -> None:
    issue_certificate(app, world, number="CB-A-CACHE-5")
    assert status_of(client, "CB-A-CACHE-5") == "active"
    issue_certificate(app, world, cb="cb-b", client="client-b", number="CB-B-CACHE-1")
    with recorded_statements(app) as seen:
        assert status_of(client, "CB-A-CACHE-5") == "active"
    assert seen == []


def test_a_lookup_that_read_before_a_change_does_not_store_its_view(app: Flask, world: World) -> None:
    cb_id, loads = world.tenants["cb-a"], []

    def load_while_a_change_commits() -> tuple[tuple[uuid.UUID], str]:
        loads.append(1)
        viewcache.invalidate([cb_id])  # another process commits a change between our read and our store
        return (cb_id,), "the view before the change"

    with app.test_request_context():
        assert viewcache.cached("certificate", "cb-a/RACE-1", load_while_a_change_commits) == \
            "the view before the change"
        assert viewcache.cached("certificate", "cb-a/RACE-1", lambda: ((cb_id,), "the view after")) == "the view after"
        assert viewcache.cached("certificate", "cb-a/RACE-1", lambda: ((cb_id,), "not read again")) == "the view after"
    assert loads == [1]


def test_with_redis_down_lookups_still_answer_from_the_database(
        app: Flask, client: FlaskClient, world: World) -> None:
    certificate_id = make_certificate(app, world, number="CB-A-CACHE-6")
    port = servers.free_port()
    redis_server = servers.start_redis(port)
    with servers.app_on_redis(app, f"redis://127.0.0.1:{port}/0"):
        assert status_of(client, "CB-A-CACHE-6") == "active"  # cached in that Redis
        redis_server.terminate()
        redis_server.wait(timeout=10)
        change_certificate(app, certificate_id, "suspended")  # the drop fails: nothing left to drop
        for _ in range(2):
            assert status_of(client, "CB-A-CACHE-6") == "suspended"


def test_a_shops_heat_map_and_kpis_are_served_from_the_cache_until_a_risk_is_reassessed(
        app: Flask, client: FlaskClient, world: World) -> None:
    shop = Shop(client, world)
    register, fraud, _, _ = three_assessed_risks(shop)
    heatmap_url = f"/api/v1/risk-registers/{register['id']}/heatmap"
    before = shop.ok(client.get(heatmap_url, headers=shop.as_("member")))
    kpis = shop.ok(client.get("/api/v1/kpis", headers=shop.as_("member")))
    with recorded_statements(app) as seen:
        assert shop.ok(client.get(heatmap_url, headers=shop.as_("member"))) == before
        assert shop.ok(client.get("/api/v1/kpis", headers=shop.as_("member"))) == kpis
    assert not [s for s in seen if "risks" in s.sql]  # the caller is authenticated; the risks are not read again

    shop.assess(fraud, inherent=(4, 4), current=(1, 1), target=(1, 1))
    assert counted(shop.ok(client.get(heatmap_url, headers=shop.as_("member")))) == {(1, 1): 1, (2, 3): 1, (2, 5): 1}
    assert shop.ok(client.get("/api/v1/kpis", headers=shop.as_("member")))["share_within_appetite"] == round(2 / 3, 4)
