"""Isolation victims of jobs: a sweep run cb-a's admin started, and the sweeps' names."""
from __future__ import annotations

import uuid

from flask import Flask

from tests.isolation.registry import CB_ONLY, Victim, victims
from tests.world import World, act_as


@victims("run_id")
def run_victims(app: Flask, _world: World) -> list[Victim]:
    """A sweep run that cb-a's admin started (an RQ job carrying its tenant)."""
    from grc.jobs.sweep_runs import run_now

    with app.app_context():
        act_as("cb_admin@cb-a.test")
        run = run_now("certificate-expiry", None)
    return [Victim("run_id", "cb-a's sweep run", uuid.UUID(run.id), CB_ONLY)]


@victims("name")
def sweep_victims(_app: Flask, world: World) -> list[Victim]:
    """Sweep names are a global catalogue, not a resource: everyone may name one, and a run touches only the
    caller's tenant (tests/test_reminders.py proves cb-b's run leaves cb-a's certificates alone)."""
    everyone = frozenset(world.tenants) | {"platform"}
    return [Victim("name", "the expiry-reminders sweep", "expiry-reminders", everyone)]  # type: ignore[arg-type]
