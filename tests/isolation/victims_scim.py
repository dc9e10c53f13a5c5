"""Isolation victims of SCIM provisioning: a SCIM token and a provisioned group of each victim tenant (with one of its
users as member), and what identifies them. The /scim/v2 walk (test_scim_v2.py) attacks the same victims with the
strangers' SCIM tokens."""
from __future__ import annotations

import uuid
from typing import Any

from flask import Flask
from scim2_models import Group, GroupMember

from grc import tenancy
from grc.extensions import db
from grc.scim import service
from grc.scim.models import ScimGroup, ScimToken
from tests.isolation.registry import (
    CB_ONLY,
    CLIENT_ONLY,
    Marker,
    Victim,
    Victims,
    markers,
    valid_body,
    victims,
)
from tests.world import World, act_as

ADMINS = {"cb-a": ("cb_admin@cb-a.test", CB_ONLY), "client-a": ("client_admin@client-a.test", CLIENT_ONLY)}
MEMBERS = {"cb-a": "auditor@cb-a.test", "client-a": "member@client-a.test"}
ROLES = {"cb-a": "auditor", "client-a": "member"}


def scim_token(app: Flask, admin: str, name: str) -> tuple[uuid.UUID, str]:
    """A new SCIM token of ``admin``'s tenant, made by its admin through the service: its id and its secret."""
    with app.app_context():
        act_as(admin)
        token, secret = service.create_token(db.session, {"name": name}, caller=tenancy.current())
        db.session.commit()
        return token.id, secret


@victims("scim_token_id", "scim_group_id", marked=True)
def scim_victims(app: Flask, world: World) -> dict[str, list[Victim]]:
    """Each victim tenant's SCIM token and a group its identity provider pushed (one user in it), mapped to a role."""
    found: dict[str, list[Victim]] = {"scim_token_id": [], "scim_group_id": []}
    for slug, (admin, only) in ADMINS.items():
        token_id, _secret = scim_token(app, admin, f"{slug}'s identity provider")
        with app.app_context():
            act_as(admin)
            caller = tenancy.current()
            name, member = f"{slug} provisioned staff", GroupMember(value=str(world.users[MEMBERS[slug]]))
            # Mapped to the member's own role before they join: a member holds exactly its groups' roles (I3), and
            # the other domains' victims need the member as it is (cb-a's auditor leads an audit), whatever runs first.
            group = service.create_group(db.session, Group(display_name=name), caller=caller)
            service.map_roles(db.session, group, [ROLES[slug]], caller=caller)
            service.replace_group(db.session, group, Group(display_name=name, members=[member]), caller=caller)
            db.session.commit()
            found["scim_token_id"].append(Victim("scim_token_id", f"{slug}'s SCIM token", token_id, only))
            found["scim_group_id"].append(Victim("scim_group_id", f"{slug}'s SCIM group", group.id, only))
    return found


@markers
def scim_markers(app: Flask, _world: World, victims: Victims) -> list[Marker]:
    """The victims' token names and group names."""
    found = []
    with app.app_context(), tenancy.system_scope(db.session):
        for victim in victims.by_param["scim_token_id"]:
            found.append(Marker(db.session.get_one(ScimToken, victim.id).name, victim.label, victim.addressable_by))
        for victim in victims.by_param["scim_group_id"]:
            group = db.session.get_one(ScimGroup, victim.id)
            found.append(Marker(group.display_name, victim.label, victim.addressable_by))
    return found


@valid_body("POST /api/v1/scim-tokens")
def new_scim_token(_victims: Victims, _caller: Any, n: int) -> dict[str, Any]:
    return {"name": f"stranger identity provider {n}"}
