"""Statement-count growers of certification: certificates (lists, export, a long-lived certificate and its
public checks), decisions, transfers, and a CB's KPIs."""
from __future__ import annotations

from grc.audits.models import Audit
from grc.certification.models import (
    Certificate,
    CertificateEvent,
    CertificateRevision,
    CertificateTransfer,
    CertificationDecision,
    Outcome,
    TransferStatus,
)
from grc.credentials.service import keep_up
from grc.schemes.catalogue import scheme_id
from tests.certificates import Issued, issue_certificate
from tests.query_counts.growers_audits import plan_audits
from tests.query_counts.registry import grows_hot_read, grows_list
from tests.query_counts.scene import CB_MANAGER, CLIENT_ADMIN, TODAY, Read, Scene

# --------------------------------------------------------------------------- parents


def certificates(scene: Scene, count: int) -> list[Issued]:
    """cb-a's ISO 9001 certificates of client-a, each with a superseded revision (tests/certificates.py)."""
    return [issue_certificate(scene.app, scene.world, earlier_scopes=("earlier scope",)) for _ in range(count)]


def certificate(scene: Scene) -> Issued:
    return scene.once("certificate", lambda: certificates(scene, 1)[0])


# --------------------------------------------------------------------------- lists


@grows_list("GET /api/v1/certificates")
def grow_certificates(scene: Scene, count: int) -> Read:
    certificates(scene, count)
    return Read(CLIENT_ADMIN, "/api/v1/certificates")


@grows_list("GET /api/v1/certificates/export")
def grow_certificate_export(scene: Scene, count: int) -> Read:
    certificates(scene, count)
    return Read(CB_MANAGER, "/api/v1/certificates/export")


@grows_list("GET /api/v1/certificate-transfers")
def grow_transfers(scene: Scene, count: int) -> Read:
    """Transfer requests cb-a received about client-a (rows, as tests/isolation/victims_certification.py makes them)."""
    source = certificate(scene)
    with scene.system() as session:
        for _ in range(count):
            session.add(CertificateTransfer(
                tenant_id=scene.tenant("cb-a"), client_tenant_id=scene.tenant("client-a"),
                source_certificate_id=source.id, source_number=source.number, source_cb_name="CB B",
                status=TransferStatus.requested, requested_by=scene.user(CLIENT_ADMIN)))
    return Read(CB_MANAGER, "/api/v1/certificate-transfers")


@grows_list("GET /api/v1/certification-decisions")
def grow_decisions(scene: Scene, count: int) -> Read:
    """Grant decisions of cb-a about client-a, each resting on its own audit (rows: the decision rules are not
    what is measured here)."""
    audit_ids = plan_audits(scene, count)
    with scene.system() as session:
        for audit_id in audit_ids:
            session.add(CertificationDecision(
                tenant_id=scene.tenant("cb-a"), client_tenant_id=scene.tenant("client-a"),
                scheme_id=scheme_id("ISO 9001", "2015"), outcome=Outcome.grant, decided_by=scene.user(CB_MANAGER),
                decided_on=TODAY, rationale="clean", audits=[session.get(Audit, audit_id)]))
    return Read(CLIENT_ADMIN, "/api/v1/certification-decisions")


# --------------------------------------------------------------------------- hot single reads


@grows_hot_read("GET /api/v1/certificates/{certificate_id}")
def grow_certificate_history(scene: Scene, count: int) -> Read:
    """One certificate with ``count`` more revisions and events: a certificate that lived long, whose current
    revision is signed (grc.credentials does it at each reissue: the reads measured here find it done)."""
    issued = certificate(scene)
    with scene.system() as session:
        row = session.get(Certificate, issued.id)
        for _ in range(count):
            row.revisions[-1].superseded_on = TODAY
            row.revision += 1
            row.revisions.append(CertificateRevision(
                tenant_id=row.tenant_id, client_tenant_id=row.client_tenant_id,
                revision=row.revision, issued_on=TODAY, reason="reissue", content=issued.content))
            row.history.append(CertificateEvent(
                tenant_id=row.tenant_id, client_tenant_id=row.client_tenant_id, action="reissued",
                from_status="active", to_status="active", reason="scope"))
        session.flush()
        keep_up(session, row)
    return Read(CLIENT_ADMIN, f"/api/v1/certificates/{issued.id}")


@grows_hot_read("public certificate check")
def grow_public_check(scene: Scene, count: int) -> Read:
    grow_certificate_history(scene, count)
    return Read(None, f"/api/v1/public/certificates/cb-a/{scene.parents['certificate'].number}")


@grows_hot_read("public verification page")
def grow_verify_page(scene: Scene, count: int) -> Read:
    grow_certificate_history(scene, count)
    return Read(None, f"/verify/cb-a/{scene.parents['certificate'].number}")


@grows_hot_read("KPIs of a certification body")
def grow_cb_kpis(scene: Scene, count: int) -> Read:
    certificates(scene, count)
    return Read(CB_MANAGER, "/api/v1/kpis")
