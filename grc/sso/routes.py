"""Single sign-on (I1): the tenant admin's identity providers, and the public start and callback of the flow."""
from __future__ import annotations

import uuid
from typing import Any

from flask import redirect, request
from werkzeug.wrappers import Response

from grc import tenancy
from grc.api import Blueprint
from grc.auth import sessions
from grc.auth.models import ADMIN_ROLES
from grc.auth.routes import login_limit_ip
from grc.auth.schemas import TokenPairSchema
from grc.extensions import db, limiter
from grc.guard import public, requires
from grc.schemas import ListArgs, page_of
from grc.sso import service
from grc.sso.models import IdentityProvider
from grc.sso.schemas import (
    IdentityProviderCreateSchema,
    IdentityProviderSchema,
    IdentityProviderUpdateSchema,
    SsoCallbackArgs,
    SsoStartArgs,
)

providers = Blueprint("identity_providers", __name__, url_prefix="/api/v1/identity-providers",
                      description="The tenant's OpenID Connect identity providers for single sign-on (I1)")
sso = Blueprint("sso", __name__, url_prefix="/api/v1/auth/sso",
                description="Single sign-on through the tenant's OpenID provider (authorization code flow, PKCE)")


@providers.route("", methods=["POST"])
@requires(*ADMIN_ROLES)
@providers.arguments(IdentityProviderCreateSchema)
@providers.response(201, IdentityProviderSchema)
def create_identity_provider(data: dict[str, Any]) -> IdentityProvider:
    """Rule I1: add an OpenID provider; the client secret is stored sealed and never shown again."""
    return service.create_provider(db.session, data, caller=tenancy.current())


@providers.route("", methods=["GET"])
@requires(*ADMIN_ROLES)
@providers.arguments(ListArgs, location="query")
@providers.response(200, page_of(IdentityProviderSchema))
def list_identity_providers(args: dict[str, Any]) -> dict[str, Any]:
    """Rule I1: the tenant's identity providers (without their secrets)."""
    return service.list_providers(db.session, args)


@providers.route("/<uuid:provider_id>", methods=["GET"])
@requires(*ADMIN_ROLES)
@providers.etag
@providers.response(200, IdentityProviderSchema)
def get_identity_provider(provider_id: uuid.UUID) -> IdentityProvider:
    """Rule I1: one identity provider, with its ETag (send it as If-Match to PATCH)."""
    return tenancy.resolved(service.visible_provider, provider_id)


@providers.route("/<uuid:provider_id>", methods=["PATCH"])
@requires(*ADMIN_ROLES)
@providers.etag
@providers.arguments(IdentityProviderUpdateSchema)
@providers.response(200, IdentityProviderSchema)
def update_identity_provider(data: dict[str, Any], provider_id: uuid.UUID) -> IdentityProvider:
    """Rule I1: change the provider (needs If-Match); enabled=false stops every sign-in through it."""
    provider = tenancy.resolved(service.visible_provider, provider_id)
    providers.check_etag(provider, IdentityProviderSchema)
    return service.update_provider(db.session, provider, data, caller=tenancy.current())


@providers.route("/<uuid:provider_id>", methods=["DELETE"])
@requires(*ADMIN_ROLES)
@providers.response(204)
def delete_identity_provider(provider_id: uuid.UUID) -> None:
    """Rule I1: remove the provider with its links to users; the users stay."""
    service.delete_provider(db.session, tenancy.resolved(service.visible_provider, provider_id),
                            caller=tenancy.current())


@sso.route("/<tenant_slug>/start", methods=["GET"])
@public
@limiter.limit(login_limit_ip)
@sso.arguments(SsoStartArgs, location="query")
@sso.response(302, description="Redirect to the identity provider's authorization endpoint")
@sso.alt_response(401, response="UNAUTHORIZED", description="The identity provider is disabled")
@sso.alt_response(404, response="NOT_FOUND")
@sso.alt_response(429, response="TOO_MANY_REQUESTS")
@sso.alt_response(502, response="DEFAULT_ERROR", description="The identity provider cannot be reached")
@sso.doc(security=[])
def start_sso(args: dict[str, Any], tenant_slug: str) -> Response:
    """Rule I1: begin single sign-on for the tenant: a redirect to its identity provider (authorization code flow
    with PKCE S256, state and nonce; the attempt is valid for 10 minutes, once)."""
    return redirect(service.start(db.session, tenant_slug, args.get("provider")), code=302)


@sso.route("/<tenant_slug>/callback", methods=["GET"])
@public
@limiter.limit(login_limit_ip)
@sso.arguments(SsoCallbackArgs, location="query")
@sso.response(200, TokenPairSchema)
@sso.alt_response(401, response="UNAUTHORIZED")
@sso.alt_response(429, response="TOO_MANY_REQUESTS")
@sso.alt_response(502, response="DEFAULT_ERROR", description="The identity provider cannot be reached")
@sso.doc(security=[])
def finish_sso(args: dict[str, Any], tenant_slug: str) -> dict[str, Any]:
    """Rule I1: where the identity provider sends the browser back (register this URL at the provider). The code is
    exchanged, the ID token verified, and the usual token pair answered; every refusal is in the tenant's trail."""
    device = sessions.Device(ip_address=request.remote_addr, user_agent=request.headers.get("User-Agent"))
    return service.finish(db.session, tenant_slug, args, device)
