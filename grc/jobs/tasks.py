"""Job functions: each calls a service and commits; none touches Flask requests."""
from __future__ import annotations

from datetime import date

from sqlalchemy import delete

from grc.auth.models import RevokedToken
from grc.db import utcnow
from grc.extensions import db
from grc.jobs import job, sweeps
from grc.notifications import service as outbox


@job
def relay_outbox() -> dict[str, int]:
    """Deliver due outbox messages until none is left (one bounded transaction per batch)."""
    totals = {"dispatched": 0, "retrying": 0, "dead": 0}
    while True:
        counts = outbox.relay(db.session)
        for key, value in counts.items():
            totals[key] += value
        if sum(counts.values()) < outbox.RELAY_BATCH:
            return totals


@job
def purge_expired_tokens() -> int:
    """Revoked tokens past their own expiry cannot be replayed anyway; drop them."""
    result = db.session.execute(delete(RevokedToken).where(RevokedToken.expires_at < utcnow()))
    db.session.commit()
    return result.rowcount or 0


@job
def daily_certification_sweep(today: str | None = None) -> dict[str, int]:
    """Expire certificates past their date (C7), lapse overdue suspensions (C8), expire risk acceptances (R4)."""
    day = date.fromisoformat(today) if today else utcnow().date()
    return {
        "certificates_expired": sweeps.expire_certificates(db.session, day),
        "suspensions_lapsed": sweeps.lapse_suspensions(db.session, day),
        "risk_acceptances_expired": sweeps.expire_risk_acceptances(db.session, day),
    }
