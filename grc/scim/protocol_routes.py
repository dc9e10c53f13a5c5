"""SCIM 2.0 (RFC 7643/7644) at /scim/v2, for a tenant's identity provider (Entra ID, Okta...).

Not a flask-smorest blueprint: the bodies are SCIM resources parsed and written by scim2-models, answers are
``application/scim+json`` and errors SCIM's error body, not problem+json. Every request authenticates with a SCIM
token (``service.authenticate``), which scopes it to the token's tenant as the guard does for a JWT; each view runs
in the same unit of work as the API's (``grc.uow``, wired by ``create_app``).
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, json, request
from pydantic import ValidationError
from scim2_models import (
    Context,
    Error,
    Group,
    ListResponse,
    NotFoundException,
    NotImplementedException,
    Resource,
    ResourceType,
    ResponseParameters,
    Schema,
    SCIMException,
)
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.routing import MapAdapter

from grc import tenancy
from grc.errors import Conflict, DomainError, Forbidden, InvalidField, NotFound, RuleViolation, Unauthorized
from grc.extensions import db
from grc.scim import resources, service
from grc.scim.models import ScimGroup

PREFIX = "/scim/v2"
CONTENT_TYPE = "application/scim+json"
DEFAULT_COUNT = 100
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]

scim = Blueprint("scim", __name__, url_prefix=PREFIX)


@scim.before_request
def _authenticate() -> None:
    service.authenticate(db.session, request.headers.get("Authorization"))


def _base_url() -> str:
    return request.host_url.rstrip("/") + PREFIX


def _answer(document: dict[str, Any], status: int = 200, location: str | None = None) -> Response:
    response = Response(json.dumps(document), status=status, mimetype=CONTENT_TYPE)
    if location:
        response.headers["Location"] = location
    return response


def _location(resource: Resource[Any]) -> str | None:
    return resource.meta.location if resource.meta else None


def _body() -> Any:
    """The request's JSON whatever its content type (application/scim+json or application/json)."""
    return request.get_json(force=True)


# --------------------------------------------------------------------------- errors


def _error(status: int, detail: str, scim_type: str | None = None) -> Response:
    error = Error(status=status, scim_type=scim_type, detail=detail)
    return _answer(resources.dump(error, Context.DEFAULT), status)


@scim.errorhandler(SCIMException)
def _scim_error(error: SCIMException) -> Response:
    return _answer(resources.dump(error.to_error(), Context.DEFAULT), error.status)


@scim.errorhandler(ValidationError)
def _invalid(error: ValidationError) -> Response:
    return _scim_error(resources.InvalidBody(Error.from_validation_errors(error)[0]))


_STATUS_OF: dict[type[DomainError], tuple[int, str | None]] = {
    Unauthorized: (401, None), Forbidden: (403, None), NotFound: (404, None), Conflict: (409, "uniqueness"),
    InvalidField: (400, "invalidValue"), RuleViolation: (400, "invalidValue"),
}


@scim.errorhandler(DomainError)
def _domain(error: DomainError) -> Response:
    status, scim_type = next((answer for kind, answer in _STATUS_OF.items() if isinstance(error, kind)), (400, None))
    fields = "; ".join(f"{name} {' '.join(messages)}" for name, messages in (error.errors or {}).items())
    return _error(status, f"{error.detail} {fields}".strip(), scim_type)


@scim.errorhandler(StaleDataError)
def _stale(_stale_error: StaleDataError) -> Response:
    return _error(409, "The resource was changed meanwhile; read it again.")


@scim.errorhandler(HTTPException)
def _http(error: HTTPException) -> Response:
    status = error.code or 500
    return _error(status, error.description or "", "invalidSyntax" if status == 400 else None)


# --------------------------------------------------------------------------- discovery


@scim.route("/ServiceProviderConfig", methods=["GET"])
def service_provider_config() -> Response:
    return _answer(resources.dump(resources.service_provider_config(_base_url()), Context.RESOURCE_QUERY_RESPONSE))


@scim.route("/Schemas", methods=["GET"])
def schemas() -> Response:
    return _listed(resources.schemas(_base_url()))


@scim.route("/Schemas/<schema_id>", methods=["GET"])
def schema(schema_id: str) -> Response:
    return _one_of(resources.schemas(_base_url()), schema_id)


@scim.route("/ResourceTypes", methods=["GET"])
def resource_types() -> Response:
    return _listed(resources.resource_types(_base_url()))


@scim.route("/ResourceTypes/<type_id>", methods=["GET"])
def resource_type(type_id: str) -> Response:
    return _one_of(resources.resource_types(_base_url()), type_id)


def _listed(found: list[Schema] | list[ResourceType]) -> Response:
    listed = ListResponse[type(found[0])](  # type: ignore[misc,operator]
        total_results=len(found), start_index=1, items_per_page=len(found), resources=found)
    return _answer(resources.dump(listed, Context.RESOURCE_QUERY_RESPONSE))


def _one_of(found: list[Any], wanted: str) -> Response:
    match = next((item for item in found if item.id == wanted), None)
    if match is None:
        raise NotFoundException(detail=f"No {wanted}.")
    return _answer(resources.dump(match, Context.RESOURCE_QUERY_RESPONSE))


# --------------------------------------------------------------------------- Users


@scim.route("/Users", methods=["POST"])
def create_user() -> Response:
    resource = resources.parse(resources.ScimUser, _body(), Context.RESOURCE_CREATION_REQUEST)
    user = service.create_user(db.session, resource, caller=tenancy.current())
    created = resources.user_resource(user, _base_url())
    return _answer(resources.dump(created, Context.RESOURCE_CREATION_RESPONSE), 201, _location(created))


@scim.route("/Users", methods=["GET"])
def list_users() -> Response:
    criteria = _criteria(resources.USER_FILTERS)
    start, count = _paging()
    total, found = service.list_users(db.session, criteria, start, count)
    return _page(resources.ScimUser, total, start, [resources.user_resource(user, _base_url()) for user in found])


@scim.route("/Users/<user_id>", methods=["GET"])
def get_user(user_id: str) -> Response:
    return _user(service.find_user(db.session, user_id))


@scim.route("/Users/<user_id>", methods=["PUT"])
def replace_user(user_id: str) -> Response:
    user = service.find_user(db.session, user_id)
    resource = resources.parse(resources.ScimUser, _body(), Context.RESOURCE_REPLACEMENT_REQUEST)
    return _user(service.replace_user(db.session, user, resource, caller=tenancy.current()))


@scim.route("/Users/<user_id>", methods=["PATCH"])
def patch_user(user_id: str) -> Response:
    user = service.find_user(db.session, user_id)
    patch = resources.parse_patch(resources.ScimUser, _body())
    patched = resources.apply_patch(patch, resources.user_resource(user, _base_url()))
    return _user(service.replace_user(db.session, user, patched, caller=tenancy.current()))


@scim.route("/Users/<user_id>", methods=["DELETE"])
def delete_user(user_id: str) -> Response:
    service.delete_user(db.session, service.find_user(db.session, user_id), caller=tenancy.current())
    return Response(status=204)


def _user(user: Any) -> Response:
    return _answer(resources.dump(resources.user_resource(user, _base_url()), Context.RESOURCE_QUERY_RESPONSE,
                                  _wanted()))


# --------------------------------------------------------------------------- Groups


@scim.route("/Groups", methods=["POST"])
def create_group() -> Response:
    resource = resources.parse(Group, _body(), Context.RESOURCE_CREATION_REQUEST)
    group = service.create_group(db.session, resource, caller=tenancy.current())
    created = _group_resources([group])[0]
    return _answer(resources.dump(created, Context.RESOURCE_CREATION_RESPONSE), 201, _location(created))


@scim.route("/Groups", methods=["GET"])
def list_groups() -> Response:
    criteria = _criteria(resources.GROUP_FILTERS)
    start, count = _paging()
    total, found = service.list_scim_groups(db.session, criteria, start, count)
    return _page(Group, total, start, _group_resources(found))


@scim.route("/Groups/<group_id>", methods=["GET"])
def get_group(group_id: str) -> Response:
    return _group(service.find_group(db.session, group_id))


@scim.route("/Groups/<group_id>", methods=["PUT"])
def replace_group(group_id: str) -> Response:
    group = service.find_group(db.session, group_id)
    resource = resources.parse(Group, _body(), Context.RESOURCE_REPLACEMENT_REQUEST)
    return _group(service.replace_group(db.session, group, resource, caller=tenancy.current()))


@scim.route("/Groups/<group_id>", methods=["PATCH"])
def patch_group(group_id: str) -> Response:
    group = service.find_group(db.session, group_id)
    patch = resources.parse_patch(Group, _body())
    patched = resources.apply_patch(patch, _group_resources([group])[0])
    return _group(service.replace_group(db.session, group, patched, caller=tenancy.current()))


@scim.route("/Groups/<group_id>", methods=["DELETE"])
def delete_group(group_id: str) -> Response:
    service.delete_group(db.session, service.find_group(db.session, group_id), caller=tenancy.current())
    return Response(status=204)


def _group(group: ScimGroup) -> Response:
    return _answer(resources.dump(_group_resources([group])[0], Context.RESOURCE_QUERY_RESPONSE, _wanted()))


def _group_resources(groups: list[ScimGroup]) -> list[Group]:
    members = service.members_of(db.session, groups)
    return [resources.group_resource(group, members[group.id], _base_url()) for group in groups]


# --------------------------------------------------------------------------- lists


def _criteria(columns: resources.Columns) -> Any:
    text = request.args.get("filter")
    return resources.filter_criteria(text, columns) if text else None


def _paging() -> tuple[int, int]:
    """startIndex (1-based; below 1 is 1) and count (below 0 is 0, above the maximum is the maximum), RFC 7644
    section 3.4.2.4; a value that is not a number is 400 invalidValue."""
    try:
        start = int(request.args.get("startIndex", 1))
        count = int(request.args.get("count", DEFAULT_COUNT))
    except ValueError as exc:
        raise InvalidField("startIndex", "and count must be integers") from exc
    return max(start, 1), min(max(count, 0), resources.MAX_PAGE)


def _page(model: type[Resource[Any]], total: int, start: int, found: list[Any]) -> Response:
    listed = ListResponse[model](  # type: ignore[valid-type]
        total_results=total, start_index=start, items_per_page=len(found), resources=found)
    return _answer(resources.dump(listed, Context.RESOURCE_QUERY_RESPONSE, _wanted()))


def _wanted() -> ResponseParameters[Any] | None:
    """The ``attributes`` / ``excludedAttributes`` the client asked for (RFC 7644 section 3.9), if any."""
    asked = {name: request.args[name] for name in ("attributes", "excludedAttributes") if name in request.args}
    return resources.parse(ResponseParameters[Any], asked, Context.DEFAULT) if asked else None


@scim.route("/.search", methods=["POST"])
def search_everything() -> Response:
    """RFC 7644 section 3.4.3 lets a service search all its resource types at once; this one does not (501)."""
    raise NotImplementedException(detail="Search the /Users or /Groups endpoint instead.")


@scim.route("/<path:unknown>", methods=METHODS)
def not_served(unknown: str) -> Response:
    """Any other path or method under /scim/v2 answers in SCIM's error body, not the API's problem+json: 405 for a
    method a served path does not take, else 404."""
    adapter = current_app.url_map.bind("")
    allowed = [method for method in METHODS if _endpoint(adapter, method) not in (None, request.endpoint)]
    if allowed:
        raise MethodNotAllowed(valid_methods=allowed)
    raise NotFoundException(detail=f"/{unknown} is not served here.")


def _endpoint(adapter: MapAdapter, method: str) -> str | None:
    try:
        endpoint, _args = adapter.match(request.path, method=method)
    except HTTPException:
        return None
    return str(endpoint)
