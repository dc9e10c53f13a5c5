"""The calls to IAF CertSearch's Certification Body API (G2), through the SSRF guard of ``grc.outbound`` and pinned to
the address it checked, like every call to an address a tenant chose (a tenant types the base URL).

What the registry documents and this module follows: the API key in a plain ``x-http-authorization`` header (no
scheme), JSON bodies with ``Content-Type`` and ``Accept: application/json``, bulk upload ``{"certifications": [...]}``
of at most 100, lists paged with ``limit`` (at most 100) and ``offset``, and three error shapes (``errors`` as a list,
as an object, or under ``data`` with the ``record_index`` of the refused record), which ``refusal`` reads all of.
Every outcome comes back as an ``Answer``; only an unreachable registry raises (``Unreachable``).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx

from grc import outbound
from grc.config import Settings

DEFAULT_BASE_URL = "https://api.iafcertsearch.org/api/client/v1"  # "The host for Web API v1 requests is always ..."
BULK_UPLOAD = "/cb/bulk-upload-cert"
CERTIFICATIONS = "/cb/cert"
BULK_LIMIT = 100  # "The maximum number of Certification records you can upload at a time is 100"
PAGE_LIMIT = 100  # "limit" defaults to 20, at most 100
MAX_ANSWER = 4 * 1024 * 1024  # a page of 100 certifications is far smaller; a larger answer is not read
USER_AGENT = "grc-registry-sync/1"


class Unreachable(Exception):
    """The registry could not be asked: refused destination, connection error or timeout (retried with backoff)."""


@dataclass(frozen=True)
class Answer:
    """What the registry answered: the HTTP status, the JSON body (None when it sent none) and ``Retry-After``."""

    status: int
    body: Any
    retry_after: int | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass(frozen=True)
class Refusal:
    """A refusal in the registry's own words; ``record_index`` names the refused record of a bulk upload."""

    message: str
    record_index: int | None = None


def bulk_upload(base_url: str, api_key: str, bodies: list[dict[str, Any]], settings: Settings) -> Answer:
    """One bulk upload of up to ``BULK_LIMIT`` certification bodies (create or update)."""
    if not 0 < len(bodies) <= BULK_LIMIT:
        raise ValueError(f"a bulk upload carries 1 to {BULK_LIMIT} certifications")
    return call("POST", base_url, BULK_UPLOAD, api_key, settings, {"certifications": bodies})


def certifications_page(base_url: str, api_key: str, page: int, settings: Settings, limit: int = PAGE_LIMIT) -> Answer:
    """One page of the CB's certifications as the registry holds them (``offset`` counts pages, as documented)."""
    return call("GET", base_url, f"{CERTIFICATIONS}?limit={limit}&offset={page}", api_key, settings)


def call(method: str, base_url: str, path: str, api_key: str, settings: Settings,
         body: dict[str, Any] | None = None) -> Answer:
    """The guarded, pinned call; ``Unreachable`` when it could not be made or timed out."""
    url = base_url.rstrip("/") + path
    headers = {"x-http-authorization": api_key, "accept": "application/json", "user-agent": USER_AGENT}
    content = None
    if body is not None:
        headers["content-type"] = "application/json"
        content = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    try:
        reply = outbound.call(method, url, settings.webhook_allowed_hosts, headers, settings.registry_timeout_seconds,
                              limit=MAX_ANSWER, content=content)
    except outbound.DestinationRefused as exc:
        raise Unreachable(f"refused destination: {exc}") from exc
    except httpx.HTTPError as exc:
        raise Unreachable(outbound.failure_text(exc)) from exc
    return Answer(reply.status, _json(reply.body), _seconds(reply.headers.get("retry-after")))


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def _seconds(value: str | None) -> int | None:
    return int(value) if value and value.strip().isdigit() else None


def refusal(answer: Answer) -> Refusal:
    """The registry's message (and refused record) from whichever documented error shape it answered with."""
    body = answer.body if isinstance(answer.body, dict) else {}
    data = body.get("data")
    errors: Any = data.get("errors") if isinstance(data, dict) and "errors" in data else body.get("errors")
    index = errors.get("record_index") if isinstance(errors, dict) else None
    if isinstance(errors, dict) and "errors" in errors:
        errors = errors["errors"]
    items = errors if isinstance(errors, list) else [errors] if isinstance(errors, dict) else []
    messages = [_worded(item) for item in items if isinstance(item, dict)]
    return Refusal("; ".join(filter(None, messages)) or f"HTTP {answer.status}",
                   index if isinstance(index, int) else None)


def _worded(error: dict[str, Any]) -> str:
    field = (error.get("meta") or {}).get("field_name") if isinstance(error.get("meta"), dict) else None
    message = str(error.get("message") or error.get("code") or "")
    return f"{message} ({field})" if field and field not in message else message
