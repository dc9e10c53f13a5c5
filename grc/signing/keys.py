"""Key material without a database (V1): Ed25519 key pairs, their public JWK and thumbprint, and the private half
sealed with the key-encryption key (grc.sealing), bound to its row (tenant and ``kid``), so a sealed key copied onto
another CB's row does not open.
"""
from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from joserfc.jwk import OKPKey

from grc import sealing

ALGORITHM = "EdDSA"  # VC-JOSE-COSE and the issue name it; RFC 9864's fully specified "Ed25519" is the same signature


@dataclass(frozen=True)
class KeyPair:
    """A new signing key: its ``kid`` (RFC 7638 thumbprint), public JWK and raw 32-byte private seed."""

    kid: str
    public_jwk: dict[str, str]
    private_seed: bytes


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
    """``seed`` sealed under ``kek`` for this tenant's key ``kid`` only."""
    return sealing.seal(seed, kek, context=_bound_to(tenant_id, kid))


def unseal(sealed: bytes, kek: bytes, *, tenant_id: uuid.UUID, kid: str) -> OKPKey:
    """The signing key sealed in ``sealed``; ``grc.sealing.SealedError`` for a wrong KEK or a key moved to another
    row."""
    seed = sealing.unseal(sealed, kek, context=_bound_to(tenant_id, kid))
    return OKPKey.import_key(Ed25519PrivateKey.from_private_bytes(seed))


def _bound_to(tenant_id: uuid.UUID, kid: str) -> str:
    return f"grc signing key|{tenant_id}|{kid}"
