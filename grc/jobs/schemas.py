"""Sweeps an admin can run now, and the state of a run."""
from __future__ import annotations

import marshmallow as ma

from grc.schemas import Schema, StrictSchema


class SweepSchema(Schema):
    name = ma.fields.String(required=True)
    summary = ma.fields.String(required=True)


class SweepListSchema(Schema):
    items = ma.fields.List(ma.fields.Nested(SweepSchema), required=True)


class RunRequestSchema(StrictSchema):
    today = ma.fields.Date(metadata={"description": "Run as of this date (catching up a missed day); not later "
                                                    "than today. Default: the tenant's local date."})


class RunSchema(Schema):
    id = ma.fields.UUID(required=True)
    name = ma.fields.String(required=True)
    tenant_id = ma.fields.UUID(required=True)
    status = ma.fields.String(required=True, metadata={"description": "queued, started, finished or failed"})
    result = ma.fields.Dict(allow_none=True, metadata={"description": "What the sweep changed or sent, by sweep"})
    enqueued_at = ma.fields.DateTime(allow_none=True)
    ended_at = ma.fields.DateTime(allow_none=True)
