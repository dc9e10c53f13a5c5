"""C10 in a real browser: Debian's chromium, driven by Playwright, uses the /verify pages of the live server.

Playwright's own browser download cannot work here, so the test launches /usr/bin/chromium (Debian package
``chromium``). Without it the test fails when GRC_TEST_REQUIRE_SERVERS=1 (CI installs it: see .ci/run) and is
skipped with the reason otherwise.
"""
from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.certificates import issue_certificate

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]
VIEWPORT = {"width": 1280, "height": 800}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} not found: install Debian's chromium package (apt-get install chromium)"
        if os.environ.get("GRC_TEST_REQUIRE_SERVERS") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e .[dev])")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=VIEWPORT, java_script_enabled=False)  # the pages need no JavaScript
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        yield page
    finally:
        context.close()


def assert_visible_in_viewport(page: Any, selector: str) -> None:
    element = page.locator(selector)
    assert element.is_visible(), f"{selector} is not visible"
    box = element.bounding_box()
    assert box is not None and box["width"] > 0 and box["height"] > 0
    assert 0 <= box["x"] and box["x"] + box["width"] <= VIEWPORT["width"], box
    assert 0 <= box["y"] and box["y"] + box["height"] <= VIEWPORT["height"], box


def png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(PNG_SIGNATURE), "not a PNG"
    width, height = struct.unpack(">II", data[16:24])  # IHDR follows the signature and the chunk header
    return width, height


def test_C10_a_visitor_fills_the_verify_form_and_reads_the_status(app, live_server, world, page):
    cert = issue_certificate(app, world)
    page.goto(f"{live_server}/verify")
    page.fill("#cb", "cb-a")
    page.fill("#number", cert.number)
    page.click("#check")
    page.wait_for_url(f"**/verify/cb-a/{cert.number}")
    status = page.locator("#status")
    assert status.inner_text().strip() == f"Certificate {cert.number} is VALID"
    assert_visible_in_viewport(page, "#status")
    assert "ISO 9001:2015" in page.inner_text("#standard")
    assert page.title() == f"Certificate {cert.number}: VALID"


def test_C10_a_suspended_certificate_says_suspended_on_screen(app, live_server, world, page, tmp_path):
    cert = issue_certificate(app, world, status="suspended")
    response = page.goto(f"{live_server}/verify/cb-a/{cert.number}")
    assert response is not None and response.status == 200
    assert response.headers["cache-control"] == "public, max-age=60"
    assert page.get_by_text("SUSPENDED", exact=False).first.is_visible()
    assert page.inner_text("#status").strip() == f"Certificate {cert.number} is SUSPENDED"
    assert_visible_in_viewport(page, "#status")
    shot = page.screenshot(path=str(tmp_path / "suspended.png"), full_page=False)
    assert len(shot) > 1000 and (tmp_path / "suspended.png").stat().st_size == len(shot)
    assert png_size(shot) == (VIEWPORT["width"], VIEWPORT["height"])
    element_shot = page.locator("#status").screenshot()
    width, height = png_size(element_shot)
    assert width > 200 and height > 20


def test_C10_an_unknown_certificate_shows_the_not_found_page(live_server, world, page):
    response = page.goto(f"{live_server}/verify/cb-a/NO-SUCH-NUMBER")
    assert response is not None and response.status == 404
    assert "No certificate NO-SUCH-NUMBER was found" in page.inner_text("#status")
