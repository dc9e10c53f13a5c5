from __future__ import annotations

import marshmallow as ma
from flask_smorest.fields import Upload

from grc.risks.models import Risk, RiskStatus
from grc.risks.service import review_overdue
from grc.schemas import ListArgs, Schema, StrictSchema, text


class ScaleEntrySchema(StrictSchema):
    level = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=10))
    label = text(100, required=True)
    description = ma.fields.String(load_default="", validate=ma.validate.Length(max=1000))


class LevelSchema(StrictSchema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=40))
    review_interval_days = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=3650))


class CriteriaUpdateSchema(StrictSchema):
    likelihood_scale = ma.fields.List(ma.fields.Nested(ScaleEntrySchema), required=True,
                                      validate=ma.validate.Length(min=3, max=10))
    consequence_scale = ma.fields.List(ma.fields.Nested(ScaleEntrySchema), required=True,
                                       validate=ma.validate.Length(min=3, max=10))
    levels = ma.fields.List(ma.fields.Nested(LevelSchema), required=True, validate=ma.validate.Length(min=2, max=10),
                            metadata={"description": "Lowest first"})
    matrix = ma.fields.List(ma.fields.List(ma.fields.String(validate=ma.validate.Length(min=1, max=40)),
                                           validate=ma.validate.Length(max=10)),
                            required=True, validate=ma.validate.Length(max=10),
                            metadata={"description": "matrix[likelihood-1][consequence-1] = level name"})
    appetite = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=40),
                                metadata={"description": "The highest level retained without treatment"})


class CriteriaSchema(Schema):
    version = ma.fields.Integer()
    likelihood_scale = ma.fields.List(ma.fields.Nested(ScaleEntrySchema))
    consequence_scale = ma.fields.List(ma.fields.Nested(ScaleEntrySchema))
    levels = ma.fields.List(ma.fields.Nested(LevelSchema))
    matrix = ma.fields.List(ma.fields.List(ma.fields.String()))
    appetite = ma.fields.String()
    created_at = ma.fields.DateTime(allow_none=True)


class CriteriaVersionsSchema(Schema):
    items = ma.fields.List(ma.fields.Nested(CriteriaSchema), required=True)


class RegisterCreateSchema(StrictSchema):
    name = text(200, required=True)
    scope = text(5000, required=True)
    internal_context = text(10000)
    external_context = text(10000)
    owner_id = ma.fields.UUID(required=True)


class RegisterUpdateSchema(StrictSchema):
    name = text(200)
    scope = text(5000)
    internal_context = text(10000)
    external_context = text(10000)
    owner_id = ma.fields.UUID()
    archived = ma.fields.Boolean(metadata={"description": "Registers are archived, never deleted"})


class RegisterSchema(Schema):
    id = ma.fields.UUID()
    name = ma.fields.String()
    scope = ma.fields.String()
    internal_context = ma.fields.String(allow_none=True)
    external_context = ma.fields.String(allow_none=True)
    owner_id = ma.fields.UUID()
    archived = ma.fields.Boolean()
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


class RegisterListArgs(ListArgs):
    include_archived = ma.fields.Boolean(load_default=False)


class ShareSchema(StrictSchema):
    cb_id = ma.fields.UUID(required=True, metadata={"description": "A certification body certifying your organisation"})


class SharesSchema(Schema):
    register_id = ma.fields.UUID()
    shared_with = ma.fields.List(ma.fields.UUID())


class RiskCreateSchema(StrictSchema):
    title = text(300, required=True)
    description = text(10000)
    category = text(100)
    causes = text(10000)
    consequences = text(10000)
    owner_id = ma.fields.UUID(required=True)


class RiskUpdateSchema(StrictSchema):
    title = text(300)
    description = text(10000)
    category = text(100)
    causes = text(10000)
    consequences = text(10000)
    owner_id = ma.fields.UUID()
    status = ma.fields.Enum(RiskStatus, by_value=True)


class RatingSchema(StrictSchema):
    likelihood = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=10))
    consequence = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=10))


class AssessmentCreateSchema(StrictSchema):
    inherent = ma.fields.Nested(RatingSchema, required=True)
    current = ma.fields.Nested(RatingSchema, required=True)
    target = ma.fields.Nested(RatingSchema, required=True)
    rationale = text(10000, required=True)


class AssessmentSchema(Schema):
    id = ma.fields.UUID()
    criteria_version = ma.fields.Integer()
    ratings = ma.fields.Dict(metadata={"description": "basis -> likelihood, consequence, score, level"})
    rationale = ma.fields.String()
    assessed_by = ma.fields.UUID()
    assessed_at = ma.fields.DateTime()


class RiskSchema(Schema):
    id = ma.fields.UUID()
    register_id = ma.fields.UUID()
    reference = ma.fields.String()
    title = ma.fields.String()
    description = ma.fields.String(allow_none=True)
    category = ma.fields.String(allow_none=True)
    causes = ma.fields.String(allow_none=True)
    consequences = ma.fields.String(allow_none=True)
    owner_id = ma.fields.UUID()
    status = ma.fields.Enum(RiskStatus, by_value=True)
    identified_on = ma.fields.Date()
    closed_on = ma.fields.Date(allow_none=True)
    criteria_version = ma.fields.Integer(allow_none=True)
    inherent_level = ma.fields.String(allow_none=True)
    current_level = ma.fields.String(allow_none=True)
    target_level = ma.fields.String(allow_none=True)
    above_appetite = ma.fields.Boolean()
    treatment_options = ma.fields.List(ma.fields.String())
    control_ids = ma.fields.Function(lambda risk: [str(control.id) for control in risk.controls],
                                     metadata={"description": "Linked controls (R6)", "type": "array",
                                               "items": {"type": "string", "format": "uuid"}})
    next_review_on = ma.fields.Date(allow_none=True)
    review_overdue = ma.fields.Method("_overdue", metadata={"type": "boolean"})
    assessments = ma.fields.List(ma.fields.Nested(AssessmentSchema))
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()

    def _overdue(self, risk: Risk) -> bool:
        return review_overdue(risk)



class RiskSummarySchema(RiskSchema):
    """A risk in a list: its current ratings and levels, without the assessments that pile up over the years of
    reviews (``GET /risks/{id}`` has them), so a page costs the same for a new and an old register."""

    class Meta:
        exclude = ("assessments",)


class RiskListArgs(ListArgs):
    register_id = ma.fields.UUID()
    level = ma.fields.String(validate=ma.validate.Length(min=1, max=40))
    category = ma.fields.String(validate=ma.validate.Length(min=1, max=100))
    owner_id = ma.fields.UUID()
    status = ma.fields.String(validate=ma.validate.OneOf([s.value for s in RiskStatus]))
    above_appetite = ma.fields.Boolean()
    review_overdue = ma.fields.Boolean()
    q = ma.fields.String(validate=ma.validate.Length(min=1, max=100), metadata={"description": "Text in the title"})


class TreatmentSchema(StrictSchema):
    options = ma.fields.List(
        ma.fields.String(validate=ma.validate.OneOf(
            ["avoid", "remove_source", "change_likelihood", "change_consequence", "share", "retain"])),
        required=True, validate=ma.validate.Length(min=1, max=6),
    )


class AcceptanceCreateSchema(StrictSchema):
    rationale = text(10000, required=True)
    expires_on = ma.fields.Date(required=True)


class AcceptanceSchema(Schema):
    id = ma.fields.UUID()
    risk_id = ma.fields.UUID()
    level = ma.fields.String()
    rationale = ma.fields.String()
    accepted_by = ma.fields.UUID()
    accepted_on = ma.fields.Date()
    expires_on = ma.fields.Date()


class ReviewCreateSchema(StrictSchema):
    notes = text(10000, required=True)


class ReviewSchema(Schema):
    id = ma.fields.UUID()
    risk_id = ma.fields.UUID()
    reviewed_by = ma.fields.UUID()
    reviewed_on = ma.fields.Date()
    notes = ma.fields.String()
    next_review_on = ma.fields.Date()


class ReviewListSchema(Schema):
    items = ma.fields.List(ma.fields.Nested(ReviewSchema), required=True)


class ImportUploadSchema(StrictSchema):
    file = Upload(required=True, metadata={"description": "The CSV that GET /risk-registers/{id}/export produces"})


class ImportResultSchema(Schema):
    created = ma.fields.Integer()
    updated = ma.fields.Integer()
