"""The view cache (grc.viewcache): a repeated certificate check, badge, heat map or KPI page is answered from
Redis after one read of its owners' versions, and yet a suspension, a licence change or a re-assessed risk shows
on the very next request, a lookup racing a change cannot store a view that hides it, and a Redis outage costs
speed, never an answer (tests/test_faults.py: a change made while Redis was away)."""
from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from grc import tenancy, viewcache
from grc.certification.public import _load_public
from grc.events import OutboxMessage, OutboxStatus
from grc.extensions import db
from grc.jobs.job_functions import deliver_notifications, relay_outbox
from tests import servers
from tests.certificates import issue_certificate
from tests.conftest import on_postgresql
from tests.marks_factory import change_certificate, make_certificate
from tests.query_counts.counting import recorded_statements
from tests.test_jobs import NEW_USER
from tests.test_risk_reporting import counted, three_assessed_risks
from tests.test_risks import Shop
from tests.world import World

CHECK = "/api/v1/public/certificates/cb-a"
MANAGER = "certification_manager@cb-a.test"
LOOKUPS_TO_CACHE = 2  # the first learns whose view it is, the second reads their versions, then loads and stores


def status_of(client: FlaskClient, number: str) -> str:
    response = client.get(f"{CHECK}/{number}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return str(response.get_json()["status"])


def badge_text(client: FlaskClient, number: str) -> str:
    """The badge as the licence's own page shows it: the licence's state (where it may say VALID is V4's matter)."""
    response = client.get(f"/badges/{number}.svg", headers={"Referer": f"http://localhost/badges/{number}"})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def grant_licence(client: FlaskClient, world: World, certificate_id: uuid.UUID) -> dict[str, Any]:
    response = client.post("/api/v1/mark-licences", headers=world.headers(MANAGER), json={
        "client_id": str(world.tenants["client-a"]), "certificate_ids": [str(certificate_id)],
        "permitted_uses": ["website"], "domains": ["shop.example"]})
    assert response.status_code == 201, response.get_data(as_text=True)
    return dict(response.get_json())


def suspend_certificate(client: FlaskClient, world: World, certificate_id: uuid.UUID) -> None:
    suspended = client.post(f"/api/v1/certificates/{certificate_id}/suspend", headers=world.headers(MANAGER),
                            json={"reason": "Surveillance audit not held", "until": str(date.today() + timedelta(30))})
    assert suspended.status_code == 200, suspended.get_data(as_text=True)


def suspend_licence(client: FlaskClient, world: World, licence: dict[str, Any]) -> None:
    suspended = client.post(f"/api/v1/mark-licences/{licence['id']}/suspend", headers=world.headers(MANAGER),
                            json={"reason": "Mark used on a product"})
    assert suspended.status_code == 200, suspended.get_data(as_text=True)


def test_a_repeated_certificate_check_and_badge_read_only_their_owners_versions(
        app: Flask, client: FlaskClient, world: World) -> None:
    certificate_id = make_certificate(app, world, number="CB-A-CACHE-1")
    licence = grant_licence(client, world, certificate_id)
    for _ in range(LOOKUPS_TO_CACHE):
        assert status_of(client, "CB-A-CACHE-1") == "active" and "VALID" in badge_text(client, licence["number"])
    with recorded_statements(app) as seen:
        first, second = client.get(f"{CHECK}/CB-A-CACHE-1"), client.get(f"{CHECK}/CB-A-CACHE-1")
        assert "VALID" in badge_text(client, licence["number"])
    assert len(seen) == 3 and all("FROM view_versions" in statement.sql for statement in seen), seen
    assert first.get_json()["verified_at"] != second.get_json()["verified_at"]  # the answer's own time, not the cache's


def test_a_suspension_through_the_api_shows_on_the_next_check_and_badge(
        app: Flask, client: FlaskClient, world: World) -> None:
    certificate_id = make_certificate(app, world, number="CB-A-CACHE-2")
    licence = grant_licence(client, world, certificate_id)
    for _ in range(LOOKUPS_TO_CACHE):
        assert status_of(client, "CB-A-CACHE-2") == "active" and "VALID" in badge_text(client, licence["number"])
    suspend_certificate(client, world, certificate_id)
    assert status_of(client, "CB-A-CACHE-2") == "suspended"
    assert "SUSPENDED" in badge_text(client, licence["number"])


def test_a_change_by_a_job_or_to_the_licence_alone_shows_on_the_next_lookup(
        app: Flask, client: FlaskClient, world: World) -> None:
    certificate_id = make_certificate(app, world, number="CB-A-CACHE-3")
    licence = grant_licence(client, world, certificate_id)
    for _ in range(LOOKUPS_TO_CACHE):
        assert "VALID" in badge_text(client, licence["number"])
    change_certificate(app, certificate_id, "withdrawn", as_user=None)  # the way a sweep does it
    assert status_of(client, "CB-A-CACHE-3") == "withdrawn" and "WITHDRAWN" in badge_text(client, licence["number"])

    other = grant_licence(client, world, make_certificate(app, world, number="CB-A-CACHE-4"))
    for _ in range(LOOKUPS_TO_CACHE):
        assert "VALID" in badge_text(client, other["number"])
    suspend_licence(client, world, other)
    assert "SUSPENDED" in badge_text(client, other["number"])


def test_another_cbs_change_leaves_a_cbs_cached_views_alone(app: Flask, client: FlaskClient, world: World) -> None:
    issue_certificate(app, world, number="CB-A-CACHE-5")
    for _ in range(LOOKUPS_TO_CACHE):
        assert status_of(client, "CB-A-CACHE-5") == "active"
    issue_certificate(app, world, cb="cb-b", client="client-b", number="CB-B-CACHE-1")
    with recorded_statements(app) as seen:
        assert status_of(client, "CB-A-CACHE-5") == "active"
    assert len(seen) == 1 and "FROM view_versions" in seen[0].sql  # cb-a's version has not moved


def test_C10_the_workers_bookkeeping_after_a_change_leaves_the_cached_views_alone(
        app: Flask, client: FlaskClient, world: World) -> None:
    """The relay's notifications and outbox updates, and the deliveries, are rows of the tenant too, but no cached
    view shows them: a public check cached after a change stays cached while the worker relays that change.
    Before, every relay and delivery commit moved the tenant's version (and, before that, dropped its views)."""
    issue_certificate(app, world, number="CB-A-CACHE-6")
    created = client.post("/api/v1/users", headers=world.headers("cb_admin@cb-a.test"),
                          json=NEW_USER)
    assert created.status_code == 201, created.get_data(as_text=True)
    for _ in range(LOOKUPS_TO_CACHE):
        assert status_of(client, "CB-A-CACHE-6") == "active"
    with app.app_context():
        relay_outbox()
        deliver_notifications()
    with recorded_statements(app) as seen:
        assert status_of(client, "CB-A-CACHE-6") == "active"
    assert len(seen) == 1 and "FROM view_versions" in seen[0].sql, seen
    with app.app_context(), tenancy.system_scope(db.session):
        assert db.session.scalars(select(OutboxMessage.status)).all() == [OutboxStatus.dispatched] * len(
            db.session.scalars(select(OutboxMessage.id)).all())


@pytest.mark.skipif(not on_postgresql(), reason="SQLite lets one transaction in at a time: the two cannot overlap")
def test_C10_a_lookup_that_loaded_before_a_change_and_stores_after_it_cannot_hide_it(
        app: Flask, client: FlaskClient, world: World) -> None:
    certificate_id = make_certificate(app, world, number="CB-A-RACE-1")
    for _ in range(LOOKUPS_TO_CACHE):
        assert status_of(client, "CB-A-RACE-1") == "active"
    change_certificate(app, certificate_id, "suspended")

    def load_while_a_change_commits() -> tuple[tuple[uuid.UUID], dict[str, Any]] | None:
        loaded = _load_public(db.session, "cb-a", "CB-A-RACE-1")
        change_certificate(app, certificate_id, "active")  # another process reinstates it after our read
        return loaded

    with app.test_request_context():
        view = viewcache.cached(db.session, "certificate", "cb-a/CB-A-RACE-1", load_while_a_change_commits)
    assert view is not None and view["status"] == "suspended"  # what that lookup read, and stored
    assert status_of(client, "CB-A-RACE-1") == "active"


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
    for _ in range(LOOKUPS_TO_CACHE):
        before = shop.ok(client.get(heatmap_url, headers=shop.as_("member")))
        kpis = shop.ok(client.get("/api/v1/kpis", headers=shop.as_("member")))
    with recorded_statements(app) as seen:
        assert shop.ok(client.get(heatmap_url, headers=shop.as_("member"))) == before
        assert shop.ok(client.get("/api/v1/kpis", headers=shop.as_("member"))) == kpis
    assert not [s for s in seen if "risks" in s.sql]  # the caller is authenticated; the risks are not read again

    shop.assess(fraud, inherent=(4, 4), current=(1, 1), target=(1, 1))
    assert counted(shop.ok(client.get(heatmap_url, headers=shop.as_("member")))) == {(1, 1): 1, (2, 3): 1, (2, 5): 1}
    assert shop.ok(client.get("/api/v1/kpis", headers=shop.as_("member")))["share_within_appetite"] == round(2 / 3, 4)
