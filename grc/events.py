"""What happened, announced once: the domains publish events, the domains that react subscribe.

A domain that changes something announces it with ``publish(session, "certificate.suspended", payload, ...)``.
That does two things, both inside the caller's transaction:

1. it writes an ``OutboxMessage`` (J4): the relay job fans it out into notifications, e-mails and webhook calls
   after the commit, so a message exists exactly when the change does;
2. it runs every subscriber registered for the topic, at once, in the same transaction: a reaction of another
   domain (mark licences following their certificates, M2) commits or rolls back with the change itself.

Subscribers register with ``@on("certificate.suspended")`` or a pattern (``"certificate.*"``, ``fnmatch``
syntax), so a lower domain never imports the higher one that reacts to it: ``certification`` knows nothing of
``marks``, ``marks`` subscribes to ``certificate.*``. This module sits below every domain; it imports none.

``Hook`` names one step the application runs at a point of every session's life (a flush, a commit);
``grc.commit_pipeline`` lists them in the order they run and ``create_app`` installs them.
"""
from __future__ import annotations

import enum
import fnmatch
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, Text, event
from sqlalchemy.orm import Mapped, Session, mapped_column

from grc.db import Base, IdMixin, enum_column, utcnow
from grc.tenancy import TenantScoped

OUTBOX_WRITTEN_KEY = "outbox_written"  # Session.info: this transaction wrote outbox messages (relay after commit)


class OutboxStatus(enum.StrEnum):
    pending = "pending"
    dispatched = "dispatched"
    dead = "dead"


class OutboxMessage(IdMixin, TenantScoped, Base):
    """A domain event waiting to be delivered; the relay job dispatches it at least once, in order."""

    __in_views__ = False  # bookkeeping no cached view shows (grc.viewcache)
    __tablename__ = "outbox_messages"
    __audit__ = False
    __table_args__ = (Index("ix_outbox_messages_due", "status", "available_at"),)

    topic: Mapped[str] = mapped_column(String(80))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[OutboxStatus] = mapped_column(enum_column(OutboxStatus, "outbox_status"),
                                                 default=OutboxStatus.pending)
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    available_at: Mapped[datetime] = mapped_column(default=utcnow)
    dispatched_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


@dataclass(frozen=True)
class Event:
    """One announcement, as a subscriber receives it: the outbox message's topic, payload and tenant, the row the
    event is about (``subject``, for reactions that change it or its neighbours) and the transaction's session."""

    topic: str
    payload: dict[str, Any]
    tenant_id: uuid.UUID | None
    subject: object | None
    session: Session


Subscriber = Callable[[Event], None]
_subscribers: list[tuple[tuple[str, ...], Subscriber]] = []


def on(*patterns: str) -> Callable[[Subscriber], Subscriber]:
    """Register the decorated function for the topics matching any of ``patterns`` (``"certificate.*"``)."""
    if not patterns:
        raise ValueError("name at least one topic or pattern")

    def register(subscriber: Subscriber) -> Subscriber:
        _subscribers.append((patterns, subscriber))
        return subscriber

    return register


def subscribers_of(topic: str) -> list[Subscriber]:
    """The subscribers ``publish`` runs for ``topic``, in the order they registered."""
    return [subscriber for patterns, subscriber in _subscribers
            if any(fnmatch.fnmatchcase(topic, pattern) for pattern in patterns)]


def subscriptions() -> list[tuple[tuple[str, ...], str]]:
    """Every registration as (patterns, ``module.function``): what the architecture test and the docs read."""
    return [(patterns, f"{subscriber.__module__}.{subscriber.__qualname__}") for patterns, subscriber in _subscribers]


def publish(session: Session, topic: str, payload: dict[str, Any], *, tenant_id: uuid.UUID | None = None,
            subject: object | None = None) -> None:
    """Announce ``topic``: queue its outbox message in the caller's transaction, then run its subscribers there."""
    session.add(OutboxMessage(topic=topic, payload=payload, tenant_id=tenant_id))
    session.info[OUTBOX_WRITTEN_KEY] = True
    announced = Event(topic, payload, tenant_id, subject, session)
    for subscriber in subscribers_of(topic):
        subscriber(announced)


@dataclass(frozen=True)
class Hook:
    """One named step run at a point of every session's life: ``when`` is the SQLAlchemy session event
    (``before_flush``, ``after_commit``...), ``run`` the listener it calls, ``name`` what the docs call it."""

    name: str
    when: str
    run: Callable[..., None]


def install(hooks: Iterable[Hook], target: type[Session] = Session) -> None:
    """Listen with every hook, in order; installing the same hooks again changes nothing (one app per test)."""
    for hook in hooks:
        if not event.contains(target, hook.when, hook.run):
            event.listen(target, hook.when, hook.run)
