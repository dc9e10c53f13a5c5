"""Building the demo world once, recognising it, and rebuilding a database that holds nothing else (``--reset``)."""
from __future__ import annotations

from dataclasses import replace
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from grc import tenancy
from grc.auth.models import User
from grc.config import Settings
from grc.db import utcnow
from grc.dbmigrate import downgrade, upgrade
from grc.demo import people
from grc.demo.certification import certify
from grc.demo.identity import IDENTITY_PROVIDER_HOST, ShownOnce, secure_sign_in
from grc.demo.links import WEBHOOK_HOST, WEBHOOK_URL, landmarks
from grc.demo.organisations import CB_SLUG, CLIENTS, load, onboard
from grc.demo.people import DEMO_LOGINS, DEMO_PASSWORD, Cast, ensure_platform_admin
from grc.demo.risks import build_registers
from grc.jobs.job_functions import relay_outbox
from grc.tenants.models import Tenant
from grc.webhooks import service as webhooks
from grc.webhooks.schemas import WebhookCreateSchema

DEMO_TENANTS = frozenset({"grc platform", "Acme Certification", *CLIENTS})
DEMO_EMAILS = frozenset(login.email for login in DEMO_LOGINS)
WEBHOOK_EVENTS = ["certificate.granted", "certificate.suspended", "certificate.restored", "certificate.withdrawn",
                  "certificate.expired", "finding.response_submitted", "finding.implemented",
                  "mark_licence.suspended", "mark_licence.withdrawn", "surveillance.overdue"]  # the CB's side


class DemoError(Exception):
    """The database is not what ``seed-demo`` may work on; the message says why and what to do."""


def seeding_settings(settings: Settings) -> Settings:
    """The settings to seed with: the operator's, with the demo webhook's host and the CB's identity provider's
    allowed by name. The names are under ``.invalid`` (RFC 6761), which resolves nowhere, so allowing them lets
    nothing in; the server that serves the demo refuses the deliveries ("does not resolve") unless its operator lists
    it too, and either way no call leaves the machine (the provider is switched off besides)."""
    allowed = ",".join(filter(None, (settings.webhook_allowed_hosts, WEBHOOK_HOST, IDENTITY_PROVIDER_HOST)))
    return replace(settings, webhook_allowed_hosts=allowed)


def seed_demo(session: Session, today: date | None = None) -> ShownOnce | None:
    """Build the demo world unless it exists; returns what it shows once when it built it (None: it existed). A
    database holding an unfinished or older demo (the CB without the world) is refused: ``reset_demo`` first."""
    ensure_platform_admin(session, people.PLATFORM_ADMIN, DEMO_PASSWORD)
    session.commit()
    if landmarks(session) is not None:
        return None
    with tenancy.system_scope(session):
        if session.scalars(select(Tenant.id).where(Tenant.slug == CB_SLUG)).first() is not None:
            raise DemoError("the database holds an unfinished or older demo world: rebuild it with "
                            "`grc seed-demo --reset` (`.venv/bin/grc seed-demo --reset` beside dev.py)")
    today = today or utcnow().date()
    cast = Cast(session)
    organisations = onboard(session, cast)
    session.commit()
    certify(session, cast, organisations, today)
    session.commit()
    build_registers(session, cast, organisations.cb_id, today)
    shown = secure_sign_in(session, cast)
    session.commit()
    while relay_outbox().get("dispatched"):  # the inboxes, as the relay job after each commit would fill them
        pass
    cast.act(people.CB_ADMIN)  # last, so none of the events above is sent: the world is complete once it exists
    webhooks.create_subscription(session, load(WebhookCreateSchema, {
        "url": WEBHOOK_URL, "event_types": WEBHOOK_EVENTS,
        "description": "Demo receiver: a .invalid host, so every delivery fails and is retried (see the log)"}))
    session.commit()
    return shown


def reset_demo(session: Session, secret_key: str) -> None:
    """Rebuild the database from nothing, after checking that it holds the demo and nothing else (only demo tenants
    and demo users). The audit trail is append-only in the database itself, so no row of it is deleted: the schema
    is migrated down to empty and up again (``secret_key`` proves the API's tenant scopes, as ``grc db upgrade``).
    Cached views of the old world never show again: their owners' view versions are gone with it."""
    with tenancy.system_scope(session):
        strangers = sorted(set(session.scalars(select(User.email))) - DEMO_EMAILS) + sorted(
            set(session.scalars(select(Tenant.name))) - DEMO_TENANTS)
    if strangers:
        raise DemoError("--reset rebuilds only a database that holds the demo and nothing else; this one also "
                        f"holds: {', '.join(strangers[:5])}{' ...' if len(strangers) > 5 else ''}")
    engine = session.get_bind().engine  # the owner's, as the CLI and the jobs connect
    url = engine.url.render_as_string(hide_password=False)
    session.close()
    engine.dispose()
    downgrade(url, "base")
    upgrade(url, "head", secret_key=secret_key)
