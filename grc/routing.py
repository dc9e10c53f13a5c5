"""Route markers, the authentication guard every API route passes through, and spec finishing.

Routes stay thin: they are authenticated by default (``public`` opts out), ``requires`` checks roles before
the body is parsed, and path resources were already resolved (404) by the guard. ``finish_spec`` gives every
operation an operationId (the view's name) and the error responses the guard and the machinery can answer,
so the committed spec documents them without each route repeating them.
"""
from __future__ import annotations

import functools
import http
import re
from collections.abc import Callable
from typing import Any

from apispec import APISpec
from flask import Flask, request

from grc import tenancy
from grc.extensions import db

PUBLIC = "_grc_public"
REFRESH = "_grc_refresh"
ROLES = "_grc_roles"


def public(view: Callable[..., Any]) -> Callable[..., Any]:
    """No authentication: the view picks its rows itself (in system scope) and exposes only public fields."""
    setattr(view, PUBLIC, True)
    return view


def uses_refresh_token(view: Callable[..., Any]) -> Callable[..., Any]:
    setattr(view, REFRESH, True)
    return view


def requires(*roles: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """403 unless the caller holds one of ``roles``; checked before the request body is parsed."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Any:
            tenancy.require_roles(*roles)
            return view(*args, **kwargs)

        setattr(checked, ROLES, roles)
        return checked

    return decorate


def install_guard(app: Flask, api_blueprints: set[str]) -> None:
    """Authenticate every route of ``api_blueprints`` not marked public, then resolve its path resources."""
    from grc.auth.service import authenticate

    @app.before_request
    def _guard() -> None:
        if request.blueprint not in api_blueprints or request.endpoint is None:
            return
        if request.method == "OPTIONS" and getattr(request.url_rule, "provide_automatic_options", False):
            # Flask answers it with the Allow header alone (no view, no lookup); CORS preflights carry no token,
            # and flask-jwt-extended exempts OPTIONS, so authenticating here crashed with a 500.
            return
        view = app.view_functions[request.endpoint]
        if getattr(view, PUBLIC, False):
            return
        authenticate(db.session, refresh=getattr(view, REFRESH, False))
        tenancy.resolve_path_resources(request.view_args)


def check_path_params(app: Flask, api_blueprints: set[str]) -> None:
    """Fail at start-up if a route names a uuid path parameter no domain registered a loader for."""
    known = tenancy.registered_path_params()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] not in api_blueprints:
            continue
        for converter, name in _converters(rule.rule):
            if converter == "uuid" and name not in known:
                raise RuntimeError(f"{rule.rule}: no tenancy.path_resource loader for '{name}'")


def _converters(rule: str) -> list[tuple[str, str]]:
    return re.findall(r"<(?:(\w+):)?(\w+)>", rule)


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
    for code in wanted:
        if str(code) not in responses:
            responses[str(code)] = spec.components.get_ref("response", _status_name(code))


RATE_LIMIT_HEADERS = {
    "X-RateLimit-Limit": ("integer", "Requests this caller may make in the current window."),
    "X-RateLimit-Remaining": ("integer", "Requests left in the current window."),
    "X-RateLimit-Reset": ("integer", "When the current window ends, in Unix seconds (windows are aligned to the clock)."),
}
RETRY_AFTER = ("integer", "Seconds until the current window ends and requests are served again.")


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
