"""The daily sweep's cost tracks what is due, not the table size (DESIGN.md J3): measured, not argued.

For each size, on a throwaway PostgreSQL (127.0.0.1, stopped and deleted at the end): empty the tables, seed
the size with the SAME certificates due (bench/seed.py), ``VACUUM ANALYZE``, then time every sweep of
``grc.jobs.job_functions.daily_sweeps`` on its own, twice: the first run does the work, the second finds it done (J3's
idempotent re-run). The outbox relay runs in-process after each batch's commit (embedded jobs, no Redis), so
the times include fanning the events out into notifications, as production work does. The ratio of the largest
size to the smallest is the result: near 1 when the cost tracks what is due, near the size ratio when it scans.

    python -m bench.sweep                       # 10,000 and 1,000,000 certificates, 1,000 due per group
    python -m bench.sweep --quick               # 2,000 and 20,000 with 100 due: a smoke run
    python -m bench.sweep --sizes 10000 100000 --due 500
"""
from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import Flask
from sqlalchemy import event, text
from sqlalchemy.engine import Engine

from bench.seed import seed
from bench.time_limit import time_limit
from grc.db import utcnow
from grc.jobs.daily_sweeps import SWEEPS
from grc.jobs.job_functions import daily_sweeps
from tests import servers
from tests.conftest import reset_database

SIZES = (10_000, 1_000_000)
DUE = 1_000
QUICK_SIZES, QUICK_DUE = (2_000, 20_000), 100
TIMEOUT_SECONDS = 1800


@dataclass(frozen=True)
class Timing:
    done: int  # subjects the sweep changed or reminded
    seconds: float


@dataclass(frozen=True)
class Measurement:
    size: int  # certificates in the table
    due: int
    seed_seconds: float
    table_mb: float
    first: dict[str, Timing]
    second: dict[str, Timing]

    def total(self, run: dict[str, Timing]) -> float:
        return sum(timing.seconds for timing in run.values())


# --------------------------------------------------------------------------- the server and the app


SECRET_KEY = "bench-" + "x" * 40  # the apps' (tenant scopes are proven with a key derived from it)
KEY_ENCRYPTION_KEY = "bench-kek-" + "k" * 40  # seals the CBs' signing keys (production demands one)


@contextmanager
def throwaway_postgres() -> Iterator[str]:
    """The test suite's throwaway PostgreSQL (tests/servers.py), without Redis: the owner's URL of a database migrated
    for apps with ``SECRET_KEY`` (``servers.as_api_role`` gives the API role's URL)."""
    with servers.own_postgres("grc_bench", secret_key=SECRET_KEY) as (_, url):
        yield url


def make_app(database_url: str) -> Flask:
    from grc.app import create_app

    return create_app(env="test", database_url=database_url, redis_url="", secret_key=SECRET_KEY,
                      log_level="WARNING")


def engine_of(app: Flask) -> Engine:
    return app.extensions["grc.db"][0]


def superuser_url(engine: Engine) -> str:
    """The app's database as the throwaway server's superuser, who may COPY past row-level security."""
    return engine.url.set(username="postgres", password=None).render_as_string(hide_password=False)


def vacuum_analyze(engine: Engine) -> None:
    """Fresh statistics and visibility map, as autovacuum would have them on a table that old."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")


def table_mb(engine: Engine) -> float:
    with engine.connect() as conn:
        return conn.scalar(text("SELECT pg_total_relation_size('certificates')")) / 2**20


# --------------------------------------------------------------------------- measuring


def run_sweeps(app: Flask, today: date) -> dict[str, Timing]:
    """Every sweep on its own (``daily_sweeps(names=[name])``), timed; together they are one daily run."""
    timings = {}
    with app.app_context():
        for name in SWEEPS:
            start = time.perf_counter()
            done = daily_sweeps(today.isoformat(), names=[name])[name]
            timings[name] = Timing(done, time.perf_counter() - start)
    return timings


@contextmanager
def expiry_plan(engine: Engine) -> Iterator[list[str]]:
    """EXPLAIN ANALYZE the first page the certificate-expiry sweep selects, on the sweep's own connection just
    before the sweep sends it (so it sees the due rows, with the sweep's parameters and row-level security)."""
    plans: list[str] = []

    def explain(_conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if not plans and "FROM certificates" in statement and "expiry_date <" in statement:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", parameters)
            plans.append("\n".join(row[0] for row in cursor.fetchall()))

    event.listen(engine, "before_cursor_execute", explain)
    try:
        yield plans
    finally:
        event.remove(engine, "before_cursor_execute", explain)


def check(measurement: Measurement, expected: dict[str, int]) -> None:
    """A benchmark of the wrong work is worse than none: the first run must do exactly what was seeded due,
    the second nothing."""
    first = {name: timing.done for name, timing in measurement.first.items()}
    second = {name: timing.done for name, timing in measurement.second.items()}
    if first != {name: expected.get(name, 0) for name in SWEEPS} or any(second.values()):
        raise RuntimeError(f"size {measurement.size}: first run did {first}, second {second}; expected {expected}")


def measure(app: Flask, size: int, due: int, today: date) -> tuple[Measurement, str]:
    """Reset, seed, vacuum, and run the sweeps twice at one size; also the plan of the expiry selection."""
    engine = engine_of(app)
    reset_database(app)
    start = time.perf_counter()
    seeded = seed(superuser_url(engine), certificates=size, due=due, today=today)
    seed_seconds = time.perf_counter() - start
    vacuum_analyze(engine)
    with expiry_plan(engine) as plans:
        first = run_sweeps(app, today)
    second = run_sweeps(app, today)
    measurement = Measurement(size, due, seed_seconds, table_mb(engine), first, second)
    check(measurement, seeded.due)
    return measurement, plans[0]


# --------------------------------------------------------------------------- reporting


def report(measurements: list[Measurement]) -> str:
    """Per sweep: subjects done and seconds of the first and second run at each size, and the largest size's
    first-run time over the smallest's."""
    base, top = measurements[0], measurements[-1]
    header = f"{'sweep':<26}" + "".join(f" | {m.size:>11,} done  1st s  2nd s" for m in measurements) + " | ratio 1st"
    lines = [header, "-" * len(header)]
    for name in SWEEPS:
        cells = "".join(f" | {m.first[name].done:>16} {m.first[name].seconds:6.2f} {m.second[name].seconds:6.2f}"
                        for m in measurements)
        lines.append(f"{name:<26}{cells} | {_ratio(top.first[name].seconds, base.first[name].seconds)}")
    totals = "".join(f" | {sum(t.done for t in m.first.values()):>16} {m.total(m.first):6.2f} {m.total(m.second):6.2f}"
                     for m in measurements)
    lines.append(f"{'total':<26}{totals} | {_ratio(top.total(top.first), base.total(base.first))}")
    lines.append("")
    for m in measurements:
        done = sum(t.done for t in m.first.values())
        lines.append(f"{m.size:>11,} certificates, {m.due} due per group: seeded in {m.seed_seconds:.1f} s, "
                     f"certificates + indexes {m.table_mb:.0f} MB, {1000 * m.total(m.first) / max(done, 1):.2f} ms "
                     f"per subject done")
    lines.append(f"RATIO total first run {top.size} vs {base.size} certificates: "
                 f"{top.total(top.first) / base.total(base.first):.2f}x (second run "
                 f"{top.total(top.second) / base.total(base.second):.2f}x; size ratio {top.size / base.size:.0f}x)")
    return "\n".join(lines)


def _ratio(value: float, base: float) -> str:
    return f"{value / base:9.2f}" if base >= 0.05 else f"{'-':>9}"  # under 50 ms: noise, not a ratio


# --------------------------------------------------------------------------- the command


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sweep", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=SIZES, help="certificates per run, smallest first")
    parser.add_argument("--due", type=int, default=DUE, help="certificates due for each of three sweeps")
    parser.add_argument("--quick", action="store_true", help=f"sizes {QUICK_SIZES} with {QUICK_DUE} due (smoke run)")
    parser.add_argument("--today", type=date.fromisoformat, default=utcnow().date(), help="the sweeps' day (ISO)")
    parser.add_argument("--timeout", type=int, default=TIMEOUT_SECONDS, help="give up after this many seconds")
    args = parser.parse_args(argv)
    sizes, due = (QUICK_SIZES, QUICK_DUE) if args.quick else (sorted(args.sizes), args.due)
    with time_limit(args.timeout, "bench.sweep"), throwaway_postgres() as url:
        app = make_app(url)
        measurements = []
        for size in sizes:
            print(f"measuring {size:,} certificates, {due} due per group ...", flush=True)
            measurement, plan = measure(app, size, due, args.today)
            measurements.append(measurement)
        engine_of(app).dispose()
    print(f"\nThe certificate-expiry sweep's first page at {sizes[-1]:,} certificates:\n{plan}\n")
    print(report(measurements), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
