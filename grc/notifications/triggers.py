"""Relay the outbox right after a transaction that wrote to it commits (the schedule catches the rest)."""
from __future__ import annotations

from typing import Any

from flask import has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from grc.notifications.service import OUTBOX_WRITTEN_KEY

RELAY_JOB_ID = "outbox-relay"


@event.listens_for(Session, "after_commit")
def _relay_after_commit(session: Session, *_: Any) -> None:
    if not session.info.pop(OUTBOX_WRITTEN_KEY, False) or not has_app_context():
        return
    from grc.jobs import enqueue
    from grc.jobs.tasks import relay_outbox

    enqueue(relay_outbox, job_id=RELAY_JOB_ID)


@event.listens_for(Session, "after_rollback")
def _forget_on_rollback(session: Session) -> None:
    session.info.pop(OUTBOX_WRITTEN_KEY, None)
