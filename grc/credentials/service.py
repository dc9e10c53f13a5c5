"""Certificates anyone can verify without trusting our pages (V2, V3): every certificate revision is a W3C
Verifiable Credential (Data Model 2.0, secured as a compact JWS, ``vc+jwt``, EdDSA) signed by its certification
body, and each CB publishes two signed Bitstring Status Lists, ``revocation`` and ``suspension``.

- Issued at the change: ``certificate_changed`` subscribes to ``certificate.*`` (grc.events) and runs in the
  transaction of every grant, renewal, scope change, restoration, transfer, suspension and withdrawal. It gives the
  certificate its status entry once (an index drawn at random, the same in both lists), sets its two bits from
  its status, and signs a credential for the current revision if it has none. So a bit flips, and a new revision
  is signed, in the transaction that changes the certificate, and rolls back with it.
- The bits are a function of the status: revocation = withdrawn, suspension = suspended. A withdrawn
  certificate's suspension bit is therefore cleared (withdrawal is terminal and the revocation bit says it all; a
  list state that depends only on the current status is the same whether the bits were flipped live or set at a
  later first issue). Expiry sets no bit: the credential's ``validUntil`` says it.
- Certificates that existed before credentials (and rows loaded in bulk, e.g. the benchmark's data set) get their
  entry and credential at their first public read, the same function in the CB's scope.
- Mark licences get the same treatment in ``grc.credentials.licences``, with entries of their own in the same lists.
- Serving is a cached read (grc.viewcache, like the public check): the stored credential; the list built from the
  set bits and signed when it is loaded, so a served list is never older than the last committed change.
"""
from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, lazyload

from grc import events, tenancy, viewcache
from grc.certification.models import Certificate, CertificateStatus
from grc.certification.public import (
    MAX_NUMBER_LENGTH,
    MAX_SLUG_LENGTH,
    credential_path,
    plausible,
    public_content,
    public_url,
)
from grc.credentials import bitstring
from grc.credentials.models import CertificateCredential, StatusEntry
from grc.db import Base, utcnow
from grc.signing import service as signing
from grc.tenants.models import Tenant
from grc.tenants.service import CB_BY_SLUG

CREDENTIALS_V2 = "https://www.w3.org/ns/credentials/v2"
CERTIFICATE_CREDENTIAL = "ManagementSystemCertificateCredential"
MEDIA_TYPE = "application/vc+jwt"
REVOCATION, SUSPENSION = "revocation", "suspension"
PURPOSES = (REVOCATION, SUSPENSION)
# Certificate events that change neither a bit nor the revision: nothing to do (the daily sweep sends many).
UNCHANGED_BY = frozenset({"certificate.expired", "certificate.flagged_for_withdrawal"})
MAX_DRAWS = 32  # each draw hits a free index at least half the time (bitstring.draw_length): 2**-32 to fail
Row = TypeVar("Row", bound=Base)


# --------------------------------------------------------------------------- issuing, in the change's transaction


@events.on("certificate.*")
def certificate_changed(event: events.Event) -> None:
    """V2, V3: a certificate's change (its event carries the certificate; reminders carry none) sets its status bits
    and signs its new revision, in the transaction of the change."""
    if isinstance(event.subject, Certificate) and event.topic not in UNCHANGED_BY:
        keep_up(event.session, event.subject)


def keep_up(session: Session, certificate: Certificate) -> tuple[StatusEntry, CertificateCredential]:
    """The certificate's status entry, with the bits its status says, and the credential of its current revision,
    signed now if it has none yet; in the caller's transaction and the certificate's CB's scope."""
    entry = status_entry(session, certificate.tenant_id, {"certificate_id": certificate.id})
    set_bits(entry, revoked=certificate.status == CertificateStatus.withdrawn,
             suspended=certificate.status == CertificateStatus.suspended)
    found = _credential_of(session, certificate.id, certificate.revision)
    return entry, found or _issue(session, certificate, entry)


def set_bits(entry: StatusEntry, *, revoked: bool, suspended: bool) -> None:
    """V3: the entry's two bits, written only if they change."""
    if (entry.revoked, entry.suspended) != (revoked, suspended):  # an unchanged row stays clean: no view goes stale
        entry.revoked, entry.suspended = revoked, suspended


def status_entry(session: Session, cb_id: uuid.UUID, owner: dict[str, uuid.UUID]) -> StatusEntry:
    """The entry of ``owner`` (``{"certificate_id": ...}`` or ``{"mark_licence_id": ...}``), or a new one at an index
    drawn at random among the CB's free ones. Two transactions drawing the same index meet on the unique
    constraint: the loser draws again (in a savepoint, so its transaction goes on)."""

    def existing() -> StatusEntry | None:
        return session.scalars(select(StatusEntry).filter_by(**owner)).one_or_none()

    found = existing()
    if found is not None:
        return found
    in_use = session.scalar(select(func.count()).select_from(StatusEntry).where(StatusEntry.tenant_id == cb_id)) or 0
    length = bitstring.draw_length(in_use + 1)
    for _ in range(MAX_DRAWS):
        entry = StatusEntry(tenant_id=cb_id, list_index=secrets.randbelow(length), **owner)
        inserted = insert_once(session, entry, existing)
        if inserted is not None:
            return inserted
    raise RuntimeError(f"no free status list index found in {MAX_DRAWS} draws")


def _issue(session: Session, certificate: Certificate, entry: StatusEntry) -> CertificateCredential:
    """Sign the credential of the certificate's current revision with its CB's current key (grc.signing)."""
    cb = session.get_one(Tenant, certificate.tenant_id)
    token = signing.sign(session, cb.id, credential_claims(cb, certificate, entry))
    credential = CertificateCredential(tenant_id=cb.id, certificate_id=certificate.id,
                                       revision=certificate.revision, token=token)
    stored = insert_once(session, credential,
                         lambda: _credential_of(session, certificate.id, certificate.revision))
    if stored is None:
        raise RuntimeError("the credential of a certificate revision was neither stored nor found")
    return stored


def insert_once(session: Session, row: Row, existing: Callable[[], Row | None]) -> Row | None:
    """Insert ``row`` in a savepoint; if a unique constraint refuses it, the row another transaction committed
    first (``existing``), or None when the clash was on something else (a drawn index taken)."""
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return existing()
    return row


def _credential_of(session: Session, certificate_id: uuid.UUID, revision: int) -> CertificateCredential | None:
    return session.scalars(select(CertificateCredential).where(
        CertificateCredential.certificate_id == certificate_id, CertificateCredential.revision == revision,
    )).one_or_none()


# --------------------------------------------------------------------------- what is signed


def credential_claims(cb: Tenant, certificate: Certificate, entry: StatusEntry) -> dict[str, Any]:
    """The certificate's current revision as a VC 2.0 credential: exactly the public content (C10, ISO/IEC 17021-1
    8.2.2), valid from the revision's issue to the end of the expiry date, with its two status entries."""
    issuer = signing.issuer(cb)
    return {
        "@context": [CREDENTIALS_V2],
        "id": f"{public_url(credential_path(cb.slug, certificate.number))}?revision={certificate.revision}",
        "type": ["VerifiableCredential", CERTIFICATE_CREDENTIAL],
        "issuer": issuer,
        "validFrom": instant(certificate.current.issued_on, time.min),
        "validUntil": instant(certificate.expiry_date, time(23, 59, 59)),
        "credentialSubject": credential_subject(certificate),
        "credentialStatus": [status_claim(issuer, purpose, entry.list_index) for purpose in PURPOSES],
    }


def credential_subject(certificate: Certificate) -> dict[str, Any]:
    """The certified organisation and what its certificate states: the public check's fields, nothing else (no
    legal name, street address, ids or reasons)."""
    shown = public_content(certificate)
    return {
        "name": shown["client_name"],
        "country": shown["client_country"],
        "certificateNumber": shown["number"],
        "standard": shown["standard"],
        "schemeTitle": shown["scheme_title"],
        "scope": shown["scope"],
        "sites": shown["sites"],
        "originalIssueDate": shown["original_issue_date"].isoformat(),
        "effectiveDate": shown["effective_date"].isoformat(),
        "expiryDate": shown["expiry_date"].isoformat(),
    }


def status_list_url(issuer: dict[str, str], purpose: str) -> str:
    """Where the CB's list for ``purpose`` is published: under its issuer id, next to its JWKS."""
    return f"{issuer['id']}/status-lists/{purpose}"


def status_claim(issuer: dict[str, str], purpose: str, index: int) -> dict[str, str]:
    url = status_list_url(issuer, purpose)
    return {"id": f"{url}#{index}", "type": "BitstringStatusListEntry", "statusPurpose": purpose,
            "statusListIndex": str(index), "statusListCredential": url}


def status_list_claims(cb: Tenant, purpose: str, set_indexes: list[int], length: int) -> dict[str, Any]:
    """The CB's ``BitstringStatusListCredential`` for ``purpose``: the bits, as of now."""
    issuer = signing.issuer(cb)
    url = status_list_url(issuer, purpose)
    return {
        "@context": [CREDENTIALS_V2],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer,
        "validFrom": utcnow().replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "credentialSubject": {"id": f"{url}#list", "type": "BitstringStatusList", "statusPurpose": purpose,
                              "encodedList": bitstring.encode(set_indexes, length)},
    }


def instant(day: date, at: time) -> str:
    return datetime.combine(day, at, tzinfo=UTC).isoformat().replace("+00:00", "Z")


# --------------------------------------------------------------------------- serving, cached


def public_credential(session: Session, cb_slug: str, number: str, revision: int | None = None) -> str | None:
    """The compact JWS of certificate ``number`` of CB ``cb_slug``: its current revision's (signed now if it
    predates credentials), or ``revision``'s if that one was issued; None if there is no such thing."""
    if not plausible(cb_slug, MAX_SLUG_LENGTH) or not plausible(number, MAX_NUMBER_LENGTH):
        return None
    slug = cb_slug.lower()
    return viewcache.cached(session, "credential", f"{slug}/{revision or ''}/{number}",
                            lambda: _load_credential(session, slug, number, revision))


def _load_credential(session: Session, cb_slug: str, number: str,
                     revision: int | None) -> tuple[tuple[uuid.UUID], str] | None:
    with certificate_in_scope(session, cb_slug, number) as certificate:
        if certificate is None:
            return None
        if revision is None or revision == certificate.revision:
            credential: CertificateCredential | None = kept_up(session, certificate)[1]
        else:
            credential = _credential_of(session, certificate.id, revision)
        return None if credential is None else ((certificate.tenant_id,), credential.token)


@contextmanager
def certificate_in_scope(session: Session, cb_slug: str, number: str) -> Iterator[Certificate | None]:
    """Certificate ``number`` of the CB ``cb_slug``, read and used inside that CB's scope (the slug is a crossing);
    None when either is unknown."""
    cb_id = tenancy.tenant_of(session, CB_BY_SLUG, cb_slug)
    if cb_id is None:
        yield None
        return
    with tenancy.within(session, cb_id, tenancy.CERTIFICATION_BODY):
        yield certificate_numbered(session, cb_id, number)


def certificate_numbered(session: Session, cb_id: uuid.UUID, number: str) -> Certificate | None:
    """Certificate ``number`` of CB ``cb_id`` with its revisions (not its history), read in the CB's scope."""
    certificate = session.scalars(
        select(Certificate).where(Certificate.tenant_id == cb_id, Certificate.number == number)
        .options(lazyload(Certificate.history))
    ).one_or_none()
    return certificate if certificate is not None and certificate.revisions else None


def kept_up(session: Session, certificate: Certificate) -> tuple[StatusEntry, CertificateCredential]:
    """``keep_up`` for a public read, inside ``tenancy.within`` the CB: a first issue is flushed there, so it is
    written as the CB's rows, and committed by the read's unit of work."""
    kept = keep_up(session, certificate)
    session.flush()
    return kept


def public_status_list(session: Session, cb_slug: str, purpose: str) -> str | None:
    """The compact JWS of the ``purpose`` list of CB ``cb_slug``, or None (no such CB or purpose)."""
    if purpose not in PURPOSES or not plausible(cb_slug, MAX_SLUG_LENGTH):
        return None
    slug = cb_slug.lower()
    return viewcache.cached(session, "status-list", f"{slug}/{purpose}",
                            lambda: _load_status_list(session, slug, purpose))


def _load_status_list(session: Session, cb_slug: str, purpose: str) -> tuple[tuple[uuid.UUID], str] | None:
    cb_id = tenancy.tenant_of(session, CB_BY_SLUG, cb_slug)
    if cb_id is None:
        return None
    with tenancy.within(session, cb_id, tenancy.CERTIFICATION_BODY):
        cb = session.get_one(Tenant, cb_id)
        bit = StatusEntry.revoked if purpose == REVOCATION else StatusEntry.suspended
        set_indexes = list(session.scalars(select(StatusEntry.list_index).where(StatusEntry.tenant_id == cb_id, bit)))
        highest = session.scalar(select(func.max(StatusEntry.list_index)).where(StatusEntry.tenant_id == cb_id))
        claims = status_list_claims(cb, purpose, set_indexes, bitstring.served_length(highest))
        return (cb_id,), signing.sign(session, cb_id, claims)
