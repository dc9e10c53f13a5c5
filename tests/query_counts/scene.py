"""The scene a grower adds rows to: the world plus the parents the rows hang on, each built once."""
from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask import Flask
from sqlalchemy.orm import Session

from grc import tenancy
from grc.extensions import db
from tests.world import World, act_as

TODAY = date.today()
CB_MANAGER, AUDITOR, CB_ADMIN = "certification_manager@cb-a.test", "auditor@cb-a.test", "cb_admin@cb-a.test"
CLIENT_ADMIN, RISK_MANAGER = "client_admin@client-a.test", "risk_manager@client-a.test"
PLATFORM_ADMIN = "platform_admin@platform.test"
PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class Read:
    """One request to measure: who calls (None: the public) and where."""

    caller: str | None
    url: str


@dataclass
class Scene:
    """The world plus the parents the rows hang on (an audit, a finding, a register...), each built once."""

    app: Flask
    world: World
    parents: dict[str, Any] = field(default_factory=dict)
    made: dict[str, int] = field(default_factory=dict)

    @contextmanager
    def acting(self, email: str) -> Iterator[Session]:
        """A unit of work of ``email`` through the services, committed at the end."""
        with self.app.app_context():
            act_as(email)
            yield db.session
            db.session.commit()

    @contextmanager
    def system(self) -> Iterator[Session]:
        """A unit of work past the tenant walls, for rows only a job or the ORM factory writes."""
        with self.app.app_context(), tenancy.system_scope(db.session):
            yield db.session
            db.session.commit()

    def once(self, name: str, build: Callable[[], Any]) -> Any:
        if name not in self.parents:
            self.parents[name] = build()
        return self.parents[name]

    def serial(self, kind: str) -> int:
        """1, 2, 3... per kind of row across the calls of one test (unique names, numbers and e-mails)."""
        self.made[kind] = self.made.get(kind, 0) + 1
        return self.made[kind]

    def tenant(self, slug: str) -> uuid.UUID:
        return self.world.tenants[slug]

    def user(self, email: str) -> uuid.UUID:
        return self.world.users[email]


Grow = Callable[[Scene, int], Read]  # add ``count`` rows behind the read, then say which read to measure
