"""Real browser tests: Debian's chromium, driven by Playwright, uses the live server's pages.

C10: the /verify pages (no JavaScript). /docs: the interactive API reference renders the OpenAPI 3.1 spec and
calls the API with a bearer token (issue 17).

Playwright's own browser download cannot work here, so the test launches /usr/bin/chromium (Debian package
``chromium``). Without it the test fails when GRC_TEST_REQUIRE_SERVERS=1 (CI installs it: see .ci/run) and is
skipped with the reason otherwise.
"""
from __future__ import annotations

import io
import os
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.certificates import issue_certificate
from tests.world import PASSWORD

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


@contextmanager
def open_page(browser: Any, *, javascript: bool) -> Iterator[Any]:
    """A fresh browser context and page; its cookies and storage end with it."""
    context = browser.new_context(viewport=VIEWPORT, java_script_enabled=javascript)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    with open_page(browser, javascript=False) as page:  # the /verify pages need no JavaScript
        yield page


@pytest.fixture
def scripted_page(browser: Any) -> Iterator[Any]:
    with open_page(browser, javascript=True) as page:  # the API reference is a script
        yield page


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


# --------------------------------------------------------------------------- /docs: the API reference

# Operations of several tags, by the element id the reference gives them (operations-<tag>-<operationId>),
# with their path: a spec the reference cannot render shows none of them.
DOCS_OPERATIONS = {
    "operations-auth-me": "/api/v1/me",
    "operations-clients-list_clients": "/api/v1/clients",
    "operations-audits-list_audits": "/api/v1/audits",
    "operations-certification-list_certificates": "/api/v1/certificates",
    "operations-risks-list_risk_registers": "/api/v1/risk-registers",
}


def distinct_colours(png: bytes) -> int:
    """How many colours a screenshot has: a blank or error-only page has a handful, a rendered reference many."""
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        colours = image.convert("RGB").getcolors(maxcolors=1 << 24)
    assert colours is not None
    return len(colours)


def test_docs_renders_the_openapi_3_1_operations_of_several_tags(live_server, scripted_page, tmp_path):
    page = scripted_page
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    response = page.goto(f"{live_server}/docs", wait_until="networkidle")
    assert response is not None and response.status == 200
    for element_id, path in DOCS_OPERATIONS.items():
        operation = page.locator(f"#{element_id}")
        operation.wait_for(state="attached")
        assert operation.locator(".opblock-summary-path").get_attribute("data-path") == path
    assert page.locator(".opblock").count() > 100  # every operation of the spec, not a handful
    assert page.get_by_text("Unable to render this definition").count() == 0
    assert f"{live_server}/api/v1/openapi.json" in requested
    assert [url for url in requested if not url.startswith(f"{live_server}/")] == [], "no CDN, nothing from outside"
    assert "grc — ISO certification and risk API" in page.inner_text(".info .title")
    me = page.locator("#operations-auth-me")
    me.scroll_into_view_if_needed()
    assert me.is_visible() and "The caller: user or API client" in me.inner_text()
    shot = page.screenshot(path=str(tmp_path / "docs.png"), full_page=False)
    assert png_size(shot) == (VIEWPORT["width"], VIEWPORT["height"])
    assert distinct_colours(shot) > 50, "the screenshot of /docs is nearly blank"
    operation_shot = me.locator(".opblock-summary").screenshot()
    width, height = png_size(operation_shot)
    assert width > 600 and height > 20


def test_docs_try_it_out_calls_me_with_the_bearer_token_of_a_login(live_server, world, scripted_page):
    page = scripted_page
    login = page.request.post(f"{live_server}/api/v1/auth/login",
                              data={"email": "cb_admin@cb-a.test", "password": PASSWORD})
    assert login.status == 200, login.text()
    token = login.json()["access_token"]
    page.goto(f"{live_server}/docs", wait_until="networkidle")

    page.locator(".scheme-container button.authorize").click()
    dialog = page.locator(".modal-ux")
    dialog.locator("input[type=text]").fill(token)
    dialog.locator(".auth-btn-wrapper button.authorize").click()
    assert dialog.get_by_text("Authorized").first.is_visible()
    dialog.locator("button.btn-done").click()

    me = page.locator("#operations-auth-me")
    me.locator(".opblock-summary-control").click()
    me.locator("button.try-out__btn").click()
    with page.expect_response(f"{live_server}/api/v1/me") as answer:
        me.locator("button.execute").click()
    assert answer.value.status == 200
    assert answer.value.request.headers["authorization"] == f"Bearer {token}"
    live = me.locator(".live-responses-table .response")
    assert live.locator(".response-col_status").inner_text().strip() == "200"
    body = live.locator(".response-col_description pre").first.inner_text()
    assert '"cb_admin"' in body and str(world.tenants["cb-a"]) in body
