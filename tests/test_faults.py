"""Faults injected into real processes (docs/RELIABILITY.md): the API serves from its own process, a real Redis is
stopped under it, and the security controls must keep holding (they fail closed, never open)."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import psycopg
import pytest
import redis
import requests
from rq import Queue
from rq.job import JobStatus
from sqlalchemy import text
from sqlalchemy.engine import make_url

from grc.events import OutboxStatus
from grc.extensions import db
from grc.jobs.queue import job
from tests import servers
from tests.marks_factory import make_certificate
from tests.servers import PersistentRedis, app_on_redis
from tests.test_cli import stop, wait_until_serving
from tests.test_jobs import NEW_USER, messages, worker_env
from tests.test_view_cache import (
    CHECK,
    LOOKUPS_TO_CACHE,
    badge_text,
    grant_licence,
    status_of,
    suspend_certificate,
    suspend_licence,
)
from tests.world import PASSWORD

ROOT = Path(__file__).resolve().parents[1]
LOGIN = "/api/v1/auth/login"
needs_redis_server = pytest.mark.skipif(servers.redis_server_path() is None, reason="needs redis-server to stop")


@contextmanager
def api_process(app, tmp_path: Path, redis_url: str, **settings: str) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """``grc serve`` on a free loopback port against the session's database and ``redis_url``; its base URL."""
    port, log = servers.free_port(), tmp_path / "serve.log"
    env = {**os.environ, "GRC_ENV": "test", "GRC_DATABASE_URL": app.config["GRC_SETTINGS"].database_url,
           "GRC_REDIS_URL": redis_url, "GRC_SECRET_KEY": app.config["GRC_SETTINGS"].secret_key,
           "GRC_LOG_LEVEL": "ERROR", **settings}
    with log.open("w") as out:
        process = subprocess.Popen([sys.executable, "-m", "grc.cli", "serve", "--host", "127.0.0.1", "--port",
                                    str(port)], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(process, base, log, timeout=60)
        yield base
    finally:
        stop(process)


@needs_redis_server
def test_login_throttling_keeps_counting_while_redis_is_down(app, world, tmp_path):
    """30 wrong passwords for one account with Redis stopped, then the right one: still refused (429). Before, the
    limiter swallowed the storage errors and let every attempt through, so the 31st logged in. The account's window
    is a day: windows are aligned to the clock, and on a busy machine 31 logins could straddle a minute's end."""
    port = servers.free_port()
    redis_server = servers.start_redis(port)
    limits = {"GRC_LOGIN_RATE_LIMIT_ACCOUNT": "5 per day", "GRC_LOGIN_RATE_LIMIT_IP": "1000 per minute"}
    try:
        with api_process(app, tmp_path, f"redis://127.0.0.1:{port}/0", **limits) as base:
            wrong = {"email": "cb_admin@cb-a.test", "password": "not the password at all"}
            assert requests.post(base + LOGIN, json=wrong, timeout=10).status_code == 401  # counted in Redis
            redis_server.terminate()
            redis_server.wait(timeout=10)
            statuses = [requests.post(base + LOGIN, json=wrong, timeout=10).status_code for _ in range(30)]
            right = requests.post(base + LOGIN, json={**wrong, "password": PASSWORD}, timeout=10)
    finally:
        redis_server.terminate()
        redis_server.wait(timeout=10)
    assert set(statuses) == {401, 429} and statuses.count(401) <= 5, statuses
    assert statuses[statuses.index(429):] == [429] * (30 - statuses.index(429)), statuses
    assert right.status_code == 429
    assert right.headers["Content-Type"].startswith("application/problem+json")


def test_a_database_that_cannot_be_reached_answers_503_with_retry_after(app, tmp_path):
    """PostgreSQL down (here: nothing listens where it should): a login and a public certificate check answer
    503 problem+json with Retry-After, which a client may retry as they are (before: a generic 500)."""
    unreachable = f"postgresql+psycopg://grc:grc@127.0.0.1:{servers.free_port()}/grc"
    with api_process(app, tmp_path, "", GRC_DATABASE_URL=unreachable) as base:
        answers = [requests.post(base + LOGIN, json={"email": "cb_admin@cb-a.test", "password": PASSWORD}, timeout=30),
                   requests.get(base + "/api/v1/public/certificates/acme/ACME-9001-2026-00001", timeout=30)]
    for answer in answers:
        assert answer.status_code == 503, answer.text
        assert answer.headers["Content-Type"].startswith("application/problem+json")
        assert int(answer.headers["Retry-After"]) > 0
        assert answer.json()["type"].endswith("/unavailable")


def slow_job(seconds: float) -> None:
    """A job still running when Redis goes away (the worker imports it from this module by name)."""
    time.sleep(seconds)


DURING = "during.outage@cb-a.test"


@needs_redis_server
def test_J6_a_worker_rides_out_a_redis_outage_and_relays_what_was_written_after_it(app, client, world):
    """Redis stopped under `grc worker` while it runs a job, which ends during the outage: the worker process stays
    up; once Redis is back it relays, unasked, the write committed during the outage (whose trigger failed), and
    the next write too. Before, RQ's loop met the dead connection when the job ended ("found an unhandled exception,
    quitting") and the outbox waited until someone restarted it; then, the write made during the outage waited for
    the next write or the once-a-minute schedule."""
    port = servers.free_port()
    url = f"redis://127.0.0.1:{port}/0"
    redis_server = servers.start_redis(port)
    worker = subprocess.Popen([sys.executable, "-m", "grc.cli", "worker"], cwd=ROOT, env=worker_env(app, url),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with app_on_redis(app, url):
            queue = Queue(app.config["GRC_SETTINGS"].queue_name, connection=redis.Redis.from_url(url))
            job = queue.enqueue(slow_job, 3)
            wait_until(lambda: job.get_status() == JobStatus.STARTED, "the worker started the job")
            redis_server.terminate()
            redis_server.wait(timeout=10)
            time.sleep(6)  # the job ends in the outage
            assert worker.poll() is None, "the worker quit during the outage"
            during = client.post("/api/v1/users", headers=world.headers("cb_admin@cb-a.test"),
                                 json={**NEW_USER, "email": DURING})
            assert during.status_code == 201  # committed; its trigger could not reach Redis
            redis_server = servers.start_redis(port)
            wait_until(lambda: messages(app, "user.created", DURING)[0].status == OutboxStatus.dispatched,
                       "the worker relayed, unasked, the write made during the outage")
            created = client.post("/api/v1/users", headers=world.headers("cb_admin@cb-a.test"), json=NEW_USER)
            assert created.status_code == 201
            wait_until(lambda: messages(app, "user.created")[0].status == OutboxStatus.dispatched,
                       "the worker relayed the write made after the outage")
    finally:
        worker.terminate()
        assert worker.wait(timeout=30) == 0  # SIGTERM still stops it, warmly
        redis_server.terminate()
        redis_server.wait(timeout=10)


@needs_redis_server
def test_J6_a_worker_started_while_redis_is_down_waits_for_it_then_works(app):
    """`grc worker` (re)started by its supervisor during a Redis outage waits for Redis, then runs jobs. Before, RQ
    named the new worker in Redis before the loop that rides out outages, and the process died at once (found by
    bench/chaos.py: a run had no worker at all after the outage)."""
    port = servers.free_port()
    url = f"redis://127.0.0.1:{port}/0"
    worker = subprocess.Popen([sys.executable, "-m", "grc.cli", "worker"], cwd=ROOT, env=worker_env(app, url),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    redis_server = None
    try:
        time.sleep(4)  # the worker has started and found no Redis
        assert worker.poll() is None, "the worker quit because Redis was down"
        redis_server = servers.start_redis(port)
        queue = Queue(app.config["GRC_SETTINGS"].queue_name, connection=redis.Redis.from_url(url))
        ran = queue.enqueue(slow_job, 0)
        wait_until(lambda: ran.get_status() == JobStatus.FINISHED, "the worker ran a job once Redis was up")
    finally:
        worker.terminate()
        assert worker.wait(timeout=30) == 0
        if redis_server is not None:
            redis_server.terminate()
            redis_server.wait(timeout=10)


@job
def sleeping_query(seconds: float) -> int:
    """A job inside a database statement (the worker imports it from this module by name)."""
    return int(db.session.execute(text("SELECT 1 FROM pg_sleep(:seconds)"), {"seconds": seconds}).scalar_one())


def _sleeping_statements(database_url: str) -> int:
    url = make_url(database_url)
    with psycopg.connect(host=url.host, port=url.port, user=url.username, password=url.password,
                         dbname=url.database) as conn:
        [(count,)] = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE state = 'active'"
                                  " AND query LIKE '%pg_sleep%' AND pid <> pg_backend_pid()").fetchall()
        return int(count)


needs_own_postgres = pytest.mark.skipif(servers.pg_bin_dir() is None or servers.redis_server_path() is None,
                                        reason="needs initdb/pg_ctl and redis-server to restart")


@needs_own_postgres
def test_J6_a_worker_rides_out_a_postgresql_restart_during_a_job(app, tmp_path):
    """PostgreSQL crashes and restarts (``pg_ctl restart -m immediate``, on a cluster of the test's own) while
    `grc worker` runs a job inside a statement: that job fails and is kept in the failed registry, the worker stays
    up, and its next job reads the database again (the pool drops the dead connections, pool_pre_ping)."""
    port = servers.free_port()
    url = f"redis://127.0.0.1:{port}/0"
    redis_server = servers.start_redis(port)
    with servers.own_postgres("grc_restart") as (cluster, database_url):
        worker = subprocess.Popen([sys.executable, "-m", "grc.cli", "worker"], cwd=ROOT,
                                  env={**worker_env(app, url), "GRC_DATABASE_URL": database_url},
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            queue = Queue(app.config["GRC_SETTINGS"].queue_name, connection=redis.Redis.from_url(url))
            interrupted = queue.enqueue(sleeping_query, 20)
            wait_until(lambda: interrupted.get_status() == JobStatus.STARTED, "the worker started the job")
            wait_until(lambda: _sleeping_statements(database_url) == 1, "the job's statement is running")
            servers.restart_postgres(cluster, "immediate")
            wait_until(lambda: interrupted.get_status() == JobStatus.FAILED, "the interrupted job failed")
            assert worker.poll() is None, "the worker quit after the restart"
            after = queue.enqueue(sleeping_query, 0)
            wait_until(lambda: after.get_status() == JobStatus.FINISHED, "the next job ran")
            assert after.return_value() == 1
        finally:
            worker.terminate()
            assert worker.wait(timeout=30) == 0
            redis_server.terminate()
            redis_server.wait(timeout=10)


@needs_redis_server
def test_J6_the_scheduler_rides_out_a_redis_outage_and_enqueues_again(app):
    """`grc scheduler` with a schedule of one job a second (tests/cron_every_second.py), so its loop meets the
    outage: Redis stopped for 4 s and started again empty, the scheduler is still running and enqueues again by
    itself; SIGTERM still stops it. Before, RQ's cron loop raised the connection error and the process ended."""
    port = servers.free_port()
    url = f"redis://127.0.0.1:{port}/0"
    redis_server = servers.start_redis(port)
    scheduler = subprocess.Popen([sys.executable, "-m", "grc.cli", "scheduler", "--config",
                                  "tests/cron_every_second.py"], cwd=ROOT, env=worker_env(app, url),
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    queue = Queue(app.config["GRC_SETTINGS"].queue_name, connection=redis.Redis.from_url(url))
    try:
        wait_until(lambda: queue.count > 0, "the scheduler enqueued its job")
        redis_server.terminate()
        redis_server.wait(timeout=10)
        time.sleep(4)
        assert scheduler.poll() is None, "the scheduler quit during the outage"
        redis_server = servers.start_redis(port)
        assert queue.count == 0  # a fresh, empty Redis
        wait_until(lambda: queue.count > 0, "the scheduler enqueued again after the outage")
    finally:
        scheduler.terminate()
        assert scheduler.wait(timeout=30) == 0
        redis_server.terminate()
        redis_server.wait(timeout=10)


def wait_until(condition: Callable[[], bool], what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"not within {seconds} s: {what}"
        time.sleep(0.2)


def cached_views(server: PersistentRedis) -> list[bytes]:
    return redis.Redis.from_url(server.url).keys("grc:views:*")


def _redis_stopped(_app, server: PersistentRedis) -> AbstractContextManager[None]:  # type: ignore[no-untyped-def]
    return server.stopped()


def _redis_unreachable(app, _server: PersistentRedis) -> AbstractContextManager[None]:  # type: ignore[no-untyped-def]
    return app_on_redis(app, f"redis://127.0.0.1:{servers.free_port()}/0")  # nothing listens there


OUTAGES = {"stopped, back with its data": _redis_stopped, "unreachable, then reachable again": _redis_unreachable}


@needs_redis_server
@pytest.mark.parametrize("outage", OUTAGES)
def test_C10_a_certificate_suspended_while_redis_was_away_is_suspended_at_the_first_check_after(
        app, client, world, tmp_path, outage):
    """The issue's scenario: a certificate's public check and its licence's badge are cached; Redis goes away; the
    CB suspends the certificate (2xx); Redis is back with the old views in it; the very next check and badge say
    suspended. Before, the write's drop failed and every process served the old views until their TTL."""
    certificate_id = make_certificate(app, world, number="CB-A-OUTAGE-1")
    licence = grant_licence(client, world, certificate_id)
    server = PersistentRedis(tmp_path)
    try:
        with app_on_redis(app, server.url):
            for _ in range(LOOKUPS_TO_CACHE):
                assert status_of(client, "CB-A-OUTAGE-1") == "active"
                assert "VALID" in badge_text(client, licence["number"])
            with OUTAGES[outage](app, server):
                suspend_certificate(client, world, certificate_id)
            assert cached_views(server)  # the views cached before the outage are still in Redis
            assert status_of(client, "CB-A-OUTAGE-1") == "suspended"
            assert "SUSPENDED" in badge_text(client, licence["number"])
    finally:
        server.stop()


@needs_redis_server
@pytest.mark.parametrize("outage", OUTAGES)
def test_M3_a_licence_suspended_while_redis_was_away_shows_on_the_first_badge_after(
        app, client, world, tmp_path, outage):
    licence = grant_licence(client, world, make_certificate(app, world, number="CB-A-OUTAGE-2"))
    server = PersistentRedis(tmp_path)
    try:
        with app_on_redis(app, server.url):
            for _ in range(LOOKUPS_TO_CACHE):
                assert "VALID" in badge_text(client, licence["number"])
            with OUTAGES[outage](app, server):
                suspend_licence(client, world, licence)
            assert cached_views(server)
            assert "SUSPENDED" in badge_text(client, licence["number"])
    finally:
        server.stop()


@needs_redis_server
def test_C10_another_api_process_serves_no_view_hidden_by_a_redis_outage(app, client, world, tmp_path):
    """`grc serve`, in its own process, caches the check; this process suspends the certificate while their shared
    Redis is stopped; Redis comes back with its data, and the other process's next check says suspended, though
    nothing told it of the outage."""
    certificate_id = make_certificate(app, world, number="CB-A-OUTAGE-3")
    (tmp_path / "redis").mkdir()
    server = PersistentRedis(tmp_path / "redis")
    try:
        with api_process(app, tmp_path, server.url) as base, app_on_redis(app, server.url):
            def check() -> str:
                answer = requests.get(f"{base}{CHECK}/CB-A-OUTAGE-3", timeout=10)
                assert answer.status_code == 200, answer.text
                return str(answer.json()["status"])

            assert [check() for _ in range(LOOKUPS_TO_CACHE + 1)] == ["active"] * (LOOKUPS_TO_CACHE + 1)
            with server.stopped():
                suspend_certificate(client, world, certificate_id)
            assert cached_views(server)
            assert check() == "suspended"
    finally:
        server.stop()
