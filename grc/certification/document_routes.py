"""``GET /api/v1/certificates/{certificate_id}/document.pdf``: the current revision of a certificate as a PDF (C5)."""
from __future__ import annotations

import re
import uuid

from flask import Response, request

from grc import tenancy
from grc.api import Blueprint
from grc.certification.document import render_pdf
from grc.certification.public import credential_path, verify_path
from grc.certification.service import visible_certificate
from grc.errors import NotFound

blp = Blueprint("certificate-documents", __name__, url_prefix="/api/v1",
                description="Certificate documents: the current revision as a printable PDF")


@blp.route("/certificates/<uuid:certificate_id>/document.pdf", methods=["GET"])
@blp.response(200, {"format": "binary", "type": "string"}, content_type="application/pdf")
def get_certificate_document(certificate_id: uuid.UUID) -> Response:
    """The certificate as a PDF: the current revision, as issued (C5).

    It shows the certification body, the client's legal name and address, every site with its scope, the
    standard with its edition, the scope, number, revision, original issue, effective and expiry dates, the
    status stamped across the page when the certificate is not active, a QR code linking the public
    verification page (C10) and the URL of its signed credential (V2). Readable by the issuing CB and by the
    certified client.
    """
    certificate = tenancy.resolved(visible_certificate, certificate_id)
    if certificate is None or not certificate.revisions:
        raise NotFound("No such resource.")
    revision = certificate.current
    cb_slug = revision.content.get("cb_slug") or ""
    host = request.host_url.rstrip("/")
    pdf = render_pdf(certificate, revision, host + verify_path(cb_slug, certificate.number),
                     host + credential_path(cb_slug, certificate.number))
    filename = re.sub(r"[^A-Za-z0-9._-]", "-", certificate.number) + ".pdf"
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
