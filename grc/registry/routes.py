"""A CB's IAF CertSearch connection (G2): set it up, see how the sync stands, check the key."""
from __future__ import annotations

from typing import Any

from grc import tenancy
from grc.api import Blueprint
from grc.extensions import db
from grc.guard import requires
from grc.registry import service
from grc.registry.schemas import ConnectionOverviewSchema, ConnectionWriteSchema, KeyCheckSchema
from grc.tenants.service import CB_ROLES

blp = Blueprint("registry-connections", __name__, url_prefix="/api/v1/registry-connections",
                description="Accreditation registry (IAF CertSearch): the CB's connection and its sync (G1, G2)")


@blp.route("/certsearch", methods=["PUT"])
@requires(service.CONNECTION_ADMIN)
@blp.arguments(ConnectionWriteSchema)
@blp.response(200, ConnectionOverviewSchema)
def put_certsearch_connection(data: dict[str, Any]) -> dict[str, Any]:
    """Rule G2: create or change the connection (the API key is write-only); enabling it marks every certificate
    for sync."""
    service.save_connection(db.session, data, caller=tenancy.current())
    return service.overview(db.session)


@blp.route("/certsearch", methods=["GET"])
@requires(*CB_ROLES)
@blp.response(200, ConnectionOverviewSchema)
def get_certsearch_connection() -> dict[str, Any]:
    """Rule G2: last successful sync, certificates pending and failing, the last errors in the registry's words,
    and the last reconciliation's differences. Never the API key."""
    return service.overview(db.session)


@blp.route("/certsearch/test", methods=["POST"])
@requires(service.CONNECTION_ADMIN)
@blp.response(200, KeyCheckSchema)
def test_certsearch_connection() -> service.KeyCheck:
    """Rule G2: check the stored key with a harmless read (one certification), changing nothing in the registry."""
    return service.test_connection(db.session, caller=tenancy.current())
