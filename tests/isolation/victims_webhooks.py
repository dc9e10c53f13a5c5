"""Isolation victims of webhooks: cb-a's subscription and a delivery in its log."""
from __future__ import annotations

from flask import Flask

from grc import tenancy
from grc.extensions import db
from tests.isolation.registry import CB_ONLY, Victim, victims
from tests.world import World, act_as


@victims("subscription_id", "delivery_id", marked=True)
def webhook_victims(app: Flask, world: World) -> dict[str, list[Victim]]:
    """cb-a's webhook subscription (J5, through the service) with one delivery in its log; addressable by cb-a only.
    The delivery is a dead row (only who may address it matters): nothing sends it while the strangers call."""
    from grc.events import OutboxMessage, OutboxStatus
    from grc.notifications.models import Delivery, DeliveryChannel, DeliveryStatus
    from grc.webhooks.service import create_subscription

    cb_a = world.tenants["cb-a"]
    with app.app_context():
        act_as("cb_admin@cb-a.test")
        subscription, _secret = create_subscription(db.session, {"url": "https://93.184.215.14/victim-hook",
                                                                 "event_types": ["risk.acceptance_expired"]})
        db.session.commit()
        with tenancy.system_scope(db.session):
            message = OutboxMessage(tenant_id=cb_a, topic="risk.acceptance_expired", payload={},
                                    status=OutboxStatus.dispatched)
            db.session.add(message)
            db.session.flush()
            delivery = Delivery(channel=DeliveryChannel.webhook, tenant_id=cb_a, event_id=message.id,
                                topic=message.topic, subscription_id=subscription.id, recipient=subscription.url,
                                status=DeliveryStatus.dead, attempts=8, last_error="the receiver answered HTTP 500")
            db.session.add(delivery)
            db.session.commit()
        return {"subscription_id": [Victim("subscription_id", "cb-a's webhook subscription", subscription.id, CB_ONLY)],
                "delivery_id": [Victim("delivery_id", "a delivery of cb-a's webhook", delivery.id, CB_ONLY)]}
