"""An independent implementation of what grc signs, written from the specifications with nothing of grc and no
JOSE library: split the compact JWS (RFC 7515), base64url-decode it, find the key by ``kid`` in the JWKS (RFC 7517)
and verify the Ed25519 signature over the JWS signing input with ``cryptography`` (RFC 8037); sign the same way;
encode and decode a Bitstring Status List (W3C v1.0: GZIP, multibase base64url, index 0 = most significant bit)."""
from __future__ import annotations

import base64
import gzip
import hashlib
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


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


def status_bit(encoded_list: str, index: int) -> bool:
    """The bit at ``index`` of an ``encodedList``."""
    assert encoded_list.startswith("u"), "multibase base64url starts with 'u'"
    bits = gzip.decompress(b64url_decode(encoded_list[1:]))
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


def status_list_size(encoded_list: str) -> int:
    """How many entries an ``encodedList`` holds."""
    return len(gzip.decompress(b64url_decode(encoded_list[1:]))) * 8
