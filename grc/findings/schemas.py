from __future__ import annotations

from typing import Any

import marshmallow as ma

from grc.findings.models import Finding, FindingSource, FindingStatus, Grade
from grc.findings.service import is_overdue
from grc.schemas import ListArgs, Schema, StrictSchema, text

GRADES = [g.value for g in Grade]


class FindingEventSchema(Schema):
    at = ma.fields.DateTime()
    actor_id = ma.fields.UUID(allow_none=True)
    action = ma.fields.String()
    from_status = ma.fields.String(allow_none=True)
    to_status = ma.fields.String()
    comment = ma.fields.String(allow_none=True)
    data = ma.fields.Dict()


class FindingSchema(Schema):
    id = ma.fields.UUID()
    number = ma.fields.String(metadata={"description": "Unique within the raising organisation"})
    source = ma.fields.Enum(FindingSource, by_value=True)
    grade = ma.fields.Enum(Grade, by_value=True)
    status = ma.fields.Enum(FindingStatus, by_value=True)
    client_id = ma.fields.UUID(attribute="client_tenant_id")
    audit_id = ma.fields.UUID(allow_none=True)
    scheme_id = ma.fields.UUID(allow_none=True)
    clause = ma.fields.String()
    requirement = ma.fields.String()
    evidence = ma.fields.String()
    statement = ma.fields.String()
    raised_by = ma.fields.UUID()
    raised_on = ma.fields.Date()
    verifier_id = ma.fields.UUID(allow_none=True)
    response_due = ma.fields.Date(allow_none=True)
    closure_due = ma.fields.Date(allow_none=True)
    overdue = ma.fields.Method("_overdue", metadata={"type": "boolean"})
    correction = ma.fields.String(allow_none=True)
    root_cause = ma.fields.String(allow_none=True)
    corrective_action_plan = ma.fields.String(allow_none=True)
    target_date = ma.fields.Date(allow_none=True)
    implementation_evidence = ma.fields.String(allow_none=True)
    verified_on = ma.fields.Date(allow_none=True)
    closed_on = ma.fields.Date(allow_none=True)
    history = ma.fields.List(ma.fields.Nested(FindingEventSchema))
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()

    def _overdue(self, finding: Finding) -> bool:
        return is_overdue(finding)



class FindingSummarySchema(FindingSchema):
    """A finding in a list: without its history (``GET /findings/{id}`` has it), so a page costs the same however
    long the findings' workflows ran."""

    class Meta:
        exclude = ("history",)


class FindingCreateSchema(StrictSchema):
    grade = ma.fields.String(required=True, validate=ma.validate.OneOf(GRADES))
    scheme_id = ma.fields.UUID(metadata={"description": "Needed when the audit covers several schemes"})
    clause = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=40), metadata={"example": "8.5.1"})
    requirement = text(5000, required=True)
    evidence = text(10000, required=True)
    statement = text(5000, required=True)


class OwnFindingCreateSchema(StrictSchema):
    source = ma.fields.String(required=True, validate=ma.validate.OneOf(
        [s.value for s in FindingSource if s != FindingSource.audit]))
    grade = ma.fields.String(required=True, validate=ma.validate.OneOf(GRADES))
    clause = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=40))
    requirement = text(5000, required=True)
    evidence = text(10000, required=True)
    statement = text(5000, required=True)
    verifier_id = ma.fields.UUID(required=True, metadata={"description": "Client user who reviews and verifies"})
    closure_due = ma.fields.Date()


class FindingResponseSchema(StrictSchema):
    """The client's answer to a finding (F2); not `Response`, the name generated clients give their HTTP answer."""
    correction = text(5000, required=True)
    root_cause = text(5000, required=True)
    corrective_action_plan = text(10000, required=True)
    target_date = ma.fields.Date(required=True)


class PlanReviewSchema(StrictSchema):
    accepted = ma.fields.Boolean(required=True)
    comment = text(5000)

    @ma.validates_schema
    def _reason_for_rejection(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if data.get("accepted") is False and not data.get("comment"):
            raise ma.ValidationError("A rejected plan needs a comment for the client.", "comment")


class ImplementationSchema(StrictSchema):
    implementation_evidence = text(10000, required=True)


class VerificationSchema(StrictSchema):
    effective = ma.fields.Boolean(required=True)
    comment = text(5000)

    @ma.validates_schema
    def _reason_for_not_effective(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if data.get("effective") is False and not data.get("comment"):
            raise ma.ValidationError("Say why the correction was not effective.", "comment")


class CloseSchema(StrictSchema):
    comment = text(5000)


class FindingListArgs(ListArgs):
    client_id = ma.fields.UUID()
    audit_id = ma.fields.UUID()
    grade = ma.fields.String(validate=ma.validate.OneOf(GRADES))
    status = ma.fields.String(validate=ma.validate.OneOf([s.value for s in FindingStatus]))
    source = ma.fields.String(validate=ma.validate.OneOf([s.value for s in FindingSource]))
    overdue = ma.fields.Boolean()
