"""The load runner (issue 7): the API under gunicorn with production settings, driven by wrk, next to two floors.

Everything runs on 127.0.0.1 and is thrown away at the end, also on failure or timeout:

1. A throwaway PostgreSQL (tests/servers.py, via bench/sweep.py) is migrated and the data set is loaded
   (``load_dataset``: bench/dataset/, full size or ``--small`` with ``--smoke``). Redis runs too when
   ``redis-server`` is installed, because production has it: the rate-limit counters live there (one budget
   across workers, a round trip per public lookup) and the outbox relay is enqueued there after each write (no
   RQ worker runs, so the relay costs the API only the enqueue, as it does in production). Without
   ``redis-server`` the API runs in embedded mode and says so.
2. The floors (bench/floors.py) and then the API are started one at a time under gunicorn with
   ``docker/gunicorn.conf.py`` (workers and threads as it sizes them for this machine), on a free loopback
   port. The API runs with ``GRC_ENV=production``, a random 64-character secret, INFO logging (to a file) and
   connects as the unprivileged ``grc`` role, so row-level security applies. For the run, public lookups are
   allowed 1,000,000 per minute (``GRC_PUBLIC_RATE_LIMIT``) and access tokens live 4 hours, so neither the
   limiter's 429s nor an expired token end up in the figures.
3. Each scenario (bench/scenarios.py) is driven by wrk for ``--duration`` seconds at ``--connections``, the reads
   in three interleaved rounds (``measure``); each server is warmed up first. The results go to
   ``bench/out/results.json`` and ``bench/out/results.md``, with the ratios to both floors, the gunicorn workers'
   RSS after the run and, except with ``--smoke``, PASS or MISS for every target.

    python -m bench.run                  # full data set, 15 s per scenario at 16 connections
    python -m bench.run --smoke          # tiny data set, 1 s per scenario, no targets: every scenario answers 2xx
    python -m bench.run --duration 30 --connections 32 --threads 2
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import runpy
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from types import FrameType
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from bench import floors, scenarios
from bench.dataset.build import build
from bench.dataset.database import libpq_url
from bench.dataset.sizes import SMALL, Sizes
from bench.scenarios import (
    FLOOR_A,
    FLOOR_B,
    Load,
    Prepared,
    Result,
    Scenario,
    Verdict,
)
from bench.sweep import KEY_ENCRYPTION_KEY, SECRET_KEY, throwaway_postgres
from bench.time_limit import time_limit
from grc.config import Settings
from grc.db import utcnow
from grc.dbmigrate import upgrade
from grc.signing.service import provision_missing_keys
from tests import servers

ROOT = Path(__file__).resolve().parents[1]
GUNICORN_CONF = ROOT / "docker" / "gunicorn.conf.py"
OUT = ROOT / "bench" / "out"
PUBLIC_RATE_LIMIT = "1000000 per minute"
TOKEN_MINUTES = 240
FLOOR_APPS = {FLOOR_A: ("bench.floors:bare()", floors.BARE_PATH), FLOOR_B: ("bench.floors:orm()", floors.ORM_PATH)}


@dataclass(frozen=True)
class Mode:
    sizes: Sizes
    pool: int  # findings and risks each writing scenario rotates over (many more than connections)
    duration: int  # seconds per scenario
    warmup: int  # seconds per server
    timeout: int  # seconds for the whole run


FULL = Mode(Sizes(), pool=512, duration=15, warmup=3, timeout=5400)
SMOKE = Mode(SMALL, pool=48, duration=1, warmup=1, timeout=130)


# --------------------------------------------------------------------------- the data set


@dataclass(frozen=True)
class Dataset:
    """What the runner takes from the generator's summary; every state the scenarios change is made through the
    API just before the run (``prepare``)."""

    password: str  # every user's below
    # by role key: large_cb and small_cb, an admin of each CB (lists its certificates); cb_manager and auditor of the
    # large CB; client_admin of client_id, a client of that CB who keeps register_id (and may edit its risks)
    emails: dict[str, str]
    large_cb_id: str
    client_id: str
    register_id: str
    public_certificate: tuple[str, str]  # CB slug and number of an active certificate (the public check)
    licence_number: str  # an active mark licence (its badge)
    sizes: dict[str, int]  # certificates_large, certificates_small, risks (in register_id)


def load_dataset(sizes: Sizes, database_url: str) -> Dataset:
    """The generator's data set (bench/dataset/), written into the migrated database at ``database_url`` by the
    server's superuser (COPY does not run under row-level security); its per-table report goes to stdout."""
    built = build(superuser_url(database_url), sizes, seed=1, today=utcnow().date())
    print("\n".join(f"  {line}" for line in built.lines()), flush=True)
    # the data set's CBs get their signing keys as `grc db upgrade` gives them to CBs created before keys existed
    provision_missing_keys(Settings(database_url=database_url, secret_key=SECRET_KEY,
                                    key_encryption_key=KEY_ENCRYPTION_KEY))
    return dataset_of(built.summary)


def dataset_of(summary: dict[str, Any]) -> Dataset:
    """The ids, e-mails and numbers the scenarios use, from the generator's summary."""
    big, small, register = summary["big_cb"], summary["small_cb"], summary["big_register"]
    return Dataset(
        password=summary["password"],
        emails={"large_cb": big["admin_email"], "small_cb": small["admin_email"], "cb_manager": big["manager_email"],
                "auditor": big["auditor_email"], "client_admin": register["admin_email"],
                "risk_manager": register["admin_email"]},
        large_cb_id=big["id"], client_id=register["client_id"], register_id=register["id"],
        public_certificate=(summary["certificate"]["cb_slug"], summary["certificate"]["number"]),
        licence_number=summary["licence"]["number"],
        sizes={"certificates_large": big["certificates"], "certificates_small": small["certificates"],
               "risks": register["risks"]},
    )


def superuser_url(database_url: str) -> str:
    """The same database as the throwaway server's superuser (COPY past row-level security, ad-hoc look-ups)."""
    return make_url(database_url).set(username="postgres", password=None).render_as_string(hide_password=False)


def query(database_url: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Rows of one statement run as the superuser, who sees every tenant's rows."""
    with psycopg.connect(libpq_url(superuser_url(database_url))) as conn:
        cursor = conn.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


# --------------------------------------------------------------------------- processes


@contextmanager
def throwaway_redis() -> Iterator[str]:
    """A throwaway redis-server's URL, or "" (embedded mode) when it is not installed."""
    if servers.redis_server_path() is None:
        yield ""
        return
    port = servers.free_port()
    process = servers.start_redis(port)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(10)


@dataclass(frozen=True)
class Gunicorn:
    url: str
    pid: int  # the master's
    workers: int
    threads: int


def gunicorn_sizing() -> tuple[int, int]:
    """Workers and threads per worker as docker/gunicorn.conf.py sizes them for this machine and environment."""
    conf = runpy.run_path(str(GUNICORN_CONF))
    return conf["workers"], conf["threads"]


@contextmanager
def gunicorn(app_spec: str, env: dict[str, str], ready_path: str, workdir: Path) -> Iterator[Gunicorn]:
    """``app_spec`` under gunicorn with the production config on a free loopback port, every worker up."""
    port = servers.free_port()
    name = app_spec.split(":")[1].strip("()")
    private = {"GRC_BIND": f"127.0.0.1:{port}", "GRC_CONTROL_SOCKET": str(workdir / f"{name}.ctl"),
               "PROMETHEUS_MULTIPROC_DIR": str(workdir / f"{name}-metrics")}
    workers, threads = gunicorn_sizing()
    with open(workdir / f"{name}.log", "ab") as log:
        process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF), app_spec], cwd=ROOT,
                                   env={**os.environ, **env, **private}, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_serving(process, url + ready_path, workers, workdir / f"{name}.log")
        yield Gunicorn(url, process.pid, workers, threads)
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the master (its workers finish their requests), then SIGKILL to its process group: workers a
    dying master left behind, or everything when the wait is cut short (a signal to the runner, a timeout)."""
    try:
        process.terminate()
        process.wait(40)
    except subprocess.TimeoutExpired:
        pass
    finally:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)


def wait_until_serving(process: subprocess.Popen[bytes], url: str, workers: int, log: Path) -> None:
    """Until ``url`` answers 200 and the master has all its workers (each imports the app after the fork)."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        if len(children(process.pid)) >= workers and http_status(url) == 200:
            return
        time.sleep(0.2)
    raise TimeoutError(f"gunicorn did not serve {url} within 90 s:\n{log.read_text()[-3000:]}")


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (gunicorn's workers), from /proc."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended while we looked
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def rss_mb(pid: int) -> float:
    """Resident memory (VmRSS) of one process, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


# --------------------------------------------------------------------------- HTTP before the run


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


@dataclass(frozen=True)
class Client:
    """The running API over HTTP, as one of the data set's users (by role key)."""

    base: str
    tokens: dict[str, str]

    def call(self, method: str, path: str, role: str | None, body: dict[str, Any] | None = None
             ) -> tuple[Any, str | None]:
        """JSON body and ETag of a 2xx answer; anything else raises with the problem's text."""
        headers = {"Content-Type": "application/json",
                   **({"Authorization": f"Bearer {self.tokens[role]}"} if role else {})}
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.load(response), response.headers.get("ETag")
        except urllib.error.HTTPError as error:
            raise RuntimeError(f"{method} {path}: {error.code} {error.read()[:500]!r}") from error


def login(base: str, data: Dataset) -> Client:
    anonymous = Client(base, {})
    return Client(base, {role: anonymous.call("POST", "/api/v1/auth/login", None, {
        "email": email, "password": data.password})[0]["access_token"] for role, email in data.emails.items()})


def prepare(data: Dataset, base: str, database_url: str, pool: int) -> Prepared:
    """Log every role in, make through the API the state the writing scenarios need (an audit in progress, ``pool``
    findings in plan_accepted) and fetch what the scenarios send: the deep cursor, the public certificate, and the
    references and current ETags of ``pool`` risks."""
    api = login(base, data)
    audit_id = audit_in_progress(api, data.client_id)
    findings = [finding_in_plan_accepted(api, audit_id) for _ in range(pool)]
    return Prepared(tokens=api.tokens, sizes=data.sizes, deep_cursor=deep_cursor(database_url, data.large_cb_id),
                    public_certificate=data.public_certificate, licence_number=data.licence_number, audit_id=audit_id,
                    register_id=data.register_id, findings=findings, risks=risk_pool(api, data.register_id, pool))


def audit_in_progress(api: Client, client_id: str) -> str:
    """A special audit (allowed whatever the client's history, C1) led by the auditor, started: findings can be
    raised on it (F1)."""
    from grc.schemes.catalogue import scheme_id

    auditor, _ = api.call("GET", "/api/v1/me", "auditor")
    audit, _ = api.call("POST", "/api/v1/audits", "cb_manager", {
        "client_id": client_id, "scheme_ids": [str(scheme_id("ISO 9001", "2015"))], "type": "special",
        "planned_start": date.today().isoformat(), "planned_end": date.today().isoformat(),
        "lead_auditor_id": auditor["id"]})
    api.call("POST", f"/api/v1/audits/{audit['id']}/start", "auditor")
    return str(audit["id"])


def finding_in_plan_accepted(api: Client, audit_id: str) -> dict[str, str]:
    """Raised, answered by the client and its plan accepted: ready for implementation (F2). Id and number."""
    finding, _ = api.call("POST", f"/api/v1/audits/{audit_id}/findings", "auditor", scenarios.FINDING_BODY)
    path = f"/api/v1/findings/{finding['id']}"
    api.call("POST", f"{path}/response", "client_admin", {
        "correction": "Records completed.", "root_cause": "No release checklist.",
        "corrective_action_plan": "Introduce a release checklist.", "target_date": date.today().isoformat()})
    api.call("POST", f"{path}/plan-review", "auditor", {"accepted": True})
    return {"id": finding["id"], "number": finding["number"]}


def risk_pool(api: Client, register_id: str, pool: int) -> list[dict[str, str]]:
    """The register's first ``pool`` risks with their references and current ETags (If-Match needs them)."""
    ids: list[str] = []
    cursor = ""
    while len(ids) < pool:
        page, _ = api.call("GET", f"/api/v1/risks?register_id={register_id}&limit=100{cursor}", "risk_manager")
        ids += [risk["id"] for risk in page["items"]]
        if not page["next_cursor"]:
            break
        cursor = f"&cursor={page['next_cursor']}"
    risks = []
    for risk_id in ids[:pool]:
        risk, etag = api.call("GET", f"/api/v1/risks/{risk_id}", "risk_manager")
        risks.append({"id": risk_id, "reference": risk["reference"], "etag": etag})
    return risks


def deep_cursor(database_url: str, cb_id: str) -> str:
    """The cursor the API would hand out after the certificate at 90% of the CB's list (ordered by id), built
    with the API's own encoder: walking there would take tens of thousands of requests."""
    from grc.api import _encode_cursor

    (total,), = query(database_url, "SELECT count(*) FROM certificates WHERE tenant_id = %s", cb_id)
    (certificate_id,), = query(database_url, "SELECT id FROM certificates WHERE tenant_id = %s ORDER BY id "
                                             "OFFSET %s LIMIT 1", cb_id, total * 9 // 10)
    return _encode_cursor([certificate_id])


# --------------------------------------------------------------------------- measuring

ROUNDS = 3  # interleaved rounds per server (measure)
MIN_ROUND_SECONDS = 5  # shorter runs (--smoke, --duration under 15) are measured in one round


@dataclass(frozen=True)
class Served:
    """One server's part of the run: the results of its scenarios and its workers' RSS after them."""

    results: list[Result]
    worker_rss_mb: list[float]


def measure(server: Gunicorn, scenario_list: Sequence[Scenario], load: Load, warmup: int, workdir: Path) -> Served:
    """Warm the server up with its first scenario, run the reads in ``ROUNDS`` interleaved rounds (each for a
    ``ROUNDS``-th of ``load.duration`` per round, in turn), then each write once; RSS of every worker after.

    On a shared machine the neighbours' load comes and goes over seconds: a scenario run in one window may get a
    quiet one and the next a busy one, and a p99 decides on such a window. Interleaved rounds expose the reads to
    the same stretches, and a read's p99 is the median of its rounds' (scenarios.combine). Writes run in one go:
    their Lua scripts carry state (each finding's next step, each risk's ETag) that a restart would lose."""
    scenarios.run_wrk(scenario_list[0], server.url, Load(warmup, load.connections, load.threads), workdir)
    reads = [scenario for scenario in scenario_list if scenario.method == "GET"]
    rounds = ROUNDS if load.duration >= ROUNDS * MIN_ROUND_SECONDS else 1
    part = Load(load.duration // rounds, load.connections, load.threads)
    runs: dict[str, list[Result]] = {scenario.name: [] for scenario in scenario_list}
    for number in range(1, rounds + 1):
        for scenario in reads:
            runs[scenario.name].append(scenarios.run_wrk(scenario, server.url, part, workdir))
        print(f"  round {number}: " + ", ".join(f"{name} {found[-1].rps:.0f}/s p99 {found[-1].p99_ms:.0f} ms"
                                                for name, found in runs.items() if found), flush=True)
    for scenario in scenario_list:
        if scenario not in reads:
            runs[scenario.name].append(scenarios.run_wrk(scenario, server.url, load, workdir))
    results = [scenarios.combine(runs[scenario.name]) for scenario in scenario_list]
    for result in results:
        print(f"  {result.title:<48} {result.rps:>8.1f} req/s  p50 {result.p50_ms:6.1f} ms  "
              f"p99 {result.p99_ms:6.1f} ms  errors {result.errors}", flush=True)
    return Served(results, [rss_mb(pid) for pid in children(server.pid)])


def run(mode: Mode, load: Load, workdir: Path, stack: ExitStack, seeded: tuple[str, Path] | None = None
        ) -> tuple[list[Result], Served, dict[str, Any]]:
    """The servers, the data, then each of the three gunicorn servers in turn: floors first, the API last.
    ``seeded``: the URL of a database ``python -m bench.seed`` already filled and its summary, used instead."""
    database_url = seeded[0] if seeded else stack.enter_context(throwaway_postgres())
    if seeded:
        upgrade(database_url, secret_key=SECRET_KEY)  # the key the API proves its tenant scopes with
    redis_url = stack.enter_context(throwaway_redis())
    started = time.perf_counter()
    print("loading the data set ...", flush=True)
    data = dataset_of(json.loads(seeded[1].read_text())) if seeded else load_dataset(mode.sizes, database_url)
    floors.create_table(database_url)
    _vacuum(database_url)
    print(f"  loaded in {time.perf_counter() - started:.0f} s: {data.sizes}", flush=True)
    floor_env = {floors.DATABASE_URL_ENV: database_url}
    api_env = {"GRC_ENV": "production", "GRC_SECRET_KEY": SECRET_KEY, "GRC_KEY_ENCRYPTION_KEY": KEY_ENCRYPTION_KEY,
               "GRC_DATABASE_URL": database_url,
               "GRC_REDIS_URL": redis_url, "GRC_PUBLIC_RATE_LIMIT": PUBLIC_RATE_LIMIT,
               "GRC_ACCESS_TOKEN_MINUTES": str(TOKEN_MINUTES), "GRC_STORAGE_LOCATION": str(workdir / "evidence")}
    results: list[Result] = []
    for floor in scenarios.floor_scenarios(load.threads):
        spec, path = FLOOR_APPS[floor.server]
        with gunicorn(spec, floor_env, path, workdir) as server:
            results += measure(server, [floor], load, mode.warmup, workdir).results
    with gunicorn("grc.wsgi:app", api_env, "/healthz", workdir) as server:
        prepared = prepare(data, server.url, database_url, mode.pool)
        api = measure(server, scenarios.api_scenarios(prepared, load.threads), load, mode.warmup, workdir)
    settings = {"gunicorn_workers": server.workers, "gunicorn_threads": server.threads,
                "redis": "throwaway redis-server" if redis_url else "none (embedded mode)",
                "public_rate_limit": PUBLIC_RATE_LIMIT, "data_set": data.sizes}
    return results + api.results, api, settings


def _vacuum(database_url: str) -> None:
    """Fresh statistics after the bulk load, as autovacuum would have them on a table that old."""
    with psycopg.connect(libpq_url(superuser_url(database_url)), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


# --------------------------------------------------------------------------- reporting


def table(results: Sequence[Result]) -> str:
    """The markdown table: throughput, latency, errors and the ratios to both floors."""
    floor = {r.name: r.rps for r in results if r.server in (FLOOR_A, FLOOR_B)}
    lines = ["| scenario | req/s | p50 ms | p99 ms | errors | / floor (a) | / floor (b) |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        lines.append(f"| {r.title} | {r.rps:,.0f} | {r.p50_ms:.1f} | {r.p99_ms:.1f} | {r.errors} | "
                     f"{r.rps / floor['floor_a']:.2f} | {r.rps / floor['floor_b']:.2f} |")
    return "\n".join(lines)


def verdict_table(verdicts: Sequence[Verdict]) -> str:
    lines = ["| target | figure | result |", "|---|---:|---|"]
    lines += [f"| {v.target} | {v.detail} | {'PASS' if v.passed else 'MISS'} |" for v in verdicts]
    return "\n".join(lines)


def report(results: Sequence[Result], api: Served, settings: dict[str, Any], load: Load,
           verdicts: Sequence[Verdict] | None, out: Path) -> str:
    """results.json and results.md in ``out``; returns the markdown."""
    rss = ", ".join(f"{mb:.0f}" for mb in sorted(api.worker_rss_mb))
    markdown = "\n\n".join([
        (f"{len(results)} scenarios, {load.duration} s each at {load.connections} connections ({load.threads} wrk "
         f"thread(s)); gunicorn {settings['gunicorn_workers']} workers x {settings['gunicorn_threads']} threads; "
         f"Redis: {settings['redis']}; data set {settings['data_set']}."),
        table(results),
        f"API gunicorn worker RSS after the run (MiB): {rss}",
        verdict_table(verdicts) if verdicts is not None else "Targets not checked (--smoke).",
    ])
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.md").write_text(markdown + "\n")
    (out / "results.json").write_text(json.dumps({
        "machine": {"cpus": len(os.sched_getaffinity(0)), "platform": platform.platform(),
                    "python": platform.python_version()},
        "load": asdict(load), "settings": settings,
        "scenarios": [asdict(r) for r in results], "worker_rss_mb": api.worker_rss_mb,
        "targets": [asdict(v) for v in verdicts] if verdicts is not None else None,
    }, indent=2) + "\n")
    return markdown


# --------------------------------------------------------------------------- the command


def _terminated(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds through the ExitStack, which stops every server


def missing_tools() -> list[str]:
    return [name for name, found in (("wrk", scenarios.wrk_path()), ("initdb/pg_ctl", servers.pg_bin_dir()))
            if found is None]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny data set, short runs, no targets")
    parser.add_argument("--duration", type=int, help="seconds per scenario (default 15; 1 with --smoke)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (default 16)")
    parser.add_argument("--threads", type=int, choices=(1, 2), default=1, help="wrk threads (default 1)")
    parser.add_argument("--timeout", type=int, help="give up (and clean up) after this many seconds")
    parser.add_argument("--out", type=Path, default=OUT, help=f"where results.json and results.md go ({OUT})")
    parser.add_argument("--seeded", nargs=2, metavar=("DATABASE_URL", "SUMMARY"),
                        help="measure on a database python -m bench.seed filled (the app's role; its superuser is "
                             "'postgres' on the same server) instead of a throwaway one; the runs write to it")
    args = parser.parse_args(argv)
    if missing := missing_tools():
        parser.error(f"missing {', '.join(missing)} (Debian: apt-get install wrk postgresql)")
    mode = SMOKE if args.smoke else FULL
    load = Load(args.duration or mode.duration, args.connections, args.threads)
    signal.signal(signal.SIGTERM, _terminated)
    with time_limit(args.timeout or mode.timeout, "bench.run"), ExitStack() as stack:
        workdir = Path(tempfile.mkdtemp(prefix="grc-bench-run-"))
        stack.callback(shutil.rmtree, workdir, ignore_errors=True)
        seeded = (args.seeded[0], Path(args.seeded[1])) if args.seeded else None
        results, api, settings = run(mode, load, workdir, stack, seeded)
    verdicts = None if args.smoke else scenarios.check_targets(results, api.worker_rss_mb, load.connections)
    print("\n" + report(results, api, settings, load, verdicts, args.out), flush=True)
    return 1 if any(r.errors or not r.requests for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
