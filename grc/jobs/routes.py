"""Background sweeps: what exists, run one now for the caller's tenant, and follow the run (J1)."""
from __future__ import annotations

import uuid
from typing import Any

from grc import tenancy
from grc.api import Blueprint
from grc.auth.models import ADMIN_ROLES
from grc.guard import requires
from grc.jobs import sweep_runs
from grc.jobs.schemas import RunRequestSchema, RunSchema, SweepListSchema

blp = Blueprint("jobs", __name__, url_prefix="/api/v1", description="Daily sweeps: reminders, expiry, deadlines")


@blp.route("/jobs", methods=["GET"])
@requires(*ADMIN_ROLES)
@blp.response(200, SweepListSchema)
def list_sweeps() -> dict[str, Any]:
    """Rule J2: the sweeps the scheduler runs every day on each tenant's local date."""
    return {"items": sweep_runs.catalogue()}


@blp.route("/jobs/<name>/run", methods=["POST"])
@requires(*ADMIN_ROLES)
@blp.arguments(RunRequestSchema)
@blp.response(202, RunSchema)
def run_sweep(data: dict[str, Any], name: str) -> dict[str, Any]:
    """Rule J1: run one sweep now for the caller's tenant only; safe to repeat (J3). Follow it at the returned id."""
    return sweep_runs.describe(sweep_runs.run_now(name, data.get("today")))


@blp.route("/jobs/runs/<uuid:run_id>", methods=["GET"])
@requires(*ADMIN_ROLES)
@blp.response(200, RunSchema)
def get_run(run_id: uuid.UUID) -> dict[str, Any]:
    """Rule J1: the state of a run and, once finished, what it changed or sent."""
    return sweep_runs.describe(tenancy.resolved(sweep_runs.visible_run, run_id))
