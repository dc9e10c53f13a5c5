"""OpenID Connect single sign-on (I1): a tenant's identity providers, the links of its users to a provider's
subjects, and the sign-in attempts in flight (one per redirect to a provider, usable once)."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from grc.db import SECRET, Base, IdMixin, TimestampMixin
from grc.tenancy import TenantScoped


class IdentityProvider(IdMixin, TimestampMixin, TenantScoped, Base):
    """An OpenID provider the tenant's people sign in with. The client secret is sealed (``grc.sealing``) to the
    tenant and this provider, and no answer carries it."""

    __tablename__ = "identity_providers"

    name: Mapped[str] = mapped_column(String(200))
    issuer: Mapped[str] = mapped_column(String(500))
    client_id: Mapped[str] = mapped_column(String(255))
    sealed_client_secret: Mapped[bytes] = mapped_column(LargeBinary, info=SECRET)
    allowed_email_domains: Mapped[list[str]] = mapped_column(JSON)
    role_claim: Mapped[str | None] = mapped_column(String(100))
    role_mapping: Mapped[dict[str, Any]] = mapped_column(JSON)  # claim value -> list of grc roles
    default_role: Mapped[str | None] = mapped_column(String(40))
    create_users: Mapped[bool] = mapped_column(default=False)
    enabled: Mapped[bool] = mapped_column(default=True)
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class IdentityLink(IdMixin, TenantScoped, Base):
    """A user of the tenant is the provider's subject ``subject`` (the ID token's ``sub``): once linked, the user is
    found by it, whatever e-mail the provider says later."""

    __tablename__ = "identity_links"
    __table_args__ = (UniqueConstraint("provider_id", "subject"),)

    provider_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("identity_providers.id", ondelete="CASCADE"))
    subject: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]


class SignInAttempt(IdMixin, TenantScoped, Base):
    """One redirect to a provider, kept server side: the ``state`` is stored only hashed, so the row alone cannot
    finish the sign-in; ``used_at`` makes it work once; it expires 10 minutes after the redirect. Bookkeeping: the
    audit trail records the sign-in or its refusal (``grc.sso.service``), not the attempt."""

    __in_views__ = False  # bookkeeping no cached view shows (grc.viewcache)
    __tablename__ = "sso_sign_in_attempts"
    __audit__ = False

    provider_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("identity_providers.id", ondelete="CASCADE"))
    state_hash: Mapped[str] = mapped_column(String(64), unique=True)
    nonce: Mapped[str] = mapped_column(String(64))
    code_verifier: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime] = mapped_column(index=True)
    used_at: Mapped[datetime | None]
