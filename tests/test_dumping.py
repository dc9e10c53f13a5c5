"""Compiled response dumps (grc/dumping.py) give marshmallow's answer, key for key.

Every response of the suite is already compared with marshmallow's own dump (the test app turns the check on);
these tests pin the edges a response may not reach, and that the check really runs.
"""
from __future__ import annotations

import enum
import uuid
from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any

import marshmallow as ma
import pytest

from grc import dumping
from grc.schemas import Schema, page_of

pytestmark = pytest.mark.usefixtures("dumps_not_held_to_the_spec")  # they leave fields out and null on purpose


class Colour(enum.Enum):
    red = "r"


class Site(Schema):
    name = ma.fields.String()
    country = ma.fields.String(allow_none=True)


class Everything(Schema):
    id = ma.fields.UUID()
    title = ma.fields.String(data_key="name")
    count = ma.fields.Integer()
    ratio = ma.fields.Float()
    big = ma.fields.Integer(as_string=True)
    active = ma.fields.Boolean()
    on = ma.fields.Date()
    at = ma.fields.DateTime()
    stamp = ma.fields.DateTime(format="timestamp")
    colour = ma.fields.Enum(Colour, by_value=True)
    shade = ma.fields.Enum(Colour)
    sites = ma.fields.List(ma.fields.Nested(Site))
    tags = ma.fields.List(ma.fields.String())
    main_site = ma.fields.Nested(Site, attribute="site")
    first_site_name = ma.fields.String(attribute="site.name")
    extra = ma.fields.Dict()
    level = ma.fields.String(dump_default="low")
    shout = ma.fields.Function(lambda obj: (obj.title or "").upper())
    kind = ma.fields.Method("_kind")

    def _kind(self, obj: Any) -> str:
        return "thing"


def a_thing(**changes: Any) -> SimpleNamespace:
    values: dict[str, Any] = {
        "id": uuid.uuid4(), "title": "Ünïcode", "count": 3, "ratio": 0.5, "big": 10**20, "active": True,
        "on": date(2026, 11, 24), "at": datetime(2026, 11, 24, 1, 2, 3, tzinfo=UTC),
        "stamp": datetime(2026, 11, 24, tzinfo=UTC), "colour": Colour.red, "shade": Colour.red,
        "sites": [{"name": "Berlin", "country": "DE"}, {"name": "Lyon", "country": None}], "tags": ["a", None],
        "site": SimpleNamespace(name="Berlin", country="DE"), "extra": {"k": 1},
    }
    values.update(changes)
    return SimpleNamespace(**values)


def marshmallow_dump(schema: ma.Schema, obj: Any, **kwargs: Any) -> Any:
    return ma.Schema.dump(schema, obj, **kwargs)


@pytest.mark.parametrize("thing", [
    a_thing(),
    a_thing(title=None, count=None, on=None, at=None, sites=None, site=None, colour=None, tags=None),
    a_thing(sites=[], tags=[], extra={}),
], ids=["full", "nulls", "empty collections"])
def test_a_compiled_dump_is_marshmallows_for_every_kind_of_field(thing: SimpleNamespace) -> None:
    schema = Everything()
    assert dumping.compiled(schema) is not None
    assert schema.dump(thing) == marshmallow_dump(schema, thing)


def test_absent_attributes_are_left_out_or_defaulted_as_marshmallow_does() -> None:
    schema = Everything()
    sparse = SimpleNamespace(title="only a title")
    dumped = schema.dump(sparse)
    assert dumped == marshmallow_dump(schema, sparse)
    assert dumped == {"name": "only a title", "level": "low", "shout": "ONLY A TITLE", "kind": "thing"}


def test_dicts_lists_and_only_exclude_are_dumped_alike() -> None:
    as_dict = {"id": uuid.uuid4(), "title": "a dict", "count": 1, "sites": [{"name": "x", "country": "FR"}]}
    schema = Everything(only=("id", "title", "count", "sites"))
    assert schema.dump(as_dict) == marshmallow_dump(schema, as_dict)
    many = [a_thing(), a_thing(count=7)]
    assert Everything(exclude=("shout",)).dump(many, many=True) == marshmallow_dump(Everything(exclude=("shout",)),
                                                                                    many, many=True)
    page = page_of(Everything)()
    envelope = {"items": many, "next_cursor": None}
    assert page.dump(envelope) == marshmallow_dump(page, envelope)


def test_a_schema_with_dump_hooks_is_left_to_marshmallow() -> None:
    class Hooked(Schema):
        name = ma.fields.String()

        @ma.post_dump
        def _upper(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
            return {**data, "name": data["name"].upper()}

    assert dumping.compiled(Hooked()) is None
    assert Hooked().dump({"name": "x"}) == {"name": "X"}


def test_a_difference_from_marshmallow_fails_loudly_while_checking(monkeypatch: pytest.MonkeyPatch) -> None:
    schema = Site()
    monkeypatch.setattr(dumping, "compiled", lambda _schema: lambda obj: {"name": "not what marshmallow says"})
    monkeypatch.setattr(dumping, "_check", True)
    with pytest.raises(AssertionError, match="compiled dump"):
        schema.dump({"name": "Berlin", "country": "DE"})


def test_the_test_app_checks_every_response_dump(app: Any) -> None:
    assert dumping._check is True
