"""Per-tenant counters that stay gap-free and unique under concurrency (finding and certificate numbers).

``next_value`` is one upsert: ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` creates the row at 1 on first
use and increments it after, so two transactions asking at once queue on the row lock and get different values.
"""
from __future__ import annotations

import re
import uuid

from sqlalchemy import ForeignKey, String
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from grc.db import Base


class Counter(Base):
    __tablename__ = "counters"
    __audit__ = False

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[int] = mapped_column(default=0)


def next_value(session: Session, tenant_id: uuid.UUID, name: str) -> int:
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(Counter).values(tenant_id=tenant_id, name=name, value=1)
    return session.execute(
        statement.on_conflict_do_update(index_elements=[Counter.tenant_id, Counter.name],
                                        set_={"value": Counter.value + 1})
        .returning(Counter.value)
    ).scalar_one()


TEMPLATE_FIELD = re.compile(r"\{(cb|scheme|yyyy|seq)(?::0(\d))?\}")


def check_template(template: str) -> None:
    """A numbering template must contain {seq} and no placeholder other than {cb}, {scheme}, {yyyy}, {seq:0N}."""
    leftover = TEMPLATE_FIELD.sub("", template)
    if "{" in leftover or "}" in leftover or "{seq" not in template:
        raise ValueError("use {cb}, {scheme}, {yyyy} and {seq} or {seq:0N}; {seq} is required")


def render_number(template: str, *, cb: str, scheme: str, year: int, seq: int) -> str:
    values = {"cb": cb.upper(), "scheme": re.sub(r"[^A-Za-z0-9]", "", scheme).upper(), "yyyy": f"{year:04d}"}

    def fill(match: re.Match[str]) -> str:
        name, width = match.group(1), match.group(2)
        return f"{seq:0{int(width)}d}" if name == "seq" and width else str(seq) if name == "seq" else values[name]

    return TEMPLATE_FIELD.sub(fill, template)
