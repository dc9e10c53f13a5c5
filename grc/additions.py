"""Fields a higher domain adds to a lower domain's answer: register, don't import upward (docs/DESIGN.md section 1).

The lower domain owns the route and the schema, which declares the added field; the higher domain registers the
function that computes it when its module is imported (the composition root imports them all). The registry adds
where a certificate stands in IAF CertSearch to ``GET /certificates/{id}``; the credentials domain adds the signed
licence to the public mark-licence check."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from sqlalchemy.orm import Session

Subject = TypeVar("Subject")


class Additions(Generic[Subject]):
    """The functions registered for one answer, by the field each one fills."""

    def __init__(self) -> None:
        self._by_field: dict[str, Callable[[Session, Subject], Any]] = {}

    def register(self, field: str) -> Callable[[Callable[[Session, Subject], Any]], Callable[[Session, Subject], Any]]:
        """Decorator: ``function(session, subject)`` fills ``field``. One function per field: a second is a bug."""
        def decorate(function: Callable[[Session, Subject], Any]) -> Callable[[Session, Subject], Any]:
            if field in self._by_field:
                raise ValueError(f"{field} is already added by {self._by_field[field].__qualname__}")
            self._by_field[field] = function
            return function
        return decorate

    def of(self, session: Session, subject: Subject) -> dict[str, Any]:
        """Every added field for ``subject``."""
        return {field: function(session, subject) for field, function in self._by_field.items()}


class Extended(Generic[Subject]):
    """A model object seen with added fields, for its schema to dump: an added field first, else the object's."""

    def __init__(self, subject: Subject, added: dict[str, Any]) -> None:
        self._subject, self._added = subject, added

    def __getattr__(self, name: str) -> Any:
        added = self.__dict__.get("_added", {})
        if name in added:
            return added[name]
        return getattr(self.__dict__["_subject"], name)
