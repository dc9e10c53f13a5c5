"""The integrator's example (examples/certification_cycle.py) runs green against the API served over HTTP.

It is run as a reader would run it, as a process of its own: it generates its client from the committed spec,
walks the certification cycle and verifies the signed webhook delivery it receives on its own loopback server.
So a change to the spec or to the cycle that breaks what an integrator wrote fails here, in CI.
"""
from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from flask import Flask

from tests.test_webhooks import run_jobs
from tests.world import PASSWORD, World

pytestmark = pytest.mark.slow

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "certification_cycle.py"


@pytest.fixture
def webhooks_reach_loopback(app: Flask) -> Iterator[None]:
    """The example's receiver listens on 127.0.0.1, which the operator's allow-list lets webhooks reach here."""
    settings = app.config["GRC_SETTINGS"]
    app.config["GRC_SETTINGS"] = replace(settings, webhook_allowed_hosts="127.0.0.1")
    yield
    app.config["GRC_SETTINGS"] = settings


@pytest.fixture
def worker(app: Flask) -> Iterator[None]:
    """With Redis, jobs wait for a worker: run them as one would while the example runs (the embedded mode runs
    them in-process already)."""
    if not app.config["GRC_SETTINGS"].uses_redis:
        yield
        return
    stop = threading.Event()

    def work() -> None:
        while not stop.wait(0.2):
            run_jobs(app)

    thread = threading.Thread(target=work, name="example-worker", daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(timeout=30)


def test_the_example_walks_a_whole_certification_cycle_as_an_integrator(
        live_server: str, world: World, webhooks_reach_loopback: None, worker: None) -> None:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, str(EXAMPLE), "--base-url", live_server, "--admin", "cb_admin@cb-a.test",
         "--auditor", "auditor@cb-a.test", "--manager", "certification_manager@cb-a.test", "--password", PASSWORD],
        capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, f"the example failed:\n{result.stdout}\n{result.stderr}"

    lines = result.stdout.splitlines()
    for expected in ("API client Example integration", "signed in as Example integration", "stage 1",
                     "finding F-", "open -> response_submitted -> plan_accepted -> implemented -> verified -> closed",
                     "certificate CB-A-ISO9001-", "public check:", "is active", "webhook delivery msg_",
                     "verified: certificate.granted", "risk R-001 'Card-not-present fraud' assessed"):
        assert any(expected in line for line in lines), f"{expected!r} not in:\n{result.stdout}"
    walked = json.loads(lines[-1])
    assert walked["certificate"].startswith("CB-A-ISO9001-") and walked["risk"] == "R-001"
    print(f"example ran in {time.monotonic() - started:.1f} s")
