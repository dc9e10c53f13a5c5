"""C5: the certificate document (PDF) shows what ISO/IEC 17021-1 8.2.2 asks, from the current revision only."""
from __future__ import annotations

import io
import re

from pypdf import PdfReader

from tests.certificates import issue_certificate

OLD_SCOPE = "Repair of garden furniture"
SCOPE = "Design and manufacture of precision valves"


def document(client, world, certificate_id, email: str = "cb_viewer@cb-a.test"):  # type: ignore[no-untyped-def]
    return client.get(f"/api/v1/certificates/{certificate_id}/document.pdf", headers=world.headers(email))


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return re.sub(r"\s+", " ", " ".join(page.extract_text() or "" for page in reader.pages))


def test_c5_the_pdf_shows_the_current_revision_with_everything_17021_asks(app, client, world):
    cert = issue_certificate(app, world, scope=SCOPE, earlier_scopes=(OLD_SCOPE,))
    response = document(client, world, cert.id)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF-")
    assert f'filename="{cert.number}.pdf"' in response.headers["Content-Disposition"]
    text = pdf_text(response.data)
    content = cert.content
    for expected in (
        "Certificate", "CB A", "certifies that", "Client client-a Ltd", "1 rue du Test, Paris",
        "ISO 9001:2015", SCOPE, cert.number, "Head office", "Lyon plant", "Manufacture of precision valves",
        content["original_issue_date"], content["effective_date"], content["expiry_date"],
        f"/verify/cb-a/{cert.number}",
    ):
        assert expected in text, f"{expected!r} not in the PDF text: {text}"
    assert re.search(r"Revision 2\b", text)
    # The superseded revision (older scope) is not what is printed, and an active certificate has no stamp.
    assert OLD_SCOPE not in text
    assert cert.superseded and cert.superseded[0]["scope"] == OLD_SCOPE
    for stamp in ("SUSPENDED", "WITHDRAWN", "EXPIRED", "SUPERSEDED"):
        assert stamp not in text


def test_c5_the_qr_code_links_the_public_verification_page_and_the_credential_url_is_printed(app, client, world):
    cert = issue_certificate(app, world)
    data = document(client, world, cert.id).data
    # The URL under the QR code is absolute, built from the request's host; the signed credential's too (V2).
    assert f"http://localhost/verify/cb-a/{cert.number}" in pdf_text(data)
    assert f"http://localhost/api/v1/public/certificates/cb-a/{cert.number}/credential" in pdf_text(data)
    # The QR code itself is drawn as filled squares: many of them, all the same size.
    reader = PdfReader(io.BytesIO(data))
    stream = reader.pages[0].get_contents().get_data().decode("latin-1")
    assert stream.count(" re f") + stream.count(" re\nf") > 200


def test_c5_a_certificate_that_is_not_active_is_stamped_with_its_status(app, client, world):
    for status in ("suspended", "withdrawn"):
        cert = issue_certificate(app, world, status=status)
        assert status.upper() in pdf_text(document(client, world, cert.id).data)


def test_c5_the_client_reads_its_certificate_and_strangers_get_404(app, client, world):
    cert = issue_certificate(app, world)
    assert document(client, world, cert.id, "client_viewer@client-a.test").status_code == 200
    for stranger in ("cb_admin@cb-b.test", "client_admin@client-b.test", "platform_admin@platform.test"):
        response = document(client, world, cert.id, stranger)
        assert response.status_code == 404 and response.mimetype == "application/problem+json"
    assert client.get(f"/api/v1/certificates/{cert.id}/document.pdf").status_code == 401
