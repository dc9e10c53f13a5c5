"""The hot single reads (a certificate, the public checks, the badge, /me, the dashboards) run as many
statements for 25 rows behind them as for 3."""
from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from tests.query_counts.walk import HOT_READ_NAMES, assert_a_hot_read_is_constant_in_rows
from tests.world import World


@pytest.mark.parametrize("name", HOT_READ_NAMES)
def test_a_hot_read_runs_as_many_statements_for_25_rows_as_for_3(client: FlaskClient, world: World, name: str) -> None:
    assert_a_hot_read_is_constant_in_rows(client, world, name)
