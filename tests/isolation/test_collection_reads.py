"""Collection reads: a list shows nobody another tenant's data, on any page, and reading writes nothing."""
from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.isolation.walk import COLLECTION_READS, Route, assert_a_list_shows_nobody_another_tenants_data
from tests.world import World


@pytest.mark.parametrize("route", COLLECTION_READS, ids=str)
def test_a_list_shows_nobody_another_tenants_data(app: Flask, client: FlaskClient, world: World, route: Route) -> None:
    """Each caller sees only what its tenant may see: no victim id, e-mail or name on any page; reads write nothing."""
    assert_a_list_shows_nobody_another_tenants_data(app, client, world, route)
