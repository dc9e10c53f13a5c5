"""The functions RQ runs: each calls a service and commits; none touches Flask requests."""
from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime

from flask import current_app
from sqlalchemy import CursorResult, delete

from grc.auth import mfa, sessions
from grc.auth.models import RevokedToken
from grc.db import utcnow
from grc.extensions import db
from grc.jobs.daily_sweeps import SWEEPS, run_sweeps
from grc.jobs.queue import job, started, trigger
from grc.marks import domain_proofs
from grc.notifications import delivery
from grc.notifications import service as outbox
from grc.registry import service as registry
from grc.sso import service as sso

RELAY, DELIVERIES = "outbox-relay", "deliveries"  # the names their triggers go by (grc.jobs.commit_triggers)
DOMAIN_RECHECKS = "mark-domain-rechecks"
REGISTRY_PUSH = "registry-push"


def _one_batch(step: Callable[[], dict[str, int]], batch: int, run_again: Callable[[], object]) -> dict[str, int]:
    """Run ``step`` (one bounded batch); when the batch came back full, queue the next run (``run_again``) instead
    of looping here, so that on one worker the relay and the sender take turns (J6)."""
    counts = step()
    if sum(counts.values()) >= batch:
        run_again()
    return counts


@job
def relay_outbox() -> dict[str, int]:
    """Fan out one batch of due outbox messages (one bounded transaction). While a backlog lasts (after an outage)
    the next batch goes ahead of the waiting jobs: in-app notifications first, webhook calls after. A commit's own
    trigger queues behind them, so under a steady load the sender is never starved."""
    started(RELAY)
    return _one_batch(lambda: outbox.relay(db.session, batch=outbox.RELAY_BATCH), outbox.RELAY_BATCH,
                      lambda: trigger(relay_outbox, name=RELAY, first=True))


@job
def deliver_notifications() -> dict[str, int]:
    """Send one batch of due e-mails and webhook calls (each retried on its own schedule); more in the next run."""
    started(DELIVERIES)
    return _one_batch(lambda: delivery.deliver_due(db.session, batch=delivery.BATCH), delivery.BATCH,
                      lambda: trigger(deliver_notifications, name=DELIVERIES))


@job
def purge_expired_tokens() -> int:
    """Revoked tokens past their own expiry cannot be replayed anyway; drop them, the expired tickets of two-step
    logins (``grc.auth.mfa.purge_expired_tickets``), the sign-in sessions that ended or expired long enough ago
    (``grc.auth.sessions.purge_ended``) and the expired single sign-on attempts (I1). Returns how many rows went."""
    result = db.session.execute(delete(RevokedToken).where(RevokedToken.expires_at < utcnow()))
    assert isinstance(result, CursorResult)  # a DELETE without RETURNING: Session.execute's typing cannot say so
    sign_ins = sessions.purge_ended(db.session)  # every tenant's: a job runs in system scope (``job``)
    tickets = mfa.purge_expired_tickets(db.session)
    attempts = sso.purge_expired_attempts(db.session)
    db.session.commit()
    return (result.rowcount or 0) + sign_ins + tickets + attempts


@job
def daily_sweeps(
    today: str | None = None, tenant_id: str | None = None, names: list[str] | None = None
) -> dict[str, int]:
    """J2: the sweeps (all, or ``names``) for every tenant on its local date, or for one tenant, or on ``today``
    (ISO date) when a test or an operator travels in time. Safe to run any number of times (J3)."""
    return run_sweeps(db.session, names or list(SWEEPS), utcnow(), today=date.fromisoformat(today) if today else None,
                      tenant_id=uuid.UUID(tenant_id) if tenant_id else None)


@job
def recheck_mark_domains(now: str | None = None) -> dict[str, int]:
    """V4: re-check one batch of proven mark-licence domains that are due (at ``now``, an ISO timestamp, when a
    test or an operator travels in time); a full batch queues the next run (at the present time). Safe to run any
    number of times: a domain re-checked is no longer due."""
    started(DOMAIN_RECHECKS)
    moment = datetime.fromisoformat(now) if now else utcnow()
    settings = current_app.config["GRC_SETTINGS"]
    return _one_batch(lambda: domain_proofs.recheck_due(db.session, settings, moment), domain_proofs.RECHECK_BATCH,
                      lambda: trigger(recheck_mark_domains, name=DOMAIN_RECHECKS))


@job
def push_registry_records(now: str | None = None) -> dict[str, int]:
    """G2: push one batch of each connected CB's pending records to its registry (at ``now``, an ISO timestamp, when
    a test travels in time past a backoff); a CB with more left queues the next run at once."""
    started(REGISTRY_PUSH)
    settings = current_app.config["GRC_SETTINGS"]
    counts = registry.push_due(db.session, settings, datetime.fromisoformat(now) if now else None)
    if counts["more"]:
        trigger(push_registry_records, name=REGISTRY_PUSH)
    return counts


@job
def reconcile_registries() -> dict[str, int]:
    """G2, nightly: compare each pushing CB's certifications in its registry with ours; report (and re-push, when the
    CB asked for it) every difference."""
    return registry.reconcile_all(db.session, current_app.config["GRC_SETTINGS"])
