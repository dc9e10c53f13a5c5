"""The schema is built only by migrations: upgrade from empty equals the models, and downgrade undoes it."""
from __future__ import annotations

import os
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, pool

from grc.dbmigrate import downgrade, upgrade
from grc.models import Base
from tests import servers
from tests.conftest import on_postgresql, worker_index


def empty_database(tmp_path: Path) -> str:
    if on_postgresql():
        return servers.create_database(os.environ["GRC_TEST_PG_URL"], f"grc_migrations_{worker_index()}")
    return f"sqlite:///{tmp_path / 'migrations.sqlite3'}"


def differences(url: str) -> list:  # type: ignore[type-arg]
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    engine.dispose()
    return diff


def tables(url: str) -> set[str]:
    engine = create_engine(url, poolclass=pool.NullPool)
    names = set(inspect(engine).get_table_names())
    engine.dispose()
    return names


def test_upgrade_from_empty_matches_the_models_and_downgrade_returns_to_empty(tmp_path):
    url = empty_database(tmp_path)
    upgrade(url)
    assert differences(url) == []
    assert tables(url) >= {table.name for table in Base.metadata.sorted_tables}
    downgrade(url, "base")
    assert tables(url) <= {"alembic_version"}
    upgrade(url)  # and the way back up works again
    assert differences(url) == []
