from __future__ import annotations

import marshmallow as ma

from grc.certification.models import CertificateStatus
from grc.marks.models import LicenceStatus
from grc.marks.service import MAX_DOMAINS, PERMITTED_USES
from grc.schemas import ListArgs, Schema, StrictSchema, text

USES_DOC = "One or more of: " + ", ".join(PERMITTED_USES) + ". Never products, packaging or test reports (rule M1)."


class LicensedCertificateSchema(Schema):
    id = ma.fields.UUID()
    number = ma.fields.String()
    standard = ma.fields.String(attribute="scheme.standard", metadata={"example": "ISO 9001:2015"})
    status = ma.fields.Enum(CertificateStatus, by_value=True)


class MarkLicenceSchema(Schema):
    id = ma.fields.UUID()
    number = ma.fields.String(metadata={"description": "Public, globally unique number (badge and verification page)"})
    client_id = ma.fields.UUID(attribute="client_tenant_id")
    status = ma.fields.Enum(LicenceStatus, by_value=True)
    suspended_by_cb = ma.fields.Boolean(
        metadata={"description": "Suspended by the CB itself (not by its certificates)"})
    status_reason = ma.fields.String(allow_none=True)
    permitted_uses = ma.fields.List(ma.fields.String())
    domains = ma.fields.List(ma.fields.String())
    credential = ma.fields.String(metadata={
        "description": "The licence as a W3C Verifiable Credential signed by the certification body: a compact JWS "
                       "(vc+jwt, EdDSA) with its own revocation and suspension status entries (V2, V3)"})
    certificates = ma.fields.List(ma.fields.Nested(LicensedCertificateSchema))
    granted_on = ma.fields.Date()
    granted_by = ma.fields.UUID()
    badge_url = ma.fields.Function(lambda licence: f"/badges/{licence.number}.svg")
    page_url = ma.fields.Function(lambda licence: f"/badges/{licence.number}")
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


class MarkLicenceCreateSchema(StrictSchema):
    client_id = ma.fields.UUID(required=True)
    certificate_ids = ma.fields.List(
        ma.fields.UUID(), required=True, validate=ma.validate.Length(min=1, max=50),
        metadata={"description": "Active certificates this CB issued to the client (rule M1)"},
    )
    permitted_uses = ma.fields.List(
        ma.fields.String(validate=ma.validate.Length(min=1, max=60)), required=True,
        validate=ma.validate.Length(min=1, max=20), metadata={"description": USES_DOC},
    )
    domains = ma.fields.List(
        ma.fields.String(validate=ma.validate.Length(min=1, max=253)), load_default=list,
        validate=ma.validate.Length(max=MAX_DOMAINS),
        metadata={"description": "Hostnames where the badge appears (subdomains included); required for website use"},
    )


class ReasonSchema(StrictSchema):
    reason = text(2000, required=True)


class MarkLicenceListArgs(ListArgs):
    client_id = ma.fields.UUID()
    status = ma.fields.String(validate=ma.validate.OneOf([s.value for s in LicenceStatus]))
    certificate_id = ma.fields.UUID()


class PublicLicenceCertificateSchema(Schema):
    number = ma.fields.String()
    standard = ma.fields.String(metadata={"example": "ISO 9001:2015"})
    status = ma.fields.String(metadata={"enum": ["active", "suspended", "withdrawn", "expired"]})
    verify_url = ma.fields.String(metadata={"description": "Public certificate check page (rule C10)"})


class PublicMarkLicenceSchema(Schema):
    """Everything anyone may know about a licence (rule M3), and nothing else."""

    number = ma.fields.String()
    status = ma.fields.String(metadata={"enum": [s.value for s in LicenceStatus]})
    client_name = ma.fields.String()
    cb_name = ma.fields.String()
    standards = ma.fields.List(ma.fields.String())
    certificates = ma.fields.List(ma.fields.Nested(PublicLicenceCertificateSchema))
    permitted_uses = ma.fields.List(ma.fields.String())
    domains = ma.fields.List(ma.fields.String())
    credential = ma.fields.String(metadata={
        "description": "The licence as a W3C Verifiable Credential signed by the certification body: a compact JWS "
                       "(vc+jwt, EdDSA) with its own revocation and suspension status entries (V2, V3)"})
