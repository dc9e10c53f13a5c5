"""Signing keys (V1): a CB lists and rotates its own; anyone reads a CB's public keys (JWKS, did:web)."""
from __future__ import annotations

from typing import Any

from grc import tenancy
from grc.api import Blueprint
from grc.certification.public import LOOKUP_LIMIT_SCOPE, lookup_rate_limit
from grc.errors import NotFound
from grc.extensions import db
from grc.guard import requires
from grc.schemas import ListArgs, page_of
from grc.signing import service
from grc.signing.models import SigningKey
from grc.signing.schemas import DidDocumentSchema, IssuerSchema, JwksSchema, SigningKeySchema
from grc.tenants.service import CB_ROLES

blp = Blueprint("signing-keys", __name__, url_prefix="/api/v1/signing-keys",
                description="A certification body's Ed25519 signing keys: listed (public halves only) and rotated (V1)")
issuers = Blueprint("public-issuers", __name__, url_prefix="/api/v1/public/cbs",
                    description="Certification bodies as issuers of signed credentials: their public keys (V1)")
CACHE_CONTROL = "public, max-age=300"  # a verifier meeting an unknown kid fetches again


@blp.route("", methods=["GET"])
@requires(*CB_ROLES)
@blp.arguments(ListArgs, location="query")
@blp.response(200, page_of(SigningKeySchema))
def list_signing_keys(args: dict[str, Any]) -> dict[str, Any]:
    """Rule V1: the certification body's keys, newest first; public halves only (a private key never leaves)."""
    return service.list_keys(db.session, args)


@blp.route("/rotate", methods=["POST"])
@requires(service.KEY_ADMIN)
@blp.response(201, SigningKeySchema)
def rotate_signing_key() -> SigningKey:
    """Rule V1: a new key signs from now on; the retired one stays published while what it signed is valid."""
    return service.rotate(db.session, caller=tenancy.current())


def _public_keys(cb_slug: str) -> dict[str, Any]:
    view = service.public_keys(db.session, cb_slug)
    if view is None:
        raise NotFound("No certification body with that short name.")
    return view


@issuers.route("/<cb_slug>", methods=["GET"])
@issuers.public_lookup(lookup_rate_limit, scope=LOOKUP_LIMIT_SCOPE)
@issuers.response(200, IssuerSchema)
def get_issuer(cb_slug: str) -> Any:
    """Rule V1: a certification body as the issuer of credentials (`issuer.id`), its did:web and its JWKS URL."""
    view = _public_keys(cb_slug)
    issuer = view["issuer"]
    return {**issuer, "did": view["did"], "jwks_uri": issuer["id"] + "/jwks.json"}, {"Cache-Control": CACHE_CONTROL}


@issuers.route("/<cb_slug>/jwks.json", methods=["GET"])
@issuers.public_lookup(lookup_rate_limit, scope=LOOKUP_LIMIT_SCOPE)
@issuers.response(200, JwksSchema)
def get_jwks(cb_slug: str) -> Any:
    """Rule V1: the public keys a certification body's credentials verify with (RFC 7517), by `kid`."""
    return {"keys": _public_keys(cb_slug)["keys"]}, {"Cache-Control": CACHE_CONTROL}


@issuers.route("/<cb_slug>/did.json", methods=["GET"])
@issuers.public_lookup(lookup_rate_limit, scope=LOOKUP_LIMIT_SCOPE)
@issuers.response(200, DidDocumentSchema)
def get_did_document(cb_slug: str) -> Any:
    """Rule V1: the certification body's did:web document (its public keys as JsonWebKey2020 methods)."""
    return service.did_document(_public_keys(cb_slug)), {"Cache-Control": CACHE_CONTROL}
