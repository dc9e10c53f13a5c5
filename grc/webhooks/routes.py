"""Webhook subscriptions (J5): signed Standard Webhooks calls per event type, their delivery log, redelivery."""
from __future__ import annotations

import uuid
from typing import Any

from grc import tenancy
from grc.api import Blueprint
from grc.extensions import db
from grc.guard import requires
from grc.notifications.models import Delivery, WebhookSubscription
from grc.notifications.schemas import DeliverySchema
from grc.schemas import ListArgs, page_of
from grc.webhooks import service
from grc.webhooks.schemas import (
    EventTypeListSchema,
    WebhookCreateSchema,
    WebhookDeliveryListArgs,
    WebhookSchema,
    WebhookSecretSchema,
    WebhookUpdateSchema,
)

blp = Blueprint("webhooks", __name__, url_prefix="/api/v1/webhooks",
                description="Webhook subscriptions signed the Standard Webhooks way, their delivery log, redelivery")
ADMINS = service.WEBHOOK_ADMINS


def _with_secret(subscription: WebhookSubscription, secret: str) -> dict[str, Any]:
    return {**{name: getattr(subscription, name) for name in WebhookSchema().fields}, "secret": secret}


@blp.route("/event-types", methods=["GET"])
@blp.response(200, EventTypeListSchema)
def list_event_types() -> dict[str, Any]:
    """Rule J5: the event types a subscription may choose ("*" chooses all of them)."""
    return {"items": service.event_types()}


@blp.route("", methods=["POST"])
@requires(*ADMINS)
@blp.arguments(WebhookCreateSchema)
@blp.response(201, WebhookSecretSchema)
def create_webhook(data: dict[str, Any]) -> dict[str, Any]:
    """Rule J5: subscribe a public http(s) URL to event types; the signing secret is in this response only."""
    subscription, secret = service.create_subscription(db.session, data)
    return _with_secret(subscription, secret)


@blp.route("", methods=["GET"])
@requires(*ADMINS)
@blp.arguments(ListArgs, location="query")
@blp.response(200, page_of(WebhookSchema))
def list_webhooks(args: dict[str, Any]) -> dict[str, Any]:
    """Rule J5: the tenant's webhook subscriptions (secrets are never shown again)."""
    return service.list_subscriptions(db.session, args)


@blp.route("/<uuid:subscription_id>", methods=["GET"])
@requires(*ADMINS)
@blp.etag
@blp.response(200, WebhookSchema)
def get_webhook(subscription_id: uuid.UUID) -> WebhookSubscription:
    """Rule J5: one subscription, with its ETag (send it as If-Match to PATCH)."""
    return tenancy.resolved(service.visible_subscription, subscription_id)


@blp.route("/<uuid:subscription_id>", methods=["PATCH"])
@requires(*ADMINS)
@blp.etag
@blp.arguments(WebhookUpdateSchema)
@blp.response(200, WebhookSchema)
def update_webhook(data: dict[str, Any], subscription_id: uuid.UUID) -> WebhookSubscription:
    """Rule J5: change the URL (guarded again), event types, description, or pause it (needs If-Match)."""
    subscription = tenancy.resolved(service.visible_subscription, subscription_id)
    blp.check_etag(subscription, WebhookSchema)
    return service.update_subscription(db.session, subscription, data)


@blp.route("/<uuid:subscription_id>", methods=["DELETE"])
@requires(*ADMINS)
@blp.response(204)
def delete_webhook(subscription_id: uuid.UUID) -> None:
    """Rule J5: delete the subscription and its delivery log; nothing more is sent to it."""
    service.delete_subscription(db.session, tenancy.resolved(service.visible_subscription, subscription_id))


@blp.route("/<uuid:subscription_id>/rotate-secret", methods=["POST"])
@requires(*ADMINS)
@blp.response(200, WebhookSecretSchema)
def rotate_webhook_secret(subscription_id: uuid.UUID) -> dict[str, Any]:
    """Rule J5: replace the signing secret; the new one is in this response only and signs every call from now."""
    subscription = tenancy.resolved(service.visible_subscription, subscription_id)
    secret = service.rotate_secret(db.session, subscription)
    return _with_secret(subscription, secret)


@blp.route("/<uuid:subscription_id>/deliveries", methods=["GET"])
@requires(*ADMINS)
@blp.arguments(WebhookDeliveryListArgs, location="query")
@blp.response(200, page_of(DeliverySchema))
def list_webhook_deliveries(args: dict[str, Any], subscription_id: uuid.UUID) -> dict[str, Any]:
    """Rule J5: the subscription's delivery log, newest first, with attempts, answer and error; status=dead
    lists the calls that gave up after the last retry."""
    return service.list_deliveries(db.session, tenancy.resolved(service.visible_subscription, subscription_id), args)


@blp.route("/<uuid:subscription_id>/deliveries/<uuid:delivery_id>", methods=["GET"])
@requires(*ADMINS)
@blp.response(200, DeliverySchema)
def get_webhook_delivery(subscription_id: uuid.UUID, delivery_id: uuid.UUID) -> Delivery:
    """Rule J5: one delivery of the subscription (webhook-id msg_<event_id>, attempts, last answer and error)."""
    return service.delivery_of(tenancy.resolved(service.visible_subscription, subscription_id), delivery_id)


@blp.route("/<uuid:subscription_id>/deliveries/<uuid:delivery_id>/redeliver", methods=["POST"])
@requires(*ADMINS)
@blp.response(202, DeliverySchema)
def redeliver_webhook(subscription_id: uuid.UUID, delivery_id: uuid.UUID) -> Delivery:
    """Rule J5: send the event again as a new delivery (same webhook-id, so receivers deduplicate); the
    delivery job sends it, and the log keeps both."""
    subscription = tenancy.resolved(service.visible_subscription, subscription_id)
    delivery = service.delivery_of(subscription, delivery_id)
    return service.redeliver(db.session, subscription, delivery)
