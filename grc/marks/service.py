"""Certification-mark licences (M1-M3): granting, their own status changes, following their certificates, and
the public view the badge, the verification page and the public JSON are built from.

M2, as one function: a licence's status is *derived* by ``_derived_status`` from its own state (withdrawn is
terminal; ``suspended_by_cb``) and its certificates' statuses, and ``follow_certificate`` re-derives it in the
transaction of every certificate status change (it subscribes to ``certificate.*``). Strict on purpose:

- withdrawn  if the CB withdrew it, or once every certificate it rests on is withdrawn or expired (terminal:
             a restored certificate needs a new licence);
- suspended  if the CB suspended it, or any of its certificates is not active;
- active     otherwise.
"""
from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, lazyload, selectinload

from grc import events, tenancy, viewcache
from grc.additions import Additions
from grc.api import paginate
from grc.audit_notes import name_action
from grc.certification.models import Certificate, CertificateStatus
from grc.certification.public import public_status, verify_path
from grc.db import utcnow
from grc.errors import Forbidden, InvalidField, NotFound, RuleViolation
from grc.events import publish
from grc.extensions import db
from grc.marks.models import LicenceStatus, MarkLicence, ProofMethod, ProofState, licence_certificates
from grc.tenancy import Principal
from grc.tenants import service as tenants
from grc.tenants.models import Tenant

MANAGER = "certification_manager"
PERMITTED_USES = ("website", "stationery", "advertising", "vehicles", "signage", "digital_documents", "social_media",
                  "trade_fair")
# Named so the refusal can say why; anything else outside PERMITTED_USES is refused too (M1).
NEVER_PERMITTED = ("product", "packaging", "test_report", "certificate_of_conformity", "calibration_certificate",
                   "inspection_report", "product_label")
ONLINE_USES_NEEDING_DOMAINS = ("website",)
NUMBER_PREFIX = "ML-"
NUMBER_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"  # base32: no 0/1/8/9, so no O/0 or I/1 confusion
NUMBER_LENGTH = 10  # 50 random bits
MAX_DOMAINS = 20
MAX_NUMBER_LENGTH = 40  # MarkLicence.number is String(40)
_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
GONE = (CertificateStatus.withdrawn, CertificateStatus.expired)
LOOKUP_LIMIT_SCOPE = "mark-licence-lookup"  # the public JSON, badge and page share one budget per client IP
# The cached public view's name; a new shape of PublicLicence gets a new one, so no process reads an entry pickled
# in the old shape (those lapse within viewcache.TTL). licence-v4: with the domains' proofs.
PUBLIC_VIEW = "licence-v4"


# --------------------------------------------------------------------------- granting (M1)


def grant(session: Session, data: dict[str, Any], *, caller: Principal) -> MarkLicence:
    """M1: a licence for one or more active certificates of one client, for permitted uses and online domains."""
    tenancy.check_roles(caller, MANAGER)
    client = tenants.visible_client(data["client_id"])
    if client is None:
        raise InvalidField("client_id", "not a client of this certification body")
    certificates = _grantable_certificates(session, caller.tenant_id, client.tenant.id, data["certificate_ids"])
    uses = check_permitted_uses(data["permitted_uses"])
    domains = [normalise_domain(d, field="domains") for d in data.get("domains") or []]
    domains = list(dict.fromkeys(domains))
    needing = [use for use in uses if use in ONLINE_USES_NEEDING_DOMAINS]
    if needing and not domains:
        raise InvalidField("domains", f"name the domains where the badge appears (needed for {', '.join(needing)})")
    licence = MarkLicence(
        client_tenant_id=client.tenant.id, number=_new_number(session), status=LicenceStatus.active,
        suspended_by_cb=False, permitted_uses=uses, domains=domains, granted_on=utcnow().date(),
        granted_by=caller.person_id, certificates=certificates,
    )
    session.add(licence)
    name_action(session, licence, "mark_licence.granted")
    session.flush()
    publish(session, "mark_licence.granted", _event(licence), tenant_id=licence.tenant_id)
    return licence


def _grantable_certificates(session: Session, cb_id: uuid.UUID, client_id: uuid.UUID,
                            ids: list[uuid.UUID]) -> list[Certificate]:
    wanted = list(dict.fromkeys(ids))
    found = {c.id: c for c in session.scalars(select(Certificate).where(Certificate.id.in_(wanted)))}
    problems = []
    for cert_id in wanted:
        cert = found.get(cert_id)
        if cert is None or cert.tenant_id != cb_id or cert.client_tenant_id != client_id:
            problems.append(f"{cert_id} is not a certificate this certification body issued to the client")
        elif cert.status != CertificateStatus.active:
            problems.append(f"{cert.number} is {cert.status.value}; a licence rests on active certificates (M1)")
    if problems:
        raise InvalidField("certificate_ids", "; ".join(problems))
    return [found[cert_id] for cert_id in wanted]


def check_permitted_uses(uses: list[str]) -> list[str]:
    """M1: only the listed uses; products, packaging, test reports (anything marking a product) never."""
    uses = list(dict.fromkeys(u.strip().lower() for u in uses))
    refused = [u for u in uses if u not in PERMITTED_USES]
    if refused:
        error = InvalidField(
            "permitted_uses",
            f"not permitted: {', '.join(refused)}. Rule M1: the certification mark of a management-system "
            f"certificate is never used on anything that marks a product ({', '.join(NEVER_PERMITTED)}); "
            f"permitted uses are {', '.join(PERMITTED_USES)}",
        )
        error.rule = "M1"
        raise error
    return uses


def normalise_domain(value: str, *, field: str) -> str:
    """A hostname, lower-cased, without a trailing dot; internationalised names as their A-label (punycode)."""
    host = _hostname(value)
    if host is None:
        raise InvalidField(field, f"'{value[:100]}' is not a hostname (e.g. example.com; subdomains are included)")
    return host


def _hostname(value: str) -> str | None:
    host = value.strip().lower().rstrip(".")
    try:
        host = host.encode("idna").decode("ascii")
    except (UnicodeError, ValueError):
        return None
    labels = host.split(".")
    if len(host) > 253 or len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        return None
    return None if labels[-1].isdigit() else host


# The CB that issued a licence number (numbers are public and unique across CBs).
LICENCE_BY_NUMBER = tenancy.Crossing("grc_tenant_of_mark_licence",
                                     select(MarkLicence.tenant_id).where(MarkLicence.number == bindparam("key")))


def _new_number(session: Session) -> str:
    """Public, globally unique and unguessable (50 random bits); the unique index is the final word."""
    while True:
        number = NUMBER_PREFIX + "".join(secrets.choice(NUMBER_ALPHABET) for _ in range(NUMBER_LENGTH))
        if tenancy.tenant_of(session, LICENCE_BY_NUMBER, number) is None:
            return number


# --------------------------------------------------------------------------- the licence's own changes (M2)


def suspend(session: Session, licence: MarkLicence, reason: str, *, caller: Principal) -> MarkLicence:
    """M2: the CB suspends the licence itself (whatever its certificates say)."""
    _check_owner(licence, caller)
    if licence.status == LicenceStatus.withdrawn or licence.suspended_by_cb:
        raise RuleViolation(f"The licence is already {_own_state(licence)}.", rule="M2")
    licence.suspended_by_cb = True
    return _change(session, licence, _derived_status(licence), reason, "suspended")


def restore(session: Session, licence: MarkLicence, reason: str, *, caller: Principal) -> MarkLicence:
    """M2: lift the CB's own suspension; possible only while every certificate of the licence is active."""
    _check_owner(licence, caller)
    if licence.status == LicenceStatus.withdrawn or not licence.suspended_by_cb:
        raise RuleViolation(
            "Only a licence the certification body suspended itself is restored; one suspended because of its "
            "certificates follows them.", rule="M2")
    blocking = [c for c in licence.certificates if c.status != CertificateStatus.active]
    if blocking:
        listed = ", ".join(f"{c.number} ({c.status.value})" for c in blocking)
        raise RuleViolation(f"The licence cannot be restored while its certificates are not active: {listed}.",
                            rule="M2")
    licence.suspended_by_cb = False
    return _change(session, licence, _derived_status(licence), reason, "restored")


def withdraw(session: Session, licence: MarkLicence, reason: str, *, caller: Principal) -> MarkLicence:
    """M2: the CB withdraws the licence; withdrawn is terminal."""
    _check_owner(licence, caller)
    if licence.status == LicenceStatus.withdrawn:
        raise RuleViolation("The licence is already withdrawn (terminal).", rule="M2")
    return _change(session, licence, LicenceStatus.withdrawn, reason, "withdrawn")


def _check_owner(licence: MarkLicence, caller: Principal) -> None:
    tenancy.check_roles(caller, MANAGER)
    if caller.tenant_id != licence.tenant_id:
        raise Forbidden("Only the certification body that granted the licence changes it.")


def _own_state(licence: MarkLicence) -> str:
    return "withdrawn" if licence.status == LicenceStatus.withdrawn else "suspended by the certification body"


def _change(session: Session, licence: MarkLicence, status: LicenceStatus, reason: str, verb: str) -> MarkLicence:
    licence.status = status
    licence.status_reason = reason
    name_action(session, licence, f"mark_licence.{verb}")
    session.flush()
    publish(session, f"mark_licence.{status.value}", _event(licence), tenant_id=licence.tenant_id)
    return licence


# --------------------------------------------------------------------------- following the certificates (M2)


@events.on("certificate.*")
def certificate_changed(event: events.Event) -> None:
    """M2: a certificate's status change (its event carries the certificate; reminders carry none) moves the
    licences resting on it, in the transaction of the change."""
    if isinstance(event.subject, Certificate):
        follow_certificate(event.session, event.subject)


def follow_certificate(session: Session, certificate: Certificate) -> None:
    """M2: every licence resting on ``certificate`` re-derives its status, in the caller's transaction.

    Run for every certificate status change (CB users: the licences are the CB's own rows; jobs: system scope).
    A licence whose status does not change is not written.
    """
    stmt = (select(MarkLicence)
            .join(licence_certificates, licence_certificates.c.licence_id == MarkLicence.id)
            .where(licence_certificates.c.certificate_id == certificate.id)
            .order_by(MarkLicence.id))
    with session.no_autoflush:  # the links do not change here; a sweep flushes its whole batch once
        licences = list(session.scalars(stmt).unique())
    for licence in licences:
        status = _derived_status(licence)
        if status == licence.status:
            continue
        licence.status = status
        licence.status_reason = f"Certificate {certificate.number} is {certificate.status.value}."
        name_action(session, licence, f"mark_licence.{status.value}")
        session.flush()
        publish(session, f"mark_licence.{status.value}", _event(licence) | {"certificate_id": str(certificate.id)},
                tenant_id=licence.tenant_id)


def _derived_status(licence: MarkLicence, statuses: list[CertificateStatus] | None = None) -> LicenceStatus:
    """M2 (see the module docstring); ``statuses`` replaces the certificates' stored statuses (public view)."""
    if licence.status == LicenceStatus.withdrawn:
        return LicenceStatus.withdrawn
    statuses = [c.status for c in licence.certificates] if statuses is None else statuses
    if statuses and all(s in GONE for s in statuses):
        return LicenceStatus.withdrawn
    if licence.suspended_by_cb or any(s != CertificateStatus.active for s in statuses):
        return LicenceStatus.suspended
    return LicenceStatus.active


# --------------------------------------------------------------------------- reading


def list_licences(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    """A page of licences; each certificate shows its number, standard and status, so its revisions and history
    (which grow with every reissue and status change) are not loaded."""
    stmt = select(MarkLicence).options(selectinload(MarkLicence.certificates).options(
        lazyload(Certificate.revisions), lazyload(Certificate.history)))
    if args.get("client_id"):
        stmt = stmt.where(MarkLicence.client_tenant_id == args["client_id"])
    if args.get("status"):
        stmt = stmt.where(MarkLicence.status == args["status"])
    if args.get("certificate_id"):
        with_certificate = select(licence_certificates.c.licence_id).where(
            licence_certificates.c.certificate_id == args["certificate_id"])
        stmt = stmt.where(MarkLicence.id.in_(with_certificate))
    return paginate(session, stmt, args, [MarkLicence.id])


@tenancy.path_resource("licence_id")
def visible_licence(licence_id: uuid.UUID) -> MarkLicence | None:
    """The CB that granted it and the licensed client see a licence; anyone else gets 404."""
    return db.session.get(MarkLicence, licence_id)


def _event(licence: MarkLicence) -> dict[str, Any]:
    return {"licence_id": str(licence.id), "number": licence.number, "status": licence.status.value,
            "client_id": str(licence.client_tenant_id), "reason": licence.status_reason}


# --------------------------------------------------------------------------- the public view (M3)

STATE_WORDS = {
    LicenceStatus.active: "VALID", LicenceStatus.suspended: "SUSPENDED", LicenceStatus.withdrawn: "WITHDRAWN",
}


@dataclass(frozen=True)
class PublicCertificate:
    number: str
    standard: str
    status: str
    verify_url: str


@dataclass(frozen=True)
class PublicDomainProof:
    domain: str
    state: ProofState
    method: ProofMethod | None
    proven_at: datetime | None
    last_checked_at: datetime | None


@dataclass(frozen=True)
class PublicLicence:
    """Only what anyone may know about a licence (M3); built in system scope from public fields alone."""

    number: str
    status: str
    client_name: str
    cb_name: str
    standards: list[str]
    certificates: list[PublicCertificate]
    permitted_uses: list[str]
    domains: list[str]
    domain_proofs: list[PublicDomainProof]
    granted_on: date
    valid_until: date | None  # the first expiry of its certificates, when the licence stops being valid

    @property
    def state_word(self) -> str:
        return STATE_WORDS[LicenceStatus(self.status)]

    def allows_host(self, host: str) -> bool:
        """M3: the badge may appear on a licensed domain or any of its subdomains."""
        return self.domain_of(host) is not None

    def domain_of(self, host: str) -> str | None:
        """The licensed domain ``host`` is, or is a subdomain of (the longest if several are)."""
        matching = [domain for domain in self.domains if host == domain or host.endswith("." + domain)]
        return max(matching, key=len) if matching else None

    def is_proven(self, host: str) -> bool:
        """V4: ``host`` is a licensed domain, or a subdomain of one, that the licensee proved it controls."""
        return any(proof.state == ProofState.proven and (host == proof.domain or host.endswith("." + proof.domain))
                   for proof in self.domain_proofs)


# What higher domains add to the public licence check (the credentials domain: the signed licence, ``credential``).
PUBLIC_LICENCE_ADDITIONS: Additions[str] = Additions()


def public_licence_answer(session: Session, number: str) -> dict[str, Any]:
    """``GET /public/mark-licences/{number}``: the public view and what higher domains add to it."""
    return {**asdict(public_licence(session, number)), **PUBLIC_LICENCE_ADDITIONS.of(session, number)}


def public_licence(session: Session, number: str) -> PublicLicence:
    """The public view of the licence with this number; NotFound if there is none. From the public cache when a
    lookup made it since the licence or its CB's certificates last changed (grc.viewcache).

    Certificates show their public status (an active one past its expiry date is expired even before the daily
    sweep wrote it), and the licence's status is derived from those, so a badge never says VALID for a lapse.
    """
    number = number.strip().upper()
    if not number.startswith(NUMBER_PREFIX) or len(number) > MAX_NUMBER_LENGTH or "\x00" in number:
        raise NotFound("No mark licence with this number.")
    view = viewcache.cached(session, PUBLIC_VIEW, number, lambda: _load_public_licence(session, number))
    if view is None:
        raise NotFound("No mark licence with this number.")
    return view


def _load_public_licence(session: Session, number: str) -> tuple[tuple[uuid.UUID], PublicLicence] | None:
    cb_id = tenancy.tenant_of(session, LICENCE_BY_NUMBER, number)
    if cb_id is None:
        return None
    with tenancy.within(session, cb_id, tenancy.CERTIFICATION_BODY):
        licence = session.scalars(select(MarkLicence).where(MarkLicence.number == number).options(
            selectinload(MarkLicence.certificates).lazyload(Certificate.history))  # the public never sees history
        ).one_or_none()
        if licence is None:
            return None
        cb = session.get_one(Tenant, licence.tenant_id)
        client = session.get_one(Tenant, licence.client_tenant_id)
        certs = sorted(licence.certificates, key=lambda c: c.number)
        statuses = [public_status(c) for c in certs]
        content = certs[0].current.content if certs and certs[0].revisions else {}
        shown = [PublicCertificate(number=c.number, standard=c.scheme.standard, status=status.value,
                                   verify_url=verify_path(cb.slug, c.number))
                 for c, status in zip(certs, statuses, strict=True)]
        return (licence.tenant_id,), PublicLicence(
            number=licence.number, status=_derived_status(licence, statuses).value,
            client_name=str(content.get("client_legal_name") or content.get("client_name") or client.name),
            cb_name=cb.name,
            standards=list(dict.fromkeys(c.standard for c in shown)),
            certificates=shown, permitted_uses=list(licence.permitted_uses), domains=list(licence.domains),
            domain_proofs=[PublicDomainProof(p.domain, p.state, p.method, p.proven_at, p.last_checked_at)
                           for p in licence.domain_proofs],
            granted_on=licence.granted_on, valid_until=min((c.expiry_date for c in certs), default=None),
        )


def host_of(value: str | None) -> str | None:
    """The hostname of a ``?domain=`` value or a Referer URL, normalised; None if there is none to check."""
    if not value:
        return None
    text = value.strip()[:2000]
    if "://" in text:
        text = text.split("://", 1)[1]
    text = text.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0].rsplit("@", 1)[-1]
    if text.startswith("["):  # an IPv6 literal is never a licensed domain
        return text.split("]", 1)[0] + "]"
    text = text.split(":", 1)[0]
    return _hostname(text) or (text.lower()[:253] or None)
