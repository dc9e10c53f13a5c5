"""A second, independent implementation of what a verifier does with our credentials, for the tests (V2, V3).

Nothing of grc and no JOSE library: the compact JWS is split by hand, base64url-decoded, and its signature checked
with ``cryptography``'s Ed25519 over the JWS signing input, with the public key built from the JWKS ``x``; the
status list's ``encodedList`` is decoded by hand (multibase "u", base64url, GZIP) and read bit by bit as Bitstring
Status List v1.0 says (index 0 = the most significant bit of the first byte). Everything is fetched over HTTP from
the app, as a stranger would. It also plays an issuer (``sign_compact``, ``encode_status_list``), to check grc's own
verifier against credentials grc did not sign.
"""
from __future__ import annotations

import base64
import gzip
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from flask.testing import FlaskClient


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass(frozen=True)
class Jws:
    header: dict[str, Any]
    payload: dict[str, Any]
    signing_input: bytes
    signature: bytes

    @classmethod
    def parse(cls, token: str) -> Jws:
        header, payload, signature = token.split(".")
        return cls(json.loads(b64url_decode(header)), json.loads(b64url_decode(payload)),
                   f"{header}.{payload}".encode(), b64url_decode(signature))


def get(http: FlaskClient, url: str, media_type: str | None = "application/vc+jwt") -> Any:
    """GET an absolute URL the app handed out (its public base URL) from the app under test."""
    parts = urlsplit(url)
    response = http.get(parts.path + (f"?{parts.query}" if parts.query else ""))
    assert response.status_code == 200, (url, response.get_data(as_text=True))
    if media_type is not None:
        assert response.mimetype == media_type, response.mimetype
    return response


def signature_holds(jws: Jws, jwks: dict[str, Any]) -> bool:
    """Ed25519 over the signing input, with the JWKS key the header's ``kid`` names (no such key: False)."""
    if jws.header.get("alg") != "EdDSA":
        return False
    keys = [key for key in jwks["keys"] if key.get("kid") == jws.header.get("kid")]
    if len(keys) != 1 or keys[0].get("kty") != "OKP" or keys[0].get("crv") != "Ed25519":
        return False
    try:
        Ed25519PublicKey.from_public_bytes(b64url_decode(keys[0]["x"])).verify(jws.signature, jws.signing_input)
    except InvalidSignature:
        return False
    return True


def jwks_of(http: FlaskClient, issuer_id: str) -> dict[str, Any]:
    return get(http, issuer_id + "/jwks.json", media_type=None).get_json()  # type: ignore[no-any-return]


def fetch_verified(http: FlaskClient, url: str) -> Jws:
    """A credential or status list from ``url``, whose signature holds against its issuer's published JWKS."""
    jws = Jws.parse(get(http, url).get_data(as_text=True))
    assert jws.header["typ"] == "vc+jwt" and jws.header["alg"] == "EdDSA", jws.header
    assert signature_holds(jws, jwks_of(http, jws.payload["issuer"]["id"])), "the signature does not hold"
    return jws


def decoded_list(encoded: str) -> bytes:
    assert encoded.startswith("u"), "multibase base64url starts with u"
    return gzip.decompress(b64url_decode(encoded[1:]))


def bit(bits: bytes, index: int) -> int:
    return (bits[index // 8] >> (7 - index % 8)) & 1


def status_bits(http: FlaskClient, credential: Jws) -> dict[str, int]:
    """Each purpose's bit for ``credential``, read from its status lists (fetched and verified themselves)."""
    found = {}
    for entry in credential.payload["credentialStatus"]:
        assert entry["type"] == "BitstringStatusListEntry"
        listed = fetch_verified(http, entry["statusListCredential"])
        subject = listed.payload["credentialSubject"]
        assert "BitstringStatusListCredential" in listed.payload["type"] and subject["type"] == "BitstringStatusList"
        assert subject["statusPurpose"] == entry["statusPurpose"]
        assert listed.payload["issuer"] == credential.payload["issuer"]
        bits = decoded_list(subject["encodedList"])
        assert len(bits) * 8 >= 131_072
        found[entry["statusPurpose"]] = bit(bits, int(entry["statusListIndex"]))
    return found


def within_validity(credential: Jws, now: datetime | None = None) -> bool:
    now = now or datetime.now(UTC)
    start = datetime.fromisoformat(credential.payload["validFrom"].replace("Z", "+00:00"))
    end = datetime.fromisoformat(credential.payload["validUntil"].replace("Z", "+00:00"))
    return start <= now <= end


# --------------------------------------------------------------------------- playing an issuer


def thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638: SHA-256 of the required members (crv, kty, x for OKP) in lexicographic order, no whitespace."""
    required = json.dumps({"crv": jwk["crv"], "kty": jwk["kty"], "x": jwk["x"]}, separators=(",", ":"),
                          sort_keys=True)
    return b64url_encode(hashlib.sha256(required.encode()).digest())


def public_jwk(private: Ed25519PrivateKey) -> dict[str, str]:
    """The JWK of ``private``'s public half, with its thumbprint as ``kid``."""
    jwk = {"kty": "OKP", "crv": "Ed25519",
           "x": b64url_encode(private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))}
    return {**jwk, "kid": thumbprint(jwk), "alg": "EdDSA", "use": "sig"}


def sign_compact(payload: dict[str, Any], private: Ed25519PrivateKey, *, typ: str = "vc+jwt") -> str:
    """``payload`` as a compact JWS signed EdDSA by ``private`` (kid: its thumbprint)."""
    header = {"alg": "EdDSA", "typ": typ, "kid": public_jwk(private)["kid"]}
    signing_input = f"{b64url_encode(json.dumps(header).encode())}.{b64url_encode(json.dumps(payload).encode())}"
    return f"{signing_input}.{b64url_encode(private.sign(signing_input.encode()))}"


def encode_status_list(set_bits: set[int], entries: int = 131_072) -> str:
    """A Bitstring Status List's ``encodedList`` with ``set_bits`` set."""
    bits = bytearray(entries // 8)
    for index in set_bits:
        bits[index // 8] |= 0x80 >> (index % 8)
    return "u" + b64url_encode(gzip.compress(bytes(bits)))
