"""Throwaway PostgreSQL and Redis servers for one test session, bound to 127.0.0.1 only.

The pytest controller starts them once (``pytest_configure``) and hands their URLs to xdist workers through
environment variables; each worker then makes its own database and uses its own Redis database number.
"""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import redis
from sqlalchemy.engine import make_url

from grc.rls import API_ROLE


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pg_bin_dir() -> Path | None:
    """Where initdb and pg_ctl live: on PATH, or Debian's versioned directory."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(os.path.realpath(found)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True)
    return Path(candidates[0]).parent if candidates else None


def redis_server_path() -> str | None:
    return shutil.which("redis-server")


def _as_service_user(cmd: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root; CI runs as root, so drop to the 'postgres' account."""
    if os.geteuid() != 0:
        return cmd
    return ["runuser", "-u", "postgres", "--", *cmd]


@dataclass
class Servers:
    root: Path
    pg_url: str | None = None
    redis_url: str | None = None
    _stops: list = field(default_factory=list)

    def stop(self) -> None:
        for stop in reversed(self._stops):
            try:
                stop()
            except Exception:  # noqa: BLE001 - best effort at teardown
                pass
        shutil.rmtree(self.root, ignore_errors=True)


def start_servers() -> Servers:
    root = Path(tempfile.mkdtemp(prefix="grc-test-servers-"))
    os.chmod(root, 0o777)
    servers = Servers(root=root)
    try:
        if pg_bin_dir() is not None:
            servers.pg_url = _start_postgres(servers)
        if redis_server_path() is not None:
            servers.redis_url = _start_redis(servers)
    except Exception:
        servers.stop()
        raise
    return servers


def _start_postgres(servers: Servers, *, durable: bool = False) -> str:
    """A throwaway cluster under ``servers.root``; ``durable`` keeps PostgreSQL's crash safety (fsync, synchronous
    commit), which the suite trades for speed but a fault run that kills the server needs."""
    bindir = pg_bin_dir()
    data, sockets = servers.root / "pgdata", servers.root / "pgsock"
    sockets.mkdir()
    os.chmod(sockets, 0o777)
    port = free_port()
    subprocess.run(
        _as_service_user([str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                          "--no-sync", "--locale=C"]),
        check=True, capture_output=True,
    )
    options = f"-h 127.0.0.1 -p {port} -k {sockets} -c max_connections=200"
    if not durable:
        options += " -F -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    subprocess.run(
        _as_service_user([str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(servers.root / "pg.log"),
                          "-w", "start"]),
        check=True, capture_output=True,
    )
    servers._stops.append(lambda: subprocess.run(
        _as_service_user([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]), capture_output=True
    ))
    _psql(port, "CREATE ROLE grc LOGIN PASSWORD 'grc' NOSUPERUSER CREATEDB")
    _psql(port, f"CREATE ROLE {API_ROLE} LOGIN PASSWORD '{API_ROLE}' NOSUPERUSER NOBYPASSRLS")
    return f"postgresql+psycopg://grc:grc@127.0.0.1:{port}"


@contextmanager
def own_postgres(name: str, *, durable: bool = False, secret_key: str | None = None
                 ) -> Iterator[tuple[Servers, str]]:
    """A PostgreSQL cluster of its own (the session's is shared, so never restarted) and the owner's URL of its
    database ``name``, migrated for apps with ``secret_key`` (tenant scopes are proven with a key derived from it);
    everything is removed on exit."""
    from grc.dbmigrate import upgrade

    root = Path(tempfile.mkdtemp(prefix="grc-pg-"))
    os.chmod(root, 0o777)  # initdb runs as 'postgres' when we are root
    started = Servers(root=root)
    try:
        url = create_database(_start_postgres(started, durable=durable), name)
        upgrade(url, secret_key=secret_key)
        yield started, url
    finally:
        started.stop()


def restart_postgres(servers: Servers, mode: str = "immediate") -> None:
    """Restart the cluster ``_start_postgres`` made: ``immediate`` is a crash (every connection cut, recovery from
    the WAL at start), ``fast`` a clean shutdown; returns when it accepts connections again."""
    bindir = pg_bin_dir()
    subprocess.run(_as_service_user([str(bindir / "pg_ctl"), "-D", str(servers.root / "pgdata"), "-m", mode, "-l",
                                     str(servers.root / "pg.log"), "-w", "restart"]),
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def as_api_role(database_url: str) -> str:
    """The URL of the same database for the API's role, as production gives the API process its own URL."""
    return make_url(database_url).set(username=API_ROLE, password=API_ROLE).render_as_string(hide_password=False)


def _psql(port: int, sql: str, dbname: str = "postgres") -> None:
    import psycopg

    with psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname=dbname, autocommit=True) as conn:
        conn.execute(sql)


def _start_redis(servers: Servers) -> str:
    port = free_port()
    proc = start_redis(port)
    servers._stops.append(lambda: (proc.terminate(), proc.wait(10)))
    return f"redis://127.0.0.1:{port}"


def start_redis(port: int, data_dir: Path | None = None) -> subprocess.Popen[bytes]:
    """A throwaway redis-server on 127.0.0.1:``port``, answering PING when this returns. No persistence, or with
    ``data_dir`` every write appended to a file there, so a restart on the same directory comes back with its data
    (as a production Redis with AOF does)."""
    persistence = ["--appendonly", "yes", "--appendfsync", "always", "--dir", str(data_dir)] if data_dir \
        else ["--appendonly", "no"]
    proc = subprocess.Popen(
        [redis_server_path(), "--port", str(port), "--bind", "127.0.0.1", "--save", "", *persistence,
         "--databases", "64"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(host="127.0.0.1", port=port)
    for _ in range(100):
        try:
            client.ping()
            return proc
        except redis.ConnectionError:
            time.sleep(0.05)
    proc.terminate()
    raise RuntimeError("redis-server did not start")


class PersistentRedis:
    """A real redis-server that appends every write to a file in ``data_dir``: stopped and started again, it comes
    back with what it held, as a production Redis with AOF (or one only cut off from the app) does."""

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.port, self.data_dir = free_port(), data_dir
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = start_redis(self.port, data_dir)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)

    def start(self) -> None:
        self.process = start_redis(self.port, self.data_dir)

    @contextmanager
    def stopped(self) -> Iterator[None]:
        self.stop()
        yield
        self.start()


def create_database(pg_url: str, name: str) -> str:
    """A fresh database owned by the unprivileged 'grc' role (so row-level security applies to it); the 'grc_api'
    role gets its grants from the migrations (``grc.dbmigrate.upgrade``)."""
    import psycopg

    port = int(pg_url.rsplit(":", 1)[1])
    with psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}" OWNER grc')
    return f"{pg_url}/{name}"


@contextmanager
def app_on_redis(app: Any, redis_url: str) -> Iterator[None]:
    """Point the app's Redis (job queue, public cache; not the rate limiter) at another server for one test
    ('' = the embedded in-process mode)."""
    settings, connection = app.config["GRC_SETTINGS"], app.extensions.pop("grc.redis", None)
    app.config["GRC_SETTINGS"] = replace(settings, redis_url=redis_url)
    try:
        yield
    finally:
        app.config["GRC_SETTINGS"] = settings
        app.extensions.pop("grc.redis", None)
        if connection is not None:
            app.extensions["grc.redis"] = connection
