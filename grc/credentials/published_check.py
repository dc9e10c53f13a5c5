"""What the public verification page shows next to the database status: the certificate's published credential
checked as a verifier would check it (V2, V3): its EdDSA signature against the CB's published keys (JWKS), its
validity dates, and its status entries' bits (the bits the CB's signed lists are built from). Any failure is
INVALID, never VALID (fail closed). A cached view like the public check (grc.viewcache): recomputed after any
change of the CB's rows (a status change, a new revision, a key rotation) and on each new UTC day."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy.orm import Session

from grc import viewcache
from grc.certification.public import MAX_NUMBER_LENGTH, MAX_SLUG_LENGTH, plausible
from grc.credentials.models import StatusEntry
from grc.credentials.service import REVOCATION, SUSPENSION, certificate_in_scope, kept_up
from grc.db import utcnow
from grc.signing import service as signing


@dataclass(frozen=True)
class Verdict:
    word: str  # VALID, SUSPENDED, WITHDRAWN, EXPIRED or INVALID
    reason: str


def check_published(session: Session, cb_slug: str, number: str) -> Verdict | None:
    """The verdict on certificate ``number``'s current credential; None when there is no such certificate."""
    if not plausible(cb_slug, MAX_SLUG_LENGTH) or not plausible(number, MAX_NUMBER_LENGTH):
        return None
    slug = cb_slug.lower()
    return viewcache.cached(session, "credential-check", f"{slug}/{number}", lambda: _load(session, slug, number))


def _load(session: Session, cb_slug: str, number: str) -> tuple[tuple[Any, ...], Verdict] | None:
    with certificate_in_scope(session, cb_slug, number) as certificate:
        if certificate is None:
            return None
        entry, credential = kept_up(session, certificate)
        published = signing.public_keys(session, cb_slug)  # the JWKS anyone fetches
        try:
            verdict = verdict_on(credential.token, KeySet.import_key_set({"keys": published["keys"] if published
                                                                          else []}), entry, utcnow())
        except (JoseError, ValueError, KeyError, TypeError) as exc:
            verdict = Verdict("INVALID", f"the credential does not verify ({type(exc).__name__})")
        return (certificate.tenant_id,), verdict


def verdict_on(token: str, keys: KeySet, entry: StatusEntry, now: datetime) -> Verdict:
    """Signature, then dates, then the revocation and the suspension bit of the entry the credential names."""
    found = jws.deserialize_compact(token, keys, algorithms=["EdDSA"])  # JoseError unless a published key signed it
    if found.headers().get("typ") != "vc+jwt":
        return Verdict("INVALID", "not a vc+jwt credential")
    credential: dict[str, Any] = json.loads(found.payload)
    if {e["statusPurpose"]: e["statusListIndex"] for e in credential["credentialStatus"]} != \
            {REVOCATION: str(entry.list_index), SUSPENSION: str(entry.list_index)}:
        return Verdict("INVALID", "the credential names other status entries")
    if now < datetime.fromisoformat(credential["validFrom"]):
        return Verdict("INVALID", "the credential is not valid yet")
    if now > datetime.fromisoformat(credential["validUntil"]):
        return Verdict("EXPIRED", f"the credential was valid until {credential['validUntil']}")
    if entry.revoked:
        return Verdict("WITHDRAWN", "its revocation bit is set")
    if entry.suspended:
        return Verdict("SUSPENDED", "its suspension bit is set")
    return Verdict("VALID", "signature, dates and status bits check out")
