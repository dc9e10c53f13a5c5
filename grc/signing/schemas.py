"""Schemas of signing keys (V1): public halves only; no schema here has a field for a private key."""
from __future__ import annotations

import marshmallow as ma

from grc.schemas import Schema


class PublicJwkSchema(Schema):
    """An Ed25519 public key as a JSON Web Key (RFC 8037)."""

    kty = ma.fields.String(metadata={"description": "Key type: OKP"})
    crv = ma.fields.String(metadata={"description": "Curve: Ed25519"})
    x = ma.fields.String(metadata={"description": "The public key, base64url"})
    kid = ma.fields.String(metadata={"description": "Key id: the RFC 7638 thumbprint; credentials name it"})
    alg = ma.fields.String(metadata={"description": "EdDSA"})
    use = ma.fields.String(metadata={"description": "sig"})


class SigningKeySchema(Schema):
    id = ma.fields.UUID()
    kid = ma.fields.String(metadata={"description": "Key id (RFC 7638 thumbprint), in the header of what it signs"})
    public_jwk = ma.fields.Nested(PublicJwkSchema)
    created_at = ma.fields.DateTime()
    retired_at = ma.fields.DateTime(allow_none=True, metadata={
        "description": "When a rotation stopped it signing; null for the key that signs now"})
    signs_until = ma.fields.Date(allow_none=True, metadata={
        "description": "The latest validUntil of what it signed: a retired key stays published until then"})


class JwksSchema(Schema):
    """A JSON Web Key Set (RFC 7517): the keys a certification body's credentials verify with."""

    keys = ma.fields.List(ma.fields.Nested(PublicJwkSchema), metadata={
        "description": "The key that signs now and retired keys whose credentials are still valid"})


class IssuerSchema(Schema):
    """A certification body as the issuer of credentials, and where its public keys are."""

    id = ma.fields.String(metadata={"description": "Issuer URL, as in the credentials' `issuer.id`"})
    name = ma.fields.String(metadata={"description": "Certification body"})
    did = ma.fields.String(metadata={"description": "The same issuer as a did:web identifier"})
    jwks_uri = ma.fields.String(metadata={"description": "The JWKS to verify its credentials with"})


class VerificationMethodSchema(Schema):
    id = ma.fields.String(metadata={"description": "The DID with the key id as fragment"})
    type = ma.fields.String(metadata={"description": "JsonWebKey2020"})
    controller = ma.fields.String()
    publicKeyJwk = ma.fields.Nested(PublicJwkSchema)  # noqa: N815 - the DID Core member name


class DidDocumentSchema(Schema):
    """The certification body's did:web document (W3C DID Core): the same keys as its JWKS."""

    context = ma.fields.List(ma.fields.String(), data_key="@context", attribute="@context")
    id = ma.fields.String(metadata={"description": "did:web identifier of the certification body"})
    alsoKnownAs = ma.fields.List(ma.fields.String(), metadata={"description": "The issuer URL"})  # noqa: N815
    verificationMethod = ma.fields.List(ma.fields.Nested(VerificationMethodSchema))  # noqa: N815
    assertionMethod = ma.fields.List(ma.fields.String())  # noqa: N815
