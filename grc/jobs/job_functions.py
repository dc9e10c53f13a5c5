"""The functions RQ runs: each calls a service and commits; none touches Flask requests."""
from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable
from datetime import date

from sqlalchemy import CursorResult, delete

from grc import tenancy
from grc.auth import sessions
from grc.auth.models import RevokedToken
from grc.db import utcnow
from grc.extensions import db
from grc.jobs.daily_sweeps import SWEEPS, run_sweeps
from grc.jobs.queue import job, started
from grc.notifications import delivery
from grc.notifications import service as outbox

RELAY, DELIVERIES = "outbox-relay", "deliveries"  # the names their triggers go by (grc.jobs.commit_triggers)


def _drain(step: Callable[[], dict[str, int]], batch: int) -> dict[str, int]:
    """Run ``step`` (one bounded batch) until a batch comes back short; add up its counts."""
    totals: Counter[str] = Counter()
    while True:
        counts = step()
        totals.update(counts)
        if sum(counts.values()) < batch:
            return dict(totals)


@job
def relay_outbox() -> dict[str, int]:
    """Fan out due outbox messages until none is left (one bounded transaction per batch)."""
    started(RELAY)
    return _drain(lambda: outbox.relay(db.session), outbox.RELAY_BATCH)


@job
def deliver_notifications() -> dict[str, int]:
    """Send due e-mails and webhook calls until none is left (each retried on its own schedule)."""
    started(DELIVERIES)
    return _drain(lambda: delivery.deliver_due(db.session), delivery.BATCH)


@job
def purge_expired_tokens() -> int:
    """Revoked tokens past their own expiry cannot be replayed anyway; drop them, and the sign-in sessions that
    ended or expired long enough ago (``grc.auth.sessions.purge_ended``). Returns how many rows went."""
    result = db.session.execute(delete(RevokedToken).where(RevokedToken.expires_at < utcnow()))
    assert isinstance(result, CursorResult)  # a DELETE without RETURNING: Session.execute's typing cannot say so
    with tenancy.system_scope(db.session):
        sign_ins = sessions.purge_ended(db.session)
    db.session.commit()
    return (result.rowcount or 0) + sign_ins


@job
def daily_sweeps(
    today: str | None = None, tenant_id: str | None = None, names: list[str] | None = None
) -> dict[str, int]:
    """J2: the sweeps (all, or ``names``) for every tenant on its local date, or for one tenant, or on ``today``
    (ISO date) when a test or an operator travels in time. Safe to run any number of times (J3)."""
    return run_sweeps(db.session, names or list(SWEEPS), utcnow(), today=date.fromisoformat(today) if today else None,
                      tenant_id=uuid.UUID(tenant_id) if tenant_id else None)
