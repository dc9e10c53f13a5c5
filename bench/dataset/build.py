"""The whole data set: plan it, write the platform and each CB's history through one ``COPY`` loader in one
transaction, build the indexes and constraints back, ``VACUUM ANALYZE``, and report per-table timings with the
summary the load runner reads (who to log in as, an id or number for each request kind)."""
from __future__ import annotations

import random
import sys
import time
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any

import psycopg

from bench.dataset.clients import ClientStory
from bench.dataset.clock import MINUTE, Ids, moment
from bench.dataset.database import check_role, libpq_url, prepare_tables, restore_constraints
from bench.dataset.loader import Loader, TableStats
from bench.dataset.plan import HISTORY_DAYS, CbPlan, plan_cbs, plan_client, plan_quotas
from bench.dataset.risks import RegisterStory
from bench.dataset.sizes import Sizes
from bench.dataset.story import Picks, Run
from bench.dataset.tenants import Office, user_row
from bench.dataset.trail import SYSTEM, Actor, Chain, Recorder, stamped, user
from grc.auth.passwords import hash_secret

PASSWORD = "grc-bench-password-2026"  # every user's: the load runner logs in with it


def open_platform(run: Run) -> tuple[Actor, str]:
    """``ensure_platform_admin``: the platform tenant and its admin, who creates the CBs."""
    rec, when = run.rec, moment(run.today - timedelta(days=HISTORY_DAYS + 500), 9.0)
    tenant_id, admin_id = rec.ids.new(when), rec.ids.new(when + MINUTE)
    chain, email = Chain(tenant_id), "admin@platform.bench.invalid"
    rec.created(chain, "tenants", stamped({"kind": "platform", "name": "grc platform", "slug": "platform",
                                           "country": "DE", "sites": [], "timezone": "UTC",
                                           "address_needs_review": False},
                                          tenant_id, when, when), when, SYSTEM)
    rec.created(chain, "users", stamped(user_row(tenant_id, email, "Platform administrator", ["platform_admin"],
                                                 run.password_hash), admin_id, when + MINUTE, when + MINUTE),
                when + MINUTE, ("cli", None))
    rec.close_chain(chain)
    return user(admin_id), email


def write_cb(run: Run, cb: CbPlan, platform_admin: Actor) -> None:
    """A CB's whole history in time order, then its clients' registers, then every chain head and counter."""
    office = Office(run, cb, platform_admin)
    if cb.index < 2:
        run.picks.cbs.append(office.card())
    stories = [ClientStory(office, plan_client(index, run.quotas.certificates[index], run.today, run.seed,
                                               forced=index == 0)) for index in cb.clients]
    office.sched.run()
    for story in stories:
        risks = run.quotas.risks.get(story.plan.index)
        if risks is not None:
            RegisterStory(story, risks).write()
        run.rec.close_chain(story.chain)
    office.close()


@dataclass
class Report:
    """What was written, how fast, and what the load runner needs."""

    summary: dict[str, Any]
    tables: dict[str, TableStats]
    seconds: dict[str, float]

    def lines(self) -> list[str]:
        """Per table: rows, MB of COPY text, seconds spent in COPY and rows per second; then the phases."""
        lines = [f"{'table':<26} {'rows':>12} {'MB':>8} {'COPY s':>8} {'rows/s':>10} {'index+check s':>14}"]
        for name, stats in self.tables.items():
            if stats.rows:
                lines.append(f"{name:<26} {stats.rows:>12,} {stats.bytes / 2**20:>8.0f} {stats.seconds:>8.1f} "
                             f"{stats.rows / max(stats.seconds, 1e-9):>10,.0f} {stats.build_seconds:>14.1f}")
        rows = sum(stats.rows for stats in self.tables.values())
        lines.append(f"{'total':<26} {rows:>12,} {sum(s.bytes for s in self.tables.values()) / 2**20:>8.0f} "
                     f"{sum(s.seconds for s in self.tables.values()):>8.1f} "
                     f"{rows / max(self.seconds['write'], 1e-9):>10,.0f} "
                     f"{sum(s.build_seconds for s in self.tables.values()):>14.1f}")
        lines.append("rows/s of the total: over the whole write phase (generation and COPY overlap)")
        lines.append("phases (s): " + ", ".join(f"{name} {value:.1f}" for name, value in self.seconds.items()))
        return lines


def build(database_url: str, sizes: Sizes, *, seed: int, today: date, progress: bool = True) -> Report:
    """Plan, write in one transaction with COPY, then ``VACUUM ANALYZE``; the report holds the summary."""
    sizes.check()
    clock = {"start": time.perf_counter()}
    rng = random.Random(seed)
    cbs = plan_cbs(sizes, rng)
    quotas = plan_quotas(sizes, cbs, today, seed, rng)
    clock["plan"] = time.perf_counter()
    with psycopg.connect(libpq_url(database_url)) as conn:
        check_role(conn)
        deferred = prepare_tables(conn)
        loader = Loader(conn)
        run = Run(Recorder(loader, Ids(random.Random(f"{seed}/ids"))), today, seed, hash_secret(PASSWORD), quotas,
                  Picks())
        try:
            platform_admin, platform_email = open_platform(run)
            for cb in cbs:
                write_cb(run, cb, platform_admin)
                if progress and (cb.index < 2 or cb.index % 100 == 99):
                    print(f"  {cb.index + 1}/{len(cbs)} CBs written ({time.perf_counter() - clock['start']:.0f} s)",
                          file=sys.stderr, flush=True)
        except BaseException:
            loader.abandon()
            raise
        loader.close()
        clock["write"] = time.perf_counter()
        restore_constraints(conn, deferred, loader.stats)
    clock["constraints"] = time.perf_counter()
    with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    clock["vacuum"] = time.perf_counter()
    seconds = {"plan": clock["plan"] - clock["start"], "write": clock["write"] - clock["plan"],
               "indexes_and_constraints": clock["constraints"] - clock["write"],
               "vacuum_analyze": clock["vacuum"] - clock["constraints"], "total": clock["vacuum"] - clock["start"]}
    return Report(_summary(run, sizes, platform_email, loader.stats, seconds), loader.stats, seconds)


def _summary(run: Run, sizes: Sizes, platform_email: str, tables: dict[str, TableStats],
             seconds: dict[str, float]) -> dict[str, Any]:
    """The JSON the load runner reads: who to log in as, and an id, number or version for each request kind."""
    picks = run.picks
    return {
        "seed": run.seed, "today": run.today.isoformat(), "password": PASSWORD, "sizes": asdict(sizes),
        "rows": {name: stats.rows for name, stats in tables.items() if stats.rows},
        "seconds": {name: round(value, 1) for name, value in seconds.items()},
        "platform_admin_email": platform_email,
        "big_cb": picks.cbs[0], "small_cb": picks.cbs[1], "big_register": picks.register, "risk": picks.risk,
        "audit_in_progress": picks.audit and {**picks.audit, "cb_slug": picks.cbs[0]["slug"]},
        "finding": picks.finding or picks.any_finding, "certificate": picks.certificate, "licence": picks.licence,
    }
