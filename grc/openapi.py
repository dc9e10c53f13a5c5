"""The OpenAPI document: every operation finished the same way, and its committed form.

``finish_spec`` gives every operation an operationId (the view's name) and the error responses the guard and the
machinery can answer, so the committed spec documents them without each route repeating them. ``spec_json`` is
the document as committed in openapi/openapi.json (stable key order, trailing newline).
"""
from __future__ import annotations

import http
import json
import re
from collections.abc import Callable
from typing import Any

from apispec import APISpec
from flask import Flask

from grc.guard import PUBLIC, ROLES


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
