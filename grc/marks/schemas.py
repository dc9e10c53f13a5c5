from __future__ import annotations

import marshmallow as ma

from grc.certification.models import CertificateStatus
from grc.dumping import OMITTED_WHEN
from grc.marks.models import LicenceStatus, ProofMethod, ProofState
from grc.marks.service import MAX_DOMAINS, PERMITTED_USES
from grc.schemas import ListArgs, Schema, StrictSchema, text

USES_DOC = "One or more of: " + ", ".join(PERMITTED_USES) + ". Never products, packaging or test reports (rule M1)."


class LicensedCertificateSchema(Schema):
    id = ma.fields.UUID()
    number = ma.fields.String()
    standard = ma.fields.String(attribute="scheme.standard", metadata={"example": "ISO 9001:2015"})
    status = ma.fields.Enum(CertificateStatus, by_value=True)


class DomainProofSummarySchema(Schema):
    """A domain of the licence and whether the licensee proved it controls it (rule V4)."""

    domain = ma.fields.String(metadata={"example": "shop.example.com"})
    state = ma.fields.Enum(ProofState, by_value=True,
                           metadata={"description": "proven: the badge may say VALID there (rule V4)"})
    method = ma.fields.Enum(ProofMethod, by_value=True, allow_none=True)
    proven_at = ma.fields.DateTime(allow_none=True)
    last_checked_at = ma.fields.DateTime(allow_none=True)


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
    domain_proofs = ma.fields.List(ma.fields.Nested(DomainProofSummarySchema),
                                   metadata={"description": "Each domain with its proof state (rule V4)"})
    credential = ma.fields.String(metadata={
        "description": "The licence as a W3C Verifiable Credential signed by the certification body: a compact JWS "
                       "(vc+jwt, EdDSA) with its own revocation and suspension status entries (V2, V3)",
        OMITTED_WHEN: "from the CB's own answers: GET /public/mark-licences/{number} carries it"})
    certificates = ma.fields.List(ma.fields.Nested(LicensedCertificateSchema))
    granted_on = ma.fields.Date()
    granted_by = ma.fields.UUID()
    badge_url = ma.fields.Function(lambda licence: f"/badges/{licence.number}.svg", metadata={"type": "string"})
    page_url = ma.fields.Function(lambda licence: f"/badges/{licence.number}", metadata={"type": "string"})
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


class ChallengeSchema(Schema):
    """What to publish where (rule V4), then ask for the check."""

    method = ma.fields.String(metadata={"enum": [m.value for m in ProofMethod]})
    token = ma.fields.String(metadata={"description": "Random, single use: it proves the domain once"})
    expires_at = ma.fields.DateTime()
    error = ma.fields.String(allow_none=True, metadata={"description": "Why the last check of this challenge failed"})
    url = ma.fields.String(allow_none=True,
                           metadata={"description": "http: answer GET on this URL with 200 and the token as the body"})
    record_name = ma.fields.String(allow_none=True,
                                   metadata={"description": "dns: the name of a TXT record whose value is the token"})
    record_type = ma.fields.String(allow_none=True, metadata={"example": "TXT"})


class DomainStatusSchema(Schema):
    """A domain of the licence: its proof, its re-checks and the pending challenge (rule V4)."""

    domain = ma.fields.String(attribute="proof.domain", metadata={"example": "shop.example.com"})
    state = ma.fields.Enum(ProofState, by_value=True, attribute="proof.state")
    method = ma.fields.Enum(ProofMethod, by_value=True, allow_none=True, attribute="proof.method")
    proven_at = ma.fields.DateTime(allow_none=True, attribute="proof.proven_at")
    last_checked_at = ma.fields.DateTime(allow_none=True, attribute="proof.last_checked_at")
    next_check_at = ma.fields.DateTime(allow_none=True, attribute="proof.next_check_at")
    failing_since = ma.fields.DateTime(
        allow_none=True, attribute="proof.failing_since",
        metadata={"description": "Re-checks fail since then; after 14 days the proof lapses (rule V4)"})
    last_failure = ma.fields.String(allow_none=True, attribute="proof.last_failure")
    lapsed_at = ma.fields.DateTime(allow_none=True, attribute="proof.lapsed_at")
    challenge = ma.fields.Nested(ChallengeSchema, allow_none=True)


class DomainStatusListSchema(Schema):
    items = ma.fields.List(ma.fields.Nested(DomainStatusSchema))


class ChallengeRequestSchema(StrictSchema):
    method = ma.fields.Enum(ProofMethod, by_value=True, required=True, metadata={
        "description": "http: a token at https://{domain}/.well-known/grc-mark/{token}; dns: a TXT record at "
                       "_grc-mark.{domain}"})


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
    domain_proofs = ma.fields.List(ma.fields.Nested(DomainProofSummarySchema),
                                   metadata={"description": "Each domain with its proof state (rule V4)"})
    credential = ma.fields.String(metadata={
        "description": "The licence as a W3C Verifiable Credential signed by the certification body: a compact JWS "
                       "(vc+jwt, EdDSA) with its own revocation and suspension status entries (V2, V3)"})
