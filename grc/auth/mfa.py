"""The second factor (I2): TOTP (RFC 6238) enrolment, confirmation, checking, recovery codes and disabling, and the
tickets that carry a two-step login from the right password to the code (``grc.auth.service`` runs the steps).

A code is accepted within one time step of clock drift either way, and once: the step of the last code accepted is
kept and no code of that step or an earlier one is accepted again. The shared secret is sealed (grc.sealing) under
the key-encryption key, bound to its tenant and user; recovery codes and ticket secrets are kept only as hashes.
"""
from __future__ import annotations

import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
import segno
from flask import current_app
from sqlalchemy import CursorResult, delete, select
from sqlalchemy.orm import Session

from grc import sealing, tenancy
from grc.audit_notes import name_action, note_event
from grc.auth.models import MfaTicket, MfaTicketPurpose, SecondFactor, User
from grc.auth.passwords import hash_secret, lookup_digest, verify_secret
from grc.config import Settings
from grc.db import new_id, utcnow
from grc.errors import Conflict, NotFound, Unauthorized

ISSUER = "grc"
DRIFT_STEPS = 1  # codes of the previous and the next 30-second step are accepted too
RECOVERY_CODES = 10
MAX_TICKET_FAILURES = 5
TICKET_INVALID = "The MFA ticket is wrong, expired, used or spent on too many wrong codes; sign in again."
NO_FACTOR = "No second factor is on for this account."


# --------------------------------------------------------------------------- the rules, without a database


def accepted_step(secret: str, code: str, now: datetime, last_used_step: int | None) -> int | None:
    """The time step ``code`` belongs to, if it is right for ``secret`` within the drift window at ``now`` and newer
    than ``last_used_step`` (a code is good once); None otherwise. Compared in constant time."""
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if last_used_step is not None and step <= last_used_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code.strip()):
            return step
    return None


def new_recovery_codes() -> list[str]:
    """Ten one-time codes, ``xxxxx-xxxxx`` in lower-case base32 (50 random bits each), shown once."""
    alphabet = "abcdefghijklmnopqrstuvwxyz234567"
    codes = ("".join(secrets.choice(alphabet) for _ in range(10)) for _ in range(RECOVERY_CODES))
    return [f"{code[:5]}-{code[5:]}" for code in codes]


def normalised_recovery_code(code: str) -> str:
    """As the user may type it: spaces and case do not matter, the dash may be left out."""
    plain = "".join(code.split()).replace("-", "").lower()
    return f"{plain[:5]}-{plain[5:]}"


# --------------------------------------------------------------------------- a user's factor


@dataclass(frozen=True)
class Enrolment:
    """What an authenticator app needs, shown once: the secret, its otpauth:// URI, and that URI as a QR code."""

    secret: str
    otpauth_uri: str
    qr_code: str


def factor_of(session: Session, user: User) -> SecondFactor | None:
    return session.scalars(select(SecondFactor).where(SecondFactor.user_id == user.id)).one_or_none()


def has_factor(session: Session, user: User) -> bool:
    """Whether ``user`` has a confirmed factor (one enrolled but not confirmed yet does not count)."""
    factor = factor_of(session, user)
    return factor is not None and factor.confirmed_at is not None


def status(session: Session, user: User) -> dict[str, Any]:
    factor = factor_of(session, user)
    enabled = factor is not None and factor.confirmed_at is not None
    return {"enabled": enabled, "confirmed_at": factor.confirmed_at if factor else None,
            "recovery_codes_remaining": len(factor.recovery_code_hashes) if factor and enabled else 0}


def enrol(session: Session, user: User) -> Enrolment:
    """A new TOTP secret for ``user``, not working until confirmed with a first code. Enrolling again before the
    confirmation replaces the secret; a confirmed factor must be disabled first."""
    factor = factor_of(session, user)
    if factor is not None and factor.confirmed_at is not None:
        raise Conflict("A second factor is on already; disable it (with a fresh code) before enrolling another.",
                       rule="I2")
    secret = pyotp.random_base32()
    if factor is None:
        factor = SecondFactor(id=new_id(), tenant_id=user.tenant_id, user_id=user.id, recovery_code_hashes=[])
        session.add(factor)
    factor.sealed_secret = sealing.seal(secret.encode(), _kek(), context=_bound_to(factor))
    factor.last_used_step = None
    name_action(session, factor, "mfa.enrolment_started")
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)
    session.flush()
    return Enrolment(secret=secret, otpauth_uri=uri, qr_code=segno.make(uri, error="m").svg_data_uri(scale=4))


def confirm(session: Session, user: User, code: str) -> list[str] | None:
    """Turn the enrolled factor on with a first right code; its ten recovery codes (shown once, stored hashed), or
    None when the code is wrong."""
    factor = factor_of(session, user)
    if factor is None or factor.confirmed_at is not None:
        raise Conflict("There is no enrolment waiting for confirmation; enrol first.", rule="I2")
    if not check_code(factor, code):
        return None
    codes = new_recovery_codes()
    factor.confirmed_at = utcnow()
    factor.recovery_code_hashes = [hash_secret(c) for c in codes]
    name_action(session, factor, "mfa.confirmed")
    session.flush()
    return codes


def disable(session: Session, user: User, code: str) -> bool:
    """Remove the user's factor, on a fresh right code (not one accepted before); False when the code is wrong."""
    factor = factor_of(session, user)
    if factor is None or factor.confirmed_at is None:
        raise NotFound(NO_FACTOR)
    if not check_code(factor, code):
        return False
    _remove(session, factor, "mfa.disabled")
    return True


def reset(session: Session, user: User) -> None:
    """An admin removes a user's factor (a lost phone): the user signs in with the password alone, or is asked to
    enrol again when the tenant requires a second factor."""
    factor = factor_of(session, user)
    if factor is None:
        raise NotFound(NO_FACTOR)
    _remove(session, factor, "mfa.reset")


def _remove(session: Session, factor: SecondFactor, action: str) -> None:
    name_action(session, factor, action)
    session.delete(factor)
    session.flush()


def check_code(factor: SecondFactor, code: str) -> bool:
    """Whether ``code`` is a right TOTP code not used before; if so, its step is remembered (single use)."""
    secret = sealing.unseal(factor.sealed_secret, _kek(), context=_bound_to(factor)).decode()
    step = accepted_step(secret, code, datetime.now(UTC), factor.last_used_step)
    if step is None:
        return False
    factor.last_used_step = step
    return True


def use_recovery_code(factor: SecondFactor, code: str) -> bool:
    """Whether ``code`` is one of the unused recovery codes; if so it is struck off (each works once)."""
    typed = normalised_recovery_code(code)
    for stored in factor.recovery_code_hashes:
        if verify_secret(stored, typed):
            factor.recovery_code_hashes = [h for h in factor.recovery_code_hashes if h != stored]
            return True
    return False


def _bound_to(factor: SecondFactor) -> str:
    return f"grc second factor v1|{factor.tenant_id}|{factor.user_id}"


def _kek() -> bytes:
    settings: Settings = current_app.config["GRC_SETTINGS"]
    return sealing.key_encryption_key(settings)


# --------------------------------------------------------------------------- tickets


def issue_ticket(session: Session, user: User, purpose: MfaTicketPurpose) -> str:
    """A ticket for the second step of this sign-in attempt: ``<tenant>.<ticket id>.<secret>``; the tenant part
    lets the second step read the ticket inside its tenant, the secret (only its hash is kept) proves it."""
    settings: Settings = current_app.config["GRC_SETTINGS"]
    secret = secrets.token_urlsafe(32)
    ticket = MfaTicket(id=new_id(), tenant_id=user.tenant_id, user_id=user.id, secret_hash=lookup_digest(secret),
                       purpose=purpose, expires_at=utcnow() + timedelta(minutes=settings.mfa_ticket_minutes))
    session.add(ticket)
    return f"{user.tenant_id}.{ticket.id}.{secret}"


def open_ticket(session: Session, text: str, purpose: MfaTicketPurpose) -> tuple[MfaTicket, User]:
    """The live ticket ``text`` names, for ``purpose``, and its user; 401 for anything else (the scope is left in
    the ticket's tenant, where the second step then works)."""
    try:
        tenant_part, id_part, secret = text.split(".", 2)
        tenant_id, ticket_id = uuid.UUID(tenant_part), uuid.UUID(id_part)
    except ValueError:
        raise Unauthorized(TICKET_INVALID) from None
    tenancy.scope_to(session, tenant_id)
    found = session.execute(select(MfaTicket, User).join(User, User.id == MfaTicket.user_id)
                            .where(MfaTicket.id == ticket_id, MfaTicket.tenant_id == tenant_id)).one_or_none()
    if found is None or not hmac.compare_digest(found[0].secret_hash, lookup_digest(secret)):
        raise Unauthorized(TICKET_INVALID)
    ticket, user = found
    if (ticket.used_at is not None or ticket.expires_at <= utcnow() or ticket.failures >= MAX_TICKET_FAILURES
            or ticket.purpose != purpose or not user.is_active):
        raise Unauthorized(TICKET_INVALID)
    return ticket, user


def purge_expired_tickets(session: Session) -> int:
    """Delete the tickets that expired (used or not: a ticket is worthless after its expiry). A bulk delete of every
    tenant's: the caller is a job in system scope."""
    result = session.execute(delete(MfaTicket).where(MfaTicket.expires_at < utcnow()))
    assert isinstance(result, CursorResult)  # a DELETE without RETURNING: Session.execute's typing cannot say so
    return result.rowcount or 0


def record_sign_in_failure(session: Session, user: User, details: dict[str, Any]) -> None:
    """A refused sign-in of an existing account, in the tenant's trail, committed now: the request answers 4xx and
    rolls back what it did, but the attempt must stay recorded (never with the password or the code)."""
    tenancy.set_actor(session, "anonymous", None)
    note_event(session, "sign_in.failed", user, details)
    session.commit()
