"""Test session wiring: real PostgreSQL and Redis when their servers are installed, SQLite otherwise.

GRC_TEST_BACKEND=auto (default) | postgresql | sqlite
GRC_TEST_REQUIRE_SERVERS=1   a missing pg_ctl/initdb or redis-server fails the run (CI sets it)
"""
from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests import servers as srv

BACKEND = os.environ.get("GRC_TEST_BACKEND", "auto")
REQUIRE_SERVERS = os.environ.get("GRC_TEST_REQUIRE_SERVERS") == "1"


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):
        return  # xdist worker: the controller started the servers and exported their URLs
    if _only_unit_tests(config):
        os.environ["GRC_TEST_MODE"] = "none: only tests/unit, which needs no database and no Redis"
        return
    if BACKEND == "sqlite":
        os.environ["GRC_TEST_MODE"] = "sqlite: GRC_TEST_BACKEND=sqlite (in-process Redis substitute)"
        return
    missing = [name for name, found in (("pg_ctl/initdb", srv.pg_bin_dir()), ("redis-server", srv.redis_server_path()))
               if not found]
    if missing:
        if REQUIRE_SERVERS or BACKEND == "postgresql":
            raise pytest.UsageError(f"required test servers missing: {', '.join(missing)} (install them; see .ci/run)")
        os.environ["GRC_TEST_MODE"] = (
            f"sqlite: {', '.join(missing)} not found, so running on SQLite with an in-process Redis substitute"
        )
        return
    servers = srv.start_servers()
    config._grc_servers = servers  # type: ignore[attr-defined]
    os.environ["GRC_TEST_PG_URL"] = servers.pg_url or ""
    os.environ["GRC_TEST_REDIS_URL"] = servers.redis_url or ""
    os.environ["GRC_TEST_MODE"] = f"postgresql+redis: throwaway servers ({servers.pg_url}, {servers.redis_url})"


def _only_unit_tests(config: pytest.Config) -> bool:
    """Every path asked for lies in tests/unit/ (rules checked without a database): start no server for it."""
    unit = Path(__file__).resolve().parent / "unit"
    paths = [Path(config.invocation_params.dir, arg.split("::")[0]).resolve() for arg in config.args]
    return bool(paths) and all(path.is_relative_to(unit) for path in paths)


def pytest_unconfigure(config: pytest.Config) -> None:
    servers = getattr(config, "_grc_servers", None)
    if servers is not None:
        servers.stop()


def pytest_report_header(config: pytest.Config) -> str:
    return f"grc test backend -> {os.environ.get('GRC_TEST_MODE', '?')}"


def on_postgresql() -> bool:
    return bool(os.environ.get("GRC_TEST_PG_URL"))


def worker_index() -> int:
    name = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(name.removeprefix("gw") or 0)


# --------------------------------------------------------------------------- the app


@pytest.fixture(scope="session")
def workdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="grc-test-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


SECRET_KEY = "test-secret-" + "x" * 40
REQUEST_ENGINE = "grc.test.request_engine"


def scope_params(tenant_id: object, writable: str = "") -> dict[str, Any]:
    """The arguments of ``grc_enter_scope(:tenant, :writable, :proof)`` for a scope, proven as the app proves it."""
    from grc.tenancy import scope_key, scope_proof

    tenant = str(tenant_id)
    return {"tenant": tenant, "writable": writable, "proof": scope_proof(scope_key(SECRET_KEY), tenant, writable)}


def request_engine(app: Flask) -> Any:
    """The engine the app's requests connect with (on PostgreSQL as the API role)."""
    return app.extensions.get(REQUEST_ENGINE) or app.extensions["grc.db"][0]


@pytest.fixture(scope="session")
def database_url(workdir: Path) -> str:
    """The owner's URL (the system role of jobs and the CLI); the API's requests connect as ``srv.as_api_role``."""
    from grc.dbmigrate import upgrade

    if on_postgresql():
        url = srv.create_database(os.environ["GRC_TEST_PG_URL"], f"grc_test_{worker_index()}")
        upgrade(url, secret_key=SECRET_KEY)
        return url
    url = f"sqlite:///{workdir / 'grc.sqlite3'}"
    upgrade(url, secret_key=SECRET_KEY)
    shutil.copy(workdir / "grc.sqlite3", workdir / "template.sqlite3")
    return url


@pytest.fixture(scope="session")
def redis_url() -> str:
    base = os.environ.get("GRC_TEST_REDIS_URL", "")
    return f"{base}/{worker_index() + 1}" if base else ""


@pytest.fixture(scope="session")
def app(database_url: str, redis_url: str, workdir: Path) -> Flask:
    """The API. On PostgreSQL its requests connect as the API role, as in production; what a test does outside a
    request (arranging a scene, running jobs as the worker would) connects as the owner (``_requests_as_api_role``)."""
    from grc.app import create_app

    settings = {"env": "test", "redis_url": redis_url, "secret_key": SECRET_KEY,
                "login_rate_limit_ip": "10000 per minute", "login_rate_limit_account": "10000 per minute",
                "log_level": "WARNING", "storage_location": str(workdir / "evidence")}
    if not on_postgresql():
        return create_app(database_url=database_url, **settings)
    app = create_app(database_url=srv.as_api_role(database_url), **settings)
    _requests_as_api_role(app, create_app(database_url=database_url, **settings))
    return app


def _requests_as_api_role(app: Flask, system: Flask) -> None:
    """Production runs the API (role grc_api) and the worker and CLI (the owner) as separate processes, each with its
    own URL; the suite runs them in one: a request's session is the API's, any other session (a job run by the
    test, the scene it builds) the system app's. ``db.engine`` is the owner's (resetting the tables needs it), the
    requests' is ``request_engine(app)``."""
    from flask import g

    api_engine, api_sessions = app.extensions["grc.db"]
    engine, system_sessions = system.extensions["grc.db"]
    app.extensions["grc.db"] = (engine, lambda: api_sessions() if g.get("_grc_api_request") else system_sessions())
    app.extensions[REQUEST_ENGINE] = api_engine

    def enter() -> None:  # first of all before_request functions: the guard already uses the session
        g._grc_outer_session, g._grc_api_request = g.pop("_grc_session", None), True

    def leave(_exc: BaseException | None) -> None:
        if g.pop("_grc_api_request", None):
            session, outer = g.pop("_grc_session", None), g.pop("_grc_outer_session", None)
            if session is not None:
                session.close()
            if outer is not None:
                g._grc_session = outer

    app.before_request_funcs.setdefault(None, []).insert(0, enter)
    app.teardown_request(leave)


@pytest.fixture(autouse=True)
def _clean_state(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test starts from migrated, empty tables and an empty Redis database."""
    yield
    if "app" not in request.fixturenames:
        return
    app: Flask = request.getfixturevalue("app")
    reset_database(app)
    from grc.extensions import limiter
    from grc.redis_connection import redis_connection

    redis_connection(app).flushdb()
    limiter.reset()


def reset_database(app: Flask) -> None:
    from grc.models import Base

    engine = app.extensions["grc.db"][0]
    if engine.dialect.name == "postgresql":
        from grc.schemes.catalogue import catalogue_rows
        from grc.schemes.models import Scheme

        tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
        with engine.begin() as conn:
            conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
            conn.exec_driver_sql("SELECT set_config('app.rls_bypass', 'on', true)")
            conn.execute(Scheme.__table__.insert(), catalogue_rows())  # the shipped catalogue, as migrated
        return
    engine.dispose()
    path = Path(engine.url.database)
    for suffix in ("-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    shutil.copy(path.parent / "template.sqlite3", path)


@pytest.fixture
def dumps_not_held_to_the_spec() -> Iterator[None]:
    """For tests that dump made-up objects (fields left out, nulls) to compare compiled dumps with marshmallow's:
    they are no answers, so the test app's check of what answers promise (grc.dumping.hold_to_the_spec) is off
    while they run, and on again after exactly when the test app is there (it turns both checks on)."""
    from grc import dumping

    dumping.hold_to_the_spec(False)
    yield
    dumping.hold_to_the_spec(dumping._check)  # noqa: SLF001


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def world(app: Flask):  # type: ignore[no-untyped-def]
    """Two CBs, each with one client, every role in every tenant (see tests/world.py)."""
    from tests.world import build_world

    return build_world(app)


@pytest.fixture(scope="session")
def live_server(app: Flask) -> Iterator[str]:
    """Base URL (``http://127.0.0.1:<port>``) of the session's app served over HTTP; see tests/live_server.py."""
    from tests.live_server import start_live_server

    server = start_live_server(app)
    yield server.url
    server.stop()
