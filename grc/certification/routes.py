"""Certification decisions and certificates (C1-C9)."""
from __future__ import annotations

import uuid
from typing import Any

from flask import Response

from grc import tenancy
from grc.additions import Extended
from grc.api import Blueprint
from grc.certification import export, service, transfer
from grc.certification.models import (
    Certificate,
    CertificateTransfer,
    CertificationDecision,
)
from grc.certification.schemas import (
    CertificateListArgs,
    CertificateSchema,
    CertificateSummarySchema,
    DecisionCreateSchema,
    DecisionListArgs,
    DecisionSchema,
    ExportArgs,
    ReduceScopeSchema,
    RestoreSchema,
    SuspendSchema,
    TransferAcceptSchema,
    TransferRequestSchema,
    TransferSchema,
    WithdrawSchema,
)
from grc.extensions import db
from grc.guard import requires
from grc.schemas import ListArgs, page_of
from grc.spreadsheet import XLSX_MEDIA_TYPE

blp = Blueprint("certification", __name__, url_prefix="/api/v1", description="Certification decisions and certificates")
DECIDER = "certification_manager"


@blp.route("/certification-decisions", methods=["POST"])
@requires(DECIDER)
@blp.arguments(DecisionCreateSchema)
@blp.response(201, DecisionSchema)
def create_decision(data: dict[str, Any]) -> CertificationDecision:
    """Decide: grant (C1, C3, C4), refuse, renew (C6), restore (C7), extend_scope or reduce_scope (C9).

    Rule C2: the decider is a certification manager who was on none of the relied-on audit teams.
    """
    return service.decide(db.session, data, caller=tenancy.current())


@blp.route("/certification-decisions", methods=["GET"])
@blp.arguments(DecisionListArgs, location="query")
@blp.response(200, page_of(DecisionSchema))
def list_decisions(args: dict[str, Any]) -> dict[str, Any]:
    """Decisions of the caller's CB, or (for a client) about the caller's organisation."""
    return service.list_decisions(db.session, args)


@blp.route("/certification-decisions/<uuid:decision_id>", methods=["GET"])
@blp.response(200, DecisionSchema)
def get_decision(decision_id: uuid.UUID) -> CertificationDecision:
    """One decision: who, when, outcome, rationale and the audits relied on."""
    return tenancy.resolved(service.visible_decision, decision_id)


@blp.route("/certificates", methods=["GET"])
@blp.arguments(CertificateListArgs, location="query")
@blp.response(200, page_of(CertificateSummarySchema))
def list_certificates(args: dict[str, Any]) -> dict[str, Any]:
    """Certificates the caller's CB issued, or that the caller's organisation holds."""
    return service.list_certificates(db.session, args)


@blp.route("/certificates/export", methods=["GET"])
@requires("cb_admin", "certification_manager", "cb_viewer")
@blp.arguments(ExportArgs, location="query")
@blp.response(200, {"type": "string"}, content_type="text/csv")
@blp.alt_response(200, success=True, content_type="application/json",
                  schema={"type": "array", "items": {"type": "object"}})
@blp.alt_response(200, success=True, content_type=XLSX_MEDIA_TYPE,
                  schema={"type": "string", "format": "binary"})
def export_certificates(args: dict[str, Any]) -> Response:
    """The CB's certificate directory: CSV or JSON for people, or in the registry's own formats (G1):
    ``certsearch-json`` gives the IAF CertSearch bulk-upload bodies (``{"certifications": [...]}``, one per
    certified entity, at most 100 each), ``certsearch-xlsx`` its file-upload template (``cb_certs.xlsx``)."""
    if args["format"] in export.FILE_FORMATS:
        return _file(export.FILE_FORMATS[args["format"]](db.session, tenancy.current().tenant_id))
    records = export.rows(db.session)  # read in batches; the body is built before the session closes
    if args["format"] == "json":
        return Response("".join(export.as_json(records)), mimetype="application/json")
    response = Response("".join(export.as_csv(records)), mimetype="text/csv")
    response.headers["Content-Disposition"] = "attachment; filename=certificates.csv"
    return response


def _file(file: export.ExportFile) -> Response:
    response = Response(file.body, mimetype=file.media_type)
    if file.file_name:
        response.headers["Content-Disposition"] = f"attachment; filename={file.file_name}"
    return response


@blp.route("/certificates/<uuid:certificate_id>", methods=["GET"])
@blp.response(200, CertificateSchema)
def get_certificate(certificate_id: uuid.UUID) -> Extended[Certificate]:
    """One certificate with every revision (older ones marked superseded), its full history and, for its CB, where it
    stands in IAF CertSearch (G2)."""
    return service.certificate_view(db.session, tenancy.resolved(service.visible_certificate, certificate_id))


@blp.route("/certificates/<uuid:certificate_id>/suspend", methods=["POST"])
@requires(DECIDER)
@blp.arguments(SuspendSchema)
@blp.response(200, CertificateSchema)
def suspend_certificate(data: dict[str, Any], certificate_id: uuid.UUID) -> Certificate:
    """Rule C8: active -> suspended until a date no later than the CB's maximum (default 6 months)."""
    certificate = tenancy.resolved(service.visible_certificate, certificate_id)
    return service.suspend(db.session, certificate, data["reason"], data["until"], caller=tenancy.current())


@blp.route("/certificates/<uuid:certificate_id>/restore", methods=["POST"])
@requires(DECIDER)
@blp.arguments(RestoreSchema)
@blp.response(200, CertificateSchema)
def restore_certificate(data: dict[str, Any], certificate_id: uuid.UUID) -> Certificate:
    """Rule C7: suspended -> active; expired -> active within 6 months of expiry after recertification."""
    certificate = tenancy.resolved(service.visible_certificate, certificate_id)
    return service.restore(db.session, certificate, data["reason"], data["audit_ids"], caller=tenancy.current())


@blp.route("/certificates/<uuid:certificate_id>/withdraw", methods=["POST"])
@requires(DECIDER)
@blp.arguments(WithdrawSchema)
@blp.response(200, CertificateSchema)
def withdraw_certificate(data: dict[str, Any], certificate_id: uuid.UUID) -> Certificate:
    """Rule C7: active or suspended -> withdrawn (terminal)."""
    certificate = tenancy.resolved(service.visible_certificate, certificate_id)
    return service.withdraw(db.session, certificate, data["reason"], caller=tenancy.current())


@blp.route("/certificates/<uuid:certificate_id>/reduce-scope", methods=["POST"])
@requires(DECIDER)
@blp.arguments(ReduceScopeSchema)
@blp.response(200, CertificateSchema)
def reduce_certificate_scope(data: dict[str, Any], certificate_id: uuid.UUID) -> Certificate:
    """Rule C9: a new revision with the reduced scope; the reason is kept."""
    certificate = tenancy.resolved(service.visible_certificate, certificate_id)
    return service.reduce_scope(db.session, certificate, data, caller=tenancy.current())


@blp.route("/certificate-transfers", methods=["POST"])
@requires("client_admin")
@blp.arguments(TransferRequestSchema)
@blp.response(201, TransferSchema)
def request_certificate_transfer(data: dict[str, Any]) -> CertificateTransfer:
    """Rule C11: a client asks another CB to take over its active, non-suspended certificate."""
    return transfer.request_transfer(db.session, data["certificate_id"], data["to_cb_slug"])


@blp.route("/certificate-transfers", methods=["GET"])
@blp.arguments(ListArgs, location="query")
@blp.response(200, page_of(TransferSchema))
def list_certificate_transfers(args: dict[str, Any]) -> dict[str, Any]:
    """Transfers asked of the caller's CB, or asked by the caller's organisation."""
    return transfer.list_transfers(db.session, args)


@blp.route("/certificate-transfers/<uuid:transfer_id>", methods=["GET"])
@blp.response(200, TransferSchema)
def get_certificate_transfer(transfer_id: uuid.UUID) -> CertificateTransfer:
    """One transfer request."""
    return tenancy.resolved(transfer.visible_transfer, transfer_id)


@blp.route("/certificate-transfers/<uuid:transfer_id>/accept", methods=["POST"])
@requires(DECIDER)
@blp.arguments(TransferAcceptSchema)
@blp.response(200, TransferSchema)
def accept_certificate_transfer(data: dict[str, Any], transfer_id: uuid.UUID) -> CertificateTransfer:
    """Rule C11: after a completed transfer_review audit, issue the CB's own certificate, same scope and expiry."""
    requested = tenancy.resolved(transfer.visible_transfer, transfer_id)
    return transfer.accept_transfer(db.session, requested, data["audit_id"], data["rationale"],
                                    caller=tenancy.current())
