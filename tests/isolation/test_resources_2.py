"""Another tenant's resources, part 2 of 2 of the resource routes (the parts run on different xdist workers)."""
from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.isolation.walk import RESOURCE_ROUTES, Route, assert_strangers_get_404_and_nothing_changes, part
from tests.world import World


@pytest.mark.parametrize("route", part(RESOURCE_ROUTES, 2, of=2), ids=str)
def test_another_tenants_resource_answers_strangers_404_and_nothing_changes(
    app: Flask, client: FlaskClient, world: World, route: Route
) -> None:
    """Visibility is resolved before roles and before the body, so every stranger gets the same 404."""
    assert_strangers_get_404_and_nothing_changes(app, client, world, route)
