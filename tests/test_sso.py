"""Single sign-on through a real OpenID provider on loopback (I1, issue 18 item 5): the whole authorization code flow,
from grc's start to the token pair, with an HTTP client following redirects between the live grc server and the
provider of tests/oidc_provider.py (Authlib's server components, its own RSA keys)."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from flask import Flask
from flask.testing import FlaskClient
from joserfc.jwk import RSAKey
from sqlalchemy import select

from grc import tenancy
from grc.auditlog.models import AuditEvent
from grc.auth.models import User
from grc.extensions import db
from grc.sso.models import IdentityProvider, SignInAttempt
from tests.oidc_provider import LoopbackProvider
from tests.test_auth import assert_problem

PROVIDERS = "/api/v1/identity-providers"
AUDITOR = {"sub": "op-user-1", "email": "auditor@cb-a.test", "email_verified": True, "name": "Auditor A"}


@pytest.fixture
def provider(app: Flask, live_server: str) -> Iterator[LoopbackProvider]:
    """The provider, and grc set up to reach it (loopback allowed) and to name its own callback on the live server."""
    op = LoopbackProvider()
    op.user = dict(AUDITOR)
    settings = app.config["GRC_SETTINGS"]
    app.config["GRC_SETTINGS"] = replace(settings, webhook_allowed_hosts="127.0.0.1", public_base_url=live_server,
                                         sso_timeout_seconds=5)
    op.client.redirect_uris = [f"{live_server}/api/v1/auth/sso/{slug}/callback" for slug in ("cb-a", "cb-b")]
    try:
        yield op
    finally:
        app.config["GRC_SETTINGS"] = settings
        op.stop()


def add_provider(client: FlaskClient, world: Any, op: LoopbackProvider, tenant: str = "cb-a",
                 **fields: Any) -> dict[str, Any]:
    body = {"name": "Loopback IdP", "issuer": op.url, "client_id": op.client.client_id,
            "client_secret": op.client.client_secret, "allowed_email_domains": [f"{tenant}.test"], **fields}
    response = client.post(PROVIDERS, headers=world.headers(f"cb_admin@{tenant}.test"), json=body)
    assert response.status_code == 201, response.get_json()
    created: dict[str, Any] = response.get_json()
    return created


def sign_in(live_server: str, tenant: str = "cb-a") -> httpx.Response:
    """A browser: start at grc, follow the redirects to the provider and back to grc's callback."""
    with httpx.Client(follow_redirects=True, timeout=20) as browser:
        return browser.get(f"{live_server}/api/v1/auth/sso/{tenant}/start")


def refused(response: httpx.Response, status: int = 401) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    detail: str = response.json()["detail"]
    return detail


def trail(app: Flask, tenant_id: Any, prefix: str = "sso.") -> list[AuditEvent]:
    with app.app_context(), tenancy.system_scope(db.session):
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.tenant_id == tenant_id,
                                                             AuditEvent.action.startswith(prefix))
                                    .order_by(AuditEvent.seq)).all()
        db.session.expunge_all()
        return list(events)


def test_I1_a_user_signs_in_through_the_tenants_provider_and_gets_a_working_token_pair(
        app, client, world, live_server, provider):
    add_provider(client, world, provider)
    response = sign_in(live_server)
    assert response.status_code == 200, response.text
    tokens = response.json()
    assert tokens["token_type"] == "Bearer" and tokens["refresh_token"]
    me = httpx.get(f"{live_server}/api/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 200 and me.json()["email"] == "auditor@cb-a.test" and me.json()["roles"] == ["auditor"]
    refreshed = httpx.post(f"{live_server}/api/v1/auth/refresh",
                           headers={"Authorization": f"Bearer {tokens['refresh_token']}"})
    assert refreshed.status_code == 200
    events = trail(app, world.tenants["cb-a"])
    assert [event.action for event in events] == ["sso.linked", "sso.signed_in"]
    assert events[1].changes["subject"] == "op-user-1" and events[1].entity_id == world.users["auditor@cb-a.test"]
    assert "code" not in str(events[1].changes) and tokens["access_token"] not in str(events[1].changes)
    # Linked now: the subject finds the user though the provider says another e-mail of the domain later.
    provider.user["email"] = "renamed@cb-a.test"
    again = sign_in(live_server)
    assert again.status_code == 200, again.text
    me = httpx.get(f"{live_server}/api/v1/me", headers={"Authorization": f"Bearer {again.json()['access_token']}"})
    assert me.json()["email"] == "auditor@cb-a.test"


def test_I1_the_client_secret_is_sealed_and_appears_in_no_answer(app, client, world, provider):
    created = add_provider(client, world, provider)
    headers = world.headers("cb_admin@cb-a.test")
    one = client.get(f"{PROVIDERS}/{created['id']}", headers=headers)
    patched = client.patch(f"{PROVIDERS}/{created['id']}", headers={**headers, "If-Match": one.headers["ETag"]},
                           json={"client_secret": "a-new-secret-value", "name": "Renamed"})
    answers = [created, one.get_json(), patched.get_json(), client.get(PROVIDERS, headers=headers).get_json()]
    assert patched.status_code == 200 and patched.get_json()["name"] == "Renamed"
    for answer in answers:
        assert "client_secret" not in str(answer) and provider.client.client_secret not in str(answer)
        assert "a-new-secret-value" not in str(answer)
    with app.app_context(), tenancy.system_scope(db.session):
        stored = db.session.get_one(IdentityProvider, uuid.UUID(created["id"]))
        assert b"a-new-secret-value" not in stored.sealed_client_secret
    changes = [event.changes for event in trail(app, world.tenants["cb-a"], "identity_provider.")]
    assert changes and all(change["sealed_client_secret"] in ("[set]", "[changed]") for change in changes)


def test_I1_a_provider_needs_an_https_issuer_and_roles_of_the_tenants_kind(client, world, provider):
    headers = world.headers("cb_admin@cb-a.test")
    body = {"name": "IdP", "issuer": "http://93.184.215.14/idp", "client_id": "grc", "client_secret": "x",
            "allowed_email_domains": ["cb-a.test"]}
    assert assert_problem(client.post(PROVIDERS, headers=headers, json=body), 422)["errors"].keys() == {"issuer"}
    body |= {"issuer": "https://93.184.215.14/idp", "create_users": True, "default_role": "risk_manager"}
    assert assert_problem(client.post(PROVIDERS, headers=headers, json=body), 422)["errors"].keys() == {
        "default_role"}
    body |= {"default_role": "auditor", "role_claim": "groups", "role_mapping": {"admins": ["client_admin"]}}
    assert assert_problem(client.post(PROVIDERS, headers=headers, json=body), 422)["errors"].keys() == {
        "role_mapping"}
    assert client.post(PROVIDERS, headers=world.headers("auditor@cb-a.test"), json=body).status_code == 403


def test_I1_an_id_token_signed_by_another_key_is_refused_and_the_refusal_is_in_the_trail(
        app, client, world, live_server, provider):
    add_provider(client, world, provider)
    provider.signing_key = RSAKey.generate_key(2048, parameters={"kid": str(provider.key.kid)})  # forged, same kid
    assert "does not verify" in refused(sign_in(live_server))
    events = trail(app, world.tenants["cb-a"])
    assert [event.action for event in events] == ["sso.refused"]
    assert "does not verify" in events[0].changes["reason"] and events[0].actor_type == "anonymous"
    with app.app_context(), tenancy.system_scope(db.session):
        assert db.session.scalars(select(SignInAttempt.used_at)).one() is not None  # used up though refused


def test_I1_an_id_token_for_another_audience_is_refused(client, world, live_server, provider):
    add_provider(client, world, provider)
    provider.audience = "another-client"
    assert "aud" in refused(sign_in(live_server))


def test_I1_an_expired_id_token_is_refused(client, world, live_server, provider):
    add_provider(client, world, provider)
    provider.lifetime = -3600
    assert "exp" in refused(sign_in(live_server))


def test_I1_an_id_token_with_another_nonce_is_refused(client, world, live_server, provider):
    add_provider(client, world, provider)
    provider.nonce = "a-nonce-grc-never-sent"
    assert "nonce" in refused(sign_in(live_server))


def test_I1_a_replayed_state_is_refused(app, client, world, live_server, provider):
    add_provider(client, world, provider)
    with httpx.Client(follow_redirects=False, timeout=20) as browser:
        to_provider = browser.get(f"{live_server}/api/v1/auth/sso/cb-a/start")
        assert to_provider.status_code == 302
        asked = parse_qs(urlsplit(to_provider.headers["location"]).query)
        assert asked["code_challenge_method"] == ["S256"] and asked["nonce"] and asked["state"]
        assert asked["redirect_uri"] == [f"{live_server}/api/v1/auth/sso/cb-a/callback"]
        back = browser.get(to_provider.headers["location"])
        callback = back.headers["location"]
        assert browser.get(callback).status_code == 200
        assert "already used" in refused(browser.get(callback))
    assert [event.action for event in trail(app, world.tenants["cb-a"])] == ["sso.linked", "sso.signed_in",
                                                                            "sso.refused"]


def test_I1_an_e_mail_outside_the_allowed_domains_is_refused(client, world, live_server, provider):
    add_provider(client, world, provider)
    provider.user["email"] = "someone@elsewhere.example"
    assert "outside the domains" in refused(sign_in(live_server))


def test_I1_a_user_of_tenant_a_cannot_sign_in_through_tenant_bs_provider(app, client, world, live_server, provider):
    add_provider(client, world, provider, tenant="cb-b", allowed_email_domains=["cb-a.test"], create_users=True,
                 default_role="cb_viewer")
    assert "another tenant" in refused(sign_in(live_server, tenant="cb-b"))
    assert [event.action for event in trail(app, world.tenants["cb-b"])] == ["sso.refused"]
    with app.app_context(), tenancy.system_scope(db.session):
        assert db.session.scalars(select(User.tenant_id).where(User.email == "auditor@cb-a.test")).one() == \
            world.tenants["cb-a"]


def test_I1_a_new_person_is_created_just_in_time_with_the_mapped_role_which_follows_the_claim(
        app, client, world, live_server, provider):
    add_provider(client, world, provider, create_users=True, default_role="cb_viewer", role_claim="groups",
                 role_mapping={"grc-auditors": ["auditor"], "grc-managers": ["certification_manager"]})
    provider.user = {"sub": "op-new", "email": "newcomer@cb-a.test", "email_verified": True, "name": "New Comer",
                     "groups": ["grc-auditors", "unrelated"]}
    first = sign_in(live_server)
    assert first.status_code == 200, first.text
    me = httpx.get(f"{live_server}/api/v1/me", headers={"Authorization": f"Bearer {first.json()['access_token']}"})
    assert me.json()["email"] == "newcomer@cb-a.test" and me.json()["roles"] == ["auditor"]
    assert me.json()["name"] == "New Comer"
    provider.user["groups"] = ["grc-managers"]
    second = sign_in(live_server)
    me = httpx.get(f"{live_server}/api/v1/me", headers={"Authorization": f"Bearer {second.json()['access_token']}"})
    assert me.json()["roles"] == ["certification_manager"]
    actions = [event.action for event in trail(app, world.tenants["cb-a"], "")]
    assert "user.created" in actions and actions.count("sso.signed_in") == 2 and "user.updated" in actions


def test_I1_T1_a_group_change_at_the_provider_does_not_demote_the_last_active_admin(client, world, live_server,
                                                                                   provider):
    """The claim maps the only admin of cb-a to auditor: they sign in, as the admin they remain (T1), where following
    the claim would have left the tenant without an administrator."""
    add_provider(client, world, provider, role_claim="groups", role_mapping={"grc-auditors": ["auditor"]})
    provider.user = {"sub": "op-admin", "email": "cb_admin@cb-a.test", "email_verified": True,
                     "groups": ["grc-auditors"]}
    signed_in = sign_in(live_server)
    assert signed_in.status_code == 200, signed_in.text
    me = httpx.get(f"{live_server}/api/v1/me", headers={"Authorization": f"Bearer {signed_in.json()['access_token']}"})
    assert me.json()["roles"] == ["cb_admin"]


def test_I1_without_just_in_time_creation_an_unknown_person_is_refused(client, world, live_server, provider):
    add_provider(client, world, provider)
    provider.user = {"sub": "op-new", "email": "newcomer@cb-a.test", "email_verified": True}
    assert "creates none" in refused(sign_in(live_server))


def test_I1_a_disabled_provider_signs_nobody_in(app, client, world, live_server, provider):
    created = add_provider(client, world, provider)
    headers = world.headers("cb_admin@cb-a.test")
    etag = client.get(f"{PROVIDERS}/{created['id']}", headers=headers).headers["ETag"]
    with httpx.Client(follow_redirects=False, timeout=20) as browser:
        to_provider = browser.get(f"{live_server}/api/v1/auth/sso/cb-a/start")
        callback = browser.get(to_provider.headers["location"]).headers["location"]
        assert client.patch(f"{PROVIDERS}/{created['id']}", headers={**headers, "If-Match": etag},
                            json={"enabled": False}).status_code == 200
        assert "disabled" in refused(browser.get(callback))  # an attempt started before it was disabled
    assert "disabled" in refused(sign_in(live_server))
    assert [event.action for event in trail(app, world.tenants["cb-a"])] == ["sso.refused"]


def test_I1_a_key_rotation_at_the_provider_fetches_its_keys_again_once(client, world, live_server, provider):
    add_provider(client, world, provider)
    assert sign_in(live_server).status_code == 200
    assert sign_in(live_server).status_code == 200
    assert provider.jwks_fetches == 1  # cached
    provider.rotate()
    after = sign_in(live_server)
    assert after.status_code == 200, after.text
    assert provider.jwks_fetches == 2


def test_I1_a_provider_that_is_down_is_a_502_problem_not_a_500(client, world, live_server, provider):
    add_provider(client, world, provider, name="Down")
    provider.stop()
    refused(sign_in(live_server), 502)


def test_I1_an_unknown_tenant_or_state_is_a_problem(client, world, live_server, provider):
    assert_problem(client.get("/api/v1/auth/sso/no-such-tenant/start"), 404)
    assert_problem(client.get("/api/v1/auth/sso/cb-a/start"), 422)  # no provider configured
    assert_problem(client.get("/api/v1/auth/sso/cb-a/callback"), 422)  # no state
    assert "already used" in assert_problem(client.get("/api/v1/auth/sso/cb-a/callback?state=forged&code=x"),
                                            401)["detail"]


def test_I1_expired_attempts_are_purged_by_the_nightly_token_purge(app, client, world, live_server, provider):
    from grc.jobs.job_functions import purge_expired_tokens

    add_provider(client, world, provider)
    with httpx.Client(follow_redirects=False, timeout=20) as browser:
        assert browser.get(f"{live_server}/api/v1/auth/sso/cb-a/start").status_code == 302
        assert browser.get(f"{live_server}/api/v1/auth/sso/cb-a/start").status_code == 302
    with app.app_context(), tenancy.system_scope(db.session):
        first = db.session.scalars(select(SignInAttempt).order_by(SignInAttempt.id)).first()
        assert first is not None
        first.expires_at = first.expires_at - timedelta(minutes=11)
        db.session.commit()
        assert purge_expired_tokens() == 1
        assert len(db.session.scalars(select(SignInAttempt)).all()) == 1
