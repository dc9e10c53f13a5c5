"""Faults injected into real processes (docs/RELIABILITY.md): the API serves from its own process, a real Redis is
stopped under it, and the security controls must keep holding (they fail closed, never open)."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from tests import servers
from tests.world import PASSWORD

ROOT = Path(__file__).resolve().parents[1]
LOGIN = "/api/v1/auth/login"
needs_redis_server = pytest.mark.skipif(servers.redis_server_path() is None, reason="needs redis-server to stop")


@contextmanager
def api_process(app, redis_url: str, **settings: str) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """``grc serve`` on a free loopback port against the session's database and ``redis_url``; its base URL."""
    port = servers.free_port()
    env = {**os.environ, "GRC_ENV": "test", "GRC_DATABASE_URL": app.config["GRC_SETTINGS"].database_url,
           "GRC_REDIS_URL": redis_url, "GRC_SECRET_KEY": app.config["GRC_SETTINGS"].secret_key,
           "GRC_LOG_LEVEL": "CRITICAL", **settings}
    process = subprocess.Popen([sys.executable, "-m", "grc.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
                               cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, "grc serve did not start"
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


@needs_redis_server
def test_login_throttling_keeps_counting_while_redis_is_down(app, world):
    """30 wrong passwords for one account with Redis stopped, then the right one: still refused (429). Before, the
    limiter swallowed the storage errors and let every attempt through, so the 31st logged in."""
    port = servers.free_port()
    redis_server = servers.start_redis(port)
    limits = {"GRC_LOGIN_RATE_LIMIT_ACCOUNT": "5 per minute", "GRC_LOGIN_RATE_LIMIT_IP": "1000 per minute"}
    try:
        with api_process(app, f"redis://127.0.0.1:{port}/0", **limits) as base:
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


def test_a_database_that_cannot_be_reached_answers_503_with_retry_after(app):
    """PostgreSQL down (here: nothing listens where it should): a login and a public certificate check answer
    503 problem+json with Retry-After, which a client may retry as they are (before: a generic 500)."""
    unreachable = f"postgresql+psycopg://grc:grc@127.0.0.1:{servers.free_port()}/grc"
    with api_process(app, "", GRC_DATABASE_URL=unreachable) as base:
        answers = [requests.post(base + LOGIN, json={"email": "cb_admin@cb-a.test", "password": PASSWORD}, timeout=30),
                   requests.get(base + "/api/v1/public/certificates/acme/ACME-9001-2026-00001", timeout=30)]
    for answer in answers:
        assert answer.status_code == 503, answer.text
        assert answer.headers["Content-Type"].startswith("application/problem+json")
        assert int(answer.headers["Retry-After"]) > 0
        assert answer.json()["type"].endswith("/unavailable")
