"""Users, machine clients, sign-in sessions and revoked tokens; the role catalogue of docs/DESIGN.md
section 2."""
from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from grc.db import SECRET, UNAUDITED, Base, IdMixin, TimestampMixin, enum_column, utcnow
from grc.tenancy import TenantScoped
from grc.tenants.models import TenantKind

ROLES_BY_KIND: dict[TenantKind, tuple[str, ...]] = {
    TenantKind.platform: ("platform_admin",),
    TenantKind.certification_body: ("cb_admin", "certification_manager", "auditor", "cb_viewer"),
    TenantKind.client_organisation: ("client_admin", "risk_manager", "member", "client_viewer"),
}
ALL_ROLES: tuple[str, ...] = tuple(role for roles in ROLES_BY_KIND.values() for role in roles)
ADMIN_ROLES = ("platform_admin", "cb_admin", "client_admin")
USER_AGENT_LENGTH = 200  # enough to tell browsers and devices apart; longer ones are cut
IP_ADDRESS_LENGTH = 45  # the longest IPv6 text (IPv4-mapped)



class User(IdMixin, TimestampMixin, TenantScoped, Base):
    """A person; belongs to one tenant and holds one or more of that tenant kind's roles."""

    __tablename__ = "users"

    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200), info=SECRET)
    roles: Mapped[list[str]] = mapped_column(JSON)
    is_active: Mapped[bool] = mapped_column(default=True)
    external_id: Mapped[str | None] = mapped_column(String(200))  # the identity provider's id (SCIM externalId)
    deprovisioned_at: Mapped[datetime | None]  # deleted by SCIM: inactive, kept for the trail, gone from /scim/v2
    last_login_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class ApiClient(IdMixin, TimestampMixin, TenantScoped, Base):
    """An integration's credentials: a public client id and a secret stored only as an argon2id hash."""

    __tablename__ = "api_clients"

    name: Mapped[str] = mapped_column(String(200))
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(200), info=SECRET)
    roles: Mapped[list[str]] = mapped_column(JSON)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[uuid.UUID | None]
    last_used_at: Mapped[datetime | None]


class SessionEnd(enum.StrEnum):
    """Why a sign-in ended: its own logout, ended through the API (by the user or an admin, ``ended_by`` says who),
    or its user was deactivated."""

    logout = "logout"
    ended = "ended"
    deactivated = "deactivated"


class SignInSession(IdMixin, TenantScoped, Base):
    """One sign-in of a user (I4): every access and refresh token of it carries its id as ``sid``, across refresh
    rotations; once ``ended_at`` is set the guard refuses them all. ``valid_until`` is when the sign-in stops
    working by itself (its last refresh token's expiry), cut to the moment it ends: sorted on it, the sessions still
    working come first. The client's address and user agent are personal data: the audit trail records only that
    they were set, and the row goes (``grc.jobs.job_functions.purge_expired_tokens``) some days after the end."""

    __in_views__ = False  # bookkeeping no cached view shows (grc.viewcache)
    __tablename__ = "sign_in_sessions"
    __table_args__ = (Index("ix_sign_in_sessions_user_page", "user_id", "valid_until", "id"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime]
    last_refreshed_at: Mapped[datetime | None] = mapped_column(info=UNAUDITED)
    valid_until: Mapped[datetime] = mapped_column(index=True, info=UNAUDITED)
    ended_at: Mapped[datetime | None]
    ended_by: Mapped[uuid.UUID | None]
    end_reason: Mapped[SessionEnd | None] = mapped_column(enum_column(SessionEnd, "session_end"))
    user_agent: Mapped[str | None] = mapped_column(String(USER_AGENT_LENGTH), info=SECRET)
    ip_address: Mapped[str | None] = mapped_column(String(IP_ADDRESS_LENGTH), info=SECRET)

    @property
    def active(self) -> bool:
        """Its tokens still work: not ended, and its last refresh token has not expired."""
        return self.ended_at is None and self.valid_until > utcnow()


class RevokedToken(Base):
    """A JWT revoked before its expiry (refresh rotation, logout); rows past ``expires_at`` can be purged."""

    __tablename__ = "revoked_tokens"
    __audit__ = False

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class SignInPolicy(IdMixin, TenantScoped, Base):
    """How a tenant's users may sign in (I1, I2): a tenant without a row has the defaults (password alone).
    ``require_mfa``: password users need a second factor; ``require_sso``: password login is refused, except for the
    ``break_glass_user_ids`` (active admins of the tenant), so a broken identity provider cannot lock the tenant out."""

    __tablename__ = "sign_in_policies"
    __table_args__ = (UniqueConstraint("tenant_id"),)

    require_mfa: Mapped[bool] = mapped_column(default=False)
    require_sso: Mapped[bool] = mapped_column(default=False)
    break_glass_user_ids: Mapped[list[str]] = mapped_column(JSON, default=list)


class SecondFactor(IdMixin, TenantScoped, Base):
    """A user's TOTP factor (I2, RFC 6238): the shared secret sealed (grc.sealing, bound to the user), working once
    ``confirmed_at`` is set. ``last_used_step`` is the time step of the last code accepted, so a code is accepted once.
    ``recovery_code_hashes`` are argon2id hashes of the one-time recovery codes still unused."""

    __in_views__ = False  # bookkeeping no cached view shows (grc.viewcache)
    __tablename__ = "second_factors"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    sealed_secret: Mapped[bytes] = mapped_column(LargeBinary, info=SECRET)
    confirmed_at: Mapped[datetime | None]
    last_used_step: Mapped[int | None] = mapped_column(info=UNAUDITED)
    recovery_code_hashes: Mapped[list[str]] = mapped_column(JSON, default=list, info=SECRET)


class MfaTicketPurpose(enum.StrEnum):
    """What a ticket lets the holder do after a right password: give a code, or enrol a factor first."""

    verify = "verify"
    enrol = "enrol"


class MfaTicket(IdMixin, TenantScoped, Base):
    """The first step of a two-step login (I2): a right password gave this ticket; the second step presents it with a
    code. Only a SHA-256 of its secret is kept; it expires (minutes), is used once, and dies after a few wrong codes."""

    __in_views__ = False  # bookkeeping no cached view shows (grc.viewcache)
    __tablename__ = "mfa_tickets"
    __audit__ = False  # the trail records the sign-in steps themselves (sign_in.* events)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    purpose: Mapped[MfaTicketPurpose] = mapped_column(enum_column(MfaTicketPurpose, "mfa_ticket_purpose"))
    expires_at: Mapped[datetime] = mapped_column(index=True)
    used_at: Mapped[datetime | None]
    failures: Mapped[int] = mapped_column(default=0)
