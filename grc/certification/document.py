"""The certificate document (C5, ISO/IEC 17021-1 8.2.2) as a PDF, rendered from one revision's content.

Everything printed comes from the revision's ``content`` (what was decided and issued), never from the
client's current master data: a reissue is a new revision, and an old revision prints as it was. A status
other than active is stamped across every page, a QR code links the public verification page (C10), and the URL
of the certificate's signed credential (V2) is printed as text.
"""
from __future__ import annotations

import io
from datetime import date
from typing import Any
from xml.sax.saxutils import escape

import segno
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from grc.certification.models import Certificate, CertificateRevision, CertificateStatus
from grc.certification.public import public_status

QR_SIZE = 32 * mm
MARGIN = 20 * mm


def render_pdf(certificate: Certificate, revision: CertificateRevision, verify_url: str, credential_url: str,
               today: date | None = None) -> bytes:
    """The PDF of ``revision`` of ``certificate``; ``verify_url`` is the absolute URL the QR code encodes,
    ``credential_url`` where the certificate's signed credential is published."""
    content = revision.content
    status = public_status(certificate, today)
    superseded = revision.superseded_on is not None
    stamp = "SUPERSEDED" if superseded else (None if status == CertificateStatus.active else status.value.upper())
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN, bottomMargin=MARGIN + QR_SIZE,
        title=f"Certificate {content.get('number', certificate.number)}", author=str(content.get("cb_name", "")),
        subject=str(content.get("standard", "")),
    )

    def decorate(canvas: Canvas, _doc: Any) -> None:
        _qr_and_footer(canvas, verify_url, credential_url, content, revision)
        if stamp:
            _watermark(canvas, stamp)

    doc.build(_story(certificate, content), onFirstPage=decorate, onLaterPages=decorate)
    return buffer.getvalue()


def _styles() -> dict[str, ParagraphStyle]:
    base = getSampleStyleSheet()
    return {
        "cb": ParagraphStyle("cb", parent=base["Normal"], fontName="Helvetica-Bold", fontSize=13, alignment=TA_CENTER,
                             textColor=colors.HexColor("#1f3b66")),
        "title": ParagraphStyle("title", parent=base["Title"], fontName="Helvetica-Bold", fontSize=26, spaceAfter=6),
        "centre": ParagraphStyle("centre", parent=base["Normal"], fontSize=11, alignment=TA_CENTER, leading=15),
        "client": ParagraphStyle("client", parent=base["Normal"], fontName="Helvetica-Bold", fontSize=16,
                                 alignment=TA_CENTER, leading=20),
        "standard": ParagraphStyle("standard", parent=base["Normal"], fontName="Helvetica-Bold", fontSize=18,
                                   alignment=TA_CENTER, leading=22, spaceBefore=4, spaceAfter=4),
        "scope": ParagraphStyle("scope", parent=base["Normal"], fontSize=11, alignment=TA_CENTER, leading=15),
        "cell": ParagraphStyle("cell", parent=base["Normal"], fontSize=9, leading=11),
        "cellhead": ParagraphStyle("cellhead", parent=base["Normal"], fontName="Helvetica-Bold", fontSize=9,
                                   leading=11),
    }


def _p(text: Any, style: ParagraphStyle) -> Paragraph:
    """A paragraph of untrusted text: escaped, since Paragraph parses markup."""
    return Paragraph(escape("" if text is None else str(text)).replace("\n", "<br/>"), style)


def _story(certificate: Certificate, content: dict[str, Any]) -> list[Any]:
    s = _styles()
    number = content.get("number") or certificate.number
    story: list[Any] = [
        _p(content.get("cb_name"), s["cb"]),
        Spacer(1, 8 * mm),
        _p("Certificate", s["title"]),
        _p(f"Certificate number {number}, revision {content.get('revision', '')}", s["centre"]),
        Spacer(1, 8 * mm),
        _p(f"{content.get('cb_name', '')} certifies that", s["centre"]),
        Spacer(1, 3 * mm),
        _p(content.get("client_legal_name") or content.get("client_name"), s["client"]),
        _p(_address(content.get("client_address"), content.get("client_country")), s["centre"]),
        Spacer(1, 6 * mm),
        _p("operates a management system that conforms to the requirements of", s["centre"]),
        _p(content.get("standard"), s["standard"]),
        _p(content.get("scheme_title"), s["centre"]),
        Spacer(1, 6 * mm),
        _p("for the following scope:", s["centre"]),
        _p(content.get("scope"), s["scope"]),
        Spacer(1, 8 * mm),
    ]
    sites = content.get("sites") or []
    if sites:
        rows = [[_p(h, s["cellhead"]) for h in ("Site", "Address", "Scope")]]
        rows += [[_p(site.get("name"), s["cell"]), _p(_address(site.get("address"), site.get("country")), s["cell"]),
                  _p(site.get("scope"), s["cell"])] for site in sites]
        table = Table(rows, colWidths=[40 * mm, 55 * mm, 75 * mm], repeatRows=1)
        table.setStyle(TableStyle([
            ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.HexColor("#1f3b66")),
            ("LINEBELOW", (0, 1), (-1, -1), 0.3, colors.HexColor("#c5ccd6")),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ]))
        story += [table, Spacer(1, 8 * mm)]
    dates = [
        ["Original issue date", content.get("original_issue_date") or certificate.original_issue_date.isoformat()],
        ["Effective date", content.get("effective_date") or certificate.issue_date.isoformat()],
        ["Expiry date", content.get("expiry_date") or certificate.expiry_date.isoformat()],
        ["Certificate number", number],
        ["Revision", str(content.get("revision", ""))],
    ]
    table = Table([[_p(k, s["cellhead"]), _p(v, s["cell"])] for k, v in dates], colWidths=[45 * mm, 60 * mm])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    story.append(table)
    return story


def _address(address: Any, country: Any) -> str:
    return ", ".join(str(part) for part in (address, country) if part)


def _qr_and_footer(canvas: Canvas, url: str, credential_url: str, content: dict[str, Any],
                   revision: CertificateRevision) -> None:
    """The QR code (drawn module by module: crisp, no image), bottom right; the verification and credential URLs."""
    qr = segno.make(url, error="m")
    matrix = [list(row) for row in qr.matrix]
    border = 2
    modules = len(matrix) + 2 * border
    unit = QR_SIZE / modules
    width, _height = A4
    x0, y0 = width - MARGIN - QR_SIZE, MARGIN * 0.6
    canvas.saveState()
    canvas.setFillColor(colors.white)
    canvas.rect(x0, y0, QR_SIZE, QR_SIZE, stroke=0, fill=1)
    canvas.setFillColor(colors.black)
    for r, row in enumerate(matrix):
        for c, dark in enumerate(row):
            if dark:
                canvas.rect(x0 + (c + border) * unit, y0 + QR_SIZE - (r + border + 1) * unit, unit, unit, stroke=0,
                            fill=1)
    canvas.setFont("Helvetica", 8)
    canvas.setFillColor(colors.HexColor("#4a5566"))
    canvas.drawString(MARGIN, y0 + 24 * mm, "Check the current status of this certificate at:")
    canvas.drawString(MARGIN, y0 + 20 * mm, url[:110])
    canvas.drawString(MARGIN, y0 + 14 * mm, "Signed credential (W3C Verifiable Credential), for software to verify:")
    canvas.drawString(MARGIN, y0 + 10 * mm, credential_url[:110])
    issued = f"Revision {revision.revision} issued on {revision.issued_on.isoformat()} by {content.get('cb_name', '')}"
    canvas.drawString(MARGIN, y0 + 4 * mm, issued[:120])
    canvas.restoreState()


def _watermark(canvas: Canvas, text: str) -> None:
    width, height = A4
    canvas.saveState()
    canvas.setFillColor(colors.Color(0.78, 0.1, 0.1, alpha=0.22))
    canvas.setFont("Helvetica-Bold", 90 if len(text) <= 9 else 72)
    canvas.translate(width / 2, height / 2)
    canvas.rotate(45)
    canvas.drawCentredString(0, -30, text)
    canvas.restoreState()
