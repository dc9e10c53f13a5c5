"""Corrective and treatment actions (F6)."""
from __future__ import annotations

import uuid
from typing import Any

from grc import tenancy
from grc.actions import service
from grc.actions.models import Action
from grc.actions.schemas import (
    ActionCreateSchema,
    ActionListArgs,
    ActionNoteCreateSchema,
    ActionSchema,
    ActionUpdateSchema,
    EffectivenessReviewSchema,
)
from grc.api import Blueprint
from grc.extensions import db
from grc.findings.service import visible_finding
from grc.guard import requires
from grc.schemas import page_of

blp = Blueprint("actions", __name__, url_prefix="/api/v1", description="Corrective and treatment actions")
WORKERS = (*service.MANAGERS, "member")


@blp.route("/findings/<uuid:finding_id>/actions", methods=["POST"])
@requires(*service.MANAGERS)
@blp.arguments(ActionCreateSchema)
@blp.response(201, ActionSchema)
def create_finding_action(data: dict[str, Any], finding_id: uuid.UUID) -> Action:
    """Plan a corrective action for a nonconformity (the CB that raised it can read it)."""
    finding = tenancy.resolved(visible_finding, finding_id)
    return service.create_for_finding(db.session, finding, data, caller=tenancy.current())


@blp.route("/actions", methods=["GET"])
@blp.arguments(ActionListArgs, location="query")
@blp.response(200, page_of(ActionSchema))
def list_actions(args: dict[str, Any]) -> dict[str, Any]:
    """The caller's organisation's actions, and those shared with it."""
    return service.list_actions(db.session, args)


@blp.route("/actions/<uuid:action_id>", methods=["GET"])
@blp.etag
@blp.response(200, ActionSchema)
def get_action(action_id: uuid.UUID) -> Action:
    """One action with its notes and effectiveness review."""
    return tenancy.resolved(service.visible_action, action_id)


@blp.route("/actions/<uuid:action_id>", methods=["PATCH"])
@requires(*WORKERS)
@blp.etag
@blp.arguments(ActionUpdateSchema)
@blp.response(200, ActionSchema)
def update_action(data: dict[str, Any], action_id: uuid.UUID) -> Action:
    """Change an action (needs If-Match). Members may change only the status of actions assigned to them."""
    action = tenancy.resolved(service.visible_action, action_id)
    blp.check_etag(action, ActionSchema)
    return service.update(db.session, action, data, caller=tenancy.current())


@blp.route("/actions/<uuid:action_id>/notes", methods=["POST"])
@requires(*WORKERS)
@blp.arguments(ActionNoteCreateSchema)
@blp.response(201, ActionSchema)
def add_action_note(data: dict[str, Any], action_id: uuid.UUID) -> Action:
    """Record progress on an action (a planned action moves to in_progress)."""
    action = tenancy.resolved(service.visible_action, action_id)
    return service.add_note(db.session, action, data, caller=tenancy.current())


@blp.route("/actions/<uuid:action_id>/effectiveness-review", methods=["POST"])
@requires(*service.MANAGERS)
@blp.arguments(EffectivenessReviewSchema)
@blp.response(200, ActionSchema)
def review_action_effectiveness(data: dict[str, Any], action_id: uuid.UUID) -> Action:
    """Rule F6: record whether a done action was effective; who and when are kept."""
    action = tenancy.resolved(service.visible_action, action_id)
    return service.review_effectiveness(db.session, action, data, caller=tenancy.current())
