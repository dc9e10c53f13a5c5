"""The bases of every schema and the field types the domains share (written once here).

``Schema`` is the base of every response: marshmallow's, dumping through a function compiled from its fields
(grc/dumping.py). ``StrictSchema`` is the base of every request: unknown fields, NUL characters and lone surrogates
are refused (422). ``ListArgs`` and ``page_of`` are the query arguments and the envelope of every list.
"""
from __future__ import annotations

import re
import zoneinfo
from collections.abc import Mapping
from typing import Any

import marshmallow as ma
import pycountry

from grc import dumping

MAX_LIMIT = 100


class Schema(ma.Schema):
    """Base of every schema: marshmallow's, with ``dump`` compiled (grc/dumping.py)."""

    def dump(self, obj: Any, *, many: bool | None = None) -> Any:
        many = self.many if many is None else bool(many)
        return dumping.dump(self, obj, many, lambda value: super(Schema, self).dump(value, many=many))


SLUG = r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"


class StrictSchema(Schema):
    """Base of every request schema: unknown fields are rejected (marshmallow's RAISE, kept explicit)."""

    class Meta:
        unknown = ma.RAISE


    @ma.pre_load
    def _reject_unstorable_text(self, data: Any, **_: Any) -> Any:
        """Text PostgreSQL cannot hold fails the query with a 500, so refuse it here as a 422 naming the field:
        U+0000, and lone UTF-16 surrogates (JSON's ``"\\ud800"`` escape decodes to one; UTF-8 cannot encode it)."""
        errors = _unstorable_errors(data) if isinstance(data, Mapping) else None  # other shapes: marshmallow's 422
        if errors:
            raise ma.ValidationError(errors)
        return data


NUL_MESSAGE = "Must not contain the NUL character (U+0000)."
SURROGATE_MESSAGE = "Must not contain a lone surrogate (U+D800 to U+DFFF): it is not valid Unicode text."
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _unstorable_errors(value: Any) -> Any:
    """Nested messages for every string (or mapping key) under ``value`` that the database cannot store, else None."""
    if isinstance(value, str):
        return _text_errors(value)
    found: dict[str | int, Any]
    if isinstance(value, Mapping):
        found = {_field_name(key): _text_errors(str(key)) or _unstorable_errors(value[key]) for key in value}
    elif isinstance(value, list):
        found = {index: _unstorable_errors(item) for index, item in enumerate(value)}
    else:
        return None
    return {key: errors for key, errors in found.items() if errors} or None


def _text_errors(text: str) -> list[str] | None:
    if _UNSTORABLE.search(text) is None:
        return None  # the common case: one scan of the text
    messages = []
    if "\x00" in text:
        messages.append(NUL_MESSAGE)
    if _SURROGATE.search(text):
        messages.append(SURROGATE_MESSAGE)
    return messages


def _field_name(key: Any) -> str:
    """A field name fit to send back: a lone surrogate in it is spelt out (``\\ud800``); clients cannot decode one."""
    return str(key).encode("utf-8", "backslashreplace").decode("utf-8")


class ListArgs(StrictSchema):
    """Query arguments shared by every list endpoint; domain lists subclass it to add filters."""

    limit = ma.fields.Integer(
        load_default=20,
        validate=ma.validate.Range(min=1, max=MAX_LIMIT),
        metadata={"description": f"Page size, 1 to {MAX_LIMIT}"},
    )
    cursor = ma.fields.String(
        load_default=None,
        validate=ma.validate.Length(max=512),
        metadata={"description": "Opaque cursor from the previous page's next_cursor"},
    )


_page_schemas: dict[str, type[ma.Schema]] = {}


def page_of(item_schema: type[ma.Schema]) -> type[ma.Schema]:
    """The list envelope for one item schema, built once per schema (named ``<Item>Page`` in the spec)."""
    name = item_schema.__name__.removesuffix("Schema") + "Page"
    if name not in _page_schemas:
        _page_schemas[name] = type(
            name,
            (Schema,),
            {
                "items": ma.fields.List(ma.fields.Nested(item_schema), required=True),
                "next_cursor": ma.fields.String(
                    allow_none=True, required=True, metadata={"description": "Cursor of the next page, or null"}
                ),
            },
        )
    return _page_schemas[name]


class Country(ma.fields.String):
    """An ISO 3166-1 alpha-2 country code."""

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("metadata", {}).setdefault("description", "ISO 3166-1 alpha-2 country code")
        kwargs["metadata"].setdefault("example", "DE")
        super().__init__(validate=ma.validate.Length(equal=2), **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        code = super()._deserialize(value, attr, data, **kwargs).upper()
        if pycountry.countries.get(alpha_2=code) is None:
            raise ma.ValidationError("Not an ISO 3166-1 alpha-2 country code.")
        return code


def _iana_zone(name: str) -> None:
    # Checked by a function, not OneOf: an enum of ~600 zones would bloat the spec and clash in generated clients.
    if name not in zoneinfo.available_timezones():
        raise ma.ValidationError("Not an IANA time zone (e.g. Europe/Berlin).")


def time_zone(**kwargs: Any) -> ma.fields.String:
    """An IANA time zone: the tenant's calendar, on which its reminders fall due (J1)."""
    return ma.fields.String(
        validate=_iana_zone,
        metadata={"description": "IANA time zone, e.g. Europe/Berlin; reminders follow this calendar",
                  "example": "Europe/Berlin"}, **kwargs)


def text(max_length: int, *, required: bool = False, **kwargs: Any) -> ma.fields.String:
    """A trimmed, non-empty string of bounded length."""
    return ma.fields.String(
        required=required, validate=ma.validate.Length(min=1, max=max_length), **kwargs
    )


def password(**kwargs: Any) -> ma.fields.String:
    return ma.fields.String(
        load_only=True,
        validate=ma.validate.Length(min=12, max=256),
        metadata={"description": "At least 12 characters"},
        **kwargs,
    )


class SiteSchema(StrictSchema):
    """A location of the organisation (certificates list every site, ISO/IEC 17021-1 8.2.2). A site stored without
    its optional address parts is answered with them null (``dump_default``): answers always carry every part."""

    name = text(200, required=True)
    address = text(500, required=True, metadata={"description": "The site's address as one display line"})
    street = text(300, allow_none=True, dump_default=None,
                  metadata={"description": "Street and number (registry address line)"})
    city = text(100, allow_none=True, dump_default=None)
    postcode = text(20, allow_none=True, dump_default=None)
    state = text(100, allow_none=True, dump_default=None, metadata={"description": "State, province or region"})
    country = Country(required=True)
    needs_review = ma.fields.Boolean(load_default=False, dump_default=False, metadata={
        "description": "True when the street line still holds an old free-text address (migration 0017)"})


class NewAdminSchema(StrictSchema):
    """The first administrator of a tenant being created."""

    email = ma.fields.Email(required=True, validate=ma.validate.Length(max=320))
    name = text(200, required=True)
    password = password(required=True)
