"""Who is calling, and the single place where what they may see is enforced.

Three walls, all here:

1. Every ORM query on a ``TenantScoped`` model gets the caller's visibility criteria added by a
   ``do_orm_execute`` hook (also lazy loads, ``update()`` and ``delete()``). With no tenant in the session
   the criteria are ``false``: a service that forgets the scope sees nothing, never everything.
   Jobs and the CLI opt out explicitly with ``system_scope()``; the API's few reads across tenants (login, public
   lookups) ask a narrow question first (``Crossing``) and read inside the tenant it names (``within``).
2. New rows are stamped with the caller's tenant in ``before_flush``; writing a row of another tenant
   needs an explicit ``allow_write_to(tenant_id)`` by a service that has checked the relationship.
3. On PostgreSQL every transaction enters the session's scope in the database (``grc_enter_scope``: the tenant
   and the tenants it may write to, with a proof made with ``scope_key``; or ``app.rls_bypass``, which only the
   owner role of jobs and the CLI holds), which the row-level security policies of the migrations key on: a raw
   query without the application filter is still scoped, and a statement cannot change the scope (grc/rls.py).

Path parameters that name a resource (``client_id``, ``user_id``...) are resolved before the view runs, by
the loader the owning domain registered with ``path_resource``; an invisible id answers 404 before any
body is parsed or any permission is checked, so ids cannot be probed.
"""
from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from flask import g
from sqlalchemy import ColumnElement, ForeignKey, Select, column, false, or_, text
from sqlalchemy.orm import (
    Mapped,
    ORMExecuteState,
    Session,
    declared_attr,
    mapped_column,
    relationship,
    with_loader_criteria,
)

from grc.errors import Forbidden, NotFound, Unauthorized

TENANT_KEY = "tenant_id"
KIND_KEY = "tenant_kind"
CERTIFICATION_BODY, CLIENT_ORGANISATION = "certification_body", "client_organisation"  # TenantKind values
SYSTEM_KEY = "system_scope"
WRITABLE_KEY = "writable_tenants"
ACTOR_KEY = "audit_actor"


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: a user or an API client, acting in exactly one tenant."""

    tenant_id: uuid.UUID
    tenant_kind: str
    actor_type: str  # "user" | "api_client"
    actor_id: uuid.UUID
    roles: frozenset[str]
    sign_in_id: uuid.UUID | None = None  # the sign-in session (I4) the token belongs to; None for machine clients

    def has_any(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def person_id(self) -> uuid.UUID:
        """The user who acts, for the acts a person answers for and the record names (ISO/IEC 17021-1: who raised a
        finding, who decided; ISO 31000: who assessed, accepted, reviewed, tested; who granted a licence, uploaded
        evidence). A machine client holding the role is refused (403), never recorded as nobody."""
        if self.actor_type != "user":
            raise Forbidden("A person answers for this act: sign in as a user; an API client cannot do it.")
        return self.actor_id


class TenantScoped:
    """Mixin for rows owned by one tenant. Override ``visible_to`` for rows another tenant may also see."""

    @declared_attr
    def tenant_id(cls) -> Mapped[uuid.UUID]:  # noqa: N805 - declared_attr receives the class
        return mapped_column(ForeignKey("tenants.id"), index=True)

    @declared_attr
    def tenant(cls) -> Mapped[Any]:  # noqa: N805
        """Never loaded (lazy="raise"); it tells the unit of work to insert a new tenant before its rows."""
        return relationship("Tenant", foreign_keys=[cls.tenant_id], lazy="raise")  # type: ignore[list-item]

    @classmethod
    def visible_to(cls, tenant_id: uuid.UUID) -> ColumnElement[bool]:
        if cls is TenantScoped:  # with_loader_criteria probes the lambda once with the mixin itself
            return column("tenant_id") == tenant_id
        return cls.tenant_id == tenant_id

    @classmethod
    def visible_to_cb(cls, tenant_id: uuid.UUID) -> ColumnElement[bool]:
        """``visible_to`` for a certification body: the same rows, restated by a class whose OR has a branch no CB
        can match, so the condition is on one column and a list walks one ``(column, id)`` index."""
        return cls.visible_to(tenant_id)

    @classmethod
    def visible_to_client(cls, tenant_id: uuid.UUID) -> ColumnElement[bool]:
        """``visible_to`` for a client organisation, restated the same way."""
        return cls.visible_to(tenant_id)


class SharedWithClient:
    """Mixin for rows owned by one tenant (``tenant_id``) and also visible to the organisation they concern
    (``client_tenant_id``): a CB's audits, findings, certificates and licences about a client."""

    @classmethod
    def visible_to(cls, tenant_id: uuid.UUID) -> ColumnElement[bool]:
        return or_(cls.tenant_id == tenant_id, cls.client_tenant_id == tenant_id)  # type: ignore[attr-defined]

    # ``visible_to`` restated for one caller: a CB sees the rows it owns (no CB is ever the subject of another
    # tenant's row), a client the rows about it (its own rows name it as their subject too). The same rows, but on
    # one column, so a list walks the ``(tenant_id, id)`` or ``(client_tenant_id, id)`` index in id order.

    @classmethod
    def visible_to_cb(cls, tenant_id: uuid.UUID) -> ColumnElement[bool]:
        return cls.tenant_id == tenant_id  # type: ignore[attr-defined,no-any-return]

    @classmethod
    def visible_to_client(cls, tenant_id: uuid.UUID) -> ColumnElement[bool]:
        return cls.client_tenant_id == tenant_id  # type: ignore[attr-defined,no-any-return]


# --------------------------------------------------------------------------- the caller


def current() -> Principal:
    """The caller of this request; 401 if there is none (the route forgot to authenticate)."""
    principal: Principal | None = g.get("principal")
    if principal is None:
        raise Unauthorized("Authentication required.")
    return principal


def set_actor(session: Session, actor_type: str, actor_id: uuid.UUID | None) -> None:
    """Name who acts in this unit of work (the audit trail records it): the caller, or a login, the CLI, a job."""
    session.info[ACTOR_KEY] = (actor_type, actor_id)


def actor(session: Session) -> tuple[str, uuid.UUID | None]:
    """Who acts in this unit of work; ``("system", None)`` when nobody was named (jobs, sweeps)."""
    return session.info.get(ACTOR_KEY) or ("system", None)


def has_principal() -> bool:
    """Whether a caller is set (jobs and sweeps run without one)."""
    return g.get("principal") is not None


def enter(session: Session, principal: Principal) -> None:
    """Scope the request's session to the caller's tenant."""
    g.principal = principal
    scope_to(session, principal.tenant_id, principal.tenant_kind)
    set_actor(session, principal.actor_type, principal.actor_id)


def scope_to(session: Session, tenant_id: uuid.UUID, kind: str | None = None) -> None:
    """Scope ``session`` (query criteria and row-level security) to ``tenant_id``, without naming a caller;
    ``kind`` (the tenant's) lets the criteria take their one-column form."""
    session.info[TENANT_KEY] = tenant_id
    session.info[KIND_KEY] = kind
    session.info.pop(SYSTEM_KEY, None)
    _apply_rls(session)


def require_roles(*roles: str) -> Principal:
    """403 unless the caller of this request holds one of ``roles`` (call it after the resource was found visible)."""
    return check_roles(current(), *roles)


def check_roles(caller: Principal, *roles: str) -> Principal:
    """403 unless ``caller`` holds one of ``roles``; a service given its caller checks with this."""
    if not caller.has_any(*roles):
        raise Forbidden(f"This action needs one of the roles: {', '.join(roles)}.")
    return caller


@contextmanager
def system_scope(session: Session) -> Iterator[Session]:
    """Run without tenant criteria: jobs, CLI, login and public lookups, which pick their rows themselves."""
    previous = session.info.get(SYSTEM_KEY)
    session.info[SYSTEM_KEY] = True
    _apply_rls(session)
    try:
        yield session
    finally:
        if previous is None:
            session.info.pop(SYSTEM_KEY, None)
        _apply_rls(session)


@contextmanager
def within(session: Session, tenant_id: uuid.UUID, kind: str | None = None) -> Iterator[Session]:
    """Read inside ``tenant_id``'s scope (the one a crossing named), then return to the session's own scope; nothing
    is flushed meanwhile (the session's own changes belong to its own scope)."""
    before = (session.info.get(TENANT_KEY), session.info.get(KIND_KEY), session.info.get(SYSTEM_KEY))
    scope_to(session, tenant_id, kind)
    try:
        with session.no_autoflush:
            yield session
    finally:
        session.info[TENANT_KEY], session.info[KIND_KEY] = before[:2]
        if before[2] is not None:
            session.info[SYSTEM_KEY] = before[2]
        _apply_rls(session)


@dataclass(frozen=True)
class Crossing:
    """One narrow question the API may ask across tenants: which tenant owns ``key`` (an e-mail, a public number)?

    The API's database role cannot see other tenants' rows, so on PostgreSQL a ``SECURITY DEFINER`` function of the
    database owner (``function``, migration 0011) answers it and nothing more; the caller then reads inside that
    tenant's scope (``within``). Without roles (SQLite) ``query`` (one column, parameter ``key``) answers it in
    system scope.
    """

    function: str
    query: Select[Any]


def tenant_of(session: Session, crossing: Crossing, key: str) -> uuid.UUID | None:
    """The tenant ``crossing`` names for ``key``, or None (also for a key no row can hold: PostgreSQL refuses U+0000
    in text, and a public lookup must answer 404 for it, not fail)."""
    if "\x00" in key:
        return None
    if session.get_bind().dialect.name == "postgresql":
        found: uuid.UUID | None = session.execute(text(f"SELECT {crossing.function}(:key)"), {"key": key}).scalar()
        return found
    with system_scope(session):
        return session.execute(crossing.query, {"key": key}).scalar()


def allow_write_to(session: Session, tenant_id: uuid.UUID) -> None:
    """Let this unit of work create rows in another tenant (e.g. a CB onboarding its client's admin)."""
    session.info.setdefault(WRITABLE_KEY, set()).add(tenant_id)
    _apply_rls(session)


# --------------------------------------------------------------------------- path resources

PathLoader = Callable[[uuid.UUID], object | None]
_path_loaders: dict[str, PathLoader] = {}
Loader = TypeVar("Loader", bound=PathLoader)
Resource = TypeVar("Resource")


def path_resource(param: str) -> Callable[[Loader], Loader]:
    """Register the loader of the resource a path parameter names; it returns None when not visible."""

    def register(loader: Loader) -> Loader:
        _path_loaders[param] = loader
        return loader

    return register


def resolved(loader: Callable[[uuid.UUID], Resource | None], resource_id: uuid.UUID) -> Resource:
    """In a view: the resource its path names, by the loader the guard already ran (``resolve_path_resources``
    answered 404 before the view for an id the caller cannot see, so the NotFound here is only a backstop)."""
    resource = loader(resource_id)
    if resource is None:
        raise NotFound("No such resource.")
    return resource


def registered_path_params() -> frozenset[str]:
    return frozenset(_path_loaders)


def resolve_path_resources(view_args: dict[str, Any] | None) -> None:
    """404 for any path parameter naming a resource the caller cannot see.

    The resources found are kept on ``g`` until the request ends: the session's identity map holds objects
    weakly, so once dropped here the view's own lookup of the same id queried it (and its collections) again.
    """
    found = []
    for name, value in (view_args or {}).items():
        loader = _path_loaders.get(name)
        if loader is None:
            continue
        resource = loader(value)
        if resource is None:
            raise NotFound("No such resource.")
        found.append(resource)
    g.path_resources = found


# --------------------------------------------------------------------------- session hooks


class _ScopeRegistry:
    """The lambda handed to with_loader_criteria must be the same code object every time (it is cached)."""

    @staticmethod
    def criteria(tenant_id: uuid.UUID, kind: str | None) -> Any:
        """The caller's walls; one lambda per tenant kind, as the statement's shape differs by kind (the cache
        keys on the lambda's code, not on the values it closes over)."""
        if kind == CERTIFICATION_BODY:
            return with_loader_criteria(TenantScoped, lambda cls: cls.visible_to_cb(tenant_id), include_aliases=True,
                                        track_closure_variables=False)
        if kind == CLIENT_ORGANISATION:
            return with_loader_criteria(TenantScoped, lambda cls: cls.visible_to_client(tenant_id),
                                        include_aliases=True, track_closure_variables=False)
        return with_loader_criteria(TenantScoped, lambda cls: cls.visible_to(tenant_id), include_aliases=True,
                                    track_closure_variables=False)

    deny: ClassVar[Any] = with_loader_criteria(TenantScoped, lambda cls: false(), include_aliases=True)


def scope_queries(state: ORMExecuteState) -> None:
    """Wall 1: the caller's visibility criteria on every ORM select, update and delete."""
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if state.session.info.get(SYSTEM_KEY):
        return
    tenant_id = state.session.info.get(TENANT_KEY)
    kind = state.session.info.get(KIND_KEY)
    option = _ScopeRegistry.deny if tenant_id is None else _ScopeRegistry.criteria(tenant_id, kind)
    state.statement = state.statement.options(option)


def stamp_new_rows(session: Session, _ctx: Any, _instances: Any) -> None:
    """Wall 2: new rows get the caller's tenant; a row of another tenant needs ``allow_write_to``."""
    tenant_id = session.info.get(TENANT_KEY)
    writable = session.info.get(WRITABLE_KEY, set())
    system = session.info.get(SYSTEM_KEY)
    for obj in list(session.new) + list(session.dirty):
        if not isinstance(obj, TenantScoped):
            continue
        if obj.tenant_id is None:
            obj.tenant_id = tenant_id
        if system and obj.tenant_id is not None:
            continue
        if obj.tenant_id is None or (obj.tenant_id != tenant_id and obj.tenant_id not in writable):
            raise PermissionError(f"refusing to write a {type(obj).__name__} outside the caller's tenant")


RLS_APPLIED_KEY = "rls_applied"
SCOPE_KEY = "scope_key"  # in session.info (the app's sessionmaker puts it there): proves scopes to PostgreSQL
_ENTER_SCOPE = text("SELECT grc_enter_scope(:tid, :writable, :proof), set_config('app.rls_bypass', :bypass, true)")


def scope_key(secret_key: str) -> bytes:
    """The key the app proves its tenant scopes with, derived from its secret key (``grc db upgrade`` stores the same
    key where only the database owner reads it)."""
    return hmac.new(secret_key.encode(), b"grc row-level security scope", hashlib.sha256).digest()


def scope_proof(key: bytes, tenant: str, writable: str) -> bytes:
    """What ``grc_enter_scope`` checks before it sets a scope: sha256 of the scope and the key (migration 0011)."""
    return hashlib.sha256(f"{tenant}|{writable}".encode() + key).digest()


def rls_on_begin(session: Session, _transaction: Any, connection: Any) -> None:
    """Wall 3: a new transaction starts with the row-level security settings of the session's scope."""
    session.info.pop(RLS_APPLIED_KEY, None)  # a new transaction starts with nothing set
    _set_rls(session, connection)


def _apply_rls(session: Session) -> None:
    if session.in_transaction():
        _set_rls(session, session.connection())


def _set_rls(session: Session, connection: Any) -> None:
    """Enter the session's scope in the database for this transaction, unless already there (scopes are entered and
    left several times per request; each real change costs one round trip). The proof goes as a parameter, so no
    statement of the transaction can read it back."""
    if connection.dialect.name != "postgresql":
        return
    tenant_id = session.info.get(TENANT_KEY)
    settings = {
        "tid": str(tenant_id) if tenant_id else "",
        "bypass": "on" if session.info.get(SYSTEM_KEY) else "off",
        "writable": ",".join(sorted(str(t) for t in session.info.get(WRITABLE_KEY, ()))),
    }
    if session.info.get(RLS_APPLIED_KEY) == settings:
        return
    proof = None
    if settings["tid"] or settings["writable"]:
        key = session.info.get(SCOPE_KEY)
        if key is None:
            raise RuntimeError("this session has no scope key (grc.tenancy.SCOPE_KEY) to enter a tenant's scope")
        proof = scope_proof(key, settings["tid"], settings["writable"])
    connection.execute(_ENTER_SCOPE, {**settings, "proof": proof})
    session.info[RLS_APPLIED_KEY] = settings
