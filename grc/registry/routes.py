"""The accreditation registry (IAF CertSearch): what a CB's records would look like there, before anything is sent."""
from __future__ import annotations

from typing import Any

from grc import tenancy
from grc.api import Blueprint
from grc.extensions import db
from grc.guard import requires
from grc.registry import certsearch
from grc.registry.schemas import RegistryDryRunSchema

blp = Blueprint("registry-connections", __name__, url_prefix="/api/v1/registry-connections",
                description="Accreditation registries (IAF CertSearch): records in the registry's format (G1)")


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
