"""The two floors the load runner (bench/run.py) compares the API with, served by the same gunicorn settings.

A ratio to a floor says how much of the stack's best case the API keeps, on the same machine in the same run,
so the figures do not depend on how fast the machine happens to be:

- floor (a), ``bare``: a Flask route returning a constant JSON object. The cheapest a Python WSGI answer gets
  under these gunicorn settings; the public lookups are compared with it.
- floor (b), ``orm``: flask-smorest + SQLAlchemy reading 20 rows of one indexed table through the ORM and a
  marshmallow schema, in a keyset page, from the benchmark's own PostgreSQL with the app's pool settings. What
  any database-backed endpoint of this stack costs before authentication, tenancy, row-level security, the
  audit trail, logging and metrics; the authenticated lists and the writes are compared with it.

    gunicorn -c docker/gunicorn.conf.py 'bench.floors:bare()'
    BENCH_FLOOR_DATABASE_URL=postgresql+psycopg://... gunicorn -c docker/gunicorn.conf.py 'bench.floors:orm()'
"""
from __future__ import annotations

import os
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import marshmallow as ma
from flask import Flask, g, jsonify
from flask.typing import ResponseReturnValue
from flask_smorest import Api, Blueprint
from sqlalchemy import Date, DateTime, String, create_engine, insert, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from grc.db import (
    _make_engine as app_engine,  # the app's pool settings: the floor pays what the API pays
)

DATABASE_URL_ENV = "BENCH_FLOOR_DATABASE_URL"
BARE_PATH = "/floor"
ORM_PATH = "/floor/rows"
TABLE_ROWS = 1000
PAGE = 20


class Base(DeclarativeBase):
    pass


class FloorRow(Base):
    """A certificate-shaped row in its own table, outside the app's schema (no tenant, no row-level security)."""

    __tablename__ = "bench_floor_rows"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(80), unique=True)
    status: Mapped[str] = mapped_column(String(40), index=True)
    issue_date: Mapped[date] = mapped_column(Date)
    expiry_date: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class FloorRowSchema(ma.Schema):
    id = ma.fields.UUID()
    number = ma.fields.String()
    status = ma.fields.String()
    issue_date = ma.fields.Date()
    expiry_date = ma.fields.Date()
    created_at = ma.fields.DateTime()


class FloorPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(FloorRowSchema))
    next_cursor = ma.fields.String(allow_none=True)


def create_table(database_url: str) -> None:
    """The floor's table with ``TABLE_ROWS`` rows (ids in creation order, as the app's UUIDv7 are)."""
    engine = create_engine(database_url)
    try:
        Base.metadata.drop_all(engine)
        Base.metadata.create_all(engine)
        now, today = datetime.now(UTC), date.today()
        rows = [{"id": uuid.UUID(int=n + 1), "number": f"FLOOR-{n:07d}", "status": "active", "issue_date": today,
                 "expiry_date": today + timedelta(days=1095), "created_at": now} for n in range(TABLE_ROWS)]
        with engine.begin() as conn:
            conn.execute(insert(FloorRow), rows)
            conn.exec_driver_sql(f"ANALYZE {FloorRow.__tablename__}")
    finally:
        engine.dispose()


def bare() -> Flask:
    """Floor (a): one JSON route, nothing else."""
    app = Flask(__name__)

    @app.get(BARE_PATH)
    def floor() -> ResponseReturnValue:
        return jsonify({"status": "ok", "floor": "bare"})

    return app


def orm() -> Flask:
    """Floor (b): a flask-smorest page of 20 rows read through the ORM, one session per request."""
    app = Flask(__name__)
    app.config.update(API_TITLE="floor", API_VERSION="1", OPENAPI_VERSION="3.1.0")
    sessions = sessionmaker(bind=app_engine(os.environ[DATABASE_URL_ENV]), expire_on_commit=False)
    blp = Blueprint("floor", __name__)

    @blp.route(ORM_PATH, methods=["GET"])
    @blp.response(200, FloorPageSchema)
    def rows() -> dict[str, Any]:
        g.session = sessions()
        found = list(g.session.scalars(select(FloorRow).order_by(FloorRow.id).limit(PAGE + 1)))
        return {"items": found[:PAGE], "next_cursor": str(found[PAGE - 1].id) if len(found) > PAGE else None}

    @app.teardown_appcontext
    def close(_exc: BaseException | None) -> None:
        session: Session | None = g.pop("session", None)
        if session is not None:
            session.close()

    Api(app).register_blueprint(blp)
    return app

