"""Authentication: login, token rotation and revocation, API-client credentials, and the request guard."""
from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime
from typing import Any, NoReturn, TypeVar

from flask import current_app
from flask_jwt_extended import create_access_token, create_refresh_token, decode_token, get_jwt, verify_jwt_in_request
from flask_jwt_extended.exceptions import JWTExtendedException
from jwt.exceptions import PyJWTError
from sqlalchemy import Select, Uuid, and_, bindparam, select
from sqlalchemy.orm import Session

from grc import tenancy
from grc.audit_notes import note_event
from grc.auth import mfa, policy, sessions
from grc.auth.models import ApiClient, MfaTicket, MfaTicketPurpose, RevokedToken, SessionEnd, SignInSession, User
from grc.auth.passwords import hash_secret, needs_rehash, verify_secret
from grc.db import utcnow
from grc.errors import Forbidden, SignInContinues, Unauthorized
from grc.tenants.models import Tenant

BAD_CREDENTIALS = "The e-mail address or password is wrong, or the account is inactive."
WRONG_CODE = "The code is wrong or was used already."


# --------------------------------------------------------------------------- tokens


def issue_tokens(principal: User | ApiClient, tenant: Tenant, *, with_refresh: bool,
                 sign_in: uuid.UUID | None = None) -> dict[str, Any]:
    """Access (and refresh) JWTs carrying the tenant and, for a user, the sign-in session (I4: ``sid``, kept when a
    refresh rotates the pair, so ending the session ends every token of it); roles are read from the database on
    each request. An API client's token has no session: it lives 15 minutes, and revoking the client ends it."""
    claims = {"tid": str(tenant.id), "kind": tenant.kind.value, "typ": _actor_type(principal)}
    if sign_in is not None:
        claims["sid"] = str(sign_in)
    result: dict[str, Any] = {
        "access_token": create_access_token(identity=str(principal.id), additional_claims=claims),
        "token_type": "Bearer",
        "expires_in": int(current_app.config["JWT_ACCESS_TOKEN_EXPIRES"].total_seconds()),
    }
    if with_refresh:
        result["refresh_token"] = create_refresh_token(identity=str(principal.id), additional_claims=claims)
    return result


def _actor_type(principal: User | ApiClient) -> str:
    return "api_client" if isinstance(principal, ApiClient) else "user"


def revoke(session: Session, claims: dict[str, Any]) -> None:
    """Revoke one token until its own expiry (a second revocation of the same token is a no-op)."""
    if session.get(RevokedToken, claims["jti"]) is None:
        session.add(RevokedToken(jti=claims["jti"], expires_at=datetime.fromtimestamp(claims["exp"], UTC)))


# The tenant an e-mail address signs in to (addresses are unique across tenants), and the tenant of an API client.
SIGN_IN = tenancy.Crossing("grc_tenant_of_user", select(User.tenant_id).where(User.email == bindparam("key")))
API_CLIENT = tenancy.Crossing("grc_tenant_of_api_client",
                              select(ApiClient.tenant_id).where(ApiClient.client_id == bindparam("key")))


Principal = TypeVar("Principal", User, ApiClient)


def _read_in_its_tenant(session: Session, crossing: tenancy.Crossing, key: str,
                        query: Select[Principal]) -> Principal | None:
    """The one row ``query`` finds inside the tenant that ``crossing`` names for ``key`` (the scope stays there),
    or None when the key names no tenant."""
    tenant_id = tenancy.tenant_of(session, crossing, key)
    if tenant_id is None:
        return None
    tenancy.scope_to(session, tenant_id)
    return session.scalars(query).one_or_none()


def login(session: Session, email: str, password: str, device: sessions.Device) -> dict[str, Any]:
    """Check the password and start a sign-in session (I4) from ``device``, or, when the user has a second factor or
    the tenant requires one (I2), answer 403 with a ticket for the second step. The address names its tenant (a
    crossing); the user is then read inside it. An unknown address still costs a password verification (against
    no hash), so the answer's timing does not tell which addresses exist; it has no tenant, so no trail records it.
    A refusal for an existing account is recorded in its tenant's trail."""
    email = email.strip().lower()
    user = _read_in_its_tenant(session, SIGN_IN, email, select(User).where(User.email == email))
    ok = verify_secret(user.password_hash if user else None, password)
    if user is None:
        raise Unauthorized(BAD_CREDENTIALS)
    if not ok or not user.is_active:
        mfa.record_sign_in_failure(session, user, {"method": "password",
                                                   "reason": "wrong_password" if not ok else "inactive"})
        raise Unauthorized(BAD_CREDENTIALS)
    tenant = session.get_one(Tenant, user.tenant_id)
    rules = policy.policy_of(session, user.tenant_id)
    refusal = policy.password_refused(rules, user, tenant)
    if refusal is not None:
        mfa.record_sign_in_failure(session, user, {"method": "password", "reason": "sso_required"})
        raise Forbidden(refusal, rule="I1")
    if needs_rehash(user.password_hash):
        user.password_hash = hash_secret(password)
    has_factor = mfa.has_factor(session, user)
    if policy.needs_second_factor(rules, has_factor):
        _continue_with_second_factor(session, user, has_factor)
    return start_sign_in(session, user, device)


def _continue_with_second_factor(session: Session, user: User, has_factor: bool) -> None:
    """The right password opens the second step only: a ticket for it, committed though the answer is a 403."""
    purpose = MfaTicketPurpose.verify if has_factor else MfaTicketPurpose.enrol
    ticket = mfa.issue_ticket(session, user, purpose)
    tenancy.set_actor(session, "user", user.id)
    note_event(session, "sign_in.password_accepted", user, {"next": purpose.value})
    session.commit()
    if has_factor:
        raise SignInContinues("The password is right; this account signs in with a second factor: send a code "
                              "of the authenticator app (or a recovery code) with mfa_ticket to POST "
                              "/api/v1/auth/mfa.", slug="mfa-required", mfa_ticket=ticket)
    raise SignInContinues("The password is right, but this organisation requires a second factor and the account "
                          "has none: enrol with mfa_ticket at POST /api/v1/auth/mfa/enrolment, then confirm a "
                          "first code at POST /api/v1/auth/mfa/enrolment/confirm.",
                          slug="mfa-enrolment-required", mfa_ticket=ticket)


def second_step(session: Session, ticket_text: str, device: sessions.Device, *, code: str | None = None,
                recovery_code: str | None = None) -> dict[str, Any]:
    """The second step of a two-step login (I2): a TOTP code or a recovery code with the ticket the password gave.
    A wrong one is recorded and counts against the ticket (it dies after a few); a right one uses the ticket up."""
    ticket, user = mfa.open_ticket(session, ticket_text, MfaTicketPurpose.verify)
    factor = mfa.factor_of(session, user)
    if factor is None or factor.confirmed_at is None:  # reset by an admin since the password step
        raise Unauthorized(mfa.TICKET_INVALID)
    method = "totp" if code is not None else "recovery_code"
    ok = mfa.check_code(factor, code) if code is not None else mfa.use_recovery_code(factor, recovery_code or "")
    if not ok:
        _count_wrong_code(session, ticket, user, method)
    ticket.used_at = utcnow()
    tenancy.set_actor(session, "user", user.id)
    details: dict[str, Any] = {"method": method}
    if method == "recovery_code":
        details["recovery_codes_remaining"] = len(factor.recovery_code_hashes)
    note_event(session, "sign_in.second_factor_accepted", user, details)
    return start_sign_in(session, user, device)


def enrol_at_sign_in(session: Session, ticket_text: str) -> mfa.Enrolment:
    """A user the tenant requires a second factor of, and who has none, enrols with the ticket the password gave."""
    _ticket, user = mfa.open_ticket(session, ticket_text, MfaTicketPurpose.enrol)
    tenancy.set_actor(session, "user", user.id)
    return mfa.enrol(session, user)


def confirm_at_sign_in(session: Session, ticket_text: str, code: str, device: sessions.Device) -> dict[str, Any]:
    """The enrolment's first code: the factor is on, the sign-in completes, with the recovery codes shown once."""
    ticket, user = mfa.open_ticket(session, ticket_text, MfaTicketPurpose.enrol)
    tenancy.set_actor(session, "user", user.id)
    codes = mfa.confirm(session, user, code)
    if codes is None:
        _count_wrong_code(session, ticket, user, "totp")
    ticket.used_at = utcnow()
    note_event(session, "sign_in.second_factor_accepted", user, {"method": "totp", "enrolled": True})
    return {**start_sign_in(session, user, device), "recovery_codes": codes}


def _count_wrong_code(session: Session, ticket: MfaTicket, user: User, method: str) -> NoReturn:
    """A wrong code: recorded, and one more against the ticket (both committed), then 401."""
    ticket.failures += 1
    mfa.record_sign_in_failure(session, user, {"method": method, "reason": "wrong_code",
                                               "ticket_failures": ticket.failures})
    raise Unauthorized(WRONG_CODE)


def start_sign_in(session: Session, user: User, device: sessions.Device) -> dict[str, Any]:
    """The end every way of signing in shares (password, single sign-on, second factor), once the user is known
    and checked: a new sign-in session (I4) and its token pair, the user recorded as the actor."""
    tenant = session.get_one(Tenant, user.tenant_id)
    user.last_login_at = utcnow()
    tenancy.set_actor(session, "user", user.id)
    sign_in = sessions.start(session, user, device)
    tokens = issue_tokens(user, tenant, with_refresh=True, sign_in=sign_in.id)
    session.flush()
    return tokens


def refresh(session: Session) -> dict[str, Any]:
    """Rotate: the presented refresh token is revoked and a new pair of the same sign-in issued (the guard already
    checked the token and that its sign-in goes on, and scoped the session to its tenant)."""
    principal = tenancy.current()
    user = session.get_one(User, principal.actor_id)
    tenant = session.get_one(Tenant, principal.tenant_id)
    revoke(session, get_jwt())
    sign_in = _sign_in_of(principal)
    sessions.touch(session, sign_in)
    tokens = issue_tokens(user, tenant, with_refresh=True, sign_in=sign_in)
    session.flush()
    return tokens


def logout(session: Session, refresh_token: str | None) -> None:
    """I4: end the sign-in session of the access token used for this call (every access and refresh token of it),
    and revoke the access token itself and, when given, a refresh token of the same user (older tokens carry no
    session)."""
    principal = tenancy.current()
    claims = get_jwt()
    revoke(session, claims)
    if principal.sign_in_id is not None:
        sign_in = session.get_one(SignInSession, principal.sign_in_id)
        sessions.end(sign_in, reason=SessionEnd.logout, by=principal.actor_id)
    if refresh_token:
        other = _decode_own_refresh(refresh_token, claims["sub"])
        revoke(session, other)
    session.flush()


def _sign_in_of(principal: tenancy.Principal) -> uuid.UUID:
    if principal.sign_in_id is None:  # the guard lets no refresh token without a session through: a backstop
        raise Unauthorized(sessions.SIGN_IN_ENDED)
    return principal.sign_in_id


def _decode_own_refresh(token: str, subject: str) -> dict[str, Any]:
    try:
        other = decode_token(token, allow_expired=True)
    except (JWTExtendedException, PyJWTError) as exc:
        raise Unauthorized("The refresh token is not valid.") from exc
    if other.get("type") != "refresh" or other.get("sub") != subject:
        raise Unauthorized("The refresh token does not belong to this session.")
    return other


# --------------------------------------------------------------------------- API clients


def new_client_credentials() -> tuple[str, str]:
    """A public client id and a secret (shown once, stored as an argon2id hash)."""
    return f"grc_{secrets.token_hex(12)}", secrets.token_urlsafe(32)


def exchange_client_credentials(session: Session, client_id: str, client_secret: str) -> dict[str, Any]:
    """As ``login``: the client id names its tenant, the client is read inside it."""
    client = _read_in_its_tenant(session, API_CLIENT, client_id,
                                 select(ApiClient).where(ApiClient.client_id == client_id))
    ok = verify_secret(client.secret_hash if client else None, client_secret)
    if client is None or not ok or not client.is_active:
        raise Unauthorized("The client id or secret is wrong, or the client was revoked.")
    client.last_used_at = utcnow()
    tenancy.set_actor(session, "api_client", client.id)
    tokens = issue_tokens(client, session.get_one(Tenant, client.tenant_id), with_refresh=False)
    session.flush()
    return tokens


# --------------------------------------------------------------------------- the request guard


def authenticate(session: Session, *, refresh: bool = False) -> tenancy.Principal:
    """Verify the bearer token and load the caller; every failure is a 401 (problem+json via the loaders)."""
    verify_jwt_in_request(refresh=refresh)
    claims = get_jwt()
    try:
        tenant_id, actor_id = uuid.UUID(claims["tid"]), uuid.UUID(claims["sub"])
        sign_in_id = uuid.UUID(claims["sid"]) if claims.get("sid") else None
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise Unauthorized("The token does not name a tenant, a subject and a sign-in.") from exc
    if refresh and sign_in_id is None:  # refresh tokens were always issued with a sign-in since I4
        raise Unauthorized(sessions.SIGN_IN_ENDED)
    actor_type = claims.get("typ", "user")
    # The caller is looked up inside the tenant the signed token names, which is the scope the request keeps:
    # the row-level security settings go out once, with the transaction's first statement.
    tenancy.scope_to(session, tenant_id)
    found = session.connection().execute(
        _CALLER[actor_type == "api_client"],
        {"actor_id": actor_id, "tenant_id": tenant_id, "jti": claims.get("jti", ""), "sign_in": sign_in_id},
    ).first()
    if found is not None and found.revoked is not None:
        raise Unauthorized("The token has been revoked.")
    if found is not None and sign_in_id is not None and (found.sign_in is None or found.ended_at is not None):
        raise Unauthorized(sessions.SIGN_IN_ENDED)
    if found is None or not found.is_active:
        raise Unauthorized("The account behind this token is inactive or gone.")
    principal = tenancy.Principal(
        tenant_id=tenant_id,
        tenant_kind=found.kind.value,
        actor_type=actor_type,
        actor_id=actor_id,
        roles=frozenset(found.roles),
        sign_in_id=sign_in_id,
    )
    tenancy.enter(session, principal)
    return principal


def _caller_query(model: type[User | ApiClient]) -> Select[Any]:
    """One round trip, on every authenticated request: is the caller (of the token's tenant) active, with which
    roles, what kind of tenant, was this token revoked (refresh rotation, logout), and does the sign-in session the
    token names go on (I4: a sign-in of this very caller, not ended)? Core rows, built once: the columns are all the
    guard needs, and ORM objects would cost more than the query (GET /me loads its own)."""
    actor, tenants = model.__table__, Tenant.__table__
    revoked, sign_ins = RevokedToken.__table__, SignInSession.__table__
    return (
        select(actor.c.is_active, actor.c.roles, tenants.c.kind, revoked.c.jti.label("revoked"),
               sign_ins.c.id.label("sign_in"), sign_ins.c.ended_at)
        .select_from(actor.join(tenants, tenants.c.id == actor.c.tenant_id)
                     .outerjoin(revoked, revoked.c.jti == bindparam("jti"))
                     .outerjoin(sign_ins, and_(sign_ins.c.id == bindparam("sign_in", type_=Uuid()),
                                               sign_ins.c.user_id == actor.c.id,
                                               sign_ins.c.tenant_id == actor.c.tenant_id)))
        .where(actor.c.id == bindparam("actor_id"), actor.c.tenant_id == bindparam("tenant_id"))
    )


_CALLER = (_caller_query(User), _caller_query(ApiClient))
