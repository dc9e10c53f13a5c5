"""The interactive API reference's static files (Swagger UI 5), served from an installed package: no CDN.

The swagger-ui-py distribution ships Swagger UI 5's built files, which render OpenAPI 3.1 (the spec this API
publishes); flask-smorest's /docs page loads them from /docs/static/. Only the files are used, not the
package's own Flask integration, so the page stays flask-smorest's and the spec stays at /api/v1/openapi.json.
"""
from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from flask import Blueprint, Response, abort, send_from_directory

SWAGGER_UI_FILES = Path(str(files("swagger_ui").joinpath("static")))
# What the docs page loads; the package also ships Swagger Editor (25 MB), which nobody needs from this server.
SERVED = frozenset({"swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js",
                    "favicon-16x16.png", "favicon-32x32.png", "oauth2-redirect.html"})

api_docs_assets = Blueprint("api_docs_assets", __name__)


@api_docs_assets.get("/docs/static/<path:filename>")
def swagger_assets(filename: str) -> Response:
    """Swagger UI's files from the swagger-ui-py package: the docs page needs no CDN."""
    if filename not in SERVED:
        abort(404)
    return send_from_directory(SWAGGER_UI_FILES, filename)
