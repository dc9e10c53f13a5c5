"""Certification-mark licences (M1-M3, docs/DOMAIN-RULES.md): granting, following the certificates, the public
badge and page."""
from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from grc import tenancy
from grc.certification.models import Certificate, CertificateStatus
from grc.events import OutboxMessage
from grc.extensions import db
from grc.marks.models import MarkLicence
from grc.marks.service import follow_certificate
from grc.tenants.models import Tenant
from tests.marks_factory import change_certificate, make_certificate
from tests.world import World, act_as

API = "/api/v1/mark-licences"
SVG_NS = "{http://www.w3.org/2000/svg}"
MANAGER = "certification_manager@cb-a.test"
PUBLIC_KEYS = {"number", "status", "client_name", "cb_name", "standards", "certificates", "permitted_uses", "domains",
               "domain_proofs", "credential"}
PUBLIC_CERTIFICATE_KEYS = {"number", "standard", "status", "verify_url"}


def ok(response, status: int = 200) -> Any:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


def grant(client: FlaskClient, world: World, certificate_ids: list[uuid.UUID], **overrides: Any):  # type: ignore[no-untyped-def]
    body = {"client_id": str(world.tenants["client-a"]), "certificate_ids": [str(c) for c in certificate_ids],
            "permitted_uses": ["website", "stationery"], "domains": ["Example.COM", "widgets.example.org."],
            **overrides}
    return client.post(API, headers=world.headers(MANAGER), json=body)


def licence_of(client: FlaskClient, world: World, app: Flask, **overrides: Any) -> tuple[dict[str, Any], uuid.UUID]:
    certificate_id = make_certificate(app, world, number="CB-A-9001-0001")
    return ok(grant(client, world, [certificate_id], **overrides), 201), certificate_id


def act(client: FlaskClient, world: World, licence: dict[str, Any], verb: str, who: str = MANAGER):  # type: ignore[no-untyped-def]
    return client.post(f"{API}/{licence['id']}/{verb}", headers=world.headers(who), json={"reason": f"{verb} test"})


def badge(client: FlaskClient, number: str, **kwargs: Any) -> tuple[Any, ET.Element, str]:
    response = client.get(f"/badges/{number}.svg", **kwargs)
    root = ET.fromstring(response.get_data())  # valid XML, or this raises
    return response, root, " ".join(t.text or "" for t in root.iter(f"{SVG_NS}text"))


def licence_state(client: FlaskClient, number: str) -> str:
    """The badge as our own page shows it: the licence's state, wherever it may be shown (V4 is test_mark_domains)."""
    return badge(client, number, headers={"Referer": f"http://localhost/badges/{number}"})[2]


def outbox_topics(app: Flask) -> list[str]:
    with app.app_context(), tenancy.system_scope(db.session):
        return [m.topic for m in db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))]


# --------------------------------------------------------------------------- M1: granting


def test_M1_grant_for_active_certificates_with_website_and_domains(
    app: Flask, client: FlaskClient, world: World
) -> None:
    first = make_certificate(app, world)
    second = make_certificate(app, world, scheme=("ISO/IEC 27001", "2022"))
    licence = ok(grant(client, world, [first, second]), 201)
    assert re.fullmatch(r"ML-[A-Z2-7]{10}", licence["number"])
    assert licence["status"] == "active" and licence["suspended_by_cb"] is False
    assert licence["client_id"] == str(world.tenants["client-a"])
    assert licence["permitted_uses"] == ["website", "stationery"]
    assert licence["domains"] == ["example.com", "widgets.example.org"]  # lower-cased, trailing dot dropped
    assert {c["id"] for c in licence["certificates"]} == {str(first), str(second)}
    assert {c["standard"] for c in licence["certificates"]} == {"ISO 9001:2015", "ISO/IEC 27001:2022"}
    assert licence["badge_url"] == f"/badges/{licence['number']}.svg"
    assert "mark_licence.granted" in outbox_topics(app)
    other = ok(grant(client, world, [first]), 201)
    assert other["number"] != licence["number"]  # every licence gets its own public number


@pytest.mark.parametrize("use", ["product", "packaging", "test_report", "certificate_of_conformity", "mugs"])
def test_M1_use_on_products_packaging_or_reports_is_refused_422(
    app: Flask, client: FlaskClient, world: World, use: str
) -> None:
    certificate_id = make_certificate(app, world)
    body = ok(grant(client, world, [certificate_id], permitted_uses=["website", use]), 422)
    assert list(body["errors"]) == ["permitted_uses"]
    assert use in body["detail"] and "M1" in body["detail"] and body["rule"] == "M1"
    assert ok(client.get(API, headers=world.headers(MANAGER)))["items"] == []


def test_M1_website_use_needs_valid_domains(app: Flask, client: FlaskClient, world: World) -> None:
    certificate_id = make_certificate(app, world)
    assert "domains" in ok(grant(client, world, [certificate_id], domains=[]), 422)["errors"]
    for bad in ("not a host", "localhost", "-bad.example.com", "example.com/path", "1.2.3.4"):
        assert "domains" in ok(grant(client, world, [certificate_id], domains=[bad]), 422)["errors"], bad
    offline = ok(grant(client, world, [certificate_id], permitted_uses=["stationery", "vehicles"], domains=[]), 201)
    assert offline["domains"] == []


def test_M1_a_suspended_or_another_clients_certificate_is_refused_422(
    app: Flask, client: FlaskClient, world: World
) -> None:
    suspended = make_certificate(app, world, status="suspended")
    withdrawn = make_certificate(app, world, status="withdrawn")
    other_cb = make_certificate(app, world, cb="cb-b", client="client-b")
    second_client = ok(client.post("/api/v1/clients", headers=world.headers("cb_admin@cb-a.test"), json={
        "name": "Second client", "legal_name": "Second client Ltd", "country": "FR", "address": "3 rue X, Lyon",
        "admin": {"email": "admin@second.test", "name": "Admin", "password": "a long enough password"}}), 201)
    other_client = make_certificate(app, world, client_tenant_id=uuid.UUID(second_client["id"]))
    active = make_certificate(app, world)
    for refused in (suspended, withdrawn, other_cb, other_client, uuid.uuid4()):
        body = ok(grant(client, world, [active, refused]), 422)
        assert list(body["errors"]) == ["certificate_ids"], refused
    assert "client_id" in ok(grant(client, world, [active], client_id=str(world.tenants["client-b"])), 422)["errors"]
    assert ok(client.get(API, headers=world.headers(MANAGER)))["items"] == []


# --------------------------------------------------------------------------- M2: following the certificates


def test_M2_certificate_suspended_suspends_the_licence_in_the_same_transaction_and_restored_restores_it(
    app: Flask, client: FlaskClient, world: World
) -> None:
    licence, certificate_id = licence_of(client, world, app)
    with app.app_context():
        act_as(MANAGER)  # a CB user changes its certificate: the licence rows are the CB's own
        certificate = db.session.get(Certificate, certificate_id)
        certificate.status = CertificateStatus.suspended
        follow_certificate(db.session, certificate)
        row = db.session.get(MarkLicence, uuid.UUID(licence["id"]))
        assert row.status.value == "suspended"  # before the commit: the same transaction
        db.session.rollback()
    assert ok(client.get(f"{API}/{licence['id']}", headers=world.headers(MANAGER)))["status"] == "active"

    change_certificate(app, certificate_id, "suspended")
    shown = ok(client.get(f"{API}/{licence['id']}", headers=world.headers(MANAGER)))
    assert shown["status"] == "suspended" and shown["suspended_by_cb"] is False
    assert shown["status_reason"] == "Certificate CB-A-9001-0001 is suspended."
    assert "SUSPENDED" in badge(client, licence["number"])[2]
    assert "mark_licence.suspended" in outbox_topics(app)

    change_certificate(app, certificate_id, "active")
    assert ok(client.get(f"{API}/{licence['id']}", headers=world.headers(MANAGER)))["status"] == "active"
    assert "VALID" in licence_state(client, licence["number"])
    assert outbox_topics(app).count("mark_licence.active") == 1


def test_M2_a_certificate_suspended_through_the_api_suspends_its_licence_by_subscription(
    app: Flask, client: FlaskClient, world: World
) -> None:
    """The certification service announces certificate.suspended and knows nothing of licences; the licence follows
    because the marks domain subscribes (grc.events), in the request's own transaction."""
    licence, certificate_id = licence_of(client, world, app)
    until = (datetime.now(UTC).date() + timedelta(days=30)).isoformat()
    ok(client.post(f"/api/v1/certificates/{certificate_id}/suspend", headers=world.headers(MANAGER),
                   json={"reason": "Overdue major nonconformity", "until": until}))
    shown = ok(client.get(f"{API}/{licence['id']}", headers=world.headers(MANAGER)))
    assert shown["status"] == "suspended" and shown["status_reason"] == "Certificate CB-A-9001-0001 is suspended."
    assert outbox_topics(app)[-2:] == ["certificate.suspended", "mark_licence.suspended"]


def test_M2_certificate_withdrawn_withdraws_the_licence_for_good(app: Flask, client: FlaskClient, world: World) -> None:
    licence, certificate_id = licence_of(client, world, app)
    change_certificate(app, certificate_id, "withdrawn")
    assert ok(client.get(f"{API}/{licence['id']}", headers=world.headers(MANAGER)))["status"] == "withdrawn"
    assert "WITHDRAWN" in badge(client, licence["number"])[2]
    change_certificate(app, certificate_id, "active")  # withdrawn is terminal for the licence
    assert ok(client.get(f"{API}/{licence['id']}", headers=world.headers(MANAGER)))["status"] == "withdrawn"
    assert ok(act(client, world, licence, "restore"), 409)["rule"] == "M2"


def test_M2_expiry_withdraws_the_licence_once_every_certificate_is_gone(
    app: Flask, client: FlaskClient, world: World
) -> None:
    first = make_certificate(app, world)
    second = make_certificate(app, world, scheme=("ISO/IEC 27001", "2022"))
    licence = ok(grant(client, world, [first, second]), 201)
    change_certificate(app, first, "expired", as_user=None)  # the daily sweep, in system scope
    assert ok(client.get(f"{API}/{licence['id']}", headers=world.headers(MANAGER)))["status"] == "suspended"
    change_certificate(app, second, "expired", as_user=None)
    assert ok(client.get(f"{API}/{licence['id']}", headers=world.headers(MANAGER)))["status"] == "withdrawn"
    topics = outbox_topics(app)
    assert topics.count("mark_licence.suspended") == 1 and topics.count("mark_licence.withdrawn") == 1


def test_M2_an_unchanged_status_writes_nothing(app: Flask, client: FlaskClient, world: World) -> None:
    licence, certificate_id = licence_of(client, world, app)
    before = ok(client.get(f"{API}/{licence['id']}", headers=world.headers(MANAGER)))
    change_certificate(app, certificate_id, "active")
    after = ok(client.get(f"{API}/{licence['id']}", headers=world.headers(MANAGER)))
    assert after["updated_at"] == before["updated_at"]
    assert [t for t in outbox_topics(app) if t.startswith("mark_licence.")] == ["mark_licence.granted"]


def test_M2_the_licences_own_suspension_restoration_and_withdrawal(
    app: Flask, client: FlaskClient, world: World
) -> None:
    licence, certificate_id = licence_of(client, world, app)
    suspended = ok(act(client, world, licence, "suspend"))
    assert suspended["status"] == "suspended" and suspended["suspended_by_cb"] is True
    assert suspended["status_reason"] == "suspend test"
    assert ok(act(client, world, licence, "suspend"), 409)["rule"] == "M2"
    assert "SUSPENDED" in badge(client, licence["number"])[2]

    change_certificate(app, certificate_id, "suspended")
    body = ok(act(client, world, licence, "restore"), 409)  # its certificate does not allow it
    assert body["rule"] == "M2" and "CB-A-9001-0001" in body["detail"]
    change_certificate(app, certificate_id, "active")  # the CB's own suspension still holds
    assert ok(client.get(f"{API}/{licence['id']}", headers=world.headers(MANAGER)))["status"] == "suspended"
    restored = ok(act(client, world, licence, "restore"))
    assert restored["status"] == "active" and restored["suspended_by_cb"] is False

    change_certificate(app, certificate_id, "suspended")
    assert ok(act(client, world, licence, "restore"), 409)["rule"] == "M2"  # suspended by its certificate only
    change_certificate(app, certificate_id, "active")

    assert ok(act(client, world, licence, "withdraw"))["status"] == "withdrawn"
    for verb in ("withdraw", "suspend", "restore"):
        assert ok(act(client, world, licence, verb), 409)["rule"] == "M2", verb
    assert "WITHDRAWN" in badge(client, licence["number"])[2]


# --------------------------------------------------------------------------- M3: the public badge and page


def test_M3_badge_is_valid_svg_with_a_short_public_cache(app: Flask, client: FlaskClient, world: World) -> None:
    licence, _ = licence_of(client, world, app)
    response, root, text = badge(client, licence["number"], headers={"Referer": "http://localhost/badges/x"})
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert response.headers["Cache-Control"] == "public, max-age=300"
    assert root.tag == f"{SVG_NS}svg" and (root.get("width"), root.get("height")) == ("200", "60")
    assert "CB A" in text and "ISO 9001:2015" in text and "VALID" in text
    assert badge(client, licence["number"].lower())[0].status_code == 200


def test_M3_badge_and_page_escape_every_text(app: Flask, client: FlaskClient, world: World) -> None:
    hostile = 'CB <A> & "Sons" </text><script>x</script>'
    with app.app_context(), tenancy.system_scope(db.session):
        db.session.get(Tenant, world.tenants["cb-a"]).name = hostile
        db.session.commit()
    licence, _ = licence_of(client, world, app)
    _, root, text = badge(client, licence["number"])
    assert not list(root.iter(f"{SVG_NS}script")) and not list(root.iter("script"))
    assert hostile[:29] in text
    page = client.get(f"/badges/{licence['number']}").get_data(as_text=True)
    assert "<script>" not in page and "CB &lt;A&gt; &amp; &quot;Sons&quot;" in page


def test_M3_badge_on_a_domain_not_on_the_licence_says_not_licensed(
    app: Flask, client: FlaskClient, world: World
) -> None:
    licence, _ = licence_of(client, world, app)
    number = licence["number"]
    assert "NOT LICENSED FOR evil.example.net" in badge(client, number, query_string={"domain": "evil.example.net"})[2]
    assert "NOT LICENSED FOR notexample.com" in badge(client, number, query_string={"domain": "notexample.com"})[2]
    for allowed in ("example.com", "WWW.Example.com", "https://shop.widgets.example.org/x"):  # licensed, unproven (V4)
        assert "DOMAIN NOT VERIFIED" in badge(client, number, query_string={"domain": allowed})[2], allowed
    assert "DOMAIN NOT VERIFIED" in badge(client, number, headers={"Referer": "https://www.example.com/about"})[2]
    referred = badge(client, number, headers={"Referer": "https://copycat.example.net:8443/page"})[2]
    assert "NOT LICENSED FOR copycat.example.net" in referred
    assert "VALID" in licence_state(client, number)  # our own page shows the licence's state
    page = client.get(f"/badges/{number}", query_string={"domain": "evil.example.net"}).get_data(as_text=True)
    assert "NOT LICENSED FOR evil.example.net" in page and "is valid" in page


def test_M3_page_says_the_state_in_plain_words_and_links_the_certificate_check(
    app: Flask, client: FlaskClient, world: World
) -> None:
    licence, certificate_id = licence_of(client, world, app)
    response = client.get(f"/badges/{licence['number']}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert response.headers["Cache-Control"] == "public, max-age=300"
    assert "This licence is valid" in page and "Client client-a Ltd" in page and "CB A" in page
    assert 'href="/verify/cb-a/CB-A-9001-0001"' in page
    change_certificate(app, certificate_id, "suspended")
    assert "This licence is suspended" in client.get(f"/badges/{licence['number']}").get_data(as_text=True)
    change_certificate(app, certificate_id, "withdrawn")
    assert "This licence has been withdrawn" in client.get(f"/badges/{licence['number']}").get_data(as_text=True)


def test_M3_public_json_exposes_exactly_the_public_fields(app: Flask, client: FlaskClient, world: World) -> None:
    licence, certificate_id = licence_of(client, world, app)
    response = client.get(f"/api/v1/public/mark-licences/{licence['number']}")
    body = ok(response)
    assert set(body) == PUBLIC_KEYS
    assert [set(c) for c in body["certificates"]] == [PUBLIC_CERTIFICATE_KEYS]
    assert body.pop("credential").count(".") == 2  # a compact JWS (V2; tests/test_credentials.py verifies it)
    assert body == {
        "number": licence["number"], "status": "active", "client_name": "Client client-a Ltd", "cb_name": "CB A",
        "standards": ["ISO 9001:2015"], "permitted_uses": ["website", "stationery"],
        "domains": ["example.com", "widgets.example.org"],
        "domain_proofs": [{"domain": domain, "state": "unverified", "method": None, "proven_at": None,
                           "last_checked_at": None} for domain in ("example.com", "widgets.example.org")],
        "certificates": [{"number": "CB-A-9001-0001", "standard": "ISO 9001:2015", "status": "active",
                          "verify_url": "/verify/cb-a/CB-A-9001-0001"}],
    }
    text = response.get_data(as_text=True)
    for secret in (licence["id"], str(certificate_id), str(world.tenants["cb-a"]), str(world.tenants["client-a"])):
        assert secret not in text


def test_M3_unknown_numbers_answer_404_in_each_format(client: FlaskClient, world: World) -> None:
    response = client.get("/api/v1/public/mark-licences/ML-AAAAAAAAAA")
    assert response.status_code == 404 and response.mimetype == "application/problem+json"
    response, _root, text = badge(client, "ML-AAAAAAAAAA")
    assert response.status_code == 404 and response.mimetype == "image/svg+xml" and "NOT FOUND" in text
    for number in ("ML-AAAAAAAAAA", "nonsense", "ML-" + "A" * 100):
        page = client.get(f"/badges/{number}")
        assert page.status_code == 404 and page.mimetype == "text/html", number
        assert client.get(f"/api/v1/public/mark-licences/{number}").status_code == 404


# --------------------------------------------------------------------------- who sees and changes a licence


def test_another_cbs_users_can_neither_see_nor_change_the_licence(
    app: Flask, client: FlaskClient, world: World
) -> None:
    licence, _ = licence_of(client, world, app)
    for email in world.emails("cb-b") + world.emails("client-b"):
        headers = world.headers(email)
        assert client.get(f"{API}/{licence['id']}", headers=headers).status_code == 404, email
        for verb in ("suspend", "restore", "withdraw"):
            assert act(client, world, licence, verb, who=email).status_code == 404, (email, verb)
        assert ok(client.get(API, headers=headers))["items"] == []
    assert ok(client.get(f"{API}/{licence['id']}", headers=world.headers(MANAGER)))["status"] == "active"


def test_the_client_reads_its_licence_but_cannot_change_it(app: Flask, client: FlaskClient, world: World) -> None:
    licence, _ = licence_of(client, world, app)
    for email in world.emails("client-a"):
        headers = world.headers(email)
        assert ok(client.get(f"{API}/{licence['id']}", headers=headers))["number"] == licence["number"]
        assert [i["id"] for i in ok(client.get(API, headers=headers))["items"]] == [licence["id"]]
        for verb in ("suspend", "restore", "withdraw"):
            assert act(client, world, licence, verb, who=email).status_code == 403, (email, verb)
        assert client.post(API, headers=headers, json={}).status_code == 403
    for role in ("cb_admin", "auditor", "cb_viewer"):
        seen = ok(client.get(f"{API}/{licence['id']}", headers=world.headers(f"{role}@cb-a.test")))
        assert seen["id"] == licence["id"]
        assert act(client, world, licence, "suspend", who=f"{role}@cb-a.test").status_code == 403
    assert ok(client.get(f"{API}/{licence['id']}", headers=world.headers(MANAGER)))["status"] == "active"


def test_list_filters_by_client_status_and_certificate(app: Flask, client: FlaskClient, world: World) -> None:
    first, second = make_certificate(app, world), make_certificate(app, world)
    one = ok(grant(client, world, [first]), 201)
    two = ok(grant(client, world, [second]), 201)
    ok(act(client, world, two, "suspend"))
    headers = world.headers(MANAGER)

    def ids(**query: str) -> list[str]:
        return [item["id"] for item in ok(client.get(API, headers=headers, query_string=query))["items"]]

    assert ids() == [one["id"], two["id"]]
    assert ids(status="suspended") == [two["id"]]
    assert ids(certificate_id=str(first)) == [one["id"]]
    assert ids(client_id=str(world.tenants["client-a"])) == [one["id"], two["id"]]
    assert ids(client_id=str(world.tenants["client-b"])) == []
    assert client.get(API, headers=headers, query_string={"status": "nonsense"}).status_code == 422
