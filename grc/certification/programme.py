"""The audit programme of each client, derived per scheme from its audits and certification decisions (C6, F4).

Every date is derived, none typed in: the cycle starts at the latest grant or renewal (before one, the completed
stage 2 stands in), surveillance audits fall due within the scheme's intervals, recertification by expiry, and
a major from stage 2 left unverified for six months forces a repeat stage 2 (F4).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from dateutil.relativedelta import relativedelta
from sqlalchemy import select
from sqlalchemy.orm import Session

from grc.audits.models import Audit, AuditStatus, AuditType
from grc.certification.models import CertificationDecision, Outcome
from grc.db import utcnow
from grc.findings.models import Finding, FindingStatus, Grade
from grc.schemes.models import Scheme
from grc.tenants import service as tenants

REPEAT_STAGE2_AFTER = relativedelta(months=6)


@dataclass(frozen=True)
class Milestone:
    name: str
    due: date | None
    state: str  # done | due | overdue | planned | not_applicable
    audit_id: uuid.UUID | None = None


def programme(session: Session, client_id: uuid.UUID, today: date | None = None) -> list[dict[str, Any]]:
    """The certification cycle of the client per scheme, derived from decisions and audits (never typed in)."""
    today = today or utcnow().date()
    tolerance = timedelta(days=tenants.policy(session).surveillance_tolerance_days)
    audits = list(session.scalars(
        select(Audit).where(Audit.client_tenant_id == client_id).order_by(Audit.planned_start)))
    schemes = {scheme.id: scheme for audit in audits for scheme in audit.schemes}
    return [_scheme_programme(session, scheme, [a for a in audits if scheme in a.schemes], today, tolerance)
            for scheme in sorted(schemes.values(), key=lambda s: s.standard)]


def _scheme_programme(session: Session, scheme: Scheme, audits: list[Audit], today: date,
                      tolerance: timedelta) -> dict[str, Any]:
    stage1 = _last(audits, AuditType.stage1)
    stage2 = _last(audits, AuditType.stage2)
    decision_date, provisional = _cycle_start(session, scheme, stage2, audits)
    result: dict[str, Any] = {
        "scheme": scheme, "stage1": stage1, "stage2": stage2,
        "initial_decision_date": decision_date, "provisional": provisional,
        "repeat_stage2_required": _repeat_stage2_required(session, stage2, today),
        "milestones": [],
    }
    if decision_date is None:
        return result
    expiry = decision_date + relativedelta(months=scheme.cycle_months) - timedelta(days=1)
    surveillances = [a for a in audits if a.type == AuditType.surveillance and a.status == AuditStatus.completed
                     and a.completed_on and a.completed_on >= decision_date]
    result["expiry"] = expiry
    result["milestones"] = [
        *(_milestone(f"surveillance_{n + 1}", due, surveillances[n:n + 1], today, tolerance)
          for n, due in enumerate(scheme.surveillance_due_dates(decision_date))),
        _milestone("recertification", expiry, [a for a in audits if a.type == AuditType.recertification
                                               and a.status == AuditStatus.completed], today, timedelta()),
    ]
    return result


def _cycle_start(
    session: Session, scheme: Scheme, stage2: Audit | None, audits: list[Audit]
) -> tuple[date | None, bool]:
    """The date of the latest grant or renewal; before one is recorded, the completed stage 2 stands in."""
    client_id = audits[0].client_tenant_id
    decided = session.scalars(
        select(CertificationDecision.decided_on)
        .where(CertificationDecision.client_tenant_id == client_id, CertificationDecision.scheme_id == scheme.id,
               CertificationDecision.outcome.in_([Outcome.grant, Outcome.renew]))
        .order_by(CertificationDecision.decided_on.desc())
    ).first()
    if decided is not None:
        return decided, False
    if stage2 is None or stage2.status != AuditStatus.completed:
        return None, True
    return stage2.completed_on, True


def _last(audits: list[Audit], kind: AuditType) -> Audit | None:
    matching = [a for a in audits if a.type == kind and a.status != AuditStatus.cancelled]
    return matching[-1] if matching else None


def _milestone(name: str, due: date, done: list[Audit], today: date, tolerance: timedelta) -> Milestone:
    if done:
        return Milestone(name, due, "done", done[0].id)
    return Milestone(name, due, "overdue" if today > due + tolerance else "due")


def _repeat_stage2_required(session: Session, stage2: Audit | None, today: date) -> bool:
    """F4: a major from the stage 2 still unverified six months after its last day forces a repeat stage 2."""
    if stage2 is None or stage2.completed_on is None or today <= stage2.completed_on + REPEAT_STAGE2_AFTER:
        return False
    open_major = session.scalars(
        select(Finding.id).where(
            Finding.audit_id == stage2.id, Finding.grade == Grade.major,
            Finding.status.notin_([FindingStatus.verified, FindingStatus.closed]),
        )
    ).first()
    return open_major is not None
