"""Evidence files on findings and actions: multipart upload, listing, download (only for who sees the parent)."""
from __future__ import annotations

import functools
import io
import uuid
from collections.abc import Callable
from typing import Any

from flask import Response, current_app, request, send_file

from grc import tenancy
from grc.actions.service import visible_action
from grc.api import Blueprint
from grc.evidence import service
from grc.evidence.models import EvidenceFile
from grc.evidence.schemas import EvidenceListSchema, EvidenceSchema, EvidenceUploadSchema
from grc.extensions import db
from grc.findings.service import visible_finding
from grc.guard import requires

blp = Blueprint("evidence", __name__, url_prefix="/api/v1", description="Evidence files on findings and actions")
MULTIPART_OVERHEAD = 64 * 1024


def accepts_upload(view: Callable[..., Any]) -> Callable[..., Any]:
    """Raise this request's body limit from the API-wide 1 MiB to the evidence limit, before parsing."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        request.max_content_length = current_app.config["GRC_SETTINGS"].evidence_max_bytes + MULTIPART_OVERHEAD
        return view(*args, **kwargs)

    return wrapped


def _store(parent: Any, upload: dict[str, Any]) -> EvidenceFile:
    file = upload["file"]
    return service.attach(db.session, parent, file.filename or "upload", file.read())


@blp.route("/findings/<uuid:finding_id>/evidence", methods=["POST"])
@requires(*service.UPLOADER_ROLES)
@accepts_upload
@blp.arguments(EvidenceUploadSchema, location="files")
@blp.response(201, EvidenceSchema)
def upload_finding_evidence(upload: dict[str, Any], finding_id: uuid.UUID) -> EvidenceFile:
    """Attach a file to a finding (type sniffed from its content; size limited; SHA-256 recorded)."""
    return _store(tenancy.resolved(visible_finding, finding_id), upload)


@blp.route("/findings/<uuid:finding_id>/evidence", methods=["GET"])
@blp.response(200, EvidenceListSchema)
def list_finding_evidence(finding_id: uuid.UUID) -> dict[str, Any]:
    """The files attached to a finding."""
    return {"items": service.list_for(db.session, tenancy.resolved(visible_finding, finding_id))}


@blp.route("/actions/<uuid:action_id>/evidence", methods=["POST"])
@requires(*service.UPLOADER_ROLES)
@accepts_upload
@blp.arguments(EvidenceUploadSchema, location="files")
@blp.response(201, EvidenceSchema)
def upload_action_evidence(upload: dict[str, Any], action_id: uuid.UUID) -> EvidenceFile:
    """Attach a file to an action."""
    return _store(tenancy.resolved(visible_action, action_id), upload)


@blp.route("/actions/<uuid:action_id>/evidence", methods=["GET"])
@blp.response(200, EvidenceListSchema)
def list_action_evidence(action_id: uuid.UUID) -> dict[str, Any]:
    """The files attached to an action."""
    return {"items": service.list_for(db.session, tenancy.resolved(visible_action, action_id))}


@blp.route("/evidence/<uuid:evidence_id>", methods=["GET"])
@blp.response(200, EvidenceSchema)
def get_evidence(evidence_id: uuid.UUID) -> EvidenceFile:
    """One file's metadata."""
    return tenancy.resolved(service.visible_evidence, evidence_id)


@blp.route("/evidence/<uuid:evidence_id>/content", methods=["GET"])
@blp.response(200, {"format": "binary", "type": "string"}, content_type="application/octet-stream")
def download_evidence(evidence_id: uuid.UUID) -> Response:
    """The file itself, as an attachment, checked against its recorded SHA-256."""
    evidence = tenancy.resolved(service.visible_evidence, evidence_id)
    response = send_file(io.BytesIO(service.content(evidence)), mimetype=evidence.content_type, as_attachment=True,
                         download_name=evidence.filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
