from __future__ import annotations

import marshmallow as ma

from grc.schemas import ListArgs, Schema


class AuditEventSchema(Schema):
    id = ma.fields.UUID()
    seq = ma.fields.Integer(metadata={"description": "Position in the tenant's chain, from 1"})
    occurred_at = ma.fields.DateTime()
    actor_type = ma.fields.String()
    actor_id = ma.fields.UUID(allow_none=True)
    action = ma.fields.String(metadata={"example": "user.updated"})
    entity_type = ma.fields.String()
    entity_id = ma.fields.UUID()
    changes = ma.fields.Dict(metadata={"description": "field -> [old, new] on update; field -> value on create"})
    request_id = ma.fields.String(allow_none=True)
    prev_hash = ma.fields.String()
    hash = ma.fields.String()
    hash_version = ma.fields.Integer(metadata={
        "description": "The format the hash was computed in: 1 leaves the event's id and request_id out, 2 covers "
                       "every field but the hash"})


class AuditEventListArgs(ListArgs):
    entity_type = ma.fields.String(validate=ma.validate.Length(min=1, max=80))
    entity_id = ma.fields.UUID()
    action = ma.fields.String(validate=ma.validate.Length(min=1, max=80))


class BrokenLinkSchema(Schema):
    seq = ma.fields.Integer()
    id = ma.fields.String(allow_none=True)
    reason = ma.fields.String()


class ChainReportSchema(Schema):
    valid = ma.fields.Boolean()
    checked = ma.fields.Integer(metadata={"description": "Events checked before the first broken link"})
    first_broken = ma.fields.Nested(BrokenLinkSchema, allow_none=True)
