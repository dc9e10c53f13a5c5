"""Daily sweeps (J2, first part): each selects only what is due through an indexed date column, in batches of
bounded size, one transaction per batch, and takes ``today`` so tests can travel in time. Sweeps run in system
scope; each change is made by the same service function a user's request would call."""
from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from grc.certification import service as certification
from grc.certification.models import Certificate, CertificateStatus
from grc.risks import service as risks

BATCH = 500


def _in_batches(session: Session, stmt: Select[Any], apply: Callable[[Any], bool]) -> int:
    """Apply ``apply`` to every certificate ``stmt`` selects, by id, one committed batch at a time."""
    changed, last = 0, None
    while True:
        page = stmt.where(Certificate.id > last) if last else stmt
        rows = list(session.scalars(page.order_by(Certificate.id).limit(BATCH)))
        changed += sum(1 for row in rows if apply(row))
        session.commit()
        if len(rows) < BATCH:
            return changed
        last = rows[-1].id


def expire_certificates(session: Session, today: date) -> int:
    """C7: active certificates past their expiry date become expired (their licences follow, M2)."""
    stmt = select(Certificate).where(Certificate.status == CertificateStatus.active, Certificate.expiry_date < today)
    return _in_batches(session, stmt, lambda c: certification.expire(session, c, today))


def lapse_suspensions(session: Session, today: date) -> int:
    """C8: suspensions past their end date are flagged for withdrawal (or withdrawn, by CB policy)."""
    stmt = select(Certificate).where(Certificate.status == CertificateStatus.suspended,
                                     Certificate.suspended_until < today, Certificate.flagged_for_withdrawal.is_(False))
    return _in_batches(session, stmt, lambda c: certification.lapse_suspension(session, c, today))


def expire_risk_acceptances(session: Session, today: date) -> int:
    """R4: retained risks whose acceptance expired go back to review."""
    changed = risks.expire_acceptances(session, today)
    session.commit()
    return changed
