"""The standards a CB certifies against: the shipped catalogue plus the CB's own schemes."""
from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from grc import tenancy
from grc.api import paginate
from grc.errors import InvalidField
from grc.extensions import db
from grc.schemes.models import Scheme


def list_schemes(session: Session, args: dict[str, Any]) -> dict[str, Any]:
    stmt = select(Scheme)
    if args.get("code"):
        stmt = stmt.where(Scheme.code == args["code"])
    return paginate(session, stmt, args, [Scheme.id])


@tenancy.path_resource("scheme_id")
def visible_scheme(scheme_id: uuid.UUID) -> Scheme | None:
    return db.session.get(Scheme, scheme_id)


def create_scheme(session: Session, data: dict[str, Any]) -> Scheme:
    """A CB's own scheme (e.g. a sector scheme); visible only to that CB."""
    numbers = [clause["number"] for clause in data["clauses"]]
    if len(set(numbers)) != len(numbers):
        raise InvalidField("clauses", "clause numbers must be unique")
    duplicate = session.scalars(
        select(Scheme.id).where(Scheme.code == data["code"], Scheme.edition == data["edition"])
    ).first()
    if duplicate is not None:
        raise InvalidField("code", "a scheme with this code and edition exists")
    scheme = Scheme(**data)
    session.add(scheme)
    session.flush()
    return scheme


def schemes_by_ids(session: Session, ids: list[uuid.UUID], field: str = "scheme_ids") -> list[Scheme]:
    """The visible schemes named by ``ids``, or a 422 naming the field."""
    found = list(session.scalars(select(Scheme).where(Scheme.id.in_(ids))))
    if len(found) != len(set(ids)):
        raise InvalidField(field, "unknown scheme")
    return found
