from __future__ import annotations

import marshmallow as ma

from grc.audits.models import AuditStatus, AuditType
from grc.schemas import ListArgs, Schema, StrictSchema, text


class SchemeRefSchema(Schema):
    id = ma.fields.UUID()
    standard = ma.fields.String(metadata={"example": "ISO 9001:2015"})


class TeamMemberSchema(Schema):
    user_id = ma.fields.UUID()
    name = ma.fields.String()
    is_lead = ma.fields.Boolean()


class AuditSchema(Schema):
    id = ma.fields.UUID()
    client_id = ma.fields.UUID(attribute="client_tenant_id")
    type = ma.fields.Enum(AuditType, by_value=True)
    status = ma.fields.Enum(AuditStatus, by_value=True)
    schemes = ma.fields.List(ma.fields.Nested(SchemeRefSchema))
    planned_start = ma.fields.Date()
    planned_end = ma.fields.Date()
    started_at = ma.fields.DateTime(allow_none=True)
    completed_on = ma.fields.Date(allow_none=True)
    sites = ma.fields.List(ma.fields.String())
    objectives = ma.fields.String(allow_none=True)
    cancel_reason = ma.fields.String(allow_none=True)
    lead_auditor_id = ma.fields.UUID()
    team = ma.fields.List(ma.fields.Nested(TeamMemberSchema))
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


class AuditCreateSchema(StrictSchema):
    client_id = ma.fields.UUID(required=True)
    scheme_ids = ma.fields.List(ma.fields.UUID(), required=True, validate=ma.validate.Length(min=1, max=10))
    type = ma.fields.String(required=True, validate=ma.validate.OneOf([t.value for t in AuditType]))
    planned_start = ma.fields.Date(required=True)
    planned_end = ma.fields.Date(required=True)
    sites = ma.fields.List(ma.fields.String(validate=ma.validate.Length(min=1, max=200)), load_default=list,
                           validate=ma.validate.Length(max=500),
                           metadata={"description": "Names of the client's sites"})
    lead_auditor_id = ma.fields.UUID(required=True)
    team_ids = ma.fields.List(ma.fields.UUID(), load_default=list, validate=ma.validate.Length(max=20),
                              metadata={"description": "Other auditors; the lead is always on the team"})
    objectives = text(5000)


class AuditCompleteSchema(StrictSchema):
    completed_on = ma.fields.Date(metadata={"description": "Last day of the audit; today if omitted"})


class AuditCancelSchema(StrictSchema):
    reason = text(2000, required=True)


class AuditListArgs(ListArgs):
    client_id = ma.fields.UUID()
    type = ma.fields.String(validate=ma.validate.OneOf([t.value for t in AuditType]))
    status = ma.fields.String(validate=ma.validate.OneOf([s.value for s in AuditStatus]))
    scheme_id = ma.fields.UUID()


class AuditRefSchema(Schema):
    id = ma.fields.UUID()
    status = ma.fields.Enum(AuditStatus, by_value=True)
    planned_start = ma.fields.Date()
    completed_on = ma.fields.Date(allow_none=True)


class MilestoneSchema(Schema):
    name = ma.fields.String(metadata={"example": "surveillance_1"})
    due = ma.fields.Date(allow_none=True)
    state = ma.fields.String(metadata={"description": "done, due or overdue"})
    audit_id = ma.fields.UUID(allow_none=True)


class SchemeProgrammeSchema(Schema):
    scheme = ma.fields.Nested(SchemeRefSchema)
    stage1 = ma.fields.Nested(AuditRefSchema, allow_none=True)
    stage2 = ma.fields.Nested(AuditRefSchema, allow_none=True)
    initial_decision_date = ma.fields.Date(allow_none=True)
    provisional = ma.fields.Boolean(metadata={"description": "Dates are reckoned from the completed stage 2 "
                                                             "until a certification decision is recorded"})
    expiry = ma.fields.Date(allow_none=True)
    milestones = ma.fields.List(ma.fields.Nested(MilestoneSchema))
    repeat_stage2_required = ma.fields.Boolean(metadata={"description": "F4: a stage 2 major is unverified "
                                                                        "six months after the audit"})


class ProgrammeSchema(Schema):
    client_id = ma.fields.UUID()
    schemes = ma.fields.List(ma.fields.Nested(SchemeProgrammeSchema))
