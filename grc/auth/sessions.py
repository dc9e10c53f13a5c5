"""Sign-in sessions (I4): one row per sign-in, started at login, kept alive by refresh, ended by logout, by the user
or an admin through the API, or by the user's deactivation. The guard refuses every token of an ended session
(``grc.auth.service.authenticate``, in its one query)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import CursorResult, delete, select
from sqlalchemy.orm import Session

from grc import tenancy
from grc.api import paginate
from grc.auth.models import ADMIN_ROLES, IP_ADDRESS_LENGTH, USER_AGENT_LENGTH, SessionEnd, SignInSession, User
from grc.db import new_id, utcnow
from grc.errors import NotFound, Unauthorized
from grc.extensions import db

SIGN_IN_ENDED = "The sign-in this token belongs to has ended; sign in again."
KEPT_AFTER_END = timedelta(days=30)  # an ended or expired sign-in (its address and user agent) is kept this long


@dataclass(frozen=True)
class Device:
    """Where a sign-in comes from, as the request shows it: the client's address and its User-Agent header."""

    ip_address: str | None
    user_agent: str | None


def start(session: Session, user: User, device: Device) -> SignInSession:
    """A new sign-in of ``user``, working until its refresh token expires unless refreshed or ended before."""
    now = utcnow()
    sign_in = SignInSession(
        id=new_id(), tenant_id=user.tenant_id, user_id=user.id, created_at=now, valid_until=now + _lifetime(),
        ip_address=_cut(device.ip_address, IP_ADDRESS_LENGTH), user_agent=_cut(device.user_agent, USER_AGENT_LENGTH),
    )
    session.add(sign_in)
    return sign_in


def _cut(text: str | None, length: int) -> str | None:
    return text[:length] if text else None


def touch(session: Session, session_id: uuid.UUID) -> None:
    """A refresh: the sign-in works until the new refresh token expires (the trail leaves this out: bookkeeping).
    A sign-in ended since the guard let the token through is not revived: 401."""
    sign_in = session.get_one(SignInSession, session_id)
    if sign_in.ended_at is not None:
        raise Unauthorized(SIGN_IN_ENDED)
    sign_in.last_refreshed_at = utcnow()
    sign_in.valid_until = sign_in.last_refreshed_at + _lifetime()


def _lifetime() -> timedelta:
    lifetime: timedelta = current_app.config["JWT_REFRESH_TOKEN_EXPIRES"]
    return lifetime


def end(sign_in: SignInSession, *, reason: SessionEnd, by: uuid.UUID | None) -> None:
    """End a sign-in: every token of it is refused from the next request on. Ending an ended one changes nothing."""
    if sign_in.ended_at is not None:
        return
    now = utcnow()
    sign_in.ended_at, sign_in.ended_by, sign_in.end_reason = now, by, reason
    sign_in.valid_until = min(sign_in.valid_until, now)


def end_all(session: Session, user_id: uuid.UUID, *, reason: SessionEnd, by: uuid.UUID | None) -> None:
    """End every sign-in of the user still working (signed out everywhere)."""
    for sign_in in session.scalars(select(SignInSession).where(SignInSession.user_id == user_id,
                                                               SignInSession.ended_at.is_(None),
                                                               SignInSession.valid_until > utcnow())):
        end(sign_in, reason=reason, by=by)
    session.flush()


def purge_ended(session: Session) -> int:
    """Delete the sign-ins that stopped working over ``KEPT_AFTER_END`` ago: the client's address and user agent are
    personal data, kept while an admin may need them (the trail keeps who signed in and who ended what, without them).
    A bulk delete, of every tenant: the caller is a job in system scope."""
    result = session.execute(delete(SignInSession).where(SignInSession.valid_until < utcnow() - KEPT_AFTER_END))
    assert isinstance(result, CursorResult)  # a DELETE without RETURNING: Session.execute's typing cannot say so
    return result.rowcount or 0


# --------------------------------------------------------------------------- the API's view of them


def check_may_manage(user: User, *, caller: tenancy.Principal) -> None:
    """A user manages their own sign-ins; an admin of the tenant manages everyone's (403 otherwise)."""
    if caller.actor_type != "user" or caller.actor_id != user.id:
        tenancy.check_roles(caller, *ADMIN_ROLES)


def list_sessions(session: Session, user: User, args: dict[str, Any], *, caller: tenancy.Principal) -> dict[str, Any]:
    """The user's sign-ins, those still working first (latest ``valid_until`` first: an ended or expired one's lies
    in the past), then the ended and expired ones, most recent first."""
    check_may_manage(user, caller=caller)
    stmt = select(SignInSession).where(SignInSession.user_id == user.id)
    return paginate(session, stmt, args, [SignInSession.valid_until, SignInSession.id], descending=True)


@tenancy.path_resource("session_id")
def visible_session(session_id: uuid.UUID) -> SignInSession | None:
    return db.session.get(SignInSession, session_id)


def end_one(session: Session, user: User, sign_in: SignInSession, *, caller: tenancy.Principal) -> None:
    """End one sign-in of ``user`` (another user's session id is not found under this user)."""
    if sign_in.user_id != user.id:
        raise NotFound("No such sign-in session of this user.")
    check_may_manage(user, caller=caller)
    end(sign_in, reason=SessionEnd.ended, by=caller.actor_id)
    session.flush()


def end_every(session: Session, user: User, *, caller: tenancy.Principal) -> None:
    """Sign ``user`` out everywhere."""
    check_may_manage(user, caller=caller)
    end_all(session, user.id, reason=SessionEnd.ended, by=caller.actor_id)
