"""Secrets stored sealed: encrypted and authenticated under the key-encryption key, so a database dump alone never
yields a signing key (V1) or a tenant's API key for another service.

AES-256-GCM with a fresh 96-bit nonce per seal; the associated data names what the secret is and whose (``context``,
e.g. the tenant and key id), so a sealed value copied onto another row does not open. The key-encryption key is
derived with HKDF from ``GRC_KEY_ENCRYPTION_KEY``, or in development from ``GRC_SECRET_KEY`` (``Settings.check``
refuses production without the former), so operators may give any long random string.
"""
from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from grc.config import Settings

NONCE_BYTES = 12
_KEK_INFO = b"grc key-encryption key v1"
_DEV_KEK_INFO = b"grc development key-encryption key v1 (derived from GRC_SECRET_KEY)"


class SealedError(RuntimeError):
    """A sealed value does not open: the key-encryption key differs from the one it was sealed with, or the value
    was moved to another row."""


def key_encryption_key(settings: Settings) -> bytes:
    """The 256-bit key that seals secrets: from ``GRC_KEY_ENCRYPTION_KEY``, else derived from the application secret
    (development only; production refuses to start without the former)."""
    configured = settings.key_encryption_key
    material, info = (configured, _KEK_INFO) if configured else (settings.secret_key, _DEV_KEK_INFO)
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(material.encode())


def seal(plaintext: bytes, kek: bytes, *, context: str) -> bytes:
    """``plaintext`` encrypted and authenticated under ``kek``, bound to ``context``: nonce || ciphertext."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(kek).encrypt(nonce, plaintext, context.encode())


def unseal(sealed: bytes, kek: bytes, *, context: str) -> bytes:
    """What ``seal`` sealed with this ``kek`` and ``context``; ``SealedError`` otherwise."""
    try:
        return AESGCM(kek).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], context.encode())
    except InvalidTag:
        raise SealedError("a sealed secret does not open: GRC_KEY_ENCRYPTION_KEY is not the key it was sealed with, "
                          "or the sealed value was moved to another row") from None
