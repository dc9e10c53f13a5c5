"""Request and response schemas of the control library (R6)."""
from __future__ import annotations

from typing import Any

import marshmallow as ma

from grc.risks.controls import test_overdue
from grc.risks.models import Control, ControlNature, ControlType
from grc.schemas import ListArgs, Schema, StrictSchema, text

RESULTS = ("effective", "partially_effective", "ineffective")


class ClauseMappingSchema(StrictSchema):
    scheme_id = ma.fields.UUID(required=True, metadata={"description": "A scheme of the catalogue (or your CB's own)"})
    clause = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=40),
                              metadata={"description": "A clause of that scheme, e.g. A.8.24 of ISO/IEC 27001:2022"})


def _frequency(**kwargs: Any) -> ma.fields.Integer:
    return ma.fields.Integer(validate=ma.validate.Range(min=1, max=3650),
                             metadata={"description": "Days between tests, 1 to 3650"}, **kwargs)


class ControlCreateSchema(StrictSchema):
    reference = ma.fields.String(validate=ma.validate.Length(min=1, max=40),
                                 metadata={"description": "Unique in your organisation; C-001, C-002... if omitted"})
    name = text(300, required=True)
    description = text(10000)
    type = ma.fields.Enum(ControlType, by_value=True, required=True)
    nature = ma.fields.Enum(ControlNature, by_value=True, required=True)
    owner_id = ma.fields.UUID(required=True, metadata={"description": "An active user of your organisation"})
    test_frequency_days = _frequency(required=True)
    mapped_clauses = ma.fields.List(ma.fields.Nested(ClauseMappingSchema), load_default=list,
                                    validate=ma.validate.Length(max=100))


class ControlUpdateSchema(StrictSchema):
    reference = ma.fields.String(validate=ma.validate.Length(min=1, max=40))
    name = text(300)
    description = text(10000)
    type = ma.fields.Enum(ControlType, by_value=True)
    nature = ma.fields.Enum(ControlNature, by_value=True)
    owner_id = ma.fields.UUID()
    test_frequency_days = _frequency()
    mapped_clauses = ma.fields.List(ma.fields.Nested(ClauseMappingSchema), validate=ma.validate.Length(max=100))


class ControlSchema(Schema):
    id = ma.fields.UUID()
    reference = ma.fields.String()
    name = ma.fields.String()
    description = ma.fields.String(allow_none=True)
    type = ma.fields.Enum(ControlType, by_value=True)
    nature = ma.fields.Enum(ControlNature, by_value=True)
    owner_id = ma.fields.UUID()
    test_frequency_days = ma.fields.Integer()
    last_tested_on = ma.fields.Date(allow_none=True)
    last_result = ma.fields.String(allow_none=True, validate=ma.validate.OneOf(RESULTS))
    next_test_due = ma.fields.Date(allow_none=True)
    test_overdue = ma.fields.Method("_overdue", metadata={"type": "boolean"})
    mapped_clauses = ma.fields.List(ma.fields.Nested(ClauseMappingSchema))
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()

    def _overdue(self, control: Control) -> bool:
        return test_overdue(control)


class ControlListArgs(ListArgs):
    type = ma.fields.String(validate=ma.validate.OneOf([t.value for t in ControlType]))
    nature = ma.fields.String(validate=ma.validate.OneOf([n.value for n in ControlNature]))
    owner_id = ma.fields.UUID()
    test_overdue = ma.fields.Boolean(metadata={"description": "true: the next test date has passed"})


class ControlTestCreateSchema(StrictSchema):
    tested_on = ma.fields.Date(metadata={"description": "Today if omitted; never in the future"})
    result = ma.fields.String(required=True, validate=ma.validate.OneOf(RESULTS))
    notes = text(10000)


class ControlTestSchema(Schema):
    id = ma.fields.UUID()
    control_id = ma.fields.UUID()
    tested_on = ma.fields.Date()
    tested_by = ma.fields.UUID()
    result = ma.fields.String(validate=ma.validate.OneOf(RESULTS))
    notes = ma.fields.String(allow_none=True)


class RiskControlsSchema(StrictSchema):
    control_ids = ma.fields.List(ma.fields.UUID(), required=True, validate=ma.validate.Length(max=200),
                                 metadata={"description": "The controls of your library that treat the risk"})


class LinkedControlsSchema(Schema):
    items = ma.fields.List(ma.fields.Nested(ControlSchema), required=True)
