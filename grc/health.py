"""Liveness and readiness for load balancers and orchestrators: ``/healthz`` (the process answers) and
``/readyz`` (the database and Redis answer; workers and the queue are reported)."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app
from rq import Worker
from rq.registry import FailedJobRegistry
from sqlalchemy import text

from grc.extensions import db
from grc.jobs.queue import get_queue
from grc.redis_connection import redis_connection

health = Blueprint("health", __name__)


@health.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@health.get("/readyz")
def readyz() -> tuple[dict[str, Any], int]:
    """The database and (when configured) Redis answer; load balancers route traffic only when ready."""
    checks: dict[str, str] = {}
    try:
        db.session.execute(text("SELECT 1"))
        db.session.rollback()
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - readiness reports, never raises
        checks["database"] = f"error: {type(exc).__name__}"
    settings = current_app.config["GRC_SETTINGS"]
    if settings.uses_redis:
        try:
            redis_connection(current_app).ping()
            checks["redis"] = "ok"
            checks["workers"] = _worker_health(current_app)
        except Exception as exc:  # noqa: BLE001
            checks["redis"] = f"error: {type(exc).__name__}"
    else:
        checks["redis"] = "not configured (jobs run in-process)"
    ready = all(checks[name] == "ok" or checks[name].startswith("not configured") for name in ("database", "redis"))
    return {"status": "ready" if ready else "not ready", "checks": checks}, 200 if ready else 503


def _worker_health(app: Any) -> str:
    """Workers alive on our queue, its backlog and failed jobs. Reported, not required: the API serves without
    workers, and what they would do waits in the queue and the database (alert on it from the monitoring)."""
    queue = get_queue(app)
    alive = Worker.all(queue=queue)
    failed = FailedJobRegistry(queue=queue).count
    state = f"{len(alive)} alive" if alive else "none alive: jobs wait in the queue"
    return f"{state}; {queue.count} queued; {failed} failed"
