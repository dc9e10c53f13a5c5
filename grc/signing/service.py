"""Signing with a certification body's own keys (V1): issuing keys, rotating them, signing compact JWS, and the
public keys anyone verifies with (the JWKS, the issuer's metadata and its ``did:web`` document).

A CB gets its first key when it is created (a subscription to ``tenant.created``); CBs created before keys existed
get theirs from ``grc db upgrade`` (``provision_missing_keys``). The newest unretired key signs. Rotation retires
the current key and creates the next; a retired key stays in the JWKS while a credential it signed is still valid
(``SigningKey.signs_until``), so older credentials keep verifying. The private half never leaves this module: it is
unsealed for one signature and never returned by the API.
"""
from __future__ import annotations

import json
import uuid
import warnings
from datetime import date
from typing import Any
from urllib.parse import quote, urlsplit

from flask import current_app
from joserfc import jws
from joserfc.errors import SecurityWarning
from sqlalchemy import create_engine, insert, inspect, select, update
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from grc import events, sealing, tenancy, viewcache
from grc.api import paginate
from grc.config import Settings
from grc.db import new_id, utcnow
from grc.signing import keys
from grc.signing.models import SigningKey
from grc.tenancy import Principal
from grc.tenants.models import Tenant, TenantKind
from grc.tenants.service import CB_BY_SLUG

KEY_ADMIN = "cb_admin"
ISSUER_PATH = "/api/v1/public/cbs/{slug}"
# RFC 9864 deprecates "EdDSA" for the fully specified "Ed25519"; VC-JOSE-COSE verifiers expect "EdDSA" today.
warnings.filterwarnings("ignore", message="EdDSA is deprecated", category=SecurityWarning)


# --------------------------------------------------------------------------- issuing and rotating keys


def create_key(session: Session, cb_id: uuid.UUID) -> SigningKey:
    """A new signing key for ``cb_id``, sealed with the key-encryption key; it signs from now on."""
    pair = keys.new_key_pair()
    key = SigningKey(id=new_id(), tenant_id=cb_id, kid=pair.kid, public_jwk=pair.public_jwk, created_at=utcnow(),
                     sealed_private_key=keys.seal(pair.private_seed, _kek(), tenant_id=cb_id, kid=pair.kid))
    session.add(key)
    return key


@events.on("tenant.created")
def give_new_certification_body_a_key(event: events.Event) -> None:
    """V1: a certification body signs from its first day (``tenant.created`` announces CBs only)."""
    if event.tenant_id is not None:
        create_key(event.session, event.tenant_id)


def rotate(session: Session, *, caller: Principal) -> SigningKey:
    """V1: retire the caller's current key(s) and start signing with a new one; retired keys stay published while
    anything they signed is valid."""
    tenancy.check_roles(caller, KEY_ADMIN)
    session.execute(update(SigningKey).where(SigningKey.tenant_id == caller.tenant_id,
                                             SigningKey.retired_at.is_(None)).values(retired_at=utcnow()))
    return create_key(session, caller.tenant_id)


def list_keys(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    """The caller's keys, newest first (public halves only)."""
    return paginate(session, select(SigningKey), args, [SigningKey.created_at, SigningKey.id], descending=True)


def provision_missing_keys(settings: Settings) -> int:
    """Give every certification body without a signing key one (``grc db upgrade`` runs it as the database owner
    after the migrations: CBs created before keys existed); returns how many were created."""
    engine = create_engine(settings.database_url, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            if not inspect(connection).has_table(SigningKey.__tablename__):
                return 0  # a database not yet at the revision that adds keys
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql("SELECT set_config('app.rls_bypass', 'on', true)")
            keyless = connection.execute(
                select(Tenant.id).where(Tenant.kind == TenantKind.certification_body,
                                        ~select(SigningKey.id).where(SigningKey.tenant_id == Tenant.id).exists())
            ).scalars().all()
            kek = _kek(settings)
            for cb_id in keyless:
                pair = keys.new_key_pair()
                connection.execute(insert(SigningKey).values(
                    id=new_id(), tenant_id=cb_id, kid=pair.kid, public_jwk=pair.public_jwk, created_at=utcnow(),
                    sealed_private_key=keys.seal(pair.private_seed, kek, tenant_id=cb_id, kid=pair.kid)))
            return len(keyless)
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- signing


def sign(session: Session, cb_id: uuid.UUID, claims: dict[str, Any], *, typ: str = "vc+jwt") -> str:
    """``claims`` as a compact JWS (EdDSA, Ed25519) under the CB's current key, ``kid`` in the protected header.

    Called in the CB's tenant scope. A ``validUntil`` in ``claims`` (an ISO date or date-time) keeps the key
    published until then, even after a rotation retires it."""
    key = _current_key(session, cb_id)
    private = keys.unseal(key.sealed_private_key, _kek(), tenant_id=cb_id, kid=key.kid)
    header = {"alg": keys.ALGORITHM, "typ": typ, "kid": key.kid}
    payload = json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode()
    token = jws.serialize_compact(header, payload, private, algorithms=[keys.ALGORITHM])
    _keep_published_until(key, claims.get("validUntil"))
    return token


def _current_key(session: Session, cb_id: uuid.UUID) -> SigningKey:
    key = session.scalars(
        select(SigningKey).where(SigningKey.tenant_id == cb_id, SigningKey.retired_at.is_(None))
        .order_by(SigningKey.created_at.desc(), SigningKey.id.desc()).limit(1)
    ).first()
    if key is None:
        raise RuntimeError(f"certification body {cb_id} has no signing key: run `grc db upgrade` (it gives every "
                           "certification body one)")
    return key


def _keep_published_until(key: SigningKey, valid_until: Any) -> None:
    if not isinstance(valid_until, str):
        return
    until = date.fromisoformat(valid_until[:10])
    if key.signs_until is None or until > key.signs_until:
        key.signs_until = until


def _kek(settings: Settings | None = None) -> bytes:
    return sealing.key_encryption_key(settings or current_app.config["GRC_SETTINGS"])


# --------------------------------------------------------------------------- what verifiers read


def issuer(cb: Tenant) -> dict[str, str]:
    """The CB as a credential's ``issuer``: its public URL (the JWKS is at ``{id}/jwks.json``) and name."""
    return {"id": _base_url() + ISSUER_PATH.format(slug=quote(cb.slug, safe="")), "name": cb.name}


def did_web(cb: Tenant) -> str:
    """The CB's ``did:web`` identifier: resolving it fetches ``{issuer id}/did.json`` (did:web method, path form)."""
    parts = urlsplit(issuer(cb)["id"])
    path = ":".join(quote(segment, safe="") for segment in parts.path.strip("/").split("/"))
    return f"did:web:{quote(parts.netloc, safe='')}:{path}"


def _base_url() -> str:
    settings: Settings = current_app.config["GRC_SETTINGS"]
    return settings.public_base_url.rstrip("/")


def public_keys(session: Session, cb_slug: str) -> dict[str, Any] | None:
    """The published keys and the issuer of CB ``cb_slug`` (None: no such CB), from the public cache while the CB's
    keys have not changed (a rotation or a new signature moves its view version, grc.viewcache)."""
    slug = cb_slug.lower()
    return viewcache.cached(session, "signing-keys", slug, lambda: _load_public_keys(session, slug))


def _load_public_keys(session: Session, slug: str) -> tuple[tuple[uuid.UUID], dict[str, Any]] | None:
    cb_id = tenancy.tenant_of(session, CB_BY_SLUG, slug)
    if cb_id is None:
        return None
    with tenancy.within(session, cb_id, tenancy.CERTIFICATION_BODY):
        cb = session.get_one(Tenant, cb_id)
        today = utcnow().date()
        rows = session.scalars(select(SigningKey).where(SigningKey.tenant_id == cb_id)
                               .order_by(SigningKey.created_at.desc(), SigningKey.id.desc()))
        published = [dict(key.public_jwk) for key in rows if key.published_on(today)]
        return (cb_id,), {"issuer": issuer(cb), "did": did_web(cb), "keys": published}


def did_document(view: dict[str, Any]) -> dict[str, Any]:
    """The ``did:web`` document of a CB's public keys (``public_keys``): each key a JsonWebKey2020 verification
    method that may assert credentials."""
    did = view["did"]
    methods = [{"id": f"{did}#{jwk['kid']}", "type": "JsonWebKey2020", "controller": did, "publicKeyJwk": jwk}
               for jwk in view["keys"]]
    return {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/suites/jws-2020/v1"],
        "id": did,
        "alsoKnownAs": [view["issuer"]["id"]],
        "verificationMethod": methods,
        "assertionMethod": [method["id"] for method in methods],
    }
