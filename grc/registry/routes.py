"""The accreditation registry (IAF CertSearch): what a CB's records would look like there before anything is sent
(G1), and the CB's connection: set it up, see how the sync stands, check the key (G2)."""
from __future__ import annotations

from typing import Any

from grc import tenancy
from grc.api import Blueprint
from grc.extensions import db
from grc.guard import requires
from grc.registry import certsearch, service
from grc.registry.schemas import (
    ConnectionOverviewSchema,
    ConnectionWriteSchema,
    KeyCheckSchema,
    RegistryDryRunSchema,
)
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


@blp.route("/certsearch/dry-run", methods=["POST"])
@requires("cb_admin")
@blp.response(200, RegistryDryRunSchema)
def certsearch_dry_run() -> dict[str, Any]:
    """Rule G1: every certificate's upload body as it would be sent, with the registry rules it breaks (missing
    mandatory field, value not accepted, date format), so a CB fixes its data before switching sync on. Sends
    nothing and needs no connection."""
    records = certsearch.records(db.session, tenancy.current().tenant_id)
    blocked = sum(1 for record in records if record.problems)
    return {"endpoint": certsearch.UPLOAD_PATH, "ready": len(records) - blocked, "blocked": blocked,
            "records": records}
