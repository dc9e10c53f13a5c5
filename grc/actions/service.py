"""Corrective and treatment actions (F6): owner, due date, progress, effectiveness review.

A ``member`` works only on the actions assigned to them; admins and risk managers manage all of their
tenant's actions. The CB whose finding an action answers reads it, never changes it.
"""
from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from grc import tenancy
from grc.actions.models import Action, ActionKind, ActionNote, ActionStatus, Effectiveness
from grc.api import paginate
from grc.auth.models import User
from grc.db import utcnow
from grc.errors import Forbidden, InvalidField, RuleViolation
from grc.events import publish
from grc.extensions import db
from grc.findings.models import Finding, FindingStatus
from grc.tenancy import Principal

MANAGERS = ("client_admin", "risk_manager", "cb_admin", "certification_manager")
OPEN = (ActionStatus.planned, ActionStatus.in_progress)


def create_for_finding(session: Session, finding: Finding, data: dict[str, Any], *, caller: Principal) -> Action:
    """The audited organisation plans a corrective action for a nonconformity; the CB can read it."""
    tenancy.check_roles(caller, *MANAGERS)
    if caller.tenant_id != finding.client_tenant_id:
        raise Forbidden("Corrective actions are planned by the organisation the finding concerns.")
    if finding.status == FindingStatus.closed or not finding.is_nonconformity:
        raise RuleViolation("Corrective actions answer open nonconformities.", rule="F6")
    action = Action(
        kind=ActionKind.corrective, finding_id=finding.id, status=ActionStatus.planned,
        shared_with_tenant_id=None if finding.is_clients_own else finding.tenant_id,
        **_checked(session, data),
    )
    session.add(action)
    session.flush()
    publish(session, "action.created", event_payload(action))
    return action


def create_for_risk(session: Session, risk: Any, data: dict[str, Any], *, caller: Principal) -> Action:
    """R4: a treatment action of a risk, owned by the risk's tenant (the risk moves to in_treatment: risks subscribe
    to ``action.created``)."""
    tenancy.check_roles(caller, *MANAGERS)
    if caller.tenant_id != risk.tenant_id:
        raise Forbidden("A shared register is read-only for the certification body.")
    if not risk.treatment_options:
        raise RuleViolation("Decide the risk's treatment before planning treatment actions.", rule="R4")
    action = Action(kind=ActionKind.treatment, risk_id=risk.id, status=ActionStatus.planned, **_checked(session, data))
    session.add(action)
    session.flush()
    publish(session, "action.created", event_payload(action), subject=action)
    return action


def _checked(session: Session, data: dict[str, Any]) -> dict[str, Any]:
    if "owner_id" in data:
        owner = session.get(User, data["owner_id"])
        if owner is None or not owner.is_active:
            raise InvalidField("owner_id", "must be an active user of your organisation")
    return data


def update(session: Session, action: Action, changes: dict[str, Any], *, caller: Principal) -> Action:
    """Managers change anything; a member only the status of an action assigned to them."""
    _check_can_work_on(action, caller)
    if not caller.has_any(*MANAGERS) and set(changes) - {"status"}:
        raise Forbidden("Members may only change the status of actions assigned to them.")
    if action.status not in OPEN and changes.get("status", action.status) != action.status:
        raise RuleViolation(f"A {action.status.value} action is final.", rule="F6")
    for key, value in _checked(session, changes).items():
        setattr(action, key, value)
    if changes.get("status") == ActionStatus.done:
        action.completed_on = utcnow().date()
    session.flush()
    publish(session, "action.updated", event_payload(action))
    return action


def add_note(session: Session, action: Action, data: dict[str, Any], *, caller: Principal) -> Action:
    _check_can_work_on(action, caller)
    action.notes.append(ActionNote(
        tenant_id=action.tenant_id, shared_with_tenant_id=action.shared_with_tenant_id, author_id=caller.person_id,
        **data,
    ))
    if action.status == ActionStatus.planned:
        action.status = ActionStatus.in_progress
    session.flush()
    return action


def review_effectiveness(session: Session, action: Action, data: dict[str, Any], *, caller: Principal) -> Action:
    """F6: a manager records whether a completed action was effective (who and when are kept)."""
    tenancy.check_roles(caller, *MANAGERS)
    if caller.tenant_id != action.tenant_id:
        raise Forbidden("The organisation that owns the action reviews its effectiveness.")
    if action.status != ActionStatus.done:
        raise RuleViolation("Only a done action can be reviewed for effectiveness.", rule="F6")
    action.effectiveness = Effectiveness(data["effectiveness"])
    action.effectiveness_comment = data.get("comment")
    action.effectiveness_reviewed_by = caller.person_id
    action.effectiveness_reviewed_at = utcnow()
    session.flush()
    publish(session, "action.reviewed", event_payload(action))
    return action


def _check_can_work_on(action: Action, caller: Principal) -> None:
    if caller.tenant_id != action.tenant_id:
        raise Forbidden("This action is shared with you read-only.")
    if caller.has_any(*MANAGERS) or (caller.has_any("member") and action.owner_id == caller.actor_id):
        return
    raise Forbidden("Members work only on the actions assigned to them.")


def list_actions(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    stmt = select(Action)
    for name in ("status", "owner_id", "finding_id", "risk_id", "kind"):
        if args.get(name):
            stmt = stmt.where(getattr(Action, name) == args[name])
    if args.get("overdue"):
        stmt = stmt.where(and_(Action.status.in_(OPEN), Action.due_date < utcnow().date()))
    return paginate(session, stmt, args, [Action.id])


def is_overdue(action: Action, today: date | None = None) -> bool:
    return action.status in OPEN and action.due_date < (today or utcnow().date())


@tenancy.path_resource("action_id")
def visible_action(action_id: uuid.UUID) -> Action | None:
    return db.session.get(Action, action_id)


def event_payload(action: Action) -> dict[str, Any]:
    return {"action_id": str(action.id), "status": action.status.value,
            "due_date": action.due_date.isoformat(), "owner_id": str(action.owner_id)}
