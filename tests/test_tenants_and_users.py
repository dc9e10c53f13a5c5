"""The platform creates CBs, a CB onboards clients, tenant admins manage their people."""
from __future__ import annotations

import uuid

from sqlalchemy import func, select

from grc import tenancy
from grc.extensions import db
from grc.tenants.models import Tenant
from tests.test_auth import assert_problem, login

NEW_CB = {
    "kind": "certification_body", "name": "Nordic Cert", "slug": "nordic-cert", "country": "se",
    "admin": {"email": "boss@nordic.test", "name": "Boss", "password": "a long enough password"},
}
NEW_CLIENT = {
    "name": "Web Shop", "legal_name": "Web Shop AB", "country": "SE", "address": "Gatan 1, Stockholm",
    "sites": [{"name": "HQ", "address": "Gatan 1, Stockholm", "country": "SE"}],
    "admin": {"email": "owner@webshop.test", "name": "Owner", "password": "a long enough password"},
}


def tenant_count(app) -> int:  # type: ignore[no-untyped-def]
    with app.app_context(), tenancy.system_scope(db.session):
        return db.session.scalar(select(func.count()).select_from(Tenant))


def test_the_platform_admin_creates_a_cb_whose_admin_can_sign_in(client, world):
    created = client.post("/api/v1/tenants", headers=world.headers("platform_admin@platform.test"), json=NEW_CB)
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["country"] == "SE" and created.get_json()["kind"] == "certification_body"
    assert login(client, "boss@nordic.test", "a long enough password").status_code == 200


def test_only_the_platform_admin_creates_cbs(client, world):
    assert_problem(client.post("/api/v1/tenants", headers=world.headers("cb_admin@cb-a.test"), json=NEW_CB), 403)


def test_a_taken_slug_or_a_taken_email_is_a_422_naming_the_field_and_nothing_is_written(app, client, world):
    before = tenant_count(app)
    admin = world.headers("platform_admin@platform.test")
    taken_slug = assert_problem(client.post("/api/v1/tenants", headers=admin, json={**NEW_CB, "slug": "cb-a"}), 422)
    assert "slug" in taken_slug["errors"]
    taken_email = {**NEW_CB, "admin": {**NEW_CB["admin"], "email": "cb_admin@cb-b.test"}}
    assert "email" in assert_problem(client.post("/api/v1/tenants", headers=admin, json=taken_email), 422)["errors"]
    assert tenant_count(app) == before


def test_bad_fields_are_all_named_and_unknown_fields_rejected(client, world):
    body = {**NEW_CB, "kind": "client_organisation", "country": "XX", "slug": "Not A Slug", "colour": "red"}
    errors = assert_problem(
        client.post("/api/v1/tenants", headers=world.headers("platform_admin@platform.test"), json=body), 422
    )["errors"]
    assert set(errors) >= {"kind", "country", "slug", "colour"}
    assert errors["colour"] == ["Unknown field."]


def test_a_cb_onboards_a_client_whose_admin_signs_in_to_the_client_tenant(client, world):
    created = client.post("/api/v1/clients", headers=world.headers("certification_manager@cb-b.test"), json=NEW_CLIENT)
    assert created.status_code == 201, created.get_json()
    view = created.get_json()
    assert view["relationship_status"] == "active" and view["sites"][0]["name"] == "HQ"
    tokens = login(client, "owner@webshop.test", "a long enough password").get_json()
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}).get_json()
    assert me["tenant"]["id"] == view["id"] and me["tenant"]["kind"] == "client_organisation"
    listed = client.get("/api/v1/clients", headers=world.headers("cb_viewer@cb-b.test")).get_json()["items"]
    names = [c["name"] for c in listed]
    assert sorted(names) == ["Client B", "Web Shop"]


def test_auditors_and_viewers_cannot_onboard_and_clients_cannot_list_clients(client, world):
    for email in ("auditor@cb-a.test", "cb_viewer@cb-a.test"):
        assert_problem(client.post("/api/v1/clients", headers=world.headers(email), json=NEW_CLIENT), 403)
    assert_problem(client.get("/api/v1/clients", headers=world.headers("client_admin@client-a.test")), 403)


def test_editing_a_client_needs_the_current_etag(client, world):
    headers = world.headers("cb_admin@cb-a.test")
    url = f"/api/v1/clients/{world.tenants['client-a']}"
    etag = client.get(url, headers=headers).headers["ETag"]
    assert_problem(client.patch(url, headers=headers, json={"address": "2 rue Neuve"}), 428)
    assert client.patch(url, headers={**headers, "If-Match": etag}, json={"address": "2 rue Neuve"}).status_code == 200
    assert_problem(client.patch(url, headers={**headers, "If-Match": etag}, json={"address": "3 rue Neuve"}), 412)
    assert client.get(url, headers=headers).get_json()["address"] == "2 rue Neuve"


def test_client_lists_are_keyset_paginated_and_filtered_by_name(client, world):
    headers = world.headers("cb_admin@cb-a.test")
    for n in range(5):
        body = {**NEW_CLIENT, "name": f"Shop {n}", "admin": {**NEW_CLIENT["admin"], "email": f"o{n}@shops.test"}}
        assert client.post("/api/v1/clients", headers=headers, json=body).status_code == 201
    seen, cursor = [], None
    while True:
        query = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/clients", headers=headers, query_string=query).get_json()
        seen += [c["name"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ["Client A"] + [f"Shop {n}" for n in range(5)]
    found = client.get("/api/v1/clients", headers=headers, query_string={"q": "shop 3"}).get_json()["items"]
    assert [c["name"] for c in found] == ["Shop 3"]
    assert "cursor" in assert_problem(client.get("/api/v1/clients?cursor=bogus", headers=headers), 422)["errors"]
    assert "limit" in assert_problem(client.get("/api/v1/clients?limit=101", headers=headers), 422)["errors"]


def test_a_client_admin_invites_colleagues_with_client_roles_only(client, world):
    headers = world.headers("client_admin@client-a.test")
    body = {"email": "new@client-a.test", "name": "New", "password": "another long password", "roles": ["member"]}
    assert client.post("/api/v1/users", headers=headers, json=body).status_code == 201
    with_cb_role = {**body, "email": "x@client-a.test", "roles": ["auditor"]}
    wrong = assert_problem(client.post("/api/v1/users", headers=headers, json=with_cb_role), 422)
    assert "roles" in wrong["errors"]
    assert "email" in assert_problem(client.post("/api/v1/users", headers=headers, json=body), 422)["errors"]
    assert_problem(client.post("/api/v1/users", headers=world.headers("member@client-a.test"), json=body), 403)


def test_a_tenant_keeps_at_least_one_active_admin(client, world):
    headers = world.headers("cb_admin@cb-a.test")
    url = f"/api/v1/users/{world.users['cb_admin@cb-a.test']}"
    etag = client.get(url, headers=headers).headers["ETag"]
    refused = assert_problem(client.patch(url, headers={**headers, "If-Match": etag}, json={"roles": ["auditor"]}), 409)
    assert refused["rule"] == "T1"
    assert client.get(url, headers=headers).get_json()["roles"] == ["cb_admin"]


def test_a_retried_create_with_the_same_idempotency_key_returns_the_first_result(client, world):
    headers = {**world.headers("cb_admin@cb-a.test"), "Idempotency-Key": "invite-42"}
    body = {"email": "twice@cb-a.test", "name": "Twice", "password": "another long password", "roles": ["auditor"]}
    first = client.post("/api/v1/users", headers=headers, json=body)
    again = client.post("/api/v1/users", headers=headers, json=body)
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json() and again.headers["Idempotent-Replayed"] == "true"
    emails = [u["email"] for u in client.get("/api/v1/users?limit=100", headers=headers).get_json()["items"]]
    assert emails.count("twice@cb-a.test") == 1
    other = assert_problem(client.post("/api/v1/users", headers=headers, json={**body, "name": "Other"}), 422)
    assert "Idempotency-Key" in other["errors"]


def test_a_user_sees_only_their_own_tenants_users(client, world):
    items = client.get("/api/v1/users?limit=100", headers=world.headers("cb_viewer@cb-b.test")).get_json()["items"]
    assert {u["email"].split("@")[1] for u in items} == {"cb-b.test"}
    url = f"/api/v1/users/{world.users['cb_admin@cb-a.test']}"
    assert_problem(client.get(url, headers=world.headers("cb_admin@cb-b.test")), 404)
    assert_problem(client.get(f"/api/v1/users/{uuid.uuid4()}", headers=world.headers("cb_admin@cb-b.test")), 404)


def test_tenants_are_visible_to_themselves_and_cbs_to_the_platform(client, world):
    cb_a = world.tenants["cb-a"]
    assert client.get(f"/api/v1/tenants/{cb_a}", headers=world.headers("cb_viewer@cb-a.test")).status_code == 200
    platform = world.headers("platform_admin@platform.test")
    assert client.get(f"/api/v1/tenants/{cb_a}", headers=platform).status_code == 200
    assert_problem(client.get(f"/api/v1/tenants/{cb_a}", headers=world.headers("cb_admin@cb-b.test")), 404)
    assert_problem(client.get(f"/api/v1/tenants/{world.tenants['client-a']}", headers=platform), 404)
    slugs = [t["slug"] for t in client.get("/api/v1/tenants", headers=platform).get_json()["items"]]
    assert slugs == ["cb-a", "cb-b"]


def test_J1_a_client_keeps_its_time_zone_and_a_made_up_zone_is_a_422_naming_the_field(client, world):
    headers = world.headers("certification_manager@cb-b.test")
    on_mars = {**NEW_CLIENT, "timezone": "Mars/Olympus"}
    bad = assert_problem(client.post("/api/v1/clients", headers=headers, json=on_mars), 422)
    assert "timezone" in bad["errors"]
    created = client.post("/api/v1/clients", headers=headers, json={**NEW_CLIENT, "timezone": "Asia/Tokyo"})
    assert created.status_code == 201 and created.get_json()["timezone"] == "Asia/Tokyo"
    url = f"/api/v1/clients/{created.get_json()['id']}"
    etag = client.get(url, headers=headers).headers["ETag"]
    moved = client.patch(url, headers={**headers, "If-Match": etag}, json={"timezone": "Europe/Berlin"})
    assert moved.status_code == 200 and moved.get_json()["timezone"] == "Europe/Berlin"
