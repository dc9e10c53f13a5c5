"""Raising findings and their nonconformity workflow (F1-F5).

F2, as one table: ``TRANSITIONS[action] = (side, from states, to state)``. The *respondent* is the audited
organisation (its admins and risk managers); the *verifier* is the CB's auditor, or for a client's own
nonconformity (F5) the client user named as its verifier. A wrong side answers 403, a wrong state 409 F2.
"""
from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, or_, select, update
from sqlalchemy.orm import Session, lazyload

from grc import events, tenancy
from grc.api import paginate
from grc.audit_notes import name_action
from grc.audits.models import Audit, AuditStatus
from grc.auth.models import User
from grc.db import utcnow
from grc.errors import Forbidden, InvalidField, RuleViolation
from grc.events import publish
from grc.extensions import db
from grc.findings.models import NONCONFORMITIES, Finding, FindingEvent, FindingSource, FindingStatus, Grade
from grc.numbering import next_value
from grc.schemes.models import Scheme
from grc.tenants import service as tenants

RESPONDENT_ROLES = ("client_admin", "risk_manager")
JUST_COMPLETED = timedelta(days=30)
RESPONDENT, VERIFIER = "respondent", "verifier"
TRANSITIONS: dict[str, tuple[str, tuple[FindingStatus, ...], FindingStatus]] = {
    "respond": (RESPONDENT, (FindingStatus.open, FindingStatus.plan_rejected), FindingStatus.response_submitted),
    "accept_plan": (VERIFIER, (FindingStatus.response_submitted,), FindingStatus.plan_accepted),
    "reject_plan": (VERIFIER, (FindingStatus.response_submitted,), FindingStatus.plan_rejected),
    "implement": (RESPONDENT, (FindingStatus.plan_accepted,), FindingStatus.implemented),
    "verify_effective": (VERIFIER, (FindingStatus.implemented,), FindingStatus.verified),
    "verify_not_effective": (VERIFIER, (FindingStatus.implemented,), FindingStatus.plan_accepted),
    "close": (VERIFIER, (FindingStatus.verified,), FindingStatus.closed),
    "close_observation": (VERIFIER, (FindingStatus.open,), FindingStatus.closed),
}


# --------------------------------------------------------------------------- raising


def raise_on_audit(session: Session, audit: Audit, data: dict[str, Any]) -> Finding:
    """F1: an auditor raises a finding on an audit in progress or completed in the last 30 days."""
    principal = tenancy.require_roles("auditor")
    if principal.tenant_id != audit.tenant_id:
        raise Forbidden("Only the certification body's auditors raise findings on its audits.")
    today = utcnow().date()
    recent = (audit.status == AuditStatus.completed and audit.completed_on
              and today - audit.completed_on <= JUST_COMPLETED)
    if audit.status != AuditStatus.in_progress and not recent:
        raise RuleViolation("Findings are raised on an audit in progress or completed in the last 30 days.", rule="F1")
    scheme = _scheme_of(audit, data.pop("scheme_id", None))
    _check_clause(scheme, data["clause"])
    dues = _due_dates(session, Grade(data["grade"]), audit.client_tenant_id, today)  # before the number is taken
    return _new_finding(session, data, source=FindingSource.audit, client_tenant_id=audit.client_tenant_id,
                        audit_id=audit.id, scheme_id=scheme.id, today=today, **dues)


def raise_own(session: Session, data: dict[str, Any]) -> Finding:
    """F5: a client records its own nonconformity (internal audit, complaint, incident) with its own verifier."""
    principal = tenancy.require_roles(*RESPONDENT_ROLES)
    if principal.tenant_kind != "client_organisation":
        raise Forbidden("Only client organisations record their own nonconformities here.")
    verifier = session.get(User, data["verifier_id"])
    if verifier is None or not verifier.is_active or not set(verifier.roles) & set(RESPONDENT_ROLES):
        raise InvalidField("verifier_id", "must be an active client_admin or risk_manager of your organisation")
    today = utcnow().date()
    closure_due = data.pop("closure_due", None)
    finding = _new_finding(session, data, source=FindingSource(data.pop("source")),
                           client_tenant_id=principal.tenant_id, audit_id=None, scheme_id=None, today=today)
    finding.closure_due = closure_due
    return finding


def _new_finding(session: Session, data: dict[str, Any], **fields: Any) -> Finding:
    """The finding, numbered and inserted. Everything read first: the number's counter row stays locked from
    here to the commit, so concurrent raisers of one CB queue for as short a time as possible."""
    principal = tenancy.current()
    today = fields.pop("today")
    number = next_value(session, principal.tenant_id, f"finding-{today.year}")
    grade = Grade(data.pop("grade"))
    finding = Finding(
        **data, **fields, grade=grade, number=f"F-{today.year}-{number:05d}", status=FindingStatus.open,
        raised_by=principal.person_id, raised_on=today,
    )
    session.add(finding)
    _record(finding, "raised", None, comment=None)
    session.flush()
    publish(session, "finding.raised", event_payload(finding))
    return finding


def _scheme_of(audit: Audit, scheme_id: uuid.UUID | None) -> Scheme:
    if scheme_id is None and len(audit.schemes) == 1:
        return audit.schemes[0]
    for scheme in audit.schemes:
        if scheme.id == scheme_id:
            return scheme
    raise InvalidField("scheme_id", "name one of the audit's schemes")


def _check_clause(scheme: Scheme, clause: str) -> None:
    if not scheme.has_clause(clause):
        known = ", ".join(c["number"] for c in scheme.clauses)
        raise InvalidField("clause", f"not a clause of {scheme.standard} (one of: {known})")


def _due_dates(session: Session, grade: Grade, client_tenant_id: uuid.UUID, today: date) -> dict[str, date | None]:
    """F3: response and closure deadlines from the CB's policy; a minor is due by the next audit by default."""
    if grade not in NONCONFORMITIES:
        return {}
    policy = tenants.policy(session)
    closure_due: date | None
    if grade == Grade.major:
        closure_due = today + timedelta(days=policy.major_closure_days)
    elif policy.minor_closure_days is not None:
        closure_due = today + timedelta(days=policy.minor_closure_days)
    else:
        closure_due = session.scalars(
            select(Audit.planned_start)
            .where(Audit.client_tenant_id == client_tenant_id, Audit.planned_start > today,
                   Audit.status == AuditStatus.planned)
            .order_by(Audit.planned_start)
        ).first()
    return {"response_due": today + timedelta(days=policy.response_due_days), "closure_due": closure_due}


# --------------------------------------------------------------------------- deadlines set by the audit programme (F3)


@events.on("audit.planned")
def minors_due_by_next_audit(event: events.Event) -> None:
    """F3: a minor with no closure date is due by the next audit of the same client (the one just planned)."""
    audit = event.subject
    if not isinstance(audit, Audit):
        return
    event.session.execute(
        update(Finding)
        .where(
            Finding.tenant_id == audit.tenant_id,
            Finding.client_tenant_id == audit.client_tenant_id,
            Finding.grade == Grade.minor,
            Finding.closure_due.is_(None),
            Finding.raised_on <= audit.planned_start,
            Finding.status != FindingStatus.closed,
        )
        .values(closure_due=audit.planned_start)
        .execution_options(synchronize_session=False)
    )


# --------------------------------------------------------------------------- the workflow (F2)


def transition(session: Session, finding: Finding, action: str, *, comment: str | None = None,
               changes: dict[str, Any] | None = None) -> Finding:
    side, sources, target = TRANSITIONS[action]
    _check_side(finding, side)
    if finding.status not in sources or (action == "close_observation") == finding.is_nonconformity:
        raise RuleViolation(
            f"A {finding.grade.value} finding in status {finding.status.value} cannot take '{action}'.", rule="F2"
        )
    previous = finding.status
    for key, value in (changes or {}).items():
        setattr(finding, key, value)
    finding.status = target
    if target == FindingStatus.verified:
        finding.verified_on = utcnow().date()
    if target == FindingStatus.closed:
        finding.closed_on = utcnow().date()
    _record(finding, action, previous, comment=comment, data=_plain(changes or {}))
    name_action(session, finding, f"finding.{action}")
    session.flush()
    publish(session, f"finding.{target.value}", event_payload(finding))
    return finding


def _check_side(finding: Finding, side: str) -> None:
    principal = tenancy.current()
    if side == RESPONDENT:
        if principal.tenant_id != finding.client_tenant_id or not principal.has_any(*RESPONDENT_ROLES):
            raise Forbidden("Only the audited organisation's admins and risk managers respond to a finding.")
        tenancy.allow_write_to(db.session, finding.tenant_id)  # the client's answer is written on the CB's record
    elif finding.is_clients_own:
        if principal.actor_id != finding.verifier_id:
            raise Forbidden("Only the verifier named on this nonconformity reviews and verifies it.")
    elif principal.tenant_id != finding.tenant_id or not principal.has_any("auditor"):
        raise Forbidden("Only the certification body's auditors review plans and verify findings.")


def _record(finding: Finding, action: str, previous: FindingStatus | None, *, comment: str | None,
            data: dict[str, Any] | None = None) -> None:
    finding.history.append(FindingEvent(
        tenant_id=finding.tenant_id, client_tenant_id=finding.client_tenant_id, actor_id=tenancy.current().actor_id,
        action=action, from_status=previous.value if previous else None,
        to_status=finding.status.value, comment=comment, data=data or {},
    ))


def _plain(changes: dict[str, Any]) -> dict[str, Any]:
    return {key: value.isoformat() if isinstance(value, date) else value for key, value in changes.items()}


def event_payload(finding: Finding) -> dict[str, Any]:
    return {"finding_id": str(finding.id), "number": finding.number, "grade": finding.grade.value,
            "status": finding.status.value, "client_id": str(finding.client_tenant_id),
            "cb_id": str(finding.tenant_id)}


# --------------------------------------------------------------------------- reading


def overdue_clause(today: date) -> ColumnElement[bool]:
    """Overdue: the response or the closure is past its date (F3)."""
    awaiting_response = and_(Finding.status.in_([FindingStatus.open, FindingStatus.plan_rejected]),
                             Finding.response_due < today)
    awaiting_closure = and_(Finding.status.notin_([FindingStatus.verified, FindingStatus.closed]),
                            Finding.closure_due < today)
    return or_(awaiting_response, awaiting_closure)


def is_overdue(finding: Finding, today: date | None = None) -> bool:
    today = today or utcnow().date()
    awaiting_response = finding.status in (FindingStatus.open, FindingStatus.plan_rejected)
    if awaiting_response and finding.response_due and finding.response_due < today:
        return True
    awaiting_closure = finding.status not in (FindingStatus.verified, FindingStatus.closed)
    return awaiting_closure and bool(finding.closure_due and finding.closure_due < today)


def list_findings(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    stmt = select(Finding).options(lazyload(Finding.history))  # a list shows no history
    if args.get("client_id"):
        stmt = stmt.where(Finding.client_tenant_id == args["client_id"])
    for name in ("audit_id", "grade", "status", "source"):
        if args.get(name):
            stmt = stmt.where(getattr(Finding, name) == args[name])
    if "overdue" in args:
        clause = func.coalesce(overdue_clause(utcnow().date()), false())  # NULL dates are never overdue
        stmt = stmt.where(clause if args["overdue"] else ~clause)
    return paginate(session, stmt, args, [Finding.id])


@tenancy.path_resource("finding_id")
def visible_finding(finding_id: uuid.UUID) -> Finding | None:
    return db.session.get(Finding, finding_id)
