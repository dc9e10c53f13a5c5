"""C10: anyone, without logging in, checks a certificate by CB and number; nothing else is exposed; rate-limited.

The JSON lookup (``GET /api/v1/public/certificates/{cb_slug}/{number}``) and the HTML page
(``GET /verify/{cb_slug}/{number}``) read the same public view (grc.certification.public) and share one
rate-limit budget per client IP.
"""
from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, timedelta

import pytest

from grc.certification.public import PUBLIC_FIELDS, PUBLIC_SITE_FIELDS
from tests.certificates import issue_certificate

API = "/api/v1/public/certificates"
PROBLEM = "application/problem+json"

# The documented public shape (C10, docs/DOMAIN-RULES.md), spelled out so a change to the code cannot move it silently.
DOCUMENTED_FIELDS = {
    "number", "status", "client_name", "client_country", "standard", "scheme_title", "scope", "sites",
    "effective_date", "original_issue_date", "expiry_date", "cb_name", "cb_slug", "verified_at", "credential_url",
}
DOCUMENTED_SITE_FIELDS = {"name", "country", "scope"}


def lookup(client, cb_slug: str, number: str, **kwargs):  # type: ignore[no-untyped-def]
    return client.get(f"{API}/{cb_slug}/{number}", **kwargs)


def page(client, cb_slug: str, number: str, **kwargs):  # type: ignore[no-untyped-def]
    return client.get(f"/verify/{cb_slug}/{number}", **kwargs)


def assert_problem(response, status: int) -> dict:  # type: ignore[no-untyped-def,type-arg]
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = response.get_json()
    assert body["status"] == status and body["title"] and body["type"].startswith("https://")
    return body


def test_C10_anyone_without_login_checks_a_certificate_by_cb_and_number(app, client, world):
    cert = issue_certificate(app, world)
    response = lookup(client, "cb-a", cert.number)  # no Authorization header at all
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "public, max-age=60"
    body = response.get_json()
    assert body["number"] == cert.number and body["status"] == "active"
    assert body["client_name"] == "Client A" and body["client_country"] == "FR"
    assert body["standard"] == "ISO 9001:2015"
    assert body["scope"] == "Design and manufacture of precision valves"
    assert [s["name"] for s in body["sites"]] == ["Head office", "Lyon plant"]
    assert body["sites"][1] == {"name": "Lyon plant", "country": "FR", "scope": "Manufacture of precision valves"}
    assert body["effective_date"] == cert.content["effective_date"]
    assert body["original_issue_date"] == cert.content["original_issue_date"]
    assert body["expiry_date"] == cert.content["expiry_date"]
    assert body["cb_name"] == "CB A" and body["cb_slug"] == "cb-a"
    assert body["verified_at"].startswith(date.today().isoformat()[:4])
    assert body["credential_url"] == f"http://127.0.0.1:5000{API}/cb-a/{cert.number}/credential"  # V2

    html = page(client, "cb-a", cert.number)
    assert html.status_code == 200 and html.mimetype == "text/html"
    assert html.headers["Cache-Control"] == "public, max-age=60"
    text = html.get_data(as_text=True)
    assert f"Certificate {cert.number} is VALID" in text
    for shown in ("Client A", "ISO 9001:2015", "Lyon plant", cert.content["expiry_date"], "CB A"):
        assert shown in text


def test_C10_the_answer_holds_exactly_the_documented_public_fields(app, client, world):
    cert = issue_certificate(app, world)
    body = lookup(client, "cb-a", cert.number).get_json()
    assert set(body) == DOCUMENTED_FIELDS == PUBLIC_FIELDS
    assert body["sites"] and all(set(site) == DOCUMENTED_SITE_FIELDS == PUBLIC_SITE_FIELDS for site in body["sites"])
    # Nothing private leaks anywhere in the JSON or the page: ids, tenant ids, legal name, street addresses.
    private = [str(cert.id), str(world.tenants["cb-a"]), str(world.tenants["client-a"]),
               "Client client-a Ltd", "rue du Test", "quai Secret", "initial certification"]
    for response in (lookup(client, "cb-a", cert.number), page(client, "cb-a", cert.number)):
        text = response.get_data(as_text=True)
        assert [p for p in private if p in text] == []


def test_C10_the_spec_documents_the_lookup_as_public_with_exactly_those_fields(app):
    spec = app.extensions["grc.api"].spec.to_dict()
    operation = spec["paths"]["/api/v1/public/certificates/{cb_slug}/{number}"]["get"]
    assert operation["security"] == []
    assert {"200", "404", "429"} <= set(operation["responses"])
    schema_name = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    schema = spec["components"]["schemas"][schema_name]
    assert set(schema["properties"]) == DOCUMENTED_FIELDS


@pytest.mark.parametrize(("status", "word"), [("suspended", "SUSPENDED"), ("withdrawn", "WITHDRAWN"),
                                              ("expired", "EXPIRED")])
def test_C10_suspended_withdrawn_and_expired_certificates_are_shown_as_such(app, client, world, status, word):
    past = date.today() - timedelta(days=3 * 365 + 5)
    cert = issue_certificate(app, world, status=status, issued_on=past if status == "expired" else None)
    body = lookup(client, "cb-a", cert.number).get_json()
    assert body["status"] == status
    text = page(client, "cb-a", cert.number).get_data(as_text=True)
    assert f"Certificate {cert.number} is {word}" in text
    assert "VALID" not in text.replace(word, "")


def test_C10_an_active_certificate_past_its_expiry_date_is_shown_expired_before_the_sweep_runs(app, client, world):
    cert = issue_certificate(app, world, status="active", issued_on=date.today() - timedelta(days=400),
                             expiry_date=date.today() - timedelta(days=1))
    assert lookup(client, "cb-a", cert.number).get_json()["status"] == "expired"
    assert f"Certificate {cert.number} is EXPIRED" in page(client, "cb-a", cert.number).get_data(as_text=True)


def test_C10_an_unknown_number_or_another_cbs_slug_answers_404_problem(app, client, world):
    cert = issue_certificate(app, world)
    other = issue_certificate(app, world, cb="cb-b", client="client-b")
    for cb_slug, number in [
        ("cb-a", cert.number + "9"),  # unknown number
        ("cb-b", cert.number),  # another CB's slug: numbers are unique per CB only
        ("cb-a", other.number),  # cb-b's certificate asked of cb-a
        ("client-a", cert.number),  # a client organisation is not a certification body
        ("no-such-cb", cert.number),
        ("cb-a", cert.number.lower()),
        ("cb-a", "x" * 500),
        ("cb-a", "NUL%00BYTE"),  # PostgreSQL refuses U+0000: must be a 404, not a 500
    ]:
        body = assert_problem(lookup(client, cb_slug, number), 404)
        assert cert.number not in json.dumps(body) or number.startswith(cert.number)
        html = page(client, cb_slug, number)
        assert html.status_code == 404 and html.mimetype == "text/html"
        assert "No certificate" in html.get_data(as_text=True)
    assert lookup(client, "cb-b", other.number).status_code == 200


def test_C10_a_number_with_slashes_is_found(app, client, world):
    """CB numbering templates may contain '/' (e.g. ``{cb}/{scheme}/{yyyy}/{seq:05}``)."""
    cert = issue_certificate(app, world, number="CB-A/ISO9001/2026/00042")
    assert lookup(client, "cb-a", cert.number).get_json()["number"] == "CB-A/ISO9001/2026/00042"
    assert "Certificate CB-A/ISO9001/2026/00042 is VALID" in page(client, "cb-a", cert.number).get_data(as_text=True)


def test_C10_the_verify_form_sends_people_to_the_certificate_page(app, client, world):
    cert = issue_certificate(app, world)
    form = client.get("/verify")
    assert form.status_code == 200 and form.mimetype == "text/html"
    assert form.headers["Cache-Control"] == "public, max-age=60"
    text = form.get_data(as_text=True)
    assert 'name="cb"' in text and 'name="number"' in text and "<script" not in text
    redirect = client.get("/verify", query_string={"cb": " cb-a ", "number": cert.number})
    assert redirect.status_code == 303 and redirect.headers["Location"].endswith(f"/verify/cb-a/{cert.number}")
    followed = client.get("/verify", query_string={"cb": "cb-a", "number": cert.number}, follow_redirects=True)
    assert f"Certificate {cert.number} is VALID" in followed.get_data(as_text=True)
    incomplete = client.get("/verify", query_string={"cb": "cb-a", "number": ""})
    assert incomplete.status_code == 200 and "Please enter both" in incomplete.get_data(as_text=True)


def test_C10_lookups_are_rate_limited_per_ip_with_retry_after(app, client, world):
    cert = issue_certificate(app, world)
    settings = app.config["GRC_SETTINGS"]
    app.config["GRC_SETTINGS"] = replace(settings, public_rate_limit="3 per hour")
    try:
        statuses = [lookup(client, "cb-a", cert.number).status_code for _ in range(3)]
        statuses.append(lookup(client, "cb-a", "UNKNOWN-1").status_code)  # misses count too: no free probing
        assert statuses == [200, 200, 200, 429]
        limited = lookup(client, "cb-a", cert.number)
        assert_problem(limited, 429)
        assert int(limited.headers["Retry-After"]) > 0
        assert "Cache-Control" not in limited.headers or "max-age=60" not in limited.headers["Cache-Control"]
        # The HTML page shares the budget: a scraper cannot switch to the page to go on.
        html = page(client, "cb-a", cert.number)
        assert html.status_code == 429 and html.mimetype == "text/html"
        assert int(html.headers["Retry-After"]) > 0
        # Another address has its own budget.
        assert lookup(client, "cb-a", cert.number, environ_base={"REMOTE_ADDR": "192.0.2.7"}).status_code == 200
    finally:
        app.config["GRC_SETTINGS"] = settings


def test_C10_every_lookup_tells_its_budget_counted_by_the_hit_itself(app, client, world):
    """The X-RateLimit headers come from the lookup's own count, in windows aligned to the clock (limits are
    per hour here, so no test straddles a window's end: hourly windows end on the hour)."""
    cert = issue_certificate(app, world)
    settings = app.config["GRC_SETTINGS"]
    app.config["GRC_SETTINGS"] = replace(settings, public_rate_limit="5 per hour")
    try:
        answers = [lookup(client, "cb-a", cert.number, environ_base={"REMOTE_ADDR": "192.0.2.9"}) for _ in range(3)]
        assert [a.headers["X-RateLimit-Limit"] for a in answers] == ["5", "5", "5"]
        assert [a.headers["X-RateLimit-Remaining"] for a in answers] == ["4", "3", "2"]
        resets = {int(a.headers["X-RateLimit-Reset"]) for a in answers}
        assert len(resets) == 1 and (resets.pop() - 1) % 3600 == 0  # the next full hour (flask-limiter adds 1 s)
    finally:
        app.config["GRC_SETTINGS"] = settings


def test_C10_the_lookup_ignores_any_token_and_never_needs_one(app, client, world):
    cert = issue_certificate(app, world)
    for headers in ({"Authorization": "Bearer garbage"}, world.headers("cb_admin@cb-b.test")):
        response = lookup(client, "cb-a", cert.number, headers=headers)
        assert response.status_code == 200 and response.get_json()["number"] == cert.number
