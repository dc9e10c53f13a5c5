"""The SCIM side of grc's rows, with ``scim2-models``: the resources served (what a ``User`` and a ``Group`` of grc
hold, nothing more, so the published schemas tell an identity provider exactly what is kept), the discovery
documents, the request bodies parsed in their RFC 7644 context, and the filter subset translated to SQL."""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from pydantic import ValidationError
from scim2_models import (
    AuthenticationScheme,
    BaseModel,
    Bulk,
    ChangePassword,
    Context,
    EnterpriseUser,
    Error,
    ETag,
    Filter,
    Group,
    GroupMember,
    InvalidFilterException,
    Meta,
    Patch,
    PatchOp,
    Reference,
    Required,
    Resource,
    ResourceType,
    ResponseParameters,
    Schema,
    SCIMException,
    ScimFilter,
    ServiceProviderConfig,
    Sort,
    User,
)
from scim2_models.path.expressions import Comparison, FilterNode, LogicalExpr
from sqlalchemy import ColumnElement, and_, func, or_

from grc.auth.models import User as GrcUser
from grc.scim.models import ScimGroup

# The attributes grc keeps of each resource type: the schemas it publishes are cut down to them.
USER_ATTRIBUTES = ("userName", "displayName", "active")
GROUP_ATTRIBUTES = ("displayName", "members")
KEPT = frozenset(name.lower() for name in (*USER_ATTRIBUTES, *GROUP_ATTRIBUTES, "externalId"))
CORE_PREFIX = "urn:ietf:params:scim:schemas:core:2.0:"
ATTRIBUTE = re.compile(r"^(?:(?:User|Group):)?([A-Za-z$][\w$-]*)")
# Users are read with the enterprise extension (Entra ID sends department, manager... by default): accepted, ignored.
ScimUser = User[EnterpriseUser]
MAX_PAGE = 200  # ServiceProviderConfig.filter.maxResults: a larger count is cut to it
ModelT = TypeVar("ModelT", bound=BaseModel)
ResourceT = TypeVar("ResourceT", bound=Resource[Any])


class InvalidBody(SCIMException):
    """A body that is not what the endpoint takes: carries the SCIM errors pydantic's validation produced."""

    def __init__(self, error: Error):
        super().__init__(detail=error.detail)
        self.status, self.scim_type, self._error = 400, error.scim_type or "invalidSyntax", error


def parse(model: type[ModelT], body: Any, context: Context) -> ModelT:
    """``body`` validated as ``model`` in its request ``context`` (read-only attributes dropped, required ones
    checked, unknown attributes and wrong types refused): 400 ``invalidSyntax`` / ``invalidValue``."""
    if not isinstance(body, Mapping):
        raise InvalidBody(Error(status=400, scim_type="invalidSyntax", detail="The body must be a JSON object."))
    try:
        return model.model_validate(body, scim_ctx=context)
    except ValidationError as exc:
        raise InvalidBody(Error.from_validation_errors(exc)[0]) from exc


def parse_patch(model: type[ResourceT], body: Any) -> PatchOp[ResourceT]:
    """A PatchOp body for ``model`` (the operations are checked against the model's attributes)."""
    return parse(PatchOp[model], body, Context.RESOURCE_PATCH_REQUEST)  # type: ignore[valid-type]


def apply_patch(patch: PatchOp[ResourceT], resource: ResourceT) -> ResourceT:
    """``resource`` with the operations applied (scim2-models does add, replace and remove, with or without path).
    Operations whose path names an attribute grc does not keep (``emails[type eq "work"].value``, the enterprise
    extension...) are left out: an identity provider sends them by default, and they would find no target here."""
    patched = resource.model_copy(deep=True)
    kept = [operation for operation in patch.operations or [] if operation.path is None or _kept(str(operation.path))]
    if kept:
        patch.model_copy(update={"operations": kept}).patch(patched)
    return patched


def _kept(path: str) -> bool:
    if path.lower().startswith(CORE_PREFIX):
        path = path[len(CORE_PREFIX):]
    match = ATTRIBUTE.match(path)
    return match is not None and match.group(1).lower() in KEPT


def dump(resource: BaseModel, context: Context, wanted: ResponseParameters[Any] | None = None) -> dict[str, Any]:
    """``resource`` as SCIM JSON in its response ``context``, with only the ``wanted`` attributes when asked."""
    dumped: dict[str, Any] = resource.model_dump(scim_ctx=context, response_parameters=wanted)
    return dumped


def _meta(resource_type: str, location: str, row: GrcUser | ScimGroup) -> Meta:
    return Meta(resource_type=resource_type, location=location, created=row.created_at,
                last_modified=row.updated_at, version=f'W/"{row.version}"')


def user_resource(user: GrcUser, base_url: str) -> ScimUser:
    """A user named by nothing but their e-mail (``name`` fell back to it) shows no displayName."""
    return ScimUser(id=str(user.id), external_id=user.external_id, user_name=user.email,
                display_name=user.name if user.name != user.email else None, active=user.is_active,
                meta=_meta("User", f"{base_url}/Users/{user.id}", user))


def group_resource(group: ScimGroup, members: list[GrcUser], base_url: str) -> Group:
    return Group(
        id=str(group.id), external_id=group.external_id, display_name=group.display_name,
        members=[GroupMember(value=str(user.id), type="User", ref=Reference(f"{base_url}/Users/{user.id}"))
                 for user in members],
        meta=_meta("Group", f"{base_url}/Groups/{group.id}", group),
    )


# --------------------------------------------------------------------------- discovery


def service_provider_config(base_url: str) -> ServiceProviderConfig:
    """What this service does: PATCH and filtering yes; bulk, sort, password change and ETags no."""
    return ServiceProviderConfig(
        patch=Patch(supported=True), bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=MAX_PAGE), change_password=ChangePassword(supported=False),
        sort=Sort(supported=False), etag=ETag(supported=False),
        authentication_schemes=[AuthenticationScheme(
            type=AuthenticationScheme.Type.oauthbearertoken, name="SCIM token",
            description="A bearer token created by the tenant's administrator at /api/v1/scim-tokens.",
            primary=True)],
        meta=Meta(resource_type="ServiceProviderConfig", location=f"{base_url}/ServiceProviderConfig"),
    )


def schemas(base_url: str) -> list[Schema]:
    """The User and Group schemas, cut down to the attributes grc keeps."""
    return [_schema(User, USER_ATTRIBUTES, base_url), _schema(Group, GROUP_ATTRIBUTES, base_url)]


def _schema(model: type[Resource[Any]], kept: tuple[str, ...], base_url: str) -> Schema:
    """``model``'s schema with the ``kept`` attributes only; ``active`` is required (grc always knows whether a user
    is active: removing it changes nothing) and a member is named by its id alone (no ``display``)."""
    schema = model.to_schema()
    schema.attributes = [attribute for attribute in schema.attributes or [] if attribute.name in kept]
    for attribute in schema.attributes:
        if attribute.name == "active":
            attribute.required = Required.true
        if attribute.name == "members":
            attribute.sub_attributes = [sub for sub in attribute.sub_attributes or [] if sub.name != "display"]
    schema.meta = Meta(resource_type="Schema", location=f"{base_url}/Schemas/{schema.id}")
    return schema


def resource_types(base_url: str) -> list[ResourceType]:
    found = []
    for model in (User, Group):
        resource_type = ResourceType.from_resource(model)
        resource_type.meta = Meta(resource_type="ResourceType", location=f"{base_url}/ResourceTypes/{resource_type.id}")
        found.append(resource_type)
    return found


# --------------------------------------------------------------------------- filters

Columns = Mapping[str, Callable[[str], ColumnElement[bool]]]
USER_FILTERS: Columns = {"username": lambda value: GrcUser.email == value.strip().lower(),
                         "externalid": lambda value: GrcUser.external_id == value}
GROUP_FILTERS: Columns = {"displayname": lambda value: func.lower(ScimGroup.display_name) == value.lower(),
                          "externalid": lambda value: ScimGroup.external_id == value}


def filter_criteria(text: str, columns: Columns) -> ColumnElement[bool]:
    """The SQL condition of a filter in the subset served: ``attr eq "value"`` on the attributes of ``columns``,
    joined by ``and`` / ``or``; anything else is 400 ``invalidFilter``."""
    try:
        tree = ScimFilter(text).ast
    except (ValueError, SCIMException) as exc:
        raise InvalidFilterException(detail=f"The filter cannot be parsed: {text!r}.") from exc
    return _criteria(tree, columns)


def _criteria(node: FilterNode, columns: Columns) -> ColumnElement[bool]:
    if isinstance(node, LogicalExpr) and str(node.op).lower() in ("and", "or"):
        join = and_ if str(node.op).lower() == "and" else or_
        return join(*(_criteria(term, columns) for term in node.terms))
    if isinstance(node, Comparison) and str(node.op).lower() == "eq" and node.attr_path.sub_attr is None:
        column = columns.get(node.attr_path.attr.lower())
        if column is not None and isinstance(node.value, str):
            return column(node.value)
    raise InvalidFilterException(
        detail=f"Only 'eq' on {', '.join(sorted(columns))} with 'and' / 'or' is supported.")
