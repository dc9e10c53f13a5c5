"""J1/J4 wiring: outbox rows written with the change, relayed by a real RQ worker, retried, never lost."""
from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from datetime import timedelta

import pytest
from rq import Queue, SimpleWorker
from rq.cron import CronScheduler
from sqlalchemy import select

from grc import events, tenancy
from grc.db import utcnow
from grc.events import OutboxMessage, OutboxStatus
from grc.extensions import db
from grc.jobs.job_functions import RELAY, deliver_notifications, relay_outbox
from grc.jobs.processes import StoppableWorker
from grc.jobs.queue import enqueue, trigger
from grc.notifications import service as outbox
from grc.redis_connection import redis_connection
from tests.servers import app_on_redis, free_port, start_redis
from tests.test_auth import assert_problem

NEW_USER = {"email": "olga@cb-a.test", "name": "Olga", "password": "another long password", "roles": ["auditor"]}
needs_redis = pytest.mark.skipif(not os.environ.get("GRC_TEST_REDIS_URL"), reason="needs the real Redis server")


def messages(app, topic: str, email: str | None = NEW_USER["email"]) -> list[OutboxMessage]:  # type: ignore[no-untyped-def]
    """The outbox rows of ``topic`` (about ``email`` for user events; the world's own users have theirs too)."""
    with app.app_context(), tenancy.system_scope(db.session):
        rows = db.session.scalars(select(OutboxMessage).where(OutboxMessage.topic == topic))
        return [row for row in rows if email is None or row.payload.get("email") == email]


def test_J4_the_outbox_row_is_written_with_the_change_and_not_without_it(app, client, world):
    headers = world.headers("cb_admin@cb-a.test")
    assert client.post("/api/v1/users", headers=headers, json=NEW_USER).status_code == 201
    assert_problem(client.post("/api/v1/users", headers=headers, json={**NEW_USER, "email": "bad"}), 422)
    [message] = messages(app, "user.created")
    assert message.payload["email"] == "olga@cb-a.test" and message.tenant_id == world.tenants["cb-a"]


def worker_env(app, redis_url: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """A worker's environment: the app's settings, but the system URL (the owner's), as production gives it."""
    settings, system_url = app.config["GRC_SETTINGS"], app.extensions["grc.db"][0].url
    return {**os.environ, "GRC_ENV": "test", "GRC_DATABASE_URL": system_url.render_as_string(hide_password=False),
            "GRC_REDIS_URL": redis_url, "GRC_SECRET_KEY": settings.secret_key, "GRC_LOG_LEVEL": "WARNING"}


def test_J4_in_the_embedded_default_the_relay_runs_in_process_right_after_the_commit(app, client, world):
    with app_on_redis(app, ""):
        response = client.post("/api/v1/users", headers=world.headers("cb_admin@cb-a.test"), json=NEW_USER)
    assert response.status_code == 201
    [message] = messages(app, "user.created")
    assert message.status == OutboxStatus.dispatched and message.attempts == 1


@needs_redis
def test_J1_a_real_rq_worker_process_relays_what_the_api_enqueued(app, client, world, redis_url):
    assert client.post("/api/v1/users", headers=world.headers("cb_admin@cb-a.test"), json=NEW_USER).status_code == 201
    assert messages(app, "user.created")[0].status == OutboxStatus.pending
    queue = Queue(app.config["GRC_SETTINGS"].queue_name, connection=redis_connection(app))
    assert queue.count == 1
    env = worker_env(app, redis_url)
    subprocess.run([sys.executable, "-m", "grc.cli", "worker", "--burst"], env=env, check=True, timeout=60)
    assert messages(app, "user.created")[0].status == OutboxStatus.dispatched
    assert queue.count == 0


@needs_redis
def test_J3_a_second_relay_triggered_while_one_waits_is_a_no_op(app):
    with app.app_context():
        assert trigger(relay_outbox, name=RELAY) is True
        assert trigger(relay_outbox, name=RELAY) is False
        assert Queue(app.config["GRC_SETTINGS"].queue_name, connection=redis_connection(app)).count == 1


def run_worker_in_process(app) -> Queue:  # type: ignore[no-untyped-def]
    """Work the app's queue until it is empty, in this process (so a test can make a run fail or race)."""
    queue = Queue(app.config["GRC_SETTINGS"].queue_name, connection=redis_connection(app))
    with app.app_context():
        SimpleWorker([queue], connection=redis_connection(app)).work(burst=True)
    return queue


@needs_redis
def test_J6_a_failed_relay_run_never_blocks_the_next(app, client, world, monkeypatch):
    """The database refuses a whole relay run; the next write still gets a run of its own at once."""
    headers = world.headers("cb_admin@cb-a.test")
    assert client.post("/api/v1/users", headers=headers, json=NEW_USER).status_code == 201

    def refused(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("the database went away mid-run")

    with monkeypatch.context() as patched:
        patched.setattr(outbox, "relay", refused)
        assert run_worker_in_process(app).failed_job_registry.count == 1
    second = {**NEW_USER, "email": "pia@cb-a.test", "name": "Pia"}
    assert client.post("/api/v1/users", headers=headers, json=second).status_code == 201
    assert run_worker_in_process(app).count == 0
    assert messages(app, "user.created")[0].status == OutboxStatus.dispatched
    assert messages(app, "user.created", "pia@cb-a.test")[0].status == OutboxStatus.dispatched


@needs_redis
def test_J6_a_write_committed_while_the_relay_runs_is_relayed_by_the_next_run(app, client, world, monkeypatch):
    """A trigger fired during a run queues the run that follows it, instead of waiting for the schedule."""
    headers = world.headers("cb_admin@cb-a.test")
    assert client.post("/api/v1/users", headers=headers, json=NEW_USER).status_code == 201
    relay, during = outbox.relay, {**NEW_USER, "email": "pia@cb-a.test", "name": "Pia"}

    def relay_while_a_write_commits(*args, **kwargs):  # type: ignore[no-untyped-def]
        counts = relay(*args, **kwargs)
        if not messages(app, "user.created", "pia@cb-a.test"):
            assert client.post("/api/v1/users", headers=headers, json=during).status_code == 201
        return counts

    monkeypatch.setattr(outbox, "relay", relay_while_a_write_commits)
    queue = run_worker_in_process(app)
    assert queue.count == 0 and queue.failed_job_registry.count == 0
    assert messages(app, "user.created", "pia@cb-a.test")[0].status == OutboxStatus.dispatched


@needs_redis
def test_J6_a_relay_run_with_more_than_a_batch_hands_the_rest_to_a_run_queued_ahead_of_the_sender(
        app, client, world, monkeypatch):
    """One batch per run: a run that found a full batch queues the next one instead of looping (before, a run
    drained everything, and a webhook backlog held the relay of new writes for seconds: bench/chaos.py). While a
    backlog lasts, the next relay run goes ahead of a waiting sender run: after an outage the in-app notifications
    of everything written meanwhile come first (bench/chaos.py: 4 s behind the outage's end before)."""
    monkeypatch.setattr(outbox, "RELAY_BATCH", 1)
    headers = world.headers("cb_admin@cb-a.test")
    for email in ("pia@cb-a.test", "ola@cb-a.test"):
        assert client.post("/api/v1/users", headers=headers, json={**NEW_USER, "email": email}).status_code == 201
    pending = _pending_messages(app)
    queue = Queue(app.config["GRC_SETTINGS"].queue_name, connection=redis_connection(app))
    queue.empty()
    queue.enqueue(deliver_notifications)  # a sender run already waiting
    with app.app_context():
        assert sum(relay_outbox().values()) == 1
    assert _pending_messages(app) == pending - 1
    assert [job.func_name.rsplit(".", 1)[1] for job in queue.get_jobs()] == ["relay_outbox", "deliver_notifications"]
    run_worker_in_process(app)
    assert _pending_messages(app) == 0


def _pending_messages(app) -> int:  # type: ignore[no-untyped-def]
    with app.app_context(), tenancy.system_scope(db.session):
        return len(db.session.scalars(select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.pending)).all())


def test_J4_when_redis_is_down_the_change_still_commits_and_the_message_waits(app, client, world):
    with app_on_redis(app, "redis://127.0.0.1:1/0"):
        response = client.post("/api/v1/users", headers=world.headers("cb_admin@cb-a.test"), json=NEW_USER)
    assert response.status_code == 201
    assert messages(app, "user.created")[0].status == OutboxStatus.pending
    with app.app_context():
        relay_outbox()  # the next scheduled relay, once Redis is back
    assert messages(app, "user.created")[0].status == OutboxStatus.dispatched


def test_J4_a_failing_delivery_is_retried_with_backoff_then_parked_as_dead_never_dropped(app, world, monkeypatch):
    failures = {"left": outbox.MAX_ATTEMPTS}

    fan_out = outbox.fan_out

    def flaky(session, message, audience):  # type: ignore[no-untyped-def]
        if message.topic == "probe.ping" and failures["left"] > 0:
            failures["left"] -= 1
            raise ConnectionError("database hiccup")
        return fan_out(session, message, audience)

    monkeypatch.setattr(outbox, "fan_out", flaky)
    with app.app_context(), tenancy.system_scope(db.session):  # as the relay job runs
        outbox.relay(db.session)  # deliver what building the world queued, so only the probe is left
        events.publish(db.session, "probe.ping", {}, tenant_id=world.tenants["cb-a"])
        db.session.commit()  # (in the embedded mode this commit already triggers a first relay)
        outbox.relay(db.session)
        [first] = messages(app, "probe.ping", email=None)
        assert first.status == OutboxStatus.pending and first.attempts == 1 and first.available_at > utcnow()
        assert outbox.relay(db.session)["retrying"] == 0  # backing off: not due yet
        now = utcnow()
        for _ in range(outbox.MAX_ATTEMPTS):
            now += timedelta(days=1)
            outbox.relay(db.session, now=now)
    [message] = messages(app, "probe.ping", email=None)
    assert message.status == OutboxStatus.dead and message.attempts == outbox.MAX_ATTEMPTS
    assert "database hiccup" in message.last_error


@needs_redis
def test_J1_the_cron_scheduler_enqueues_the_declared_schedule(app):
    """`grc scheduler` loads worker.cron_config, which registers grc.jobs.schedule.SCHEDULE."""
    with app.app_context():
        connection = redis_connection(app)
        cron = CronScheduler(connection=connection)
        cron.load_config_from_file("worker.cron_config")  # what `grc scheduler` loads
        enqueued = cron.enqueue_jobs()
    assert {job.func.__name__ for job in enqueued} >= {"relay_outbox"}


@needs_redis
def test_J1_readyz_reports_the_live_workers_of_the_queue(app, client, redis_url):
    assert client.get("/readyz").get_json()["checks"]["workers"].startswith("none alive")
    env = worker_env(app, redis_url)
    worker = subprocess.Popen([sys.executable, "-m", "grc.cli", "worker"], env=env)
    try:
        deadline = time.monotonic() + 30
        while "1 alive" not in client.get("/readyz").get_json()["checks"]["workers"]:
            assert time.monotonic() < deadline, "the worker never registered"
            time.sleep(0.2)
        assert client.get("/readyz").status_code == 200
    finally:
        worker.terminate()
        worker.wait(timeout=30)


@needs_redis
def test_J1_a_burst_worker_leaves_no_thread_behind_when_it_quits(app):
    """`grc worker --burst` hung after "done, quitting" on a loaded machine: RQ's command listener, polling for 60 s,
    outlived the worker and used the Redis pool while the process tore it down at exit."""
    worker = StoppableWorker([Queue(app.config["GRC_SETTINGS"].queue_name, connection=redis_connection(app))],
                             connection=redis_connection(app))
    with app.app_context():
        worker.work(burst=True, with_scheduler=True)  # as run_worker works it
    assert worker.pubsub_thread is not None and not worker.pubsub_thread.is_alive()


@needs_redis
def test_J4_redis_stopped_then_restarted_loses_nothing(app, client, world):
    """A real Redis goes down under the API: the change commits, and once Redis is back the worker delivers."""
    port = free_port()
    redis_server = start_redis(port)
    url = f"redis://127.0.0.1:{port}/0"
    with app_on_redis(app, url):
        redis_server.terminate()
        redis_server.wait(timeout=10)
        response = client.post("/api/v1/users", headers=world.headers("cb_admin@cb-a.test"), json=NEW_USER)
        assert response.status_code == 201  # the outage costs nothing to the caller
        assert messages(app, "user.created")[0].status == OutboxStatus.pending
        redis_server = start_redis(port)
        try:
            with app.app_context():
                assert trigger(relay_outbox, name=RELAY)  # what the next write (or the schedule) does
            subprocess.run([sys.executable, "-m", "grc.cli", "worker", "--burst"], env=worker_env(app, url),
                           check=True, timeout=60)
        finally:
            redis_server.terminate()
            redis_server.wait(timeout=10)
    assert messages(app, "user.created")[0].status == OutboxStatus.dispatched


@needs_redis
def test_J1_a_failed_job_is_listed_and_retried_from_the_cli(app, redis_url):
    from grc.jobs.job_functions import daily_sweeps

    with app.app_context():
        assert enqueue(daily_sweeps, "not-a-date", job_id="sweep-broken")
    env = worker_env(app, redis_url)
    subprocess.run([sys.executable, "-m", "grc.cli", "worker", "--burst"], env=env, check=True, timeout=60)
    failed = subprocess.run([sys.executable, "-m", "grc.cli", "jobs", "failed"], env=env, check=True, timeout=60,
                            capture_output=True, text=True).stdout
    assert "sweep-broken" in failed and "ValueError" in failed and "daily_sweeps" in failed
    retried = subprocess.run([sys.executable, "-m", "grc.cli", "jobs", "retry", "sweep-broken"], env=env, check=True,
                             timeout=60, capture_output=True, text=True).stdout
    assert "requeued 1 job(s)" in retried
    assert Queue(app.config["GRC_SETTINGS"].queue_name, connection=redis_connection(app)).count == 1


def test_J4_a_message_the_database_refuses_is_retried_alone_and_the_rest_of_the_batch_goes_out(app, world,
                                                                                              monkeypatch):
    from grc.notifications.models import Notification

    fan_out = outbox.fan_out

    def refused_for_bad(session, message, audience):  # type: ignore[no-untyped-def]
        if message.topic != "probe.bad":
            return fan_out(session, message, audience)
        return [Notification(tenant_id=message.tenant_id, user_id=uuid.uuid4(), event_id=message.id,
                             topic=message.topic, title="no such user", body="", data={})]  # foreign key violation

    monkeypatch.setattr(outbox, "fan_out", refused_for_bad)
    with app.app_context(), tenancy.system_scope(db.session):
        outbox.relay(db.session)  # what building the world queued
        for topic in ("probe.good", "probe.bad", "probe.good"):
            events.publish(db.session, topic, {}, tenant_id=world.tenants["cb-a"])
        db.session.commit()  # (in the embedded mode this commit already runs the relay)
        outbox.relay(db.session)
    [bad] = messages(app, "probe.bad", email=None)
    assert bad.status == OutboxStatus.pending and "IntegrityError" in bad.last_error
    assert {m.status for m in messages(app, "probe.good", email=None)} == {OutboxStatus.dispatched}
