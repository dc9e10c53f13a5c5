"""Statement-count growers of the registry data (G1): the CertSearch exports read a CB's certificates, their
clients and its policy in a fixed number of statements, however many certificates there are."""
from __future__ import annotations

from tests.query_counts.growers_certification import certificates
from tests.query_counts.registry import grows_hot_read
from tests.query_counts.scene import CB_MANAGER, Read, Scene


@grows_hot_read("GET /api/v1/certificates/export?format=certsearch-json")
def grow_certsearch_json(scene: Scene, count: int) -> Read:
    certificates(scene, count)
    return Read(CB_MANAGER, "/api/v1/certificates/export?format=certsearch-json")


@grows_hot_read("GET /api/v1/certificates/export?format=certsearch-xlsx")
def grow_certsearch_xlsx(scene: Scene, count: int) -> Read:
    certificates(scene, count)
    return Read(CB_MANAGER, "/api/v1/certificates/export?format=certsearch-xlsx")
