def test_world_builds_and_each_cb_sees_only_its_client(client, world):
    page = client.get("/api/v1/clients", headers=world.headers("cb_admin@cb-a.test")).get_json()
    assert [c["name"] for c in page["items"]] == ["Client A"]
