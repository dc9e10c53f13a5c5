"""What each domain registers for the isolation walk, next to its own fixtures (``victims_<domain>.py``).

- ``@victims("register_id", "risk_id", marked=True)``: a builder that creates, in the victim tenants (cb-a and
  its client client-a), resources those path parameters can name, and says who may address each. A builder of
  one parameter returns a list of ``Victim``; of several, a dict of lists by parameter. It runs once per world.
  ``marked``: the victims' ids are markers too (seen by a tenant not entitled to the victim, they are a leak).
- ``@markers``: other text that identifies the victims' data (e-mails, names), with who may see it.
- ``@valid_body("POST /api/v1/users")``: a body that passes validation for a collection write, so the strangers'
  write reaches the service, which must act only in the caller's own tenant.
- ``legitimate(route, caller_tenant, victim_label)``: addressing that victim is the caller's right, not a leak.

``tests/isolation/walk.py`` imports every ``victims_*.py`` of this package itself (``import_domains``) before it
reads these tables, so a new domain adds one file and nothing depends on which test module pytest imports first.
"""
from __future__ import annotations

import importlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask

from grc.auth.users import create_api_client
from grc.extensions import db
from tests.world import World, act_as

VICTIM_TENANTS = ("cb-a", "client-a")
BOTH = frozenset({"cb-a", "client-a"})
CB_ONLY = frozenset({"cb-a"})
CLIENT_ONLY = frozenset({"client-a"})
STRANGER_PASSWORD = "a long enough password"  # of the users the valid bodies create


@dataclass(frozen=True)
class Victim:
    """A resource of cb-a or client-a a path parameter can name, and the tenants entitled to address it."""

    param: str
    label: str
    id: uuid.UUID | str  # a str for a parameter that names by value (a licence's domain)
    addressable_by: frozenset[str]


@dataclass(frozen=True)
class Marker:
    """Text that identifies a victim's data; seen in a response of any other tenant, it is a leak."""

    text: str
    label: str
    seen_by: frozenset[str]


@dataclass
class Victims:
    """Every victim resource (by parameter) and every marker of the victims' data."""

    by_param: dict[str, list[Victim]] = field(default_factory=dict)
    markers: list[Marker] = field(default_factory=list)


VictimBuilder = Callable[[Flask, World], list[Victim]]
MarkerBuilder = Callable[[Flask, World, Victims], list[Marker]]
BodyBuilder = Callable[[Victims, Any, int], dict[str, Any]]  # (victims, the calling stranger, n) -> body

VICTIM_BUILDERS: dict[str, VictimBuilder] = {}
MARKED_PARAMS: list[str] = []
MARKER_BUILDERS: list[MarkerBuilder] = []
VALID_BODIES: dict[str, BodyBuilder] = {}
LEGITIMATE: set[tuple[str, str, str]] = set()
REGISTERED_BY: dict[str, list[str]] = {}  # domain module -> what it registered (checked by test_coverage.py)


def victims(*params: str, marked: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a victim builder for ``params`` (see the module docstring)."""

    def register(build: Callable[..., Any]) -> Callable[..., Any]:
        key = f"{build.__module__}.{build.__qualname__}"

        def once(app: Flask, world: World) -> Any:
            cache = vars(world).setdefault("_isolation_victims", {})
            if key not in cache:
                cache[key] = build(app, world)
            return cache[key]

        for param in params:
            _claim(build.__module__, param, VICTIM_BUILDERS)
            VICTIM_BUILDERS[param] = once if len(params) == 1 else (lambda app, world, p=param: once(app, world)[p])
        if marked:
            MARKED_PARAMS.extend(params)
        return build

    return register


def markers(build: MarkerBuilder) -> MarkerBuilder:
    """Register a builder of markers: (app, world, victims) -> the victims' identifying text."""
    REGISTERED_BY.setdefault(build.__module__, []).append(f"markers {build.__name__}")
    MARKER_BUILDERS.append(build)
    return build


def valid_body(route: str) -> Callable[[BodyBuilder], BodyBuilder]:
    """Register a valid body for the collection write ``route`` (``"POST /api/v1/users"``)."""

    def register(build: BodyBuilder) -> BodyBuilder:
        _claim(build.__module__, route, VALID_BODIES)
        VALID_BODIES[route] = build
        return build

    return register


def legitimate(route: str, caller_tenant: str, victim_label: str) -> None:
    """A reviewed exception: ``caller_tenant`` may address that victim on that route."""
    LEGITIMATE.add((route, caller_tenant, victim_label))


def _claim(module: str, name: str, table: dict[str, Any]) -> None:
    if name in table:
        raise ValueError(f"{name} is registered twice (again by {module})")
    REGISTERED_BY.setdefault(module, []).append(name)


def import_domains(package: str, prefix: str) -> tuple[str, ...]:
    """Import every ``<prefix>*.py`` module of ``package``, sorted by name; each registers its domain on import."""
    directory = Path(importlib.import_module(package).__file__ or "").parent
    names = tuple(sorted(path.stem for path in directory.glob(f"{prefix}*.py")))
    for name in names:
        importlib.import_module(f"{package}.{name}")
    return names


# --------------------------------------------------------------------------- helpers the builders share


def tenant_of(email: str) -> str:
    return email.split("@", 1)[1].removesuffix(".test")


def new_api_client(app: Flask, slug: str, role: str, purpose: str) -> uuid.UUID:
    """An API client of ``slug`` with ``role``, created through the service by that tenant's admin."""
    with app.app_context():
        act_as(f"{role}@{slug}.test")
        client, _secret = create_api_client(db.session, {"name": f"{purpose} integration of {slug}", "roles": [role]})
        db.session.commit()
        return client.id

