"""Production gunicorn settings: ``gunicorn -c docker/gunicorn.conf.py grc.wsgi:app``.

Every value can be changed through an environment variable so one image serves small and large machines.
The API is stateless, so scaling out means more workers here or more containers behind the load balancer.

Database connections: each worker opens at most ``threads`` connections at a time (SQLAlchemy pool, one per
request in flight), so ``workers * threads`` per container must stay below PostgreSQL's ``max_connections``
(100 by default) divided by the number of API containers. Set ``GRC_WORKERS`` explicitly on big hosts.
"""
from __future__ import annotations

import glob
import os
import tempfile
from typing import Any


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    return int(raw) if raw.strip() else default


def _usable_cores() -> int:
    """The CPUs this process may run on (a container's cpuset), not the host's total."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


# --- sockets ---------------------------------------------------------------------------------------------
# 0.0.0.0 inside a container: the container's network namespace is the boundary, the port mapping decides.
bind = [os.environ.get("GRC_BIND", "0.0.0.0:8000")]
backlog = 2048

# --- workers ---------------------------------------------------------------------------------------------
# gthread: a few threads per process absorb I/O waits (database, Redis) without the memory of more processes.
worker_class = "gthread"
workers = _int_env("GRC_WORKERS", 2 * _usable_cores() + 1)
threads = _int_env("GRC_THREADS", 4)
# Recycle workers after a bounded number of requests (jitter keeps them from restarting together), so a
# slow leak in any library cannot grow a worker without limit. Not lower: a new worker spends ~1.5 s of CPU
# importing and building the app (with cold pools and caches), and at the ~1,000 req/s the benchmark sees for
# public lookups on 2 cores, 10,000 meant a restart per worker every minute; every recycled worker also leaves
# its metric files behind (see Prometheus below) and each scrape reads them all. Worker RSS stays under 120 MiB
# through a benchmark run (docs/BENCHMARKS.md).
max_requests = _int_env("GRC_MAX_REQUESTS", 100000)
max_requests_jitter = _int_env("GRC_MAX_REQUESTS_JITTER", 10000)
# The app is created in each worker after the fork: no database connections or Redis clients shared across
# processes, and a code reload (HUP) picks up new code.
preload_app = False
# Worker heartbeats on tmpfs: a container's overlay filesystem can stall them and get workers killed.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None

# --- timeouts --------------------------------------------------------------------------------------------
timeout = _int_env("GRC_TIMEOUT", 30)  # a request still running after this is killed with its worker
graceful_timeout = _int_env("GRC_GRACEFUL_TIMEOUT", 30)  # in-flight requests finish on SIGTERM (deploys)
# Keep above the load balancer's idle timeout, or it may reuse a connection gunicorn just closed (502s).
keepalive = _int_env("GRC_KEEPALIVE", 75)

# --- request limits (the app refuses bodies above GRC_MAX_BODY_BYTES with 413) ---------------------------
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190

# --- the errors gunicorn answers itself ---------------------------------------------------------------------
# A request gunicorn refuses before the app sees it (a request line over the limit: 414; a header too large or too
# many: 431; a malformed line or header: 400) is answered as RFC 9457 problem+json like every other error of the
# API, not as gunicorn's HTML page. gunicorn has no setting for that page, so its writer (gunicorn.util.write_error,
# which every worker's handle_error calls) is replaced in the master when it starts, before any worker is forked;
# status, reason and message stay gunicorn's.


def _answer_refusals_as_problem_json() -> None:
    import json

    from gunicorn import util

    from grc.errors import PROBLEM_MEDIA_TYPE, problem_document

    def write_problem(sock: Any, status_int: int, reason: str, mesg: str) -> None:
        body = json.dumps(problem_document(status_int, mesg)).encode()
        head = (f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\nContent-Type: {PROBLEM_MEDIA_TYPE}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n")
        util.write_nonblock(sock, head.encode("latin1") + body)

    util.write_error = write_problem


# --- logging ---------------------------------------------------------------------------------------------
# The app writes one JSON line per request (logger grc.access, with the request id); gunicorn's own access
# log would duplicate it in another format.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GRC_LOG_LEVEL", "info").lower()
proc_name = "grc-api"

# --- control socket (gunicorn >= 25.1; older versions ignore the name) -------------------------------------
# `gunicornc -s <path>` inspects and scales workers at run time. The default lives in $HOME, which the
# image's non-root user cannot write.
control_socket = os.environ.get("GRC_CONTROL_SOCKET") or os.path.join(tempfile.gettempdir(), "grc-gunicorn.ctl")

# --- Prometheus across workers ---------------------------------------------------------------------------
# Each worker counts in files in this directory and /metrics adds them up, so a scrape sees every worker,
# not just the one that answered. gunicorn exports raw_env to the workers before the app is imported.
metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.path.join(tempfile.gettempdir(), "grc-prometheus")
raw_env = [f"PROMETHEUS_MULTIPROC_DIR={metrics_dir}"]


def on_starting(server: Any) -> None:
    """Start without a previous run's metric files, which would be added to this run's counts, and with gunicorn's
    own refusals answered as problem+json (above).

    Only prometheus_client's ``*.db`` files go: the directory may be one the operator chose and shares.
    """
    os.makedirs(metrics_dir, exist_ok=True)
    for stale in glob.glob(os.path.join(metrics_dir, "*.db")):
        os.remove(stale)
    _answer_refusals_as_problem_json()


def child_exit(server: Any, worker: Any) -> None:
    """Drop a dead worker's live gauges (its counters stay: totals must not go down)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, metrics_dir)
