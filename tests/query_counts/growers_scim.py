"""Statement-count growers of SCIM provisioning: the tenant admin's lists of SCIM tokens and provisioned groups."""
from __future__ import annotations

from scim2_models import Group

from grc import tenancy
from grc.scim import service
from tests.query_counts.registry import grows_list
from tests.query_counts.scene import CB_ADMIN, Read, Scene


@grows_list("GET /api/v1/scim-tokens")
def grow_scim_tokens(scene: Scene, count: int) -> Read:
    with scene.acting(CB_ADMIN) as session:
        for _ in range(count):
            service.create_token(session, {"name": f"idp {scene.serial('scim token')}"}, caller=tenancy.current())
    return Read(CB_ADMIN, "/api/v1/scim-tokens")


@grows_list("GET /api/v1/scim-groups")
def grow_scim_groups(scene: Scene, count: int) -> Read:
    with scene.acting(CB_ADMIN) as session:
        for _ in range(count):
            group = Group(display_name=f"group {scene.serial('scim group')}")
            service.create_group(session, group, caller=tenancy.current())
    return Read(CB_ADMIN, "/api/v1/scim-groups")
