"""Running the Alembic migrations from code (CLI, tests); the schema is only ever built by migrations."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, pool

from grc.config import PROJECT_ROOT
from grc.rls import grant_api_role, store_scope_key
from grc.tenancy import scope_key


def alembic_config() -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    return config


def upgrade(url: str, revision: str = "head", secret_key: str | None = None) -> None:
    """Migrate to ``revision``, then (re)grant the API role its rows (``grc.rls.grant_api_role``: a role created
    after the last migration gets its privileges from the next ``grc db upgrade``) and, given the app's
    ``secret_key``, (re)write the key its tenant scopes are proven with (``grc.rls.store_scope_key``)."""

    def migrate_and_grant(config: Config) -> None:
        command.upgrade(config, revision)
        connection = config.attributes["connection"]
        grant_api_role(connection)
        if secret_key is not None:
            store_scope_key(connection, scope_key(secret_key))

    _run(url, migrate_and_grant)


def downgrade(url: str, revision: str = "base") -> None:
    _run(url, lambda cfg: command.downgrade(cfg, revision))


def _run(url: str, action: Callable[[Config], None]) -> None:
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        action(config)
    engine.dispose()
