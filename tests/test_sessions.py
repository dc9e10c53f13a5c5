"""I4: the sign-ins of a user as sessions the user and their admins list and end; an ended session's access and
refresh tokens answer 401 on the very next request."""
from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from grc import tenancy
from grc.auditlog.models import AuditEvent
from grc.auth import sessions
from grc.auth.models import SessionEnd, SignInSession
from grc.db import utcnow
from grc.errors import Unauthorized
from grc.extensions import db
from grc.jobs.job_functions import purge_expired_tokens
from tests.test_auth import LOGIN, assert_problem, bearer
from tests.world import PASSWORD, World

AUDITOR = "auditor@cb-a.test"
LAPTOP, PHONE = "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0", "grc-mobile/2.1 (Android 15)"


def sign_in(client: FlaskClient, email: str, device: str) -> dict[str, str]:
    """Sign in from ``device`` (its User-Agent): the token pair of a new session."""
    response = client.post(LOGIN, json={"email": email, "password": PASSWORD}, headers={"User-Agent": device})
    assert response.status_code == 200, response.get_json()
    tokens: dict[str, str] = response.get_json()
    return tokens


def works(client: FlaskClient, tokens: dict[str, str]) -> tuple[bool, bool]:
    """Whether the access token still reads /me, and whether the refresh token still rotates (the pair is updated
    with the new tokens when it does)."""
    access = client.get("/api/v1/me", headers=bearer(tokens["access_token"])).status_code == 200
    rotated = client.post("/api/v1/auth/refresh", headers=bearer(tokens["refresh_token"]))
    if rotated.status_code == 200:
        tokens.update(rotated.get_json())
    else:
        assert_problem(rotated, 401)
    return access, rotated.status_code == 200


def sessions_url(world: World, email: str) -> str:
    return f"/api/v1/users/{world.users[email]}/sessions"


def listed(client: FlaskClient, world: World, email: str, as_: dict[str, str]) -> list[dict[str, object]]:
    response = client.get(sessions_url(world, email), headers=as_)
    assert response.status_code == 200, response.get_json()
    items: list[dict[str, object]] = response.get_json()["items"]
    return items


def test_I4_an_admin_ends_one_of_two_devices_and_only_that_device_is_signed_out(client, world):
    laptop, phone = sign_in(client, AUDITOR, LAPTOP), sign_in(client, AUDITOR, PHONE)
    admin = world.headers("cb_admin@cb-a.test")
    both = listed(client, world, AUDITOR, admin)
    assert sorted(s["user_agent"] for s in both) == sorted([LAPTOP, PHONE])
    assert all(s["active"] and s["ended_at"] is None and s["ip_address"] == "127.0.0.1" for s in both)
    phone_session = next(s for s in both if s["user_agent"] == PHONE)

    ended = client.delete(f"{sessions_url(world, AUDITOR)}/{phone_session['id']}", headers=admin)
    assert ended.status_code == 204

    assert works(client, phone) == (False, False)
    assert works(client, laptop) == (True, True)
    first, second = listed(client, world, AUDITOR, admin)
    assert (first["user_agent"], first["active"]) == (LAPTOP, True)  # the one still working comes first
    assert (second["id"], second["active"], second["end_reason"]) == (phone_session["id"], False, "ended")
    assert second["ended_by"] == str(world.users["cb_admin@cb-a.test"])
    again = client.delete(f"{sessions_url(world, AUDITOR)}/{phone_session['id']}", headers=admin)
    assert again.status_code == 204
    assert listed(client, world, AUDITOR, admin)[1]["ended_at"] == second["ended_at"]  # idempotent: unchanged


def test_I4_ending_all_sessions_signs_the_user_out_everywhere(client, world):
    laptop, phone = sign_in(client, AUDITOR, LAPTOP), sign_in(client, AUDITOR, PHONE)
    admin = world.headers("cb_admin@cb-a.test")
    assert client.delete(sessions_url(world, AUDITOR), headers=admin).status_code == 204
    assert works(client, laptop) == (False, False)
    assert works(client, phone) == (False, False)
    assert [s["active"] for s in listed(client, world, AUDITOR, admin)] == [False, False]
    assert client.delete(sessions_url(world, AUDITOR), headers=admin).status_code == 204
    assert works(client, sign_in(client, AUDITOR, LAPTOP)) == (True, True)  # signing in again starts afresh


def test_I4_a_user_lists_and_ends_their_own_sessions_and_no_one_elses(client, world):
    laptop, phone = sign_in(client, AUDITOR, LAPTOP), sign_in(client, AUDITOR, PHONE)
    own = bearer(laptop["access_token"])
    phone_session = next(s for s in listed(client, world, AUDITOR, own) if s["user_agent"] == PHONE)
    assert client.delete(f"{sessions_url(world, AUDITOR)}/{phone_session['id']}", headers=own).status_code == 204
    assert works(client, phone) == (False, False)

    someone_else = sign_in(client, "cb_viewer@cb-a.test", LAPTOP)
    theirs = listed(client, world, "cb_viewer@cb-a.test", bearer(someone_else["access_token"]))[0]["id"]
    own = bearer(laptop["access_token"])
    assert_problem(client.get(sessions_url(world, "cb_viewer@cb-a.test"), headers=own), 403)
    assert_problem(client.delete(sessions_url(world, "cb_viewer@cb-a.test"), headers=own), 403)
    assert_problem(client.delete(f"{sessions_url(world, 'cb_viewer@cb-a.test')}/{theirs}", headers=own), 403)
    assert_problem(client.delete(f"{sessions_url(world, AUDITOR)}/{theirs}", headers=own), 404)  # not under mine
    assert works(client, someone_else) == (True, True)


def test_I4_another_tenants_user_or_session_is_not_found(client, world):
    victim = sign_in(client, AUDITOR, LAPTOP)
    session_id = listed(client, world, AUDITOR, bearer(victim["access_token"]))[0]["id"]
    stranger = world.headers("cb_admin@cb-b.test")
    assert_problem(client.get(sessions_url(world, AUDITOR), headers=stranger), 404)
    assert_problem(client.delete(f"{sessions_url(world, AUDITOR)}/{session_id}", headers=stranger), 404)
    own_user = sessions_url(world, "cb_admin@cb-b.test")
    assert_problem(client.delete(f"{own_user}/{session_id}", headers=stranger), 404)
    assert works(client, victim) == (True, True)


def test_I4_logout_ends_the_session_it_belongs_to_and_lists_it_so(client, world):
    laptop = sign_in(client, AUDITOR, LAPTOP)
    works(client, laptop)  # rotated once: the session is the same
    assert client.post("/api/v1/auth/logout", headers=bearer(laptop["access_token"]), json={}).status_code == 204
    [session] = listed(client, world, AUDITOR, world.headers("cb_admin@cb-a.test"))
    assert (session["active"], session["end_reason"], session["ended_by"]) == (False, "logout",
                                                                              str(world.users[AUDITOR]))
    assert session["last_refreshed_at"] is not None


def test_I4_deactivating_a_user_ends_their_sessions_so_reactivation_brings_no_token_back(client, world):
    laptop = sign_in(client, AUDITOR, LAPTOP)
    admin = world.headers("cb_admin@cb-a.test")
    user_url = f"/api/v1/users/{world.users[AUDITOR]}"
    for active in (False, True):
        etag = client.get(user_url, headers=admin).headers["ETag"]
        changed = client.patch(user_url, headers={**admin, "If-Match": etag}, json={"is_active": active})
        assert changed.status_code == 200
    assert works(client, laptop) == (False, False)
    assert listed(client, world, AUDITOR, admin)[0]["end_reason"] == "deactivated"


def test_I4_sessions_page_with_the_working_ones_first(client, world):
    tokens = [sign_in(client, AUDITOR, f"device {n}") for n in range(3)]
    admin = world.headers("cb_admin@cb-a.test")
    middle = next(s for s in listed(client, world, AUDITOR, admin) if s["user_agent"] == "device 1")
    client.delete(f"{sessions_url(world, AUDITOR)}/{middle['id']}", headers=admin)
    seen, cursor = [], None
    while True:
        page = client.get(sessions_url(world, AUDITOR), headers=admin,
                          query_string={"limit": 1, **({"cursor": cursor} if cursor else {})}).get_json()
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [s["user_agent"] for s in seen] == ["device 2", "device 0", "device 1"]  # working, newest first
    assert [s["active"] for s in seen] == [True, True, False]
    assert works(client, tokens[1]) == (False, False)


def test_I4_ending_a_session_is_in_the_audit_trail_and_the_trail_keeps_no_address_or_refresh(app, client, world):
    laptop = sign_in(client, AUDITOR, LAPTOP)
    works(client, laptop)  # a refresh: bookkeeping, no event
    admin = world.headers("cb_admin@cb-a.test")
    session_id = listed(client, world, AUDITOR, admin)[0]["id"]
    client.delete(f"{sessions_url(world, AUDITOR)}/{session_id}", headers=admin)
    with app.app_context(), tenancy.system_scope(db.session):
        trail = list(db.session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "sign_in_session")
                                        .order_by(AuditEvent.seq)))
    assert [e.action for e in trail] == ["sign_in_session.created", "sign_in_session.updated"]
    created, ended = trail
    assert created.actor_id == world.users[AUDITOR]
    assert (created.changes["ip_address"], created.changes["user_agent"]) == ("[set]", "[set]")
    assert "valid_until" not in created.changes and "last_refreshed_at" not in created.changes
    assert ended.actor_id == world.users["cb_admin@cb-a.test"]
    assert ended.changes["end_reason"] == [None, "ended"] and set(ended.changes) == {"ended_at", "ended_by",
                                                                                   "end_reason"}


def test_I4_sessions_that_stopped_working_a_month_ago_are_purged_with_their_addresses(app: Flask, client, world):
    old, recent = sign_in(client, AUDITOR, LAPTOP), sign_in(client, AUDITOR, PHONE)
    admin = world.headers("cb_admin@cb-a.test")
    assert client.delete(sessions_url(world, AUDITOR), headers=admin).status_code == 204
    with app.app_context(), tenancy.system_scope(db.session):
        by_device = {s.user_agent: s for s in db.session.scalars(select(SignInSession))}
        by_device[LAPTOP].valid_until = utcnow() - timedelta(days=31)
        db.session.commit()
        purge_expired_tokens()
    assert [s["user_agent"] for s in listed(client, world, AUDITOR, admin)] == [PHONE]
    assert works(client, old) == (False, False) and works(client, recent) == (False, False)


def test_I4_a_refresh_racing_the_end_of_its_session_does_not_revive_it(app: Flask, client, world):
    """The guard let the refresh token through, then an admin ended the session before the refresh wrote: the
    refresh refuses (401) instead of extending an ended sign-in."""
    sign_in(client, AUDITOR, LAPTOP)
    with app.app_context(), tenancy.system_scope(db.session):
        row = db.session.scalars(select(SignInSession)).one()
        sessions.end(row, reason=SessionEnd.ended, by=None)
        db.session.commit()
        with pytest.raises(Unauthorized):
            sessions.touch(db.session, row.id)
