"""Public certificate check (C10): ``GET /api/v1/public/certificates/{cb_slug}/{number}``, no login, rate-limited."""
from __future__ import annotations

from typing import Any

import marshmallow as ma

from grc.api import Blueprint
from grc.certification.models import CertificateStatus
from grc.certification.public import LOOKUP_LIMIT_SCOPE, find_public, lookup_rate_limit
from grc.errors import NotFound
from grc.extensions import db
from grc.schemas import Schema

blp = Blueprint(
    "public-certificates", __name__, url_prefix="/api/v1/public",
    description="Public certificate verification: no login, rate-limited per client IP (C10)",
)
CACHE_CONTROL = "public, max-age=60"


class CertificateCheckSiteSchema(Schema):
    name = ma.fields.String(metadata={"description": "Site name"})
    country = ma.fields.String(allow_none=True, metadata={"description": "ISO 3166-1 alpha-2 country code"})
    scope = ma.fields.String(allow_none=True, metadata={"description": "Scope of certification at this site"})


class CertificateCheckSchema(Schema):
    """Exactly what C10 lets anyone see; nothing else about the certificate, the client or the CB."""

    number = ma.fields.String(metadata={"description": "Certificate number"})
    status = ma.fields.String(
        validate=ma.validate.OneOf([s.value for s in CertificateStatus]),
        metadata={"description": "active, suspended, withdrawn or expired (active past its expiry date shows "
                                 "expired)", "enum": [s.value for s in CertificateStatus]},
    )
    client_name = ma.fields.String(metadata={"description": "Certified organisation"})
    client_country = ma.fields.String(allow_none=True, metadata={"description": "ISO 3166-1 alpha-2"})
    standard = ma.fields.String(metadata={"description": "Standard with its edition, e.g. ISO 9001:2015"})
    scheme_title = ma.fields.String(allow_none=True, metadata={"description": "Title of the standard"})
    scope = ma.fields.String(allow_none=True, metadata={"description": "Scope of certification"})
    sites = ma.fields.List(ma.fields.Nested(CertificateCheckSiteSchema), metadata={"description": "Certified sites"})
    effective_date = ma.fields.Date(metadata={"description": "Effective date of the current issue"})
    original_issue_date = ma.fields.Date(metadata={"description": "First issued on"})
    expiry_date = ma.fields.Date(metadata={"description": "Valid until (inclusive)"})
    cb_name = ma.fields.String(metadata={"description": "Certification body"})
    cb_slug = ma.fields.String(metadata={"description": "Certification body's short name in verification URLs"})
    verified_at = ma.fields.DateTime(metadata={"description": "When this answer was produced (UTC)"})
    credential_url = ma.fields.Url(metadata={
        "description": "The certificate as a signed W3C Verifiable Credential (vc+jwt), verifiable with the "
                       "certification body's published keys without trusting this answer (V2)"})


@blp.route("/certificates/<cb_slug>/<path:number>", methods=["GET"])
@blp.public_lookup(lookup_rate_limit, scope=LOOKUP_LIMIT_SCOPE)
@blp.response(200, CertificateCheckSchema)
def get_public_certificate(cb_slug: str, number: str) -> Any:
    """Check a certificate by certification body and number.

    Anyone, without logging in, learns the status (active, suspended, withdrawn, expired), the client's name
    and country, the standard, scope, sites, dates and the certification body (C10). Nothing else is exposed;
    an unknown number, or a number of another certification body, answers 404. Rate-limited per client IP.
    """
    found = find_public(db.session, cb_slug, number)
    if found is None:
        raise NotFound("No certificate with that number at that certification body.")
    return found, {"Cache-Control": CACHE_CONTROL}
