"""Database plumbing: declarative base, time-ordered ids, timestamps, and one session per app context.

Sessions are kept on ``flask.g`` so that each request, job or CLI command (all of which run inside an
application context) gets its own unit of work, closed when the context ends.
"""
from __future__ import annotations

import enum
import uuid
from datetime import UTC, datetime
from typing import Any

import uuid_utils
from flask import Flask, current_app, g
from sqlalchemy import DateTime, Enum, MetaData, TypeDecorator, Uuid, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.pool import NullPool

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# Audit-trail marker: these columns are recorded as changed, never with their value.
SECRET = {"audit": "redact"}
# Audit-trail marker: bookkeeping that changes on its own (every token refresh); the trail leaves it out, so a change
# of these columns alone writes no event.
UNAUDITED = {"audit": "omit"}


def new_id() -> uuid.UUID:
    """A UUIDv7: unique, and ordered by creation time, so keyset pagination on ids follows creation order."""
    return uuid.UUID(bytes=uuid_utils.uuid7().bytes)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on every backend (SQLite stores them naive; we put the zone back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    @property
    def python_type(self) -> type[datetime]:
        """A TypeDecorator says ``object``; keyset cursors (``grc.api``) read a timestamp back by this type."""
        return datetime

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: use grc.db.utcnow() or an aware datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


def enum_column(enum_cls: type[enum.Enum], name: str) -> Enum:
    """Enums stored by value as checked strings, portable between SQLite and PostgreSQL."""
    return Enum(enum_cls, name=name, native_enum=False, values_callable=lambda e: [m.value for m in e], length=40)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {uuid.UUID: Uuid(), datetime: UTCDateTime()}


class IdMixin:
    """A UUIDv7 primary key, assigned in Python so it is known before the flush (the audit trail needs it)."""

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Database:
    """Engine and session factory bound to one Flask application."""

    def init_app(self, app: Flask, url: str, session_info: dict[str, Any] | None = None) -> None:
        """``session_info`` starts every session's ``info`` (the tenancy's scope key)."""
        engine = _make_engine(url)
        app.extensions["grc.db"] = (engine, sessionmaker(bind=engine, expire_on_commit=False, info=session_info))
        app.teardown_appcontext(self._close_session)

    @property
    def engine(self) -> Engine:
        engine: Engine = current_app.extensions["grc.db"][0]
        return engine

    @property
    def session(self) -> Session:
        """The unit of work of the current application context."""
        session: Session | None = g.get("_grc_session")
        if session is None:
            session = current_app.extensions["grc.db"][1]()
            g._grc_session = session
        return session

    @staticmethod
    def _close_session(_exc: BaseException | None) -> None:
        session = g.pop("_grc_session", None)
        if session is not None:
            session.close()


def _make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, poolclass=NullPool, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy issue BEGIN itself (the documented pysqlite recipe); foreign keys are off by
            # default in SQLite; WAL lets readers work while one writer writes.
            dbapi_conn.isolation_level = None
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # BEGIN IMMEDIATE takes the write lock up front, so counters and chain heads cannot race.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    # No server-side prepared statements (psycopg prepares a query after its fifth run): PostgreSQL then switches to
    # a generic plan, blind to the tenant, and a plan that suits a CB with 10,000 certificates walks a million for
    # another (a deep page went from 1 ms to 450 ms). Each statement is planned for its own parameters; this also
    # keeps the app usable behind PgBouncer in transaction mode.
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10,
                         connect_args={"prepare_threshold": None})

