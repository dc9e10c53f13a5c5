"""The standards catalogue."""
from __future__ import annotations

import uuid
from typing import Any

from grc import tenancy
from grc.api import Blueprint
from grc.extensions import db
from grc.guard import requires
from grc.schemas import page_of
from grc.schemes import service
from grc.schemes.models import Scheme
from grc.schemes.schemas import SchemeCreateSchema, SchemeListArgs, SchemeSchema

blp = Blueprint("schemes", __name__, url_prefix="/api/v1/schemes",
                description="Certification schemes and their clauses")


@blp.route("", methods=["GET"])
@blp.arguments(SchemeListArgs, location="query")
@blp.response(200, page_of(SchemeSchema))
def list_schemes(args: dict[str, Any]) -> dict[str, Any]:
    """The shipped catalogue and the caller's CB's own schemes."""
    return service.list_schemes(db.session, args)


@blp.route("/<uuid:scheme_id>", methods=["GET"])
@blp.response(200, SchemeSchema)
def get_scheme(scheme_id: uuid.UUID) -> Scheme:
    """One scheme with its clauses."""
    return tenancy.resolved(service.visible_scheme, scheme_id)


@blp.route("", methods=["POST"])
@requires("cb_admin", "certification_manager")
@blp.arguments(SchemeCreateSchema)
@blp.response(201, SchemeSchema)
def create_scheme(data: dict[str, Any]) -> Scheme:
    """Add a scheme of the caller's CB (visible only to it)."""
    return service.create_scheme(db.session, data)
