from __future__ import annotations

import marshmallow as ma

from grc.numbering import check_template
from grc.schemas import SLUG, Country, ListArgs, NewAdminSchema, Schema, SiteSchema, StrictSchema, text, time_zone
from grc.tenants.models import DEFAULT_REGISTRY_STATUSES, REGISTRY_STATUSES, TenantKind


class TenantCreateSchema(StrictSchema):
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf([TenantKind.certification_body.value]))
    name = text(200, required=True)
    slug = ma.fields.String(
        required=True,
        validate=ma.validate.Regexp(SLUG, error="Lower-case letters, digits and inner hyphens, 1-63 characters."),
        metadata={"description": "Used in public verification URLs, e.g. /verify/{slug}/{number}"},
    )
    legal_name = text(300)
    country = Country(required=True)
    address = text(500)
    timezone = time_zone(load_default="UTC")
    admin = ma.fields.Nested(NewAdminSchema, required=True)


class TenantSchema(Schema):
    id = ma.fields.UUID(dump_only=True)
    kind = ma.fields.Enum(TenantKind, by_value=True, dump_only=True)
    name = ma.fields.String()
    slug = ma.fields.String()
    legal_name = ma.fields.String(allow_none=True)
    country = ma.fields.String()
    address = ma.fields.String(allow_none=True)
    timezone = ma.fields.String()
    created_at = ma.fields.DateTime(dump_only=True)


class TenantListArgs(ListArgs):
    pass


class ClientCreateSchema(StrictSchema):
    name = text(200, required=True)
    legal_name = text(300, required=True)
    country = Country(required=True)
    address = text(500, required=True, metadata={"description": "The registered address as one display line"})
    street = text(300, allow_none=True, metadata={"description": "Registered address: street and number"})
    city = text(100, allow_none=True)
    postcode = text(20, allow_none=True)
    state = text(100, allow_none=True, metadata={"description": "State, province or region"})
    timezone = time_zone(load_default="UTC")
    sites = ma.fields.List(ma.fields.Nested(SiteSchema), load_default=list, validate=ma.validate.Length(max=500))
    admin = ma.fields.Nested(NewAdminSchema, required=True)


class ClientUpdateSchema(StrictSchema):
    name = text(200)
    legal_name = text(300)
    country = Country()
    address = text(500)
    street = text(300, allow_none=True, metadata={"description": "Registered address: street and number"})
    city = text(100, allow_none=True)
    postcode = text(20, allow_none=True)
    state = text(100, allow_none=True, metadata={"description": "State, province or region"})
    timezone = time_zone()
    sites = ma.fields.List(ma.fields.Nested(SiteSchema), validate=ma.validate.Length(max=500))


class ClientSchema(Schema):
    """A client organisation as its certification body sees it."""

    id = ma.fields.UUID()
    name = ma.fields.String()
    legal_name = ma.fields.String(allow_none=True)
    country = ma.fields.String()
    address = ma.fields.String(allow_none=True)
    street = ma.fields.String(allow_none=True)
    city = ma.fields.String(allow_none=True)
    postcode = ma.fields.String(allow_none=True)
    state = ma.fields.String(allow_none=True)
    address_needs_review = ma.fields.Boolean(metadata={
        "description": "True while the street line still holds the old free-text address (migration 0017)"})
    timezone = ma.fields.String()
    sites = ma.fields.List(ma.fields.Nested(SiteSchema))
    relationship_status = ma.fields.String()
    client_since = ma.fields.Date()
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


class ClientListArgs(ListArgs):
    q = ma.fields.String(
        validate=ma.validate.Length(min=1, max=100), metadata={"description": "Text contained in the name"}
    )


def _registry_status(description: str) -> ma.fields.String:
    return ma.fields.String(required=True, validate=ma.validate.OneOf(REGISTRY_STATUSES),
                            metadata={"description": description})


class RegistryStatusesSchema(StrictSchema):
    """G1: how each certificate status reads in IAF CertSearch (one of its accepted certification_status values)."""

    active = _registry_status("Usually active")
    suspended = _registry_status("Usually suspended")
    withdrawn = _registry_status("Usually withdrawn (or cancelled)")
    expired = _registry_status("Usually expired")


class PolicySchema(Schema):
    response_due_days = ma.fields.Integer(metadata={"description": "F3: days to respond to a nonconformity"})
    major_closure_days = ma.fields.Integer(metadata={"description": "F3: days to close a major"})
    minor_closure_days = ma.fields.Integer(allow_none=True, metadata={"description": "F3: null = by the next audit"})
    surveillance_tolerance_days = ma.fields.Integer(metadata={"description": "C6: days a surveillance may slip"})
    numbering_template = ma.fields.String(metadata={"description": "C4: e.g. {cb}-{scheme}-{yyyy}-{seq:05}"})
    max_suspension_days = ma.fields.Integer(metadata={"description": "C8: longest suspension"})
    withdraw_on_lapse = ma.fields.Boolean(
        metadata={"description": "C8: withdraw (true) or flag (false) a lapsed suspension"})
    accreditation_body = ma.fields.String(allow_none=True, metadata={"description": "G1: the body's name"})
    accreditation_body_acronym = ma.fields.String(allow_none=True, metadata={
        "description": "G1: the accreditation body's acronym as IAF CertSearch lists it, e.g. UKAS"})
    accreditation_number = ma.fields.String(allow_none=True)
    accredited_schemes = ma.fields.List(ma.fields.UUID(), metadata={
        "description": "G1: schemes the CB is accredited for; their certificates are Accredited in the registry"})
    registry_statuses = ma.fields.Nested(RegistryStatusesSchema, metadata={
        "description": "G1: the registry's certification_status for each certificate status"})


class PolicyUpdateSchema(StrictSchema):
    @ma.validates("numbering_template")
    def _template(self, value: str, **_kwargs: object) -> None:
        try:
            check_template(value)
        except ValueError as exc:
            raise ma.ValidationError(str(exc)) from exc

    response_due_days = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=365))
    major_closure_days = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=365))
    minor_closure_days = ma.fields.Integer(required=True, allow_none=True, validate=ma.validate.Range(min=1, max=730))
    surveillance_tolerance_days = ma.fields.Integer(required=True, validate=ma.validate.Range(min=0, max=90))
    numbering_template = ma.fields.String(
        load_default="{cb}-{scheme}-{yyyy}-{seq:05}",
        validate=[ma.validate.Length(min=1, max=120),
                  ma.validate.Regexp(r"^[A-Za-z0-9_/{}:.-]+$",
                                     error="Letters, digits, - _ / . and placeholders only.")],
        metadata={"description": "Must contain {seq} (optionally {seq:0N}); may use {cb}, {scheme}, {yyyy}"},
    )
    max_suspension_days = ma.fields.Integer(load_default=183, validate=ma.validate.Range(min=1, max=366))
    withdraw_on_lapse = ma.fields.Boolean(load_default=False)
    accreditation_body = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.Length(max=200))
    accreditation_body_acronym = ma.fields.String(
        load_default=None, allow_none=True,
        validate=ma.validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9 &.-]{0,19}$",
                                    error="An acronym: letters, digits, space & . -, at most 20 characters."))
    accreditation_number = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.Length(max=80))
    accredited_schemes = ma.fields.List(ma.fields.UUID(), load_default=list, validate=ma.validate.Length(max=500))
    registry_statuses = ma.fields.Nested(RegistryStatusesSchema, load_default=lambda: dict(DEFAULT_REGISTRY_STATUSES))
