"""Prometheus metrics at ``/metrics``: request counts and latency by endpoint, process and platform figures."""
from __future__ import annotations

from flask import Flask
from prometheus_client import CollectorRegistry, PlatformCollector, ProcessCollector
from prometheus_flask_exporter import PrometheusMetrics


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
