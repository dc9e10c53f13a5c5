"""The tenant's audit trail and its integrity check (A1)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from grc import tenancy
from grc.api import Blueprint, paginate
from grc.auditlog.models import AuditEvent
from grc.auditlog.schemas import AuditEventListArgs, AuditEventSchema, ChainReportSchema
from grc.auditlog.service import verify_chain
from grc.auth.models import ADMIN_ROLES
from grc.extensions import db
from grc.guard import requires
from grc.schemas import page_of

blp = Blueprint(
    "audit_events", __name__, url_prefix="/api/v1/audit-events", description="Append-only, hash-chained audit trail"
)


@blp.route("", methods=["GET"])
@requires(*ADMIN_ROLES)
@blp.arguments(AuditEventListArgs, location="query")
@blp.response(200, page_of(AuditEventSchema))
def list_audit_events(args: dict[str, Any]) -> dict[str, Any]:
    """The tenant's events, newest first; filter by entity or action."""
    stmt = select(AuditEvent)
    for name in ("entity_type", "entity_id", "action"):
        if args.get(name) is not None:
            stmt = stmt.where(getattr(AuditEvent, name) == args[name])
    return paginate(db.session, stmt, args, [AuditEvent.seq], descending=True)


@blp.route("/verify", methods=["GET"])
@requires(*ADMIN_ROLES)
@blp.response(200, ChainReportSchema)
def verify_audit_chain() -> dict[str, Any]:
    """Recompute the tenant's hash chain and name the first broken link, if any."""
    return verify_chain(db.session, tenancy.current().tenant_id)
