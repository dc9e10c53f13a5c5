"""Public certificate verification (C10): anyone checks a certificate by its CB and number, without logging in.

The lookup runs in system scope and picks its row itself: a certification body (by slug) and one of its
certificates (by number). A certificate row exists only once a decision granted it (drafts and refusals never
become certificates), so every row is findable. Only the public fields leave this module: status, client name
and country, scheme, scope, sites (name, country, scope: no street address), dates, CB name and slug. No ids,
no tenant ids, no history, no reasons.
"""
from __future__ import annotations

import uuid
from datetime import date
from typing import Any
from urllib.parse import quote

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session, lazyload

from grc import tenancy, viewcache
from grc.certification.models import Certificate, CertificateStatus
from grc.config import Settings
from grc.db import utcnow
from grc.tenants.models import Tenant
from grc.tenants.service import CB_BY_SLUG

MAX_NUMBER_LENGTH = 80  # Certificate.number is String(80)
MAX_SLUG_LENGTH = 63

# The documented public shape; tests compare response key sets with these, nested too.
PUBLIC_FIELDS = frozenset({
    "number", "status", "client_name", "client_country", "standard", "scheme_title", "scope", "sites",
    "effective_date", "original_issue_date", "expiry_date", "cb_name", "cb_slug", "verified_at", "credential_url",
})
PUBLIC_SITE_FIELDS = frozenset({"name", "country", "scope"})

# What the verification page says, in plain words.
STATUS_WORDS = {
    CertificateStatus.active: "VALID",
    CertificateStatus.suspended: "SUSPENDED",
    CertificateStatus.withdrawn: "WITHDRAWN",
    CertificateStatus.expired: "EXPIRED",
}


def public_status(certificate: Certificate, today: date | None = None) -> CertificateStatus:
    """The status to show the public: an active certificate past its expiry date is expired, even before the
    daily sweep (J2) has written that down, so nobody is told "valid" about a lapsed certificate."""
    today = today or utcnow().date()
    if certificate.status == CertificateStatus.active and certificate.expiry_date < today:
        return CertificateStatus.expired
    return CertificateStatus(certificate.status)


def find_public(session: Session, cb_slug: str, number: str) -> dict[str, Any] | None:
    """The public view of certificate ``number`` of the CB ``cb_slug``, or None (unknown CB or number); from the
    public cache when a lookup made it since the certificate last changed (grc.viewcache)."""
    if not plausible(cb_slug, MAX_SLUG_LENGTH) or not plausible(number, MAX_NUMBER_LENGTH):
        return None
    slug = cb_slug.lower()
    view = viewcache.cached(session, "certificate", f"{slug}/{number}", lambda: _load_public(session, slug, number))
    return None if view is None else {**view, "verified_at": utcnow()}


def _load_public(session: Session, cb_slug: str, number: str) -> tuple[tuple[uuid.UUID], dict[str, Any]] | None:
    cb_id = tenancy.tenant_of(session, CB_BY_SLUG, cb_slug)
    if cb_id is None:
        return None
    with tenancy.within(session, cb_id, tenancy.CERTIFICATION_BODY):
        cb = session.get_one(Tenant, cb_id)
        certificate = session.scalars(
            select(Certificate).where(Certificate.tenant_id == cb.id, Certificate.number == number)
            .options(lazyload(Certificate.history))  # never shown to the public
        ).one_or_none()
        if certificate is None or not certificate.revisions:
            return None
        return (cb.id,), _public_view(cb, certificate)


def plausible(value: str, max_length: int) -> bool:
    """Refuse what cannot name a row before the database sees it (PostgreSQL rejects U+0000 in text)."""
    return bool(value) and len(value) <= max_length and "\x00" not in value


def _public_view(cb: Tenant, certificate: Certificate) -> dict[str, Any]:
    return {
        **public_content(certificate),
        "status": public_status(certificate).value,
        "cb_name": cb.name,
        "cb_slug": cb.slug,
        "credential_url": public_url(credential_path(cb.slug, certificate.number)),
    }


def public_content(certificate: Certificate) -> dict[str, Any]:
    """What the certificate states (ISO/IEC 17021-1 8.2.2, C10) as of its current revision, without its status:
    the public check shows it, and the certificate's credential (grc.credentials) states exactly it."""
    content = certificate.current.content
    return {
        "number": certificate.number,
        "client_name": content.get("client_name"),
        "client_country": content.get("client_country"),
        "standard": content.get("standard") or certificate.scheme.standard,
        "scheme_title": content.get("scheme_title") or certificate.scheme.title,
        "scope": content.get("scope"),
        "sites": [
            {"name": site.get("name"), "country": site.get("country"), "scope": site.get("scope")}
            for site in content.get("sites") or []
        ],
        "effective_date": _date(content.get("effective_date")) or certificate.issue_date,
        "original_issue_date": certificate.original_issue_date,
        "expiry_date": certificate.expiry_date,
    }


def _date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def verify_path(cb_slug: str, number: str) -> str:
    """The human verification page of a certificate (printed as a QR code on the certificate itself)."""
    return f"/verify/{quote(cb_slug, safe='')}/{quote(number, safe='/')}"


def credential_path(cb_slug: str, number: str) -> str:
    """The certificate's signed credential (V2), served by grc.credentials: linked from the public check, the
    verification page and the PDF."""
    return f"/api/v1/public/certificates/{quote(cb_slug, safe='')}/{quote(number, safe='/')}/credential"


def public_url(path: str) -> str:
    """``path`` under the public base URL (``GRC_PUBLIC_BASE_URL``), as links handed to the public are written."""
    settings: Settings = current_app.config["GRC_SETTINGS"]
    return settings.public_base_url.rstrip("/") + path


LOOKUP_LIMIT_SCOPE = "certificate-lookup"  # the JSON lookup and the HTML page share one budget per client IP


def lookup_rate_limit() -> str:
    """Settings.public_rate_limit, read per request so a test (or an operator reload) can change it."""
    settings: Settings = current_app.config["GRC_SETTINGS"]
    return settings.public_rate_limit
