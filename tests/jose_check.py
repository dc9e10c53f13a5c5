"""An independent check of grc's signatures, written from the RFCs with nothing of grc and no JOSE library: split
the compact JWS (RFC 7515), base64url-decode it, find the key by ``kid`` in the JWKS (RFC 7517) and verify the
Ed25519 signature over the JWS signing input with ``cryptography`` (RFC 8037)."""
from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jws_parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The protected header and the payload of a compact JWS, unverified."""
    header, payload, _signature = token.split(".")
    return json.loads(b64url_decode(header)), json.loads(b64url_decode(payload))


def verified_payload(token: str, jwks: dict[str, Any]) -> dict[str, Any] | None:
    """The payload if ``token`` is signed EdDSA by the JWKS key its header names, else None."""
    header_b64, payload_b64, signature_b64 = token.split(".")
    header = json.loads(b64url_decode(header_b64))
    if header.get("alg") != "EdDSA":
        return None
    key = next((k for k in jwks["keys"] if k.get("kid") == header.get("kid")), None)
    if key is None or (key.get("kty"), key.get("crv")) != ("OKP", "Ed25519"):
        return None
    try:
        Ed25519PublicKey.from_public_bytes(b64url_decode(key["x"])).verify(
            b64url_decode(signature_b64), f"{header_b64}.{payload_b64}".encode())
    except InvalidSignature:
        return None
    payload: dict[str, Any] = json.loads(b64url_decode(payload_b64))
    return payload


def thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638: SHA-256 of the required members (crv, kty, x for OKP) in lexicographic order, no whitespace."""
    required = json.dumps({"crv": jwk["crv"], "kty": jwk["kty"], "x": jwk["x"]}, separators=(",", ":"),
                          sort_keys=True)
    return b64url_encode(hashlib.sha256(required.encode()).digest())
