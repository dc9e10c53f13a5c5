"""Rule V4: a badge is valid only on a domain the licensee proved it controls, and keeps proving it.

ACME-style (RFC 8555 ideas), in two requests of the licensee (the client organisation's admins; the CB reads):

1. ``new_challenge``: a fresh random token for one domain of the licence and one method, and exactly what to
   publish where (``Challenge``): the token as the body of ``https://{domain}/.well-known/grc-mark/{token}``, or
   as a TXT record at ``_grc-mark.{domain}``. A new challenge replaces a pending one; it expires after
   ``CHALLENGE_DAYS``.
2. ``check``: the server looks (``grc.marks.domain_probes``). Found: the domain is proven, the challenge is used
   up (a token proves once) and its token becomes the proof's, which stays published for the re-checks. Not found:
   the reason is kept on the challenge, which the licensee may check again once fixed.

The check runs in the request, not as a job: it is one bounded call (``GRC_MARK_CHECK_TIMEOUT_SECONDS``), the
licensee is waiting for its answer, and a job would only make the licensee poll. The request's transaction is
committed before the call, so no database connection waits on a remote server with a transaction open.

``recheck_due`` (a scheduled job, one batch per run) re-checks proven domains every ``GRC_MARK_DOMAIN_RECHECK_DAYS``
days, daily while they fail; a domain whose re-checks have failed for ``LAPSE_AFTER`` loses its proof, and the
licensee and the CB are told (``mark_licence.domain_proof_lapsed``).
"""
from __future__ import annotations

import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from grc import tenancy
from grc.audit_notes import name_action
from grc.config import Settings
from grc.db import utcnow
from grc.errors import Forbidden, NotFound, RuleViolation
from grc.events import publish
from grc.marks.domain_probes import Probe, challenge_url, probe, record_name
from grc.marks.models import DomainProof, LicenceStatus, MarkLicence, ProofMethod, ProofState
from grc.marks.service import normalise_domain
from grc.tenancy import Principal

LICENSEE_ROLES = ("client_admin",)
TOKEN_BYTES = 32  # 43 base64url characters
CHALLENGE_DAYS = 7
LAPSE_AFTER = timedelta(days=14)  # V4
RETRY_FAILING_AFTER = timedelta(days=1)
RECHECK_BATCH = 100
LAPSED = "mark_licence.domain_proof_lapsed"
PROVEN = "mark_licence.domain_proven"


@dataclass(frozen=True)
class Challenge:
    """What the licensee publishes, and where, for a pending challenge."""

    method: str
    token: str
    expires_at: datetime
    error: str | None  # why its last check failed
    url: str | None = None  # http: serve ``token`` as this URL's body
    record_name: str | None = None  # dns: a TXT record of this name whose value is ``token``
    record_type: str | None = None


@dataclass(frozen=True)
class DomainStatus:
    """One domain of a licence, its proof and its pending challenge, as the licensee and the CB see them."""

    proof: DomainProof
    challenge: Challenge | None


# --------------------------------------------------------------------------- reading


def domains(licence: MarkLicence, settings: Settings) -> list[DomainStatus]:
    """Every domain of the licence with its proof state and pending challenge."""
    return [DomainStatus(proof, challenge_of(proof, settings)) for proof in licence.domain_proofs]


def challenge_of(proof: DomainProof, settings: Settings) -> Challenge | None:
    if proof.challenge_token is None or proof.challenge_method is None or proof.challenge_expires_at is None:
        return None
    http = proof.challenge_method == ProofMethod.http
    return Challenge(proof.challenge_method.value, proof.challenge_token, proof.challenge_expires_at,
                     proof.challenge_error,
                     url=challenge_url(proof.domain, proof.challenge_token, settings) if http else None,
                     record_name=None if http else record_name(proof.domain), record_type=None if http else "TXT")


# --------------------------------------------------------------------------- the licensee's challenge and check


def new_challenge(session: Session, licence: MarkLicence, domain: str, method: ProofMethod, *,
                  caller: Principal) -> DomainProof:
    """V4: a fresh single-use token for ``domain`` (replacing a pending one); a proof in force stays until a
    check of the new challenge succeeds."""
    proof = _licensees_proof(session, licence, domain, caller)
    proof.challenge_method, proof.challenge_token = method, secrets.token_urlsafe(TOKEN_BYTES)
    proof.challenge_expires_at = utcnow() + timedelta(days=CHALLENGE_DAYS)
    proof.challenge_error = None
    name_action(session, proof, "mark_licence.domain_challenge_issued")
    session.flush()
    return proof


def check(session: Session, licence: MarkLicence, domain: str, settings: Settings, *,
          caller: Principal) -> DomainProof:
    """V4: look for the pending challenge's token; proven if found, else the reason is kept on the challenge."""
    proof = _licensees_proof(session, licence, domain, caller)
    if proof.challenge_token is None or proof.challenge_method is None or proof.challenge_expires_at is None:
        raise RuleViolation(f"No challenge is pending for {proof.domain}: ask for one first.", rule="V4")
    if proof.challenge_expires_at < utcnow():
        raise RuleViolation(f"The challenge for {proof.domain} expired: ask for a new one.", rule="V4")
    method, token = proof.challenge_method, proof.challenge_token
    session.commit()  # nothing waits on the remote server with a transaction open
    outcome = probe(method, proof.domain, token, settings)
    session.refresh(proof)
    if proof.challenge_token != token:  # a new challenge was asked for meanwhile: it is the one to check
        raise RuleViolation(f"The challenge for {proof.domain} was replaced while it was checked.", rule="V4")
    now = utcnow()
    if not outcome.ok:
        proof.challenge_error = outcome.reason
        name_action(session, proof, "mark_licence.domain_check_failed")
    else:
        proof.state, proof.method, proof.token = ProofState.proven, method, token
        proof.proven_at = proof.last_checked_at = now
        proof.next_check_at = now + timedelta(days=settings.mark_domain_recheck_days)
        proof.failing_since = proof.last_failure = None
        proof.challenge_method = proof.challenge_token = proof.challenge_expires_at = proof.challenge_error = None
        name_action(session, proof, PROVEN)
        session.flush()
        publish(session, PROVEN, _proof_event(licence, proof), tenant_id=licence.tenant_id, subject=licence)
    session.flush()
    return proof


def _licensees_proof(session: Session, licence: MarkLicence, domain: str, caller: Principal) -> DomainProof:
    """The proof row of one domain of the licence (created on first use), for the licensee's admins only."""
    if caller.tenant_id != licence.client_tenant_id or not caller.has_any(*LICENSEE_ROLES):
        raise Forbidden("Only the licensee's admins prove the licence's domains; the certification body reads them.")
    host = normalise_domain(domain, field="domain")
    if host not in licence.domains:
        raise NotFound(f"{host} is not a domain of this licence.")
    if licence.status == LicenceStatus.withdrawn:
        raise RuleViolation("The licence is withdrawn: its domains are no longer proven.", rule="V4")
    tenancy.allow_write_to(session, licence.tenant_id)  # the licensee's proof is written on the CB's licence
    found = next((proof for proof in licence.proofs if proof.domain == host), None)
    if found is not None:
        return found
    proof = DomainProof(tenant_id=licence.tenant_id, client_tenant_id=licence.client_tenant_id,
                        licence_id=licence.id, domain=host, state=ProofState.unverified)
    session.add(proof)
    return proof


# --------------------------------------------------------------------------- the scheduled re-checks


def recheck_due(session: Session, settings: Settings, now: datetime, batch: int = RECHECK_BATCH) -> dict[str, int]:
    """V4: re-check one batch of proven domains due at ``now`` (system scope), side by side, with no transaction
    open during the calls; safe to run twice (a domain re-checked by another run is no longer due)."""
    due = list(session.execute(
        select(DomainProof.id, DomainProof.method, DomainProof.domain, DomainProof.token)
        .join(MarkLicence, MarkLicence.id == DomainProof.licence_id)
        .where(DomainProof.state == ProofState.proven, DomainProof.next_check_at <= now,
               MarkLicence.status != LicenceStatus.withdrawn)
        .order_by(DomainProof.next_check_at, DomainProof.id).limit(batch)))
    session.commit()
    with ThreadPoolExecutor(max_workers=max(1, min(settings.delivery_concurrency, len(due) or 1))) as pool:
        outcomes = dict(zip([row.id for row in due], pool.map(
            lambda row: probe(row.method, row.domain, row.token, settings), due), strict=True))
    counts = {"proven": 0, "failing": 0, "lapsed": 0}
    for proof_id, outcome in outcomes.items():
        proof = session.get(DomainProof, proof_id)
        if proof is None or proof.state != ProofState.proven or proof.next_check_at is None \
                or proof.next_check_at > now:
            continue
        counts[_recorded(session, proof, outcome, now, settings)] += 1
    session.commit()
    return counts


def _recorded(session: Session, proof: DomainProof, outcome: Probe, now: datetime, settings: Settings) -> str:
    """Write one re-check's outcome; 14 days of failures (V4) withdraw the proof and tell both sides."""
    proof.last_checked_at = now
    if outcome.ok:
        proof.failing_since, proof.last_failure = None, None
        proof.next_check_at = now + timedelta(days=settings.mark_domain_recheck_days)
        return "proven"
    proof.failing_since = proof.failing_since or now
    proof.last_failure = outcome.reason
    if now - proof.failing_since < LAPSE_AFTER:
        proof.next_check_at = now + RETRY_FAILING_AFTER
        return "failing"
    failing_since = proof.failing_since
    proof.state, proof.lapsed_at, proof.next_check_at = ProofState.unverified, now, None
    proof.method = proof.token = proof.failing_since = None
    name_action(session, proof, LAPSED)
    session.flush()
    licence = session.get_one(MarkLicence, proof.licence_id)
    publish(session, LAPSED, {**_proof_event(licence, proof), "failing_since": failing_since.isoformat(),
                              "reason": outcome.reason}, tenant_id=licence.tenant_id, subject=licence)
    return "lapsed"


def _proof_event(licence: MarkLicence, proof: DomainProof) -> dict[str, str]:
    """What a domain's proof event says: the licence, the domain, and the licensee (told with the CB)."""
    return {"licence_id": str(licence.id), "number": licence.number, "domain": proof.domain,
            "client_id": str(licence.client_tenant_id)}
