"""The caller's in-app notifications (J4) and the tenant's e-mail and webhook delivery log."""
from __future__ import annotations

import uuid
from typing import Any

from grc import tenancy
from grc.api import Blueprint
from grc.auth.models import ADMIN_ROLES
from grc.extensions import db
from grc.guard import requires
from grc.notifications import service
from grc.notifications.models import Notification
from grc.notifications.schemas import (
    DeliveryListArgs,
    DeliverySchema,
    MarkedSchema,
    NotificationListArgs,
    NotificationSchema,
    UnreadCountSchema,
)
from grc.schemas import page_of

blp = Blueprint("notifications", __name__, url_prefix="/api/v1",
                description="In-app notifications and the delivery log of e-mails and webhooks")


@blp.route("/notifications", methods=["GET"])
@blp.arguments(NotificationListArgs, location="query")
@blp.response(200, page_of(NotificationSchema))
def list_notifications(args: dict[str, Any]) -> dict[str, Any]:
    """Rule J4: the caller's notifications, newest first (reminders, status changes, overdue escalations)."""
    return service.list_notifications(db.session, args)


@blp.route("/notifications/unread-count", methods=["GET"])
@blp.response(200, UnreadCountSchema)
def unread_count() -> dict[str, int]:
    """Rule J4: how many of the caller's notifications are unread (for a badge)."""
    return {"unread": service.unread_count(db.session)}


@blp.route("/notifications/<uuid:notification_id>/read", methods=["POST"])
@blp.response(200, NotificationSchema)
def mark_read(notification_id: uuid.UUID) -> Notification:
    """Rule J4: mark one notification read (reading it again changes nothing)."""
    return service.mark_read(tenancy.resolved(service.own_notification, notification_id))


@blp.route("/notifications/read-all", methods=["POST"])
@blp.response(200, MarkedSchema)
def mark_all_read() -> dict[str, int]:
    """Rule J4: mark every unread notification of the caller read."""
    return {"marked": service.mark_all_read(db.session)}


@blp.route("/deliveries", methods=["GET"])
@requires(*ADMIN_ROLES)
@blp.arguments(DeliveryListArgs, location="query")
@blp.response(200, page_of(DeliverySchema))
def list_deliveries(args: dict[str, Any]) -> dict[str, Any]:
    """Rule J4: the tenant's e-mails and webhook calls with their attempts; status=dead lists the dead letters."""
    return service.list_deliveries(db.session, args)
