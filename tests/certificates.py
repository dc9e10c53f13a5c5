"""A small factory of certificates for tests that only read them (verification, documents).

Rows are inserted through the ORM in system scope, shaped as grc.certification.service writes them (a
Certificate and its CertificateRevision rows, whose ``content`` holds what the certificate shows). It may later
be switched to the real decision API; callers only rely on the returned ``Issued``.
"""
from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from flask import Flask

from grc import tenancy
from grc.certification.models import Certificate, CertificateRevision, CertificateStatus
from grc.extensions import db
from grc.schemes.catalogue import scheme_id
from grc.schemes.models import Scheme
from grc.tenants.models import Tenant

_numbers = itertools.count(1)

SITES = [
    {"name": "Head office", "address": "1 rue du Test, 75001 Paris", "country": "FR",
     "scope": "Design and manufacture of precision valves"},
    {"name": "Lyon plant", "address": "7 quai Secret, 69002 Lyon", "country": "FR",
     "scope": "Manufacture of precision valves"},
]


@dataclass
class Issued:
    id: uuid.UUID
    number: str
    cb_slug: str
    status: str
    content: dict[str, Any]
    superseded: list[dict[str, Any]] = field(default_factory=list)


def issue_certificate(
    app: Flask,
    world: Any,
    *,
    cb: str = "cb-a",
    client: str = "client-a",
    status: str = "active",
    scope: str = "Design and manufacture of precision valves",
    sites: list[dict[str, Any]] | None = None,
    issued_on: date | None = None,
    expiry_date: date | None = None,
    earlier_scopes: tuple[str, ...] = (),
    number: str | None = None,
) -> Issued:
    """A certificate of ``cb`` for ``client`` (ISO 9001:2015) in ``status``; ``earlier_scopes`` adds superseded
    revisions before the current one."""
    today = date.today()
    issued_on = issued_on or today - timedelta(days=30)
    expiry_date = expiry_date or issued_on + timedelta(days=3 * 365 - 1)
    original = issued_on - timedelta(days=10 * len(earlier_scopes))
    with app.app_context(), tenancy.system_scope(db.session):
        session = db.session
        cb_tenant = session.get(Tenant, world.tenants[cb])
        client_tenant = session.get(Tenant, world.tenants[client])
        scheme = session.get(Scheme, scheme_id("ISO 9001", "2015"))
        number = number or f"{cb_tenant.slug.upper()}-ISO9001-{issued_on.year}-{next(_numbers):05d}"
        certificate = Certificate(
            tenant_id=cb_tenant.id, client_tenant_id=client_tenant.id, scheme_id=scheme.id, number=number,
            status=CertificateStatus(status), original_issue_date=original, issue_date=issued_on,
            expiry_date=expiry_date, revision=len(earlier_scopes) + 1,
            suspended_on=today - timedelta(days=2) if status == "suspended" else None,
            suspended_until=today + timedelta(days=60) if status == "suspended" else None,
        )
        session.add(certificate)
        session.flush()
        contents = []
        for index, revision_scope in enumerate((*earlier_scopes, scope), start=1):
            current = index == len(earlier_scopes) + 1
            effective = issued_on if current else original + timedelta(days=10 * (index - 1))
            content = _content(certificate, cb_tenant, client_tenant, scheme, revision_scope, sites, effective, index)
            contents.append(content)
            session.add(CertificateRevision(
                tenant_id=cb_tenant.id, client_tenant_id=client_tenant.id, certificate_id=certificate.id,
                revision=index, issued_on=effective, reason="initial certification" if index == 1 else "reissue",
                superseded_on=None if current else effective + timedelta(days=10), content=content,
            ))
        session.commit()
        return Issued(certificate.id, number, cb_tenant.slug, status, contents[-1], contents[:-1])


def _content(certificate: Certificate, cb: Tenant, client: Tenant, scheme: Scheme, scope: str,
             sites: list[dict[str, Any]] | None, effective: date, revision: int) -> dict[str, Any]:
    chosen = SITES if sites is None else sites
    return {
        "number": certificate.number, "client_name": client.name, "client_legal_name": client.legal_name or client.name,
        "client_country": client.country, "client_address": client.address,
        "sites": [{**site, "scope": site.get("scope") or scope} for site in chosen],
        "scope": scope, "standard": scheme.standard, "scheme_title": scheme.title,
        "effective_date": effective.isoformat(), "expiry_date": certificate.expiry_date.isoformat(),
        "original_issue_date": certificate.original_issue_date.isoformat(), "revision": revision,
        "cb_name": cb.name, "cb_slug": cb.slug,
    }
