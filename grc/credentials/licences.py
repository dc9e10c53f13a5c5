"""Mark licences as signed credentials (V2) with their own status entries (V3), following their certificates (M2).

A licence's credential states the licensee, the licence number, the permitted uses, the domains on the licence and
the certificates it rests on (each with its credential's URL), valid from the grant to the end of the last expiry
date of those certificates. It has its own index in the CB's two status lists; its bits follow the licence's
status, which follows its certificates (M2): ``licence_changed`` subscribes to ``mark_licence.*``, which the marks
domain announces for every change of a licence's status (its own, and those following a certificate), in the same
transaction. A certificate's renewal or restoration moves its expiry and so the licence's ``validUntil``: the
licence is signed again (``licences_follow_expiry``). A credential is signed once per distinct content (its digest)
and never rewritten; licences granted before credentials get theirs at their first public read.
"""
from __future__ import annotations

import hashlib
import json
import uuid
from datetime import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from grc import events, tenancy, viewcache
from grc.certification.models import Certificate
from grc.certification.public import credential_path, public_content, public_url
from grc.credentials.models import MarkLicenceCredential, StatusEntry
from grc.credentials.service import (
    CREDENTIALS_V2,
    PURPOSES,
    insert_once,
    instant,
    set_bits,
    status_claim,
    status_entry,
)
from grc.db import new_id
from grc.marks.models import LicenceStatus, MarkLicence, ProofState, licence_certificates
from grc.marks.service import LICENCE_BY_NUMBER, MAX_NUMBER_LENGTH, NUMBER_PREFIX, PUBLIC_LICENCE_ADDITIONS
from grc.signing import service as signing
from grc.tenants.models import Tenant

LICENCE_CREDENTIAL = "CertificationMarkLicenceCredential"


@events.on("mark_licence.*")
def licence_changed(event: events.Event) -> None:
    """V2, V3: a licence granted, or its status changed (M2 included): its bits follow, and it is signed if what it
    states has no credential yet; in the transaction of the change."""
    licence_id = event.payload.get("licence_id")
    licence = event.session.get(MarkLicence, uuid.UUID(licence_id)) if licence_id else None
    if licence is None:
        return
    if event.session.info.get(tenancy.TENANT_KEY) in (None, licence.tenant_id):
        keep_licence_up(event.session, licence)  # the CB's own change, or a job's
        return
    # the licensee's change (a domain proven): its own rows are written in its scope, the credential in the CB's
    event.session.flush()
    with tenancy.within(event.session, licence.tenant_id, tenancy.CERTIFICATION_BODY):
        keep_licence_up(event.session, licence)
        event.session.flush()


@events.on("certificate.renewed", "certificate.restored")
def licences_follow_expiry(event: events.Event) -> None:
    """A renewed (or restored after expiry) certificate has a later expiry date: the licences resting on it are
    signed again with their new ``validUntil``."""
    if not isinstance(event.subject, Certificate):
        return
    licences = event.session.scalars(
        select(MarkLicence).join(licence_certificates, licence_certificates.c.licence_id == MarkLicence.id)
        .where(licence_certificates.c.certificate_id == event.subject.id).order_by(MarkLicence.id)).unique()
    for licence in licences:
        keep_licence_up(event.session, licence)


def keep_licence_up(session: Session, licence: MarkLicence) -> tuple[StatusEntry, MarkLicenceCredential]:
    """The licence's status entry, with the bits its status says, and the credential of what it states now, signed
    now if there is none; in the caller's transaction and the licence's CB's scope."""
    entry = status_entry(session, licence.tenant_id, {"mark_licence_id": licence.id})
    set_bits(entry, revoked=licence.status == LicenceStatus.withdrawn,
             suspended=licence.status == LicenceStatus.suspended)
    cb = session.get_one(Tenant, licence.tenant_id)
    claims = licence_claims(cb, licence, entry)
    digest = hashlib.sha256(json.dumps(claims, sort_keys=True).encode()).hexdigest()

    def existing() -> MarkLicenceCredential | None:
        return session.scalars(select(MarkLicenceCredential).where(
            MarkLicenceCredential.mark_licence_id == licence.id, MarkLicenceCredential.digest == digest,
        )).one_or_none()

    found = existing()
    if found is not None:
        return entry, found
    row_id = new_id()
    token = signing.sign(session, cb.id, {**claims, "id": f"urn:uuid:{row_id}"})
    stored = insert_once(session, MarkLicenceCredential(id=row_id, tenant_id=cb.id, mark_licence_id=licence.id,
                                                         digest=digest, token=token), existing)
    if stored is None:
        raise RuntimeError("the credential of a mark licence was neither stored nor found")
    return entry, stored


def licence_claims(cb: Tenant, licence: MarkLicence, entry: StatusEntry) -> dict[str, Any]:
    """The licence as a VC 2.0 credential (without its ``id``, which names the stored row): public fields only."""
    issuer = signing.issuer(cb)
    certificates = sorted(licence.certificates, key=lambda c: c.number)
    return {
        "@context": [CREDENTIALS_V2],
        "type": ["VerifiableCredential", LICENCE_CREDENTIAL],
        "issuer": issuer,
        "validFrom": instant(licence.granted_on, time.min),
        "validUntil": instant(max(c.expiry_date for c in certificates), time(23, 59, 59)),
        "credentialSubject": {
            "name": public_content(certificates[0])["client_name"],
            "licenceNumber": licence.number,
            "permittedUses": list(licence.permitted_uses),
            "licensedDomains": list(licence.domains),
            "provenDomains": [proof.domain for proof in licence.proofs if proof.state == ProofState.proven],
            "certificates": [{"certificateNumber": c.number, "standard": c.scheme.standard,
                              "credential": public_url(credential_path(cb.slug, c.number))} for c in certificates],
        },
        "credentialStatus": [status_claim(issuer, purpose, entry.list_index) for purpose in PURPOSES],
    }


@PUBLIC_LICENCE_ADDITIONS.register("credential")
def public_licence_credential(session: Session, number: str) -> str | None:
    """The compact JWS of mark licence ``number`` as it stands (signed now if it predates credentials), or None."""
    number = number.strip().upper()
    if not number.startswith(NUMBER_PREFIX) or len(number) > MAX_NUMBER_LENGTH or "\x00" in number:
        return None
    return viewcache.cached(session, "licence-credential", number, lambda: _load(session, number))


def _load(session: Session, number: str) -> tuple[tuple[uuid.UUID], str] | None:
    cb_id = tenancy.tenant_of(session, LICENCE_BY_NUMBER, number)
    if cb_id is None:
        return None
    with tenancy.within(session, cb_id, tenancy.CERTIFICATION_BODY):
        licence = session.scalars(select(MarkLicence).where(MarkLicence.number == number).options(
            selectinload(MarkLicence.certificates).lazyload(Certificate.history))).one_or_none()
        if licence is None or not licence.certificates:
            return None
        credential = keep_licence_up(session, licence)[1]
        session.flush()  # in the CB's scope: a first issue is written as the CB's rows
        return (cb_id,), credential.token
