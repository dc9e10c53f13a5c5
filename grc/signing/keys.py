"""Key material without a database (V1): Ed25519 key pairs, their public JWK and thumbprint, and sealing the
private half with the key-encryption key, so a database dump alone never yields a signing key.

Sealing is AES-256-GCM with a fresh 96-bit nonce; the associated data binds the sealed key to its row (tenant and
``kid``), so a sealed key copied onto another CB's row does not open. The key-encryption key is derived with HKDF
from ``GRC_KEY_ENCRYPTION_KEY``, or in development from ``GRC_SECRET_KEY`` (``Settings.check`` refuses production
without the former), so operators may give any long random string.
"""
from __future__ import annotations

import base64
import os
import uuid
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from joserfc.jwk import OKPKey

ALGORITHM = "EdDSA"  # VC-JOSE-COSE and the issue name it; RFC 9864's fully specified "Ed25519" is the same signature
NONCE_BYTES = 12
_KEK_INFO = b"grc key-encryption key v1"
_DEV_KEK_INFO = b"grc development key-encryption key v1 (derived from GRC_SECRET_KEY)"


class SealedKeyError(RuntimeError):
    """A sealed private key does not open: the key-encryption key differs from the one it was sealed with."""


@dataclass(frozen=True)
class KeyPair:
    """A new signing key: its ``kid`` (RFC 7638 thumbprint), public JWK and raw 32-byte private seed."""

    kid: str
    public_jwk: dict[str, str]
    private_seed: bytes


def key_encryption_key(configured: str, secret_key: str) -> bytes:
    """The 256-bit key that seals private keys: from ``configured`` (``GRC_KEY_ENCRYPTION_KEY``), else derived
    from the application secret (development only; production refuses to start without ``configured``)."""
    material, info = (configured, _KEK_INFO) if configured else (secret_key, _DEV_KEK_INFO)
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(material.encode())


def new_key_pair() -> KeyPair:
    private = Ed25519PrivateKey.generate()
    seed = private.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                 serialization.NoEncryption())
    return KeyPair(*_public_jwk(private), private_seed=seed)


def _public_jwk(private: Ed25519PrivateKey) -> tuple[str, dict[str, str]]:
    raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": base64.urlsafe_b64encode(raw).rstrip(b"=").decode()}
    kid = OKPKey.import_key(private.public_key()).thumbprint()
    return kid, {**jwk, "kid": kid, "alg": ALGORITHM, "use": "sig"}


def seal(seed: bytes, kek: bytes, *, tenant_id: uuid.UUID, kid: str) -> bytes:
    """``seed`` encrypted and authenticated under ``kek``, bound to its tenant and kid: nonce || ciphertext."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(kek).encrypt(nonce, seed, _bound_to(tenant_id, kid))


def unseal(sealed: bytes, kek: bytes, *, tenant_id: uuid.UUID, kid: str) -> OKPKey:
    """The signing key sealed in ``sealed``; refuses (``SealedKeyError``) a wrong KEK or a key moved to another row."""
    try:
        seed = AESGCM(kek).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], _bound_to(tenant_id, kid))
    except InvalidTag:
        raise SealedKeyError(f"signing key {kid} does not open: GRC_KEY_ENCRYPTION_KEY is not the key it was "
                             "sealed with, or the sealed key was moved to another row") from None
    return OKPKey.import_key(Ed25519PrivateKey.from_private_bytes(seed))


def _bound_to(tenant_id: uuid.UUID, kid: str) -> bytes:
    return f"grc signing key|{tenant_id}|{kid}".encode()
