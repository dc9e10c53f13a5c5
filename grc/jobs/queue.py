"""RQ wiring (J1): one queue, and job functions that run inside an application context.

With ``GRC_REDIS_URL`` set, jobs go to Redis and ``grc worker`` processes run them; without it (the
embedded default) the same RQ queue runs them in-process and synchronously on an in-memory Redis, so the
code path is the same.
"""
from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from flask import Flask, current_app, has_app_context
from rq import Queue
from rq.exceptions import DuplicateJobError

from grc.extensions import db
from grc.redis_connection import redis_connection
from grc.tenancy import system_scope

log = logging.getLogger("grc.jobs")
P = ParamSpec("P")
R = TypeVar("R")
JOB_TIMEOUT = 600
_worker_app: Flask | None = None


def get_queue(app: Flask) -> Queue:
    settings = app.config["GRC_SETTINGS"]
    return Queue(
        settings.queue_name,
        connection=redis_connection(app),
        is_async=settings.uses_redis,
        default_timeout=JOB_TIMEOUT,
    )


def enqueue(func: Callable[..., Any], *args: Any, job_id: str | None = None, **kwargs: Any) -> bool:
    """Queue ``func``; with a ``job_id`` a second enqueue while the first waits is a no-op (returns False).

    A Redis outage is logged, not raised: whatever the job would do is still recorded in the database
    (outbox rows, due dates) and the next scheduled run picks it up.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        get_queue(app).enqueue(
            func, *args, job_id=job_id, unique=job_id is not None, result_ttl=0 if job_id else 500,
            failure_ttl=7 * 24 * 3600, **kwargs,
        )
    except DuplicateJobError:
        return False
    except Exception:  # noqa: BLE001 - see docstring
        log.exception("could not enqueue %s", getattr(func, "__name__", func))
        return False
    return True


def set_worker_app(app: Flask) -> None:
    """The app that job functions use in a worker process (set by ``grc worker`` before forking)."""
    global _worker_app
    _worker_app = app


def job(func: Callable[P, R]) -> Callable[P, R]:
    """Run a job function in a fresh application context (its own session), in system scope."""

    @functools.wraps(func)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        app = current_app._get_current_object() if has_app_context() else _app_for_worker()  # type: ignore[attr-defined]
        with app.app_context(), system_scope(db.session):
            return func(*args, **kwargs)

    return run


def _app_for_worker() -> Flask:
    if _worker_app is None:
        raise RuntimeError("grc jobs run in an app context or in a `grc worker` process (set_worker_app)")
    return _worker_app
