"""In-app notifications and the tenant's delivery log, as the API shows them."""
from __future__ import annotations

import marshmallow as ma

from grc.notifications.models import DeliveryChannel, DeliveryStatus
from grc.schemas import ListArgs, Schema


class NotificationListArgs(ListArgs):
    unread = ma.fields.Boolean(load_default=False, metadata={"description": "Only notifications not yet read"})
    topic = ma.fields.String(validate=ma.validate.Length(max=80),
                             metadata={"description": "e.g. certificate.suspended"})


class NotificationSchema(Schema):
    id = ma.fields.UUID(dump_only=True)
    topic = ma.fields.String(metadata={"description": "The event type (see GET /webhooks/event-types)"})
    title = ma.fields.String()
    body = ma.fields.String()
    data = ma.fields.Dict(metadata={"description": "The event's facts: ids, number, due date, threshold..."})
    created_at = ma.fields.DateTime()
    read_at = ma.fields.DateTime(allow_none=True)


class UnreadCountSchema(Schema):
    unread = ma.fields.Integer(required=True)


class MarkedSchema(Schema):
    marked = ma.fields.Integer(required=True, metadata={"description": "How many notifications were marked read"})


class DeliveryListArgs(ListArgs):
    channel = ma.fields.Enum(DeliveryChannel, by_value=True)
    status = ma.fields.Enum(DeliveryStatus, by_value=True, metadata={"description": "dead = the dead-letter queue"})


class DeliverySchema(Schema):
    id = ma.fields.UUID(dump_only=True)
    channel = ma.fields.Enum(DeliveryChannel, by_value=True)
    event_id = ma.fields.UUID(metadata={"description": "The event; webhooks carry it as webhook-id msg_<event_id>"})
    topic = ma.fields.String()
    subscription_id = ma.fields.UUID(allow_none=True)
    recipient = ma.fields.String(metadata={"description": "E-mail address or webhook URL"})
    status = ma.fields.Enum(DeliveryStatus, by_value=True)
    attempts = ma.fields.Integer()
    created_at = ma.fields.DateTime()
    next_attempt_at = ma.fields.DateTime(attribute="available_at", allow_none=True)
    last_attempt_at = ma.fields.DateTime(allow_none=True)
    delivered_at = ma.fields.DateTime(allow_none=True)
    response_status = ma.fields.Integer(allow_none=True)
    last_error = ma.fields.String(allow_none=True)
    redelivery_of = ma.fields.UUID(allow_none=True)
