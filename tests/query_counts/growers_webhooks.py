"""Statement-count growers of webhooks: a tenant's subscriptions, one subscription's deliveries, the catalogue."""
from __future__ import annotations

import uuid

from grc.webhooks import service as webhooks
from tests.query_counts.growers_notifications import add_deliveries
from tests.query_counts.registry import grows_list
from tests.query_counts.scene import CB_ADMIN, Read, Scene


def subscription(scene: Scene) -> uuid.UUID:
    def build() -> uuid.UUID:
        with scene.acting(CB_ADMIN) as session:
            made, _secret = webhooks.create_subscription(session, {"url": "https://93.184.215.14/hook",
                                                                   "event_types": ["certificate.suspended"]})
            return made.id

    return scene.once("subscription", build)


@grows_list("GET /api/v1/webhooks")
def grow_webhooks(scene: Scene, count: int) -> Read:
    with scene.acting(CB_ADMIN) as session:
        for _ in range(count):
            webhooks.create_subscription(session, {"url": f"https://93.184.215.14/hook/{scene.serial('hook')}",
                                                   "event_types": ["certificate.suspended"]})
    return Read(CB_ADMIN, "/api/v1/webhooks")


@grows_list("GET /api/v1/webhooks/{subscription_id}/deliveries")
def grow_webhook_deliveries(scene: Scene, count: int) -> Read:
    subscription_id = subscription(scene)
    add_deliveries(scene, count, subscription_id)
    return Read(CB_ADMIN, f"/api/v1/webhooks/{subscription_id}/deliveries")


@grows_list("GET /api/v1/webhooks/event-types")
def grow_event_types(_scene: Scene, _count: int) -> Read:
    """A code catalogue: no rows behind it, so ``count`` changes nothing."""
    return Read(CB_ADMIN, "/api/v1/webhooks/event-types")
