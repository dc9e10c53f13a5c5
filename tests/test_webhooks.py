"""Webhooks (J5): Standard Webhooks signatures, per-tenant subscriptions by event type, SSRF guard, delivery log
with retries and the dead-letter state, redelivery. A real HTTP receiver on 127.0.0.1 checks every signature."""
from __future__ import annotations

import base64
import contextlib
import ipaddress
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from grc import events, tenancy
from grc.db import utcnow
from grc.extensions import db
from grc.jobs.job_functions import deliver_notifications, relay_outbox
from grc.notifications.catalogue import EVENTS
from grc.notifications.delivery import MAX_DELIVERY_ATTEMPTS, deliver_due
from grc.outbound import DestinationRefused, check_destination
from tests.conftest import on_postgresql
from tests.query_counts.counting import recorded_statements
from tests.test_auth import assert_problem
from tests.test_certification import TODAY, Decisions

SUSPENDED = "certificate.suspended"
UNTIL = (TODAY + timedelta(days=60)).isoformat()


# --------------------------------------------------------------------------- a receiver


@dataclass
class Call:
    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool
    arrived: float = field(default_factory=time.monotonic)

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Records every call; a call verifies when its signature matches the secret registered for its path."""

    base: str = ""
    status: int = 200
    secrets: dict[str, str] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    held: threading.Event | None = None  # while set here and not yet set itself, calls wait before answering
    delays: dict[str, float] = field(default_factory=dict)  # seconds a path takes to answer

    def url(self, path: str) -> str:
        return self.base + path

    def record(self, path: str, headers: dict[str, str], body: bytes) -> None:
        try:
            Webhook(self.secrets[path]).verify(body, headers)
            verified = True
        except (KeyError, WebhookVerificationError):
            verified = False
        self.calls.append(Call(path, headers, body, verified))

    def to(self, path: str) -> list[Call]:
        return [call for call in self.calls if call.path == path]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            receiver.record(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            if receiver.held is not None:
                receiver.held.wait(30)
            time.sleep(receiver.delays.get(self.path, 0))
            self.send_response(receiver.status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            pass

    return Handler


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # a web server's backlog: socketserver's 5 drops a batch's calls made at once


@pytest.fixture
def receiver(app: Flask) -> Iterator[Receiver]:
    """A receiver on 127.0.0.1, which the operator's allow-list lets webhooks reach for this test."""
    found = Receiver()
    server = _Server(("127.0.0.1", 0), _handler(found))
    found.base = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings = app.config["GRC_SETTINGS"]
    app.config["GRC_SETTINGS"] = replace(settings, webhook_allowed_hosts="127.0.0.1")
    try:
        yield found
    finally:
        app.config["GRC_SETTINGS"] = settings
        server.shutdown()
        server.server_close()


# --------------------------------------------------------------------------- helpers


def subscribe(client: FlaskClient, world: Any, email: str, url: str, types: list[str]) -> dict[str, Any]:
    response = client.post("/api/v1/webhooks", headers=world.headers(email), json={"url": url, "event_types": types})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def listen(receiver: Receiver, client: FlaskClient, world: Any, email: str, path: str,
           types: list[str]) -> dict[str, Any]:
    subscription = subscribe(client, world, email, receiver.url(path), types)
    receiver.secrets[path] = subscription["secret"]
    return subscription


def run_jobs(app: Flask) -> None:
    """What the worker does after a commit (the embedded mode already did it in-process)."""
    with app.app_context():
        relay_outbox()
        deliver_notifications()


def deliveries(client: FlaskClient, world: Any, subscription: dict[str, Any], **query: str) -> list[dict[str, Any]]:
    response = client.get(f"/api/v1/webhooks/{subscription['id']}/deliveries", query_string=query,
                          headers=world.headers("cb_admin@cb-a.test"))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["items"]


def suspended_certificate(client: FlaskClient, world: Any) -> dict[str, Any]:
    cert = Decisions(client, world)
    certificate = cert.grant()
    return cert.act(certificate, "suspend", reason="Surveillance audit refused by the client", until=UNTIL)


# --------------------------------------------------------------------------- delivery to the parties


def test_J5_a_suspension_reaches_each_party_subscribed_to_it_signed_the_standard_webhooks_way(
        app, client, world, receiver):
    cb_a = listen(receiver, client, world, "cb_admin@cb-a.test", "/cb-a", [SUSPENDED])
    listen(receiver, client, world, "client_admin@client-a.test", "/client-a", [SUSPENDED])
    listen(receiver, client, world, "cb_admin@cb-b.test", "/cb-b", ["*"])
    listen(receiver, client, world, "cb_admin@cb-a.test", "/cb-a-withdrawals", ["certificate.withdrawn"])
    before = utcnow()
    certificate = suspended_certificate(client, world)
    run_jobs(app)
    run_jobs(app)  # a second run sends nothing again
    assert sorted(call.path for call in receiver.calls) == ["/cb-a", "/client-a"]
    for call in receiver.calls:
        assert call.verified
        assert call.headers["webhook-id"].startswith("msg_") and call.headers["webhook-signature"].startswith("v1,")
        assert int(call.headers["webhook-timestamp"]) >= int(before.timestamp())
        assert call.headers["content-type"] == "application/json" and call.headers["user-agent"] == "grc-webhooks/1"
        assert call.event["type"] == SUSPENDED and call.event["timestamp"].endswith("Z")
        assert call.event["data"]["certificate_id"] == certificate["id"]
        assert call.event["data"]["number"] == certificate["number"]
    assert len({call.headers["webhook-id"] for call in receiver.calls}) == 1  # one event, one id for every party
    [logged] = deliveries(client, world, cb_a)
    assert logged["status"] == "delivered" and logged["attempts"] == 1 and logged["response_status"] == 200
    assert receiver.calls[0].headers["webhook-id"] == f"msg_{logged['event_id']}"


@pytest.mark.skipif(not on_postgresql(), reason="row locks and backends to cut off are PostgreSQL's")
def test_J5_a_runner_cut_off_mid_send_leaves_its_delivery_to_the_next_run_at_once(app, client, world, receiver):
    """The worker running deliveries loses its database connection while a receiver holds its call (a PostgreSQL
    restart or a kill -9 does this): the next run sends that delivery straight away. Before, a runner claimed its
    batch with a five-minute lease committed up front, so the next run found nothing due for five minutes."""
    subscription = listen(receiver, client, world, "cb_admin@cb-a.test", "/cb-a", [SUSPENDED])
    suspended_certificate(client, world)
    with app.app_context():
        relay_outbox()
    receiver.held = threading.Event()
    cut_off = threading.Thread(target=_deliver_expecting_to_be_cut_off, args=(app,), daemon=True)
    cut_off.start()
    _wait_for(lambda: len(receiver.calls) == 1)
    with app.app_context():
        terminated = db.session.execute(text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database()"
            " AND state = 'idle in transaction' AND pid <> pg_backend_pid()")).scalars().all()
        db.session.rollback()
    receiver.held.set()
    cut_off.join(30)
    with app.app_context():
        deliver_notifications()
    [logged] = deliveries(client, world, subscription)
    assert logged["status"] == "delivered" and logged["attempts"] == 1, (terminated, logged)
    first, second = receiver.calls  # at least once: the call cut off, then the one that counted, under one id
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == f"msg_{logged['event_id']}"


def _deliver_expecting_to_be_cut_off(app: Flask) -> None:
    with app.app_context(), contextlib.suppress(SQLAlchemyError):
        deliver_notifications()


def _wait_for(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, "not within 30 s"
        time.sleep(0.05)


def test_J5_the_secret_is_shown_once_and_rotation_changes_the_signing_key(app, client, world, receiver):
    headers = world.headers("cb_admin@cb-a.test")
    created = listen(receiver, client, world, "cb_admin@cb-a.test", "/cb-a", [SUSPENDED])
    first = created["secret"]
    assert first.startswith("whsec_") and len(base64.b64decode(first.removeprefix("whsec_"))) == 24
    url = f"/api/v1/webhooks/{created['id']}"
    for shown in (client.get(url, headers=headers), client.get("/api/v1/webhooks", headers=headers)):
        assert shown.status_code == 200 and "secret" not in shown.get_data(as_text=True)
    rotated = client.post(f"{url}/rotate-secret", headers=headers)
    assert rotated.status_code == 200
    second = rotated.get_json()["secret"]
    assert second.startswith("whsec_") and second != first and rotated.get_json()["id"] == created["id"]
    assert second not in client.get(url, headers=headers).get_data(as_text=True)
    receiver.secrets["/cb-a"] = second
    suspended_certificate(client, world)
    run_jobs(app)
    [call] = receiver.calls
    assert call.verified
    with pytest.raises(WebhookVerificationError):
        Webhook(first).verify(call.body, call.headers)


# --------------------------------------------------------------------------- the SSRF guard


@pytest.mark.parametrize("url", ["http://127.0.0.1/", "http://10.0.0.5/", "http://169.254.169.254/latest",
                                 "ftp://example.com", "http://[::1]/", "http://0.0.0.0:8080/", "http:///no-host",
                                 "http://[::ffff:127.0.0.1]/", "http://100.100.100.200/latest/meta-data"])
def test_J5_a_subscription_to_an_internal_or_non_http_url_is_refused(client, world, url):
    response = client.post("/api/v1/webhooks", headers=world.headers("cb_admin@cb-a.test"),
                           json={"url": url, "event_types": [SUSPENDED]})
    assert "url" in assert_problem(response, 422)["errors"]


def _resolver(*addresses: str):  # type: ignore[no-untyped-def]
    def resolve(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
        return [ipaddress.ip_address(address) for address in addresses]

    return resolve


def _refuses(url: str, allowed: str = "", *addresses: str) -> bool:
    try:
        check_destination(url, allowed, _resolver(*addresses))
    except DestinationRefused:
        return True
    return False


def test_J5_the_guard_checks_every_address_a_host_resolves_to_and_honours_the_allow_list():
    public = "93.184.215.14"
    assert not _refuses("https://hooks.example.com/in", "", public)
    assert _refuses("https://hooks.example.com/in", "", public, "10.1.2.3")  # one internal address is enough
    assert _refuses("http://metadata.example/", "", "169.254.169.254")
    assert _refuses("http://mapped.example/", "", "::ffff:127.0.0.1")
    assert _refuses("http://6to4.example/", "", "2002:a9fe:a9fe::1")  # 169.254.169.254 inside 6to4
    assert not _refuses("http://mapped.example/", "127.0.0.1", "::ffff:127.0.0.1")
    assert _refuses("http://cgnat.example/", "", "100.100.100.200")
    assert _refuses("http://multicast.example/", "", "224.0.0.1")
    assert not _refuses("http://hooks.internal:8080/", "hooks.internal")  # allowed by name: not even resolved
    assert not _refuses("http://hooks.lan/", " 10.0.0.0/8 , other.lan", "10.1.2.3")
    assert _refuses("http://hooks.lan/", "10.0.0.0/8", "10.1.2.3", "192.168.1.1")
    assert _refuses("http://hooks.example.com:99999/", "", public)
    with pytest.raises(DestinationRefused, match="does not resolve"):
        check_destination("https://no-such-host.invalid/", "")


def test_J5_the_guard_runs_again_at_send_time(app, client, world, receiver):
    cb_a = listen(receiver, client, world, "cb_admin@cb-a.test", "/cb-a", [SUSPENDED])
    # the operator emptied the allow-list (the fixture puts the old settings back)
    app.config["GRC_SETTINGS"] = replace(app.config["GRC_SETTINGS"], webhook_allowed_hosts="")
    suspended_certificate(client, world)
    run_jobs(app)
    assert receiver.calls == []
    [logged] = deliveries(client, world, cb_a)
    assert logged["status"] == "pending" and logged["attempts"] == 1 and "refused destination" in logged["last_error"]


def test_J5_the_call_goes_to_the_address_the_guard_checked_with_the_host_name_kept(app, client, world, receiver,
                                                                                  monkeypatch):
    """DNS rebinding: the name is resolved once, checked, and the connection pinned to that address. Here only the
    guard's resolver knows the name, so the call can reach the receiver only through the pinned address."""
    from grc import outbound

    monkeypatch.setattr(outbound, "resolve_host", _resolver("127.0.0.1"))
    port = receiver.base.rsplit(":", 1)[1]
    subscription = subscribe(client, world, "cb_admin@cb-a.test", f"http://hooks.example.invalid:{port}/pinned",
                             [SUSPENDED])
    receiver.secrets["/pinned"] = subscription["secret"]
    suspended_certificate(client, world)
    run_jobs(app)
    [call] = receiver.to("/pinned")
    assert call.verified and call.headers["host"] == f"hooks.example.invalid:{port}"


# --------------------------------------------------------------------------- retries, dead letters, redelivery


def test_J5_a_failing_receiver_is_retried_with_backoff_then_dead_and_redelivered_once_fixed(
        app, client, world, receiver):
    receiver.status = 500
    cb_a = listen(receiver, client, world, "cb_admin@cb-a.test", "/cb-a", [SUSPENDED])
    suspended_certificate(client, world)
    run_jobs(app)
    [first] = deliveries(client, world, cb_a)
    assert first["status"] == "pending" and first["attempts"] == 1 and first["response_status"] == 500
    assert first["next_attempt_at"] > first["last_attempt_at"] and "HTTP 500" in first["last_error"]
    with app.app_context(), tenancy.system_scope(db.session):  # as the delivery job runs, travelling in time
        assert deliver_due(db.session) == {"delivered": 0, "retrying": 0, "dead": 0}  # backing off
        now, outcomes = utcnow(), []
        for _ in range(MAX_DELIVERY_ATTEMPTS - 1):
            now += timedelta(days=1)
            outcomes.append(deliver_due(db.session, now=now))
    assert outcomes[-1] == {"delivered": 0, "retrying": 0, "dead": 1}
    assert all(outcome == {"delivered": 0, "retrying": 1, "dead": 0} for outcome in outcomes[:-1])
    assert len(receiver.calls) == MAX_DELIVERY_ATTEMPTS and all(call.verified for call in receiver.calls)
    assert len({call.headers["webhook-id"] for call in receiver.calls}) == 1
    [dead] = deliveries(client, world, cb_a, status="dead")
    assert dead["id"] == first["id"] and dead["attempts"] == MAX_DELIVERY_ATTEMPTS
    assert deliveries(client, world, cb_a, status="delivered") == []

    receiver.status = 204
    url = f"/api/v1/webhooks/{cb_a['id']}/deliveries/{dead['id']}"
    again = client.post(f"{url}/redeliver", headers=world.headers("cb_admin@cb-a.test"))
    assert again.status_code == 202, again.get_data(as_text=True)
    assert again.get_json()["redelivery_of"] == dead["id"] and again.get_json()["event_id"] == dead["event_id"]
    run_jobs(app)
    assert [row["id"] for row in deliveries(client, world, cb_a)] == [again.get_json()["id"], dead["id"]]
    delivered = client.get(f"/api/v1/webhooks/{cb_a['id']}/deliveries/{again.get_json()['id']}",
                           headers=world.headers("cb_admin@cb-a.test")).get_json()
    assert delivered["status"] == "delivered" and delivered["response_status"] == 204
    last, original = receiver.calls[-1], receiver.calls[0]
    assert last.verified and last.headers["webhook-id"] == original.headers["webhook-id"]


def test_J6_a_run_sends_its_batch_side_by_side_and_a_stuck_receiver_costs_one_timeout(app, client, world, receiver):
    """Ten receivers were down and come back: nine take 0.5 s to answer, one never answers within the timeout.
    The next run sends all ten at once, at most ``delivery_concurrency`` at a time: about 1.5 s, where one call
    after the other took 9 x 0.5 s + the 1 s timeout (and the write load of bench/chaos.py outran the sender)."""
    slow = [listen(receiver, client, world, "cb_admin@cb-a.test", f"/slow-{n}", [SUSPENDED]) for n in range(9)]
    stuck = listen(receiver, client, world, "cb_admin@cb-a.test", "/stuck", [SUSPENDED])
    receiver.status = 503
    suspended_certificate(client, world)
    run_jobs(app)
    assert len(receiver.calls) == 10
    receiver.status = 200
    receiver.delays = {**{f"/slow-{n}": 0.5 for n in range(9)}, "/stuck": 3}
    app.config["GRC_SETTINGS"] = replace(app.config["GRC_SETTINGS"], delivery_concurrency=4,
                                         webhook_timeout_seconds=1)
    with app.app_context(), tenancy.system_scope(db.session):  # the retry is due 5 s later: travel there
        started = time.monotonic()
        counts = deliver_due(db.session, now=utcnow() + timedelta(seconds=6))
        took = time.monotonic() - started
    assert counts == {"delivered": 9, "retrying": 1, "dead": 0}
    assert took < 3, f"{took:.2f} s"
    assert len(receiver.calls) == 20 and all(call.verified for call in receiver.calls)
    # the sender waits for a call until it is answered, or for the 1 s timeout (the stuck receiver answers later)
    waited = [(call.arrived, call.arrived + min(receiver.delays[call.path], 1)) for call in receiver.calls[10:]]
    assert max(sum(start <= moment < end for start, end in waited) for moment, _ in waited) == 4
    for subscription in slow:
        [logged] = deliveries(client, world, subscription)
        assert logged["status"] == "delivered" and logged["attempts"] == 2 and logged["response_status"] == 200
    [late] = deliveries(client, world, stuck)
    assert late["status"] == "pending" and late["attempts"] == 2 and "ReadTimeout" in late["last_error"]


def test_J6_a_run_reads_and_writes_30_deliveries_in_as_many_statements_as_3(app, client, world, receiver):
    """A batch costs its statements once, not per delivery: before, each delivery read its message and its
    subscription again (the session had let go of the last delivery's) and flushed the attempts counted so far
    first, three round trips a delivery and half of a batch's time on a busy worker."""
    listen(receiver, client, world, "cb_admin@cb-a.test", "/cb-a", [SUSPENDED])
    receiver.status = 503  # the first attempts fail, so the measured run finds them all due (SQLite sends inline)
    statements = []
    for count in (3, 30):
        with app.app_context(), tenancy.system_scope(db.session):
            for _ in range(count):
                events.publish(db.session, SUSPENDED, {"certificate_id": str(uuid.uuid4()), "number": "C-1"},
                               tenant_id=world.tenants["cb-a"])
            db.session.commit()
        run_jobs(app)
        receiver.status = 200
        with app.app_context(), tenancy.system_scope(db.session), recorded_statements(app) as seen:
            assert deliver_due(db.session, now=utcnow() + timedelta(seconds=6))["delivered"] == count
        statements.append(len(seen))
        receiver.status = 503
    assert statements[0] == statements[1], statements


# --------------------------------------------------------------------------- managing subscriptions


def test_J5_patch_needs_if_match_guards_a_new_url_and_delete_removes_the_subscription(client, world, receiver):
    headers = world.headers("cb_admin@cb-a.test")
    created = listen(receiver, client, world, "cb_admin@cb-a.test", "/cb-a", [SUSPENDED])
    url = f"/api/v1/webhooks/{created['id']}"
    etag = client.get(url, headers=headers).headers["ETag"]
    change = {"description": "ERP integration", "event_types": ["*", "*"], "is_active": False}
    assert_problem(client.patch(url, headers=headers, json=change), 428)
    assert_problem(client.patch(url, headers={**headers, "If-Match": '"stale"'}, json=change), 412)
    changed = client.patch(url, headers={**headers, "If-Match": etag}, json=change)
    assert changed.status_code == 200, changed.get_data(as_text=True)
    assert changed.get_json()["event_types"] == ["*"] and changed.get_json()["is_active"] is False
    etag = changed.headers["ETag"]
    internal = client.patch(url, headers={**headers, "If-Match": etag}, json={"url": "http://10.0.0.5/hook"})
    assert "url" in assert_problem(internal, 422)["errors"]
    assert_problem(client.patch(url, headers={**headers, "If-Match": etag}, json={"secret": "mine"}), 422)
    assert client.delete(url, headers=headers).status_code == 204
    assert_problem(client.get(url, headers=headers), 404)
    assert client.get("/api/v1/webhooks", headers=headers).get_json()["items"] == []


def test_J5_unknown_event_types_and_unknown_fields_are_refused(client, world, receiver):
    headers = world.headers("cb_admin@cb-a.test")
    unknown = client.post("/api/v1/webhooks", headers=headers,
                          json={"url": receiver.url("/x"), "event_types": [SUSPENDED, "certificate.stolen"]})
    assert "certificate.stolen" in assert_problem(unknown, 422)["errors"]["event_types"][0]
    extra = client.post("/api/v1/webhooks", headers=headers,
                        json={"url": receiver.url("/x"), "event_types": [SUSPENDED], "secret": "whsec_mine"})
    assert "secret" in assert_problem(extra, 422)["errors"]
    empty = client.post("/api/v1/webhooks", headers=headers, json={"url": receiver.url("/x"), "event_types": []})
    assert "event_types" in assert_problem(empty, 422)["errors"]


def test_J5_only_tenant_admins_manage_webhooks_and_anyone_reads_the_event_types(client, world, receiver):
    created = listen(receiver, client, world, "cb_admin@cb-a.test", "/cb-a", [SUSPENDED])
    body = {"url": receiver.url("/x"), "event_types": [SUSPENDED]}
    for email in ("certification_manager@cb-a.test", "auditor@cb-a.test", "cb_viewer@cb-a.test",
                  "risk_manager@client-a.test", "member@client-a.test", "platform_admin@platform.test"):
        headers = world.headers(email)
        assert_problem(client.post("/api/v1/webhooks", headers=headers, json=body), 403)
        assert_problem(client.get("/api/v1/webhooks", headers=headers), 403)
    assert_problem(client.get(f"/api/v1/webhooks/{created['id']}", headers=world.headers("auditor@cb-a.test")), 403)
    assert_problem(client.get(f"/api/v1/webhooks/{created['id']}", headers=world.headers("cb_admin@cb-b.test")), 404)
    listed = client.get("/api/v1/webhooks/event-types", headers=world.headers("auditor@cb-a.test"))
    assert listed.status_code == 200
    types = {item["type"]: item["summary"] for item in listed.get_json()["items"]}
    assert list(types) == list(EVENTS) and types[SUSPENDED] == EVENTS[SUSPENDED].summary
