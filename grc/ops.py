"""Operations: request ids, JSON logs, health and readiness, Prometheus metrics, Swagger UI assets."""
from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from typing import Any

import swagger_ui_bundle
from flask import Blueprint, Flask, Response, g, request, send_from_directory
from prometheus_client import CollectorRegistry, PlatformCollector, ProcessCollector
from prometheus_flask_exporter import PrometheusMetrics
from sqlalchemy import text

from grc.extensions import db

REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
ops = Blueprint("ops", __name__)


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the request id when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("request_id", "method", "path", "status", "duration_ms", "message_id", "error"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


def install_request_ids(app: Flask) -> None:
    access = logging.getLogger("grc.access")

    @app.before_request
    def _request_id() -> None:
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if REQUEST_ID.match(incoming) else uuid.uuid4().hex
        g.started = time.perf_counter()

    @app.after_request
    def _echo(response: Response) -> Response:
        request_id = g.get("request_id")
        if request_id:
            response.headers["X-Request-ID"] = request_id
            access.info(
                "request",
                extra={
                    "request_id": request_id,
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - g.started) * 1000, 2),
                },
            )
        return response


@ops.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@ops.get("/readyz")
def readyz() -> tuple[dict[str, Any], int]:
    """The database and (when configured) Redis answer; load balancers route traffic only when ready."""
    from flask import current_app

    from grc.jobs import redis_connection

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
    from rq import Worker
    from rq.registry import FailedJobRegistry

    from grc.jobs import get_queue

    queue = get_queue(app)
    alive = Worker.all(queue=queue)
    failed = FailedJobRegistry(queue=queue).count
    state = f"{len(alive)} alive" if alive else "none alive: jobs wait in the queue"
    return f"{state}; {queue.count} queued; {failed} failed"


@ops.get("/docs/static/<path:filename>")
def swagger_assets(filename: str) -> Response:
    """Swagger UI's files from the swagger-ui-bundle package: the docs page needs no CDN."""
    return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename)


def install_metrics(app: Flask) -> None:
    """Prometheus metrics at /metrics (request counts and latency by endpoint).

    Each app gets its own registry: the global one refuses a second app's collectors in the same process
    (tests, CLI). Under gunicorn with ``PROMETHEUS_MULTIPROC_DIR`` the exporter aggregates all workers' files.
    """
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    app.extensions["grc.metrics"] = PrometheusMetrics(
        app, registry=registry, group_by="endpoint", excluded_paths=["^/metrics$", "^/healthz$", "^/readyz$"]
    )
