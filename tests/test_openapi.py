"""The OpenAPI document is a product: committed, in sync with the code, valid, and pleasant for client generators.

Generated clients name their methods after operationIds, group them by tags and document them with summaries;
a client can only handle the errors the spec declares. So each operation must carry all four, and the spec a
client downloads from the running API must be byte-for-byte the one committed in ``openapi/openapi.json``.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from grc.openapi import spec_json

COMMITTED = Path(__file__).resolve().parent.parent / "openapi" / "openapi.json"
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
REGENERATE = "openapi/openapi.json is stale: run `grc openapi write` and commit the result."


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return json.loads(COMMITTED.read_text())


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any], list[dict[str, Any]]]]:
    """(method, path, operation, path-level parameters) for every operation of the spec."""
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield method, path, operation, item.get("parameters", [])


def label(method: str, path: str) -> str:
    return f"{method.upper()} {path}"


# --------------------------------------------------------------------------- committed == generated


def test_committed_spec_is_what_the_code_generates(app: Flask) -> None:
    assert COMMITTED.exists(), REGENERATE
    assert COMMITTED.read_text() == spec_json(app), REGENERATE


def test_the_running_api_serves_the_committed_spec(client: FlaskClient, spec: dict[str, Any]) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.get_json() == spec, REGENERATE


# --------------------------------------------------------------------------- every operation is documented


def test_every_operation_has_a_unique_operation_id(spec: dict[str, Any]) -> None:
    seen: dict[str, str] = {}
    for method, path, operation, _ in operations(spec):
        op_id = operation.get("operationId")
        assert op_id, f"{label(method, path)} has no operationId"
        assert re.fullmatch(r"[a-z][a-z0-9_]*", op_id), f"{op_id}: generated clients want snake_case identifiers"
        assert op_id not in seen, f"operationId {op_id} is used by {seen[op_id]} and {label(method, path)}"
        seen[op_id] = label(method, path)


def test_every_operation_has_declared_tags_and_a_summary(spec: dict[str, Any]) -> None:
    declared = {tag["name"] for tag in spec.get("tags", [])}
    for method, path, operation, _ in operations(spec):
        assert operation.get("tags"), f"{label(method, path)} has no tags"
        assert set(operation["tags"]) <= declared, f"{label(method, path)} uses undeclared tags"
        summary = operation.get("summary", "").strip()
        assert summary, f"{label(method, path)} has no summary: give its view a docstring (first line = summary)"


def test_protected_operations_document_401(spec: dict[str, Any]) -> None:
    for method, path, operation, _ in operations(spec):
        if not is_public(spec, operation):
            assert "401" in operation["responses"], f"{label(method, path)} needs auth but does not document 401"


def test_operations_with_path_parameters_document_404(spec: dict[str, Any]) -> None:
    for method, path, operation, path_params in operations(spec):
        params = path_params + operation.get("parameters", [])
        if "{" in path or any(p.get("in") == "path" for p in params):
            assert "404" in operation["responses"], f"{label(method, path)} has path parameters but no 404"


def test_operations_with_a_request_body_document_422(spec: dict[str, Any]) -> None:
    for method, path, operation, _ in operations(spec):
        if "requestBody" in operation:
            assert "422" in operation["responses"], f"{label(method, path)} takes a body but does not document 422"


def test_every_operation_documents_503_with_retry_after(spec: dict[str, Any]) -> None:
    """Any operation may find the database or the job queue unreachable; the client is told when to retry."""
    for method, path, operation, _ in operations(spec):
        assert "503" in operation["responses"], f"{label(method, path)} does not document 503"
    assert "Retry-After" in spec["components"]["responses"]["SERVICE_UNAVAILABLE"]["headers"]


def test_rate_limited_operations_document_their_headers(spec: dict[str, Any]) -> None:
    """An integrator's client can read where it stands (X-RateLimit-*) and, on 429, when to come back."""
    limited = [(method, path, operation) for method, path, operation, _ in operations(spec)
               if "429" in operation["responses"]]
    assert len(limited) >= 3  # login, the certificate check, the mark-licence check
    for method, path, operation in limited:
        for code, response in operation["responses"].items():
            if code.startswith("2"):
                assert set(response.get("headers", {})) >= {"X-RateLimit-Limit", "X-RateLimit-Remaining",
                                                             "X-RateLimit-Reset"}, label(method, path)
    assert "Retry-After" in spec["components"]["responses"]["TOO_MANY_REQUESTS"]["headers"]


def test_documented_errors_are_problem_json(spec: dict[str, Any]) -> None:
    """A client decodes errors by their declared media type; ours are all RFC 9457 problem details."""
    for method, path, operation, _ in operations(spec):
        for status, response in operation["responses"].items():
            if status == "default" or status.startswith(("4", "5")):
                content = resolve(spec, response).get("content", {})
                assert list(content) == ["application/problem+json"], f"{label(method, path)} {status}: {content}"


def is_public(spec: dict[str, Any], operation: dict[str, Any]) -> bool:
    security = operation.get("security", spec.get("security", []))
    return security == [] or {} in security


# --------------------------------------------------------------------------- the document is valid OpenAPI 3.1


def test_spec_is_openapi_3_1_0(spec: dict[str, Any]) -> None:
    assert spec["openapi"] == "3.1.0"
    assert spec["info"]["title"] and spec["info"]["version"]


def test_spec_validates_against_the_openapi_3_1_schema(spec: dict[str, Any]) -> None:
    """openapi-spec-validator when installed; otherwise the OpenAPI 3.1 meta-schema schemathesis ships."""
    try:
        from openapi_spec_validator import validate
    except ImportError:
        import schemathesis

        schemathesis.openapi.from_dict(spec).validate()
    else:
        validate(spec)


def test_every_reference_resolves(spec: dict[str, Any]) -> None:
    """The meta-schema does not follow $refs; a dangling one breaks every client generator."""
    for ref in references(spec):
        assert ref.startswith("#/"), f"external reference {ref}"
        resolve(spec, {"$ref": ref})


def references(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from references(value)
    elif isinstance(node, list):
        for value in node:
            yield from references(value)


def resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            assert isinstance(target, dict) and part in target, f"dangling reference {node['$ref']}"
            target = target[part]
        node = target
    return node


# --------------------------------------------------------------------------- Swagger UI works offline


def test_docs_page_loads_swagger_ui_from_this_server_not_a_cdn(client: FlaskClient) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assets = re.findall(r'<(?:script|link)[^>]*(?:src|href)="([^"]+)"', html)
    assert any(a.endswith(".js") for a in assets) and any(a.endswith(".css") for a in assets), assets
    for url in assets:
        assert not re.match(r"(https?:)?//", url), f"/docs loads {url} from outside this server"
        assert url.startswith("/docs/static/"), url
    assert '"/api/v1/openapi.json"' in html


def test_swagger_ui_static_files_are_served(client: FlaskClient) -> None:
    html = client.get("/docs").get_data(as_text=True)
    for url in re.findall(r'<(?:script|link)[^>]*(?:src|href)="([^"]+)"', html):
        response = client.get(url)
        assert response.status_code == 200, url
        assert len(response.get_data()) > 1000, f"{url} is suspiciously small"
        response.close()


def test_the_docs_serve_only_the_files_their_page_loads(client: FlaskClient) -> None:
    """The package also ships Swagger Editor and its source maps: not served, nor anything by path tricks."""
    for path in ("swagger-editor-bundle.js", "swagger-ui-bundle.js.map", "LICENSE", "../__init__.py"):
        assert client.get(f"/docs/static/{path}").status_code == 404, path
