"""ISO 31000 controls (R6): the tenant's control library, control tests, and the controls linked to risks."""
from __future__ import annotations

import uuid
from typing import Any

from grc import tenancy
from grc.api import Blueprint
from grc.extensions import db
from grc.guard import requires
from grc.risks import controls as service
from grc.risks.control_schemas import (
    ControlCreateSchema,
    ControlListArgs,
    ControlSchema,
    ControlTestCreateSchema,
    ControlTestSchema,
    ControlUpdateSchema,
    LinkedControlsSchema,
    RiskControlsSchema,
)
from grc.risks.models import Control, ControlTest
from grc.risks.service import RISK_MANAGERS, visible_risk
from grc.schemas import ListArgs, page_of

blp = Blueprint("controls", __name__, url_prefix="/api/v1", description="ISO 31000 controls and control tests")
MANAGERS = RISK_MANAGERS


@blp.route("/controls", methods=["POST"])
@requires(*MANAGERS)
@blp.arguments(ControlCreateSchema)
@blp.response(201, ControlSchema)
def create_control(data: dict[str, Any]) -> Control:
    """Rule R6: add a control to the library (type, nature, owner, test frequency, mapped clauses)."""
    return service.create_control(db.session, data)


@blp.route("/controls", methods=["GET"])
@blp.arguments(ControlListArgs, location="query")
@blp.response(200, page_of(ControlSchema))
def list_controls(args: dict[str, Any]) -> dict[str, Any]:
    """Rule R6: the control library, filtered by type, nature, owner or overdue test."""
    return service.list_controls(db.session, args)


@blp.route("/controls/<uuid:control_id>", methods=["GET"])
@blp.etag
@blp.response(200, ControlSchema)
def get_control(control_id: uuid.UUID) -> Control:
    """Rule R6: one control with its last test result and next test date."""
    return tenancy.resolved(service.visible_control, control_id)


@blp.route("/controls/<uuid:control_id>", methods=["PATCH"])
@requires(*MANAGERS)
@blp.etag
@blp.arguments(ControlUpdateSchema)
@blp.response(200, ControlSchema)
def update_control(data: dict[str, Any], control_id: uuid.UUID) -> Control:
    """Rule R6: change a control (needs If-Match); a new frequency moves the next test date."""
    control = tenancy.resolved(service.visible_control, control_id)
    blp.check_etag(control, ControlSchema)
    return service.update_control(db.session, control, data)


@blp.route("/controls/<uuid:control_id>/tests", methods=["POST"])
@requires(*MANAGERS)
@blp.arguments(ControlTestCreateSchema)
@blp.response(201, ControlTestSchema)
def record_control_test(data: dict[str, Any], control_id: uuid.UUID) -> ControlTest:
    """Rule R6: record a control test (not in the future); the next test falls due one frequency later."""
    return service.record_test(db.session, tenancy.resolved(service.visible_control, control_id), data)


@blp.route("/controls/<uuid:control_id>/tests", methods=["GET"])
@blp.arguments(ListArgs, location="query")
@blp.response(200, page_of(ControlTestSchema))
def list_control_tests(args: dict[str, Any], control_id: uuid.UUID) -> dict[str, Any]:
    """Rule R6: the control's tests, newest first."""
    return service.list_tests(db.session, tenancy.resolved(service.visible_control, control_id), args)


@blp.route("/risks/<uuid:risk_id>/controls", methods=["PUT"])
@requires(*MANAGERS)
@blp.arguments(RiskControlsSchema)
@blp.response(200, LinkedControlsSchema)
def put_risk_controls(data: dict[str, Any], risk_id: uuid.UUID) -> dict[str, Any]:
    """Rule R6: replace the controls linked to a risk (only the risk's own organisation)."""
    return {"items": service.link_controls(db.session, tenancy.resolved(visible_risk, risk_id), data["control_ids"])}
