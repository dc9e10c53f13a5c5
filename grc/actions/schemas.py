from __future__ import annotations

import marshmallow as ma

from grc.actions.models import Action, ActionKind, ActionStatus, Effectiveness
from grc.actions.service import is_overdue
from grc.schemas import ListArgs, Schema, StrictSchema, text


class ActionNoteSchema(Schema):
    at = ma.fields.DateTime()
    author_id = ma.fields.UUID()
    text = ma.fields.String()
    progress_percent = ma.fields.Integer(allow_none=True)


class ActionSchema(Schema):
    id = ma.fields.UUID()
    kind = ma.fields.Enum(ActionKind, by_value=True)
    finding_id = ma.fields.UUID(allow_none=True)
    risk_id = ma.fields.UUID(allow_none=True)
    title = ma.fields.String()
    description = ma.fields.String(allow_none=True)
    owner_id = ma.fields.UUID()
    due_date = ma.fields.Date()
    status = ma.fields.Enum(ActionStatus, by_value=True)
    overdue = ma.fields.Method("_overdue", metadata={"type": "boolean"})
    completed_on = ma.fields.Date(allow_none=True)
    effectiveness = ma.fields.Enum(Effectiveness, by_value=True, allow_none=True)
    effectiveness_comment = ma.fields.String(allow_none=True)
    effectiveness_reviewed_by = ma.fields.UUID(allow_none=True)
    effectiveness_reviewed_at = ma.fields.DateTime(allow_none=True)
    notes = ma.fields.List(ma.fields.Nested(ActionNoteSchema))
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()

    def _overdue(self, action: Action) -> bool:
        return is_overdue(action)


class ActionCreateSchema(StrictSchema):
    title = text(300, required=True)
    description = text(10000)
    owner_id = ma.fields.UUID(required=True)
    due_date = ma.fields.Date(required=True)


class ActionUpdateSchema(StrictSchema):
    title = text(300)
    description = text(10000)
    owner_id = ma.fields.UUID()
    due_date = ma.fields.Date()
    status = ma.fields.Enum(ActionStatus, by_value=True)


class ActionNoteCreateSchema(StrictSchema):
    text = text(10000, required=True)
    progress_percent = ma.fields.Integer(validate=ma.validate.Range(min=0, max=100))


class EffectivenessReviewSchema(StrictSchema):
    effectiveness = ma.fields.String(required=True, validate=ma.validate.OneOf([e.value for e in Effectiveness]))
    comment = text(5000)


class ActionListArgs(ListArgs):
    status = ma.fields.String(validate=ma.validate.OneOf([s.value for s in ActionStatus]))
    kind = ma.fields.String(validate=ma.validate.OneOf([k.value for k in ActionKind]))
    owner_id = ma.fields.UUID()
    finding_id = ma.fields.UUID()
    risk_id = ma.fields.UUID()
    overdue = ma.fields.Boolean()
