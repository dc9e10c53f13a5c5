"""Every list runs as many statements for 25 rows as for 3, and never pages with OFFSET."""
from __future__ import annotations

import importlib

import pytest
from flask.testing import FlaskClient

from tests.query_counts.registry import REGISTERED_BY
from tests.query_counts.walk import (
    DOMAINS,
    LIST_ROUTES,
    assert_a_list_is_constant_in_rows_and_never_offsets,
    missing_and_gone_growers,
)
from tests.world import World


def test_every_list_route_has_rows_to_grow() -> None:
    missing, gone = missing_and_gone_growers()
    assert not missing, (f"list routes without a grower: {missing}. Register one (@grows_list in a "
                         "tests/query_counts/growers_<domain>.py).")
    assert not gone, f"growers of routes that are gone: {gone}"


def test_every_grower_file_is_loaded_and_registers_something() -> None:
    """The walk imports every growers_*.py itself; a file that registers nothing is a grower forgotten."""
    assert len(DOMAINS) >= 9, DOMAINS
    empty = [name for name in DOMAINS
             if not REGISTERED_BY.get(importlib.import_module(f"tests.query_counts.{name}").__name__)]
    assert not empty, f"grower files that register nothing: {empty}"


@pytest.mark.parametrize("route", LIST_ROUTES)
def test_a_list_runs_as_many_statements_for_25_rows_as_for_3_and_never_offsets(
    client: FlaskClient, world: World, route: str
) -> None:
    assert_a_list_is_constant_in_rows_and_never_offsets(client, world, route)
