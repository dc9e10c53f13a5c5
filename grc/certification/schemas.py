from __future__ import annotations

import marshmallow as ma

from grc.certification.models import CertificateStatus, Outcome
from grc.dumping import OMITTED_WHEN
from grc.schemas import ListArgs, Schema, StrictSchema, text

DECIDABLE = [o.value for o in Outcome if o not in (Outcome.suspend, Outcome.withdraw)]


class SiteScopeSchema(StrictSchema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200),
                            metadata={"description": "One of the client's sites"})
    scope = text(2000, metadata={"description": "This site's scope; the certificate scope if omitted"})


class DecisionCreateSchema(StrictSchema):
    outcome = ma.fields.String(required=True, validate=ma.validate.OneOf(DECIDABLE))
    client_id = ma.fields.UUID(metadata={"description": "For grant and refuse"})
    scheme_id = ma.fields.UUID(metadata={"description": "For grant and refuse"})
    certificate_id = ma.fields.UUID(metadata={"description": "For renew, restore, extend_scope, reduce_scope"})
    audit_ids = ma.fields.List(ma.fields.UUID(), load_default=list, validate=ma.validate.Length(max=20),
                               metadata={"description": "The audits the decision relies on"})
    rationale = text(10000, required=True)
    scope = text(5000)
    sites = ma.fields.List(ma.fields.Nested(SiteScopeSchema), validate=ma.validate.Length(max=500))


class DecisionAuditSchema(Schema):
    id = ma.fields.UUID()
    type = ma.fields.String(attribute="type.value")


class DecisionSchema(Schema):
    id = ma.fields.UUID()
    outcome = ma.fields.Enum(Outcome, by_value=True)
    client_id = ma.fields.UUID(attribute="client_tenant_id")
    scheme_id = ma.fields.UUID()
    certificate_id = ma.fields.UUID(allow_none=True)
    decided_by = ma.fields.UUID()
    decided_on = ma.fields.Date()
    rationale = ma.fields.String()
    scope = ma.fields.String(allow_none=True)
    audits = ma.fields.List(ma.fields.Nested(DecisionAuditSchema))


class DecisionListArgs(ListArgs):
    client_id = ma.fields.UUID()
    certificate_id = ma.fields.UUID()
    outcome = ma.fields.String(validate=ma.validate.OneOf([o.value for o in Outcome]))


class CertifiedSiteSchema(Schema):
    name = ma.fields.String()
    address = ma.fields.String()
    country = ma.fields.String()
    scope = ma.fields.String()


class RevisionContentSchema(Schema):
    number = ma.fields.String()
    client_name = ma.fields.String()
    client_legal_name = ma.fields.String()
    client_country = ma.fields.String()
    client_address = ma.fields.String(allow_none=True)
    sites = ma.fields.List(ma.fields.Nested(CertifiedSiteSchema))
    scope = ma.fields.String()
    standard = ma.fields.String()
    scheme_title = ma.fields.String()
    effective_date = ma.fields.String()
    expiry_date = ma.fields.String()
    original_issue_date = ma.fields.String()
    revision = ma.fields.Integer()
    cb_name = ma.fields.String()
    cb_slug = ma.fields.String()


class RevisionSchema(Schema):
    revision = ma.fields.Integer()
    issued_on = ma.fields.Date()
    superseded_on = ma.fields.Date(allow_none=True)
    superseded = ma.fields.Function(lambda r: r.superseded_on is not None, metadata={"type": "boolean"})
    reason = ma.fields.String()
    content = ma.fields.Nested(RevisionContentSchema)


class CertificateEventSchema(Schema):
    at = ma.fields.DateTime()
    actor_id = ma.fields.UUID(allow_none=True)
    action = ma.fields.String()
    from_status = ma.fields.String(allow_none=True)
    to_status = ma.fields.String()
    reason = ma.fields.String(allow_none=True)
    decision_id = ma.fields.UUID(allow_none=True)


class RegistrySyncSchema(Schema):
    """Where the certificate stands in its CB's accreditation registry (IAF CertSearch, G2)."""

    status = ma.fields.String(metadata={"description": "pending, synced or failed"})
    synced_at = ma.fields.DateTime(allow_none=True, metadata={"description": "When the registry took its record"})
    error = ma.fields.String(allow_none=True, metadata={"description": "Why it failed, in the registry's words"})


class CertificateSchema(Schema):
    id = ma.fields.UUID()
    number = ma.fields.String()
    status = ma.fields.Enum(CertificateStatus, by_value=True)
    client_id = ma.fields.UUID(attribute="client_tenant_id")
    scheme_id = ma.fields.UUID()
    standard = ma.fields.String(attribute="scheme.standard")
    original_issue_date = ma.fields.Date()
    issue_date = ma.fields.Date()
    expiry_date = ma.fields.Date()
    suspended_until = ma.fields.Date(allow_none=True)
    flagged_for_withdrawal = ma.fields.Boolean()
    surveillance_due = ma.fields.Date(allow_none=True, metadata={
        "description": "C6: when the next surveillance audit is due (derived); null once recertification is next"})
    transferred_from = ma.fields.String(allow_none=True)
    revision = ma.fields.Integer()
    current = ma.fields.Nested(RevisionContentSchema, attribute="current.content")
    revisions = ma.fields.List(ma.fields.Nested(RevisionSchema))
    history = ma.fields.List(ma.fields.Nested(CertificateEventSchema))
    registry_sync = ma.fields.Nested(RegistrySyncSchema, allow_none=True, metadata={
        "description": "G2, on GET /certificates/{id} for its CB: where it stands in IAF CertSearch (null without a "
                       "registry connection)",
        OMITTED_WHEN: "except on GET /certificates/{id} for the certificate's own CB"})


class CertificateSummarySchema(CertificateSchema):
    """A certificate in a list: its current content, without the revisions and history that grow with its age
    (``GET /certificates/{id}`` has them), so a page costs the same for a new and a thirty-year-old certificate."""

    current = ma.fields.Nested(RevisionContentSchema, attribute="current_revision.content")

    class Meta:
        exclude = ("revisions", "history", "registry_sync")


class CertificateListArgs(ListArgs):
    client_id = ma.fields.UUID()
    scheme_id = ma.fields.UUID()
    status = ma.fields.String(validate=ma.validate.OneOf([s.value for s in CertificateStatus]))
    expiring_before = ma.fields.Date()


class SuspendSchema(StrictSchema):
    reason = text(5000, required=True)
    until = ma.fields.Date(required=True, metadata={"description": "C8: no later than the CB's maximum"})


class RestoreSchema(StrictSchema):
    reason = text(5000, required=True)
    audit_ids = ma.fields.List(ma.fields.UUID(), load_default=list, validate=ma.validate.Length(max=20),
                               metadata={"description": "After expiry: the completed recertification audit"})


class WithdrawSchema(StrictSchema):
    reason = text(5000, required=True)


class ReduceScopeSchema(StrictSchema):
    reason = text(5000, required=True)
    scope = text(5000, required=True)
    sites = ma.fields.List(ma.fields.Nested(SiteScopeSchema), validate=ma.validate.Length(max=500))


class ExportArgs(StrictSchema):
    format = ma.fields.String(
        load_default="csv", validate=ma.validate.OneOf(["csv", "json", "certsearch-json", "certsearch-xlsx"]),
        metadata={"description": "csv, json: the directory for people; certsearch-json: the IAF CertSearch bulk "
                                 "upload bodies, one per certified entity (G1); certsearch-xlsx: its file template"})


class TransferRequestSchema(StrictSchema):
    certificate_id = ma.fields.UUID(required=True, metadata={"description": "A certificate your organisation holds"})
    to_cb_slug = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=63),
                                  metadata={"description": "The certification body asked to take it over"})


class TransferAcceptSchema(StrictSchema):
    audit_id = ma.fields.UUID(required=True, metadata={"description": "The completed transfer_review audit"})
    rationale = text(10000, required=True)


class TransferSchema(Schema):
    id = ma.fields.UUID()
    client_id = ma.fields.UUID(attribute="client_tenant_id")
    source_number = ma.fields.String()
    source_cb_name = ma.fields.String()
    status = ma.fields.String(attribute="status.value")
    requested_by = ma.fields.UUID()
    certificate_id = ma.fields.UUID(allow_none=True)
    accepted_on = ma.fields.Date(allow_none=True)
    created_at = ma.fields.DateTime()
