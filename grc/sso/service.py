"""OpenID Connect single sign-on per tenant (I1): the tenant admin's identity providers, and the authorization code
flow that ends in grc's usual token pair.

- **Providers** (``create_provider`` ...): issuer, client id, client secret (sealed with ``grc.sealing`` to the
  tenant and the provider, write-only), the e-mail domains allowed, how a claim maps to roles, the role of a
  just-in-time user. The issuer must be https (plain http only to a host the operator allowed, outside production).
- **Start** (``start``): the tenant's slug names it (a crossing: a public route has no caller); the attempt is kept
  server side (``SignInAttempt``: the state hashed, the nonce, the PKCE verifier, 10 minutes, usable once) and the
  browser is sent to the provider's authorization endpoint (discovered, and its document's ``issuer`` checked).
- **Finish** (``finish``): the attempt is used up first, whatever follows; the code is exchanged with the verifier
  and the client secret; the ID token is verified with Authlib's claims (``iss``, ``aud``, ``exp``, ``nonce``) after
  joserfc (Authlib's JOSE implementation) checked its signature against the provider's JWKS, cached and fetched
  again once when the token names a key it does not hold (key rotation). The user is the one linked to the
  provider's subject, else the one with the verified e-mail in this tenant (then linked), else created just in time.
  Every sign-in and every refusal is an event of the tenant's audit trail; a refusal is committed on its own though
  the answer is an error. Codes and tokens are never recorded.

Every call to the provider (discovery, token, JWKS) goes through ``grc.outbound``'s guard, pinned to the address it
checked, with ``GRC_SSO_TIMEOUT_SECONDS``: an issuer is an address a tenant chose.
"""
from __future__ import annotations

import base64
import json
import secrets
import threading
import time
import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from flask import current_app
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import CursorResult, bindparam, delete, select
from sqlalchemy.orm import Session

from grc import outbound, sealing, tenancy
from grc.api import paginate
from grc.audit_notes import name_action, note_event
from grc.auth import service as auth_service
from grc.auth import sessions
from grc.auth.models import ADMIN_ROLES, ROLES_BY_KIND, User
from grc.auth.passwords import lookup_digest
from grc.auth.users import add_user, check_admin_kept, check_roles
from grc.config import Settings
from grc.db import Base, new_id, utcnow
from grc.errors import BadGateway, DomainError, InvalidField, NotFound, RuleViolation, Unauthorized
from grc.extensions import db
from grc.sso.models import IdentityLink, IdentityProvider, SignInAttempt
from grc.tenants.models import Tenant, TenantKind

ATTEMPT_LIFETIME = timedelta(minutes=10)
SCOPES = "openid email profile"
CACHE_SECONDS = 3600  # discovery documents and key sets are kept this long (a rotation is caught by its kid)
MAX_DOCUMENT = 1024 * 1024  # a discovery document, a key set or a token answer is far smaller
CLOCK_LEEWAY = 60  # seconds of clock difference tolerated on exp and iat
ID_TOKEN_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
ANONYMOUS = "anonymous"  # the actor of a refused sign-in: nobody was signed in

# Which tenant a slug names, for the public start and callback of any kind of tenant (migration 0020).
TENANT_BY_SLUG = tenancy.Crossing("grc_tenant_by_slug", select(Tenant.id).where(Tenant.slug == bindparam("key")))


class SignInRefused(Unauthorized):
    """The provider's answer does not sign this person in (a failed verification, a user not allowed)."""


# --------------------------------------------------------------------------- providers (the tenant admin's)


def create_provider(session: Session, data: dict[str, Any], *, caller: tenancy.Principal) -> IdentityProvider:
    """I1: a new identity provider of the caller's tenant; its client secret is sealed to it."""
    provider = IdentityProvider(id=new_id(), tenant_id=caller.tenant_id, role_mapping={}, role_claim=None,
                                default_role=None)
    _apply(provider, data, caller=caller)
    session.add(provider)
    session.flush()
    return provider


def update_provider(session: Session, provider: IdentityProvider, data: dict[str, Any], *,
                    caller: tenancy.Principal) -> IdentityProvider:
    """I1: change any field; a new client secret replaces the sealed one."""
    _apply(provider, data, caller=caller)
    session.flush()
    return provider


def delete_provider(session: Session, provider: IdentityProvider, *, caller: tenancy.Principal) -> None:
    """I1: nobody signs in through it any more; its links to users and attempts in flight go with it."""
    tenancy.check_roles(caller, *ADMIN_ROLES)
    session.delete(provider)
    session.flush()


def list_providers(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    return paginate(session, select(IdentityProvider), args, [IdentityProvider.id])


@tenancy.path_resource("provider_id")
def visible_provider(provider_id: uuid.UUID) -> IdentityProvider | None:
    return db.session.get(IdentityProvider, provider_id)



def _apply(provider: IdentityProvider, data: dict[str, Any], *, caller: tenancy.Principal) -> None:
    """Check and set the fields given; the mapping and default role must be roles of the caller's tenant kind, and
    a provider that creates users must be able to give them a role."""
    tenancy.check_roles(caller, *ADMIN_ROLES)
    if "issuer" in data:
        provider.issuer = _checked_issuer(data["issuer"])
    if "client_secret" in data:
        provider.sealed_client_secret = sealing.seal(data["client_secret"].encode(), _kek(),
                                                     context=_bound_to(provider))
    if "allowed_email_domains" in data:
        provider.allowed_email_domains = sorted({domain.strip().lower().lstrip("@")
                                                 for domain in data["allowed_email_domains"]})
    if "role_mapping" in data:
        provider.role_mapping = {value: _roles_of_kind(caller.tenant_kind, roles, "role_mapping")
                                 for value, roles in data["role_mapping"].items()}
    if data.get("default_role") is not None:
        _roles_of_kind(caller.tenant_kind, [data["default_role"]], "default_role")
    for name in ("name", "client_id", "role_claim", "default_role", "create_users", "enabled"):
        if name in data:
            setattr(provider, name, data[name])
    if provider.role_mapping and not provider.role_claim:
        raise InvalidField("role_claim", "names the claim the role_mapping reads (e.g. groups)")
    if provider.create_users and not (provider.default_role or provider.role_mapping):
        raise InvalidField("default_role", "a provider that creates users needs a default role or a role_mapping")


def _roles_of_kind(kind: str, roles: list[str], field: str) -> list[str]:
    try:
        return check_roles(kind, roles)
    except InvalidField:
        raise InvalidField(field, f"roles must be among: {', '.join(ROLES_BY_KIND[TenantKind(kind)])}") from None


def _checked_issuer(issuer: str) -> str:
    """An https URL whose host the SSRF guard lets grc call; plain http only to a host the operator allowed (a
    provider on the same network, the tests' loopback provider), never in production."""
    settings = _settings()
    parts = urlsplit(issuer)
    insecure_allowed = (not settings.is_production
                        and outbound.allows(parts.hostname or "", settings.webhook_allowed_hosts))
    if parts.scheme != "https" and not (parts.scheme == "http" and insecure_allowed):
        raise InvalidField("issuer", "must be an https URL")
    if parts.query or parts.fragment:
        raise InvalidField("issuer", "must have no query or fragment (OpenID Connect Discovery 1.0, section 2)")
    try:
        outbound.check_destination(issuer, settings.webhook_allowed_hosts)
    except outbound.DestinationRefused as exc:
        raise InvalidField("issuer", str(exc)) from exc
    return issuer


def _bound_to(provider: IdentityProvider) -> str:
    """The sealed client secret opens for this tenant's provider only: copied onto another row, it does not."""
    return f"identity-provider-client-secret:{provider.tenant_id}:{provider.id}"


def _kek() -> bytes:
    return sealing.key_encryption_key(_settings())


def _settings() -> Settings:
    settings: Settings = current_app.config["GRC_SETTINGS"]
    return settings


# --------------------------------------------------------------------------- the flow: start


def start(session: Session, tenant_slug: str, provider_id: uuid.UUID | None) -> str:
    """I1: keep a new attempt and return the provider's authorization URL (code flow, PKCE S256, state, nonce)."""
    tenant_id = _enter_tenant(session, tenant_slug)
    provider = _chosen_provider(session, provider_id)
    metadata = discovered(provider.issuer)
    state, nonce, verifier = (secrets.token_urlsafe(32) for _ in range(3))
    session.add(SignInAttempt(tenant_id=tenant_id, provider_id=provider.id, state_hash=lookup_digest(state),
                              nonce=nonce, code_verifier=verifier, expires_at=utcnow() + ATTEMPT_LIFETIME))
    query = urlencode({"response_type": "code", "client_id": provider.client_id, "scope": SCOPES,
                       "redirect_uri": redirect_uri(tenant_slug), "state": state, "nonce": nonce,
                       "code_challenge": create_s256_code_challenge(verifier), "code_challenge_method": "S256"})
    endpoint = metadata["authorization_endpoint"]
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"


def redirect_uri(tenant_slug: str) -> str:
    """The callback the tenant registers at its provider (grc's public base URL)."""
    return f"{_settings().public_base_url.rstrip('/')}/api/v1/auth/sso/{tenant_slug}/callback"


def _enter_tenant(session: Session, tenant_slug: str) -> uuid.UUID:
    tenant_id = tenancy.tenant_of(session, TENANT_BY_SLUG, tenant_slug)
    if tenant_id is None:
        raise NotFound("No such tenant.")
    tenancy.scope_to(session, tenant_id)
    return tenant_id


def _chosen_provider(session: Session, provider_id: uuid.UUID | None) -> IdentityProvider:
    """The provider asked for, or the tenant's only enabled one (its only one, if none is); a disabled provider
    signs nobody in."""
    if provider_id is not None:
        provider = session.get(IdentityProvider, provider_id)
        if provider is None:
            raise NotFound("The tenant has no such identity provider.")
    else:
        candidates = session.scalars(select(IdentityProvider)).all()
        enabled = [candidate for candidate in candidates if candidate.enabled]
        chosen = enabled or candidates
        if len(chosen) != 1:
            raise InvalidField("provider", "name the identity provider (the tenant has none, or several)")
        provider = chosen[0]
    if not provider.enabled:
        raise SignInRefused("This identity provider is disabled.")
    return provider


def purge_expired_attempts(session: Session) -> int:
    """Attempts past their 10 minutes can no longer be used (nor replayed): drop them (the nightly purge, in system
    scope). Returns how many went."""
    result = session.execute(delete(SignInAttempt).where(SignInAttempt.expires_at < utcnow()))
    assert isinstance(result, CursorResult)  # a DELETE without RETURNING: Session.execute's typing cannot say so
    return result.rowcount or 0


# --------------------------------------------------------------------------- the flow: finish


def finish(session: Session, tenant_slug: str, answer: dict[str, Any], device: sessions.Device) -> dict[str, Any]:
    """I1: the provider sent the browser back: verify everything, sign the user in, and answer the token pair. A
    refusal is recorded in the tenant's trail in its own transaction, then raised (4xx, 502 for a provider down)."""
    tenant_id = _enter_tenant(session, tenant_slug)
    attempt = session.scalars(select(SignInAttempt).where(
        SignInAttempt.state_hash == lookup_digest(answer.get("state") or ""))).one_or_none()
    try:
        user, provider, subject = _signed_in(session, tenant_id, attempt, answer)
    except DomainError as refusal:
        _record_refusal(session, tenant_id, attempt.id if attempt else None, refusal)
        raise
    note_event(session, "sso.signed_in", user,
               {"provider_id": provider.id, "provider": provider.name, "subject": subject})
    return auth_service.start_sign_in(session, user, device)


def _signed_in(session: Session, tenant_id: uuid.UUID, attempt: SignInAttempt | None,
               answer: dict[str, Any]) -> tuple[User, IdentityProvider, str]:
    if attempt is None or attempt.used_at is not None:
        raise SignInRefused("The sign-in attempt is unknown or was already used (state); start again.")
    attempt.used_at = utcnow()  # used up now, whatever follows
    if attempt.expires_at < attempt.used_at:
        raise SignInRefused("The sign-in attempt expired; start again.")
    if answer.get("error"):
        raise SignInRefused(f"The identity provider refused the sign-in: {answer['error']}.")
    if not answer.get("code"):
        raise InvalidField("code", "is required")
    provider = session.get_one(IdentityProvider, attempt.provider_id)
    if not provider.enabled:
        raise SignInRefused("This identity provider is disabled.")
    metadata = discovered(provider.issuer)
    tokens = _exchanged(metadata, provider, answer["code"], attempt.code_verifier, _tenant_slug(session, tenant_id))
    claims = verified_id_token(tokens.get("id_token"), metadata, provider, attempt.nonce)
    return _user_for(session, tenant_id, provider, claims), provider, str(claims["sub"])


def _tenant_slug(session: Session, tenant_id: uuid.UUID) -> str:
    return session.get_one(Tenant, tenant_id).slug


def _record_refusal(session: Session, tenant_id: uuid.UUID, attempt_id: uuid.UUID | None,
                    refusal: DomainError) -> None:
    """Undo whatever the refused sign-in staged, then, in a transaction of its own, keep its attempt used up and
    record the refusal (the reason, never a code or a token)."""
    session.rollback()
    tenancy.set_actor(session, ANONYMOUS, None)
    attempt = session.get(SignInAttempt, attempt_id) if attempt_id else None
    about: Base = session.get_one(Tenant, tenant_id)
    details: dict[str, Any] = {"reason": refusal.detail, "status": refusal.status}
    if attempt is not None:
        attempt.used_at = attempt.used_at or utcnow()
        about = session.get_one(IdentityProvider, attempt.provider_id)
        details["provider_id"] = attempt.provider_id
    note_event(session, "sso.refused", about, details)
    session.commit()


def _user_for(session: Session, tenant_id: uuid.UUID, provider: IdentityProvider, claims: dict[str, Any]) -> User:
    """The user the provider vouches for: linked by subject, else by verified e-mail in this tenant (and linked),
    else created just in time; roles follow the claim at each sign-in when the provider maps one."""
    email = _allowed_email(provider, claims)
    link = session.scalars(select(IdentityLink).where(IdentityLink.provider_id == provider.id,
                                                      IdentityLink.subject == str(claims["sub"]))).one_or_none()
    user = session.get_one(User, link.user_id) if link else _user_by_email(session, provider, email, claims)
    if not user.is_active:
        raise SignInRefused("The account is inactive.")
    if link is None:
        link = IdentityLink(provider_id=provider.id, subject=str(claims["sub"]), user_id=user.id, created_at=utcnow())
        name_action(session, link, "sso.linked")
        session.add(link)
    if provider.role_mapping:
        _follow_claim(session, user, _mapped_roles(provider, claims))
    session.flush()
    return user


def _follow_claim(session: Session, user: User, roles: list[str]) -> None:
    """The user's roles become the mapped ones, except that the tenant keeps an active administrator (T1): a group
    change at the provider that would demote the last one leaves their roles as they are, and the sign-in goes on."""
    if roles == sorted(user.roles):
        return
    held, user.roles = user.roles, roles
    session.flush()
    try:
        check_admin_kept(session)
    except RuleViolation:
        user.roles = held


def _allowed_email(provider: IdentityProvider, claims: dict[str, Any]) -> str:
    email = str(claims.get("email") or "").strip().lower()
    if not email or claims.get("email_verified") is not True:
        raise SignInRefused("The identity provider vouches for no verified e-mail address (scope email).")
    if email.rpartition("@")[2] not in provider.allowed_email_domains:
        raise SignInRefused("The e-mail address is outside the domains this provider may sign in.")
    return email


def _user_by_email(session: Session, provider: IdentityProvider, email: str, claims: dict[str, Any]) -> User:
    user = session.scalars(select(User).where(User.email == email)).one_or_none()
    if user is not None:
        return user
    if tenancy.tenant_of(session, auth_service.SIGN_IN, email) is not None:
        raise SignInRefused("The e-mail address belongs to a user of another tenant.")
    if not provider.create_users:
        raise SignInRefused("No user of this tenant has this e-mail address, and the provider creates none.")
    name = str(claims.get("name") or email)[:200]
    return add_user(session, email=email, name=name, password=None, roles=_mapped_roles(provider, claims))


def _mapped_roles(provider: IdentityProvider, claims: dict[str, Any]) -> list[str]:
    """The roles the claim's values map to, else the default role; none at all is a refusal."""
    values = claims.get(provider.role_claim) if provider.role_claim else None
    values = [values] if isinstance(values, str) else values if isinstance(values, list) else []
    roles = {role for value in values if isinstance(value, str) for role in provider.role_mapping.get(value, [])}
    if not roles and provider.default_role:
        roles = {provider.default_role}
    if not roles:
        raise SignInRefused("The identity provider's claims map to no role of this tenant.")
    return sorted(roles)


# --------------------------------------------------------------------------- talking to the provider

_cache_lock = threading.Lock()
_documents: dict[str, tuple[float, dict[str, Any]]] = {}  # issuer -> discovery document
_key_sets: dict[str, tuple[float, KeySet]] = {}  # jwks_uri -> keys


def discovered(issuer: str) -> dict[str, Any]:
    """The provider's discovery document (cached), whose ``issuer`` must be the one configured."""
    cached = _documents.get(issuer)
    if cached and cached[0] > time.monotonic():
        return cached[1]
    document = _call("GET", issuer.rstrip("/") + "/.well-known/openid-configuration")
    if document.get("issuer") != issuer:
        raise BadGateway("The identity provider's discovery document names another issuer.")
    for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(document.get(name), str):
            raise BadGateway(f"The identity provider's discovery document has no {name}.")
    with _cache_lock:
        _documents[issuer] = (time.monotonic() + CACHE_SECONDS, document)
    return document


def _exchanged(metadata: dict[str, Any], provider: IdentityProvider, code: str, verifier: str,
               tenant_slug: str) -> dict[str, Any]:
    """The token endpoint's answer for the code (with the PKCE verifier and the client secret)."""
    secret = sealing.unseal(provider.sealed_client_secret, _kek(), context=_bound_to(provider)).decode()
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri(tenant_slug),
            "code_verifier": verifier}
    headers = {}
    if "client_secret_basic" in metadata.get("token_endpoint_auth_methods_supported", ["client_secret_basic"]):
        pair = f"{_form_escaped(provider.client_id)}:{_form_escaped(secret)}".encode()
        headers["authorization"] = "Basic " + base64.b64encode(pair).decode()
    else:
        form |= {"client_id": provider.client_id, "client_secret": secret}
    return _call("POST", metadata["token_endpoint"], form=form, headers=headers)


def _form_escaped(value: str) -> str:
    """RFC 6749 section 2.3.1: the client id and secret are form-encoded before they are joined."""
    return urlencode({"": value})[1:]


def verified_id_token(id_token: Any, metadata: dict[str, Any], provider: IdentityProvider,
                      nonce: str) -> dict[str, Any]:
    """The ID token's claims once joserfc checked its signature against the provider's keys and Authlib's
    ``CodeIDToken`` its ``iss``, ``aud``, ``exp``, ``iat`` and ``nonce``; ``SignInRefused`` otherwise."""
    if not isinstance(id_token, str):
        raise SignInRefused("The identity provider answered no ID token.")
    try:
        kid = jws.extract_compact(id_token.encode()).headers().get("kid")
        token = jwt.decode(id_token, _keys(metadata["jwks_uri"], kid), algorithms=ID_TOKEN_ALGORITHMS)
        claims = CodeIDToken(token.claims, token.header,
                             options={"iss": {"essential": True, "value": provider.issuer},
                                      "aud": {"essential": True, "value": provider.client_id},
                                      "sub": {"essential": True}},
                             params={"nonce": nonce, "client_id": provider.client_id})
        claims.validate(leeway=CLOCK_LEEWAY)
    except (JoseError, ValueError) as exc:
        raise SignInRefused(f"The ID token does not verify: {exc}") from exc
    return dict(claims)


def _keys(jwks_uri: str, kid: str | None) -> KeySet:
    """The provider's key set (cached); fetched again once when the token names a key it does not hold."""
    cached = _key_sets.get(jwks_uri)
    if cached and cached[0] > time.monotonic() and (kid is None or any(key.kid == kid for key in cached[1].keys)):
        return cached[1]
    try:
        keys = KeySet.import_key_set(_call("GET", jwks_uri))  # type: ignore[arg-type]
    except (JoseError, ValueError, TypeError) as exc:
        raise BadGateway("The identity provider's key set (jwks_uri) cannot be read.") from exc
    with _cache_lock:
        _key_sets[jwks_uri] = (time.monotonic() + CACHE_SECONDS, keys)
    return keys


def _call(method: str, url: str, *, form: dict[str, str] | None = None,
          headers: dict[str, str] | None = None) -> dict[str, Any]:
    """One guarded, pinned call answering a JSON object. A provider down, slow or answering nonsense is a 502; the
    token endpoint refusing the code (4xx) is a refused sign-in."""
    settings = _settings()
    headers = {"accept": "application/json", "user-agent": "grc-sso/1", **(headers or {})}
    content = None
    if form is not None:
        headers["content-type"] = "application/x-www-form-urlencoded"
        content = urlencode(form).encode()
    try:
        reply = outbound.call(method, url, settings.webhook_allowed_hosts, headers, settings.sso_timeout_seconds,
                              limit=MAX_DOCUMENT, content=content)
    except outbound.DestinationRefused as exc:
        raise BadGateway(f"The identity provider's address is refused: {exc}") from exc
    except httpx.HTTPError as exc:
        raise BadGateway(f"The identity provider did not answer: {outbound.failure_text(exc)}") from exc
    if form is not None and 400 <= reply.status < 500:
        raise SignInRefused(f"The identity provider refused the code (HTTP {reply.status}).")
    if reply.status != 200 or len(reply.body) > MAX_DOCUMENT:
        raise BadGateway(f"The identity provider answered HTTP {reply.status} at {url}.")
    try:
        body = json.loads(reply.body)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise BadGateway(f"The identity provider answered no JSON object at {url}.")
    return body
