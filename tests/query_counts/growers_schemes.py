"""Statement-count growers of schemes, and of the audit trail their creation writes."""
from __future__ import annotations

from grc.schemes import service as schemes
from tests.query_counts.registry import grows_list
from tests.query_counts.scene import CB_ADMIN, Read, Scene


def add_schemes(scene: Scene, count: int) -> None:
    with scene.acting(CB_ADMIN) as session:
        for _ in range(count):
            schemes.create_scheme(session, {"code": f"SECTOR {scene.serial('scheme')}", "edition": "2026",
                                            "title": "sector", "clauses": [{"number": "1", "title": "Scope"}]})


@grows_list("GET /api/v1/schemes")
def grow_schemes(scene: Scene, count: int) -> Read:
    add_schemes(scene, count)
    return Read(CB_ADMIN, "/api/v1/schemes")


@grows_list("GET /api/v1/audit-events")
def grow_audit_events(scene: Scene, count: int) -> Read:
    add_schemes(scene, count)
    return Read(CB_ADMIN, "/api/v1/audit-events")


@grows_list("GET /api/v1/audit-events/verify")
def grow_chain_to_verify(scene: Scene, count: int) -> Read:
    """The chain is read in batches of VERIFY_BATCH (1000) links: constant up to that many events."""
    add_schemes(scene, count)
    return Read(CB_ADMIN, "/api/v1/audit-events/verify")
