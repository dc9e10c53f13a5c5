"""Field types shared by every domain's schemas (written once here)."""
from __future__ import annotations

import zoneinfo
from typing import Any

import marshmallow as ma
import pycountry

from grc.api import StrictSchema

SLUG = r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"


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
    """A location of the organisation (certificates list every site, ISO/IEC 17021-1 8.2.2)."""

    name = text(200, required=True)
    address = text(500, required=True)
    country = Country(required=True)


class NewAdminSchema(StrictSchema):
    """The first administrator of a tenant being created."""

    email = ma.fields.Email(required=True, validate=ma.validate.Length(max=320))
    name = text(200, required=True)
    password = password(required=True)
