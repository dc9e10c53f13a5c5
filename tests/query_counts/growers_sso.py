"""Statement-count grower of single sign-on (I1): a tenant's identity providers."""
from __future__ import annotations

from grc import tenancy
from grc.sso import service as sso
from tests.query_counts.registry import grows_list
from tests.query_counts.scene import CB_ADMIN, Read, Scene


@grows_list("GET /api/v1/identity-providers")
def grow_identity_providers(scene: Scene, count: int) -> Read:
    with scene.acting(CB_ADMIN) as session:
        for _ in range(count):
            sso.create_provider(session, {"name": f"idp {scene.serial('idp')}", "issuer": "https://93.184.215.14/idp",
                                          "client_id": "grc", "client_secret": "s",
                                          "allowed_email_domains": ["cb-a.test"]}, caller=tenancy.current())
    return Read(CB_ADMIN, "/api/v1/identity-providers")
