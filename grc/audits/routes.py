"""Audits and the audit programme derived from them."""
from __future__ import annotations

import uuid
from typing import Any

from grc import tenancy
from grc.api import Blueprint
from grc.audits import service
from grc.audits.models import Audit
from grc.audits.schemas import (
    AuditCancelSchema,
    AuditCompleteSchema,
    AuditCreateSchema,
    AuditListArgs,
    AuditSchema,
    ProgrammeSchema,
)
from grc.certification import programme
from grc.extensions import db
from grc.guard import requires
from grc.schemas import page_of
from grc.tenants.service import CB_ROLES

blp = Blueprint("audits", __name__, url_prefix="/api/v1", description="Audit programme: stage 1, stage 2, "
                "surveillance, recertification, special and transfer-review audits")


@blp.route("/audits", methods=["POST"])
@requires(*service.CB_STAFF)
@blp.arguments(AuditCreateSchema)
@blp.response(201, AuditSchema)
def create_audit(data: dict[str, Any]) -> Audit:
    """Plan an audit of a client for one or more schemes, with its lead auditor and team."""
    return service.create_audit(db.session, data)


@blp.route("/audits", methods=["GET"])
@blp.arguments(AuditListArgs, location="query")
@blp.response(200, page_of(AuditSchema))
def list_audits(args: dict[str, Any]) -> dict[str, Any]:
    """Audits the caller's CB performs, or (for a client) the audits of the caller's organisation."""
    return service.list_audits(db.session, args)


@blp.route("/audits/<uuid:audit_id>", methods=["GET"])
@blp.response(200, AuditSchema)
def get_audit(audit_id: uuid.UUID) -> Audit:
    """One audit with its schemes and team."""
    return tenancy.resolved(service.visible_audit, audit_id)


@blp.route("/audits/<uuid:audit_id>/start", methods=["POST"])
@requires(*service.CB_STAFF)
@blp.response(200, AuditSchema)
def start_audit(audit_id: uuid.UUID) -> Audit:
    """planned -> in_progress. Rule C1: a stage 2 needs a completed stage 1 for the same client and scheme."""
    audit = tenancy.resolved(service.visible_audit, audit_id)
    return service.start(db.session, audit, caller=tenancy.current())


@blp.route("/audits/<uuid:audit_id>/complete", methods=["POST"])
@requires(*service.CB_STAFF)
@blp.arguments(AuditCompleteSchema)
@blp.response(200, AuditSchema)
def complete_audit(data: dict[str, Any], audit_id: uuid.UUID) -> Audit:
    """in_progress -> completed, with the audit's last day."""
    audit = tenancy.resolved(service.visible_audit, audit_id)
    return service.complete(db.session, audit, data.get("completed_on"), caller=tenancy.current())


@blp.route("/audits/<uuid:audit_id>/cancel", methods=["POST"])
@requires(*service.CB_STAFF)
@blp.arguments(AuditCancelSchema)
@blp.response(200, AuditSchema)
def cancel_audit(data: dict[str, Any], audit_id: uuid.UUID) -> Audit:
    """planned or in_progress -> cancelled, with the reason."""
    audit = tenancy.resolved(service.visible_audit, audit_id)
    return service.cancel(db.session, audit, data["reason"], caller=tenancy.current())


@blp.route("/clients/<uuid:client_id>/programme", methods=["GET"])
@requires(*CB_ROLES)
@blp.response(200, ProgrammeSchema)
def get_programme(client_id: uuid.UUID) -> dict[str, Any]:
    """Rule C6: the client's certification cycle per scheme; every date is derived, none typed in."""
    return {"client_id": client_id, "schemes": programme.programme(db.session, client_id)}
