"""The ``grc`` console script as an operator runs it: real subprocesses, a temporary SQLite database.

Nothing here imports the app in-process: what is checked is the installed entry point, its exit codes and
what it prints, and for ``grc serve`` a real HTTP socket.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from grc.demo import DEMO_LOGINS, DEMO_PASSWORD
from tests.servers import free_port

GRC = str(Path(sys.executable).with_name("grc"))
COMMAND_TIMEOUT = 120
STRONG_SECRET = "cli-test-secret-" + "s" * 40


def grc_env(database: Path, **extra: str) -> dict[str, str]:
    """The caller's environment without any GRC_* (or metrics) setting, plus a database of the test's own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRC_") and k != "PROMETHEUS_MULTIPROC_DIR"}
    env.update(GRC_DATABASE_URL=f"sqlite:///{database}", GRC_LOG_LEVEL="WARNING", **extra)
    return env


def run_grc(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([GRC, *args], env=env, capture_output=True, text=True, timeout=COMMAND_TIMEOUT, check=False)


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"exit {result.returncode}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One `grc db upgrade` per module; each test copies the result so tests stay independent."""
    database = tmp_path_factory.mktemp("grc-cli-template") / "grc.sqlite3"
    ok(run_grc(grc_env(database), "db", "upgrade"))
    return database


@pytest.fixture
def database(migrated_template: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "grc.sqlite3"
    shutil.copy(migrated_template, copy)
    return copy


# --------------------------------------------------------------------------- db, admin, demo data


def test_db_upgrade_migrates_an_empty_database_and_a_second_run_changes_nothing(tmp_path: Path) -> None:
    env = grc_env(tmp_path / "new" / "grc.sqlite3")
    assert "database at head" in ok(run_grc(env, "db", "upgrade"))
    assert "database at head" in ok(run_grc(env, "db", "upgrade"))
    assert (tmp_path / "new" / "grc.sqlite3").stat().st_size > 0


def test_create_platform_admin_creates_once_then_reports_it_exists(database: Path) -> None:
    env = grc_env(database)
    args = ("create-platform-admin", "--email", "Ops@Platform.Example", "--password", "a-long-enough-secret")
    assert "created" in ok(run_grc(env, *args))
    second = ok(run_grc(env, *args))
    assert "already exists" in second


def test_create_platform_admin_refuses_a_short_password_without_a_traceback(database: Path) -> None:
    args = ("create-platform-admin", "--email", "ops@platform.example", "--password", "short")
    result = run_grc(grc_env(database), *args)
    assert result.returncode == 2
    assert "--password" in result.stderr and "12 characters" in result.stderr
    assert "Traceback" not in result.stderr


def test_seed_demo_twice_creates_once_and_always_lists_the_demo_logins_and_links(database: Path) -> None:
    env = grc_env(database)
    first = ok(run_grc(env, "seed-demo", "--base-url", "http://127.0.0.1:5050"))
    second = ok(run_grc(env, "seed-demo", "--base-url", "http://127.0.0.1:5050"))
    rebuilt = ok(run_grc(env, "seed-demo", "--reset", "--base-url", "http://127.0.0.1:5050"))
    assert "demo data created" in first and "demo data created" in rebuilt
    assert "demo data already present" in second
    for output in (first, second, rebuilt):
        assert DEMO_PASSWORD in output
        for login in DEMO_LOGINS:
            assert login.email in output
        for path in ("/verify/acme-cert/ACME-GPEC-", "/verify/acme-cert/ACME-ISO9001-", "/badges/ML-",
                     "/api/v1/risk-registers/", "/docs"):
            assert f"http://127.0.0.1:5050{path}" in output
    badge = [line for line in first.splitlines() if ".svg?domain=shop.example" in line]
    assert badge and badge[0] in second and badge[0] not in rebuilt  # --reset licensed the shop afresh


# --------------------------------------------------------------------------- openapi


def test_openapi_write_produces_a_valid_json_document(database: Path, tmp_path: Path) -> None:
    target = tmp_path / "out" / "openapi.json"
    assert str(target) in ok(run_grc(grc_env(database), "openapi", "write", str(target)))
    spec = json.loads(target.read_text())
    assert spec["openapi"].startswith("3.1")
    assert "/api/v1/auth/login" in spec["paths"]


# --------------------------------------------------------------------------- production refuses unsafe settings


@pytest.mark.parametrize(
    ("command", "secret"),
    [
        (("db", "upgrade"), None),
        (("openapi", "write", "{tmp}/spec.json"), None),
        (("seed-demo",), None),
        (("db", "upgrade"), "too-short"),
    ],
    ids=["db-upgrade", "openapi-write", "seed-demo", "short-secret"],
)
def test_production_without_a_real_secret_key_refuses_with_a_clear_message(
    tmp_path: Path, command: tuple[str, ...], secret: str | None
) -> None:
    extra = {"GRC_ENV": "production"} | ({"GRC_SECRET_KEY": secret} if secret else {})
    result = run_grc(grc_env(tmp_path / "grc.sqlite3", **extra), *(arg.format(tmp=tmp_path) for arg in command))
    assert result.returncode == 1
    assert "GRC_SECRET_KEY" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "grc.sqlite3").exists(), "nothing may be done before the check"


def test_V1_production_without_a_key_encryption_key_refuses_with_a_clear_message(tmp_path: Path) -> None:
    env = grc_env(tmp_path / "grc.sqlite3", GRC_ENV="production", GRC_SECRET_KEY=STRONG_SECRET)
    result = run_grc(env, "db", "upgrade")
    assert result.returncode == 1 and "GRC_KEY_ENCRYPTION_KEY" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "grc.sqlite3").exists()


def test_production_with_a_strong_secret_key_runs(tmp_path: Path) -> None:
    env = grc_env(tmp_path / "grc.sqlite3", GRC_ENV="production", GRC_SECRET_KEY=STRONG_SECRET,
                  GRC_KEY_ENCRYPTION_KEY=STRONG_SECRET[::-1])
    ok(run_grc(env, "db", "upgrade"))


# --------------------------------------------------------------------------- grc serve over real HTTP


@pytest.fixture
def served(database: Path, tmp_path: Path) -> Iterator[str]:
    """`grc serve` on a free loopback port with demo data; stopped (and killed if it must be) afterwards.

    Its output goes to a file, not a pipe nobody reads: a full pipe would block the server mid-request.
    """
    env = grc_env(database)
    ok(run_grc(env, "seed-demo"))
    port, log = free_port(), tmp_path / "serve.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [GRC, "serve", "--host", "127.0.0.1", "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(process, base, log)
        yield base
    finally:
        stop(process)


def wait_until_serving(process: subprocess.Popen[bytes], base: str, log: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"grc serve exited with {process.returncode}:\n{log.read_text()}")
        try:
            if requests.get(f"{base}/healthz", timeout=5).status_code == 200:
                return
        except requests.RequestException:
            time.sleep(0.1)
    pytest.fail(f"grc serve did not answer on {base} within {timeout} s:\n{log.read_text()}")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def test_serve_answers_health_and_the_demo_login_over_http(served: str) -> None:
    assert requests.get(f"{served}/healthz", timeout=5).json() == {"status": "ok"}
    assert requests.get(f"{served}/readyz", timeout=5).status_code == 200
    login = requests.post(
        f"{served}/api/v1/auth/login",
        json={"email": "admin@acme-cert.example", "password": DEMO_PASSWORD},
        timeout=10,
    )
    assert login.status_code == 200, login.text
    token = login.json()["access_token"]
    me = requests.get(f"{served}/api/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=5)
    assert me.status_code == 200, me.text
    assert "admin@acme-cert.example" in me.text


# --------------------------------------------------------------------------- grc verify-credential, offline


def test_V2_grc_verify_credential_offline_checks_a_file_against_a_jwks_file(tmp_path: Path) -> None:
    """Anyone with the credential and the issuer's JWKS as files learns VALID (exit 0) or INVALID (exit 1) with
    no network; the status lists are named as not checked."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from tests.independent_vc import public_jwk, sign_compact
    from tests.unit.test_credential_verifier import Issuer

    cb = Issuer()
    now_valid = {"validFrom": "2026-01-01T00:00:00+00:00", "validUntil": "2099-01-01T00:00:00+00:00"}
    (tmp_path / "certificate.jwt").write_text(sign_compact(cb.credential() | now_valid, cb.key))
    (tmp_path / "jwks.json").write_text(json.dumps(cb.jwks()))
    env = grc_env(tmp_path / "unused.sqlite3")

    valid = run_grc(env, "verify-credential", str(tmp_path / "certificate.jwt"), "--jwks", str(tmp_path / "jwks.json"),
                    "--offline")
    assert valid.returncode == 0 and valid.stdout.startswith("VALID: signed by "), valid.stdout + valid.stderr
    assert "status lists not checked (offline)" in valid.stdout

    (tmp_path / "jwks.json").write_text(json.dumps({"keys": [public_jwk(Ed25519PrivateKey.generate())]}))
    invalid = run_grc(env, "verify-credential", str(tmp_path / "certificate.jwt"), "--jwks",
                      str(tmp_path / "jwks.json"), "--offline", "--json")
    assert invalid.returncode == 1 and json.loads(invalid.stdout)["status"] == "INVALID"
    assert not (tmp_path / "unused.sqlite3").exists()  # a verifier needs no database


def test_V2_grc_verify_credential_offline_refuses_a_url(tmp_path: Path) -> None:
    result = run_grc(grc_env(tmp_path / "unused.sqlite3"), "verify-credential", "https://cb.example/c", "--offline")
    assert result.returncode == 2 and "--offline reads only files" in result.stderr
