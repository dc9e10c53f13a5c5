"""Faults injected under a steady write load (issue 14 item 9): is every acknowledged write stored once, every
outbox message notified once, and how long until everything catches up?

Everything runs on 127.0.0.1, as production runs it, and is thrown away at the end:

- a PostgreSQL cluster of its own with its crash safety on (fsync, synchronous commit), the small data set;
- Redis with an append-only file (docker/compose.yaml runs it so too);
- the API under gunicorn with the production config as the unprivileged ``grc_api`` role, one ``grc worker`` and
  one ``grc scheduler`` as the owner;
- a webhook receiver (the client subscribes to ``finding.raised``).

``--writers`` threads raise findings (``POST /audits/{id}/findings``) for ``--duration`` seconds, each with an
``Idempotency-Key`` and a marker in its statement. A write that gets no answer, a 5xx or a 429 is retried with the
same key and body, as a client following docs/RELIABILITY.md does, until it is acknowledged (201) or 60 s pass.
Meanwhile three faults are injected, one after the other:

1. Redis is stopped (SIGTERM) for a sixth of the run, then started again on its data;
2. PostgreSQL is crashed and restarted (``pg_ctl restart -m immediate``);
3. the worker is killed with ``kill -9`` and a new one started a second later (a supervisor's restart).

Once the load stops, the run waits until nothing is pending, then checks: every acknowledged finding is stored,
no marker is stored twice, each finding has exactly one outbox message, every message has its in-app
notifications (at most one per user) and reached the webhook receiver, no request answered 500, the worker and the
scheduler still run. The targets are those of bench/notify_latency.py. A fault holds back what is written during
it; everything written before its end must be notified within 5 s of that end (its recovery), as the outbox must
be drained within 5 s of the load stopping. Outside the faults and their recoveries, p99 under 2 s from commit to
first notification (less the time a fault lasted meanwhile, when one struck before a message was relayed).

    python -m bench.chaos                    # 60 s, 8 writers
    python -m bench.chaos --duration 24      # what the test suite runs (tests/test_bench_smoke.py)
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack, suppress
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from redis import Redis
from redis.exceptions import RedisError

from bench.dataset.sizes import SMALL
from bench.notify_latency import DRAIN_TARGET_S, P99_TARGET_S, TOPIC, percentiles, receiver, wait_for_drain
from bench.run import OUT, ROOT, audit_in_progress, gunicorn, load_dataset, login, query, stop
from bench.scenarios import FINDING_BODY
from bench.sweep import KEY_ENCRYPTION_KEY, SECRET_KEY
from bench.time_limit import time_limit
from tests import servers

GIVE_UP_S = 60.0  # a writer stops retrying one write after this long
RETRIED = {0, 429, 500, 502, 503, 504}  # 0: no answer (refused, reset, timed out)
WORKER_RESTART_DELAY_S = 1.0


def now() -> datetime:
    return datetime.now(UTC)


# --------------------------------------------------------------------------- the processes


class Process:
    """One ``grc`` command in its own process group, restartable, its output appended to ``log``."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.args, self.env, self.log = args, env, log
        self.process = self._start()

    def _start(self) -> subprocess.Popen[bytes]:
        with open(self.log, "ab") as out:
            return subprocess.Popen([sys.executable, "-m", "grc.cli", *self.args], cwd=ROOT, env=self.env,
                                    stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        stop(self.process)


class WorkerProcess(Process):
    """``grc worker``, which counts as up once its RQ worker has registered in Redis."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.redis = Redis.from_url(env["GRC_REDIS_URL"])
        self.known: set[str] = set()
        super().__init__(["worker"], env, log)
        self.wait_until_registered()

    def wait_until_registered(self, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with suppress(RedisError):
                names = {name.decode() for name in self.redis.smembers("rq:workers")}
                if names - self.known:
                    self.known |= names
                    return
            time.sleep(0.05)
        raise TimeoutError(f"no new worker registered within {seconds} s:\n{self.log.read_text()[-3000:]}")

    def kill_and_restart(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)  # the worker and the job's work horse with it
        self.process.wait(10)
        time.sleep(WORKER_RESTART_DELAY_S)
        self.process = self._start()
        self.wait_until_registered()


# --------------------------------------------------------------------------- the load


@dataclass
class Write:
    marker: str
    first_sent: datetime
    answered: datetime | None = None
    finding_id: str | None = None
    statuses: list[int] = field(default_factory=list)


@dataclass
class Load:
    """The writers' record: every write, and every answer with when it came."""

    writes: list[Write] = field(default_factory=list)
    answers: list[tuple[datetime, int]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, write: Write, status: int) -> None:
        with self.lock:
            write.statuses.append(status)
            self.answers.append((now(), status))


def writer(base: str, token: str, audit_id: str, name: str, load: Load, stopping: threading.Event) -> None:
    """Raise findings one after the other until ``stopping``; retry each until acknowledged or ``GIVE_UP_S``."""
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, timeout=10) as http:
        for number in range(1_000_000):
            if stopping.is_set():
                return
            write = Write(f"chaos {name}-{number}", now())
            with load.lock:
                load.writes.append(write)
            body = {**FINDING_BODY, "statement": write.marker}
            deadline = time.monotonic() + GIVE_UP_S
            while time.monotonic() < deadline:
                try:
                    response = http.post(f"/api/v1/audits/{audit_id}/findings", json=body,
                                         headers={**headers, "Idempotency-Key": write.marker})
                    status = response.status_code
                except httpx.HTTPError:
                    status = 0
                load.answer(write, status)
                if status == 201:
                    write.answered, write.finding_id = now(), response.json()["id"]
                    break
                if status not in RETRIED:
                    break  # a refusal the client would not retry: recorded, and the check below reports it
                time.sleep(min(float(response.headers.get("Retry-After", 1)) if status else 0.2, 1.0))


# --------------------------------------------------------------------------- the faults


@dataclass(frozen=True)
class Fault:
    name: str
    started: datetime
    ended: datetime  # the part is back: Redis answers, PostgreSQL accepts connections, a new worker runs


def inject(name: str, action: Callable[[], None]) -> Fault:
    started = now()
    action()
    fault = Fault(name, started, now())
    print(f"  {name}: {(fault.ended - fault.started).total_seconds():.1f} s", flush=True)
    return fault


def redis_outage(redis_server: servers.PersistentRedis, seconds: float) -> Callable[[], None]:
    def action() -> None:
        with redis_server.stopped():
            time.sleep(seconds)
    return action


def run_faults(duration: float, redis_server: servers.PersistentRedis, cluster: servers.Servers,
               worker: WorkerProcess) -> list[Fault]:
    """The three faults at fixed fractions of the run, one after the other."""
    started = time.monotonic()

    def at(fraction: float) -> None:
        time.sleep(max(0.0, started + fraction * duration - time.monotonic()))

    at(0.1)
    faults = [inject(f"Redis stopped for {duration / 6:.0f} s", redis_outage(redis_server, duration / 6))]
    at(0.45)
    faults.append(inject("PostgreSQL crashed and restarted", lambda: servers.restart_postgres(cluster, "immediate")))
    at(0.7)
    faults.append(inject("worker killed (kill -9), a new one started", worker.kill_and_restart))
    return faults


# --------------------------------------------------------------------------- the checks


@dataclass(frozen=True)
class Outcome:
    duration_s: float
    writers: int
    faults: list[dict[str, object]]  # name, seconds, statuses during it, recovery seconds
    requests: int
    statuses: dict[str, int]
    writes: int
    acknowledged: int
    given_up: int
    lost: int
    duplicated: int
    messages: int
    findings_without_one_message: int
    messages_without_notification: int
    duplicate_notifications: int
    messages_not_called: int
    duplicate_calls: int
    wait_p50_s: float
    wait_p99_s: float
    wait_max_s: float
    drain_s: float
    processes_running: bool
    timeline: list[tuple[int, int, float]]  # per second of the run: messages written, their longest wait (JSON only)

    def verdicts(self) -> list[tuple[str, bool]]:
        return [
            ("no acknowledged write lost", self.lost == 0),
            ("no write stored twice", self.duplicated == 0),
            ("every finding has exactly one outbox message", self.findings_without_one_message == 0),
            ("every message notified, at most once per user",
             self.messages_without_notification == 0 and self.duplicate_notifications == 0),
            ("every message reached the webhook receiver", self.messages_not_called == 0),
            ("no 500 answered", self.statuses.get("500", 0) == 0),
            ("every write acknowledged within 60 s of retries", self.given_up == 0),
            (f"p99 wait of what was written outside a fault and its recovery < {P99_TARGET_S:.0f} s",
             self.wait_p99_s < P99_TARGET_S),
            (f"what a fault held back notified < {DRAIN_TARGET_S:.0f} s after its end",
             all(float(str(fault["caught_up_s"])) < DRAIN_TARGET_S for fault in self.faults)),
            (f"outbox drained < {DRAIN_TARGET_S:.0f} s after the load", self.drain_s < DRAIN_TARGET_S),
            ("API, worker and scheduler still running", self.processes_running),
        ]


def waited_outside_faults(written: datetime, notified: datetime, faults: list[Fault]) -> float:
    """Seconds from ``written`` to ``notified`` while every part was up: the time inside a fault is the fault's
    (a message written just before a crash, or during an outage, waits for the part to come back)."""
    inside = sum(max(0.0, (min(notified, f.ended) - max(written, f.started)).total_seconds()) for f in faults)
    return (notified - written).total_seconds() - inside


def examine(database_url: str, audit_id: str, load: Load, faults: list[Fault], arrived: dict[str, list[datetime]],
            drain_s: float, duration: float, writers: int, processes_running: bool) -> Outcome:
    stored = Counter(statement for (statement,) in query(
        database_url, "SELECT statement FROM findings WHERE audit_id = %s", audit_id))
    stored_ids = {str(finding_id) for (finding_id,) in query(
        database_url, "SELECT id FROM findings WHERE audit_id = %s", audit_id)}
    acknowledged = [w for w in load.writes if w.finding_id]
    messages = query(database_url, """
        SELECT m.id::text, m.payload->>'finding_id', m.created_at, min(n.created_at), count(n.id),
               count(DISTINCT n.user_id)
        FROM outbox_messages m LEFT JOIN notifications n ON n.event_id = m.id
        WHERE m.topic = %s AND m.payload->>'finding_id' IN (SELECT id::text FROM findings WHERE audit_id = %s)
        GROUP BY m.id, m.payload->>'finding_id', m.created_at""", TOPIC, audit_id)
    per_finding = Counter(finding for _, finding, *_ in messages)
    waited = [(written, waited_outside_faults(written, first, faults))
              for _, _, written, first, *_ in messages if first is not None]
    described = [describe(f, load, messages) for f in faults]
    # A fault holds back what is written during it and until its backlog is notified (its recovery, bounded by
    # its own check); the steady target applies to everything written outside those windows.
    recovering = [(f.started, f.ended + timedelta(seconds=float(str(d["caught_up_s"]))))
                  for f, d in zip(faults, described, strict=True)]
    waits = [wait for written, wait in waited if not any(start <= written <= end for start, end in recovering)]
    p50, p99 = percentiles(waits)
    statuses = Counter(str(status) for _, status in load.answers)
    return Outcome(
        duration_s=duration, writers=writers, faults=described,
        requests=len(load.answers), statuses=dict(sorted(statuses.items())), writes=len(load.writes),
        acknowledged=len(acknowledged), given_up=sum(1 for w in load.writes if w.finding_id is None and w.statuses
                                                     and w.statuses[-1] in RETRIED),
        lost=sum(1 for w in acknowledged if w.finding_id not in stored_ids),
        duplicated=sum(1 for count in stored.values() if count > 1),
        messages=len(messages),
        findings_without_one_message=sum(1 for f in stored_ids if per_finding[f] != 1),
        messages_without_notification=sum(1 for m in messages if m[4] == 0),
        duplicate_notifications=sum(m[4] - m[5] for m in messages),
        messages_not_called=sum(1 for m in messages if m[0] not in arrived),
        duplicate_calls=sum(len(times) - 1 for times in arrived.values()),
        wait_p50_s=p50, wait_p99_s=p99, wait_max_s=max(waits, default=float("nan")), drain_s=drain_s,
        processes_running=processes_running, timeline=timeline(waited, load.writes[0].first_sent),
    )


def timeline(waited: list[tuple[datetime, float]], start: datetime) -> list[tuple[int, int, float]]:
    """Per second of the run: how many messages were written, and the longest any of them waited."""
    seconds: dict[int, list[float]] = {}
    for written, wait in waited:
        seconds.setdefault(int((written - start).total_seconds()), []).append(wait)
    return [(second, len(waits), round(max(waits), 2)) for second, waits in sorted(seconds.items())]


def describe(fault: Fault, load: Load, messages: list[tuple[object, ...]]) -> dict[str, object]:
    """A fault's statuses (while it lasted and 2 s after) and its recovery: seconds after it ended until a write
    was acknowledged again, and until every message written before its end was notified."""
    window = fault.ended + timedelta(seconds=2)
    during = Counter(str(status) for at, status in load.answers if fault.started <= at <= window)
    acknowledged = [w.answered for w in load.writes if w.answered and w.answered >= fault.ended]
    notified = [first for _, _, written, first, *_ in messages if first is not None and written <= fault.ended]
    return {"name": fault.name, "seconds": round((fault.ended - fault.started).total_seconds(), 2),
            "statuses": dict(sorted(during.items())),
            "writes_back_s": round((min(acknowledged) - fault.ended).total_seconds(), 2) if acknowledged else None,
            "caught_up_s": round(max(0.0, max(((n - fault.ended).total_seconds() for n in notified),  # type: ignore[operator]
                                              default=0.0)), 2)}


# --------------------------------------------------------------------------- the run


def run(duration: float, writers: int, workdir: Path, stack: ExitStack) -> Outcome:
    cluster, database_url = stack.enter_context(servers.own_postgres("grc_chaos", durable=True,
                                                                     secret_key=SECRET_KEY))
    redis_server = servers.PersistentRedis(workdir / "redis")
    stack.callback(redis_server.stop)
    data = load_dataset(SMALL, database_url)
    hooks = stack.enter_context(receiver())
    env = {**os.environ, "GRC_ENV": "production", "GRC_SECRET_KEY": SECRET_KEY,
           "GRC_KEY_ENCRYPTION_KEY": KEY_ENCRYPTION_KEY, "GRC_DATABASE_URL": database_url,
           "GRC_REDIS_URL": redis_server.url,
           "GRC_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1", "GRC_LOG_LEVEL": "WARNING", "GRC_ACCESS_TOKEN_MINUTES": "240",
           "GRC_STORAGE_LOCATION": str(workdir / "evidence")}
    # As production runs them: the API as the unprivileged grc_api role, the worker and scheduler as the owner.
    api_env = {**env, "GRC_DATABASE_URL": servers.as_api_role(database_url)}
    server = stack.enter_context(gunicorn("grc.wsgi:app", api_env, "/healthz", workdir))
    api = login(server.url, data)
    audit_id = audit_in_progress(api, data.client_id)
    api.call("POST", "/api/v1/webhooks", "client_admin",
             {"url": hooks.url, "event_types": [TOPIC], "description": "chaos run"})
    worker = WorkerProcess(env, workdir / "worker.log")
    stack.callback(lambda: worker.stop())
    scheduler = Process(["scheduler"], env, workdir / "scheduler.log")
    stack.callback(scheduler.stop)

    load, stopping = Load(), threading.Event()
    threads = [threading.Thread(target=writer, args=(server.url, api.tokens["auditor"], audit_id, f"w{i}", load,
                                                     stopping), daemon=True) for i in range(writers)]
    for thread in threads:
        thread.start()
    started = time.monotonic()
    faults = run_faults(duration, redis_server, cluster, worker)
    time.sleep(max(0.0, started + duration - time.monotonic()))
    stopping.set()
    for thread in threads:
        thread.join(GIVE_UP_S + 15)
    print(f"  {len(load.writes)} writes, {len(load.answers)} requests in {time.monotonic() - started:.0f} s",
          flush=True)
    drain_s = wait_for_drain(database_url, datetime.min.replace(tzinfo=UTC))
    time.sleep(0.5)  # the last webhook call's arrival may trail its delivery row by a moment
    alive = worker.running() and scheduler.running() and server_alive(server.pid)
    return examine(database_url, audit_id, load, faults, hooks.calls, drain_s, duration, writers, alive)


def server_alive(pid: int) -> bool:
    with suppress(ProcessLookupError):
        os.kill(pid, 0)
        return True
    return False


def report(outcome: Outcome) -> str:
    lines = [f"{outcome.duration_s:.0f} s of writes by {outcome.writers} writers, three faults:", "",
             "| fault | lasted s | statuses while it lasted (+2 s) | writes acknowledged again after s | "
             "messages written before its end notified after s |",
             "|---|---:|---|---:|---:|"]
    for fault in outcome.faults:
        statuses = ", ".join(f"{status}: {count}" for status, count in fault["statuses"].items())  # type: ignore[attr-defined]
        lines.append(f"| {fault['name']} | {fault['seconds']} | {statuses} | {fault['writes_back_s']} | "
                     f"{fault['caught_up_s']} |")
    statuses = ", ".join(f"{status}: {count}" for status, count in outcome.statuses.items())
    lines += ["", "| measure | value |", "|---|---:|",
              f"| requests (statuses) | {outcome.requests} ({statuses}) |",
              f"| writes / acknowledged / given up | {outcome.writes} / {outcome.acknowledged} / {outcome.given_up} |",
              f"| acknowledged writes lost | {outcome.lost} |",
              f"| writes stored twice | {outcome.duplicated} |",
              f"| outbox messages / findings without exactly one | {outcome.messages} / "
              f"{outcome.findings_without_one_message} |",
              f"| messages without notification / duplicate notifications | "
              f"{outcome.messages_without_notification} / {outcome.duplicate_notifications} |",
              f"| messages the webhook never got / repeated webhook calls | {outcome.messages_not_called} / "
              f"{outcome.duplicate_calls} |",
              f"| wait for the notification, written outside a fault and its recovery, p50 / p99 / max s | "
              f"{outcome.wait_p50_s:.2f} / "
              f"{outcome.wait_p99_s:.2f} / {outcome.wait_max_s:.2f} |",
              f"| outbox drained after the load, s | {outcome.drain_s:.2f} |", ""]
    lines += [f"- {'PASS' if ok else 'FAIL'}: {check}" for check, ok in outcome.verdicts()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.chaos", description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60, help="seconds of write load (default 60)")
    parser.add_argument("--writers", type=int, default=8, help="concurrent writers (default 8)")
    parser.add_argument("--timeout", type=int, default=600, help="give up (and clean up) after this many seconds")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--keep", action="store_true", help="keep the logs of the API, worker and scheduler")
    args = parser.parse_args(argv)
    with time_limit(args.timeout, "bench.chaos"), ExitStack() as stack:
        workdir = Path(tempfile.mkdtemp(prefix="grc-chaos-"))
        if args.keep:
            print(f"  logs in {workdir}", flush=True)
        else:
            stack.callback(shutil.rmtree, workdir, ignore_errors=True)
        outcome = run(args.duration, args.writers, workdir, stack)
    text = report(outcome)
    print("\n" + text, flush=True)
    OUT.mkdir(exist_ok=True)
    (OUT / "chaos.md").write_text(text + "\n")
    if args.json:
        args.json.write_text(json.dumps(asdict(outcome), indent=2, default=str) + "\n")
    return 0 if all(ok for _, ok in outcome.verdicts()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
