"""Statement-count growers of signing: a CB's keys, after as many rotations."""
from __future__ import annotations

from grc import tenancy
from grc.signing import service as signing
from tests.query_counts.registry import grows_list
from tests.query_counts.scene import CB_ADMIN, Read, Scene


@grows_list("GET /api/v1/signing-keys")
def grow_signing_keys(scene: Scene, count: int) -> Read:
    """cb-a's keys: each rotation retires one and adds one."""
    for _ in range(count):
        with scene.acting(CB_ADMIN) as session:
            signing.rotate(session, caller=tenancy.current())
    return Read(CB_ADMIN, "/api/v1/signing-keys")
