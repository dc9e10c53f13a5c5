"""A tenant's webhook subscriptions; their deliveries are ``grc.notifications.models.Delivery`` rows."""
from __future__ import annotations

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from grc.auth.models import SECRET
from grc.db import Base, IdMixin, TimestampMixin
from grc.tenancy import TenantScoped


class WebhookSubscription(IdMixin, TimestampMixin, TenantScoped, Base):
    """An endpoint that receives the tenant's events of the listed types. The signing secret is kept (HMAC
    needs it) but shown only once, when the subscription is created or the secret rotated."""

    __tablename__ = "webhook_subscriptions"

    url: Mapped[str] = mapped_column(String(2048))
    description: Mapped[str | None] = mapped_column(String(500))
    event_types: Mapped[list[str]] = mapped_column(JSON)
    secret: Mapped[str] = mapped_column(String(100), info=SECRET)
    is_active: Mapped[bool] = mapped_column(default=True)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}
