"""Statement-count growers of the registry (G1, G2): the CertSearch exports read a CB's certificates, their clients
and its policy in a fixed number of statements, however many certificates there are; the connection's overview
counts and lists its records' states in a fixed number too."""
from __future__ import annotations

from sqlalchemy import update

from grc import tenancy
from grc.registry import service as registry
from grc.registry.certsearch import MISSING
from grc.registry.models import RegistryRecordState, SyncStatus
from tests.query_counts.growers_certification import certificates
from tests.query_counts.registry import grows_hot_read, grows_list
from tests.query_counts.scene import CB_ADMIN, CB_MANAGER, Read, Scene


@grows_hot_read("GET /api/v1/certificates/export?format=certsearch-json")
def grow_certsearch_json(scene: Scene, count: int) -> Read:
    certificates(scene, count)
    return Read(CB_MANAGER, "/api/v1/certificates/export?format=certsearch-json")


@grows_hot_read("GET /api/v1/certificates/export?format=certsearch-xlsx")
def grow_certsearch_xlsx(scene: Scene, count: int) -> Read:
    certificates(scene, count)
    return Read(CB_MANAGER, "/api/v1/certificates/export?format=certsearch-xlsx")


@grows_list("GET /api/v1/registry-connections/certsearch")
def grow_registry_connection(scene: Scene, count: int) -> Read:
    """cb-a's connection with as many certificates more in it, each refused (so the last errors list fills up)."""
    issued = certificates(scene, count)
    with scene.acting(CB_ADMIN) as session:
        caller = tenancy.current()
        if registry.connection(session) is None:
            registry.save_connection(session, {"api_key": "grower-key-0123456789", "enabled": False,
                                               "base_url": "https://93.184.215.14/registry"}, caller=caller)
        registry.mark_pending(session, caller.tenant_id, [certificate.id for certificate in issued])
        session.flush()
        session.execute(update(RegistryRecordState).values(status=SyncStatus.failed, error=MISSING))
    return Read(CB_ADMIN, "/api/v1/registry-connections/certsearch")
