"""The demo's certification cycle: audits, findings at each CAPA step, decisions, certificates, a suspension and a
mark licence whose domain is proven (V4).

Audits lie in the past (services take planned and completed dates as given, but stamp the start now); decisions,
suspensions, findings and licences are dated today, because the services date them the day they are taken, as in
production. So the shop's certificate is issued today and its first surveillance audit is planned for next year.
"""
from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from grc.actions import service as actions
from grc.actions.schemas import ActionCreateSchema
from grc.audits import service as audits
from grc.audits.models import Audit
from grc.audits.schemas import AuditCreateSchema
from grc.certification import service as certification
from grc.certification.models import Certificate
from grc.certification.schemas import DecisionCreateSchema, SuspendSchema
from grc.config import Settings
from grc.demo import people
from grc.demo.loopback_dns import LoopbackZone
from grc.demo.organisations import E_COMMERCE, ISO_9001, ISO_27001, LOGISTICS, OUTDOOR, SHOP, Organisations, load
from grc.demo.people import Cast
from grc.findings import service as findings
from grc.findings.models import Finding
from grc.findings.schemas import FindingCreateSchema, FindingResponseSchema, ImplementationSchema
from grc.marks import domain_proofs
from grc.marks import service as marks
from grc.marks.domain_probes import record_name
from grc.marks.models import ProofMethod
from grc.marks.schemas import MarkLicenceCreateSchema

SHOP_DOMAIN = "shop.example"
SUSPENSION_REASON = ("The client refused the special audit the CB scheduled after complaints about misleading "
                     "product claims (ISO/IEC 17021-1 9.6.5); the certificate is suspended until the audit is held.")


def certify(session: Session, cast: Cast, orgs: Organisations, today: date) -> None:
    """The three clients' stories, told in the order they happened."""
    shop = _certify_shop(session, cast, orgs.clients[SHOP], today)
    outdoor = _certify(session, cast, orgs.clients[OUTDOOR], ISO_9001, today - timedelta(days=80),
                       "Design, manufacture and online sale of outdoor equipment")
    caller = cast.act(people.MANAGER)
    until = today + timedelta(days=90)
    suspension = load(SuspendSchema, {"reason": SUSPENSION_REASON, "until": until.isoformat()})
    certification.suspend(session, outdoor, suspension["reason"], suspension["until"], caller=caller)
    _open_stage2(session, cast, orgs.clients[LOGISTICS], today)
    _license_shop(session, cast, orgs.clients[SHOP], shop)


# --------------------------------------------------------------------------- audits and decisions


def _plan(session: Session, cast: Cast, client_id: uuid.UUID, scheme: uuid.UUID, kind: str, start: date,
          days: int = 1) -> Audit:
    cast.act(people.MANAGER)
    return audits.create_audit(session, load(AuditCreateSchema, {
        "client_id": str(client_id), "scheme_ids": [str(scheme)], "type": kind, "planned_start": start.isoformat(),
        "planned_end": (start + timedelta(days=days - 1)).isoformat(), "lead_auditor_id": str(cast.id(people.AUDITOR)),
    }))


def _run(session: Session, cast: Cast, audit: Audit) -> Audit:
    """The lead auditor starts the audit (the service stamps ``started_at`` now; its dates stay as planned)."""
    return audits.start(session, audit, caller=cast.act(people.AUDITOR))


def _complete(session: Session, cast: Cast, audit: Audit) -> None:
    audits.complete(session, audit, audit.planned_end, caller=cast.act(people.AUDITOR))


def _stages(session: Session, cast: Cast, client_id: uuid.UUID, scheme: uuid.UUID, stage1: date) -> Audit:
    """Stage 1 on ``stage1``, completed; stage 2 four weeks later, started (C1). Returns the stage 2 audit."""
    first = _plan(session, cast, client_id, scheme, "stage1", stage1)
    _run(session, cast, first)
    _complete(session, cast, first)
    second = _plan(session, cast, client_id, scheme, "stage2", stage1 + timedelta(days=28), days=3)
    return _run(session, cast, second)


def _grant(session: Session, cast: Cast, client_id: uuid.UUID, scheme: uuid.UUID, scope: str,
           sites: list[dict[str, str]]) -> Certificate:
    """C1-C3: the certification manager, who was on neither audit team, grants on both stages."""
    caller = cast.act(people.MANAGER)
    relied_on = session.scalars(select(Audit.id).where(Audit.client_tenant_id == client_id))
    decision = certification.decide(session, load(DecisionCreateSchema, {
        "outcome": "grant", "client_id": str(client_id), "scheme_id": str(scheme), "scope": scope, "sites": sites,
        "audit_ids": [str(audit_id) for audit_id in relied_on],
        "rationale": "Stage 1 and stage 2 completed; no open major; the minors have accepted plans.",
    }), caller=caller)
    certificate = certification.visible_certificate(decision.certificate_id) if decision.certificate_id else None
    assert certificate is not None, "a grant issues a certificate"
    return certificate


def _certify(session: Session, cast: Cast, client_id: uuid.UUID, scheme: uuid.UUID, stage1: date,
             scope: str) -> Certificate:
    stage2 = _stages(session, cast, client_id, scheme, stage1)
    _complete(session, cast, stage2)
    return _grant(session, cast, client_id, scheme, scope, [{"name": "Head office and workshop"}])


# --------------------------------------------------------------------------- the shop: certified, licensed


def _certify_shop(session: Session, cast: Cast, client_id: uuid.UUID, today: date) -> Certificate:
    """Stage 2 found one minor (the withdrawal form); its plan is accepted, its corrective actions run (one late)."""
    stage2 = _stages(session, cast, client_id, E_COMMERCE, today - timedelta(days=63))
    minor = _raise(session, cast, stage2, "minor", "6", "GPEC 6: the model withdrawal form is provided before the "
                   "contract is concluded.", "Order confirmations of 12 sampled orders linked an outdated form.",
                   "The withdrawal form sent with order confirmations is outdated.")
    _respond(session, cast, minor, people.SHOP_ADMIN, today + timedelta(days=30))
    _accept_plan(session, cast, minor)
    _corrective_action(session, cast, minor, people.SHOP_ADMIN, "Replace the form in the e-mail templates",
                       today + timedelta(days=10))
    _corrective_action(session, cast, minor, people.SHOP_ADMIN, "Re-send the form to customers of the last 3 months",
                       today - timedelta(days=3))
    _complete(session, cast, stage2)
    certificate = _grant(session, cast, client_id, E_COMMERCE, "Online retail of consumer electronics and "
                         "accessories via shop.example: ordering, payment, delivery, returns and customer service",
                         [{"name": "Head office"}, {"name": "Warehouse", "scope": "Storage, picking, packing and "
                                                    "shipping of online orders; handling of returns"}])
    surveillance = certificate.issue_date + timedelta(days=335)  # inside the 12-month window (C6)
    _plan(session, cast, client_id, E_COMMERCE, "surveillance", surveillance, days=2)
    return certificate


def _license_shop(session: Session, cast: Cast, client_id: uuid.UUID, certificate: Certificate) -> None:
    """M1: the mark on the shop's website and social media; V4: the shop proves shop.example by a DNS record."""
    licence = marks.grant(session, load(MarkLicenceCreateSchema, {
        "client_id": str(client_id), "certificate_ids": [str(certificate.id)],
        "permitted_uses": ["website", "social_media", "digital_documents"], "domains": [SHOP_DOMAIN],
    }), caller=cast.act(people.MANAGER))
    caller = cast.act(people.SHOP_ADMIN)
    proof = domain_proofs.new_challenge(session, licence, SHOP_DOMAIN, ProofMethod.dns, caller=caller)
    assert proof.challenge_token is not None
    session.commit()  # the challenge and its check are two requests of the licensee: the check reads afresh
    session.expire_all()
    settings: Settings = current_app.config["GRC_SETTINGS"]
    with LoopbackZone({record_name(SHOP_DOMAIN): proof.challenge_token}) as zone:
        checked = domain_proofs.check(session, licence, SHOP_DOMAIN, replace(settings, dns_nameservers=zone.nameserver),
                                      caller=caller)
    if checked.state.value != "proven":
        raise RuntimeError(f"the demo could not prove {SHOP_DOMAIN}: {checked.challenge_error}")


# --------------------------------------------------------------------------- the logistics client: stage 2 findings


def _open_stage2(session: Session, cast: Cast, client_id: uuid.UUID, today: date) -> None:
    """Stage 2 in progress with a finding at each CAPA step: a major awaiting its plan, a minor whose plan is
    accepted (its corrective action due soon), a minor verified and closed."""
    stage2 = _stages(session, cast, client_id, ISO_27001, today - timedelta(days=30))
    _raise(session, cast, stage2, "major", "A.8", "ISO/IEC 27001 A.8.13: backups are tested.",
           "No restore of the warehouse management system backup was ever tested; the last restore failed.",
           "Backups of the warehouse management system are not tested.")
    minor = _raise(session, cast, stage2, "minor", "A.5", "ISO/IEC 27001 A.5.20: security in supplier agreements.",
                   "Two of five carrier contracts sampled carry no information security clauses.",
                   "Supplier agreements lack security requirements.")
    _respond(session, cast, minor, people.LOGISTICS_ADMIN, today + timedelta(days=45))
    _accept_plan(session, cast, minor)
    _corrective_action(session, cast, minor, people.LOGISTICS_ADMIN, "Add the security annex to carrier contracts",
                       today + timedelta(days=7))
    closed = _raise(session, cast, stage2, "minor", "7", "ISO/IEC 27001 7.2: evidence of competence.",
                    "Awareness training records of three new terminal staff were missing.",
                    "Training records incomplete for new staff.")
    _respond(session, cast, closed, people.LOGISTICS_ADMIN, today + timedelta(days=14))
    _accept_plan(session, cast, closed)
    cast.act(people.LOGISTICS_ADMIN)
    findings.transition(session, closed, "implement", changes=load(ImplementationSchema, {
        "implementation_evidence": "Training completed and recorded for all three; onboarding checklist updated."}))
    cast.act(people.AUDITOR)
    findings.transition(session, closed, "verify_effective", comment="Records sampled on site: complete.")
    findings.transition(session, closed, "close")


def _raise(session: Session, cast: Cast, audit: Audit, grade: str, clause: str, requirement: str, evidence: str,
           statement: str) -> Finding:
    cast.act(people.AUDITOR)
    return findings.raise_on_audit(session, audit, load(FindingCreateSchema, {
        "grade": grade, "clause": clause, "requirement": requirement, "evidence": evidence, "statement": statement}))


def _respond(session: Session, cast: Cast, finding: Finding, respondent: str, target: date) -> None:
    cast.act(respondent)
    findings.transition(session, finding, "respond", changes=load(FindingResponseSchema, {
        "correction": "Immediate correction of the sampled cases.", "root_cause": "No owner for the requirement.",
        "corrective_action_plan": "Name an owner, fix the process, check it monthly.",
        "target_date": target.isoformat()}))


def _accept_plan(session: Session, cast: Cast, finding: Finding) -> None:
    cast.act(people.AUDITOR)
    findings.transition(session, finding, "accept_plan", comment="Plan accepted.")


def _corrective_action(session: Session, cast: Cast, finding: Finding, owner: str, title: str, due: date) -> None:
    caller = cast.act(owner)
    actions.create_for_finding(session, finding, load(ActionCreateSchema, {
        "title": title, "owner_id": str(cast.id(owner)), "due_date": due.isoformat()}), caller=caller)
