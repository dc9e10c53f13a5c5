"""The standards catalogue (ISO 9001, ISO/IEC 27001, ...): shipped rows are global, a CB may add its own."""
from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from dateutil.relativedelta import relativedelta
from sqlalchemy import JSON, ColumnElement, ForeignKey, String, or_
from sqlalchemy.orm import Mapped, mapped_column

from grc.db import Base, IdMixin, TimestampMixin
from grc.tenancy import TenantScoped


class Scheme(IdMixin, TimestampMixin, TenantScoped, Base):
    """A certification scheme: a standard in one edition, its cycle and its top-level clauses."""

    __tablename__ = "schemes"

    # NULL for the shipped catalogue (visible to every tenant); a CB's own schemes carry its id. The one
    # TenantScoped column that may be NULL: SQLAlchemy lets a model restate a mixin's column, mypy sees a narrower
    # base type (the generic code, tenancy.stamp_new_rows and the audit log, checks for None).
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(  # type: ignore[assignment]
        ForeignKey("tenants.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    edition: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(300))
    cycle_months: Mapped[int] = mapped_column(default=36)
    surveillance_interval_months: Mapped[int] = mapped_column(default=12)
    clauses: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)

    @classmethod
    def visible_to(cls, tenant_id: uuid.UUID) -> ColumnElement[bool]:
        return or_(cls.tenant_id.is_(None), cls.tenant_id == tenant_id)

    @property
    def standard(self) -> str:
        """How certificates name it: code and edition, e.g. ``ISO/IEC 27001:2022``."""
        return f"{self.code}:{self.edition}"

    def surveillance_due_dates(self, cycle_start: date) -> list[date]:
        """C6: surveillance audits fall due one interval after the cycle's decision, then one interval apart,
        as many as fit before recertification (two in a 36-month cycle with 12-month surveillance)."""
        count = self.cycle_months // self.surveillance_interval_months - 1
        return [cycle_start + relativedelta(months=self.surveillance_interval_months * (n + 1)) for n in range(count)]

    def has_clause(self, number: str) -> bool:
        """A top-level clause of the scheme, or a sub-clause of one (8.5.1 is in 8; A.5.15 in A.5)."""
        return any(number == c["number"] or number.startswith(c["number"] + ".") for c in self.clauses)
