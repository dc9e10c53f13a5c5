"""V2/V3: the verifier anyone can run (grc/credential_verifier.py) decides VALID, SUSPENDED, WITHDRAWN, EXPIRED or
INVALID from a credential, its issuer's JWKS and its status lists. Here the issuer is made in the test with
``cryptography`` alone (tests/independent_vc.py), so the verifier is checked against an independent signer."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from grc.credential_verifier import Status, Verdict, verify
from tests.independent_vc import encode_status_list, public_jwk, sign_compact

NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
ISSUER = "https://cb.example/api/v1/public/cbs/acme"
LISTS = {purpose: f"{ISSUER}/status-lists/{purpose}" for purpose in ("revocation", "suspension")}
INDEX = 94_567


class Issuer:
    """A certification body as any issuer of VC 2.0 credentials: a key, its JWKS, its two status lists."""

    def __init__(self, issuer_id: str = ISSUER) -> None:
        self.id, self.key = issuer_id, Ed25519PrivateKey.generate()
        self.set_bits: dict[str, set[int]] = {"revocation": set(), "suspension": set()}
        self.served: dict[str, bytes] = {}

    def jwks(self) -> dict[str, Any]:
        return {"keys": [public_jwk(self.key)]}

    def credential(self, *, valid_until: datetime = NOW + timedelta(days=365), **changes: Any) -> dict[str, Any]:
        return {
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "type": ["VerifiableCredential", "ManagementSystemCertificateCredential"],
            "issuer": {"id": self.id, "name": "Acme Certification"},
            "validFrom": (NOW - timedelta(days=30)).isoformat(), "validUntil": valid_until.isoformat(),
            "credentialSubject": {"certificateNumber": "ACME-9001-2026-00042", "standard": "ISO 9001:2015"},
            "credentialStatus": [
                {"type": "BitstringStatusListEntry", "statusPurpose": purpose, "statusListIndex": str(INDEX),
                 "statusListCredential": url} for purpose, url in LISTS.items()],
        } | changes

    def status_list(self, purpose: str, *, key: Ed25519PrivateKey | None = None, **changes: Any) -> str:
        payload = {
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "type": ["VerifiableCredential", "BitstringStatusListCredential"], "issuer": {"id": self.id},
            "validFrom": (NOW - timedelta(minutes=1)).isoformat(),
            "credentialSubject": {"id": f"{LISTS[purpose]}#list", "type": "BitstringStatusList",
                                  "statusPurpose": purpose, "encodedList": encode_status_list(self.set_bits[purpose])},
        } | changes
        return sign_compact(payload, key or self.key)

    def publish(self) -> None:
        self.served = {url: self.status_list(purpose).encode() for purpose, url in LISTS.items()}
        self.served[f"{self.id}/jwks.json"] = json.dumps(self.jwks()).encode()

    def fetch(self, url: str) -> bytes:
        if url not in self.served:
            raise ConnectionError("connection refused")
        return self.served[url]


@pytest.fixture
def cb() -> Issuer:
    return Issuer()


def checked(cb: Issuer, token: str) -> Verdict:
    """The verdict as a verifier online reaches it (the issuer publishes its lists first, unless the test did)."""
    if not cb.served:
        cb.publish()
    return verify(token, fetch=cb.fetch, now=NOW)


def test_V2_a_credential_signed_by_its_issuer_and_in_good_standing_is_valid(cb):
    verdict = checked(cb, sign_compact(cb.credential(), cb.key))
    assert verdict.status == Status.VALID and ISSUER in verdict.reason
    assert verdict.credential and verdict.credential["credentialSubject"]["standard"] == "ISO 9001:2015"


@pytest.mark.parametrize(("bits", "status"), [
    ({"suspension"}, Status.SUSPENDED), ({"revocation"}, Status.WITHDRAWN),
    ({"revocation", "suspension"}, Status.WITHDRAWN),
])
def test_V3_the_status_bits_decide_suspended_and_withdrawn(cb, bits, status):
    for purpose in bits:
        cb.set_bits[purpose].add(INDEX)
    assert checked(cb, sign_compact(cb.credential(), cb.key)).status == status


def suspension_at(cb: Issuer, index: int) -> str:
    return sign_compact(cb.credential(credentialStatus=[{
        "type": "BitstringStatusListEntry", "statusPurpose": "suspension", "statusListIndex": str(index),
        "statusListCredential": LISTS["suspension"]}]), cb.key)


def test_V3_index_0_is_the_most_significant_bit_of_the_first_byte(cb):
    cb.set_bits["suspension"] = {0}
    assert checked(cb, suspension_at(cb, 0)).status == Status.SUSPENDED
    assert checked(cb, suspension_at(cb, 7)).status == Status.VALID


def test_V2_past_valid_until_it_is_expired(cb):
    token = sign_compact(cb.credential(valid_until=NOW - timedelta(days=1)), cb.key)
    verdict = checked(cb, token)
    assert verdict.status == Status.EXPIRED and "valid until" in verdict.reason


def test_V2_a_tampered_payload_is_invalid(cb):
    head, _body, signature = sign_compact(cb.credential(), cb.key).split(".")
    other = sign_compact(cb.credential(credentialSubject={"certificateNumber": "FORGED"}), cb.key).split(".")[1]
    verdict = checked(cb, f"{head}.{other}.{signature}")
    assert verdict.status == Status.INVALID and "signature" in verdict.reason


def test_V2_a_credential_signed_by_a_key_its_issuer_does_not_publish_is_invalid(cb):
    impostor = Ed25519PrivateKey.generate()
    assert checked(cb, sign_compact(cb.credential(), impostor)).status == Status.INVALID


def test_V3_a_status_list_signed_by_another_key_is_not_believed(cb):
    cb.publish()
    cb.served[LISTS["suspension"]] = cb.status_list("suspension", key=Ed25519PrivateKey.generate()).encode()
    verdict = checked(cb, sign_compact(cb.credential(), cb.key))
    assert verdict.status == Status.INVALID and "signature" in verdict.reason


def test_V3_a_status_list_of_the_wrong_purpose_or_out_of_reach_is_invalid(cb):
    cb.publish()
    cb.served[LISTS["suspension"]] = cb.served[LISTS["revocation"]]
    assert "revocation" in checked(cb, sign_compact(cb.credential(), cb.key)).reason
    del cb.served[LISTS["suspension"]]
    verdict = checked(cb, sign_compact(cb.credential(), cb.key))
    assert verdict.status == Status.INVALID and "could not fetch" in verdict.reason


def test_V3_an_index_beyond_the_list_is_invalid(cb):
    verdict = checked(cb, suspension_at(cb, 131_072))
    assert verdict.status == Status.INVALID and "beyond" in verdict.reason


def test_V2_offline_with_the_issuer_s_keys_checks_signature_and_dates_and_says_what_it_left_out(cb):
    cb.set_bits["revocation"].add(INDEX)  # unseen offline
    verdict = verify(sign_compact(cb.credential(), cb.key), fetch=cb.fetch, jwks=cb.jwks(), check_status=False,
                     now=NOW)
    assert verdict.status == Status.VALID and "not checked" in verdict.notes[0]


@pytest.mark.parametrize("token", ["", "a.b", "not.base64!.x", "e30.e30.e30"])
def test_V2_what_is_not_a_signed_credential_is_invalid_not_an_error(cb, token):
    assert checked(cb, token).status == Status.INVALID


def test_V2_a_token_of_another_media_type_is_invalid(cb):
    wrong_typ = sign_compact(cb.credential(), cb.key, typ="JWT")
    verdict = checked(cb, wrong_typ)
    assert verdict.status == Status.INVALID and "typ" in verdict.reason
