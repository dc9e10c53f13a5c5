"""Certificates made straight through the ORM, for the mark-licence tests (M1-M3) and their isolation victims.

A certificate row with one revision whose ``content`` holds what a certificate shows (C5). Status changes are
made the way the certification service makes them: set ``certificate.status`` and call
``grc.marks.service.follow_certificate`` in the same session, then commit.
"""
from __future__ import annotations

import uuid
from datetime import date, timedelta

from flask import Flask

from grc import tenancy
from grc.certification.models import Certificate, CertificateRevision, CertificateStatus
from grc.certification.service import revision_content
from grc.extensions import db
from grc.marks.service import follow_certificate
from grc.schemes.models import Scheme
from grc.tenants.models import Tenant
from tests.world import World, act_as

ISO_9001 = ("ISO 9001", "2015")


def make_certificate(app: Flask, world: World, *, cb: str = "cb-a", client: str = "client-a",
                     number: str | None = None, status: str = "active", scheme: tuple[str, str] = ISO_9001,
                     client_tenant_id: uuid.UUID | None = None) -> uuid.UUID:
    """A certificate ``cb`` issued to ``client`` (or to ``client_tenant_id``), with one revision; its id."""
    from grc.schemes.catalogue import scheme_id

    today = date.today()
    with app.app_context(), tenancy.system_scope(db.session):
        session = db.session
        cb_tenant = session.get(Tenant, world.tenants[cb])
        client_id = client_tenant_id or world.tenants[client]
        client_tenant = session.get(Tenant, client_id)
        found = session.get(Scheme, scheme_id(*scheme))
        number = number or f"{cb.upper()}-{uuid.uuid4().hex[:8].upper()}"
        certificate = Certificate(
            tenant_id=cb_tenant.id, client_tenant_id=client_id, scheme_id=found.id, number=number,
            status=CertificateStatus(status), original_issue_date=today, issue_date=today,
            expiry_date=today + timedelta(days=3 * 365 - 1), scheme=found, revision=1,
        )
        certificate.revisions.append(CertificateRevision(
            tenant_id=cb_tenant.id, client_tenant_id=client_id, revision=1, issued_on=today, reason="initial",
            content=revision_content(certificate, client_tenant, cb_tenant, "Design and manufacture of widgets"),
        ))
        session.add(certificate)
        session.commit()
        return certificate.id


def change_certificate(app: Flask, certificate_id: uuid.UUID, status: str, *,
                       as_user: str | None = "certification_manager@cb-a.test") -> None:
    """What the certification service does: the new status and M2, in one transaction (``as_user`` None: a job)."""
    with app.app_context():
        session = db.session
        if as_user is None:
            with tenancy.system_scope(session):
                _change(session, certificate_id, status)
        else:
            act_as(as_user)
            _change(session, certificate_id, status)


def _change(session, certificate_id: uuid.UUID, status: str) -> None:  # type: ignore[no-untyped-def]
    certificate = session.get(Certificate, certificate_id)
    certificate.status = CertificateStatus(status)
    follow_certificate(session, certificate)
    session.commit()
