"""The interactive API reference's static files (Swagger UI), served from an installed package: no CDN."""
from __future__ import annotations

import swagger_ui_bundle
from flask import Blueprint, Response, send_from_directory

api_docs_assets = Blueprint("api_docs_assets", __name__)


@api_docs_assets.get("/docs/static/<path:filename>")
def swagger_assets(filename: str) -> Response:
    """Swagger UI's files from the swagger-ui-bundle package: the docs page needs no CDN."""
    return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename)
