"""Certification decisions and the certificate status machine (ISO/IEC 17021-1; rules C1-C9, C11).

Every decision, including each suspension, restoration, withdrawal and scope change, is recorded with who,
when, the audits relied on and the rationale (C2). The status machine (C7) is one table, ``TRANSITIONS``, and one
function, ``transition``. Each change writes the certificate event and the audit-trail name, and announces
``certificate.<change>`` (``grc.events``): mark licences follow it (M2) by subscription, in the same transaction.

The caller is passed in (``caller=``): the routes pass the authenticated principal, the sweeps ``None``.
"""
from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from dateutil.relativedelta import relativedelta
from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload, lazyload, selectinload

from grc import events, tenancy
from grc.additions import Additions, Extended
from grc.api import paginate
from grc.audit_notes import name_action
from grc.audits.models import Audit, AuditStatus, AuditType, audit_schemes
from grc.certification.models import (
    Certificate,
    CertificateEvent,
    CertificateRevision,
    CertificateStatus,
    CertificationDecision,
    Outcome,
)
from grc.db import utcnow
from grc.errors import InvalidField, RuleViolation
from grc.events import publish
from grc.extensions import db
from grc.findings.models import Finding, FindingStatus, Grade
from grc.numbering import next_value, render_number
from grc.schemes.models import Scheme
from grc.tenancy import Principal
from grc.tenants import service as tenants
from grc.tenants.models import Tenant

ACTIVE, SUSPENDED = CertificateStatus.active, CertificateStatus.suspended
EXPIRED, WITHDRAWN = CertificateStatus.expired, CertificateStatus.withdrawn
# C7 as a table: TRANSITIONS[change] = (the statuses it may start from, the status it leads to; None: unchanged).
TRANSITIONS: dict[str, tuple[tuple[CertificateStatus, ...], CertificateStatus | None]] = {
    "suspended": ((ACTIVE,), SUSPENDED),
    "restored": ((SUSPENDED, EXPIRED), ACTIVE),
    "withdrawn": ((ACTIVE, SUSPENDED), WITHDRAWN),
    "expired": ((ACTIVE,), EXPIRED),
    "renewed": ((ACTIVE, SUSPENDED), None),
}
RESTORE_AFTER_EXPIRY = relativedelta(months=6)
UNANSWERED_MINOR = (FindingStatus.open, FindingStatus.response_submitted, FindingStatus.plan_rejected)
SETTLED_MAJOR = (FindingStatus.verified, FindingStatus.closed)
# What higher domains add to GET /certificates/{id} (the registry: ``registry_sync``, G2).
CERTIFICATE_ADDITIONS: Additions[Certificate] = Additions()
NEEDS_AUDIT = {
    Outcome.grant: (AuditType.stage1, AuditType.stage2),
    Outcome.renew: (AuditType.recertification,),
    Outcome.extend_scope: (AuditType.special, AuditType.surveillance),
}


# --------------------------------------------------------------------------- decisions


def decide(session: Session, data: dict[str, Any], *, caller: Principal) -> CertificationDecision:
    """Record a certification decision and apply it (grant, refuse, renew, restore, extend or reduce scope)."""
    outcome = Outcome(data["outcome"])
    certificate = _certificate_for(data) if outcome not in (Outcome.grant, Outcome.refuse) else None
    client_id = certificate.client_tenant_id if certificate else data.get("client_id")
    client = tenants.visible_client(client_id) if client_id else None
    if client is None:
        raise InvalidField("client_id", "not a client of this certification body")
    scheme = certificate.scheme if certificate else session.get(Scheme, data.get("scheme_id"))
    if scheme is None:
        raise InvalidField("scheme_id", "unknown scheme")
    audits = _relied_audits(session, data.get("audit_ids", []), client.tenant.id, scheme)
    check_impartiality(audits, caller=caller)
    _check_audits(outcome, audits, certificate)
    if outcome in (Outcome.grant, Outcome.renew, Outcome.extend_scope):
        _check_findings(session, audits)
    decision = record_decision(session, outcome, client.tenant.id, scheme, certificate, audits, data, caller=caller)
    APPLY[outcome](session, decision, client.tenant, scheme, certificate, data, caller)
    return decision


def _certificate_for(data: dict[str, Any]) -> Certificate:
    certificate = visible_certificate(data["certificate_id"]) if data.get("certificate_id") else None
    if certificate is None:
        raise InvalidField("certificate_id", "name a certificate of this certification body")
    return certificate


def _relied_audits(session: Session, ids: list[uuid.UUID], client_id: uuid.UUID, scheme: Scheme) -> list[Audit]:
    audits = list(session.scalars(select(Audit).where(Audit.id.in_(ids)))) if ids else []
    if len(audits) != len(set(ids)) or any(a.client_tenant_id != client_id or scheme not in a.schemes for a in audits):
        raise InvalidField("audit_ids", "every audit must be an audit of this client for this scheme")
    return audits


def check_impartiality(audits: list[Audit], *, caller: Principal) -> None:
    """C2: the decider was on the team of none of the audits the decision relies on."""
    involved = [audit for audit in audits if caller.actor_id in audit.team_user_ids]
    if involved:
        raise RuleViolation(
            "Impartiality: the decision must be taken by someone who was not on the audit team of "
            f"{', '.join(a.type.value + ' audit ' + str(a.id) for a in involved)}.", rule="C2",
        )


def _check_audits(outcome: Outcome, audits: list[Audit], certificate: Certificate | None) -> None:
    completed = {a.type for a in audits if a.status == AuditStatus.completed}
    required = NEEDS_AUDIT.get(outcome, ())
    if outcome == Outcome.grant:
        missing = [kind.value for kind in required if kind not in completed]
        if missing:
            raise RuleViolation(f"Initial certification needs completed audits relied on: {', '.join(missing)}.",
                                rule="C1")
    elif required and not completed & set(required):
        rule = "C9" if outcome == Outcome.extend_scope else "C6"
        raise RuleViolation(f"A {outcome.value} decision relies on a completed "
                            f"{' or '.join(k.value for k in required)} audit.", rule=rule)


def _check_findings(session: Session, audits: list[Audit]) -> None:
    """C3: no unverified major and no minor without an accepted plan in the audits relied on."""
    if not audits:
        return
    blocking = list(session.scalars(select(Finding).where(
        Finding.audit_id.in_([a.id for a in audits]),
        ((Finding.grade == Grade.major) & Finding.status.notin_(SETTLED_MAJOR))
        | ((Finding.grade == Grade.minor) & Finding.status.in_(UNANSWERED_MINOR)),
    ).order_by(Finding.number)))
    if blocking:
        raise RuleViolation("Open nonconformities block the decision: " + ", ".join(
            f"{f.number} ({f.grade.value}, {f.status.value})" for f in blocking) + ".", rule="C3")


def record_decision(session: Session, outcome: Outcome, client_id: uuid.UUID, scheme: Scheme,
                    certificate: Certificate | None, audits: list[Audit], data: dict[str, Any], *,
                    caller: Principal) -> CertificationDecision:
    decision = CertificationDecision(
        client_tenant_id=client_id, scheme_id=scheme.id, certificate_id=certificate.id if certificate else None,
        outcome=outcome, decided_by=caller.person_id, decided_on=utcnow().date(),
        rationale=data["rationale"], scope=data.get("scope"), sites=data.get("sites") or [], audits=audits,
    )
    session.add(decision)
    return decision


# --------------------------------------------------------------------------- applying decisions


def _grant(session: Session, decision: CertificationDecision, client: Tenant, scheme: Scheme,
           _certificate: Certificate | None, data: dict[str, Any], caller: Principal) -> None:
    """C4: a unique number from the CB's template; issued on the decision date, expiring a cycle later."""
    existing = session.scalars(select(Certificate.number).where(
        Certificate.client_tenant_id == client.id, Certificate.scheme_id == scheme.id,
        Certificate.status.in_([ACTIVE, SUSPENDED]))).first()
    if existing:
        raise RuleViolation(f"The client already holds certificate {existing} for {scheme.standard}; "
                            "renew or extend it instead.", rule="C4")
    _require(data, "scope")
    day = decision.decided_on
    certificate = new_certificate(session, client, scheme, original_issue_date=day, issue_date=day,
                                  expiry_date=cycle_end(day, scheme), scope=data["scope"],
                                  sites=_sites(client, data["scope"], data.get("sites")),
                                  reason="initial certification")
    decision.certificate_id = certificate.id
    record_event(session, certificate, "granted", None, decision, caller=caller)


def new_certificate(session: Session, client: Tenant, scheme: Scheme, *, original_issue_date: date, issue_date: date,
                    expiry_date: date, scope: str, sites: list[dict[str, Any]], reason: str,
                    transferred_from: str | None = None) -> Certificate:
    """A certificate of the calling CB numbered from its template (C4), with its first revision (C5)."""
    cb = tenants.own_tenant(session)
    seq = next_value(session, cb.id, "certificate")
    number = render_number(tenants.policy(session).numbering_template, cb=cb.slug, scheme=scheme.code,
                           year=issue_date.year, seq=seq)
    certificate = Certificate(
        client_tenant_id=client.id, scheme_id=scheme.id, scheme=scheme, status=ACTIVE, number=number,
        original_issue_date=original_issue_date, issue_date=issue_date, expiry_date=expiry_date, revision=0,
        transferred_from=transferred_from,
    )
    session.add(certificate)
    session.flush()
    _reissue(certificate, client, cb, scope, sites, reason, issue_date)
    return certificate


def _refuse(session: Session, decision: CertificationDecision, *_: Any) -> None:
    publish(session, "certification.refused",
            {"decision_id": str(decision.id), "client_id": str(decision.client_tenant_id)})


def _renew(session: Session, decision: CertificationDecision, client: Tenant, scheme: Scheme,
           certificate: Certificate | None, data: dict[str, Any], caller: Principal) -> None:
    """C6: recertification keeps the number and extends the expiry from the previous one."""
    assert certificate is not None
    previous = transition(certificate, "renewed")
    certificate.issue_date = decision.decided_on
    certificate.expiry_date = cycle_end(certificate.expiry_date + timedelta(days=1), scheme)
    scope = data.get("scope") or certificate.current.content["scope"]
    cb, sites = tenants.own_tenant(session), _chosen_or_current(certificate, client, scope, data)
    _reissue(certificate, client, cb, scope, sites, "recertification", decision.decided_on)
    record_event(session, certificate, "renewed", previous, decision, caller=caller)


def _restore(session: Session, decision: CertificationDecision, client: Tenant, scheme: Scheme,
             certificate: Certificate | None, data: dict[str, Any], caller: Principal) -> None:
    """C7: suspended -> active; expired -> active within 6 months of expiry, after recertification work."""
    assert certificate is not None
    today, previous = decision.decided_on, certificate.status
    check_transition(certificate, "restored")
    if previous == SUSPENDED:
        certificate.suspended_on = certificate.suspended_until = None
        certificate.flagged_for_withdrawal = False
    elif previous == EXPIRED:
        if today > certificate.expiry_date + RESTORE_AFTER_EXPIRY:
            raise RuleViolation("An expired certificate can be restored only within 6 months of its expiry.", rule="C7")
        if not any(a.type == AuditType.recertification and a.status == AuditStatus.completed for a in decision.audits):
            raise RuleViolation("Restoring an expired certificate relies on a completed recertification audit.",
                                rule="C7")
        certificate.expiry_date = cycle_end(certificate.expiry_date + timedelta(days=1), scheme)
        certificate.expired_on = None
        _reissue(certificate, client, tenants.own_tenant(session), certificate.current.content["scope"],
                 _current_sites(certificate), "restored after recertification", today)
    transition(certificate, "restored")
    record_event(session, certificate, "restored", previous, decision, caller=caller)


def _change_scope(session: Session, decision: CertificationDecision, client: Tenant, _scheme: Scheme,
                  certificate: Certificate | None, data: dict[str, Any], caller: Principal) -> None:
    """C9: a new revision with the new scope; the reason is kept on the revision and the decision."""
    assert certificate is not None
    if certificate.status != ACTIVE:
        raise RuleViolation(f"The scope of a {certificate.status.value} certificate cannot change.", rule="C9")
    _require(data, "scope")
    _reissue(certificate, client, tenants.own_tenant(session), data["scope"],
             _chosen_or_current(certificate, client, data["scope"], data),
             f"{decision.outcome.value.replace('_', ' ')}: {decision.rationale}", decision.decided_on)
    record_event(session, certificate, decision.outcome.value, certificate.status, decision, caller=caller)


APPLY = {
    Outcome.grant: _grant, Outcome.refuse: _refuse, Outcome.renew: _renew, Outcome.restore: _restore,
    Outcome.extend_scope: _change_scope, Outcome.reduce_scope: _change_scope,
}


def _require(data: dict[str, Any], field: str) -> None:
    if not data.get(field):
        raise InvalidField(field, "is required for this outcome")


def cycle_end(start: date, scheme: Scheme) -> date:
    """C4: expiry = start + the scheme's cycle (3 years by default) - 1 day."""
    end: date = start + relativedelta(months=scheme.cycle_months) - timedelta(days=1)
    return end


def _current_sites(certificate: Certificate, scope: str | None = None) -> list[dict[str, Any]]:
    """The certified sites carried into a new revision; a site that had the whole scope gets the new one."""
    old_scope = certificate.current.content["scope"]
    return [{**site, "scope": scope if scope and site["scope"] == old_scope else site["scope"]}
            for site in certificate.current.content["sites"]]


def _reissue(certificate: Certificate, client: Tenant, cb: Tenant, scope: str, sites: list[dict[str, Any]],
             reason: str, day: date) -> None:
    """C5: a new revision with everything the certificate must show; the previous one is marked superseded."""
    if certificate.revisions:
        certificate.current.superseded_on = day
    certificate.revision += 1
    certificate.revisions.append(CertificateRevision(
        tenant_id=certificate.tenant_id or cb.id, client_tenant_id=client.id, revision=certificate.revision,
        issued_on=day, reason=reason, content=_content(certificate, client, cb, scope, sites),
    ))


def revision_content(certificate: Certificate, client: Tenant, cb: Tenant, scope: str) -> dict[str, Any]:
    """What a first revision shows (C5), for a certificate certified at the client's registered address."""
    return _content(certificate, client, cb, scope, _sites(client, scope, None))


def _content(certificate: Certificate, client: Tenant, cb: Tenant, scope: str,
             sites: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "number": certificate.number, "client_name": client.name, "client_legal_name": client.legal_name or client.name,
        "client_country": client.country, "client_address": client.address, "sites": sites,
        "scope": scope, "standard": certificate.scheme.standard, "scheme_title": certificate.scheme.title,
        "effective_date": certificate.issue_date.isoformat(), "expiry_date": certificate.expiry_date.isoformat(),
        "original_issue_date": certificate.original_issue_date.isoformat(), "revision": certificate.revision,
        "cb_name": cb.name, "cb_slug": cb.slug,
    }


def _chosen_or_current(
    certificate: Certificate, client: Tenant, scope: str, data: dict[str, Any]
) -> list[dict[str, Any]]:
    return _sites(client, scope, data["sites"]) if data.get("sites") else _current_sites(certificate, scope)


def _sites(client: Tenant, scope: str, chosen: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """Every certified site with its own scope; without a choice, the client's registered address."""
    known = {site["name"]: site for site in client.sites}
    if not chosen:
        return [{"name": client.name, "address": client.address or "", "country": client.country, "scope": scope}]
    unknown = [site["name"] for site in chosen if site["name"] not in known]
    if unknown:
        raise InvalidField("sites", f"not a site of the client: {', '.join(unknown)}")
    return [{**known[site["name"]], "scope": site.get("scope") or scope} for site in chosen]


# --------------------------------------------------------------------------- status changes (C7, C8)


def check_transition(certificate: Certificate, change: str) -> None:
    """C7: 409 unless ``TRANSITIONS`` allows ``change`` from the certificate's status."""
    allowed, _ = TRANSITIONS[change]
    if certificate.status not in allowed:
        raise RuleViolation(f"A {certificate.status.value} certificate cannot be {change}.", rule="C7")


def transition(certificate: Certificate, change: str) -> CertificateStatus:
    """C7: apply ``change`` to the certificate's status (``check_transition`` first); returns the status it left."""
    check_transition(certificate, change)
    previous, target = certificate.status, TRANSITIONS[change][1]
    if target is not None:
        certificate.status = target
    return previous


def suspend(session: Session, certificate: Certificate, reason: str, until: date, *, caller: Principal) -> Certificate:
    """C8: active -> suspended, for at most the CB's maximum (default 6 months)."""
    today = utcnow().date()
    latest = today + timedelta(days=tenants.policy(session).max_suspension_days)
    if not today < until <= latest:
        raise InvalidField("until", f"must be after today and no later than {latest.isoformat()} (C8)")
    previous = transition(certificate, "suspended")
    decision = _status_decision(session, certificate, Outcome.suspend, reason, caller)
    certificate.suspended_on, certificate.suspended_until = today, until
    record_event(session, certificate, "suspended", previous, decision, reason, caller=caller)
    return certificate


def restore(session: Session, certificate: Certificate, reason: str, audit_ids: list[uuid.UUID], *,
            caller: Principal) -> Certificate:
    decide(session, {"outcome": "restore", "certificate_id": certificate.id, "rationale": reason,
                     "audit_ids": audit_ids}, caller=caller)
    return certificate


def withdraw(session: Session, certificate: Certificate, reason: str, *, caller: Principal) -> Certificate:
    """C7: active or suspended -> withdrawn (terminal)."""
    previous = transition(certificate, "withdrawn")
    decision = _status_decision(session, certificate, Outcome.withdraw, reason, caller)
    certificate.flagged_for_withdrawal = False
    record_event(session, certificate, "withdrawn", previous, decision, reason, caller=caller)
    return certificate


def reduce_scope(session: Session, certificate: Certificate, data: dict[str, Any], *, caller: Principal) -> Certificate:
    decide(session, {"outcome": "reduce_scope", "certificate_id": certificate.id, "rationale": data["reason"],
                     "scope": data["scope"], "sites": data.get("sites")}, caller=caller)
    return certificate


def expire(session: Session, certificate: Certificate, today: date) -> bool:
    """C7: an active certificate past its expiry date becomes expired (run by the daily sweep)."""
    if certificate.status != ACTIVE or certificate.expiry_date >= today:
        return False
    previous = transition(certificate, "expired")
    certificate.expired_on = today
    record_event(session, certificate, "expired", previous, None, "expiry date passed", caller=None)
    return True


def lapse_suspension(session: Session, certificate: Certificate, today: date) -> bool:
    """C8: a suspension past its end date is flagged for withdrawal, or withdrawn when the CB policy says so."""
    if certificate.status != SUSPENDED or certificate.suspended_until is None or certificate.suspended_until >= today:
        return False
    if tenants.policy(session, certificate.tenant_id).withdraw_on_lapse:
        previous = transition(certificate, "withdrawn")
        certificate.flagged_for_withdrawal = False
        record_event(session, certificate, "withdrawn", previous, None, "suspension lapsed (CB policy: withdraw)",
                     caller=None)
    elif not certificate.flagged_for_withdrawal:
        certificate.flagged_for_withdrawal = True
        record_event(session, certificate, "flagged_for_withdrawal", SUSPENDED, None, "suspension lapsed unresolved",
                     caller=None)
    else:
        return False
    return True


def _status_decision(session: Session, certificate: Certificate, outcome: Outcome, reason: str,
                     caller: Principal) -> CertificationDecision:
    return record_decision(session, outcome, certificate.client_tenant_id, certificate.scheme, certificate, [],
                           {"rationale": reason}, caller=caller)


@events.on("audit.completed")
def refresh_surveillance_due(event: events.Event) -> None:
    """C6: after a surveillance audit, the client's certificates for its schemes show the next due date."""
    audit = event.subject
    if not isinstance(audit, Audit) or audit.type != AuditType.surveillance:
        return
    for certificate in event.session.scalars(select(Certificate).where(
            Certificate.client_tenant_id == audit.client_tenant_id,
            Certificate.scheme_id.in_([scheme.id for scheme in audit.schemes]))):
        derive_surveillance_due(event.session, certificate)


def cycle_start(certificate: Certificate) -> date:
    """The decision date that began the certificate's current cycle (its expiry is one cycle later, less a day)."""
    start: date = certificate.expiry_date + timedelta(days=1) - relativedelta(months=certificate.scheme.cycle_months)
    return start


def derive_surveillance_due(session: Session, certificate: Certificate) -> None:
    """C6: the next surveillance's due date (derived, never typed): the cycle's due dates, skipping one per
    surveillance audit completed since the cycle began; None when recertification is next."""
    scheme = certificate.scheme
    start = cycle_start(certificate)
    done = session.scalar(
        select(func.count(Audit.id.distinct()))
        .join(audit_schemes, audit_schemes.c.audit_id == Audit.id)
        .where(Audit.client_tenant_id == certificate.client_tenant_id, Audit.type == AuditType.surveillance,
               Audit.status == AuditStatus.completed, Audit.completed_on >= start,
               audit_schemes.c.scheme_id == scheme.id)
    ) or 0
    dues = scheme.surveillance_due_dates(start)
    certificate.surveillance_due = dues[done] if done < len(dues) else None


def event_payload(certificate: Certificate) -> dict[str, Any]:
    """What every certificate event and reminder says about the certificate (its client is the other party)."""
    return {"certificate_id": str(certificate.id), "number": certificate.number, "status": certificate.status.value,
            "client_id": str(certificate.client_tenant_id), "expiry_date": certificate.expiry_date.isoformat()}


def record_event(session: Session, certificate: Certificate, action: str, previous: CertificateStatus | None,
                 decision: CertificationDecision | None, reason: str | None = None, *,
                 caller: Principal | None) -> None:
    """Keep the change in the certificate's history (C7), name its audit event and announce it."""
    certificate.history.append(CertificateEvent(
        tenant_id=certificate.tenant_id, client_tenant_id=certificate.client_tenant_id,
        actor_id=caller.actor_id if caller else None, action=action,
        from_status=previous.value if previous else None, to_status=certificate.status.value,
        reason=reason or (decision.rationale if decision else None), decision_id=decision.id if decision else None,
    ))
    name_action(session, certificate, f"certificate.{action}")
    if certificate.status == ACTIVE:  # a (new) cycle may have begun; otherwise no surveillance is due
        derive_surveillance_due(session, certificate)
    publish(session, f"certificate.{action}", event_payload(certificate), tenant_id=certificate.tenant_id,
            subject=certificate)


# --------------------------------------------------------------------------- reading


def list_certificates(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    stmt = select(Certificate).options(  # a list shows the revision in force, no older revisions and no history
        joinedload(Certificate.current_revision), lazyload(Certificate.revisions), lazyload(Certificate.history))
    if args.get("client_id"):
        stmt = stmt.where(Certificate.client_tenant_id == args["client_id"])
    for name in ("scheme_id", "status"):
        if args.get(name):
            stmt = stmt.where(getattr(Certificate, name) == args[name])
    if args.get("expiring_before"):
        stmt = stmt.where(Certificate.expiry_date < args["expiring_before"])
    return paginate(session, stmt, args, [Certificate.id])


def list_decisions(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    """A page of decisions; each names its audits by id and type, so the audits' schemes and teams are not loaded."""
    stmt = select(CertificationDecision).options(selectinload(CertificationDecision.audits).options(
        lazyload(Audit.schemes), lazyload(Audit.team)))
    for name in ("certificate_id", "outcome"):
        if args.get(name):
            stmt = stmt.where(getattr(CertificationDecision, name) == args[name])
    if args.get("client_id"):
        stmt = stmt.where(CertificationDecision.client_tenant_id == args["client_id"])
    return paginate(session, stmt, args, [CertificationDecision.id])


@tenancy.path_resource("certificate_id")
def visible_certificate(certificate_id: uuid.UUID) -> Certificate | None:
    return db.session.get(Certificate, certificate_id)


@tenancy.path_resource("decision_id")
def visible_decision(decision_id: uuid.UUID) -> CertificationDecision | None:
    return db.session.get(CertificationDecision, decision_id)


def certificate_view(session: Session, certificate: Certificate) -> Extended[Certificate]:
    """The certificate as ``GET /certificates/{id}`` shows it, with what higher domains add to it."""
    return Extended(certificate, CERTIFICATE_ADDITIONS.of(session, certificate))
