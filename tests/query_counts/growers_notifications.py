"""Statement-count growers of notifications: a user's in-app notifications and a tenant's delivery log."""
from __future__ import annotations

import uuid

from grc.events import OutboxMessage, OutboxStatus
from grc.notifications.models import Delivery, DeliveryChannel, DeliveryStatus, Notification
from tests.query_counts.registry import grows_list
from tests.query_counts.scene import CB_ADMIN, CLIENT_ADMIN, Read, Scene


def add_notifications(scene: Scene, count: int) -> None:
    """Unread in-app notifications of client-a's admin (rows, as the relay writes them)."""
    with scene.system() as session:
        for _ in range(count):
            message = OutboxMessage(tenant_id=scene.tenant("client-a"), topic="finding.raised", payload={},
                                    status=OutboxStatus.dispatched)
            session.add(message)
            session.flush()
            session.add(Notification(tenant_id=scene.tenant("client-a"), user_id=scene.user(CLIENT_ADMIN),
                                     event_id=message.id, topic=message.topic, title="t", body="b", data={}))


def add_deliveries(scene: Scene, count: int, subscription_id: uuid.UUID | None) -> None:
    """Dead deliveries in cb-a's log (rows, as the dispatcher leaves them): webhook calls or e-mails."""
    with scene.system() as session:
        for _ in range(count):
            message = OutboxMessage(tenant_id=scene.tenant("cb-a"), topic="certificate.suspended", payload={},
                                    status=OutboxStatus.dispatched)
            session.add(message)
            session.flush()
            channel = DeliveryChannel.webhook if subscription_id else DeliveryChannel.email
            session.add(Delivery(tenant_id=scene.tenant("cb-a"), channel=channel, event_id=message.id,
                                 topic=message.topic, subscription_id=subscription_id, recipient="x@cb-a.test",
                                 status=DeliveryStatus.dead, attempts=3))


@grows_list("GET /api/v1/notifications")
def grow_notifications(scene: Scene, count: int) -> Read:
    add_notifications(scene, count)
    return Read(CLIENT_ADMIN, "/api/v1/notifications")


@grows_list("GET /api/v1/notifications/unread-count")
def grow_unread_count(scene: Scene, count: int) -> Read:
    add_notifications(scene, count)
    return Read(CLIENT_ADMIN, "/api/v1/notifications/unread-count")


@grows_list("GET /api/v1/deliveries")
def grow_deliveries(scene: Scene, count: int) -> Read:
    add_deliveries(scene, count, None)
    return Read(CB_ADMIN, "/api/v1/deliveries")
