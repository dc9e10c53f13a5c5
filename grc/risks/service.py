"""Registers (R2), risks and their assessments (R3), evaluation against appetite (R4) and reviews (R5).

A register shared with a CB is readable by that CB and by no one else; every change is refused (403) to
anyone but the owning tenant's risk managers.
"""
from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, lazyload

from grc import events, tenancy
from grc.actions.models import Action, ActionKind
from grc.api import paginate
from grc.auth.models import User
from grc.db import utcnow
from grc.errors import Forbidden, InvalidField, RuleViolation
from grc.events import publish
from grc.extensions import db
from grc.numbering import next_value
from grc.risks import criteria as criteria_service
from grc.risks.models import (
    RegisterShare,
    Risk,
    RiskAcceptance,
    RiskAssessment,
    RiskCriteria,
    RiskRegister,
    RiskReview,
    RiskStatus,
)
from grc.tenants.models import ClientRelationship

RISK_MANAGERS = ("client_admin", "risk_manager", "cb_admin", "certification_manager")
BASES = ("inherent", "current", "target")


def check_owner_side(tenant_id: uuid.UUID) -> tenancy.Principal:
    principal = tenancy.current()
    if principal.tenant_id != tenant_id:
        raise Forbidden("A shared register is read-only for the certification body.")
    return tenancy.require_roles(*RISK_MANAGERS)


def check_owner(session: Session, owner_id: uuid.UUID, field: str = "owner_id") -> None:
    user = session.get(User, owner_id)
    if user is None or not user.is_active:
        raise InvalidField(field, "must be an active user of your organisation")


# --------------------------------------------------------------------------- registers (R2)


def create_register(session: Session, data: dict[str, Any]) -> RiskRegister:
    check_owner(session, data["owner_id"])
    register = RiskRegister(**data)
    session.add(register)
    session.flush()
    return register


def update_register(session: Session, register: RiskRegister, changes: dict[str, Any]) -> RiskRegister:
    check_owner_side(register.tenant_id)
    if "owner_id" in changes:
        check_owner(session, changes["owner_id"])
    for key, value in changes.items():
        setattr(register, key, value)
    session.flush()
    return register


def list_registers(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    stmt = select(RiskRegister)
    if not args.get("include_archived"):
        stmt = stmt.where(RiskRegister.archived.is_(False))
    return paginate(session, stmt, args, [RiskRegister.id])


@tenancy.path_resource("register_id")
def visible_register(register_id: uuid.UUID) -> RiskRegister | None:
    return db.session.get(RiskRegister, register_id)


def share(session: Session, register: RiskRegister, cb_id: uuid.UUID) -> RiskRegister:
    """Share read-only with a certification body the client has a relationship with."""
    principal = check_owner_side(register.tenant_id)
    related = session.scalars(select(ClientRelationship.id).where(
        ClientRelationship.tenant_id == cb_id, ClientRelationship.client_tenant_id == principal.tenant_id)).first()
    if related is None:
        raise InvalidField("cb_id", "not a certification body your organisation has a relationship with")
    if session.scalars(select(RegisterShare.id).where(RegisterShare.register_id == register.id,
                                                      RegisterShare.cb_tenant_id == cb_id)).first() is None:
        session.add(RegisterShare(register_id=register.id, cb_tenant_id=cb_id))
        session.flush()
    return register


def unshare(session: Session, register: RiskRegister, cb_id: uuid.UUID) -> RiskRegister:
    check_owner_side(register.tenant_id)
    for row in session.scalars(select(RegisterShare).where(RegisterShare.register_id == register.id,
                                                           RegisterShare.cb_tenant_id == cb_id)):
        session.delete(row)
    session.flush()
    return register


def shared_with(session: Session, register: RiskRegister) -> list[uuid.UUID]:
    return list(session.scalars(select(RegisterShare.cb_tenant_id).where(RegisterShare.register_id == register.id)))


# --------------------------------------------------------------------------- risks (R2, R3)


def create_risk(session: Session, register: RiskRegister, data: dict[str, Any]) -> Risk:
    check_owner_side(register.tenant_id)
    if register.archived:
        raise RuleViolation("An archived register takes no new risks.", rule="R2")
    check_owner(session, data["owner_id"])
    number = next_value(session, register.tenant_id, f"risk-register-{register.id}")
    risk = Risk(register_id=register.id, reference=f"R-{number:03d}", status=RiskStatus.identified,
                identified_on=utcnow().date(), **data)
    session.add(risk)
    session.flush()
    publish(session, "risk.identified", {"risk_id": str(risk.id), "reference": risk.reference})
    return risk


def update_risk(session: Session, risk: Risk, changes: dict[str, Any]) -> Risk:
    check_owner_side(risk.tenant_id)
    if "owner_id" in changes:
        check_owner(session, changes["owner_id"])
    if changes.get("status") == RiskStatus.monitored:
        check_can_monitor(session, risk)
    if changes.get("status") == RiskStatus.closed and risk.status != RiskStatus.closed:
        risk.closed_on = utcnow().date()
    for key, value in changes.items():
        setattr(risk, key, value)
    session.flush()
    return risk


def assess(session: Session, risk: Risk, data: dict[str, Any]) -> RiskAssessment:
    """R3: levels and scores come from the criteria in force and are stored with their version."""
    principal = check_owner_side(risk.tenant_id)
    criteria = criteria_service.in_force(session)
    ratings = {basis: _rate(criteria, basis, data[basis]) for basis in BASES}
    assessment = RiskAssessment(risk_id=risk.id, register_id=risk.register_id, criteria_version=criteria.version,
                                ratings=ratings, rationale=data["rationale"], assessed_by=principal.person_id)
    session.add(assessment)
    risk.assessments.append(assessment)
    _apply(risk, criteria, ratings)
    session.flush()
    publish(session, "risk.assessed", {"risk_id": str(risk.id), "current_level": risk.current_level,
                                       "above_appetite": risk.above_appetite})
    return assessment


def _rate(criteria: RiskCriteria, basis: str, rating: dict[str, int]) -> dict[str, Any]:
    likelihood, consequence = rating["likelihood"], rating["consequence"]
    if not 1 <= likelihood <= len(criteria.likelihood_scale):
        raise InvalidField(f"{basis}.likelihood",
                           f"1 to {len(criteria.likelihood_scale)} in criteria v{criteria.version}")
    if not 1 <= consequence <= len(criteria.consequence_scale):
        raise InvalidField(f"{basis}.consequence",
                           f"1 to {len(criteria.consequence_scale)} in criteria v{criteria.version}")
    return {"likelihood": likelihood, "consequence": consequence, "score": likelihood * consequence,
            "level": criteria.level_of(likelihood, consequence)}


def _apply(risk: Risk, criteria: RiskCriteria, ratings: dict[str, dict[str, Any]]) -> None:
    for basis in BASES:
        setattr(risk, f"{basis}_likelihood", ratings[basis]["likelihood"])
        setattr(risk, f"{basis}_consequence", ratings[basis]["consequence"])
        setattr(risk, f"{basis}_level", ratings[basis]["level"])
    risk.criteria_version = criteria.version
    level: str = ratings["current"]["level"]  # the current_level just set
    risk.above_appetite = criteria.rank(level) > criteria.rank(criteria.appetite)
    risk.next_review_on = utcnow().date() + timedelta(days=_review_interval(criteria, level))
    if risk.status == RiskStatus.identified:
        risk.status = RiskStatus.assessed


def _review_interval(criteria: RiskCriteria, level: str) -> int:
    days: int = next(entry["review_interval_days"] for entry in criteria.levels if entry["name"] == level)
    return days


def list_risks(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    stmt = select(Risk).options(lazyload(Risk.assessments))  # a list shows no assessments
    for name, column in (("register_id", Risk.register_id), ("level", Risk.current_level),
                         ("category", Risk.category), ("owner_id", Risk.owner_id), ("status", Risk.status)):
        if args.get(name):
            stmt = stmt.where(column == args[name])
    if "above_appetite" in args:
        stmt = stmt.where(Risk.above_appetite.is_(args["above_appetite"]))
    if args.get("review_overdue"):
        stmt = stmt.where(and_(Risk.status != RiskStatus.closed, Risk.next_review_on < utcnow().date()))
    if args.get("q"):
        stmt = stmt.where(func.lower(Risk.title).contains(args["q"].lower(), autoescape=True))
    return paginate(session, stmt, args, [Risk.id])


@tenancy.path_resource("risk_id")
def visible_risk(risk_id: uuid.UUID) -> Risk | None:
    return db.session.get(Risk, risk_id)


def review_overdue(risk: Risk, today: date | None = None) -> bool:
    today = today or utcnow().date()
    return risk.status != RiskStatus.closed and risk.next_review_on is not None and risk.next_review_on < today


# --------------------------------------------------------------------------- evaluation and treatment (R4)

TREATMENTS = ("avoid", "remove_source", "change_likelihood", "change_consequence", "share", "retain")


def decide_treatment(session: Session, risk: Risk, options: list[str]) -> Risk:
    """R4: a risk above appetite needs a treatment decision; retaining it also needs an acceptance."""
    check_owner_side(risk.tenant_id)
    if risk.current_level is None:
        raise RuleViolation("Assess the risk before deciding its treatment.", rule="R4")
    risk.treatment_options = sorted(set(options), key=TREATMENTS.index)
    risk.status = RiskStatus.treatment_planned
    session.flush()
    publish(session, "risk.treatment_decided", {"risk_id": str(risk.id), "options": risk.treatment_options})
    return risk


@events.on("action.created")
def treatment_started(event: events.Event) -> None:
    """R4: a risk with a treatment action planned is in treatment."""
    action = event.subject
    if isinstance(action, Action) and action.kind == ActionKind.treatment and action.risk_id is not None:
        risk = event.session.get(Risk, action.risk_id)
        if risk is not None:
            risk.status = RiskStatus.in_treatment


def accept(session: Session, risk: Risk, data: dict[str, Any]) -> RiskAcceptance:
    """R4: someone with authority accepts retaining a risk above appetite, with rationale and an expiry date."""
    principal = check_owner_side(risk.tenant_id)
    if not risk.above_appetite or "retain" not in risk.treatment_options:
        raise RuleViolation("An acceptance is for a risk above appetite whose treatment decision is to retain it.",
                            rule="R4")
    if data["expires_on"] <= utcnow().date():
        raise InvalidField("expires_on", "must be in the future")
    acceptance = RiskAcceptance(risk_id=risk.id, register_id=risk.register_id, level=risk.current_level,
                                rationale=data["rationale"], accepted_by=principal.person_id,
                                accepted_on=utcnow().date(), expires_on=data["expires_on"])
    session.add(acceptance)
    session.flush()
    publish(session, "risk.accepted", {"risk_id": str(risk.id), "expires_on": acceptance.expires_on.isoformat()})
    return acceptance


def valid_acceptance(session: Session, risk: Risk, today: date | None = None) -> RiskAcceptance | None:
    today = today or utcnow().date()
    return session.scalars(select(RiskAcceptance).where(
        RiskAcceptance.risk_id == risk.id, RiskAcceptance.expires_on >= today,
    ).order_by(RiskAcceptance.expires_on.desc())).first()


def check_can_monitor(session: Session, risk: Risk) -> None:
    """R4: a risk above appetite is monitored only after a treatment decision, and when retained, an acceptance."""
    if not risk.above_appetite:
        return
    if not risk.treatment_options:
        raise RuleViolation("A risk above appetite needs a treatment decision first.", rule="R4")
    if risk.treatment_options == ["retain"] and valid_acceptance(session, risk) is None:
        raise RuleViolation("Retaining a risk above appetite needs a valid acceptance.", rule="R4")


def event_payload(risk: Risk) -> dict[str, Any]:
    """What risk events and reminders say: the risk, its reference and its owner (who is always told)."""
    return {"risk_id": str(risk.id), "reference": risk.reference, "register_id": str(risk.register_id),
            "owner_id": str(risk.owner_id)}


def expire_acceptances(session: Session, today: date, only: Collection[uuid.UUID] | None = None) -> int:
    """R4: a retained risk whose acceptance expired goes back to review: assessed again, its review due now."""
    lapsed = select(RiskAcceptance.risk_id).where(RiskAcceptance.expires_on < today)
    stmt = select(Risk).where(Risk.id.in_(lapsed), Risk.status != RiskStatus.closed, Risk.above_appetite.is_(True))
    if only is not None:
        stmt = stmt.where(Risk.tenant_id.in_(only))
    expired = list(session.scalars(stmt))
    count = 0
    for risk in expired:
        if risk.status != RiskStatus.assessed and valid_acceptance(session, risk, today) is None:
            risk.status = RiskStatus.assessed  # retaining it again needs a new decision and acceptance
            risk.next_review_on = min(risk.next_review_on or today, today)
            publish(session, "risk.acceptance_expired", event_payload(risk), tenant_id=risk.tenant_id)
            count += 1
    session.flush()
    return count


# --------------------------------------------------------------------------- reviews (R5)


def review(session: Session, risk: Risk, notes: str) -> RiskReview:
    """R5: record a review; the next one is due after the interval of the risk's current level."""
    principal = check_owner_side(risk.tenant_id)
    criteria = criteria_service.in_force(session)
    today = utcnow().date()
    level = risk.current_level or criteria.levels[-1]["name"]  # unassessed: review at the strictest cadence
    entry = RiskReview(risk_id=risk.id, register_id=risk.register_id, reviewed_by=principal.person_id,
                       reviewed_on=today, notes=notes,
                       next_review_on=today + timedelta(days=_review_interval(criteria, level)))
    session.add(entry)
    risk.next_review_on = entry.next_review_on
    session.flush()
    return entry


def reviews(session: Session, risk: Risk) -> list[RiskReview]:
    return list(session.scalars(
        select(RiskReview).where(RiskReview.risk_id == risk.id).order_by(RiskReview.reviewed_on)))
