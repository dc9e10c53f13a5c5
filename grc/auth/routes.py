"""Login, tokens, the caller's identity, users and API clients."""
from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app, request
from sqlalchemy import select
from werkzeug.exceptions import RequestEntityTooLarge

from grc import tenancy
from grc.api import Blueprint
from grc.auth import mfa, policy, service, sessions
from grc.auth import users as user_service
from grc.auth.models import ADMIN_ROLES, ApiClient, User
from grc.auth.schemas import (
    ApiClientCreatedSchema,
    ApiClientCreateSchema,
    ApiClientSchema,
    ClientCredentialsSchema,
    EnrolmentSchema,
    LoginSchema,
    LogoutSchema,
    MeSchema,
    MfaCodeSchema,
    MfaStatusSchema,
    MfaStepSchema,
    MfaTicketCodeSchema,
    MfaTicketSchema,
    RecoveryCodesSchema,
    SignInPolicySchema,
    SignInSessionSchema,
    TokenPairSchema,
    TokenPairWithRecoveryCodesSchema,
    UserCreateSchema,
    UserListArgs,
    UserSchema,
    UserUpdateSchema,
)
from grc.config import Settings
from grc.errors import Forbidden, InvalidField
from grc.extensions import db, limiter
from grc.guard import public, requires, uses_refresh_token
from grc.schemas import ListArgs, page_of
from grc.tenants.models import Tenant

auth = Blueprint("auth", __name__, url_prefix="/api/v1", description="Sign in and tokens")
users = Blueprint("users", __name__, url_prefix="/api/v1/users", description="People of the caller's tenant")
api_clients = Blueprint(
    "api_clients", __name__, url_prefix="/api/v1/api-clients", description="Machine credentials for integrations"
)


def login_limit_ip() -> str:
    settings: Settings = current_app.config["GRC_SETTINGS"]
    return settings.login_rate_limit_ip


def _login_limit_account() -> str:
    settings: Settings = current_app.config["GRC_SETTINGS"]
    return settings.login_rate_limit_account


def _body_text(name: str) -> str | None:
    """A field of the JSON body as text, for a limiter key: an oversized body (answered 413) must not make the
    limiter log errors, nor a lone surrogate (answered 422), which Redis cannot encode as a key: it is spelt out."""
    try:
        body = request.get_json(silent=True)
    except RequestEntityTooLarge:
        body = None
    value = body.get(name) if isinstance(body, dict) else None
    return str(value).encode("utf-8", "backslashreplace").decode("utf-8") if value else None


def _login_account() -> str:
    """The account part of the login limit."""
    email = _body_text("email")
    return f"account:{email.strip().lower()}" if email else "account:-"


def _mfa_ticket() -> str:
    """The ticket part of the second step's limit: the ticket's id (one sign-in attempt of one account)."""
    parts = (_body_text("mfa_ticket") or "").split(".")
    return "mfa-ticket:" + parts[1][:36] if len(parts) >= 3 else "mfa-ticket:-"


View = Callable[..., Any]


def _sign_in_step(per_account: Callable[[], str] | None = None) -> Callable[[View], View]:
    """What every step of signing in shares: no token, a rate limit per IP address (and, keyed by
    ``per_account``, per account or ticket: 429 with Retry-After), 401 for wrong credentials, no security scheme."""
    def decorate(view: View) -> View:
        view = auth.doc(security=[])(auth.alt_response(429, response="TOO_MANY_REQUESTS")(
            auth.alt_response(401, response="UNAUTHORIZED")(view)))
        if per_account is not None:
            view = limiter.limit(_login_limit_account, key_func=per_account)(view)
        return public(limiter.limit(login_limit_ip)(view))
    return decorate


def _device() -> sessions.Device:
    return sessions.Device(ip_address=request.remote_addr, user_agent=request.headers.get("User-Agent"))


@auth.route("/auth/login", methods=["POST"])
@_sign_in_step(_login_account)
@auth.arguments(LoginSchema)
@auth.response(200, TokenPairSchema)
@auth.alt_response(403, response="FORBIDDEN", description="A second step is needed (type mfa-required or "
                   "mfa-enrolment-required, with mfa_ticket; rule I2) or the tenant requires single sign-on (I1)")
def login(data: dict[str, Any]) -> dict[str, Any]:
    """Sign in with e-mail and password.

    Returns an access token (15 minutes) and a refresh token (30 days). Rate-limited per IP address and per
    account; over the limit the answer is 429 with Retry-After.

    Rule I2: when the account has a second factor, the right password answers 403 of type mfa-required with an
    mfa_ticket (5 minutes, once): send it with a code to POST /auth/mfa. When the tenant requires a second factor
    and the account has none, the type is mfa-enrolment-required: enrol with the ticket (POST /auth/mfa/enrolment,
    then .../confirm). Rule I1: when the tenant requires single sign-on, password login answers 403 naming
    GET /auth/sso/{tenant_slug}/start (break-glass admins excepted). Refusals of an existing account are audited.
    """
    return service.login(db.session, data["email"], data["password"], _device())


@auth.route("/auth/mfa", methods=["POST"])
@_sign_in_step(_mfa_ticket)
@auth.arguments(MfaStepSchema)
@auth.response(200, TokenPairSchema)
def second_step(data: dict[str, Any]) -> dict[str, Any]:
    """Rule I2: the second step of a login: the mfa_ticket and a code of the authenticator app, or a recovery code.

    Returns the usual token pair. A wrong code answers 401 and counts: after 5 the ticket is dead (log in again). A
    code is accepted once. Rate-limited like login, per IP address and per ticket."""
    return service.second_step(db.session, data["mfa_ticket"], _device(), code=data.get("code"),
                               recovery_code=data.get("recovery_code"))


@auth.route("/auth/mfa/enrolment", methods=["POST"])
@_sign_in_step()
@auth.arguments(MfaTicketSchema)
@auth.response(200, EnrolmentSchema)
def enrol_at_sign_in(data: dict[str, Any]) -> mfa.Enrolment:
    """Rule I2: enrol a second factor during a login the tenant requires one for (mfa-enrolment-required ticket).

    Returns the TOTP secret, its otpauth URI and a QR code of it; confirm a first code at .../confirm."""
    return service.enrol_at_sign_in(db.session, data["mfa_ticket"])


@auth.route("/auth/mfa/enrolment/confirm", methods=["POST"])
@_sign_in_step(_mfa_ticket)
@auth.arguments(MfaTicketCodeSchema)
@auth.response(200, TokenPairWithRecoveryCodesSchema)
def confirm_at_sign_in(data: dict[str, Any]) -> dict[str, Any]:
    """Rule I2: confirm the enrolment with a first code: the login completes with the token pair and the ten
    recovery codes, shown this once."""
    return service.confirm_at_sign_in(db.session, data["mfa_ticket"], data["code"], _device())


@auth.route("/auth/refresh", methods=["POST"])
@uses_refresh_token
@auth.response(200, TokenPairSchema)
def refresh() -> dict[str, Any]:
    """Exchange a refresh token (as the bearer token) for a new pair; the old refresh token is revoked."""
    return service.refresh(db.session)


@auth.route("/auth/logout", methods=["POST"])
@auth.arguments(LogoutSchema)
@auth.response(204)
def logout(data: dict[str, Any]) -> None:
    """End the sign-in this access token belongs to.

    Rule I4: every access and refresh token of the sign-in stops working, also after refresh rotations, whether or
    not the refresh token is sent; the sign-in stays listed as ended (reason logout). A refresh_token given is
    revoked too."""
    service.logout(db.session, data.get("refresh_token"))


@auth.route("/auth/token", methods=["POST"])
@_sign_in_step()
@auth.arguments(ClientCredentialsSchema)
@auth.response(200, TokenPairSchema)
def token(data: dict[str, Any]) -> dict[str, Any]:
    """Exchange an API client's id and secret for an access token (no refresh token: ask again)."""
    return service.exchange_client_credentials(db.session, data["client_id"], data["client_secret"])


@auth.route("/me", methods=["GET"])
@auth.response(200, MeSchema)
def me() -> dict[str, Any]:
    """The caller: user or API client, roles, and tenant with its kind."""
    principal = tenancy.current()
    model = ApiClient if principal.actor_type == "api_client" else User
    actor, tenant = _actor_with_tenant(model, principal.actor_id)
    return {
        "principal_type": principal.actor_type,
        "id": actor.id,
        "name": actor.name,
        "email": getattr(actor, "email", None),
        "roles": sorted(actor.roles),
        "tenant": tenant,
    }


def _signed_in_user() -> User:
    """The calling user (an API client has no second factor)."""
    principal = tenancy.current()
    if principal.actor_type != "user":
        raise Forbidden("Only a user has a second factor.")
    return db.session.get_one(User, principal.actor_id)


@auth.route("/me/mfa", methods=["GET"])
@auth.response(200, MfaStatusSchema)
def mfa_status() -> dict[str, Any]:
    """Rule I2: whether the caller's second factor is on, and how many recovery codes remain."""
    return mfa.status(db.session, _signed_in_user())


@auth.route("/me/mfa/totp", methods=["POST"])
@auth.response(200, EnrolmentSchema)
@auth.alt_response(409, response="CONFLICT")
def enrol() -> mfa.Enrolment:
    """Rule I2: start enrolling a TOTP factor: the secret, its otpauth URI and a QR code, shown once.

    Nothing changes at login until a first code confirms it (POST /me/mfa/totp/confirm)."""
    return mfa.enrol(db.session, _signed_in_user())


@auth.route("/me/mfa/totp/confirm", methods=["POST"])
@auth.arguments(MfaCodeSchema)
@auth.response(200, RecoveryCodesSchema)
@auth.alt_response(409, response="CONFLICT")
def confirm_enrolment(data: dict[str, Any]) -> dict[str, Any]:
    """Rule I2: turn the factor on with a first code; returns ten one-time recovery codes, shown this once. From
    the next login on, a code is asked after the password."""
    codes = mfa.confirm(db.session, _signed_in_user(), data["code"])
    if codes is None:
        raise InvalidField("code", service.WRONG_CODE)
    return {"recovery_codes": codes}


@auth.route("/me/mfa/totp", methods=["DELETE"])
@auth.arguments(MfaCodeSchema)
@auth.response(204)
def disable_mfa(data: dict[str, Any]) -> None:
    """Rule I2: turn the caller's second factor off, with a fresh code (one not used before)."""
    if not mfa.disable(db.session, _signed_in_user(), data["code"]):
        raise InvalidField("code", service.WRONG_CODE)


@auth.route("/sign-in-policy", methods=["GET"])
@requires(*ADMIN_ROLES)
@auth.response(200, SignInPolicySchema)
def get_sign_in_policy() -> Any:
    """Rules I1, I2: how the caller's tenant's users may sign in (defaults when never set: password alone)."""
    return policy.policy_of(db.session, tenancy.current().tenant_id)


@auth.route("/sign-in-policy", methods=["PUT"])
@requires(*ADMIN_ROLES)
@auth.arguments(SignInPolicySchema)
@auth.response(200, SignInPolicySchema)
def put_sign_in_policy(data: dict[str, Any]) -> Any:
    """Rules I1, I2: require a second factor for password users, or single sign-on (password login refused but for
    the break-glass admins named, who must be active admins of the tenant)."""
    return policy.update_policy(db.session, data, caller=tenancy.current())


Actor = TypeVar("Actor", bound=ApiClient | User)


def _actor_with_tenant(model: type[Actor], actor_id: uuid.UUID) -> tuple[Actor, Tenant]:
    """The caller's user or API client row and its tenant, in one query."""
    actor, tenant = db.session.execute(
        select(model, Tenant).join(Tenant, Tenant.id == model.tenant_id).where(model.id == actor_id)
    ).one()
    return actor, tenant


# --------------------------------------------------------------------------- users


@users.route("", methods=["POST"])
@requires(*ADMIN_ROLES)
@users.arguments(UserCreateSchema)
@users.response(201, UserSchema)
def create_user(data: dict[str, Any]) -> User:
    """Invite a user into the caller's tenant with roles of that tenant's kind."""
    return user_service.create_user(db.session, data)


@users.route("", methods=["GET"])
@users.arguments(UserListArgs, location="query")
@users.response(200, page_of(UserSchema))
def list_users(args: dict[str, Any]) -> dict[str, Any]:
    """The users of the caller's tenant."""
    return user_service.list_users(db.session, args)


@users.route("/<uuid:user_id>", methods=["GET"])
@users.etag
@users.response(200, UserSchema)
def get_user(user_id: uuid.UUID) -> User:
    """One user of the caller's tenant, with its ETag (send it as If-Match to PATCH)."""
    return tenancy.resolved(user_service.visible_user, user_id)


@users.route("/<uuid:user_id>", methods=["PATCH"])
@requires(*ADMIN_ROLES)
@users.etag
@users.arguments(UserUpdateSchema)
@users.response(200, UserSchema)
def update_user(data: dict[str, Any], user_id: uuid.UUID) -> User:
    """Change a user's name, roles, password or activity (needs If-Match). Deactivation revokes access at once."""
    user = tenancy.resolved(user_service.visible_user, user_id)
    users.check_etag(user, UserSchema)
    return user_service.update_user(db.session, user, data)


@users.route("/<uuid:user_id>/sessions", methods=["GET"])
@users.arguments(ListArgs, location="query")
@users.response(200, page_of(SignInSessionSchema))
def list_sign_in_sessions(args: dict[str, Any], user_id: uuid.UUID) -> dict[str, Any]:
    """Rule I4: the user's sign-ins, those still working first, then the ended and expired ones, latest first.

    A user sees their own; an admin of the tenant everyone's."""
    user = tenancy.resolved(user_service.visible_user, user_id)
    return sessions.list_sessions(db.session, user, args, caller=tenancy.current())


@users.route("/<uuid:user_id>/sessions", methods=["DELETE"])
@users.response(204)
def end_sign_in_sessions(user_id: uuid.UUID) -> None:
    """Rule I4: sign the user out everywhere: every access and refresh token of every sign-in stops working at once.

    A user may end their own sign-ins; an admin of the tenant anyone's. Ending what has ended already is a no-op."""
    user = tenancy.resolved(user_service.visible_user, user_id)
    sessions.end_every(db.session, user, caller=tenancy.current())


@users.route("/<uuid:user_id>/sessions/<uuid:session_id>", methods=["DELETE"])
@users.response(204)
def end_sign_in_session(user_id: uuid.UUID, session_id: uuid.UUID) -> None:
    """Rule I4: end one sign-in of the user (one device): its access and refresh tokens stop working at once.

    The sign-in stays listed, ended (reason ended, ended_by the caller). A user may end their own sign-ins; an admin
    of the tenant anyone's. Ending an ended sign-in is a no-op."""
    user = tenancy.resolved(user_service.visible_user, user_id)
    sign_in = tenancy.resolved(sessions.visible_session, session_id)
    sessions.end_one(db.session, user, sign_in, caller=tenancy.current())


@users.route("/<uuid:user_id>/mfa", methods=["DELETE"])
@requires(*ADMIN_ROLES)
@users.response(204)
def reset_mfa(user_id: uuid.UUID) -> None:
    """Rule I2: remove a user's second factor (a lost phone); audited. The user then signs in with the password
    alone, or is asked to enrol again when the tenant requires a second factor."""
    mfa.reset(db.session, tenancy.resolved(user_service.visible_user, user_id))


# --------------------------------------------------------------------------- API clients


@api_clients.route("", methods=["POST"])
@requires(*ADMIN_ROLES)
@api_clients.arguments(ApiClientCreateSchema)
@api_clients.response(201, ApiClientCreatedSchema)
def create_api_client(data: dict[str, Any]) -> dict[str, Any]:
    """Create machine credentials with a role; the secret is in this response only."""
    client, secret = user_service.create_api_client(db.session, data)
    return {**{name: getattr(client, name) for name in ApiClientSchema().fields}, "client_secret": secret}


@api_clients.route("", methods=["GET"])
@requires(*ADMIN_ROLES)
@api_clients.arguments(ListArgs, location="query")
@api_clients.response(200, page_of(ApiClientSchema))
def list_api_clients(args: dict[str, Any]) -> dict[str, Any]:
    """The API clients of the caller's tenant (secrets are never shown again)."""
    return user_service.list_api_clients(db.session, args)


@api_clients.route("/<uuid:api_client_id>", methods=["GET"])
@requires(*ADMIN_ROLES)
@api_clients.response(200, ApiClientSchema)
def get_api_client(api_client_id: uuid.UUID) -> ApiClient:
    """One API client of the caller's tenant."""
    return tenancy.resolved(user_service.visible_api_client, api_client_id)


@api_clients.route("/<uuid:api_client_id>/revoke", methods=["POST"])
@requires(*ADMIN_ROLES)
@api_clients.response(200, ApiClientSchema)
def revoke_api_client(api_client_id: uuid.UUID) -> ApiClient:
    """Revoke the client: its tokens stop working at once and it cannot obtain new ones."""
    return user_service.revoke_api_client(db.session, tenancy.resolved(user_service.visible_api_client, api_client_id))
