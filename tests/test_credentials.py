"""V2, V3: every certificate revision and every mark licence is a credential signed by its CB, and each CB publishes
signed status lists; checked from the outside with tests/independent_vc.py (no grc code, no JOSE library), over HTTP.

- a grant issues a credential that verifies with the CB's published keys and states only the public fields;
- suspending sets the suspension bit (the credential still verifies), restoring clears it, withdrawing sets the
  revocation bit; a served list is never older than the last committed change, cached or not;
- a scope change signs a new credential pointing at the same status entries; the old one stays verifiable;
- expiry needs no bit: ``validUntil`` has passed;
- a tampered payload, or a signature checked with another CB's keys, fails.
"""
from __future__ import annotations

import json
from datetime import date, timedelta
from urllib.parse import urlsplit

import pytest

from tests.certificates import issue_certificate
from tests.independent_vc import (
    Jws,
    b64url_encode,
    decoded_list,
    fetch_verified,
    jwks_of,
    signature_holds,
    status_bits,
    within_validity,
)
from tests.test_certification import SCOPE, TODAY, Decisions

PUBLIC = "/api/v1/public"
PRIVATE_TEXT = ("Client client-a Ltd", "rue du Test", "quai Secret", "initial certification")


def check_of(client, slug: str, number: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
    response = client.get(f"{PUBLIC}/certificates/{slug}/{number}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()  # type: ignore[no-any-return]


def credential_of(client, slug: str, number: str) -> Jws:  # type: ignore[no-untyped-def]
    """The credential the public check links to, fetched and verified against the issuer's published keys."""
    return fetch_verified(client, check_of(client, slug, number)["credential_url"])


def test_V2_a_granted_certificate_is_a_credential_that_verifies_with_the_cbs_published_keys(client, world):
    cert = Decisions(client, world)
    certificate = cert.grant()
    check = check_of(client, "cb-a", certificate["number"])
    assert urlsplit(check["credential_url"]).path == \
        f"{PUBLIC}/certificates/cb-a/{certificate['number']}/credential"

    credential = credential_of(client, "cb-a", certificate["number"])
    vc = credential.payload
    assert vc["@context"][0] == "https://www.w3.org/ns/credentials/v2"
    assert vc["type"] == ["VerifiableCredential", "ManagementSystemCertificateCredential"]
    assert vc["issuer"]["name"] == "CB A" and vc["issuer"]["id"].endswith(f"{PUBLIC}/cbs/cb-a")
    assert vc["id"] == f"{check['credential_url']}?revision=1"
    assert vc["validFrom"] == f"{TODAY.isoformat()}T00:00:00Z"
    assert vc["validUntil"] == f"{certificate['expiry_date']}T23:59:59Z" and within_validity(credential)
    assert vc["credentialSubject"] == {
        "name": check["client_name"], "country": check["client_country"], "certificateNumber": check["number"],
        "standard": check["standard"], "schemeTitle": check["scheme_title"], "scope": SCOPE, "sites": check["sites"],
        "originalIssueDate": check["original_issue_date"], "effectiveDate": check["effective_date"],
        "expiryDate": check["expiry_date"],
    }
    entries = vc["credentialStatus"]
    assert [entry["statusPurpose"] for entry in entries] == ["revocation", "suspension"]
    assert all(entry["statusListCredential"] == f"{vc['issuer']['id']}/status-lists/{entry['statusPurpose']}"
               and entry["statusListIndex"].isdigit() for entry in entries)
    assert status_bits(client, credential) == {"revocation": 0, "suspension": 0}
    text = json.dumps(vc)
    for private in (certificate["id"], str(world.tenants["cb-a"]), str(world.tenants["client-a"]), "legal"):
        assert private not in text


def test_V3_suspend_sets_the_suspension_bit_restore_clears_it_and_the_credential_keeps_verifying(client, world):
    cert = Decisions(client, world)
    certificate = cert.grant()
    granted = credential_of(client, "cb-a", certificate["number"])
    for _ in range(3):  # the lists are now served from the cache (grc.viewcache: from the third lookup on)
        assert status_bits(client, granted) == {"revocation": 0, "suspension": 0}

    until = (TODAY + timedelta(days=30)).isoformat()
    cert.act(certificate, "suspend", reason="Surveillance audit refused", until=until)
    suspended = credential_of(client, "cb-a", certificate["number"])
    assert suspended.payload == granted.payload  # a suspension signs nothing new: the list says it
    assert status_bits(client, granted) == {"revocation": 0, "suspension": 1}

    cert.act(certificate, "restore", reason="Surveillance audit performed")
    assert status_bits(client, granted) == {"revocation": 0, "suspension": 0}


def test_V3_withdrawal_sets_the_revocation_bit_and_clears_the_suspension(client, world):
    cert = Decisions(client, world)
    certificate = cert.grant()
    credential = credential_of(client, "cb-a", certificate["number"])
    cert.act(certificate, "suspend", reason="Overdue major", until=(TODAY + timedelta(days=30)).isoformat())
    assert status_bits(client, credential) == {"revocation": 0, "suspension": 1}
    cert.act(certificate, "withdraw", reason="Misuse of the certification mark")
    assert status_bits(client, credential) == {"revocation": 1, "suspension": 0}
    assert fetch_verified(client, credential.payload["id"]).payload == credential.payload


def test_V2_a_scope_change_signs_a_new_credential_pointing_at_the_same_status_entries(client, world):
    cert = Decisions(client, world)
    certificate = cert.grant()
    first = credential_of(client, "cb-a", certificate["number"])
    cert.act(certificate, "reduce-scope", reason="Repairs discontinued", scope="Online retail only")
    second = credential_of(client, "cb-a", certificate["number"])
    assert second.payload["credentialSubject"]["scope"] == "Online retail only"
    assert second.payload["id"].endswith("?revision=2") and first.payload["id"].endswith("?revision=1")
    assert second.payload["credentialStatus"] == first.payload["credentialStatus"]
    superseded = fetch_verified(client, first.payload["id"])  # still served, still verifies
    assert superseded.payload == first.payload and superseded.payload["credentialSubject"]["scope"] == SCOPE
    cert.act(certificate, "suspend", reason="Overdue major", until=(TODAY + timedelta(days=30)).isoformat())
    assert status_bits(client, first) == status_bits(client, second) == {"revocation": 0, "suspension": 1}


def test_V2_an_expired_certificate_needs_no_bit_its_validity_has_ended(app, client, world):
    issued = issue_certificate(app, world, status="expired", issued_on=date(2022, 1, 10),
                               expiry_date=date(2025, 1, 9))
    credential = credential_of(client, "cb-a", issued.number)
    assert credential.payload["validUntil"] == "2025-01-09T23:59:59Z" and not within_validity(credential)
    assert status_bits(client, credential) == {"revocation": 0, "suspension": 0}


def test_V3_certificates_issued_before_credentials_get_theirs_at_their_first_read(app, client, world):
    """Rows that predate credentials (or were loaded in bulk) have no entry yet: the first public read signs their
    credential and sets their bits from their status."""
    suspended = issue_certificate(app, world, status="suspended", earlier_scopes=("An older scope",))
    credential = credential_of(client, "cb-a", suspended.number)
    assert credential.payload["id"].endswith("?revision=2")
    assert status_bits(client, credential) == {"revocation": 0, "suspension": 1}
    withdrawn = issue_certificate(app, world, status="withdrawn")
    assert status_bits(client, credential_of(client, "cb-a", withdrawn.number)) == {"revocation": 1, "suspension": 0}
    missing = client.get(credential.payload["id"].replace("revision=2", "revision=1"))
    assert missing.status_code == 404  # revision 1 was superseded before credentials existed: never signed


def test_V3_indexes_are_drawn_at_random_unique_per_cb_and_the_list_is_at_least_131072_bits(app, client, world):
    numbers = [issue_certificate(app, world).number for _ in range(12)]
    indexes = [int(credential_of(client, "cb-a", number).payload["credentialStatus"][0]["statusListIndex"])
               for number in numbers]
    assert len(set(indexes)) == len(indexes)
    assert indexes != sorted(indexes) and max(indexes) - min(indexes) > 1000  # issue order is not revealed
    other = issue_certificate(app, world, cb="cb-b", client="client-b")
    credential = credential_of(client, "cb-b", other.number)
    listed = fetch_verified(client, credential.payload["credentialStatus"][0]["statusListCredential"])
    assert len(decoded_list(listed.payload["credentialSubject"]["encodedList"])) == 131_072 // 8


def test_V3_a_drawn_index_already_taken_is_drawn_again(app, client, world, monkeypatch):
    from grc.credentials import service

    first = credential_of(client, "cb-a", issue_certificate(app, world).number)
    taken = int(first.payload["credentialStatus"][0]["statusListIndex"])
    draws = iter([taken, taken, 4242])
    monkeypatch.setattr(service.secrets, "randbelow", lambda _length: next(draws))
    second = credential_of(client, "cb-a", issue_certificate(app, world).number)
    assert second.payload["credentialStatus"][0]["statusListIndex"] == "4242"


def test_V2_a_tampered_payload_or_another_cbs_keys_fail_the_signature(app, client, world):
    credential = credential_of(client, "cb-a", issue_certificate(app, world).number)
    jwks_a = jwks_of(client, credential.payload["issuer"]["id"])
    assert signature_holds(credential, jwks_a)

    forged = dict(credential.payload, validUntil="2099-12-31T23:59:59Z")
    header, _payload, signature = (b64url_encode(json.dumps(credential.header).encode()),
                                   b64url_encode(json.dumps(forged).encode()), b64url_encode(credential.signature))
    assert not signature_holds(Jws.parse(f"{header}.{_payload}.{signature}"), jwks_a)

    other = credential_of(client, "cb-b", issue_certificate(app, world, cb="cb-b", client="client-b").number)
    jwks_b = jwks_of(client, other.payload["issuer"]["id"])
    assert signature_holds(other, jwks_b) and not signature_holds(credential, jwks_b)
    impostor = {"keys": [dict(key, kid=credential.header["kid"]) for key in jwks_b["keys"]]}
    assert not signature_holds(credential, impostor)  # cb-b's key, even under cb-a's kid


@pytest.mark.parametrize("path", [
    "/certificates/cb-b/{number}/credential",  # the right number at another CB
    "/certificates/cb-a/NO-SUCH-NUMBER/credential",
    "/certificates/no-such-cb/{number}/credential",
    "/cbs/no-such-cb/status-lists/revocation",
    "/cbs/cb-a/status-lists/expiry",
])
def test_V2_V3_what_does_not_exist_at_that_cb_is_not_found(app, client, world, path):
    number = issue_certificate(app, world).number
    response = client.get(PUBLIC + path.format(number=number))
    assert response.status_code == 404 and response.mimetype == "application/problem+json"


def test_V2_a_revision_that_is_not_a_number_is_refused_naming_the_field(app, client, world):
    number = issue_certificate(app, world).number
    response = client.get(f"{PUBLIC}/certificates/cb-a/{number}/credential?revision=first")
    assert response.status_code == 422 and "revision" in response.get_json()["errors"]


def test_V2_the_verify_page_links_the_credential_and_shows_its_own_verification(client, world):
    cert = Decisions(client, world)
    certificate = cert.grant()
    check = check_of(client, "cb-a", certificate["number"])
    page = client.get(f"/verify/cb-a/{certificate['number']}").get_data(as_text=True)
    assert f'href="{check["credential_url"]}"' in page
    assert "Signed credential: VALID" in page
    cert.act(certificate, "suspend", reason="Overdue major", until=(TODAY + timedelta(days=30)).isoformat())
    page = client.get(f"/verify/cb-a/{certificate['number']}").get_data(as_text=True)
    assert "Certificate" in page and "is SUSPENDED" in page and "Signed credential: SUSPENDED" in page


def test_V2_after_a_key_rotation_old_credentials_still_verify_and_new_ones_carry_the_new_kid(client, world):
    cert = Decisions(client, world)
    certificate = cert.grant()
    before = credential_of(client, "cb-a", certificate["number"])
    rotated = client.post("/api/v1/signing-keys/rotate", headers=cert.as_("cb_admin"))
    assert rotated.status_code in (200, 201), rotated.get_data(as_text=True)
    new_kid = rotated.get_json()["kid"]
    assert new_kid != before.header["kid"]

    jwks = jwks_of(client, before.payload["issuer"]["id"])
    assert {before.header["kid"], new_kid} <= {key["kid"] for key in jwks["keys"]}
    assert signature_holds(before, jwks)  # the retired key stays published while what it signed is valid
    assert fetch_verified(client, before.payload["id"]).header["kid"] == before.header["kid"]

    cert.act(certificate, "reduce-scope", reason="Repairs discontinued", scope="Online retail only")
    after = credential_of(client, "cb-a", certificate["number"])
    assert after.header["kid"] == new_kid
    lists = [fetch_verified(client, entry["statusListCredential"]) for entry in after.payload["credentialStatus"]]
    assert {listed.header["kid"] for listed in lists} == {new_kid}  # lists are signed with the current key
    assert status_bits(client, before) == status_bits(client, after) == {"revocation": 0, "suspension": 0}


def test_V2_the_verify_page_of_a_certificate_that_predates_credentials_issues_and_keeps_it(app, client, world):
    """The page is the first reader: it signs the credential and commits it, so the JSON endpoint then serves the
    very credential the page checked (not another one signed at another random index)."""
    issued = issue_certificate(app, world, status="suspended")
    for _ in range(3):  # and again from the view cache
        page = client.get(f"/verify/cb-a/{issued.number}").get_data(as_text=True)
        assert "is SUSPENDED" in page and "Signed credential: SUSPENDED" in page
    credential = credential_of(client, "cb-a", issued.number)
    assert status_bits(client, credential) == {"revocation": 0, "suspension": 1}
    assert fetch_verified(client, credential.payload["id"]).payload == credential.payload
    with app.app_context():
        from grc import tenancy
        from grc.credentials.models import CertificateCredential, StatusEntry
        from grc.extensions import db

        with tenancy.system_scope(db.session):
            assert db.session.query(StatusEntry).filter_by(certificate_id=issued.id).count() == 1
            tokens = db.session.query(CertificateCredential.token).filter_by(certificate_id=issued.id).all()
        assert [token for (token,) in tokens] == [client.get(credential.payload["id"]).get_data(as_text=True)]


def licence_credential(client, number: str) -> Jws:  # type: ignore[no-untyped-def]
    """The credential the badge JSON carries, verified against the issuer's published keys."""
    body = client.get(f"{PUBLIC}/mark-licences/{number}").get_json()
    credential = Jws.parse(body["credential"])
    assert credential.header["typ"] == "vc+jwt"
    assert signature_holds(credential, jwks_of(client, credential.payload["issuer"]["id"]))
    return credential


def test_V2_V3_a_mark_licence_is_a_credential_with_its_own_status_entries_following_its_certificate(client, world):
    cert = Decisions(client, world)
    certificate = cert.grant()
    granted = client.post("/api/v1/mark-licences", headers=cert.as_("certification_manager"), json={
        "client_id": cert.client_id, "certificate_ids": [certificate["id"]], "permitted_uses": ["website"],
        "domains": ["shop.example"]})
    assert granted.status_code == 201, granted.get_data(as_text=True)
    number = granted.get_json()["number"]
    licence = licence_credential(client, number)
    vc = licence.payload
    assert vc["type"] == ["VerifiableCredential", "CertificationMarkLicenceCredential"]
    assert vc["id"].startswith("urn:uuid:") and vc["issuer"]["name"] == "CB A"
    assert vc["validUntil"] == f"{certificate['expiry_date']}T23:59:59Z" and within_validity(licence)
    subject = vc["credentialSubject"]
    assert subject["licenceNumber"] == number and subject["permittedUses"] == ["website"]
    assert subject["licensedDomains"] == ["shop.example"]
    certificate_credential = credential_of(client, "cb-a", certificate["number"])
    assert [c["credential"] for c in subject["certificates"]] == \
        [check_of(client, "cb-a", certificate["number"])["credential_url"]]
    assert vc["credentialStatus"][0]["statusListIndex"] != \
        certificate_credential.payload["credentialStatus"][0]["statusListIndex"]  # its own entries
    assert status_bits(client, licence) == {"revocation": 0, "suspension": 0}

    cert.act(certificate, "suspend", reason="Overdue major", until=(TODAY + timedelta(days=30)).isoformat())
    assert status_bits(client, licence) == {"revocation": 0, "suspension": 1}  # M2, in the same transaction
    cert.act(certificate, "restore", reason="Major verified")
    assert status_bits(client, licence) == {"revocation": 0, "suspension": 0}
    assert licence_credential(client, number).payload == vc  # nothing it states changed: the same credential
    cert.act(certificate, "withdraw", reason="Misuse of the certification mark")
    assert status_bits(client, licence) == {"revocation": 1, "suspension": 0}
    assert status_bits(client, certificate_credential) == {"revocation": 1, "suspension": 0}


def test_V2_a_renewed_certificate_re_signs_its_licence_with_the_later_validity(app, client, world):
    cert = Decisions(client, world)
    certificate = cert.grant()
    number = client.post("/api/v1/mark-licences", headers=cert.as_("certification_manager"), json={
        "client_id": cert.client_id, "certificate_ids": [certificate["id"]], "permitted_uses": ["stationery"],
    }).get_json()["number"]
    before = licence_credential(client, number)
    recertification = cert.run(cert.plan("recertification", TODAY), TODAY)
    renewed = cert.decide("renew", certificate_id=certificate["id"], audit_ids=[recertification["id"]])
    assert renewed.status_code == 201, renewed.get_data(as_text=True)
    after = licence_credential(client, number)
    assert after.payload["validUntil"] > before.payload["validUntil"]
    assert after.payload["credentialStatus"] == before.payload["credentialStatus"]


def test_V2_V3_grc_verify_credential_reads_our_credentials_and_lists_as_published(client, world):
    """The command-line verifier (grc.credential_verifier), fetching over HTTP from the app, agrees at each step."""
    from grc.credential_verifier import verify
    from tests.independent_vc import get

    def fetch(url: str) -> bytes:
        return get(client, url, media_type=None).get_data()  # type: ignore[no-any-return]

    cert = Decisions(client, world)
    certificate = cert.grant()
    token = client.get(check_of(client, "cb-a", certificate["number"])["credential_url"]).get_data(as_text=True)
    assert verify(token, fetch=fetch).status == "VALID"
    cert.act(certificate, "suspend", reason="Overdue major", until=(TODAY + timedelta(days=30)).isoformat())
    assert verify(token, fetch=fetch).status == "SUSPENDED"
    cert.act(certificate, "withdraw", reason="Misuse of the certification mark")
    assert verify(token, fetch=fetch).status == "WITHDRAWN"
