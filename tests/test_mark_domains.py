"""Rule V4: a badge is valid only on a domain the licensee proved it controls, re-checked on a schedule.

Real servers on loopback, no mocks: a DNS server (dnslib) answers for ``shop.example`` (its A record points at
127.0.0.1, its ``_grc-mark`` TXT record holds what the test publishes) and a web server serves the HTTP tokens.
The app asks that DNS server (``GRC_DNS_NAMESERVERS``), fetches the HTTP challenge over plain http on the web
server's port (``GRC_MARK_HTTP_CHALLENGE_PORT``) and may reach 127.0.0.1 because the operator's allow list says so
(``GRC_WEBHOOK_ALLOWED_HOSTS``), except in the test that shows the guard refusing it.
"""
from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from dnslib import QTYPE, RCODE, RR, TXT, A
from dnslib.server import BaseResolver, DNSLogger, DNSServer
from flask import Flask
from flask.testing import FlaskClient

from grc.db import utcnow
from grc.jobs.job_functions import recheck_mark_domains, relay_outbox
from tests.independent_vc import Jws, jwks_of, signature_holds
from tests.marks_factory import make_certificate
from tests.test_marks import API, MANAGER, badge, ok
from tests.world import World

SHOP = "shop.example"
LICENSEE = "client_admin@client-a.test"
LAPSED = "mark_licence.domain_proof_lapsed"


# --------------------------------------------------------------------------- the servers on loopback


@dataclass
class Zone(BaseResolver):  # type: ignore[misc]
    """A DNS server's records: (name, type) -> values; a name it has no record of at all is NXDOMAIN."""

    records: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    def resolve(self, request: Any, handler: Any) -> Any:
        reply = request.reply()
        name, qtype = str(request.q.qname).rstrip(".").lower(), QTYPE[request.q.qtype]
        if not any(known == name for known, _ in self.records):
            reply.header.rcode = RCODE.NXDOMAIN
        for value in self.records.get((name, qtype), []):
            rdata = A(value) if qtype == "A" else TXT(value)
            reply.add_answer(RR(request.q.qname, getattr(QTYPE, qtype), rdata=rdata, ttl=0))
        return reply


@dataclass
class Site:
    """A web server's pages: path -> body (anything else is 404)."""

    pages: dict[str, str] = field(default_factory=dict)
    port: int = 0


@dataclass
class Internet:
    zone: Zone
    site: Site

    def point(self, domain: str, address: str = "127.0.0.1") -> None:
        self.zone.records[(domain, "A")] = [address]

    def txt(self, domain: str, *values: str) -> None:
        self.zone.records[(f"_grc-mark.{domain}", "TXT")] = list(values)


@pytest.fixture
def internet(app: Flask) -> Iterator[Internet]:
    zone, site = Zone(), Site()
    dns = DNSServer(zone, address="127.0.0.1", port=0,
                    logger=DNSLogger("-recv,-send,-request,-reply,-truncated,-error,-data", prefix=False))
    dns.start_thread()

    class Pages(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
            body = site.pages.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.end_headers()
            self.wfile.write((body or "not here").encode())

        def log_message(self, *_: Any) -> None:
            pass

    web = ThreadingHTTPServer(("127.0.0.1", 0), Pages)
    site.port = web.server_address[1]
    threading.Thread(target=web.serve_forever, daemon=True).start()
    settings = app.config["GRC_SETTINGS"]
    app.config["GRC_SETTINGS"] = replace(
        settings, dns_nameservers=f"127.0.0.1:{dns.server.server_address[1]}", webhook_allowed_hosts="127.0.0.1",
        mark_http_challenge_port=str(site.port), mark_check_timeout_seconds=2)
    world_wide = Internet(zone, site)
    world_wide.point(SHOP)
    try:
        yield world_wide
    finally:
        app.config["GRC_SETTINGS"] = settings
        web.shutdown()
        web.server_close()
        dns.stop()


# --------------------------------------------------------------------------- helpers


def licence_for(app: Flask, client: FlaskClient, world: World, *domains: str) -> dict[str, Any]:
    certificate_id = make_certificate(app, world)
    return ok(client.post(API, headers=world.headers(MANAGER), json={
        "client_id": str(world.tenants["client-a"]), "certificate_ids": [str(certificate_id)],
        "permitted_uses": ["website"], "domains": list(domains or [SHOP])}), 201)


def challenge(client: FlaskClient, world: World, licence: dict[str, Any], method: str, domain: str = SHOP,
              who: str = LICENSEE):  # type: ignore[no-untyped-def]
    return client.post(f"{API}/{licence['id']}/domains/{domain}/challenges", headers=world.headers(who),
                       json={"method": method})


def check(client: FlaskClient, world: World, licence: dict[str, Any], domain: str = SHOP,
          who: str = LICENSEE):  # type: ignore[no-untyped-def]
    return client.post(f"{API}/{licence['id']}/domains/{domain}/check", headers=world.headers(who))


def prove_by_dns(client: FlaskClient, world: World, internet: Internet, licence: dict[str, Any],
                 domain: str = SHOP) -> dict[str, Any]:
    asked = ok(challenge(client, world, licence, "dns", domain), 201)["challenge"]
    internet.txt(domain, asked["token"])
    proven = ok(check(client, world, licence, domain))
    assert proven["state"] == "proven", proven
    return proven


def public(client: FlaskClient, licence: dict[str, Any]) -> dict[str, Any]:
    return ok(client.get(f"/api/v1/public/mark-licences/{licence['number']}"))


def state_on(client: FlaskClient, licence: dict[str, Any], host: str) -> str:
    return badge(client, licence["number"], headers={"Referer": f"https://{host}/about"})[2]


def recheck_at(app: Flask, moment: datetime) -> dict[str, int]:
    with app.app_context():
        return recheck_mark_domains(moment.isoformat())


# --------------------------------------------------------------------------- proving


def test_V4_every_domain_starts_unverified_in_the_licence_json_and_the_public_json(
        app: Flask, client: FlaskClient, world: World) -> None:
    licence = licence_for(app, client, world, SHOP, "other.example")
    unverified = [{"domain": SHOP, "state": "unverified", "method": None, "proven_at": None, "last_checked_at": None},
                  {"domain": "other.example", "state": "unverified", "method": None, "proven_at": None,
                   "last_checked_at": None}]
    assert licence["domain_proofs"] == unverified
    assert public(client, licence)["domain_proofs"] == unverified
    listed = ok(client.get(f"{API}/{licence['id']}/domains", headers=world.headers(MANAGER)))["items"]
    assert [(d["domain"], d["state"], d["challenge"]) for d in listed] == [(SHOP, "unverified", None),
                                                                           ("other.example", "unverified", None)]


def test_V4_an_http_proof_served_by_a_web_server_on_loopback(
        app: Flask, client: FlaskClient, world: World, internet: Internet) -> None:
    licence = licence_for(app, client, world)
    asked = ok(challenge(client, world, licence, "http"), 201)
    token = asked["challenge"]["token"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token) and asked["state"] == "unverified"
    assert asked["challenge"]["url"] == f"http://{SHOP}:{internet.site.port}/.well-known/grc-mark/{token}"
    internet.site.pages[f"/.well-known/grc-mark/{token}"] = token + "\n"

    proven = ok(check(client, world, licence))
    assert proven["state"] == "proven" and proven["method"] == "http" and proven["challenge"] is None
    assert proven["proven_at"] == proven["last_checked_at"] and proven["next_check_at"] > proven["proven_at"]
    assert public(client, licence)["domain_proofs"][0]["state"] == "proven"
    seen = ok(client.get(f"{API}/{licence['id']}", headers=world.headers(MANAGER)))["domain_proofs"]
    assert seen[0]["state"] == "proven" and seen[0]["method"] == "http"
    assert ok(check(client, world, licence), 409)["rule"] == "V4"  # the token proved once: a new check needs a new one


def test_V4_a_dns_proof_answered_by_a_dns_server_on_loopback(
        app: Flask, client: FlaskClient, world: World, internet: Internet) -> None:
    licence = licence_for(app, client, world)
    asked = ok(challenge(client, world, licence, "dns"), 201)["challenge"]
    assert asked["record_name"] == f"_grc-mark.{SHOP}" and asked["record_type"] == "TXT" and asked["url"] is None
    internet.txt(SHOP, "google-site-verification=something-else", asked["token"])
    proven = ok(check(client, world, licence))
    assert proven["state"] == "proven" and proven["method"] == "dns"


def test_V4_a_wrong_or_missing_token_fails_with_a_clear_reason_and_may_be_checked_again(
        app: Flask, client: FlaskClient, world: World, internet: Internet) -> None:
    licence = licence_for(app, client, world)
    token = ok(challenge(client, world, licence, "http"), 201)["challenge"]["token"]
    failed = ok(check(client, world, licence))
    assert failed["state"] == "unverified" and "answered HTTP 404" in failed["challenge"]["error"]
    internet.site.pages[f"/.well-known/grc-mark/{token}"] = "an old token"
    failed = ok(check(client, world, licence))
    assert failed["state"] == "unverified" and "its body is not the token" in failed["challenge"]["error"]

    token = ok(challenge(client, world, licence, "dns"), 201)["challenge"]["token"]
    assert ok(check(client, world, licence))["challenge"]["error"] == (
        f"_grc-mark.{SHOP} does not exist: publish a TXT record there whose value is the token")
    internet.txt(SHOP, "not-the-token")
    error = ok(check(client, world, licence))["challenge"]["error"]
    assert error == f"_grc-mark.{SHOP} has 1 TXT record(s), none of which is the token of this challenge"
    internet.txt(SHOP, token)
    assert ok(check(client, world, licence))["state"] == "proven"  # fixed, checked again


def test_V4_the_ssrf_guard_refuses_a_domain_resolving_to_a_private_address_not_allow_listed(
        app: Flask, client: FlaskClient, world: World, internet: Internet) -> None:
    licence = licence_for(app, client, world, SHOP, "intranet.example")
    internet.point("intranet.example", "10.0.0.5")
    ok(challenge(client, world, licence, "http", "intranet.example"), 201)
    error = ok(check(client, world, licence, "intranet.example"))["challenge"]["error"]
    assert "resolves to 10.0.0.5, an internal address" in error and "was not called" in error

    app.config["GRC_SETTINGS"] = replace(app.config["GRC_SETTINGS"], webhook_allowed_hosts="")  # loopback too
    token = ok(challenge(client, world, licence, "http"), 201)["challenge"]["token"]
    internet.site.pages[f"/.well-known/grc-mark/{token}"] = token
    refused = ok(check(client, world, licence))
    assert refused["state"] == "unverified" and "127.0.0.1, an internal address" in refused["challenge"]["error"]


def test_V4_a_check_needs_a_pending_challenge_on_a_domain_of_the_licence(
        app: Flask, client: FlaskClient, world: World) -> None:
    licence = licence_for(app, client, world)
    body = ok(check(client, world, licence), 409)
    assert body["rule"] == "V4" and "ask for one first" in body["detail"]
    assert challenge(client, world, licence, "http", "elsewhere.example").status_code == 404
    assert "method" in ok(challenge(client, world, licence, "ftp"), 422)["errors"]
    assert "domain" in ok(challenge(client, world, licence, "http", "not_a_host"), 422)["errors"]


def test_V4_only_the_licensees_admins_prove_its_domains_and_the_cb_reads_them(
        app: Flask, client: FlaskClient, world: World) -> None:
    licence = licence_for(app, client, world)
    for email in world.emails("client-b") + world.emails("cb-b"):  # another client, another CB: no such licence
        assert challenge(client, world, licence, "http", who=email).status_code == 404, email
        assert check(client, world, licence, who=email).status_code == 404, email
        assert client.get(f"{API}/{licence['id']}/domains", headers=world.headers(email)).status_code == 404
    for email in world.emails("cb-a") + ["member@client-a.test", "risk_manager@client-a.test"]:
        assert challenge(client, world, licence, "dns", who=email).status_code == 403, email
        assert client.get(f"{API}/{licence['id']}/domains", headers=world.headers(email)).status_code == 200
    assert ok(client.get(f"{API}/{licence['id']}/domains", headers=world.headers(MANAGER)))["items"][0]["challenge"] \
        is None


# --------------------------------------------------------------------------- the badge


def test_V4_a_badge_on_an_unproven_domain_says_domain_not_verified(
        app: Flask, client: FlaskClient, world: World) -> None:
    licence = licence_for(app, client, world)
    assert "DOMAIN NOT VERIFIED" in state_on(client, licence, SHOP)
    assert "DOMAIN NOT VERIFIED" in state_on(client, licence, f"www.{SHOP}")
    assert "DOMAIN NOT VERIFIED" in badge(client, licence["number"], query_string={"domain": SHOP})[2]
    assert "DOMAIN NOT VERIFIED" in badge(client, licence["number"])[2]  # nothing says where it is shown
    assert "NOT LICENSED FOR copycat.example" in state_on(client, licence, "copycat.example")
    page = client.get(f"/badges/{licence['number']}", headers={"Referer": f"https://{SHOP}/"}).get_data(as_text=True)
    assert "has not proven that it controls shop.example" in page and "not verified (DOMAIN NOT VERIFIED)" in page


def test_V4_a_badge_on_a_proven_domain_says_valid(
        app: Flask, client: FlaskClient, world: World, internet: Internet) -> None:
    licence = licence_for(app, client, world, SHOP, "other.example")
    prove_by_dns(client, world, internet, licence)
    assert "VALID" in state_on(client, licence, SHOP).split()
    assert "VALID" in state_on(client, licence, f"www.{SHOP}").split()  # subdomains of a proven domain (M3)
    assert "DOMAIN NOT VERIFIED" in state_on(client, licence, "other.example")
    # ?domain= is the embedder's word only: the badge names the domain for the visitor to compare
    assert "VALID FOR shop.example" in badge(client, licence["number"], query_string={"domain": SHOP})[2]
    # the Referer (the browser's word) wins over a ?domain= claiming a proven domain
    copied = badge(client, licence["number"], query_string={"domain": SHOP},
                   headers={"Referer": "https://other.example/"})[2]
    assert "DOMAIN NOT VERIFIED" in copied
    ok(client.post(f"{API}/{licence['id']}/suspend", headers=world.headers(MANAGER), json={"reason": "misuse"}))
    assert "SUSPENDED" in state_on(client, licence, SHOP)


def test_V4_the_badge_page_embeds_schema_org_certification_json_ld(
        app: Flask, client: FlaskClient, world: World, internet: Internet) -> None:
    licence = licence_for(app, client, world)
    prove_by_dns(client, world, internet, licence)
    page = client.get(f"/badges/{licence['number']}").get_data(as_text=True)
    found = re.search(r'<script type="application/ld\+json">(.*?)</script>', page)
    assert found is not None
    document = json.loads(found.group(1))
    assert document["@context"] == "https://schema.org" and document["@type"] == "Certification"
    assert document["certificationIdentification"] == licence["number"]
    assert document["certificationStatus"] == "https://schema.org/CertificationActive"
    assert document["issuedBy"] == {"@type": "Organization", "name": "CB A"}
    assert document["about"] == {"@type": "Organization", "name": "Client client-a Ltd", "url": [f"https://{SHOP}"]}
    assert document["validFrom"] == licence["granted_on"] and document["expires"] > document["validFrom"]
    assert "proven by a DNS record on" in page


# --------------------------------------------------------------------------- the scheduled re-checks


def test_V4_recheck_failures_for_14_days_withdraw_the_proof_and_notify_licensee_and_cb(
        app: Flask, client: FlaskClient, world: World, internet: Internet) -> None:
    licence = licence_for(app, client, world)
    proven = prove_by_dns(client, world, internet, licence)
    week = datetime.fromisoformat(proven["next_check_at"]) + timedelta(minutes=1)
    assert recheck_at(app, week - timedelta(hours=1)) == {"proven": 0, "failing": 0, "lapsed": 0}  # not due yet
    assert recheck_at(app, week) == {"proven": 1, "failing": 0, "lapsed": 0}  # still published: a week more
    assert recheck_at(app, week) == {"proven": 0, "failing": 0, "lapsed": 0}  # a second run changes nothing

    internet.zone.records.pop((f"_grc-mark.{SHOP}", "TXT"))  # the licensee dropped the record
    first_failure = week + timedelta(days=7)
    assert recheck_at(app, first_failure) == {"proven": 0, "failing": 1, "lapsed": 0}
    failing = ok(client.get(f"{API}/{licence['id']}/domains", headers=world.headers(LICENSEE)))["items"][0]
    assert failing["state"] == "proven" and datetime.fromisoformat(failing["failing_since"]) == first_failure
    assert "does not exist" in failing["last_failure"]
    for day in range(1, 14):  # retried daily while failing; still proven before 14 days
        assert recheck_at(app, first_failure + timedelta(days=day)) == {"proven": 0, "failing": 1, "lapsed": 0}, day
    assert "VALID" in state_on(client, licence, SHOP).split()
    assert recheck_at(app, first_failure + timedelta(days=14)) == {"proven": 0, "failing": 0, "lapsed": 1}

    lapsed = ok(client.get(f"{API}/{licence['id']}/domains", headers=world.headers(LICENSEE)))["items"][0]
    assert lapsed["state"] == "unverified" and lapsed["method"] is None and lapsed["lapsed_at"] is not None
    assert public(client, licence)["domain_proofs"][0]["state"] == "unverified"
    assert "DOMAIN NOT VERIFIED" in state_on(client, licence, SHOP)
    assert recheck_at(app, first_failure + timedelta(days=30)) == {"proven": 0, "failing": 0, "lapsed": 0}
    with app.app_context():
        relay_outbox()
    for email in (LICENSEE, MANAGER, "cb_admin@cb-a.test"):
        titles = [n["title"] for n in ok(client.get("/api/v1/notifications", headers=world.headers(email)))["items"]
                  if n["topic"] == LAPSED]
        assert titles == [f"Mark licence {licence['number']}: {SHOP} is no longer proven"], email
    for email in ("client_admin@client-b.test", "cb_admin@cb-b.test"):
        assert all(n["topic"] != LAPSED
                   for n in ok(client.get("/api/v1/notifications", headers=world.headers(email)))["items"])


def test_V4_a_recheck_that_succeeds_again_within_14_days_keeps_the_proof(
        app: Flask, client: FlaskClient, world: World, internet: Internet) -> None:
    licence = licence_for(app, client, world)
    proven = prove_by_dns(client, world, internet, licence)
    record = internet.zone.records.pop((f"_grc-mark.{SHOP}", "TXT"))
    due = datetime.fromisoformat(proven["next_check_at"]) + timedelta(minutes=1)
    assert recheck_at(app, due)["failing"] == 1
    internet.zone.records[(f"_grc-mark.{SHOP}", "TXT")] = record
    assert recheck_at(app, due + timedelta(days=13))["proven"] == 1
    kept = ok(client.get(f"{API}/{licence['id']}/domains", headers=world.headers(LICENSEE)))["items"][0]
    assert kept["state"] == "proven" and kept["failing_since"] is None and kept["last_failure"] is None
    assert datetime.fromisoformat(kept["next_check_at"]) == due + timedelta(days=13 + 7)


def test_V4_a_public_view_cached_before_the_domains_had_proofs_is_never_served(
        app: Flask, client: FlaskClient, world: World) -> None:
    """A deployment's Redis holds badges pickled in the old shape (no domain_proofs) for up to five minutes; the
    view's new name (``PUBLIC_VIEW``) leaves them unread, where serving one would fail every badge of the licence."""
    import pickle
    from dataclasses import fields

    from grc import viewcache
    from grc.extensions import db
    from grc.marks.service import PublicLicence
    from grc.redis_connection import redis_connection

    licence = licence_for(app, client, world)
    with app.app_context():
        current = public(client, licence)
        old_shape = object.__new__(PublicLicence)
        old_shape.__dict__.update({f.name: current.get(f.name) for f in fields(PublicLicence)
                                   if f.name not in ("domain_proofs", "granted_on", "valid_until")})
        owners = frozenset({world.tenants["cb-a"]})
        versions = viewcache._versions(db.session, owners)
        key = f"grc:views:v2:licence:{utcnow().date().isoformat()}:{licence['number']}"
        redis_connection(app).set(key, pickle.dumps((owners, versions, old_shape)), ex=60)
    assert public(client, licence)["domain_proofs"][0]["state"] == "unverified"
    assert badge(client, licence["number"])[0].status_code == 200


def test_V4_the_licence_credential_names_the_domains_proven_when_it_was_signed(
        app: Flask, client: FlaskClient, world: World, internet: Internet) -> None:
    """Item 4 with V4: the licensee's proof re-signs the licence's credential (in the CB's name) with the domain
    among ``provenDomains``; a lapsed proof signs it again without; each verifies with the CB's JWKS."""

    def signed_domains() -> list[str]:
        credential = Jws.parse(public(client, licence)["credential"])
        assert signature_holds(credential, jwks_of(client, credential.payload["issuer"]["id"]))
        return credential.payload["credentialSubject"]["provenDomains"]  # type: ignore[no-any-return]

    licence = licence_for(app, client, world, SHOP, "other.example")
    assert signed_domains() == []
    proven = prove_by_dns(client, world, internet, licence)
    assert signed_domains() == [SHOP]
    with app.app_context():
        relay_outbox()
    titles = [n["title"] for n in ok(client.get("/api/v1/notifications", headers=world.headers(MANAGER)))["items"]]
    assert f"Mark licence {licence['number']}: {SHOP} proven" in titles

    internet.zone.records.pop((f"_grc-mark.{SHOP}", "TXT"))
    failing_from = datetime.fromisoformat(proven["next_check_at"]) + timedelta(minutes=1)
    for day in range(15):
        recheck_at(app, failing_from + timedelta(days=day))
    assert signed_domains() == []
