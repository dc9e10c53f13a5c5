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
from redis.exceptions import RedisError
from rq import Queue

from grc.extensions import db
from grc.redis_connection import redis_connection
from grc.tenancy import system_scope

log = logging.getLogger("grc.jobs")
P = ParamSpec("P")
R = TypeVar("R")
JOB_TIMEOUT = 600
FAILURE_TTL = 7 * 24 * 3600  # failed jobs stay listed (grc jobs failed) for a week
TRIGGER_WAIT = 60  # seconds a triggered run may wait in the queue before a new trigger queues another
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
    """Queue ``func`` (``job_id`` names the job, for the CLI); returns False when Redis refused.

    A Redis outage is logged, not raised: whatever the job would do is still recorded in the database
    (outbox rows, due dates) and the next scheduled run picks it up.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        get_queue(app).enqueue(func, *args, job_id=job_id, result_ttl=500, failure_ttl=FAILURE_TTL, **kwargs)
    except Exception:  # noqa: BLE001 - see docstring
        log.exception("could not enqueue %s", getattr(func, "__name__", func))
        return False
    return True


def trigger(func: Callable[[], Any], *, name: str, again: bool = False, first: bool = False) -> bool:
    """J6: make sure a run of ``func`` starts after this call; queue one unless a run is already waiting to start.

    The run calls ``started(name)`` before it reads its work, so a trigger fired while it runs queues the next run
    (the work committed meanwhile is never left for the schedule), and a failed or abandoned run leaves nothing
    that refuses the next one. The waiting mark lapses after ``TRIGGER_WAIT`` seconds, should the queued run be
    lost with Redis. ``again`` queues a run even so (a mark may have outlived its run in a Redis outage); ``first``
    queues it ahead of the jobs already waiting. Returns whether a run was queued.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        if not redis_connection(app).set(_waiting_key(name), "1", nx=not again, ex=TRIGGER_WAIT):
            return False
        get_queue(app).enqueue(func, result_ttl=0, failure_ttl=FAILURE_TTL, at_front=first)
    except Exception:  # noqa: BLE001 - as in enqueue: the schedule catches up
        log.exception("could not trigger %s", name)
        return False
    return True


def started(name: str) -> None:
    """A triggered run begins: from now on a trigger queues the next run (call it before reading the work)."""
    try:
        redis_connection(current_app).delete(_waiting_key(name))
    except RedisError as exc:  # the mark lapses after TRIGGER_WAIT; the run itself needs no Redis
        log.warning("trigger mark not cleared", extra={"error": repr(exc)})


def _waiting_key(name: str) -> str:
    return f"grc:jobs:waiting:{name}"


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
