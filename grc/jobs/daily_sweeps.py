"""The daily sweeps (J2): each selects only what is due through an indexed date column, in batches of bounded
size with one transaction per batch, and takes ``today`` so tests can travel in time (J3).

State changes go through the same service functions a user's request would call. Reminders go through
``notifications.remind``, whose unique key makes every sweep safe to run twice, concurrently or after a
retry. A reminder is looked for in a window of ``CATCH_UP_DAYS`` ending on its day, so a sweep that did not
run for a few days (an outage) still sends it, late, once; the window also bounds each query's cost to what
falls due in it, whatever the size of the table.

"Today" is each tenant's local date (``Tenant.timezone``): the sweep runs hourly and every tenant's
reminders go out on its own calendar day.
"""
from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from grc.actions import service as actions
from grc.actions.models import Action, ActionStatus
from grc.audits import service as audits
from grc.audits.models import Audit, AuditStatus, AuditType, audit_schemes
from grc.certification import programme
from grc.certification import service as certification
from grc.certification.models import Certificate, CertificateStatus
from grc.findings import service as findings
from grc.findings.models import Finding, FindingStatus, Grade
from grc.notifications.service import Due, remind
from grc.risks import service as risks
from grc.risks.models import Control, Risk, RiskStatus
from grc.tenants import service as tenants
from grc.tenants.models import CbPolicy, Tenant

BATCH = 500
CATCH_UP_DAYS = 7
EXPIRY_REMINDER_DAYS = (90, 60, 30, 7)
DUE_REMINDER_DAYS = (60, 30, 7)
ACTION_REMINDER_DAYS = 7
OVERDUE = 0  # the threshold of an overdue escalation
Tenants = Collection[uuid.UUID] | None  # None: every tenant
Page = Callable[[list[Any]], int]  # does a page of rows' work, says how many it changed or reminded
Make = Callable[[Any], Due | None]


@dataclass(frozen=True)
class Sweep:
    name: str
    run: Callable[[Session, date, Tenants], int]
    summary: str


# --------------------------------------------------------------------------- shared pieces


def _scoped(stmt: Select[Any], model: Any, only: Tenants) -> Select[Any]:
    return stmt if only is None else stmt.where(model.tenant_id.in_(only))


def _in_batches(session: Session, stmt: Select[Any], model: Any, only: Tenants, work: Page) -> int:
    """Hand every row ``stmt`` selects to ``work``, by id, one committed page at a time."""
    stmt, changed, last = _scoped(stmt, model, only), 0, None
    while True:
        page = stmt.where(model.id > last) if last else stmt
        rows = list(session.scalars(page.order_by(model.id).limit(BATCH)))
        changed += work(rows)
        session.commit()
        if len(rows) < BATCH:
            return changed
        last = rows[-1].id


def _due_in(column: InstrumentedAttribute[Any], today: date, days_before: int) -> ColumnElement[bool]:
    """Due ``days_before`` days from today, or up to ``CATCH_UP_DAYS`` - 1 days less (a missed run)."""
    day = today + timedelta(days=days_before)
    return column.between(day - timedelta(days=CATCH_UP_DAYS - 1), day)


def _overdue(column: InstrumentedAttribute[Any], today: date, grace_days: int = 0) -> ColumnElement[bool]:
    """Past due (beyond ``grace_days``) within the catch-up window: escalated once, the day after."""
    return _due_in(column, today, -1 - grace_days)


def _changes(session: Session, stmt: Select[Any], model: Any, only: Tenants, change: Callable[[Any], bool]) -> int:
    """A state change per row, through the domain's service (its events, audit trail and licences)."""
    return _in_batches(session, stmt, model, only, lambda rows: sum(1 for row in rows if change(row)))


def _reminders(session: Session, stmt: Select[Any], model: Any, only: Tenants, make: Make, today: date) -> int:
    """The reminders of a page, written in one statement (``remind``)."""
    return _in_batches(session, stmt, model, only, lambda rows: remind(session, filter(None, map(make, rows)), today))


# --------------------------------------------------------------------------- certificates (C6, C7, C8)


def expire_certificates(session: Session, today: date, only: Tenants = None) -> int:
    """C7: active certificates past their expiry date become expired (their licences follow, M2)."""
    stmt = select(Certificate).where(Certificate.status == CertificateStatus.active, Certificate.expiry_date < today)
    return _changes(session, stmt, Certificate, only, lambda c: certification.expire(session, c, today))


def lapse_suspensions(session: Session, today: date, only: Tenants = None) -> int:
    """C8: suspensions past their end date are flagged for withdrawal (or withdrawn, by CB policy)."""
    stmt = select(Certificate).where(Certificate.status == CertificateStatus.suspended,
                                     Certificate.suspended_until < today, Certificate.flagged_for_withdrawal.is_(False))
    return _changes(session, stmt, Certificate, only, lambda c: certification.lapse_suspension(session, c, today))


def _certificate_reminder(kind: str, days: int, due: Callable[[Certificate], date | None]) -> Make:
    def make(certificate: Certificate) -> Due | None:
        due_on = due(certificate)
        return None if due_on is None else Due(certificate.tenant_id, "certificate", certificate.id, kind, days, due_on,
                                                certification.event_payload(certificate))
    return make


def remind_expiry(session: Session, today: date, only: Tenants = None) -> int:
    """J2: the certificate expires in 90, 60, 30 and 7 days (client and CB are told)."""
    return sum(
        _reminders(session, select(Certificate).where(
            Certificate.status == CertificateStatus.active, _due_in(Certificate.expiry_date, today, days)),
            Certificate, only, _certificate_reminder("certificate.expiry_reminder", days, lambda c: c.expiry_date),
            today)
        for days in EXPIRY_REMINDER_DAYS
    )


def remind_surveillance(session: Session, today: date, only: Tenants = None) -> int:
    """C6: the next surveillance audit is due in 60, 30 and 7 days; once past due (and the CB's tolerance),
    the CB's certification managers get an escalation."""
    active = Certificate.status == CertificateStatus.active
    sent = sum(
        _reminders(session, select(Certificate).where(active, _due_in(Certificate.surveillance_due, today, days)),
                   Certificate, only, _certificate_reminder("surveillance.due", days, lambda c: c.surveillance_due),
                   today)
        for days in DUE_REMINDER_DAYS
    )
    widest = session.scalar(select(func.max(CbPolicy.surveillance_tolerance_days))) or 0
    past_due = select(Certificate).where(active, Certificate.surveillance_due.between(
        today - timedelta(days=widest + CATCH_UP_DAYS), today - timedelta(days=1)))
    tolerance = _tolerances(session)

    def beyond_tolerance(certificate: Certificate) -> date | None:
        due = certificate.surveillance_due
        return due if due is not None and due + timedelta(days=tolerance(certificate.tenant_id)) < today else None
    escalate = _certificate_reminder("surveillance.overdue", OVERDUE, beyond_tolerance)
    return sent + _reminders(session, past_due, Certificate, only, escalate, today)


def _tolerances(session: Session) -> Callable[[uuid.UUID], int]:
    cache: dict[uuid.UUID, int] = {}

    def tolerance(cb_id: uuid.UUID) -> int:
        if cb_id not in cache:
            cache[cb_id] = tenants.policy(session, cb_id).surveillance_tolerance_days
        return cache[cb_id]
    return tolerance


def remind_recertification(session: Session, today: date, only: Tenants = None) -> int:
    """C6: recertification must be decided before expiry: 60, 30 and 7 days before, unless the
    recertification audit of this cycle is already completed."""
    def pending(certificate: Certificate) -> date | None:
        return None if _recertified(session, certificate) else certificate.expiry_date

    return sum(
        _reminders(session, select(Certificate).where(
            Certificate.status == CertificateStatus.active, _due_in(Certificate.expiry_date, today, days)),
            Certificate, only, _certificate_reminder("recertification.due", days, pending), today)
        for days in DUE_REMINDER_DAYS
    )


def _recertified(session: Session, certificate: Certificate) -> bool:
    return session.scalars(
        select(Audit.id).join(audit_schemes, audit_schemes.c.audit_id == Audit.id).where(
            Audit.client_tenant_id == certificate.client_tenant_id, Audit.type == AuditType.recertification,
            Audit.status == AuditStatus.completed, Audit.completed_on >= certification.cycle_start(certificate),
            audit_schemes.c.scheme_id == certificate.scheme_id)
    ).first() is not None


# --------------------------------------------------------------------------- findings and actions (F3, F4, F6)


def _finding_reminder(kind: str, due: Callable[[Finding], date | None]) -> Make:
    def make(finding: Finding) -> Due | None:
        due_on = due(finding)
        return None if due_on is None else Due(finding.tenant_id, "finding", finding.id, kind, OVERDUE, due_on,
                                                findings.event_payload(finding))
    return make


def remind_finding_deadlines(session: Session, today: date, only: Tenants = None) -> int:
    """F3: a response or a closure past its due date is escalated once; F4: a major from stage 2 still
    unverified six months after the audit's last day means stage 2 must be repeated."""
    unanswered = select(Finding).where(Finding.status.in_([FindingStatus.open, FindingStatus.plan_rejected]),
                                       _overdue(Finding.response_due, today))
    unclosed = select(Finding).where(Finding.status.notin_([FindingStatus.verified, FindingStatus.closed]),
                                     _overdue(Finding.closure_due, today))
    return (
        _reminders(session, unanswered, Finding, only,
                   _finding_reminder("finding.response_overdue", lambda f: f.response_due), today)
        + _reminders(session, unclosed, Finding, only,
                     _finding_reminder("finding.overdue", lambda f: f.closure_due), today)
        + _remind_repeat_stage2(session, today, only)
    )


def _remind_repeat_stage2(session: Session, today: date, only: Tenants) -> int:
    # completed_on + 6 months in the overdue window <=> completed_on in the window moved back 6 months
    window_end = today - timedelta(days=1) - programme.REPEAT_STAGE2_AFTER
    stage2 = select(Audit).where(
        Audit.type == AuditType.stage2, Audit.status == AuditStatus.completed,
        Audit.completed_on.between(window_end - timedelta(days=CATCH_UP_DAYS - 1), window_end),
        Audit.id.in_(select(Finding.audit_id).where(
            Finding.grade == Grade.major, Finding.status.notin_([FindingStatus.verified, FindingStatus.closed]))),
    )

    def make(audit: Audit) -> Due:
        assert audit.completed_on is not None  # the query selects completed audits
        return Due(audit.tenant_id, "audit", audit.id, "audit.repeat_stage2_required", OVERDUE,
                   audit.completed_on + programme.REPEAT_STAGE2_AFTER, audits.event_payload(audit))
    return _reminders(session, stage2, Audit, only, make, today)


def remind_action_deadlines(session: Session, today: date, only: Tenants = None) -> int:
    """F6: the owner of an open action hears 7 days before its due date and once it is overdue."""
    open_ = Action.status.in_([ActionStatus.planned, ActionStatus.in_progress])

    def reminder(kind: str, days: int) -> Make:
        return lambda action: Due(action.tenant_id, "action", action.id, kind, days, action.due_date,
                                  actions.event_payload(action))

    due_soon = select(Action).where(open_, _due_in(Action.due_date, today, ACTION_REMINDER_DAYS))
    overdue = select(Action).where(open_, _overdue(Action.due_date, today))
    return (_reminders(session, due_soon, Action, only, reminder("action.due", ACTION_REMINDER_DAYS), today)
            + _reminders(session, overdue, Action, only, reminder("action.overdue", OVERDUE), today))


# --------------------------------------------------------------------------- risks and controls (R4, R5, R6)


def remind_risk_reviews(session: Session, today: date, only: Tenants = None) -> int:
    """R5: a risk past its next-review date is reported to its owner and the tenant's risk managers."""
    stmt = select(Risk).where(Risk.status != RiskStatus.closed, _overdue(Risk.next_review_on, today))
    return _reminders(session, stmt, Risk, only, lambda risk: Due(
        risk.tenant_id, "risk", risk.id, "risk.review_overdue", OVERDUE, risk.next_review_on,
        risks.event_payload(risk)), today)


def remind_control_tests(session: Session, today: date, only: Tenants = None) -> int:
    """R6: a control past its next test date is reported to its owner and the tenant's risk managers."""
    stmt = select(Control).where(_overdue(Control.next_test_due, today))
    return _reminders(session, stmt, Control, only, lambda control: Due(
        control.tenant_id, "control", control.id, "control.test_overdue", OVERDUE, control.next_test_due,
        {"control_id": str(control.id), "reference": control.reference, "owner_id": str(control.owner_id)}), today)


def expire_risk_acceptances(session: Session, today: date, only: Tenants = None) -> int:
    """R4: retained risks whose acceptance expired go back to review."""
    changed = risks.expire_acceptances(session, today, only)
    session.commit()
    return changed


# --------------------------------------------------------------------------- the registry and the tenants' days


SWEEPS: dict[str, Sweep] = {sweep.name: sweep for sweep in (
    Sweep("certificate-expiry", expire_certificates, "C7: expire certificates past their expiry date"),
    Sweep("suspension-lapse", lapse_suspensions, "C8: flag (or withdraw) suspensions past their end date"),
    Sweep("expiry-reminders", remind_expiry, "J2: certificate expiry in 90, 60, 30, 7 days"),
    Sweep("surveillance-reminders", remind_surveillance, "C6: surveillance due in 60, 30, 7 days; overdue"),
    Sweep("recertification-reminders", remind_recertification, "C6: recertification due in 60, 30, 7 days"),
    Sweep("finding-deadlines", remind_finding_deadlines, "F3/F4: overdue responses and closures; repeat stage 2"),
    Sweep("action-deadlines", remind_action_deadlines, "F6: actions due in 7 days and overdue"),
    Sweep("risk-reviews", remind_risk_reviews, "R5: overdue risk reviews"),
    Sweep("control-tests", remind_control_tests, "R6: overdue control tests"),
    Sweep("risk-acceptances", expire_risk_acceptances, "R4: expired risk acceptances"),
)}


def tenant_days(session: Session, now: datetime, only: uuid.UUID | None = None) -> list[tuple[date, Tenants]]:
    """Tenants grouped by their local date at ``now``; a single group covering everyone needs no filter."""
    stmt = select(Tenant.id, Tenant.timezone)
    if only is not None:
        stmt = stmt.where(Tenant.id == only)
    groups: dict[date, list[uuid.UUID]] = defaultdict(list)
    for tenant_id, zone in session.execute(stmt):
        groups[now.astimezone(ZoneInfo(zone)).date()].append(tenant_id)
    if only is None and len(groups) == 1:
        return [(next(iter(groups)), None)]
    return sorted(groups.items())


def run_sweeps(session: Session, names: Collection[str], now: datetime, today: date | None = None,
        tenant_id: uuid.UUID | None = None) -> dict[str, int]:
    """Run the named sweeps for every tenant (or one) on its local date, or on ``today`` when given."""
    days = [(today, [tenant_id] if tenant_id else None)] if today else tenant_days(session, now, tenant_id)
    session.commit()
    totals = {name: 0 for name in names}
    for day, only in days:
        for name in names:
            totals[name] += SWEEPS[name].run(session, day, only)
    return totals
