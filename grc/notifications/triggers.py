"""Run the next job right after a transaction that gave it work commits (the schedule catches the rest):
the relay after an outbox write, the sender after new deliveries."""
from __future__ import annotations

from typing import Any

from flask import has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from grc.notifications.delivery import DELIVERIES_WRITTEN_KEY
from grc.notifications.service import OUTBOX_WRITTEN_KEY

RELAY_JOB_ID = "outbox-relay"
DELIVERY_JOB_ID = "deliveries"


@event.listens_for(Session, "after_commit")
def _run_jobs_after_commit(session: Session, *_: Any) -> None:
    if session.in_nested_transaction():  # a savepoint was released: the work is not committed yet
        return
    relay = session.info.pop(OUTBOX_WRITTEN_KEY, False)
    deliver = session.info.pop(DELIVERIES_WRITTEN_KEY, False)
    if not has_app_context():
        return
    from grc.jobs import enqueue
    from grc.jobs.tasks import deliver_notifications, relay_outbox

    if relay:
        enqueue(relay_outbox, job_id=RELAY_JOB_ID)
    if deliver:
        enqueue(deliver_notifications, job_id=DELIVERY_JOB_ID)


@event.listens_for(Session, "after_rollback")
def _forget_on_rollback(session: Session) -> None:
    if session.in_nested_transaction():  # only a savepoint rolled back: the rest of the transaction stands
        return
    session.info.pop(OUTBOX_WRITTEN_KEY, None)
    session.info.pop(DELIVERIES_WRITTEN_KEY, None)
