"""Statement-count growers of tenants: the platform's CBs, a CB's clients, and a CB's policy."""
from __future__ import annotations

from grc.auth import onboarding
from tests.query_counts.growers_users import add_users
from tests.query_counts.registry import grows_list
from tests.query_counts.scene import CB_ADMIN, CB_MANAGER, PASSWORD, PLATFORM_ADMIN, Read, Scene


@grows_list("GET /api/v1/tenants")
def grow_tenants(scene: Scene, count: int) -> Read:
    with scene.acting(PLATFORM_ADMIN) as session:
        for _ in range(count):
            n = scene.serial("cb")
            onboarding.create_certification_body(session, {
                "kind": "certification_body", "name": f"CB {n}", "slug": f"cb-{n}x", "country": "DE",
                "admin": {"email": f"admin@cb-{n}x.test", "name": "a", "password": PASSWORD}})
    return Read(PLATFORM_ADMIN, "/api/v1/tenants")


@grows_list("GET /api/v1/clients")
def grow_clients(scene: Scene, count: int) -> Read:
    with scene.acting(CB_ADMIN) as session:
        for _ in range(count):
            n = scene.serial("client")
            onboarding.create_client(session, {
                "name": f"Client {n}", "legal_name": f"Client {n} Ltd", "country": "FR", "address": "1 rue",
                "sites": [{"name": "HQ", "address": "1 rue", "country": "FR"}],
                "admin": {"email": f"admin{n}@client{n}.test", "name": "a", "password": PASSWORD}})
    return Read(CB_MANAGER, "/api/v1/clients")


@grows_list("GET /api/v1/policy")
def grow_policy(scene: Scene, count: int) -> Read:
    add_users(scene, count)
    return Read(CB_MANAGER, "/api/v1/policy")
