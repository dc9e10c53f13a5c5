"""V1: every certification body signs with its own Ed25519 keys, sealed at rest, rotatable, published as a JWKS
that anyone verifies with, using nothing of grc (tests/independent_vc.py is written from the specifications)."""
from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from grc import sealing, tenancy
from grc.auditlog.models import AuditEvent
from grc.config import Settings
from grc.db import utcnow
from grc.extensions import db
from grc.signing import keys, service
from grc.signing.models import SigningKey
from grc.tenants.models import Tenant, TenantKind
from tests.independent_vc import Jws, b64url_encode, signature_holds, thumbprint
from tests.test_auth import assert_problem
from tests.world import World, act_as

ROTATE = "/api/v1/signing-keys/rotate"


def jwks(client: FlaskClient, cb_slug: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/public/cbs/{cb_slug}/jwks.json")
    assert response.status_code == 200, response.get_json()
    published: dict[str, Any] = response.get_json()
    return published


def kids(client: FlaskClient, cb_slug: str) -> list[str]:
    return [key["kid"] for key in jwks(client, cb_slug)["keys"]]


def signed_by(app: Flask, world: World, cb_slug: str, valid_for: timedelta | None = None) -> str:
    """What cb ``cb_slug`` signs now (as it would sign a credential), valid for ``valid_for`` if given."""
    claims: dict[str, Any] = {"credentialSubject": {"id": str(uuid.uuid4())}}
    if valid_for is not None:
        claims["validUntil"] = (utcnow() + valid_for).isoformat()
    with app.app_context():
        act_as(f"cb_admin@{cb_slug}.test")
        token = service.sign(db.session, world.tenants[cb_slug], claims)
        db.session.commit()
    return token


def test_V1_a_new_certification_body_publishes_one_key_named_by_its_thumbprint(client, world):
    [key] = jwks(client, "cb-a")["keys"]
    assert key == {"kty": "OKP", "crv": "Ed25519", "x": key["x"], "kid": thumbprint(key), "alg": "EdDSA", "use": "sig"}
    assert kids(client, "cb-b") != [key["kid"]]  # each CB its own key

    issuer = client.get("/api/v1/public/cbs/cb-a").get_json()
    assert issuer["name"] == "CB A" and issuer["jwks_uri"] == issuer["id"] + "/jwks.json"
    assert issuer["id"].endswith("/api/v1/public/cbs/cb-a")
    did = client.get("/api/v1/public/cbs/cb-a/did.json").get_json()
    assert did["id"] == issuer["did"] and did["id"].startswith("did:web:") and did["id"].endswith(":cbs:cb-a")
    assert [m["publicKeyJwk"] for m in did["verificationMethod"]] == [key]
    assert did["assertionMethod"] == [f"{did['id']}#{key['kid']}"]


def test_V1_what_a_cb_signs_verifies_with_its_jwks_and_with_no_other_cb_s(app, client, world):
    token = signed_by(app, world, "cb-a")
    signed = Jws.parse(token)
    assert signed.header == {"alg": "EdDSA", "typ": "vc+jwt", "kid": kids(client, "cb-a")[0]}
    assert signature_holds(signed, jwks(client, "cb-a"))
    assert not signature_holds(signed, jwks(client, "cb-b"))  # a key of another CB: no

    head, _body, signature = token.split(".")
    forged = signed.payload | {"credentialSubject": {"id": "someone else"}}
    tampered = f"{head}.{b64url_encode(json.dumps(forged).encode())}.{signature}"
    assert not signature_holds(Jws.parse(tampered), jwks(client, "cb-a"))


def test_V1_after_a_rotation_old_credentials_verify_and_new_ones_name_the_new_key(app, client, world):
    old_kid = kids(client, "cb-a")[0]
    before = signed_by(app, world, "cb-a", valid_for=timedelta(days=365))

    rotated = client.post(ROTATE, headers=world.headers("cb_admin@cb-a.test"))
    assert rotated.status_code == 201, rotated.get_json()
    new_kid = rotated.get_json()["kid"]
    assert new_kid != old_kid and rotated.get_json()["retired_at"] is None

    after = signed_by(app, world, "cb-a", valid_for=timedelta(days=30))
    assert Jws.parse(after).header["kid"] == new_kid
    published = jwks(client, "cb-a")
    assert [key["kid"] for key in published["keys"]] == [new_kid, old_kid]
    assert signature_holds(Jws.parse(before), published) and signature_holds(Jws.parse(after), published)

    listed = client.get("/api/v1/signing-keys", headers=world.headers("cb_viewer@cb-a.test")).get_json()["items"]
    assert [(k["kid"], k["retired_at"] is None) for k in listed] == [(new_kid, True), (old_kid, False)]
    assert listed[1]["signs_until"] == (utcnow() + timedelta(days=365)).date().isoformat()


def test_V1_a_retired_key_leaves_the_jwks_once_nothing_it_signed_is_valid(app, client, world):
    unused = kids(client, "cb-a")[0]
    assert client.post(ROTATE, headers=world.headers("cb_admin@cb-a.test")).status_code == 201
    assert unused not in kids(client, "cb-a")  # it signed nothing: nothing to keep verifying

    expired_signer = kids(client, "cb-a")[0]
    signed_by(app, world, "cb-a", valid_for=timedelta(days=-1))  # everything it signed has lapsed
    assert client.post(ROTATE, headers=world.headers("cb_admin@cb-a.test")).status_code == 201
    assert expired_signer not in kids(client, "cb-a") and len(kids(client, "cb-a")) == 1


@pytest.mark.parametrize("email", ["certification_manager@cb-a.test", "auditor@cb-a.test",
                                   "client_admin@client-a.test"])
def test_V1_only_the_cb_admin_rotates(client, world, email):
    before = kids(client, "cb-a")
    assert_problem(client.post(ROTATE, headers=world.headers(email)), 403)
    assert kids(client, "cb-a") == before


def test_V1_a_cb_admin_rotates_its_own_keys_only(client, world):
    before = kids(client, "cb-b")
    assert client.post(ROTATE, headers=world.headers("cb_admin@cb-a.test")).status_code == 201
    assert kids(client, "cb-b") == before
    listed = client.get("/api/v1/signing-keys", headers=world.headers("cb_admin@cb-b.test")).get_json()["items"]
    assert [key["kid"] for key in listed] == before


def test_V1_the_api_never_returns_a_private_key_and_the_database_holds_it_sealed(app, client, world):
    listed = client.get("/api/v1/signing-keys", headers=world.headers("cb_admin@cb-a.test"))
    [key] = listed.get_json()["items"]
    assert set(key) == {"id", "kid", "public_jwk", "created_at", "retired_at", "signs_until"}
    assert "d" not in key["public_jwk"] and "sealed" not in listed.get_data(as_text=True)

    settings: Settings = app.config["GRC_SETTINGS"]
    kek = sealing.key_encryption_key(settings)
    with app.app_context(), tenancy.system_scope(db.session):
        row = db.session.scalars(select(SigningKey).where(SigningKey.kid == key["kid"])).one()
        opened = keys.unseal(row.sealed_private_key, kek, tenant_id=row.tenant_id, kid=row.kid)
        assert opened.as_dict(private=False)["x"] == key["public_jwk"]["x"]
        with pytest.raises(sealing.SealedError):
            other = sealing.key_encryption_key(replace(settings, key_encryption_key="k" * 40))
            keys.unseal(row.sealed_private_key, other, tenant_id=row.tenant_id, kid=row.kid)
        with pytest.raises(sealing.SealedError):  # moved onto another CB's row, it does not open
            keys.unseal(row.sealed_private_key, kek, tenant_id=world.tenants["cb-b"], kid=row.kid)
        [created] = db.session.scalars(select(AuditEvent).where(AuditEvent.entity_id == row.id)).all()
        assert created.changes["sealed_private_key"] == "[set]"


def test_V1_grc_db_upgrade_gives_a_certification_body_without_a_key_its_first_one(app, client, database_url):
    """``grc db upgrade`` runs ``provision_missing_keys`` as the owner right after the migrations."""
    with app.app_context(), tenancy.system_scope(db.session):
        db.session.add(Tenant(kind=TenantKind.certification_body, name="Older CB", slug="older-cb", country="FR"))
        db.session.commit()
    assert jwks(client, "older-cb")["keys"] == []

    owner = replace(app.config["GRC_SETTINGS"], database_url=database_url)
    assert service.provision_missing_keys(owner) == 1
    [key] = jwks(client, "older-cb")["keys"]
    assert key["kid"] == thumbprint(key)
    assert service.provision_missing_keys(owner) == 0  # once is enough


def test_V1_an_unknown_issuer_is_404(client, world):
    for path in ("nobody", "nobody/jwks.json", "nobody/did.json", "client-a/jwks.json", "cb-a%00/jwks.json",
                 "a" * 5000):
        assert_problem(client.get(f"/api/v1/public/cbs/{path}"), 404)


def test_V1_production_refuses_to_start_without_a_key_encryption_key():
    production = {"env": "production", "secret_key": "s" * 40}
    with pytest.raises(RuntimeError, match="GRC_KEY_ENCRYPTION_KEY"):
        Settings(**production, key_encryption_key="").check()
    with pytest.raises(RuntimeError, match="GRC_KEY_ENCRYPTION_KEY"):
        Settings(**production, key_encryption_key="too short").check()
    Settings(**production, key_encryption_key="k" * 32).check()
