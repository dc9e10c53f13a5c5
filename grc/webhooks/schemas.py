"""Request and response schemas of webhook subscriptions and their delivery log (J5)."""
from __future__ import annotations

from typing import Any

import marshmallow as ma

from grc.notifications.models import DeliveryStatus
from grc.schemas import ListArgs, Schema, StrictSchema, text

URL_DESCRIPTION = ("http or https; the host must resolve to public addresses only (loopback, private, link-local "
                   "and other internal addresses are refused unless the operator allowed them)")
EVENT_TYPES_DESCRIPTION = "Event types from GET /webhooks/event-types, or \"*\" for all of them"


def _url(**kwargs: Any) -> ma.fields.String:
    return ma.fields.String(validate=ma.validate.Length(min=1, max=2048), metadata={"description": URL_DESCRIPTION},
                            **kwargs)


def _event_types(**kwargs: Any) -> ma.fields.List[str]:
    return ma.fields.List(ma.fields.String(validate=ma.validate.Length(min=1, max=80)),
                          validate=ma.validate.Length(min=1, max=100),
                          metadata={"description": EVENT_TYPES_DESCRIPTION}, **kwargs)


class WebhookCreateSchema(StrictSchema):
    url = _url(required=True)
    event_types = _event_types(required=True)
    description = text(500)


class WebhookUpdateSchema(StrictSchema):
    url = _url()
    event_types = _event_types()
    description = text(500, allow_none=True)
    is_active = ma.fields.Boolean(metadata={"description": "false pauses the subscription: no new deliveries"})


class WebhookSchema(Schema):
    id = ma.fields.UUID()
    url = ma.fields.String()
    description = ma.fields.String(allow_none=True)
    event_types = ma.fields.List(ma.fields.String())
    is_active = ma.fields.Boolean()
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


class WebhookSecretSchema(WebhookSchema):
    secret = ma.fields.String(metadata={
        "description": "Signing secret (whsec_ + base64), shown once: verify webhook-signature with it "
                       "(Standard Webhooks); it is never shown again, rotate it to get a new one"})


class EventTypeSchema(Schema):
    type = ma.fields.String(metadata={"description": "e.g. certificate.suspended"})
    summary = ma.fields.String()


class EventTypeListSchema(Schema):
    items = ma.fields.List(ma.fields.Nested(EventTypeSchema), required=True)


class WebhookDeliveryListArgs(ListArgs):
    status = ma.fields.Enum(DeliveryStatus, by_value=True, metadata={"description": "dead = the dead-letter queue"})
