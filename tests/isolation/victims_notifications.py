"""Isolation victims of notifications: an in-app notification of client-a's admin."""
from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from grc import tenancy
from grc.extensions import db
from tests.isolation.registry import CLIENT_ONLY, Victim, victims
from tests.world import World


@victims("notification_id")
def notification_victims(app: Flask, world: World) -> list[Victim]:
    """An in-app notification of client-a's admin, made by relaying an event about client-a (as the job does)."""
    from grc.events import publish
    from grc.notifications.models import Notification
    from grc.notifications.service import relay

    with app.app_context(), tenancy.system_scope(db.session):
        publish(db.session, "finding.raised", {"number": "VICTIM-1", "grade": "minor",
                                               "client_id": str(world.tenants["client-a"])},
                tenant_id=world.tenants["client-a"])
        db.session.commit()
        relay(db.session)
        owner = world.users["client_admin@client-a.test"]
        notification = db.session.scalars(select(Notification).where(Notification.user_id == owner)).first()
        return [Victim("notification_id", "client-a's admin's notification", notification.id, CLIENT_ONLY)]
