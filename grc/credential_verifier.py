"""A verifier anyone can run (V2, V3): given a certificate's or a mark licence's credential (a ``vc+jwt``), check
its signature against the issuer's published keys, its validity dates and its status lists, and say VALID,
SUSPENDED, WITHDRAWN, EXPIRED or INVALID with the reason.

It trusts nothing but the issuer's JWKS: the credential's ``issuer.id`` names where the keys are
(``{issuer.id}/jwks.json``) unless the caller hands them in (``--jwks``), and every status list must be signed by
the same issuer. It follows W3C VC Data Model 2.0, VC-JOSE-COSE (compact JWS, ``typ`` ``vc+jwt``, EdDSA) and
Bitstring Status List v1.0 (GZIP, multibase base64url, the first index the most significant bit of the first
byte), and knows nothing else of grc, so it checks what any other issuer of such credentials signs too.
"""
from __future__ import annotations

import base64
import binascii
import enum
import gzip
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
ALGORITHMS = ["EdDSA"]
STATUS_ENTRY = "BitstringStatusListEntry"
STATUS_LIST = "BitstringStatusList"
MAX_LIST_BYTES = 16 << 20  # a decompressed list larger than this is refused (a zip bomb is not a status list)

Fetch = Callable[[str], bytes]  # a URL -> the body at it (raises on failure)


class Status(enum.StrEnum):
    VALID = "VALID"
    SUSPENDED = "SUSPENDED"
    WITHDRAWN = "WITHDRAWN"
    EXPIRED = "EXPIRED"
    INVALID = "INVALID"


@dataclass(frozen=True)
class Verdict:
    """What the verifier concluded, why, and the credential it read (None when it could not read one)."""

    status: Status
    reason: str
    credential: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)


class Refused(Exception):
    """The credential (or a status list it points at) is not what it claims: INVALID, with this reason."""


def verify(token: str, *, fetch: Fetch, jwks: dict[str, Any] | None = None, check_status: bool = True,
           now: datetime | None = None) -> Verdict:
    """The verdict on the compact JWS ``token``. ``jwks``: the issuer's keys, if the caller has them; otherwise
    they are fetched from the issuer. ``check_status=False`` (offline) checks signature and dates only."""
    now = now or datetime.now(UTC)
    try:
        credential = _unverified_payload(token)
        keys = jwks if jwks is not None else _issuer_keys(credential, fetch)
        credential = _verified(token, keys, expected_typ="vc+jwt")
        _check_shape(credential)
    except Refused as refusal:
        return Verdict(Status.INVALID, str(refusal))
    notes: list[str] = []
    try:
        statuses = _status_bits(credential, keys, fetch, now) if check_status else {}
    except Refused as refusal:
        return Verdict(Status.INVALID, str(refusal), credential)
    if not check_status:
        notes.append("status lists not checked (offline): suspension or withdrawal would not show")
    return _conclude(credential, statuses, now, notes)


def _conclude(credential: dict[str, Any], statuses: dict[str, bool], now: datetime, notes: list[str]) -> Verdict:
    if statuses.get("revocation"):
        return Verdict(Status.WITHDRAWN, "the issuer has withdrawn it (revocation status bit set)", credential, notes)
    if statuses.get("suspension"):
        return Verdict(Status.SUSPENDED, "the issuer has suspended it (suspension status bit set)", credential, notes)
    valid_from, valid_until = _instant(credential.get("validFrom")), _instant(credential.get("validUntil"))
    if valid_from is not None and now < valid_from:
        return Verdict(Status.INVALID, f"not valid before {credential['validFrom']}", credential, notes)
    if valid_until is not None and now > valid_until:
        return Verdict(Status.EXPIRED, f"valid until {credential['validUntil']}", credential, notes)
    return Verdict(Status.VALID, f"signed by {_issuer_id(credential)}; valid until "
                                 f"{credential.get('validUntil', 'further notice')}", credential, notes)


# --------------------------------------------------------------------------- signatures


def _unverified_payload(token: str) -> dict[str, Any]:
    """The payload, only to learn the issuer (nothing from it counts before the signature is checked)."""
    parts = token.strip().split(".")
    if len(parts) != 3:
        raise Refused("not a compact JWS (three base64url parts separated by dots)")
    return _json_object(_b64url(parts[1]), "the payload")


def _issuer_keys(credential: dict[str, Any], fetch: Fetch) -> dict[str, Any]:
    url = _issuer_id(credential).rstrip("/") + "/jwks.json"
    if not url.startswith(("https://", "http://")):
        raise Refused(f"the issuer {_issuer_id(credential)!r} is not a URL its keys can be fetched from; pass --jwks")
    return _json_object(_fetched(fetch, url, "the issuer's keys"), "the issuer's JWKS")


def _verified(token: str, jwks: dict[str, Any], *, expected_typ: str) -> dict[str, Any]:
    """The payload of ``token`` if one of ``jwks`` signed it (by ``kid``) with EdDSA, and its ``typ`` is right."""
    try:
        key_set = KeySet.import_key_set(jwks)  # type: ignore[arg-type]  # a JWKS as JSON
    except (JoseError, ValueError, KeyError, TypeError) as exc:
        raise Refused(f"the issuer's JWKS is not a key set: {exc}") from None
    try:
        obj = jws.deserialize_compact(token.strip(), key_set, algorithms=ALGORITHMS)
    except (JoseError, ValueError) as exc:
        raise Refused(f"the signature does not verify with the issuer's published keys ({_why(exc)})") from None
    typ = obj.protected.get("typ")
    if typ != expected_typ:
        raise Refused(f"typ is {typ!r}, not {expected_typ!r}")
    return _json_object(obj.payload, "the payload")


def _why(exc: Exception) -> str:
    return getattr(exc, "description", None) or type(exc).__name__


def _check_shape(credential: dict[str, Any]) -> None:
    context, types = credential.get("@context"), credential.get("type")
    if not isinstance(context, list) or not context or context[0] != VC_CONTEXT:
        raise Refused(f"@context does not start with {VC_CONTEXT} (VC Data Model 2.0)")
    if not isinstance(types, list) or "VerifiableCredential" not in types:
        raise Refused("type does not include VerifiableCredential")
    if "credentialSubject" not in credential:
        raise Refused("no credentialSubject")


def _issuer_id(credential: dict[str, Any]) -> str:
    issuer = credential.get("issuer")
    found = issuer.get("id") if isinstance(issuer, dict) else issuer
    if not isinstance(found, str) or not found:
        raise Refused("no issuer")
    return found


# --------------------------------------------------------------------------- status lists (V3)


def _status_bits(credential: dict[str, Any], keys: dict[str, Any], fetch: Fetch, now: datetime) -> dict[str, bool]:
    """Each purpose's bit for this credential, read from the issuer's signed status lists."""
    entries = credential.get("credentialStatus") or []
    entries = entries if isinstance(entries, list) else [entries]
    bits: dict[str, bool] = {}
    lists: dict[str, dict[str, Any]] = {}
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("type") != STATUS_ENTRY:
            continue
        purpose, url = entry.get("statusPurpose"), entry.get("statusListCredential")
        index = _index(entry.get("statusListIndex"))
        if not isinstance(purpose, str) or not isinstance(url, str):
            raise Refused("a status entry without statusPurpose or statusListCredential")
        if url not in lists:
            lists[url] = _status_list(url, credential, keys, fetch, now)
        subject = lists[url]["credentialSubject"]
        if subject.get("statusPurpose") != purpose:
            raise Refused(f"the list at {url} is for {subject.get('statusPurpose')!r}, not {purpose!r}")
        bits[purpose] = bits.get(purpose, False) or bit_at(decode_list(subject.get("encodedList")), index)
    return bits


def _index(value: Any) -> int:
    try:
        index = int(value)
    except (TypeError, ValueError):
        raise Refused(f"statusListIndex {value!r} is not a number") from None
    if index < 0:
        raise Refused("statusListIndex is negative")
    return index


def _status_list(url: str, credential: dict[str, Any], keys: dict[str, Any], fetch: Fetch,
                 now: datetime) -> dict[str, Any]:
    """The status list credential at ``url``, signed by the credential's own issuer and current."""
    token = _fetched(fetch, url, "a status list").decode("ascii", "replace")
    status_list = _verified(token, keys, expected_typ="vc+jwt")
    if _issuer_id(status_list) != _issuer_id(credential):
        raise Refused(f"the status list at {url} is issued by someone else")
    if STATUS_LIST not in (status_list.get("credentialSubject") or {}).get("type", ""):
        raise Refused(f"{url} is not a {STATUS_LIST}")
    until = _instant(status_list.get("validUntil"))
    if until is not None and now > until:
        raise Refused(f"the status list at {url} is out of date (valid until {status_list['validUntil']})")
    return status_list


def decode_list(encoded: Any) -> bytes:
    """A Bitstring Status List's ``encodedList``: multibase base64url (prefix ``u``) of the GZIP-compressed bits."""
    if not isinstance(encoded, str) or not encoded.startswith("u"):
        raise Refused("encodedList is not multibase base64url (it must start with 'u')")
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(_b64url(encoded[1:]))) as unzipped:
            bits: bytes = unzipped.read(MAX_LIST_BYTES + 1)
    except (OSError, EOFError) as exc:
        raise Refused(f"encodedList is not GZIP data ({exc})") from None
    if len(bits) > MAX_LIST_BYTES:
        raise Refused("encodedList is too large")
    return bits


def bit_at(bits: bytes, index: int) -> bool:
    """The bit at ``index``: index 0 is the most significant bit of the first byte (Bitstring Status List v1.0)."""
    if index >= len(bits) * 8:
        raise Refused(f"statusListIndex {index} is beyond the list's {len(bits) * 8} entries")
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


# --------------------------------------------------------------------------- small parts


def _b64url(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise Refused("not base64url") from None


def _json_object(raw: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise Refused(f"{what} is not JSON") from None
    if not isinstance(value, dict):
        raise Refused(f"{what} is not a JSON object")
    return value


def _fetched(fetch: Fetch, url: str, what: str) -> bytes:
    try:
        return fetch(url)
    except Exception as exc:  # noqa: BLE001 - any failure to fetch is the same answer: we could not check
        raise Refused(f"could not fetch {what} at {url}: {exc}") from None


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Refused(f"{value!r} is not an ISO 8601 date-time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
