"""Collections: a list shows nobody another tenant's data; a stranger's write never touches the victims."""
from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.isolation.walk import (
    COLLECTION_READS,
    COLLECTION_WRITES,
    Route,
    assert_a_list_shows_nobody_another_tenants_data,
    assert_a_strangers_write_never_touches_the_victims,
)
from tests.world import World


@pytest.mark.parametrize("route", COLLECTION_READS, ids=str)
def test_a_list_shows_nobody_another_tenants_data(app: Flask, client: FlaskClient, world: World, route: Route) -> None:
    """Each caller sees only what its tenant may see: no victim id, e-mail or name on any page; reads write nothing."""
    assert_a_list_shows_nobody_another_tenants_data(app, client, world, route)


@pytest.mark.parametrize("route", COLLECTION_WRITES, ids=str)
def test_a_strangers_write_to_a_collection_never_touches_the_victims(
    app: Flask, client: FlaskClient, world: World, route: Route
) -> None:
    """An empty body is refused (4xx, never 5xx) or, if valid, acts only in the caller's own tenant."""
    assert_a_strangers_write_never_touches_the_victims(app, client, world, route)
