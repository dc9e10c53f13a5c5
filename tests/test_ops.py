"""Operations surface: health and readiness, request ids, JSON logs, Prometheus metrics, problem+json errors.

These are what an operator and a load balancer rely on, so each is checked the way they see it: status
codes, headers and the bytes of a log line, not internal state.
"""
from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from grc.errors import PROBLEM_MEDIA_TYPE
from grc.request_log import JsonFormatter

UNREACHABLE_DATABASE = "postgresql+psycopg://x:y@127.0.0.1:1/nope"
GENERATED_ID = re.compile(r"^[0-9a-f]{32}$")

AppFactory = Callable[..., Flask]


@pytest.fixture
def make_app(database_url: str, redis_url: str) -> AppFactory:
    """Another app configured like the session's: tests that need their own routes or a broken database.

    Same Redis URL on purpose: flask-limiter's storage is process-global and follows the last app built.
    """
    from grc.app import create_app

    def build(**overrides: Any) -> Flask:
        settings: dict[str, Any] = {
            "env": "test", "database_url": database_url, "redis_url": redis_url,
            "secret_key": "test-secret-" + "x" * 40, "log_level": "WARNING",
            "login_rate_limit_ip": "10000 per minute", "login_rate_limit_account": "10000 per minute",
        }
        return create_app(**{**settings, **overrides})

    return build


@pytest.fixture
def json_log() -> Iterator[Callable[[str], list[dict[str, Any]]]]:
    """Formatted output of the grc loggers, as an operator's log shipper would receive it.

    A handler of our own (not caplog) because create_app replaces the root handlers, and INFO is switched on
    for grc.access because the test app logs at WARNING.
    """
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    access = logging.getLogger("grc.access")
    loggers = [access, logging.getLogger("grc.errors")]
    previous_level = access.level
    access.setLevel(logging.INFO)
    for logger in loggers:
        logger.addHandler(handler)

    def entries(logger_name: str) -> list[dict[str, Any]]:
        lines = [json.loads(line) for line in stream.getvalue().splitlines()]
        return [entry for entry in lines if entry["logger"] == logger_name]

    yield entries
    for logger in loggers:
        logger.removeHandler(handler)
    access.setLevel(previous_level)


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    """An RFC 9457 body with the documented members, and the request id as its instance."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM_MEDIA_TYPE
    body = response.get_json(force=True)
    assert body["status"] == status
    assert body["type"].startswith("https://")
    assert body["title"] and body["detail"]
    assert body["instance"] == f"urn:request:{response.headers['X-Request-ID']}"
    return body


# --------------------------------------------------------------------------- health and readiness


def test_healthz_answers_ok_without_touching_dependencies(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_reports_database_and_redis_ok_when_both_answer(client: FlaskClient, redis_url: str) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ready"
    assert body["checks"]["database"] == "ok"
    if redis_url:  # PostgreSQL + Redis run; on SQLite jobs run in-process
        assert body["checks"]["redis"] == "ok"
    else:
        assert body["checks"]["redis"].startswith("not configured")


def test_readyz_answers_503_when_the_database_is_unreachable(make_app: AppFactory) -> None:
    broken = make_app(database_url=UNREACHABLE_DATABASE)
    response = broken.test_client().get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "not ready"
    assert body["checks"]["database"].startswith("error: ")
    assert "127.0.0.1" not in json.dumps(body), "readiness must not leak connection details"


# --------------------------------------------------------------------------- request ids and logs


def test_a_valid_request_id_from_the_caller_is_echoed(client: FlaskClient) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": "lb-7f3a.trace_01"})
    assert response.headers["X-Request-ID"] == "lb-7f3a.trace_01"


def test_a_request_without_id_gets_a_generated_one(client: FlaskClient) -> None:
    first = client.get("/healthz").headers["X-Request-ID"]
    second = client.get("/healthz").headers["X-Request-ID"]
    assert GENERATED_ID.match(first) and GENERATED_ID.match(second)
    assert first != second


@pytest.mark.parametrize("malformed", ["has spaces", "x" * 65, "semi;colon", "<script>", ""])
def test_a_malformed_request_id_is_replaced_not_echoed(client: FlaskClient, malformed: str) -> None:
    """Ids end up in log lines and headers: a caller must not be able to inject text into either."""
    response = client.get("/healthz", headers={"X-Request-ID": malformed})
    assert GENERATED_ID.match(response.headers["X-Request-ID"])


def test_every_request_writes_one_json_access_line_with_its_request_id(
    client: FlaskClient, json_log: Callable[[str], list[dict[str, Any]]]
) -> None:
    client.get("/api/v1/no-such-thing", headers={"X-Request-ID": "trace-123"})
    lines = [entry for entry in json_log("grc.access") if entry.get("request_id") == "trace-123"]
    assert len(lines) == 1
    line = lines[0]
    assert line["level"] == "INFO" and line["message"] == "request"
    assert line["method"] == "GET" and line["path"] == "/api/v1/no-such-thing" and line["status"] == 404
    assert isinstance(line["duration_ms"], int | float) and line["duration_ms"] >= 0
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}$", line["ts"])


# --------------------------------------------------------------------------- metrics


def test_metrics_expose_request_counts_after_a_request(client: FlaskClient) -> None:
    client.get("/api/v1/no-such-thing")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    assert re.search(r'^flask_http_request_total\{method="GET",status="404"\} [1-9]', text, re.MULTILINE)
    assert "flask_http_request_duration_seconds_bucket" in text


def test_several_apps_in_one_process_keep_separate_metrics(make_app: AppFactory) -> None:
    """The exporter's global registry would refuse a second app; each app has its own registry instead."""
    first, second = make_app(), make_app()
    first.test_client().get("/api/v1/no-such-thing")
    second_text = second.test_client().get("/metrics").get_data(as_text=True)
    first_text = first.test_client().get("/metrics").get_data(as_text=True)
    assert 'flask_http_request_total{method="GET",status="404"} 1.0' in first_text
    assert 'status="404"' not in second_text


def test_probes_and_scrapes_are_not_counted_as_traffic(make_app: AppFactory) -> None:
    client = make_app().test_client()
    for path in ("/healthz", "/readyz", "/metrics"):
        client.get(path)
    assert "flask_http_request_total{" not in client.get("/metrics").get_data(as_text=True)


# --------------------------------------------------------------------------- every error is problem+json


def test_an_unknown_url_is_a_404_problem(client: FlaskClient) -> None:
    assert_problem(client.get("/api/v1/does-not-exist"), 404)


def test_a_wrong_method_is_a_405_problem_that_lists_the_allowed_ones(client: FlaskClient) -> None:
    response = client.delete("/api/v1/auth/login")
    assert_problem(response, 405)
    assert "POST" in response.headers["Allow"]


def test_a_body_over_the_limit_is_a_413_problem_without_error_logs(
    app: Flask, client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    limit = app.config["GRC_SETTINGS"].max_body_bytes
    assert limit == 1024 * 1024, "GRC_MAX_BODY_BYTES default"
    body = b'{"email": "' + b"a" * limit + b'"}'
    with caplog.at_level(logging.ERROR):
        response = client.post("/api/v1/auth/login", data=body, content_type="application/json")
    assert_problem(response, 413)
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == [], "a client's mistake is no server error"


def test_a_body_just_under_the_limit_is_read(app: Flask, client: FlaskClient) -> None:
    limit = app.config["GRC_SETTINGS"].max_body_bytes
    body = b"{" + b" " * (limit - 2) + b"x"  # malformed, so the answer shows the body was parsed
    response = client.post("/api/v1/auth/login", data=body, content_type="application/json")
    assert_problem(response, 400)


def test_malformed_json_is_a_400_problem_naming_the_problem(client: FlaskClient) -> None:
    response = client.post("/api/v1/auth/login", data='{"email": ', content_type="application/json")
    body = assert_problem(response, 400)
    assert "JSON" in body["detail"]
    assert body["errors"] == {"json": ["Invalid JSON body."]}


def test_an_unexpected_exception_is_a_500_problem_without_internals(
    make_app: AppFactory, json_log: Callable[[str], list[dict[str, Any]]]
) -> None:
    """The client learns only the request id; the log line carries the traceback under that id."""
    app = make_app()

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internal state: password=hunter2")

    response = app.test_client().get("/boom")
    body = assert_problem(response, 500)
    text = response.get_data(as_text=True)
    for leak in ("Traceback", "RuntimeError", "hunter2", "boom", ".py"):
        assert leak not in text
    request_id = response.headers["X-Request-ID"]
    assert body["instance"] == f"urn:request:{request_id}"
    logged = [entry for entry in json_log("grc.errors") if entry.get("request_id") == request_id]
    assert len(logged) == 1 and "RuntimeError: secret internal state" in logged[0]["exception"]
