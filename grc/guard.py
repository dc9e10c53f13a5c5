"""The authentication guard every API route passes through, and the route markers it reads.

Routes stay thin: they are authenticated by default (``public`` opts out), ``requires`` checks roles before
the body is parsed, and path resources were already resolved (404) by the guard. The guard is given the
function that authenticates (``grc.auth.service.authenticate``) by ``create_app``: it sits below every domain.
"""
from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

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


Authenticate = Callable[..., object]  # (session, *, refresh: bool) -> the caller, entered into the session


def install_guard(app: Flask, api_blueprints: set[str], authenticate: Authenticate) -> None:
    """Authenticate every route of ``api_blueprints`` not marked public, then resolve its path resources."""

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
