"""Collection writes: a stranger's write, with an empty or a valid body, never touches the victims."""
from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.isolation.walk import COLLECTION_WRITES, Route, assert_a_strangers_write_never_touches_the_victims
from tests.world import World


@pytest.mark.parametrize("route", COLLECTION_WRITES, ids=str)
def test_a_strangers_write_to_a_collection_never_touches_the_victims(
    app: Flask, client: FlaskClient, world: World, route: Route
) -> None:
    """An empty body is refused (4xx, never 5xx) or, if valid, acts only in the caller's own tenant."""
    assert_a_strangers_write_never_touches_the_victims(app, client, world, route)
