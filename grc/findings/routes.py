"""Findings and their nonconformity workflow (F1-F5)."""
from __future__ import annotations

import uuid
from typing import Any

from grc import tenancy
from grc.api import Blueprint
from grc.audits.service import visible_audit
from grc.extensions import db
from grc.findings import service
from grc.findings.models import Finding
from grc.findings.schemas import (
    CloseSchema,
    FindingCreateSchema,
    FindingListArgs,
    FindingResponseSchema,
    FindingSchema,
    FindingSummarySchema,
    ImplementationSchema,
    OwnFindingCreateSchema,
    PlanReviewSchema,
    VerificationSchema,
)
from grc.guard import requires
from grc.schemas import page_of

blp = Blueprint("findings", __name__, url_prefix="/api/v1", description="Findings and corrective-action workflow")
RESPONDENTS = service.RESPONDENT_ROLES
VERIFIERS = ("auditor", *service.RESPONDENT_ROLES)


@blp.route("/audits/<uuid:audit_id>/findings", methods=["POST"])
@requires("auditor")
@blp.arguments(FindingCreateSchema)
@blp.response(201, FindingSchema)
def raise_finding(data: dict[str, Any], audit_id: uuid.UUID) -> Finding:
    """Rule F1: an auditor raises a finding on an audit in progress or just completed; the clause must exist."""
    return service.raise_on_audit(db.session, tenancy.resolved(visible_audit, audit_id), data)


@blp.route("/findings", methods=["POST"])
@requires(*RESPONDENTS)
@blp.arguments(OwnFindingCreateSchema)
@blp.response(201, FindingSchema)
def record_own_finding(data: dict[str, Any]) -> Finding:
    """Rule F5: a client records its own nonconformity; its certification body never sees it."""
    return service.raise_own(db.session, data)


@blp.route("/findings", methods=["GET"])
@blp.arguments(FindingListArgs, location="query")
@blp.response(200, page_of(FindingSummarySchema))
def list_findings(args: dict[str, Any]) -> dict[str, Any]:
    """Findings the caller raised, or that concern the caller's organisation."""
    return service.list_findings(db.session, args)


@blp.route("/findings/<uuid:finding_id>", methods=["GET"])
@blp.response(200, FindingSchema)
def get_finding(finding_id: uuid.UUID) -> Finding:
    """One finding with its full history."""
    return tenancy.resolved(service.visible_finding, finding_id)


@blp.route("/findings/<uuid:finding_id>/response", methods=["POST"])
@requires(*RESPONDENTS)
@blp.arguments(FindingResponseSchema)
@blp.response(200, FindingSchema)
def respond_to_finding(data: dict[str, Any], finding_id: uuid.UUID) -> Finding:
    """Rule F2: the client answers with correction, root cause, corrective-action plan and target date."""
    finding = tenancy.resolved(service.visible_finding, finding_id)
    return service.transition(db.session, finding, "respond", changes=data)


@blp.route("/findings/<uuid:finding_id>/plan-review", methods=["POST"])
@requires(*VERIFIERS)
@blp.arguments(PlanReviewSchema)
@blp.response(200, FindingSchema)
def review_finding_plan(data: dict[str, Any], finding_id: uuid.UUID) -> Finding:
    """Rule F2: the auditor accepts the plan or rejects it with a comment (back to the client)."""
    action = "accept_plan" if data["accepted"] else "reject_plan"
    finding = tenancy.resolved(service.visible_finding, finding_id)
    return service.transition(db.session, finding, action, comment=data.get("comment"))


@blp.route("/findings/<uuid:finding_id>/implementation", methods=["POST"])
@requires(*RESPONDENTS)
@blp.arguments(ImplementationSchema)
@blp.response(200, FindingSchema)
def report_finding_implementation(data: dict[str, Any], finding_id: uuid.UUID) -> Finding:
    """Rule F2: the client reports the plan implemented, with evidence."""
    finding = tenancy.resolved(service.visible_finding, finding_id)
    return service.transition(db.session, finding, "implement", changes=data)


@blp.route("/findings/<uuid:finding_id>/verification", methods=["POST"])
@requires(*VERIFIERS)
@blp.arguments(VerificationSchema)
@blp.response(200, FindingSchema)
def verify_finding(data: dict[str, Any], finding_id: uuid.UUID) -> Finding:
    """Rule F2: effective -> verified; not effective -> back to plan_accepted with the reason."""
    action = "verify_effective" if data["effective"] else "verify_not_effective"
    finding = tenancy.resolved(service.visible_finding, finding_id)
    return service.transition(db.session, finding, action, comment=data.get("comment"))


@blp.route("/findings/<uuid:finding_id>/close", methods=["POST"])
@requires(*VERIFIERS)
@blp.arguments(CloseSchema)
@blp.response(200, FindingSchema)
def close_finding(data: dict[str, Any], finding_id: uuid.UUID) -> Finding:
    """Rule F2: a verified nonconformity, or an open observation or opportunity, is closed."""
    finding = tenancy.resolved(service.visible_finding, finding_id)
    action = "close" if finding.is_nonconformity else "close_observation"
    return service.transition(db.session, finding, action, comment=data.get("comment"))
