"""A stand-in for IAF CertSearch's Certification Body API, on 127.0.0.1, written from the registry's published
documentation (the research notes of issue 16: "API Access", CB upload and bulk upload, the field glossaries, the
Errors and Responses pages), never from grc's own serializer, so a test proves that what grc sends is what the
registry documents.

What it checks, as documented:
- every call carries ``x-http-authorization`` with an API key the registry issued (plain text, no scheme), else
  401 with the endpoint pages' error object (``{"error": true, ..., "errors": {"message", "code"}}``);
- POST bodies are JSON with ``Content-Type: application/json`` (marked mandatory on every endpoint page);
- bulk upload carries at most ``BULK_LIMIT`` (100) certifications;
- each certification: the mandatory fields of the v1 upload table (the legacy page's stars included, as the notes
  advise to always send them), the accepted values (status, accreditation status, certification type), the
  ``YYYYMMDD`` dates, the glossary's maximum lengths, the unique id's allowed characters, the shape of ``schemes``
  and ``sites``. A refused record answers 400 in the documented bulk shape ``{"data": {"errors": {"record_index",
  "errors": [{"message", "code", "meta": {"field_name": ...}}]}}}`` and the batch is not stored.

Stricter than the notes on one point, on purpose: a field the upload table does not list is refused
(``unknown_field``), so a misspelt name (``scope`` for ``certification_scope``) fails a test instead of being lost.

Where the documentation is silent the stand-in follows the choices of grc's docs (docs/DOMAIN-RULES.md G1, G2):
an upload is create-or-update keyed on the certificate number, per API key (each key is one CB's account); the
CB's certifications are listed at ``GET /api/client/v1/cb/cert?limit=&offset=`` (offset counting pages, limit at
most 100) in the retrieve shape of the MNCB GET (``certification_number``, ``status``, ``expiry_date``...).

A test tells it to fail: ``fail_next(500)`` (or 401, 429...) answers the next calls with that status,
``stall(seconds)`` holds every call longer than the client waits until it is told ``stall(0)``.
"""
from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

API = "/api/client/v1/cb"
BULK_LIMIT = 100
PAGE_LIMIT = 100
STATUSES = {"active", "inactive", "suspended", "cancelled", "hidden", "withdrawn", "expired"}
BULK_STATUSES = STATUSES | {"cb withdrawn", "pending", "deleted"}
ACCREDITATION = {"Accredited", "Unaccredited"}
CERTIFICATION_TYPES = {"Management System"}
MANDATORY = ("certificate_number", "certification_status", "certificate_accreditation_status", "certification_type",
             "certification_issue_date", "certification_expiry_date", "certified_entity_name",
             "certified_entity_unique_id", "certified_entity_street_address", "certified_entity_street_city",
             "certified_entity_country", "accreditation_body_name", "accreditation_body_acronym_name", "schemes")
OPTIONAL = ("certificate_identity_number", "certification_scope", "certification_original_issue_date",
            "certified_entity_english_name", "certified_entity_trading_name", "certified_entity_state",
            "certified_entity_post_code", "certified_entity_website", "confidential_certified_entity", "sites")
MAX_LENGTHS = {"certificate_number": 60, "certificate_identity_number": 60, "certification_type": 45,
               "certified_entity_name": 300, "certified_entity_trading_name": 500, "certified_entity_unique_id": 45}
DATES = ("certification_original_issue_date", "certification_issue_date", "certification_expiry_date")
SITE_FIELDS = {"street", "city", "state", "country", "postcode", "scope_description"}
# Letters and digits of any script, and the special characters the glossary allows: @ # - + = \ / : ; , ~ _ .
UNIQUE_ID = re.compile(r"^(?:[^\W_]|[@#\-+=\\/:;,~_. ])+$")


class Refusal(Exception):
    """One documented rule a certification breaks."""

    def __init__(self, field_name: str, code: str, message: str) -> None:
        super().__init__(message)
        self.field_name, self.code, self.message = field_name, code, message


def check_certification(body: Any, statuses: set[str]) -> None:
    """Raise ``Refusal`` for the first documented rule ``body`` breaks."""
    if not isinstance(body, dict):
        raise Refusal("certification", "invalid_format", "A certification is a JSON object")
    unknown = sorted(set(body) - set(MANDATORY) - set(OPTIONAL))
    if unknown:
        raise Refusal(unknown[0], "unknown_field", f"Unknown field: {unknown[0]}")
    for name in MANDATORY:
        if body.get(name) in (None, "", []):
            raise Refusal(name, "missing_required_field", f"Missing Required Field: {name}")
    for name, value in body.items():
        if name not in ("schemes", "sites", "confidential_certified_entity") and not isinstance(value, str):
            raise Refusal(name, "invalid_format", f"{name} must be a string")
    for name, limit in MAX_LENGTHS.items():
        if len(body.get(name) or "") > limit:
            raise Refusal(name, "invalid_length", f"{name} is longer than {limit} characters")
    if str(body["certification_status"]).lower() not in statuses:
        raise Refusal("certification_status", "data_mapping_error",
                      f"Data Mapping error: certification_status {body['certification_status']!r} is not accepted")
    if body["certificate_accreditation_status"] not in ACCREDITATION:
        raise Refusal("certificate_accreditation_status", "invalid_accreditation",
                      "Invalid Accreditation: certificate_accreditation_status must be Accredited or Unaccredited")
    if body["certification_type"] not in CERTIFICATION_TYPES:
        raise Refusal("certification_type", "data_mapping_required",
                      f"Data Mapping is required: certification_type {body['certification_type']!r}")
    for name in DATES:
        if body.get(name) not in (None, "") and not _is_yyyymmdd(body[name]):
            raise Refusal(name, "invalid_date_format", f"{name} must be a date as YYYYMMDD")
    if not UNIQUE_ID.match(body["certified_entity_unique_id"]):
        raise Refusal("certified_entity_unique_id", "invalid_format",
                      "certified_entity_unique_id has characters that are not allowed")
    website = body.get("certified_entity_website")
    if website and not website.startswith(("http://", "https://")):
        raise Refusal("certified_entity_website", "invalid_format", "Website must start with http:// or https://")
    if "confidential_certified_entity" in body and not isinstance(body["confidential_certified_entity"], bool):
        raise Refusal("confidential_certified_entity", "invalid_format", "confidential_certified_entity is a Boolean")
    _check_schemes(body["schemes"])
    _check_sites(body.get("sites", []))


def _is_yyyymmdd(value: Any) -> bool:
    if not isinstance(value, str) or not re.fullmatch(r"\d{8}", value):
        return False
    try:
        datetime.strptime(value, "%Y%m%d")
    except ValueError:
        return False
    return True


def _check_schemes(schemes: Any) -> None:
    if not isinstance(schemes, list):
        raise Refusal("schemes", "invalid_format", "schemes is an array")
    for scheme in schemes:
        if (not isinstance(scheme, dict) or set(scheme) - {"scheme_name", "standard_list"}
                or not scheme.get("scheme_name")):
            raise Refusal("schemes.scheme_name", "missing_required_field", "Missing Required Field: scheme_name")
        standards = scheme.get("standard_list")
        if not isinstance(standards, list) or not standards or not all(
                isinstance(standard, dict) and set(standard) == {"standards_name"} and standard["standards_name"]
                for standard in standards):
            raise Refusal("schemes.standard_list.standards_name", "missing_required_field",
                          "Missing Required Field: standards_name")


def _check_sites(sites: Any) -> None:
    if not isinstance(sites, list) or not all(isinstance(site, dict) and set(site) <= SITE_FIELDS for site in sites):
        raise Refusal("sites", "invalid_format",
                      "sites is an array of {street, city, state, country, postcode, scope_description}")


# --------------------------------------------------------------------------- the server


@dataclass
class Received:
    """One call as the registry saw it."""

    method: str
    path: str
    api_key: str | None
    body: Any
    status: int


@dataclass
class CertSearch:
    """The registry's state: issued keys (key -> account), each account's certifications by number, every call."""

    base_url: str = ""
    keys: dict[str, str] = field(default_factory=dict)
    accreditations: dict[str, set[str]] = field(default_factory=dict)  # account -> scheme names it is accredited for
    accounts: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    calls: list[Received] = field(default_factory=list)
    failures: list[int] = field(default_factory=list)
    stall_seconds: float = 0.0  # every call waits this long before it is answered (a registry slower than we wait)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def issue_key(self, account: str) -> str:
        """A new API key for ``account`` (a CB), as "Import Settings -> API Integration" hands one out."""
        key = f"iaf-{uuid.uuid4().hex}"
        self.keys[key] = account
        self.accounts.setdefault(account, {})
        return key

    def accredit(self, account: str, *scheme_names: str) -> None:
        """The CB's accreditation information as the registry holds it: an Accredited certification must name one
        of these schemes ("should match with the CB's accreditation information", else "Invalid Accreditation")."""
        self.accreditations[account] = set(scheme_names)

    def revoke_key(self, key: str) -> None:
        self.keys.pop(key, None)

    def fail_next(self, status: int, times: int = 1) -> None:
        self.failures.extend([status] * times)

    def stall(self, seconds: float) -> None:
        """From now on every call waits ``seconds`` before it is answered (0: answer at once again)."""
        self.stall_seconds = seconds

    def certifications(self, account: str) -> dict[str, dict[str, Any]]:
        """The account's certifications by certificate number, as last uploaded."""
        return self.accounts.get(account, {})

    def uploads(self, account: str | None = None) -> list[dict[str, Any]]:
        """Every certification body accepted by an upload call (of one account's keys), in order."""
        return [body for call in self.calls if call.status == 200 and call.method == "POST"
                and (account is None or self.keys.get(call.api_key or "") == account)
                for body in (call.body.get("certifications", []) if call.path.endswith("bulk-upload-cert")
                             else [call.body])]

    # -- handling

    def handle(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, Any]:
        key = headers.get("x-http-authorization")
        body: Any = None
        with self.lock:
            failure = self.failures.pop(0) if self.failures else None
        time.sleep(self.stall_seconds)
        if failure is not None:
            status, answer = failure, _error("forced", f"The stand-in was told to answer {failure}")
        elif key not in self.keys:
            status, answer = 401, _error("invalid_session_token", "Invalid Session token has been used.")
        else:
            status, answer, body = self._route(method, path, headers, raw, self.keys[key])
        with self.lock:
            self.calls.append(Received(method, path, key, body, status))
        return status, answer

    def _route(self, method: str, path: str, headers: dict[str, str], raw: bytes,
               account: str) -> tuple[int, Any, Any]:
        route = urlsplit(path)
        if method == "GET" and route.path == f"{API}/cert":
            return (*self._list(account, parse_qs(route.query)), None)
        if method == "GET" and route.path.startswith(f"{API}/cert/"):
            found = [item for item in self.certifications(account).values()
                     if item["company_certifications_id"] == route.path.rsplit("/", 1)[1]]
            if not found:
                return 404, _error("not_found", "The requested resource could not be found but may be available "
                                                "again in the future."), None
            return 200, {"data": _retrieved(found[0])}, None
        if method != "POST" or route.path not in (f"{API}/upload-cert", f"{API}/bulk-upload-cert"):
            return 404, _error("not_found", "The requested resource could not be found"), None
        if headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return 400, _error("invalid_content_type", "Content-Type must be application/json"), None
        try:
            body = json.loads(raw)
        except ValueError:
            return 400, _error("invalid_json", "The body is not JSON"), None
        if route.path.endswith("/bulk-upload-cert"):
            return (*self._bulk(account, body), body)
        try:
            check_certification(body, STATUSES)
            self._check_accreditation(account, body)
        except Refusal as refusal:
            return 400, _refused(0, refusal), body
        stored = self._store(account, body)
        return 200, {"data": True, "company_certifications_id": stored["company_certifications_id"]}, body

    def _bulk(self, account: str, body: Any) -> tuple[int, Any]:
        certifications = body.get("certifications") if isinstance(body, dict) else None
        if not isinstance(certifications, list) or not certifications:
            return 400, _error("missing_required_field", "Missing Required Field: certifications")
        if len(certifications) > BULK_LIMIT:
            return 400, _error("limit_exceeded", f"The maximum number of Certification records you can upload "
                                                      f"at a time is {BULK_LIMIT}")
        for index, certification in enumerate(certifications):
            try:
                check_certification(certification, BULK_STATUSES)
                self._check_accreditation(account, certification)
            except Refusal as refusal:
                return 400, _refused(index, refusal)
        for certification in certifications:
            self._store(account, certification)
        return 200, {"data": {"success": True}}

    def _check_accreditation(self, account: str, body: dict[str, Any]) -> None:
        accredited = self.accreditations.get(account)
        if accredited is None or body["certificate_accreditation_status"] != "Accredited":
            return
        for scheme in body["schemes"]:
            if scheme["scheme_name"] not in accredited:
                raise Refusal("schemes.scheme_name", "invalid_accreditation",
                              f"Invalid Accreditation: {scheme['scheme_name']} does not match the CB's accreditation")

    def _store(self, account: str, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            store = self.accounts.setdefault(account, {})
            previous = store.get(body["certificate_number"])
            ident = previous["company_certifications_id"] if previous else uuid.uuid4().hex
            store[body["certificate_number"]] = {**body, "company_certifications_id": ident}
            return store[body["certificate_number"]]

    def _list(self, account: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        limit = min(int(query.get("limit", ["20"])[0]), PAGE_LIMIT)
        page = int(query.get("offset", ["0"])[0])
        items = list(self.certifications(account).values())
        pages = max(1, -(-len(items) // limit))
        return 200, {"data": [_retrieved(item) for item in items[page * limit:(page + 1) * limit]],
                     "meta": {"total_pages": pages, "total_rows": len(items), "order": "DESC",
                              "order_by": "updated_at", "limit": limit, "offset": page, "next_key": ""}}


def _retrieved(stored: dict[str, Any]) -> dict[str, Any]:
    """A certification in the documented retrieve shape (its names differ from the upload's)."""
    return {"company_certifications_id": stored["company_certifications_id"],
            "company_id": stored["certified_entity_unique_id"], "company_name": stored["certified_entity_name"],
            "certification_number": stored["certificate_number"], "status": stored["certification_status"],
            "type": stored["certification_type"], "scope_description": stored.get("certification_scope", ""),
            "issue_date": stored["certification_issue_date"], "expiry_date": stored["certification_expiry_date"],
            "original_issue_date": stored.get("certification_original_issue_date", ""),
            "accreditation_status": stored["certificate_accreditation_status"]}


def _error(code: str, message: str) -> dict[str, Any]:
    """The error object the endpoint pages show (delete, 401/404)."""
    return {"error": True, "timestamp": int(time.time()), "elapse": 0, "errors": {"message": message, "code": code}}


def _refused(index: int, refusal: Refusal) -> dict[str, Any]:
    """The bulk page's 400 body: which record, and what is wrong with it."""
    return {"data": {"errors": {"record_index": index, "errors": [
        {"message": refusal.message, "code": refusal.code, "meta": {"field_name": refusal.field_name}}]}}}


def _handler(registry: CertSearch) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            raw = self.rfile.read(int(self.headers.get("content-length", 0)))
            headers = {name.lower(): value for name, value in self.headers.items()}
            status, answer = registry.handle(self.command, self.path, headers, raw)
            payload = json.dumps(answer).encode()
            try:
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting (a stall)
                pass

        do_GET = do_POST = do_PUT = do_DELETE = _answer

        def log_message(self, *_: Any) -> None:
            pass

    return Handler


@contextmanager
def running() -> Iterator[CertSearch]:
    """The stand-in, serving on 127.0.0.1 until the block ends; ``base_url`` is what a connection points at."""
    registry = CertSearch()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(registry))
    server.daemon_threads = True
    registry.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield registry
    finally:
        server.shutdown()
        server.server_close()
