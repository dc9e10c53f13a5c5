"""Done means (issue 15): a credential fetched from the public endpoint verifies with the CB's published JWKS using
nothing of grc. The README's marketplace example is run here as it is printed, against the app served over HTTP,
and so is ``grc verify-credential URL``: a stranger's view of a certificate granted, then suspended."""
from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask

from tests.test_certification import TODAY, Decisions

README = Path(__file__).resolve().parent.parent / "README.md"
GRC = str(Path(sys.executable).with_name("grc"))


def marketplace_example() -> str:
    """The README's block after ``<!-- marketplace-example -->``, as printed."""
    found = re.search(r"<!-- marketplace-example -->\n```python\n(.*?)```", README.read_text(), re.S)
    assert found, "the README lost its marketplace example"
    return found.group(1)


@pytest.fixture
def served_publicly(app: Flask, live_server: str) -> Iterator[str]:
    """The app's public links (issuer ids, status lists) name the live server, as GRC_PUBLIC_BASE_URL would."""
    settings = app.config["GRC_SETTINGS"]
    app.config["GRC_SETTINGS"] = replace(settings, public_base_url=live_server)
    yield live_server
    app.config["GRC_SETTINGS"] = settings


def run_example(base: str, number: str) -> None:
    code = marketplace_example()
    placeholder = 'base, cb, number = "https://grc.example", "acme-cert", "ACME-9001-2026-00001"'
    assert placeholder in code
    exec(code.replace(placeholder, f"base, cb, number = {base!r}, 'cb-a', {number!r}"), {})  # noqa: S102


def verify_credential(url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([GRC, "verify-credential", url], capture_output=True, text=True, timeout=60, check=False)


def test_V2_the_readme_example_verifies_a_granted_certificate_and_notices_its_suspension(
        client, world, served_publicly):  # type: ignore[no-untyped-def]
    cert = Decisions(client, world)
    certificate = cert.grant()
    run_example(served_publicly, certificate["number"])  # signature, and neither bit set

    cert.act(certificate, "suspend", reason="Overdue major", until=(TODAY + timedelta(days=30)).isoformat())
    with pytest.raises(AssertionError, match="suspension"):
        run_example(served_publicly, certificate["number"])


def test_V2_grc_verify_credential_checks_a_public_credential_url_as_its_status_changes(
        client, world, served_publicly):  # type: ignore[no-untyped-def]
    cert = Decisions(client, world)
    certificate = cert.grant()
    url = f"{served_publicly}/api/v1/public/certificates/cb-a/{certificate['number']}/credential"
    valid = verify_credential(url)
    assert valid.returncode == 0 and valid.stdout.startswith("VALID: signed by "), valid.stdout + valid.stderr

    cert.act(certificate, "suspend", reason="Overdue major", until=(TODAY + timedelta(days=30)).isoformat())
    suspended = verify_credential(url)
    assert suspended.returncode == 1 and suspended.stdout.startswith("SUSPENDED"), suspended.stdout
    cert.act(certificate, "withdraw", reason="Misuse of the certification mark")
    assert verify_credential(url).stdout.startswith("WITHDRAWN")
