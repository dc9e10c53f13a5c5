"""In-app notifications (J4): a suspension reaches the people who must act, each in their own inbox."""
from __future__ import annotations

from datetime import timedelta

from grc.db import utcnow
from grc.jobs.job_functions import relay_outbox
from tests.test_auth import assert_problem
from tests.test_certification import Decisions

TODAY = utcnow().date()


def suspended(app, client, world) -> Decisions:  # type: ignore[no-untyped-def]
    cert = Decisions(client, world)
    certificate = cert.grant()
    until = (TODAY + timedelta(days=30)).isoformat()
    cert.act(certificate, "suspend", reason="Surveillance audit refused", until=until)
    with app.app_context():
        relay_outbox()
    return cert


def inbox(client, world, email: str, query: str = "") -> list[dict]:  # type: ignore[no-untyped-def,type-arg]
    response = client.get(f"/api/v1/notifications{query}", headers=world.headers(email))
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def test_J4_a_suspension_reaches_the_cb_managers_and_the_client_admin_and_nobody_else(app, client, world):
    suspended(app, client, world)
    for email in ("cb_admin@cb-a.test", "certification_manager@cb-a.test", "client_admin@client-a.test"):
        topics = [n["topic"] for n in inbox(client, world, email)]
        assert "certificate.suspended" in topics, email
    for email in ("auditor@cb-a.test", "member@client-a.test", "cb_admin@cb-b.test", "client_admin@client-b.test"):
        assert "certificate.suspended" not in [n["topic"] for n in inbox(client, world, email)], email
    [note] = inbox(client, world, "client_admin@client-a.test", "?topic=certificate.suspended")
    assert note["title"].startswith("Certificate CB-A-ISO9001-") and note["title"].endswith("suspended")
    assert note["data"]["status"] == "suspended" and note["read_at"] is None


def test_J4_reading_notifications_moves_the_unread_count(app, client, world):
    suspended(app, client, world)
    headers = world.headers("client_admin@client-a.test")
    unread = client.get("/api/v1/notifications/unread-count", headers=headers).get_json()["unread"]
    assert unread >= 2  # granted, suspended
    first = inbox(client, world, "client_admin@client-a.test")[0]
    read = client.post(f"/api/v1/notifications/{first['id']}/read", headers=headers)
    assert read.status_code == 200 and read.get_json()["read_at"] is not None
    again = client.post(f"/api/v1/notifications/{first['id']}/read", headers=headers).get_json()
    assert again["read_at"] == read.get_json()["read_at"]  # reading twice changes nothing
    assert client.get("/api/v1/notifications/unread-count", headers=headers).get_json()["unread"] == unread - 1
    assert len(inbox(client, world, "client_admin@client-a.test", "?unread=true")) == unread - 1
    marked = client.post("/api/v1/notifications/read-all", headers=headers).get_json()["marked"]
    assert marked == unread - 1
    assert client.get("/api/v1/notifications/unread-count", headers=headers).get_json()["unread"] == 0


def test_J4_a_notification_is_its_recipients_alone_even_within_the_tenant(app, client, world):
    suspended(app, client, world)
    mine = inbox(client, world, "cb_admin@cb-a.test")[0]
    colleague = world.headers("certification_manager@cb-a.test")
    assert_problem(client.post(f"/api/v1/notifications/{mine['id']}/read", headers=colleague), 404)


def test_J4_the_delivery_log_is_for_tenant_admins_and_unknown_filters_are_rejected(app, client, world):
    suspended(app, client, world)
    admin = world.headers("cb_admin@cb-a.test")
    assert client.get("/api/v1/deliveries?status=dead", headers=admin).get_json() == {"items": [], "next_cursor": None}
    assert_problem(client.get("/api/v1/deliveries", headers=world.headers("auditor@cb-a.test")), 403)
    assert "status" in assert_problem(client.get("/api/v1/deliveries?status=lost", headers=admin), 422)["errors"]
    assert "colour" in assert_problem(client.get("/api/v1/notifications?colour=red", headers=admin), 422)["errors"]
