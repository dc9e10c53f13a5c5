"""How long a write waits for its notification and its webhook call (issue 14 item 2, J6), at the write load.

Everything runs on 127.0.0.1 and is thrown away at the end, as in bench/run.py (whose servers it reuses): a
throwaway PostgreSQL with the small data set, a throwaway Redis, the API under gunicorn with the production
config, **one** ``grc worker`` and a webhook receiver in this process. The client organisation subscribes its
webhook to ``finding.raised``; wrk then drives ``POST /audits/{id}/findings`` (the benchmark's creating write) at
``--connections`` for ``--duration`` seconds. Each finding commits an outbox message; the worker's relay turns it
into in-app notifications and a webhook delivery, and the sender calls the receiver.

For every message of the run it measures, from the message's row (written in the finding's transaction, so
within milliseconds of its commit):

- to its first in-app notification row (the relay's fan-out committed),
- to the webhook call arriving at the receiver,

and, once the load stops, how long until no message and no delivery is left pending (the drain). Targets: p99
under 2 s for both, drained within 5 s of the load stopping.

    python -m bench.notify_latency                 # 15 s at 16 connections
    python -m bench.notify_latency --duration 3    # what the test suite runs
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bench import scenarios
from bench.dataset.sizes import SMALL
from bench.run import ROOT, gunicorn, load_dataset, login, prepare, query, stop, throwaway_redis
from bench.scenarios import Load
from bench.sweep import KEY_ENCRYPTION_KEY, SECRET_KEY, throwaway_postgres
from bench.time_limit import time_limit
from tests import servers

TOPIC = "finding.raised"
P99_TARGET_S, DRAIN_TARGET_S = 2.0, 5.0
DRAIN_LIMIT_S = 120


class Receiver(ThreadingHTTPServer):
    """The subscriber's endpoint: notes when each event (``webhook-id``) arrived, every time, and answers 204.

    Its listen backlog is a web server's, not socketserver's 5: the sender's concurrent calls overflowed that, and
    each dropped connection attempt waited the 1 s of a TCP retransmission, which no real receiver would add."""

    request_queue_size = 128

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", servers.free_port()), _Hook)
        self.calls: dict[str, list[datetime]] = {}
        self.lock = threading.Lock()

    def arrived(self) -> dict[str, datetime]:
        """When each event first arrived."""
        with self.lock:
            return {event: times[0] for event, times in self.calls.items()}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks"


class _Hook(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        now = datetime.now(UTC)
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with self.server.lock:
            self.server.calls.setdefault(self.headers["webhook-id"].removeprefix("msg_"), []).append(now)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        return


@contextmanager
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def worker(env: dict[str, str], workdir: Path) -> Iterator[None]:
    """One ``grc worker`` (RQ, with its scheduler), as production runs it."""
    with open(workdir / "worker.log", "ab") as log:
        process = subprocess.Popen([sys.executable, "-m", "grc.cli", "worker"], cwd=ROOT, env={**os.environ, **env},
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield
    finally:
        stop(process)


@dataclass(frozen=True)
class Latency:
    messages: int
    notified: int
    called: int
    to_notification_s: tuple[float, float]  # p50, p99
    to_webhook_s: tuple[float, float]
    drain_s: float

    def verdicts(self) -> list[tuple[str, bool]]:
        return [(f"p99 commit -> notification < {P99_TARGET_S:.0f} s", self.to_notification_s[1] < P99_TARGET_S),
                (f"p99 commit -> webhook call < {P99_TARGET_S:.0f} s", self.to_webhook_s[1] < P99_TARGET_S),
                (f"outbox drained < {DRAIN_TARGET_S:.0f} s after the load", self.drain_s < DRAIN_TARGET_S),
                ("every message notified and called", self.messages == self.notified == self.called)]


def percentiles(values: Sequence[float]) -> tuple[float, float]:
    if not values:
        return float("nan"), float("nan")
    ordered = sorted(values)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def pending(database_url: str, since: datetime) -> int:
    """Messages of the run not yet relayed, plus deliveries not yet sent."""
    [(messages, deliveries)] = query(database_url, """
        SELECT (SELECT count(*) FROM outbox_messages WHERE status = 'pending' AND created_at >= %s),
               (SELECT count(*) FROM deliveries WHERE status = 'pending' AND created_at >= %s)""", since, since)
    return int(messages) + int(deliveries)


def wait_for_drain(database_url: str, since: datetime) -> float:
    """Seconds from now until nothing of the run is pending (polled every 50 ms, at most ``DRAIN_LIMIT_S``)."""
    started = time.monotonic()
    while pending(database_url, since) and time.monotonic() - started < DRAIN_LIMIT_S:
        time.sleep(0.05)
    return time.monotonic() - started


def latency(database_url: str, since: datetime, arrived: dict[str, datetime], drain_s: float) -> Latency:
    rows = query(database_url, """
        SELECT m.id::text, m.created_at, min(n.created_at)
        FROM outbox_messages m LEFT JOIN notifications n ON n.event_id = m.id
        WHERE m.topic = %s AND m.created_at >= %s GROUP BY m.id, m.created_at""", TOPIC, since)
    notified = [(first - written).total_seconds() for _, written, first in rows if first is not None]
    called = [(arrived[message] - written).total_seconds() for message, written, _ in rows if message in arrived]
    return Latency(len(rows), len(notified), len(called), percentiles(notified), percentiles(called), drain_s)


def run(load: Load, workdir: Path, stack: ExitStack) -> Latency:
    database_url = stack.enter_context(throwaway_postgres())
    redis_url = stack.enter_context(throwaway_redis())
    if not redis_url:
        raise SystemExit("needs redis-server: the latency measured is the queue's (apt-get install redis-server)")
    data = load_dataset(SMALL, database_url)
    hooks = stack.enter_context(receiver())
    env = {"GRC_ENV": "production", "GRC_SECRET_KEY": SECRET_KEY, "GRC_KEY_ENCRYPTION_KEY": KEY_ENCRYPTION_KEY,
           "GRC_DATABASE_URL": database_url,
           "GRC_REDIS_URL": redis_url, "GRC_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1", "GRC_LOG_LEVEL": "WARNING",
           "GRC_ACCESS_TOKEN_MINUTES": "240", "GRC_STORAGE_LOCATION": str(workdir / "evidence")}
    server = stack.enter_context(gunicorn("grc.wsgi:app", env, "/healthz", workdir))
    prepared = prepare(data, server.url, database_url, pool=1)
    login(server.url, data).call("POST", "/api/v1/webhooks", "client_admin",
                                 {"url": hooks.url, "event_types": [TOPIC], "description": "latency benchmark"})
    stack.enter_context(worker(env, workdir))
    [create] = [s for s in scenarios.api_scenarios(prepared, load.threads) if s.name == "finding_create"]
    since = datetime.now(UTC)
    result = scenarios.run_wrk(create, server.url, load, workdir)
    print(f"  {result.requests} findings raised in {result.seconds} s ({result.rps} req/s, {result.errors} errors)",
          flush=True)
    drain_s = wait_for_drain(database_url, since)
    time.sleep(0.5)  # the last webhook call's arrival may trail its delivery row by a moment
    return latency(database_url, since, hooks.arrived(), drain_s)


def report(measured: Latency, load: Load) -> str:
    lines = [f"{measured.messages} messages ({TOPIC}) at {load.connections} connections for {load.duration} s, "
             "one worker, Redis:",
             "",
             "| from the write's commit to | p50 s | p99 s | reached |",
             "|---|---:|---:|---:|",
             f"| its first in-app notification | {measured.to_notification_s[0]:.2f} | "
             f"{measured.to_notification_s[1]:.2f} | {measured.notified} |",
             f"| its webhook call at the receiver | {measured.to_webhook_s[0]:.2f} | {measured.to_webhook_s[1]:.2f} | "
             f"{measured.called} |",
             "",
             f"Drained {measured.drain_s:.2f} s after the load stopped.",
             ""]
    lines += [f"{'PASS' if ok else 'MISS'}  {target}" for target, ok in measured.verdicts()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.notify_latency", description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=15, help="seconds of write load (default 15)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (default 16)")
    parser.add_argument("--timeout", type=int, default=600, help="give up (and clean up) after this many seconds")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    load = Load(args.duration, args.connections, 1)
    with time_limit(args.timeout, "bench.notify_latency"), ExitStack() as stack:
        workdir = Path(tempfile.mkdtemp(prefix="grc-bench-notify-"))
        stack.callback(shutil.rmtree, workdir, ignore_errors=True)
        measured = run(load, workdir, stack)
    print("\n" + report(measured, load), flush=True)
    if args.json:
        args.json.write_text(json.dumps(measured.__dict__, indent=2) + "\n")
    return 0 if all(ok for _, ok in measured.verdicts()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
