"""Signing in, token rotation and revocation, machine clients, and every way a token can be bad."""
from __future__ import annotations

import time
from dataclasses import replace
from datetime import timedelta

import jwt as pyjwt
from flask_jwt_extended import create_access_token

from tests.world import PASSWORD

LOGIN = "/api/v1/auth/login"


def login(client, email: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    return client.post(LOGIN, json={"email": email, "password": password})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_problem(response, status: int) -> dict:  # type: ignore[no-untyped-def,type-arg]
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == status and body["title"] and body["type"].startswith("https://")
    return body


def test_a_cb_admin_signs_in_and_sees_who_they_are(client, world):
    tokens = login(client, "cb_admin@cb-a.test").get_json()
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 15 * 60
    me = client.get("/api/v1/me", headers=bearer(tokens["access_token"])).get_json()
    assert me["email"] == "cb_admin@cb-a.test"
    assert me["roles"] == ["cb_admin"]
    assert me["tenant"]["kind"] == "certification_body" and me["tenant"]["slug"] == "cb-a"


def test_a_wrong_password_and_an_unknown_account_get_the_same_401(client, world):
    wrong = assert_problem(login(client, "cb_admin@cb-a.test", "not the password"), 401)
    unknown = assert_problem(login(client, "nobody@nowhere.test"), 401)
    assert wrong["detail"] == unknown["detail"]


def test_refresh_rotates_and_the_old_refresh_token_is_dead(client, world):
    first = login(client, "auditor@cb-a.test").get_json()
    second = client.post("/api/v1/auth/refresh", headers=bearer(first["refresh_token"]))
    assert second.status_code == 200
    assert client.get("/api/v1/me", headers=bearer(second.get_json()["access_token"])).status_code == 200
    assert_problem(client.post("/api/v1/auth/refresh", headers=bearer(first["refresh_token"])), 401)


def test_a_refresh_token_is_not_an_access_token_and_vice_versa(client, world):
    tokens = login(client, "auditor@cb-a.test").get_json()
    assert_problem(client.get("/api/v1/me", headers=bearer(tokens["refresh_token"])), 401)
    assert_problem(client.post("/api/v1/auth/refresh", headers=bearer(tokens["access_token"])), 401)


def test_logout_revokes_the_access_and_the_refresh_token(client, world):
    tokens = login(client, "cb_viewer@cb-a.test").get_json()
    out = client.post("/api/v1/auth/logout", headers=bearer(tokens["access_token"]),
                      json={"refresh_token": tokens["refresh_token"]})
    assert out.status_code == 204
    assert_problem(client.get("/api/v1/me", headers=bearer(tokens["access_token"])), 401)
    assert_problem(client.post("/api/v1/auth/refresh", headers=bearer(tokens["refresh_token"])), 401)


def test_I4_logout_ends_the_whole_sign_in_even_without_its_refresh_token(client, world):
    """The refresh token was not sent with the logout, and the pair was rotated once: every token of the sign-in
    stops working, another sign-in of the same user goes on."""
    first = login(client, "cb_viewer@cb-a.test").get_json()
    rotated = client.post("/api/v1/auth/refresh", headers=bearer(first["refresh_token"])).get_json()
    elsewhere = login(client, "cb_viewer@cb-a.test").get_json()
    assert client.post("/api/v1/auth/logout", headers=bearer(rotated["access_token"]), json={}).status_code == 204
    assert_problem(client.post("/api/v1/auth/refresh", headers=bearer(rotated["refresh_token"])), 401)
    assert_problem(client.get("/api/v1/me", headers=bearer(rotated["access_token"])), 401)
    assert_problem(client.get("/api/v1/me", headers=bearer(first["access_token"])), 401)
    assert client.get("/api/v1/me", headers=bearer(elsewhere["access_token"])).status_code == 200
    assert client.post("/api/v1/auth/refresh", headers=bearer(elsewhere["refresh_token"])).status_code == 200


def test_someone_elses_refresh_token_cannot_be_revoked_by_logout(client, world):
    mine = login(client, "cb_viewer@cb-a.test").get_json()
    theirs = login(client, "auditor@cb-a.test").get_json()
    response = client.post("/api/v1/auth/logout", headers=bearer(mine["access_token"]),
                           json={"refresh_token": theirs["refresh_token"]})
    assert_problem(response, 401)
    assert client.post("/api/v1/auth/refresh", headers=bearer(theirs["refresh_token"])).status_code == 200


def test_expired_malformed_and_foreign_signed_tokens_get_401_problems(app, client, world):
    with app.app_context():
        claims = {"tid": str(world.tenants["cb-a"]), "kind": "certification_body", "typ": "user"}
        expired = create_access_token(str(world.users["cb_admin@cb-a.test"]), additional_claims=claims,
                                      expires_delta=timedelta(seconds=-1))
    foreign = pyjwt.encode({"sub": "x", "type": "access", "jti": "j", "exp": 9999999999, **claims},
                           "someone-elses-secret-key-that-is-long-enough", algorithm="HS256")
    for token in (expired, "not.a.jwt", foreign, ""):
        assert_problem(client.get("/api/v1/me", headers=bearer(token)), 401)
    assert_problem(client.get("/api/v1/me"), 401)


def test_deactivating_a_user_revokes_their_tokens_at_once(client, world):
    victim = login(client, "auditor@cb-a.test").get_json()["access_token"]
    admin = world.headers("cb_admin@cb-a.test")
    user_url = f"/api/v1/users/{world.users['auditor@cb-a.test']}"
    etag = client.get(user_url, headers=admin).headers["ETag"]
    assert client.patch(user_url, headers={**admin, "If-Match": etag}, json={"is_active": False}).status_code == 200
    assert_problem(client.get("/api/v1/me", headers=bearer(victim)), 401)
    assert_problem(login(client, "auditor@cb-a.test"), 401)


def test_login_is_rate_limited_per_account_with_retry_after(app, client, world):
    settings = app.config["GRC_SETTINGS"]
    app.config["GRC_SETTINGS"] = replace(settings, login_rate_limit_account="3 per hour")
    try:
        statuses = [login(client, "cb_admin@cb-a.test", "wrong").status_code for _ in range(4)]
        assert statuses == [401, 401, 401, 429]
        limited = login(client, "cb_admin@cb-a.test")
        assert_problem(limited, 429)
        assert int(limited.headers["Retry-After"]) > 0
        assert login(client, "auditor@cb-a.test").status_code == 200  # another account is not affected
    finally:
        app.config["GRC_SETTINGS"] = settings


def test_login_is_rate_limited_per_ip(app, client, world):
    settings = app.config["GRC_SETTINGS"]
    app.config["GRC_SETTINGS"] = replace(settings, login_rate_limit_ip="2 per hour")
    try:
        assert login(client, "auditor@cb-a.test").status_code == 200
        second = login(client, "cb_viewer@cb-a.test")
        assert second.status_code == 200
        # What the spec documents for rate-limited operations: where the caller stands, on every answer (for the
        # limit with the shortest window, here the per-account one of the tests' settings).
        assert 0 <= int(second.headers["X-RateLimit-Remaining"]) < int(second.headers["X-RateLimit-Limit"])
        assert int(second.headers["X-RateLimit-Reset"]) > time.time()
        assert_problem(login(client, "cb_admin@cb-a.test"), 429)
    finally:
        app.config["GRC_SETTINGS"] = settings


def test_an_integration_exchanges_its_client_credentials_for_a_token(client, world):
    admin = world.headers("client_admin@client-a.test")
    created = client.post("/api/v1/api-clients", headers=admin, json={"name": "shop ERP", "roles": ["risk_manager"]})
    assert created.status_code == 201
    body = created.get_json()
    listed = client.get("/api/v1/api-clients", headers=admin).get_json()["items"]
    assert "client_secret" not in listed[0] and listed[0]["client_id"] == body["client_id"]
    credentials = {"client_id": body["client_id"], "client_secret": body["client_secret"]}
    token = client.post("/api/v1/auth/token", json=credentials)
    assert token.status_code == 200 and "refresh_token" not in token.get_json()
    me = client.get("/api/v1/me", headers=bearer(token.get_json()["access_token"])).get_json()
    assert me["principal_type"] == "api_client" and me["roles"] == ["risk_manager"]
    assert me["tenant"]["id"] == str(world.tenants["client-a"])


def test_a_revoked_api_client_loses_its_token_and_cannot_get_another(client, world):
    admin = world.headers("cb_admin@cb-a.test")
    body = client.post("/api/v1/api-clients", headers=admin, json={"name": "feed", "roles": ["cb_viewer"]}).get_json()
    creds = {"client_id": body["client_id"], "client_secret": body["client_secret"]}
    access = client.post("/api/v1/auth/token", json=creds).get_json()["access_token"]
    assert client.post(f"/api/v1/api-clients/{body['id']}/revoke", headers=admin).status_code == 200
    assert_problem(client.get("/api/v1/me", headers=bearer(access)), 401)
    assert_problem(client.post("/api/v1/auth/token", json=creds), 401)
    assert_problem(client.post("/api/v1/auth/token", json={**creds, "client_secret": "wrong"}), 401)


def test_passwords_are_stored_as_argon2id_hashes(app, world):
    from sqlalchemy import select

    from grc import tenancy
    from grc.auth.models import User
    from grc.extensions import db

    with app.app_context(), tenancy.system_scope(db.session):
        stored = db.session.scalars(select(User.password_hash).where(User.email == "cb_admin@cb-a.test")).one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
