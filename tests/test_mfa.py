"""I1, I2, I4: a second factor (TOTP, RFC 6238) computed by pyotp as an authenticator app would, the two-step login
it brings, a tenant's sign-in policy (required second factor, required single sign-on with break-glass admins), and
the audit events every sign-in and every refusal leaves in the tenant's trail."""
from __future__ import annotations

import json
import time
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs, urlparse

import pyotp
from flask.testing import FlaskClient
from sqlalchemy import select

from grc import tenancy
from grc.auth.models import MfaTicket, SecondFactor
from grc.extensions import db
from grc.jobs.job_functions import purge_expired_tokens
from tests.test_auth import LOGIN, assert_problem, bearer, login
from tests.world import World

AUDITOR = "auditor@cb-a.test"
ADMIN = "cb_admin@cb-a.test"
MFA_STEP = "/api/v1/auth/mfa"
PROBLEMS = "https://grc.example/problems/"


class Authenticator:
    """An authenticator app holding ``secret``: each code it gives belongs to a later time step than the one before
    (the server accepts a code once, within one step of drift), so a test gets three in a row: the steps before,
    at and after now."""

    def __init__(self, secret: str):
        self.totp = pyotp.TOTP(secret)
        if time.time() % 30 > 25:  # so close to the next step that the first code could fall out of the window
            time.sleep(30 - time.time() % 30 + 0.1)
        self.next_step = self.totp.timecode(time.time()) - 1

    def code(self) -> str:
        self.next_step += 1
        return self.totp.generate_otp(self.next_step - 1)

    def wrong_code(self) -> str:
        right = {self.totp.generate_otp(self.totp.timecode(time.time()) + drift) for drift in (-1, 0, 1)}
        return next(c for c in ("000000", "111111", "222222", "333333") if c not in right)


def enrolled(client: FlaskClient, world: World, email: str) -> tuple[Authenticator, list[str]]:
    """``email`` enrols through /me/mfa/totp and confirms a first code: the app and the ten recovery codes."""
    started = client.post("/api/v1/me/mfa/totp", headers=world.headers(email))
    assert started.status_code == 200, started.get_json()
    app = Authenticator(started.get_json()["secret"])
    confirmed = client.post("/api/v1/me/mfa/totp/confirm", headers=world.headers(email), json={"code": app.code()})
    assert confirmed.status_code == 200, confirmed.get_json()
    codes: list[str] = confirmed.get_json()["recovery_codes"]
    return app, codes


def ticket_of(client: FlaskClient, email: str, kind: str = "mfa-required") -> str:
    """The right password: a 403 of ``kind`` carrying the ticket for the second step, and no tokens."""
    body = assert_problem(login(client, email), 403)
    assert body["type"] == PROBLEMS + kind and body["rule"] == "I2" and "access_token" not in body
    ticket: str = body["mfa_ticket"]
    return ticket


def second_step(client: FlaskClient, ticket: str, **code: str) -> Any:
    return client.post(MFA_STEP, json={"mfa_ticket": ticket, **code})


def events(client: FlaskClient, world: World, action: str) -> list[dict[str, Any]]:
    response = client.get("/api/v1/audit-events", query_string={"action": action, "limit": 100},
                          headers=world.headers(ADMIN))
    assert response.status_code == 200, response.get_json()
    items: list[dict[str, Any]] = response.get_json()["items"]
    return items


def put_policy(client: FlaskClient, world: World, **policy: Any) -> Any:
    body = {"require_mfa": False, "require_sso": False, "break_glass_user_ids": [], **policy}
    return client.put("/api/v1/sign-in-policy", headers=world.headers(ADMIN), json=body)


def test_I2_a_user_enrols_with_a_qr_code_and_login_becomes_two_steps(app, client, world):
    me = world.headers(AUDITOR)
    assert client.get("/api/v1/me/mfa", headers=me).get_json() == {
        "enabled": False, "confirmed_at": None, "recovery_codes_remaining": 0}
    started = client.post("/api/v1/me/mfa/totp", headers=me).get_json()
    uri = urlparse(started["otpauth_uri"])
    assert (uri.scheme, uri.netloc, parse_qs(uri.query)["secret"]) == ("otpauth", "totp", [started["secret"]])
    assert started["qr_code"].startswith("data:image/svg+xml")
    assert login(client, AUDITOR).status_code == 200  # not confirmed yet: the password alone still signs in

    app_ = Authenticator(started["secret"])
    wrong = client.post("/api/v1/me/mfa/totp/confirm", headers=me, json={"code": app_.wrong_code()})
    assert "code" in assert_problem(wrong, 422)["errors"]
    codes = client.post("/api/v1/me/mfa/totp/confirm", headers=me, json={"code": app_.code()}).get_json()
    assert len(set(codes["recovery_codes"])) == 10
    status = client.get("/api/v1/me/mfa", headers=me).get_json()
    assert (status["enabled"], status["recovery_codes_remaining"]) == (True, 10)
    with app.app_context(), tenancy.system_scope(db.session):
        stored = db.session.scalars(select(SecondFactor)).one()
        assert started["secret"].encode() not in stored.sealed_secret  # sealed, not stored in the clear
        assert not set(codes["recovery_codes"]) & set(stored.recovery_code_hashes)  # hashed

    ticket = ticket_of(client, AUDITOR)
    assert_problem(second_step(client, ticket, code=app_.wrong_code()), 401)
    tokens = second_step(client, ticket, code=app_.code())
    assert tokens.status_code == 200, tokens.get_json()
    assert client.get("/api/v1/me", headers=bearer(tokens.get_json()["access_token"])).status_code == 200
    assert_problem(second_step(client, ticket, code=app_.code()), 401)  # a ticket is used once


def test_I2_a_code_is_accepted_once(client, world):
    app_, _codes = enrolled(client, world, AUDITOR)
    code = app_.code()
    assert second_step(client, ticket_of(client, AUDITOR), code=code).status_code == 200
    replayed = second_step(client, ticket_of(client, AUDITOR), code=code)
    assert assert_problem(replayed, 401)["detail"] == "The code is wrong or was used already."


def test_I2_a_recovery_code_signs_in_once(client, world):
    _app, codes = enrolled(client, world, AUDITOR)
    typed = codes[3].upper().replace("-", " ")  # as someone may type it off paper
    assert second_step(client, ticket_of(client, AUDITOR), recovery_code=typed).status_code == 200
    assert client.get("/api/v1/me/mfa", headers=world.headers(AUDITOR)).get_json()["recovery_codes_remaining"] == 9
    assert_problem(second_step(client, ticket_of(client, AUDITOR), recovery_code=codes[3]), 401)
    both = second_step(client, ticket_of(client, AUDITOR), recovery_code=codes[4], code="123456")
    assert "code" in assert_problem(both, 422)["errors"]


def test_I2_disabling_the_factor_needs_a_fresh_code(client, world):
    started = client.post("/api/v1/me/mfa/totp", headers=world.headers(AUDITOR)).get_json()
    app_ = Authenticator(started["secret"])
    used = app_.code()
    client.post("/api/v1/me/mfa/totp/confirm", headers=world.headers(AUDITOR), json={"code": used})
    stale = client.delete("/api/v1/me/mfa/totp", headers=world.headers(AUDITOR), json={"code": used})
    assert "code" in assert_problem(stale, 422)["errors"]
    assert client.delete("/api/v1/me/mfa/totp", headers=world.headers(AUDITOR),
                         json={"code": app_.code()}).status_code == 204
    assert login(client, AUDITOR).status_code == 200  # the password alone again
    assert [e["action"] for e in events(client, world, "mfa.disabled")] == ["mfa.disabled"]


def test_I2_a_tenant_requiring_mfa_refuses_a_password_only_login_and_walks_the_enrolment(client, world):
    assert put_policy(client, world, require_mfa=True).status_code == 200
    ticket = ticket_of(client, AUDITOR, "mfa-enrolment-required")
    assert_problem(second_step(client, ticket, code="123456"), 401)  # an enrolment ticket is not a code ticket
    enrolment = client.post("/api/v1/auth/mfa/enrolment", json={"mfa_ticket": ticket})
    assert enrolment.status_code == 200, enrolment.get_json()
    app_ = Authenticator(enrolment.get_json()["secret"])
    signed_in = client.post("/api/v1/auth/mfa/enrolment/confirm", json={"mfa_ticket": ticket, "code": app_.code()})
    assert signed_in.status_code == 200, signed_in.get_json()
    body = signed_in.get_json()
    assert len(body["recovery_codes"]) == 10
    assert client.get("/api/v1/me", headers=bearer(body["access_token"])).status_code == 200
    assert second_step(client, ticket_of(client, AUDITOR), code=app_.code()).status_code == 200  # from now on


def test_I1_a_tenant_requiring_sso_refuses_password_login_but_its_break_glass_admin_signs_in(client, world):
    assert client.get("/api/v1/sign-in-policy", headers=world.headers(ADMIN)).get_json() == {
        "require_mfa": False, "require_sso": False, "break_glass_user_ids": []}
    not_admin = put_policy(client, world, require_sso=True, break_glass_user_ids=[str(world.users[AUDITOR])])
    assert "break_glass_user_ids" in assert_problem(not_admin, 422)["errors"]
    foreign = put_policy(client, world, require_sso=True, break_glass_user_ids=[str(world.users["cb_admin@cb-b.test"])])
    assert "break_glass_user_ids" in assert_problem(foreign, 422)["errors"]
    admin_id = str(world.users[ADMIN])
    assert put_policy(client, world, require_sso=True, break_glass_user_ids=[admin_id]).get_json()[
        "break_glass_user_ids"] == [admin_id]

    refused = assert_problem(login(client, AUDITOR), 403)
    assert "GET /api/v1/auth/sso/cb-a/start" in refused["detail"] and refused["rule"] == "I1"
    assert login(client, ADMIN).status_code == 200
    assert login(client, "auditor@cb-b.test").status_code == 200  # another tenant's policy is its own
    assert_problem(client.get("/api/v1/sign-in-policy", headers=world.headers(AUDITOR)), 403)


def test_I2_a_ticket_expires(app, client, world):
    app_, _codes = enrolled(client, world, AUDITOR)
    settings = app.config["GRC_SETTINGS"]
    app.config["GRC_SETTINGS"] = replace(settings, mfa_ticket_minutes=0)
    try:
        ticket = ticket_of(client, AUDITOR)
    finally:
        app.config["GRC_SETTINGS"] = settings
    assert "expired" in assert_problem(second_step(client, ticket, code=app_.code()), 401)["detail"]
    with app.app_context(), tenancy.system_scope(db.session):
        assert purge_expired_tokens() >= 1  # the nightly purge takes expired tickets away
        assert db.session.scalars(select(MfaTicket)).all() == []


def test_I2_a_ticket_dies_after_five_wrong_codes(client, world):
    app_, _codes = enrolled(client, world, AUDITOR)
    ticket = ticket_of(client, AUDITOR)
    for _ in range(5):
        assert_problem(second_step(client, ticket, code=app_.wrong_code()), 401)
    assert_problem(second_step(client, ticket, code=app_.code()), 401)
    assert [e["changes"]["ticket_failures"] for e in events(client, world, "sign_in.failed")] == [5, 4, 3, 2, 1]


def test_I2_the_mfa_step_is_rate_limited_per_ticket(app, client, world):
    app_, _codes = enrolled(client, world, AUDITOR)
    ticket = ticket_of(client, AUDITOR)
    settings = app.config["GRC_SETTINGS"]
    app.config["GRC_SETTINGS"] = replace(settings, login_rate_limit_account="2 per hour")
    try:
        statuses = [second_step(client, ticket, code=app_.wrong_code()).status_code for _ in range(3)]
        assert statuses == [401, 401, 429]
        assert int(second_step(client, ticket, code=app_.code()).headers["Retry-After"]) > 0
    finally:
        app.config["GRC_SETTINGS"] = settings


def test_I4_every_sign_in_and_every_refusal_is_in_the_tenant_trail(client, world):
    assert_problem(login(client, AUDITOR, "wrong password"), 401)
    assert_problem(login(client, "nobody@cb-a.test", "wrong password"), 401)  # no account, no tenant: no event
    app_, _codes = enrolled(client, world, AUDITOR)
    ticket = ticket_of(client, AUDITOR)
    assert_problem(second_step(client, ticket, code=app_.wrong_code()), 401)
    assert second_step(client, ticket, code=app_.code()).status_code == 200
    put_policy(client, world, require_sso=True, break_glass_user_ids=[str(world.users[ADMIN])])
    assert_problem(login(client, AUDITOR), 403)

    failed = events(client, world, "sign_in.failed")
    assert [(e["entity_id"], e["changes"]["method"], e["changes"]["reason"]) for e in reversed(failed)] == [
        (str(world.users[AUDITOR]), "password", "wrong_password"),
        (str(world.users[AUDITOR]), "totp", "wrong_code"),
        (str(world.users[AUDITOR]), "password", "sso_required")]
    assert all(e["actor_type"] == "anonymous" for e in failed)
    assert "wrong password" not in json.dumps(failed) and app_.wrong_code() not in json.dumps(failed)
    assert [e["changes"] for e in events(client, world, "sign_in.password_accepted")] == [{"next": "verify"}]
    accepted = events(client, world, "sign_in.second_factor_accepted")
    assert [(e["actor_id"], e["changes"]["method"]) for e in accepted] == [(str(world.users[AUDITOR]), "totp")]
    assert len(events(client, world, "sign_in_session.created")) == 1  # the session the second step started
    assert [len(events(client, world, a)) for a in ("mfa.enrolment_started", "mfa.confirmed")] == [1, 1]


def test_I2_an_admin_removes_the_factor_of_a_user_who_lost_their_phone(client, world):
    enrolled(client, world, AUDITOR)
    url = f"/api/v1/users/{world.users[AUDITOR]}/mfa"
    assert_problem(client.delete(url, headers=world.headers(AUDITOR)), 403)
    assert client.delete(url, headers=world.headers(ADMIN)).status_code == 204
    assert login(client, AUDITOR).status_code == 200
    assert_problem(client.delete(url, headers=world.headers(ADMIN)), 404)
    reset = events(client, world, "mfa.reset")
    assert [(e["actor_id"], e["entity_type"]) for e in reset] == [(str(world.users[ADMIN]), "second_factor")]


def test_I2_a_user_without_a_password_cannot_sign_in_with_any(app, client, world):
    """A user made by single sign-on or SCIM may hold no password (an empty hash): no password matches it."""
    from grc.auth.models import User

    with app.app_context(), tenancy.system_scope(db.session):
        db.session.scalars(select(User).where(User.email == AUDITOR)).one().password_hash = ""
        db.session.commit()
    assert_problem(client.post(LOGIN, json={"email": AUDITOR, "password": "grc-timing-equaliser"}), 401)
