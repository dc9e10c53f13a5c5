from __future__ import annotations

import marshmallow as ma

from grc.schemas import ListArgs, Schema, StrictSchema, text
from grc.schemes.models import Scheme


class ClauseSchema(StrictSchema):
    number = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=40))
    title = text(300, required=True)


class SchemeSchema(Schema):
    id = ma.fields.UUID()
    code = ma.fields.String(metadata={"example": "ISO/IEC 27001"})
    edition = ma.fields.String(metadata={"example": "2022"})
    standard = ma.fields.String(metadata={"description": "Code and edition as printed on certificates"})
    title = ma.fields.String()
    cycle_months = ma.fields.Integer()
    surveillance_interval_months = ma.fields.Integer()
    clauses = ma.fields.List(ma.fields.Nested(ClauseSchema))
    owner = ma.fields.Method("_owner", metadata={"description": "catalogue (shipped) or cb (the caller's own)",
                                                 "enum": ["catalogue", "cb"]})

    def _owner(self, scheme: Scheme) -> str:
        return "catalogue" if scheme.tenant_id is None else "cb"


class SchemeCreateSchema(StrictSchema):
    code = text(40, required=True)
    edition = text(20, required=True)
    title = text(300, required=True)
    cycle_months = ma.fields.Integer(load_default=36, validate=ma.validate.Range(min=12, max=72))
    surveillance_interval_months = ma.fields.Integer(load_default=12, validate=ma.validate.Range(min=6, max=24))
    clauses = ma.fields.List(ma.fields.Nested(ClauseSchema), required=True, validate=ma.validate.Length(min=1, max=500))


class SchemeListArgs(ListArgs):
    code = ma.fields.String(validate=ma.validate.Length(min=1, max=40))
