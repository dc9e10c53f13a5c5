"""Planning and running audits (C1). The programme derived from them is ``grc.certification.programme`` (C6, F4)."""
from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, lazyload

from grc import tenancy
from grc.api import paginate
from grc.audit_notes import name_action
from grc.audits.models import Audit, AuditStatus, AuditTeamMember, AuditType, audit_schemes
from grc.auth.models import User
from grc.db import utcnow
from grc.errors import Forbidden, InvalidField, RuleViolation
from grc.events import publish
from grc.extensions import db
from grc.schemes.models import Scheme
from grc.schemes.service import schemes_by_ids
from grc.tenancy import Principal
from grc.tenants import service as tenants

CB_STAFF = ("cb_admin", "certification_manager", "auditor")
MANAGERS = ("cb_admin", "certification_manager")


# --------------------------------------------------------------------------- planning


def create_audit(session: Session, data: dict[str, Any]) -> Audit:
    """Plan an audit of one client for one or more schemes, with a lead auditor and a team of auditors."""
    client = tenants.visible_client(data["client_id"])
    if client is None:
        raise InvalidField("client_id", "not a client of this certification body")
    if data["planned_end"] < data["planned_start"]:
        raise InvalidField("planned_end", "must not be before planned_start")
    _check_sites(data["sites"], client.tenant.sites)
    team = _auditors(session, {data["lead_auditor_id"], *data.get("team_ids", [])})
    audit = Audit(
        client_tenant_id=client.tenant.id,
        type=AuditType(data["type"]),
        planned_start=data["planned_start"],
        planned_end=data["planned_end"],
        sites=data["sites"],
        objectives=data.get("objectives"),
        lead_auditor_id=data["lead_auditor_id"],
        schemes=schemes_by_ids(session, data["scheme_ids"]),
    )
    audit.team = [
        AuditTeamMember(user_id=user.id, name=user.name, is_lead=user.id == data["lead_auditor_id"],
                        client_tenant_id=client.tenant.id)
        for user in team
    ]
    session.add(audit)
    session.flush()
    publish(session, "audit.planned", event_payload(audit), subject=audit)
    return audit


def _check_sites(sites: list[str], client_sites: list[dict[str, Any]]) -> None:
    known = {site["name"] for site in client_sites}
    unknown = [site for site in sites if site not in known]
    if unknown:
        raise InvalidField("sites", f"not a site of the client: {', '.join(unknown)}")


def _auditors(session: Session, user_ids: set[uuid.UUID]) -> list[User]:
    """Only active users of the CB holding the auditor role can be on an audit team."""
    users = list(session.scalars(select(User).where(User.id.in_(user_ids), User.is_active.is_(True))))
    if len(users) != len(user_ids) or any("auditor" not in user.roles for user in users):
        raise InvalidField("team_ids", "every team member and the lead must be an active auditor of this CB")
    return users


def list_audits(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    stmt = select(Audit)
    if args.get("client_id"):
        stmt = stmt.where(Audit.client_tenant_id == args["client_id"])
    for name in ("type", "status"):
        if args.get(name):
            stmt = stmt.where(getattr(Audit, name) == args[name])
    if args.get("scheme_id"):
        with_scheme = select(audit_schemes.c.audit_id).where(audit_schemes.c.scheme_id == args["scheme_id"])
        stmt = stmt.where(Audit.id.in_(with_scheme))
    return paginate(session, stmt, args, [Audit.id])


@tenancy.path_resource("audit_id")
def visible_audit(audit_id: uuid.UUID) -> Audit | None:
    """The audit a path names. Its team loads when something uses it: raising a finding, the busiest write on an
    audit, does not (one statement fewer), and an answer showing the audit loads it in one query all the same."""
    return db.session.get(Audit, audit_id, options=[lazyload(Audit.team)])


# --------------------------------------------------------------------------- running


def start(session: Session, audit: Audit, *, caller: Principal) -> Audit:
    """planned -> in_progress; a stage 2 needs a completed stage 1 for the same client and scheme (C1)."""
    _check_cb_side(audit, caller)
    _require_status(audit, AuditStatus.planned, "start")
    if audit.type == AuditType.stage2:
        missing = [scheme.standard for scheme in audit.schemes if not _stage1_completed(session, audit, scheme)]
        if missing:
            raise RuleViolation(
                f"A stage 2 audit cannot start before a stage 1 audit is completed for: {', '.join(missing)}.",
                rule="C1",
            )
    audit.status = AuditStatus.in_progress
    audit.started_at = utcnow()
    return _transitioned(session, audit, "audit.started")


def complete(session: Session, audit: Audit, completed_on: date | None, *, caller: Principal) -> Audit:
    _check_cb_side(audit, caller)
    _require_status(audit, AuditStatus.in_progress, "complete")
    audit.status = AuditStatus.completed
    audit.completed_on = completed_on or utcnow().date()
    return _transitioned(session, audit, "audit.completed")


def cancel(session: Session, audit: Audit, reason: str, *, caller: Principal) -> Audit:
    _check_cb_side(audit, caller)
    if audit.status not in (AuditStatus.planned, AuditStatus.in_progress):
        raise RuleViolation(f"A {audit.status.value} audit cannot be cancelled.", rule="AUDIT-STATUS")
    audit.status = AuditStatus.cancelled
    audit.cancel_reason = reason
    return _transitioned(session, audit, "audit.cancelled")


def _check_cb_side(audit: Audit, caller: Principal) -> None:
    """Only the CB's staff run audits; an auditor must be on the team (managers may act for them)."""
    if caller.tenant_id != audit.tenant_id:
        raise Forbidden("The audited client reads its audits but does not run them.")
    if not caller.has_any(*MANAGERS) and caller.actor_id not in audit.team_user_ids:
        raise Forbidden("Only a member of the audit team (or a manager) can do this.")


def _require_status(audit: Audit, expected: AuditStatus, verb: str) -> None:
    if audit.status != expected:
        raise RuleViolation(f"Only a {expected.value} audit can {verb}; this one is {audit.status.value}.",
                            rule="AUDIT-STATUS")


def _stage1_completed(session: Session, audit: Audit, scheme: Scheme) -> bool:
    return session.scalars(
        select(Audit.id)
        .join(audit_schemes, audit_schemes.c.audit_id == Audit.id)
        .where(
            Audit.client_tenant_id == audit.client_tenant_id,
            Audit.type == AuditType.stage1,
            Audit.status == AuditStatus.completed,
            audit_schemes.c.scheme_id == scheme.id,
        )
    ).first() is not None


def _transitioned(session: Session, audit: Audit, topic: str) -> Audit:
    name_action(session, audit, topic)
    session.flush()
    publish(session, topic, event_payload(audit), subject=audit)
    return audit


def event_payload(audit: Audit) -> dict[str, Any]:
    return {"audit_id": str(audit.id), "client_id": str(audit.client_tenant_id), "cb_id": str(audit.tenant_id),
            "type": audit.type.value, "status": audit.status.value}
