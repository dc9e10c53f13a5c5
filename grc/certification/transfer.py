"""Transfer of certification (C11): the client asks another CB to take over an active certificate.

The client's request creates the relationship with the receiving CB (the client consents by asking);
the receiving CB reviews (a completed transfer_review audit) and accepts, issuing its own certificate with
the same scope, sites, original issue date and expiry. A suspended, withdrawn or expired certificate
cannot be transferred.
"""
from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from grc import tenancy
from grc.api import paginate
from grc.audits.models import AuditStatus, AuditType
from grc.audits.service import visible_audit
from grc.certification.models import Certificate, CertificateStatus, CertificateTransfer, Outcome, TransferStatus
from grc.certification.service import (
    check_impartiality,
    new_certificate,
    record_decision,
    record_event,
    visible_certificate,
)
from grc.db import utcnow
from grc.errors import Forbidden, InvalidField, RuleViolation
from grc.events import publish
from grc.extensions import db
from grc.tenancy import Principal
from grc.tenants.models import ClientRelationship, Tenant
from grc.tenants.service import CB_BY_SLUG


def request_transfer(session: Session, certificate_id: uuid.UUID, to_cb_slug: str) -> CertificateTransfer:
    principal = tenancy.current()
    source = visible_certificate(certificate_id)
    if source is None or source.client_tenant_id != principal.tenant_id:
        raise InvalidField("certificate_id", "name a certificate your organisation holds")
    _check_transferable(source)
    cb_id = tenancy.tenant_of(session, CB_BY_SLUG, to_cb_slug)
    if cb_id is None or cb_id == source.tenant_id:
        raise InvalidField("to_cb_slug", "name another certification body")
    source_cb = session.get_one(Tenant, source.tenant_id)  # the client's CB: the other side of its relationship
    related = session.scalars(select(ClientRelationship).where(
        ClientRelationship.tenant_id == cb_id, ClientRelationship.client_tenant_id == principal.tenant_id)).first()
    tenancy.allow_write_to(session, cb_id)
    if not related:
        session.add(ClientRelationship(tenant_id=cb_id, client_tenant_id=principal.tenant_id,
                                       started_on=utcnow().date()))
    transfer = CertificateTransfer(
        tenant_id=cb_id, client_tenant_id=principal.tenant_id, source_certificate_id=source.id,
        source_number=source.number, source_cb_name=source_cb.name, status=TransferStatus.requested,
        requested_by=principal.person_id,
    )
    session.add(transfer)
    session.flush()
    publish(session, "certificate.transfer_requested", {"transfer_id": str(transfer.id), "number": source.number},
            tenant_id=cb_id)
    return transfer


def accept_transfer(session: Session, transfer: CertificateTransfer, audit_id: uuid.UUID, rationale: str, *,
                    caller: Principal) -> CertificateTransfer:
    """The receiving CB issues its own certificate after a completed transfer-review audit (C11, C2)."""
    if transfer.tenant_id != caller.tenant_id:
        raise Forbidden("Only the receiving certification body accepts a transfer.")
    if transfer.status != TransferStatus.requested:
        raise RuleViolation("This transfer was already accepted.", rule="C11")
    client = session.get_one(Tenant, transfer.client_tenant_id)  # a client of this CB since it asked
    with tenancy.within(session, client.id, tenancy.CLIENT_ORGANISATION):  # the certificate it holds from another CB
        source = session.get_one(Certificate, transfer.source_certificate_id)
    _check_transferable(source)
    audit = visible_audit(audit_id)
    if audit is None or audit.client_tenant_id != client.id or source.scheme not in audit.schemes:
        raise InvalidField("audit_id", "name a transfer-review audit of this client for the certificate's scheme")
    if audit.type != AuditType.transfer_review or audit.status != AuditStatus.completed:
        raise RuleViolation("A transfer is accepted after a completed transfer_review audit.", rule="C11")
    check_impartiality([audit], caller=caller)
    decision = record_decision(session, Outcome.accept_transfer, client.id, source.scheme, None, [audit],
                               {"rationale": rationale}, caller=caller)
    content, today = source.current.content, utcnow().date()
    certificate = new_certificate(
        session, client, source.scheme, original_issue_date=source.original_issue_date, issue_date=today,
        expiry_date=source.expiry_date, scope=content["scope"], sites=content["sites"],
        reason=f"transferred from {transfer.source_cb_name} ({source.number})",
        transferred_from=f"{transfer.source_cb_name} {source.number}",
    )
    decision.certificate_id = certificate.id
    record_event(session, certificate, "transferred_in", None, decision, caller=caller)
    transfer.status, transfer.certificate_id, transfer.accepted_on = TransferStatus.accepted, certificate.id, today
    return transfer


def _check_transferable(source: Certificate) -> None:
    if source.status != CertificateStatus.active or source.expiry_date < utcnow().date():
        raise RuleViolation(f"Only an active, non-suspended certificate can be transferred; "
                            f"{source.number} is {source.status.value}.", rule="C11")


def list_transfers(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    return paginate(session, select(CertificateTransfer), args, [CertificateTransfer.id])


@tenancy.path_resource("transfer_id")
def visible_transfer(transfer_id: uuid.UUID) -> CertificateTransfer | None:
    return db.session.get(CertificateTransfer, transfer_id)

