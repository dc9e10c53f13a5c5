"""Run the next job right after a transaction that gave it work commits (the schedule catches the rest): the relay
after an outbox write, the sender after new deliveries, the registry push after records became pending (G2). These
are hooks of ``grc.commit_pipeline``; ``trigger`` makes sure a run starts after the commit (J6), whatever runs or
failed before."""
from __future__ import annotations

from typing import Any

from flask import has_app_context
from sqlalchemy.orm import Session

from grc.events import OUTBOX_WRITTEN_KEY
from grc.jobs.job_functions import (
    DELIVERIES,
    REGISTRY_PUSH,
    RELAY,
    deliver_notifications,
    push_registry_records,
    relay_outbox,
)
from grc.jobs.queue import trigger
from grc.notifications.delivery import DELIVERIES_WRITTEN_KEY
from grc.registry.service import PENDING_WRITTEN_KEY


def run_jobs_after_commit(session: Session, *_: Any) -> None:
    """Enqueue the relay when the transaction wrote outbox messages, the sender when it wrote deliveries, the
    registry push when it marked records pending (G2)."""
    if session.in_nested_transaction():  # a savepoint was released: the work is not committed yet
        return
    relay = session.info.pop(OUTBOX_WRITTEN_KEY, False)
    deliver = session.info.pop(DELIVERIES_WRITTEN_KEY, False)
    registry = session.info.pop(PENDING_WRITTEN_KEY, False)
    if not has_app_context():
        return
    if relay:
        trigger(relay_outbox, name=RELAY)
    if deliver:
        trigger(deliver_notifications, name=DELIVERIES)
    if registry:
        trigger(push_registry_records, name=REGISTRY_PUSH)


def catch_up() -> None:
    """Trigger both runs, waiting marks or not: after a Redis outage, the commits made meanwhile could not trigger
    theirs, and a run under way when Redis went may have left its mark standing (``grc worker`` calls this each
    time it starts a worker, so the outbox does not wait for the next write or the schedule)."""
    trigger(relay_outbox, name=RELAY, again=True, first=True)
    trigger(deliver_notifications, name=DELIVERIES, again=True)


def forget_on_rollback(session: Session) -> None:
    """A rolled-back transaction gave the jobs nothing (a savepoint's rollback leaves the rest standing)."""
    if session.in_nested_transaction():
        return
    session.info.pop(OUTBOX_WRITTEN_KEY, None)
    session.info.pop(DELIVERIES_WRITTEN_KEY, None)
    session.info.pop(PENDING_WRITTEN_KEY, None)
