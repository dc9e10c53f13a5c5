"""The links worth opening in the demo world, read back from the database (so a second ``seed-demo`` prints the same
ones), and the landmarks they point at."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from grc import tenancy
from grc.certification.models import Certificate, CertificateStatus
from grc.demo import people
from grc.demo.certification import SHOP_DOMAIN
from grc.demo.organisations import CB_SLUG, OUTDOOR, SHOP
from grc.marks.models import MarkLicence
from grc.notifications.models import WebhookSubscription
from grc.risks.models import RiskRegister
from grc.tenants.models import Tenant

WEBHOOK_URL = "https://webhooks.example.invalid/grc"  # RFC 6761: .invalid never resolves, so nothing is delivered
WEBHOOK_HOST = "webhooks.example.invalid"
SHOP_REGISTER = "Example Shop: e-commerce risks"


@dataclass(frozen=True)
class Landmarks:
    active_certificate: str
    suspended_certificate: str
    licence: str
    shop_register: uuid.UUID


@dataclass(frozen=True)
class Link:
    title: str
    url: str
    note: str = ""


def landmarks(session: Session) -> Landmarks | None:
    """What the links point at; None until the whole world exists (its webhook subscription is made last)."""
    with tenancy.system_scope(session):
        cb = session.scalars(select(Tenant).where(Tenant.slug == CB_SLUG)).one_or_none()
        if cb is None or session.scalars(select(WebhookSubscription.id).where(
                WebhookSubscription.tenant_id == cb.id, WebhookSubscription.url == WEBHOOK_URL)).first() is None:
            return None
        active = _certificate(session, cb.id, SHOP, CertificateStatus.active)
        suspended = _certificate(session, cb.id, OUTDOOR, CertificateStatus.suspended)
        licence = session.scalars(select(MarkLicence.number).where(
            MarkLicence.tenant_id == cb.id, MarkLicence.client_tenant_id == _client(session, SHOP))).first()
        register = session.scalars(select(RiskRegister.id).where(RiskRegister.name == SHOP_REGISTER)).first()
    if active is None or suspended is None or licence is None or register is None:
        return None
    return Landmarks(active, suspended, licence, register)


def _client(session: Session, name: str) -> uuid.UUID | None:
    return session.scalars(select(Tenant.id).where(Tenant.name == name)).first()


def _certificate(session: Session, cb_id: uuid.UUID, client: str, status: CertificateStatus) -> str | None:
    return session.scalars(select(Certificate.number).where(
        Certificate.tenant_id == cb_id, Certificate.client_tenant_id == _client(session, client),
        Certificate.status == status)).first()


def links(found: Landmarks, base_url: str) -> list[Link]:
    base = base_url.rstrip("/")
    return [
        Link("verify the shop's active certificate", f"{base}/verify/{CB_SLUG}/{found.active_certificate}"),
        Link("verify the suspended certificate", f"{base}/verify/{CB_SLUG}/{found.suspended_certificate}"),
        Link("the shop's trust badge (SVG) on its licensed domain",
             f"{base}/badges/{found.licence}.svg?domain={SHOP_DOMAIN}"),
        Link("the badge page", f"{base}/badges/{found.licence}"),
        Link("the shop's risk heat map", f"{base}/api/v1/risk-registers/{found.shop_register}/heatmap",
             f"GET with the bearer token of {people.SHOP_RISK} (or {people.CB_ADMIN}: the register is shared)"),
        Link("the API reference (try it out with a demo login's token)", f"{base}/docs"),
    ]
