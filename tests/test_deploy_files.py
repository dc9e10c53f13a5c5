"""Deployment files, checked without Docker (it cannot run here): compose, Dockerfile, gunicorn config.

The compose and Dockerfile checks read the files as data and hold them to the production shape we rely
on. The gunicorn config is both validated by gunicorn's own setting validators and booted for real against
a temporary SQLite database, because a config file that imports is not yet a config that serves.
"""
from __future__ import annotations

import fnmatch
import json
import os
import re
import runpy
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from grc.rls import API_ROLE
from tests.servers import free_port

ROOT = Path(__file__).resolve().parent.parent
DOCKER = ROOT / "docker"
GUNICORN_CONF = DOCKER / "gunicorn.conf.py"
GRC_SERVICES = ("api", "worker", "scheduler", "migrate")


# --------------------------------------------------------------------------- compose


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((DOCKER / "compose.yaml").read_text())


def test_compose_has_the_api_worker_scheduler_migrate_postgres_and_redis_services(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {"api", "worker", "scheduler", "migrate", "postgres", "redis"}
    commands = {name: compose["services"][name].get("command") for name in GRC_SERVICES}
    assert commands == {
        "api": None,  # the image's CMD: gunicorn
        "worker": ["grc", "worker"],
        "scheduler": ["grc", "scheduler"],
        "migrate": ["grc", "db", "upgrade"],
    }


def test_compose_postgres_16_and_redis_7_have_health_checks(compose: dict[str, Any]) -> None:
    postgres, redis = compose["services"]["postgres"], compose["services"]["redis"]
    assert postgres["image"].startswith("postgres:16")
    assert redis["image"].startswith("redis:7")
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert "redis-cli ping" in " ".join(redis["healthcheck"]["test"])


def test_compose_starts_api_and_workers_only_after_a_successful_migration(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["migrate"]["restart"] == "no", "a one-shot job"
    assert services["migrate"]["depends_on"]["postgres"] == {"condition": "service_healthy"}
    for name in ("api", "worker", "scheduler"):
        depends = services[name]["depends_on"]
        assert depends["migrate"] == {"condition": "service_completed_successfully"}, name
        assert depends["redis"] == {"condition": "service_healthy"}, name


def test_compose_runs_production_settings_and_demands_the_secrets(compose: dict[str, Any]) -> None:
    for name in GRC_SERVICES:
        env = compose["services"][name]["environment"]
        assert env["GRC_ENV"] == "production", name
        assert env["GRC_SECRET_KEY"] == "${GRC_SECRET_KEY:?set it}", name
        assert env["GRC_KEY_ENCRYPTION_KEY"] == "${GRC_KEY_ENCRYPTION_KEY:?set it}", name
        assert env["GRC_DATABASE_URL"].startswith("postgresql+psycopg://"), name
        password = "${GRC_API_DB_PASSWORD:?" if name == "api" else "${GRC_DB_PASSWORD:?"
        assert password in env["GRC_DATABASE_URL"], name
        assert env["GRC_REDIS_URL"].startswith("redis://redis:6379"), name
    assert compose["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")


def test_compose_connects_the_app_as_a_role_that_row_level_security_applies_to(compose: dict[str, Any]) -> None:
    """A superuser bypasses RLS (grc/rls.py), and the official image's POSTGRES_USER is one."""
    mounts = compose["services"]["postgres"]["volumes"]
    init_dir = next(m.split(":")[0] for m in mounts if "/docker-entrypoint-initdb.d" in m)
    scripts = sorted((DOCKER / init_dir).glob("*.sh"))
    assert scripts, "no init script creates the application role"
    sql = " ".join(script.read_text() for script in scripts)
    assert re.search(r"CREATE ROLE grc LOGIN NOSUPERUSER .*NOBYPASSRLS", sql)
    assert re.search(r"CREATE ROLE grc_api LOGIN NOSUPERUSER .*NOBYPASSRLS", sql)
    assert "CREATE DATABASE grc OWNER grc" in sql


def test_T2_compose_gives_the_api_its_own_role_and_the_system_processes_the_owner(compose: dict[str, Any]) -> None:
    """Least privilege (grc/rls.py): only the owner's system scope crosses tenants, and the API never holds it."""
    services = compose["services"]
    assert services["api"]["environment"]["GRC_DATABASE_URL"].startswith(f"postgresql+psycopg://{API_ROLE}:")
    for name in ("migrate", "worker", "scheduler"):
        assert services[name]["environment"]["GRC_DATABASE_URL"].startswith("postgresql+psycopg://grc:"), name


def test_compose_builds_the_image_from_the_repository_root(compose: dict[str, Any]) -> None:
    for name in GRC_SERVICES:
        build = compose["services"][name]["build"]
        assert (DOCKER / build["context"] / build["dockerfile"]).resolve() == DOCKER / "Dockerfile"


# --------------------------------------------------------------------------- Dockerfile and .dockerignore


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", (DOCKER / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def test_dockerfile_is_python_311_slim_and_runs_as_a_non_root_user() -> None:
    instructions = dockerfile_instructions()
    assert instructions[0] == ("FROM", "python:3.11-slim")
    users = [(i, args) for i, (name, args) in enumerate(instructions) if name == "USER"]
    assert users, "no USER: the container would run as root"
    last_user_index, user = users[-1]
    assert user.split(":")[0] not in ("root", "0")
    last_run = max(i for i, (name, _) in enumerate(instructions) if name == "RUN")
    assert last_user_index > last_run, "USER must come after the last RUN so the runtime is unprivileged"


def test_dockerfile_serves_with_gunicorn_and_checks_healthz() -> None:
    instructions = dict(dockerfile_instructions())
    assert json.loads(instructions["CMD"]) == ["gunicorn", "-c", "docker/gunicorn.conf.py", "grc.wsgi:app"]
    health = instructions["HEALTHCHECK"]
    probe = json.loads(health.split("CMD", 1)[1])
    assert probe[0] == "python" and "/healthz" in probe[-1]
    assert "pip install" in " ".join(args for name, args in dockerfile_instructions() if name == "RUN")


def test_everything_the_dockerfile_copies_exists_and_is_not_dockerignored() -> None:
    ignored = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")]
    copied = [args.split()[:-1] for name, args in dockerfile_instructions() if name == "COPY"]
    sources = [source for sources in copied for source in sources]
    assert {"grc", "migrations", "alembic.ini", "pyproject.toml", "docker"} <= set(sources)
    for source in sources:
        assert (ROOT / source).exists(), source
        assert not any(fnmatch.fnmatch(source, pattern) for pattern in ignored), f"{source} is in .dockerignore"


def test_dockerignore_keeps_local_state_out_of_the_build_context() -> None:
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".git", ".venv", "instance", "tests", "**/__pycache__"} <= ignored


# --------------------------------------------------------------------------- gunicorn config


def load_gunicorn_conf(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict[str, Any]:
    for name in ("GRC_BIND", "GRC_WORKERS", "GRC_THREADS", "GRC_TIMEOUT", "PROMETHEUS_MULTIPROC_DIR"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(GUNICORN_CONF))


def test_gunicorn_defaults_suit_a_container(monkeypatch: pytest.MonkeyPatch) -> None:
    conf = load_gunicorn_conf(monkeypatch)
    assert conf["bind"] == ["0.0.0.0:8000"]
    assert conf["workers"] == 2 * len(os.sched_getaffinity(0)) + 1
    assert conf["worker_class"] == "gthread" and 2 <= conf["threads"] <= 16
    assert 10 <= conf["timeout"] <= 120 and 0 < conf["graceful_timeout"] <= conf["timeout"]
    assert conf["max_requests"] >= 500 and 0 < conf["max_requests_jitter"] < conf["max_requests"]
    assert conf["accesslog"] is None, "the app logs one JSON line per request itself"
    assert conf["preload_app"] is False


def test_gunicorn_reads_bind_and_workers_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    conf = load_gunicorn_conf(monkeypatch, GRC_BIND="127.0.0.1:9999", GRC_WORKERS="3", GRC_THREADS="8")
    assert (conf["bind"], conf["workers"], conf["threads"]) == (["127.0.0.1:9999"], 3, 8)


def test_gunicorn_accepts_every_setting_in_the_config(monkeypatch: pytest.MonkeyPatch) -> None:
    """gunicorn silently ignores unknown names, so a typo would go unnoticed: check them against its own list."""
    from gunicorn.config import Config

    conf = load_gunicorn_conf(monkeypatch)
    config = Config()
    settings = {name: value for name, value in conf.items() if name in config.settings}
    assert {"bind", "workers", "worker_class", "timeout", "max_requests", "accesslog", "preload_app"} <= set(settings)
    for name, value in settings.items():
        config.set(name, value)  # runs gunicorn's validator for each
    typos = {name for name in conf if not name.startswith("_") and name not in config.settings} - {
        "annotations", "glob", "os", "tempfile", "Any", "metrics_dir"
    }
    assert typos == set(), f"not gunicorn settings: {typos}"


@pytest.fixture
def gunicorn_server(tmp_path: Path) -> Iterator[tuple[str, Path, Path, subprocess.Popen[bytes]]]:
    """gunicorn with docker/gunicorn.conf.py, two workers, production settings, a migrated SQLite database."""
    from grc.dbmigrate import upgrade

    database = f"sqlite:///{tmp_path / 'grc.sqlite3'}"
    upgrade(database)
    metrics_dir, log = tmp_path / "prometheus", tmp_path / "gunicorn.log"
    metrics_dir.mkdir()
    (metrics_dir / "counter_999999.db").write_bytes(b"stale")  # a previous run's file: must be cleared
    (metrics_dir / "keep.txt").write_text("not prometheus_client's")  # the operator's: must survive
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRC_")} | {
        "GRC_ENV": "production", "GRC_SECRET_KEY": "gunicorn-test-" + "k" * 40, "GRC_DATABASE_URL": database,
        "GRC_KEY_ENCRYPTION_KEY": "gunicorn-test-kek-" + "k" * 40,
        "GRC_BIND": f"127.0.0.1:{port}", "GRC_WORKERS": "2", "GRC_CONTROL_SOCKET": str(tmp_path / "gunicorn.ctl"),
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    with log.open("w") as out:
        process = subprocess.Popen([gunicorn, "-c", str(GUNICORN_CONF), "grc.wsgi:app"], cwd=ROOT, env=env,
                                   stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(base, process, log)
        yield base, log, metrics_dir, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def wait_for(base: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited with {process.returncode}:\n{log.read_text()}")
        try:
            if requests.get(f"{base}/healthz", timeout=5).status_code == 200:
                return
        except requests.RequestException:  # refused, or accepted by the master while workers still boot
            time.sleep(0.2)
    pytest.fail(f"gunicorn did not answer within {timeout} s:\n{log.read_text()}")


def test_gunicorn_serves_the_app_logs_json_and_counts_requests_across_workers(
    gunicorn_server: tuple[str, Path, Path, subprocess.Popen[bytes]],
) -> None:
    base, log, metrics_dir, _ = gunicorn_server
    assert not (metrics_dir / "counter_999999.db").exists(), "stale metrics of a previous run were kept"
    assert (metrics_dir / "keep.txt").exists(), "only prometheus_client's files may be removed"
    for n in range(8):
        response = requests.get(f"{base}/api/v1/nope", headers={"X-Request-ID": f"gunicorn-{n}"}, timeout=5)
        assert response.status_code == 404 and response.headers["Content-Type"] == "application/problem+json"
    metrics = requests.get(f"{base}/metrics", timeout=5).text
    assert re.search(r'^flask_http_request_total\{method="GET",status="404"\} 8\.0$', metrics, re.MULTILINE), metrics
    access = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    assert {entry["request_id"] for entry in access if entry["logger"] == "grc.access"} >= {
        f"gunicorn-{n}" for n in range(8)
    }
    assert '"GET /api/v1/nope' not in log.read_text(), "gunicorn's own access log is off"


def test_gunicorn_stops_cleanly_on_sigterm(gunicorn_server: tuple[str, Path, Path, subprocess.Popen[bytes]]) -> None:
    """Deploys send SIGTERM: in-flight requests finish and the master exits 0 well within graceful_timeout."""
    _, log, _, process = gunicorn_server
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=40) == 0, log.read_text()
    assert "Shutting down" in log.read_text()


def raw_request(base: str, request: bytes) -> tuple[int, str, dict[str, object]]:
    """Send bytes no HTTP client would, read the answer: status, content type, JSON body."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(request)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers.get("Content-Type", ""), json.loads(body)


@pytest.mark.parametrize(("request_bytes", "status"), [
    (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),  # request line over limit_request_line
    (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n", 431),  # header over limit_request_field_size
    (b"GET / HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n", 400),  # a malformed header line
], ids=["request-line-too-long", "header-too-large", "malformed-header"])
def test_errors_gunicorn_answers_itself_are_problem_json(
    gunicorn_server: tuple[str, Path, Path, subprocess.Popen[bytes]], request_bytes: bytes, status: int,
) -> None:
    """What gunicorn refuses before the app sees it is answered as problem+json, like every error of the API."""
    base = gunicorn_server[0]
    answered, content_type, body = raw_request(base, request_bytes)
    assert (answered, content_type) == (status, "application/problem+json")
    assert body["status"] == status and str(body["type"]).startswith("https://grc.example/problems/")
