#!/usr/bin/env python3
"""The two commands of the README, needing nothing but Python 3.11+.

    python3 dev.py run    # virtualenv + install + migrate SQLite + demo data + serve on 127.0.0.1:5000
    python3 dev.py test   # the whole test suite (PostgreSQL + Redis when installed, else SQLite)
    python3 dev.py lint   # ruff (lint + import order) and mypy (strict for grc/), as CI runs them first

Extra arguments after ``test`` go to pytest (e.g. ``python3 dev.py test -k audit``).
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".grc-installed"


def ensure_environment() -> None:
    """Create the virtualenv and (re)install the project when pyproject.toml changed."""
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py runs under whatever python3 the machine has
        sys.exit("grc needs Python 3.11 or newer")
    if not (BIN / "python").exists():
        print("creating virtual environment in .venv", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    print("installing grc and its test tools into .venv", flush=True)
    pip = [str(BIN / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "-e", f"{ROOT}[dev]"], check=True)
    STAMP.write_text(wanted)


def grc(*args: str) -> None:
    subprocess.run([str(BIN / "grc"), *args], check=True, cwd=ROOT)


def run() -> int:
    port = os.environ.get("PORT", "5000")
    grc("db", "upgrade")
    grc("seed-demo", "--base-url", f"http://127.0.0.1:{port}")
    os.execv(str(BIN / "grc"), [str(BIN / "grc"), "serve", "--host", "127.0.0.1", "--port", port])


def test(extra: list[str]) -> int:
    workers = os.environ.get("GRC_TEST_WORKERS", "2")
    cmd = [str(BIN / "python"), "-m", "pytest", "-n", workers, "--dist", "loadfile", *extra]
    return subprocess.run(cmd, cwd=ROOT).returncode


def lint() -> int:
    """ruff and mypy with the configuration in pyproject.toml; non-zero when either finds something."""
    ruff = subprocess.run([str(BIN / "ruff"), "check", "."], cwd=ROOT).returncode
    mypy = subprocess.run([str(BIN / "mypy")], cwd=ROOT).returncode
    return ruff or mypy


def main() -> int:
    commands = {"run": run, "test": lambda: test(sys.argv[2:]), "lint": lint}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        print(__doc__)
        return 2
    ensure_environment()
    return commands[sys.argv[1]]()


if __name__ == "__main__":
    sys.exit(main())
