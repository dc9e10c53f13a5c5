"""The OpenAPI document: every operation finished the same way, and its committed form.

``finish_spec`` gives every operation an operationId (the view's name) and the error responses the guard and the
machinery can answer, so the committed spec documents them without each route repeating them. ``spec_json`` is
the document as committed in openapi/openapi.json (stable key order, trailing newline).

``finish_response_schemas`` makes the response schemas say what is always there: a client generator types a field
the spec does not list ``required`` as "maybe unset", and the integrator checks every attribute of every answer.
So every field a response schema dumps is required unless its metadata says when it is absent
(``grc.dumping.OMITTED_WHEN``); ``allow_none`` alone decides whether it may be null. A schema that also nests in
request bodies keeps its request form under the name ``<Name>Input``, so optional inputs stay optional.
"""
from __future__ import annotations

import copy
import http
import json
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import marshmallow as ma
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask

from grc.dumping import OMITTED_WHEN
from grc.guard import PUBLIC, ROLES

SCHEMA_REF = "#/components/schemas/"
INPUT_SUFFIX = "Input"


def spec_dict(app: Flask) -> dict[str, Any]:
    spec: dict[str, Any] = app.extensions["grc.api"].spec.to_dict()
    return spec


def spec_json(app: Flask) -> str:
    return json.dumps(spec_dict(app), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def finish_spec(app: Flask, spec: APISpec, api_blueprints: set[str]) -> None:
    """Add operationIds and the common error responses to every operation of our blueprints.

    The responses are referenced through ``spec.components.get_ref``: flask-smorest registers them lazily, so a
    response component appears in the document only once something asks for its reference (a bare ``$ref``
    dict would dangle).
    """
    spec_paths = spec._paths  # noqa: SLF001 - apispec keeps paths there
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] not in api_blueprints:
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        view = app.view_functions[rule.endpoint]
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            operation = spec_paths.get(path, {}).get(method.lower())
            if operation is not None:
                _finish_operation(operation, view, spec, has_path_params="{" in path)
                _document_rate_limit(operation, spec)
    finish_response_schemas(spec)


def _finish_operation(
    operation: dict[str, Any], view: Callable[..., Any], spec: APISpec, *, has_path_params: bool
) -> None:
    operation.setdefault("operationId", view.__name__)
    responses = operation.setdefault("responses", {})
    wanted: list[int] = []
    if not getattr(view, PUBLIC, False):
        wanted.append(401)
    roles = getattr(view, ROLES, None)
    if roles:
        wanted.append(403)
        note = "Requires one of the roles: " + ", ".join(f"`{r}`" for r in roles) + "."
        operation["description"] = (operation.get("description", "") + "\n\n" + note).strip()
    if has_path_params:
        wanted.append(404)
    if "requestBody" in operation:
        wanted += [400, 413, 422]
    if "parameters" in operation and any(p.get("in") == "query" for p in operation["parameters"]):
        wanted.append(422)
    wanted.append(503)  # any operation may find the database (or the job queue) unreachable: retry after a while
    for code in wanted:
        if str(code) not in responses:
            responses[str(code)] = spec.components.get_ref("response", _status_name(code))
    unavailable = spec.components.responses[_status_name(503)]
    unavailable.setdefault("headers", {})["Retry-After"] = _header(spec, "Retry-After", *RETRY_AFTER)


RATE_LIMIT_HEADERS = {
    "X-RateLimit-Limit": ("integer", "Requests this caller may make in the current window."),
    "X-RateLimit-Remaining": ("integer", "Requests left in the current window."),
    "X-RateLimit-Reset": ("integer",
                          "When the current window ends, in Unix seconds (windows are aligned to the clock)."),
}
RETRY_AFTER = ("integer", "Seconds to wait before retrying the request as it is: until the rate-limit window ends "
                          "(429), or while the database or the job queue cannot be reached (503).")


def _document_rate_limit(operation: dict[str, Any], spec: APISpec) -> None:
    """A rate-limited operation (it documents 429) sends the X-RateLimit headers with its answers, and its 429
    says when to come back (grc/ratelimit.py)."""
    responses = operation.get("responses", {})
    if "429" not in responses:
        return
    for code, response in responses.items():
        if code.startswith("2") and "$ref" not in response:
            response.setdefault("headers", {}).update({name: _header(spec, name, *about)
                                                      for name, about in RATE_LIMIT_HEADERS.items()})
    too_many = spec.components.responses[_status_name(429)]
    too_many.setdefault("headers", {})["Retry-After"] = _header(spec, "Retry-After", *RETRY_AFTER)


def _header(spec: APISpec, name: str, kind: str, description: str) -> dict[str, str]:
    """A reference to the header component ``name``, registered on first use."""
    if name not in spec.components.headers:
        spec.components.header(name, {"description": description, "schema": {"type": kind}})
    return spec.components.get_ref("header", name)


def _status_name(code: int) -> str:
    return http.HTTPStatus(code).name


def finish_response_schemas(spec: APISpec) -> None:
    """List every always-dumped field of every response schema as required, splitting off the request form of
    the schemas requests and responses share where the two differ (see the module docstring)."""
    schemas: dict[str, dict[str, Any]] = spec.components.schemas
    operations = [op for item in spec._paths.values() for op in item.values() if isinstance(op, dict)]  # noqa: SLF001
    answered = _reachable(schemas, [op.get("responses", {}) for op in operations] + [spec.components.responses])
    asked = _reachable(schemas, [[op.get("requestBody", {}), op.get("parameters", [])] for op in operations])
    marshmallow_schemas = marshmallow_schemas_by_name(spec)
    answers = {name: _answer_form(schemas[name], marshmallow_schemas[name]) for name in answered}
    split = _shared_forms_that_differ(schemas, answers, answered & asked)
    renamed = {SCHEMA_REF + name: SCHEMA_REF + name + INPUT_SUFFIX for name in split}
    for name in split:
        schemas[name + INPUT_SUFFIX] = schemas[name]
    for name in asked - answered | {name + INPUT_SUFFIX for name in split}:
        _rename_refs(schemas[name], renamed)
    for operation in operations:
        _rename_refs([operation.get("requestBody", {}), operation.get("parameters", [])], renamed)
    schemas.update(answers)


def marshmallow_schemas_by_name(spec: APISpec) -> dict[str, ma.Schema]:
    """Every schema component's marshmallow schema, by component name (as the marshmallow plugin registered it)."""
    plugin = next(p for p in spec.plugins if isinstance(p, MarshmallowPlugin))
    assert plugin.converter is not None, "the spec is initialised"
    found = {}
    for key, name in plugin.converter.refs.items():
        schema_class, *modifiers = key
        options = {option: value for option, value in zip(("only", "exclude", "load_only", "dump_only", "partial"),
                                                          modifiers, strict=True) if value}
        found[name] = schema_class(**options)
    return found


def always_present(field: ma.fields.Field[Any]) -> bool:
    """Whether every answer carries ``field`` (the spec then lists it required): yes unless it says when it is not."""
    return not field.metadata.get(OMITTED_WHEN)


def _answer_form(component: dict[str, Any], schema: ma.Schema) -> dict[str, Any]:
    """The component as answers use it: its dump fields required unless sometimes absent, which says when."""
    answer = copy.deepcopy(component)
    required = []
    for name, field in schema.dump_fields.items():
        key = field.data_key if field.data_key is not None else name
        if always_present(field):
            required.append(key)
        else:
            prop = answer["properties"][key]
            about = [prop["description"].rstrip(".")] if "description" in prop else []
            prop["description"] = ". ".join([*about, f"Absent {field.metadata[OMITTED_WHEN]}."])
    if required:
        answer["required"] = sorted(required)
    return answer


def _shared_forms_that_differ(
    schemas: dict[str, dict[str, Any]], answers: dict[str, dict[str, Any]], shared: set[str]
) -> set[str]:
    """The shared schemas whose answer form differs from the request form, and those that nest one of them."""
    split = {name for name in shared if answers[name] != schemas[name]}
    while grown := {name for name in shared - split if set(_refs(schemas[name])) & split}:
        split |= grown
    return split


def _reachable(schemas: dict[str, dict[str, Any]], roots: Iterable[Any]) -> set[str]:
    """The names of the schema components ``roots`` reference, directly or through other components."""
    seen: set[str] = set()
    todo = [name for root in roots for name in _refs(root)]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += _refs(schemas[name])
    return seen


def _refs(node: Any) -> Iterator[str]:
    """The schema component names referenced anywhere under ``node``."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(SCHEMA_REF):
            yield ref.removeprefix(SCHEMA_REF)
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _rename_refs(node: Any, renamed: dict[str, str]) -> None:
    """Point the references under ``node`` at the renamed components."""
    if isinstance(node, dict):
        if node.get("$ref") in renamed:
            node["$ref"] = renamed[node["$ref"]]
        for value in node.values():
            _rename_refs(value, renamed)
    elif isinstance(node, list):
        for value in node:
            _rename_refs(value, renamed)
