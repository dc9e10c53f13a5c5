"""ISO 31000 risk criteria, registers, risks and assessments (R1-R3)."""
from __future__ import annotations

import uuid
from typing import Any

from grc import tenancy
from grc.actions import service as actions
from grc.actions.models import Action
from grc.actions.schemas import ActionCreateSchema, ActionSchema
from grc.api import Blueprint
from grc.extensions import db
from grc.guard import requires
from grc.risks import criteria, importing, service
from grc.risks.models import (
    Risk,
    RiskAcceptance,
    RiskAssessment,
    RiskCriteria,
    RiskRegister,
    RiskReview,
)
from grc.risks.schemas import (
    AcceptanceCreateSchema,
    AcceptanceSchema,
    AssessmentCreateSchema,
    AssessmentSchema,
    CriteriaSchema,
    CriteriaUpdateSchema,
    CriteriaVersionsSchema,
    ImportResultSchema,
    ImportUploadSchema,
    RegisterCreateSchema,
    RegisterListArgs,
    RegisterSchema,
    RegisterUpdateSchema,
    ReviewCreateSchema,
    ReviewListSchema,
    ReviewSchema,
    RiskCreateSchema,
    RiskListArgs,
    RiskSchema,
    RiskSummarySchema,
    RiskUpdateSchema,
    ShareSchema,
    SharesSchema,
    TreatmentSchema,
)
from grc.schemas import page_of

blp = Blueprint("risks", __name__, url_prefix="/api/v1", description="ISO 31000 risk management")
MANAGERS = service.RISK_MANAGERS


@blp.route("/risk-criteria", methods=["GET"])
@blp.response(200, CriteriaSchema)
def get_risk_criteria() -> RiskCriteria:
    """Rule R1: the criteria in force (a 5x5 default until the tenant saves its own)."""
    return criteria.current(db.session)


@blp.route("/risk-criteria", methods=["PUT"])
@requires(*MANAGERS)
@blp.arguments(CriteriaUpdateSchema)
@blp.response(200, CriteriaSchema)
def put_risk_criteria(data: dict[str, Any]) -> RiskCriteria:
    """Rule R1: save a new version (validated: one level per cell, levels ordered, monotone in both axes)."""
    return criteria.save(db.session, data)


@blp.route("/risk-criteria/versions", methods=["GET"])
@blp.response(200, CriteriaVersionsSchema)
def list_risk_criteria_versions() -> dict[str, Any]:
    """Every saved version; assessments name the version they used."""
    return {"items": criteria.versions(db.session)}


@blp.route("/risk-registers", methods=["POST"])
@requires(*MANAGERS)
@blp.arguments(RegisterCreateSchema)
@blp.response(201, RegisterSchema)
def create_risk_register(data: dict[str, Any]) -> RiskRegister:
    """Rule R2: a register with its scope and internal and external context."""
    return service.create_register(db.session, data)


@blp.route("/risk-registers", methods=["GET"])
@blp.arguments(RegisterListArgs, location="query")
@blp.response(200, page_of(RegisterSchema))
def list_risk_registers(args: dict[str, Any]) -> dict[str, Any]:
    """The tenant's registers, and those clients shared with the caller's CB."""
    return service.list_registers(db.session, args)


@blp.route("/risk-registers/<uuid:register_id>", methods=["GET"])
@blp.etag
@blp.response(200, RegisterSchema)
def get_risk_register(register_id: uuid.UUID) -> RiskRegister:
    """One register."""
    return tenancy.resolved(service.visible_register, register_id)


@blp.route("/risk-registers/<uuid:register_id>", methods=["PATCH"])
@requires(*MANAGERS)
@blp.etag
@blp.arguments(RegisterUpdateSchema)
@blp.response(200, RegisterSchema)
def update_risk_register(data: dict[str, Any], register_id: uuid.UUID) -> RiskRegister:
    """Change or archive a register (needs If-Match)."""
    register = tenancy.resolved(service.visible_register, register_id)
    blp.check_etag(register, RegisterSchema)
    return service.update_register(db.session, register, data)


@blp.route("/risk-registers/<uuid:register_id>/shares", methods=["POST"])
@requires("client_admin", "risk_manager")
@blp.arguments(ShareSchema)
@blp.response(200, SharesSchema)
def share_risk_register(data: dict[str, Any], register_id: uuid.UUID) -> dict[str, Any]:
    """Rule R2: share read-only with a certification body that certifies your organisation."""
    register = service.share(db.session, tenancy.resolved(service.visible_register, register_id), data["cb_id"])
    return {"register_id": register.id, "shared_with": service.shared_with(db.session, register)}


@blp.route("/risk-registers/<uuid:register_id>/unshare", methods=["POST"])
@requires("client_admin", "risk_manager")
@blp.arguments(ShareSchema)
@blp.response(200, SharesSchema)
def unshare_risk_register(data: dict[str, Any], register_id: uuid.UUID) -> dict[str, Any]:
    """Stop sharing the register with that certification body."""
    register = service.unshare(db.session, tenancy.resolved(service.visible_register, register_id), data["cb_id"])
    return {"register_id": register.id, "shared_with": service.shared_with(db.session, register)}


@blp.route("/risk-registers/<uuid:register_id>/risks", methods=["POST"])
@requires(*MANAGERS)
@blp.arguments(RiskCreateSchema)
@blp.response(201, RiskSchema)
def create_risk(data: dict[str, Any], register_id: uuid.UUID) -> Risk:
    """Rule R2: a risk with a reference unique in its register (R-001, R-002...)."""
    return service.create_risk(db.session, tenancy.resolved(service.visible_register, register_id), data)


@blp.route("/risks", methods=["GET"])
@blp.arguments(RiskListArgs, location="query")
@blp.response(200, page_of(RiskSummarySchema))
def list_risks(args: dict[str, Any]) -> dict[str, Any]:
    """Risks, filtered by register, level, category, owner, status, appetite, overdue review or title text."""
    return service.list_risks(db.session, args)


@blp.route("/risks/<uuid:risk_id>", methods=["GET"])
@blp.etag
@blp.response(200, RiskSchema)
def get_risk(risk_id: uuid.UUID) -> Risk:
    """One risk with its assessment history."""
    return tenancy.resolved(service.visible_risk, risk_id)


@blp.route("/risks/<uuid:risk_id>", methods=["PATCH"])
@requires(*MANAGERS)
@blp.etag
@blp.arguments(RiskUpdateSchema)
@blp.response(200, RiskSchema)
def update_risk(data: dict[str, Any], risk_id: uuid.UUID) -> Risk:
    """Change a risk (needs If-Match)."""
    risk = tenancy.resolved(service.visible_risk, risk_id)
    blp.check_etag(risk, RiskSchema)
    return service.update_risk(db.session, risk, data)


@blp.route("/risks/<uuid:risk_id>/assessments", methods=["POST"])
@requires(*MANAGERS)
@blp.arguments(AssessmentCreateSchema)
@blp.response(201, AssessmentSchema)
def assess_risk(data: dict[str, Any], risk_id: uuid.UUID) -> RiskAssessment:
    """Rule R3: inherent, current and target ratings; level and score derived from the criteria in force."""
    return service.assess(db.session, tenancy.resolved(service.visible_risk, risk_id), data)


@blp.route("/risks/<uuid:risk_id>/treatment", methods=["PUT"])
@requires(*MANAGERS)
@blp.arguments(TreatmentSchema)
@blp.response(200, RiskSchema)
def decide_risk_treatment(data: dict[str, Any], risk_id: uuid.UUID) -> Risk:
    """Rule R4: the treatment decision (avoid, remove_source, change_likelihood, change_consequence, share, retain)."""
    return service.decide_treatment(db.session, tenancy.resolved(service.visible_risk, risk_id), data["options"])


@blp.route("/risks/<uuid:risk_id>/actions", methods=["POST"])
@requires(*MANAGERS)
@blp.arguments(ActionCreateSchema)
@blp.response(201, ActionSchema)
def create_risk_treatment_action(data: dict[str, Any], risk_id: uuid.UUID) -> Action:
    """Rule R4: a treatment action (the shared actions resource); the risk moves to in_treatment."""
    risk = tenancy.resolved(service.visible_risk, risk_id)
    return actions.create_for_risk(db.session, risk, data, caller=tenancy.current())


@blp.route("/risks/<uuid:risk_id>/acceptance", methods=["POST"])
@requires("client_admin", "risk_manager", "cb_admin", "certification_manager")
@blp.arguments(AcceptanceCreateSchema)
@blp.response(201, AcceptanceSchema)
def accept_risk(data: dict[str, Any], risk_id: uuid.UUID) -> RiskAcceptance:
    """Rule R4: accept retaining a risk above appetite, with rationale and an expiry date."""
    return service.accept(db.session, tenancy.resolved(service.visible_risk, risk_id), data)


@blp.route("/risks/<uuid:risk_id>/reviews", methods=["POST"])
@requires(*MANAGERS)
@blp.arguments(ReviewCreateSchema)
@blp.response(201, ReviewSchema)
def review_risk(data: dict[str, Any], risk_id: uuid.UUID) -> RiskReview:
    """Rule R5: record a review; the next review date is derived from the risk's level."""
    return service.review(db.session, tenancy.resolved(service.visible_risk, risk_id), data["notes"])


@blp.route("/risks/<uuid:risk_id>/reviews", methods=["GET"])
@blp.response(200, ReviewListSchema)
def list_risk_reviews(risk_id: uuid.UUID) -> dict[str, Any]:
    """The risk's reviews, oldest first."""
    return {"items": service.reviews(db.session, tenancy.resolved(service.visible_risk, risk_id))}


@blp.route("/risk-registers/<uuid:register_id>/import", methods=["POST"])
@requires(*MANAGERS)
@blp.arguments(ImportUploadSchema, location="files")
@blp.response(200, ImportResultSchema)
def import_risk_register(upload: dict[str, Any], register_id: uuid.UUID) -> dict[str, int]:
    """Import the CSV the export produces: every row is checked first, then all are imported or none."""
    register = tenancy.resolved(service.visible_register, register_id)
    return importing.import_csv(db.session, register, upload["file"].read())
