"""Running a sweep now for the caller's tenant (J1), and reading that run back from the job queue.

A run is an RQ job carrying its tenant in ``meta``; the path loader answers 404 for another tenant's run, so
run ids cannot be probed. In the embedded mode the queue runs the job at once, in-process.
"""
from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from redis.exceptions import RedisError
from rq.exceptions import NoSuchJobError
from rq.job import Job

from grc import tenancy
from grc.db import new_id, utcnow
from grc.errors import InvalidField, NotFound, Unavailable
from grc.extensions import db
from grc.jobs import daily_sweeps, job_functions
from grc.jobs.queue import get_queue
from grc.redis_connection import redis_connection
from grc.tenants.models import Tenant

RUN_TTL_SECONDS = 7 * 24 * 3600
RUN_TIMEOUT_SECONDS = 3600


def catalogue() -> list[dict[str, str]]:
    return [{"name": sweep.name, "summary": sweep.summary} for sweep in daily_sweeps.SWEEPS.values()]


def run_now(name: str, today: date | None) -> Job:
    """Queue sweep ``name`` for the caller's tenant; ``today`` may repeat a past day, never anticipate one."""
    if name not in daily_sweeps.SWEEPS:
        raise NotFound(f"No sweep named '{name}'.")
    principal = tenancy.current()
    tenant = db.session.get(Tenant, principal.tenant_id)
    local_today = utcnow().astimezone(ZoneInfo(tenant.timezone if tenant else "UTC")).date()
    if today is not None and today > local_today:
        raise InvalidField("today", f"must not be later than the tenant's date ({local_today.isoformat()})")
    db.session.commit()  # the run (in-process in the embedded mode) must not wait on this request's transaction
    try:
        return get_queue(current_app).enqueue(
            job_functions.daily_sweeps, (today or local_today).isoformat(), str(principal.tenant_id), [name],
            job_id=str(new_id()), job_timeout=RUN_TIMEOUT_SECONDS, result_ttl=RUN_TTL_SECONDS,
            failure_ttl=RUN_TTL_SECONDS, meta={"tenant_id": str(principal.tenant_id), "name": name,
                                               "requested_by": str(principal.actor_id)},
        )
    except RedisError as exc:
        raise Unavailable("The job queue is unavailable; try again shortly.") from exc


@tenancy.path_resource("run_id")
def visible_run(run_id: uuid.UUID) -> Job | None:
    try:
        job = Job.fetch(str(run_id), connection=redis_connection(current_app))
    except NoSuchJobError:
        return None
    return job if job.meta.get("tenant_id") == str(tenancy.current().tenant_id) else None


def describe(job: Job) -> dict[str, Any]:
    status = job.get_status(refresh=True)
    return {"id": job.id, "name": job.meta["name"], "tenant_id": job.meta["tenant_id"],
            "status": getattr(status, "value", status), "result": job.return_value(refresh=True),
            "enqueued_at": _aware(job.enqueued_at), "ended_at": _aware(job.ended_at)}


def _aware(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment
