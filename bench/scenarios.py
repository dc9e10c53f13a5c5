"""The load runner's scenarios (bench/run.py): what wrk sends, how a run is read back, and the targets.

Every scenario is one wrk run with a generated Lua script. The script counts every answer that is not 2xx (wrk
itself counts only >= 400) and prints one ``BENCH_RESULT {json}`` line from ``done()``: requests, duration,
p50 and p99 from wrk's latency histogram, non-2xx answers and socket errors. Scripts that write rotate over a
prepared pool (partitioned between wrk threads) and learn each item's next state from its own answers, so a
run never sends a transition the item is not ready for: a pool much larger than the connections keeps every
item's previous request finished before the item comes round again.
"""
from __future__ import annotations

import json
import shutil
import statistics
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import floors

FLOOR_A, FLOOR_B, API = "floor_a", "floor_b", "api"
# Target groups (see check_targets): which floor a scenario's throughput is held against, and how.
LIST, PUBLIC, CREATE, REPORT, FLOOR = "list", "public", "create", "report", "floor"
RESULT_MARK = "BENCH_RESULT "
JSON_HEADERS = {"Content-Type": "application/json"}


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    server: str  # FLOOR_A, FLOOR_B or API
    method: str
    group: str | None  # LIST, PUBLIC, CREATE, REPORT, FLOOR or None (p99 only, for reads)
    lua: str


@dataclass(frozen=True)
class Result:
    name: str
    title: str
    server: str
    method: str
    group: str | None
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int  # non-2xx answers and socket errors (connect, read, write, timeout)

    @property
    def is_read(self) -> bool:
        return self.method == "GET"


@dataclass(frozen=True)
class Load:
    """How hard and how long wrk drives each scenario."""

    duration: int  # seconds
    connections: int
    threads: int


@dataclass(frozen=True)
class Verdict:
    target: str
    passed: bool
    detail: str


# --------------------------------------------------------------------------- Lua


def lua(value: Any) -> str:
    """A Python value as a Lua literal. Strings become byte escapes where needed: LuaJIT has no \\u escapes."""
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return '"' + "".join(chr(b) if 32 <= b < 127 and b not in (34, 92) else f"\\{b:03d}"
                             for b in value.encode()) + '"'
    if isinstance(value, dict):
        return "{" + ", ".join(f"[{lua(k)}] = {lua(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "{" + ", ".join(lua(v) for v in value) + "}"
    raise TypeError(f"no Lua literal for {type(value).__name__}")


# setup() runs in wrk's main Lua state once per thread, just before that thread's init(); done() runs there too.
COMMON = """
local threads = {}
function setup(thread)
  thread:set("thread_index", #threads)
  table.insert(threads, thread)
end

non2xx = 0
local function count(status)
  if status < 200 or status > 299 then non2xx = non2xx + 1 end
end

local function mine(items)
  local own = {}
  for i, item in ipairs(items) do
    if (i - 1) % THREADS == thread_index then table.insert(own, item) end
  end
  return own
end

local function with(headers, extra)
  local merged = {}
  for k, v in pairs(headers) do merged[k] = v end
  for k, v in pairs(extra) do merged[k] = v end
  return merged
end

function done(summary, latency, requests)
  local bad = 0
  for _, thread in ipairs(threads) do bad = bad + thread:get("non2xx") end
  local e = summary.errors
  io.write(string.format('%s{"requests":%d,"duration_us":%d,"p50_us":%.0f,"p99_us":%.0f,"non2xx":%d,"socket":%d}\\n',
    RESULT_MARK, summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), bad,
    e.connect + e.read + e.write + e.timeout))
end
"""

STATIC = """
local request_text
function init(args)
  request_text = wrk.format(METHOD, PATH, HEADERS, BODY)
end
function request() return request_text end
function response(status, headers, body) count(status) end
"""

# implementation (client) -> implemented, verification not effective (auditor) -> plan_accepted, and round again.
# A finding whose step is still in flight is skipped, as RISK_PATCH skips a risk: its state is about to change, and a
# second step would rightly get 409 (on a slow machine a request outlived a pass over the pool: the CI smoke failed).
FINDING_CYCLE = """
local pool, state, busy, turn = {}, {}, {}, 0
function init(args)
  pool = mine(FINDINGS)
  for _, f in ipairs(pool) do state[f.number] = "plan_accepted" end
end
function request()
  repeat turn = turn % #pool + 1 until not busy[pool[turn].number]
  local f = pool[turn]
  busy[f.number] = true
  if state[f.number] == "implemented" then
    return wrk.format("POST", "/api/v1/findings/" .. f.id .. "/verification", VERIFIER, VERIFY_BODY)
  end
  return wrk.format("POST", "/api/v1/findings/" .. f.id .. "/implementation", RESPONDENT, IMPLEMENT_BODY)
end
function response(status, headers, body)
  count(status)
  local number, now = body:match('"number": ?"([^"]+)"'), body:match('"status": ?"([%w_]+)"')
  if number then state[number], busy[number] = now, nil end
end
"""


# PATCH with the ETag of the risk's previous answer ("reference" is the one key unique to a risk's top level). A risk
# whose PATCH is still in flight is skipped: its ETag is about to change, and a second PATCH would rightly get 412
# (on a slow machine a request outlived a pass over the pool, and the smoke run failed for it).
RISK_PATCH = """
local pool, etags, busy, turn, edits = {}, {}, {}, 0, 0
function init(args)
  pool = mine(RISKS)
  for _, r in ipairs(pool) do etags[r.reference] = r.etag end
end
function request()
  repeat turn = turn % #pool + 1 until not busy[pool[turn].reference]
  edits = edits + 1
  local r = pool[turn]
  busy[r.reference] = true
  local body = string.format('{"title":"%s edited %d-%d"}', r.reference, thread_index, edits)
  return wrk.format("PATCH", "/api/v1/risks/" .. r.id, with(HEADERS, {["If-Match"] = etags[r.reference]}), body)
end
function response(status, headers, body)
  count(status)
  local reference = body:match('"reference": ?"([^"]+)"')
  if reference then etags[reference], busy[reference] = headers["ETag"] or headers["Etag"], nil end
end
"""


def script(body: str, threads: int, **constants: Any) -> str:
    """A complete wrk script: the constants, the shared part, then the scenario's functions."""
    header = "".join(f"{name} = {lua(value)}\n" for name, value in
                     {"THREADS": threads, "RESULT_MARK": RESULT_MARK, **constants}.items())
    return header + COMMON + body


def static(method: str, path: str, headers: dict[str, str], threads: int, body: Any = None) -> str:
    return script(STATIC, threads, METHOD=method, PATH=path, HEADERS=headers,
                  BODY=None if body is None else json.dumps(body))


# --------------------------------------------------------------------------- the scenarios


def bearer(token: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **(extra or {})}


def floor_scenarios(threads: int) -> list[Scenario]:
    return [
        Scenario("floor_a", "floor (a): bare Flask JSON", FLOOR_A, "GET", FLOOR,
                 static("GET", floors.BARE_PATH, {}, threads)),
        Scenario("floor_b", "floor (b): smorest + ORM, 20 rows", FLOOR_B, "GET", FLOOR,
                 static("GET", floors.ORM_PATH, {}, threads)),
    ]


@dataclass(frozen=True)
class Prepared:
    """Everything the API scenarios send, fetched from the running API and the database just before the run."""

    tokens: dict[str, str]  # by role key: large_cb, small_cb, auditor, client_admin, risk_manager
    sizes: dict[str, int]  # certificates_large, certificates_small, risks
    deep_cursor: str
    public_certificate: tuple[str, str]  # CB slug, certificate number
    licence_number: str
    audit_id: str
    register_id: str
    findings: list[dict[str, str]]  # id, number: each in plan_accepted
    risks: list[dict[str, str]]  # id, reference, etag


FINDING_BODY = {"grade": "minor", "clause": "8.5", "requirement": "ISO 9001 8.5.1 Control of production",
                "evidence": "Sampled 5 orders; 2 lacked release records.", "statement": "Release not documented."}
IMPLEMENT_BODY = {"implementation_evidence": "Release checklist in use since the last audit."}
VERIFY_BODY = {"effective": False, "comment": "Two new orders still lack release records."}


def api_scenarios(p: Prepared, threads: int) -> list[Scenario]:
    """The API's scenarios, reads first, then the writes (which leave rows behind)."""
    large, small = f"{p.sizes['certificates_large']:,}", f"{p.sizes['certificates_small']:,}"
    certificates = "/api/v1/certificates?limit=20"
    slug, number = p.public_certificate

    def get(name: str, title: str, path: str, role: str | None, group: str | None) -> Scenario:
        return Scenario(name, title, API, "GET", group,
                        static("GET", path, bearer(p.tokens[role]) if role else {}, threads))

    return [
        get("me", "GET /me", "/api/v1/me", "large_cb", None),
        get("certificates_first_large", f"GET /certificates first page ({large})", certificates, "large_cb", LIST),
        get("certificates_deep_large", f"GET /certificates deep page ({large})",
            f"{certificates}&cursor={p.deep_cursor}", "large_cb", LIST),
        get("certificates_first_small", f"GET /certificates first page ({small})", certificates, "small_cb", LIST),
        get("risks_above_appetite", f"GET /risks?above_appetite=true ({p.sizes['risks']:,})",
            "/api/v1/risks?above_appetite=true&limit=20", "risk_manager", LIST),
        get("heatmap", f"GET heat map ({p.sizes['risks']:,} risks)", f"/api/v1/risk-registers/{p.register_id}/heatmap",
            "risk_manager", REPORT),
        get("kpis", "GET /kpis", "/api/v1/kpis", "risk_manager", REPORT),
        get("public_certificate", "GET public certificate check", f"/api/v1/public/certificates/{slug}/{number}",
            None, PUBLIC),
        get("public_credential", "GET certificate credential (vc+jwt)",
            f"/api/v1/public/certificates/{slug}/{number}/credential", None, PUBLIC),
        get("status_list", "GET status list (vc+jwt)", f"/api/v1/public/cbs/{slug}/status-lists/suspension", None,
            PUBLIC),
        get("badge", "GET badge SVG", f"/badges/{p.licence_number}.svg", None, PUBLIC),
        Scenario("finding_create", "POST /audits/{id}/findings", API, "POST", CREATE,
                 static("POST", f"/api/v1/audits/{p.audit_id}/findings", bearer(p.tokens["auditor"], JSON_HEADERS),
                        threads, FINDING_BODY)),
        Scenario("finding_transition", "POST finding implementation / verification", API, "POST", None,
                 script(FINDING_CYCLE, threads, FINDINGS=p.findings,
                        RESPONDENT=bearer(p.tokens["client_admin"], JSON_HEADERS),
                        VERIFIER=bearer(p.tokens["auditor"], JSON_HEADERS),
                        IMPLEMENT_BODY=json.dumps(IMPLEMENT_BODY), VERIFY_BODY=json.dumps(VERIFY_BODY))),
        Scenario("risk_patch", "PATCH /risks/{id} with If-Match", API, "PATCH", None,
                 script(RISK_PATCH, threads, RISKS=p.risks, HEADERS=bearer(p.tokens["risk_manager"], JSON_HEADERS))),
    ]


# --------------------------------------------------------------------------- running wrk


def wrk_path() -> str | None:
    return shutil.which("wrk")


def run_wrk(scenario: Scenario, base_url: str, load: Load, workdir: Path) -> Result:
    """One bounded wrk run of ``scenario`` against ``base_url``; its Lua ``done()`` line, read back."""
    path = workdir / f"{scenario.name}.lua"
    path.write_text(scenario.lua)
    command = [wrk_path() or "wrk", "--threads", str(load.threads), "--connections", str(load.connections),
               "--duration", f"{load.duration}s", "--timeout", "5s", "--latency", "--script", str(path), base_url]
    done = subprocess.run(command, capture_output=True, text=True, timeout=load.duration + 60, check=True)
    line = next((line for line in done.stdout.splitlines() if line.startswith(RESULT_MARK)), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result for {scenario.name}:\n{done.stdout}\n{done.stderr}")
    raw = json.loads(line.removeprefix(RESULT_MARK))
    seconds = raw["duration_us"] / 1e6
    return Result(scenario.name, scenario.title, scenario.server, scenario.method, scenario.group, raw["requests"],
                  round(seconds, 2), round(raw["requests"] / seconds, 1), raw["p50_us"] / 1000, raw["p99_us"] / 1000,
                  raw["non2xx"] + raw["socket"])


def combine(runs: Sequence[Result]) -> Result:
    """One scenario's rounds as one result: requests and seconds add up, p50 and p99 are the rounds' medians."""
    first = runs[0]
    requests, seconds = sum(r.requests for r in runs), sum(r.seconds for r in runs)
    return Result(first.name, first.title, first.server, first.method, first.group, requests, round(seconds, 2),
                  round(requests / seconds, 1) if seconds else 0.0, statistics.median(r.p50_ms for r in runs),
                  statistics.median(r.p99_ms for r in runs), sum(r.errors for r in runs))


# --------------------------------------------------------------------------- the targets

P99_READ_MS = 50.0
P99_REPORT_MS = 100.0
FLAT_RATIO = 1.5
RSS_MB = 150.0
FLOOR_SHARE = {LIST: (FLOOR_B, 0.60), PUBLIC: (FLOOR_A, 0.50), CREATE: (FLOOR_B, 0.30)}
# Issue 15 item 8: serving a credential or a status list costs about what the public check costs (a cached read).
CHECK, AS_CHEAP_AS_THE_CHECK, WITHIN_OF_THE_CHECK = "public_certificate", ("public_credential", "status_list"), 1.5


def check_targets(results: Sequence[Result], worker_rss_mb: Sequence[float], connections: int) -> list[Verdict]:
    """Every target of issue 7, each a PASS or a MISS with the figures it was decided on."""
    by_name = {r.name: r for r in results}
    verdicts = []
    for r in results:
        if r.group in FLOOR_SHARE:
            floor, share = FLOOR_SHARE[r.group]
            ratio = r.rps / by_name[floor].rps
            verdicts.append(Verdict(f"{r.name} req/s >= {share:.0%} of {floor}", ratio >= share, f"{ratio:.0%}"))
    for name in AS_CHEAP_AS_THE_CHECK:
        if name in by_name and CHECK in by_name:
            ratio = by_name[name].rps / by_name[CHECK].rps
            verdicts.append(Verdict(f"{name} req/s within {WITHIN_OF_THE_CHECK}x of {CHECK}",
                                    ratio >= 1 / WITHIN_OF_THE_CHECK, f"{ratio:.0%}"))
    for r in results:
        if r.server == API and r.is_read:
            verdicts.append(_at_most(f"{r.name} p99 <= {P99_READ_MS:.0f} ms at {connections} connections",
                                     r.p99_ms, P99_READ_MS, "ms"))
    for r in results:
        if r.group == REPORT:
            verdicts.append(_at_most(f"{r.name} p99 <= {P99_REPORT_MS:.0f} ms", r.p99_ms, P99_REPORT_MS, "ms"))
    for one, other in (("certificates_deep_large", "certificates_first_large"),
                       ("certificates_first_large", "certificates_first_small")):
        p99s = by_name[one].p99_ms, by_name[other].p99_ms  # either way round: a small set may be the slow one
        verdicts.append(_at_most(f"p99 {one} vs {other} within {FLAT_RATIO}x", max(p99s) / min(p99s), FLAT_RATIO, "x"))
    verdicts.append(_at_most(f"API worker RSS <= {RSS_MB:.0f} MiB (largest of {len(worker_rss_mb)})",
                             max(worker_rss_mb), RSS_MB, "MiB"))
    return verdicts


def _at_most(target: str, value: float, limit: float, unit: str) -> Verdict:
    return Verdict(target, value <= limit, f"{value:.2f} {unit}")

