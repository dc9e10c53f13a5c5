"""Isolation victims of the users domain: the victims' users (each with a second factor, in tenants with a sign-in
policy), their sign-in sessions and API clients, and what identifies them."""
from __future__ import annotations

from typing import Any

from flask import Flask

from grc import tenancy
from grc.auth import mfa, sessions
from grc.auth.models import ApiClient, SignInPolicy, User
from grc.db import utcnow
from grc.extensions import db
from tests.isolation.registry import (
    STRANGER_PASSWORD,
    VICTIM_TENANTS,
    Marker,
    Victim,
    Victims,
    markers,
    new_api_client,
    tenant_of,
    valid_body,
    victims,
)
from tests.world import World

VICTIM_ADMINS = (("cb-a", "cb_admin"), ("client-a", "client_admin"))


@victims("user_id")
def user_victims(app: Flask, world: World) -> list[Victim]:
    """The victim admins, each with a confirmed second factor (DELETE .../mfa must not remove it for a stranger), in
    tenants requiring one (a stranger's PUT /sign-in-policy must not change that)."""
    with app.app_context(), tenancy.system_scope(db.session):
        for slug, role in VICTIM_ADMINS:
            user = db.session.get_one(User, world.users[f"{role}@{slug}.test"])
            mfa.enrol(db.session, user)
            mfa.factor_of(db.session, user).confirmed_at = utcnow()  # type: ignore[union-attr]
            db.session.add(SignInPolicy(tenant_id=user.tenant_id, require_mfa=True, require_sso=False,
                                        break_glass_user_ids=[]))
        db.session.commit()
    return [Victim("user_id", f"{slug}'s {role}", world.users[f"{role}@{slug}.test"], frozenset({slug}))
            for slug, role in VICTIM_ADMINS]


@victims("session_id", marked=True)
def sign_in_victims(app: Flask, world: World) -> list[Victim]:
    """A sign-in of each victim admin (the users ``user_id`` names), as login starts it."""
    found = []
    with app.app_context(), tenancy.system_scope(db.session):
        for slug, role in VICTIM_ADMINS:
            user = db.session.get_one(User, world.users[f"{role}@{slug}.test"])
            sign_in = sessions.start(db.session, user, sessions.Device("192.0.2.7", "victim's browser"))
            found.append(Victim("session_id", f"{slug}'s {role}'s sign-in", sign_in.id, frozenset({slug})))
        db.session.commit()
    return found


@victims("api_client_id")
def api_client_victims(app: Flask, _world: World) -> list[Victim]:
    return [Victim("api_client_id", f"{slug}'s API client", new_api_client(app, slug, role, "victim"),
                   frozenset({slug})) for slug, role in VICTIM_ADMINS]


@markers
def user_markers(_app: Flask, world: World, _victims: Victims) -> list[Marker]:
    """The victims' users: e-mails are private to their tenant, ids are seen across the CB/client relationship."""
    found = []
    for email, user_id in world.users.items():
        slug = tenant_of(email)
        if slug in VICTIM_TENANTS:
            found += [Marker(email, f"{slug}'s user e-mail", frozenset({slug})),
                      Marker(str(user_id), f"{slug}'s user id {email}", user_id_seen_by(slug))]
    return found


def user_id_seen_by(slug: str) -> frozenset[str]:
    """A CB and its client work on shared records (audits, findings, corrective actions), which name the people
    of both sides by id (auditors, action owners, actors in the trail); an id alone reveals nothing
    (GET /users/{id} answers 404 across tenants), while e-mails stay private to each tenant."""
    return frozenset({"cb-a", "client-a"}) if slug in ("cb-a", "client-a") else frozenset({slug})


@markers
def api_client_markers(app: Flask, _world: World, victims: Victims) -> list[Marker]:
    """Each victim API client's id, client id and name."""
    found = []
    for victim in victims.by_param["api_client_id"]:
        with app.app_context(), tenancy.system_scope(db.session):
            client = db.session.get(ApiClient, victim.id)
            texts = (str(client.id), client.client_id, client.name)
        found += [Marker(text, victim.label, victim.addressable_by) for text in texts]
    return found


def admin_role(caller: Any) -> str:
    tenant = caller.tenant or ""
    return "platform_admin" if tenant == "platform" else "cb_admin" if tenant.startswith("cb-") else "client_admin"


@valid_body("POST /api/v1/users")
def new_user(_victims: Victims, caller: Any, n: int) -> dict[str, Any]:
    return {"email": f"user-{n}@stranger.test", "name": "Stranger", "password": STRANGER_PASSWORD,
            "roles": [admin_role(caller)]}


@valid_body("PUT /api/v1/sign-in-policy")
def new_sign_in_policy(_victims: Victims, _caller: Any, _n: int) -> dict[str, Any]:
    return {"require_mfa": False, "require_sso": True, "break_glass_user_ids": []}


@valid_body("POST /api/v1/api-clients")
def new_integration(_victims: Victims, caller: Any, n: int) -> dict[str, Any]:
    return {"name": f"stranger integration {n}", "roles": [admin_role(caller)]}
