"""Public, no login, rate-limited: a certificate's signed credential and a CB's signed status lists (V2, V3)."""
from __future__ import annotations

from flask import Response

from grc.api import Blueprint
from grc.certification.public import LOOKUP_LIMIT_SCOPE, lookup_rate_limit
from grc.credentials import service
from grc.credentials.schemas import CredentialArgsSchema
from grc.errors import NotFound
from grc.extensions import db

blp = Blueprint(
    "public-credentials", __name__, url_prefix="/api/v1/public",
    description="Verifiable credentials: certificates and their status lists, signed by their certification body "
                "(W3C VC 2.0 as vc+jwt, Bitstring Status List v1.0); no login, rate-limited per client IP",
)
STATUS_LIST_LIMIT_SCOPE = "status-list-lookup"
JWS = {"type": "string", "description": "A compact JWS (header.payload.signature, base64url), EdDSA"}
# A credential never changes once signed; a list must not be served stale by anyone (V3), so caches revalidate.
CREDENTIAL_CACHE, STATUS_LIST_CACHE = "public, max-age=60", "no-cache"


@blp.route("/certificates/<cb_slug>/<path:number>/credential", methods=["GET"])
@blp.public_lookup(lookup_rate_limit, scope=LOOKUP_LIMIT_SCOPE)
@blp.arguments(CredentialArgsSchema, location="query", as_kwargs=True)
@blp.response(200, JWS, content_type=service.MEDIA_TYPE)
def get_certificate_credential(cb_slug: str, number: str, revision: int | None = None) -> Response:
    """A certificate as a W3C Verifiable Credential, signed by its certification body (V2).

    The body is a compact JWS (`typ` `vc+jwt`, EdDSA) whose payload is a VC Data Model 2.0 credential stating what
    the public check shows (C10), valid until the end of the expiry date, with two `BitstringStatusListEntry`
    items (`revocation`, `suspension`) pointing at the CB's status lists. Verify it with the keys at the issuer's
    `/jwks.json`. Without `revision`, the current revision's credential; superseded revisions keep theirs.
    Shares the public check's rate limit.
    """
    token = service.public_credential(db.session, cb_slug, number, revision)
    if token is None:
        raise NotFound("No credential for that certificate at that certification body.")
    return _jws(token, CREDENTIAL_CACHE)


@blp.route("/cbs/<cb_slug>/status-lists/<purpose>", methods=["GET"])
@blp.public_lookup(lookup_rate_limit, scope=STATUS_LIST_LIMIT_SCOPE)
@blp.response(200, JWS, content_type=service.MEDIA_TYPE)
def get_status_list(cb_slug: str, purpose: str) -> Response:
    """A certification body's status list for `revocation` or `suspension` (`purpose`), signed (V3).

    A `BitstringStatusListCredential` as a compact JWS (`vc+jwt`): `encodedList` is the GZIP-compressed bitstring
    (at least 131,072 bits; index 0 is the most significant bit of the first byte), multibase base64url (prefix
    `u`). Bit `statusListIndex` of a certificate's credential is 1 while the certificate is withdrawn
    (`revocation`) or suspended (`suspension`). Never older than the last committed status change.
    """
    token = service.public_status_list(db.session, cb_slug, purpose)
    if token is None:
        raise NotFound("No such status list.")
    return _jws(token, STATUS_LIST_CACHE)


def _jws(token: str, cache_control: str) -> Response:
    response = Response(token, mimetype=service.MEDIA_TYPE)
    response.headers["Cache-Control"] = cache_control
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response

