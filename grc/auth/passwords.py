"""argon2id hashing of passwords and API-client secrets (argon2-cffi's RFC 9106 defaults), and the digest of the
random bearer secrets grc hands out (SCIM tokens, second-step tickets, single sign-on states)."""
from __future__ import annotations

import hashlib

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# What a user made by single sign-on or SCIM holds instead of a hash: no password matches it (``verify_secret``).
NO_PASSWORD = "!"
# Compared against when the account does not exist, so a miss costs what a hit costs (no user probing).
_DUMMY_HASH = _hasher.hash("grc-timing-equaliser")


def use_cheap_hashing_for_tests() -> None:
    """argon2id with the library's cheapest profile: the same code path, milliseconds instead of ~50 ms."""
    global _hasher, _DUMMY_HASH
    _hasher = PasswordHasher.from_parameters(profiles.CHEAPEST)
    _DUMMY_HASH = _hasher.hash("grc-timing-equaliser")


def hash_secret(secret: str) -> str:
    return _hasher.hash(secret)


def verify_secret(stored_hash: str | None, secret: str) -> bool:
    """Whether ``secret`` matches ``stored_hash``. Fails closed: no hash, an empty one (a user made by single sign-on
    or SCIM may hold no password) or anything that is not an argon2 hash never matches, yet costs a verification."""
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, secret) and bool(stored_hash)
    except (VerificationError, InvalidHashError):
        return False


def lookup_digest(secret: str) -> str:
    """SHA-256 (hex) of a secret grc drew at random (32 bytes or more): kept instead of the secret and found by it.
    Such a secret cannot be guessed, so a slow hash adds nothing; a person's password takes argon2 (``hash_secret``).
    Text that is not valid Unicode (a lone surrogate from a header) is spelt out, never an error."""
    return hashlib.sha256(secret.encode("utf-8", "backslashreplace")).hexdigest()


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)
