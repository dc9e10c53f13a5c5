"""Compiled dumping (``grc.dumping``): every response of the app is dumped by a function compiled from its
schema's fields, and must be marshmallow's dump, key for key.

The suite compares the two on every response it sees (the test app turns the check on), and tests/test_dumping.py
pins the edges of each kind of field. Here, without an app or a database, every response schema the app defines
is dumped both ways from objects made up from its own fields: fully filled, all None, and with nothing set.
"""
from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any

import marshmallow as ma
import pytest
from marshmallow import fields

import grc.app  # noqa: F401 - the application module imports every domain, hence every schema
from grc import dumping
from grc.schemas import Schema

pytestmark = pytest.mark.usefixtures("dumps_not_held_to_the_spec")  # made-up objects: all None, nothing set


def every_response_schema() -> list[type[ma.Schema]]:
    found, todo = [], [Schema]
    while todo:
        for sub in todo.pop().__subclasses__():
            todo.append(sub)
            if not sub.__module__.startswith("tests"):  # not the schemas other test modules define
                found.append(sub)
    return sorted(set(found), key=lambda cls: f"{cls.__module__}.{cls.__qualname__}")


SCHEMAS = every_response_schema()


class Made(SimpleNamespace):
    """An object with the attributes a schema's fields read; any other attribute (read by a ``Method`` or
    ``Function`` field) is None, the same for both dumps."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return None


def value_for(field: fields.Field, depth: int) -> Any:
    if isinstance(field, fields.Nested):
        inner = made_for(field.schema, "full", depth + 1)
        return [inner, inner] if field.many or field.schema.many else inner
    if isinstance(field, fields.List):
        return [value_for(field.inner, depth), None]
    samples: list[tuple[type[fields.Field], Any]] = [
        (fields.Enum, lambda f: next(iter(f.enum))), (fields.UUID, uuid.UUID(int=7)),
        (fields.DateTime, datetime(2026, 11, 24, 1, 2, 3, tzinfo=UTC)), (fields.Date, date(2026, 11, 24)),
        (fields.Boolean, True), (fields.Integer, 3), (fields.Number, 0.5), (fields.Mapping, {"k": 1}),
        (fields.String, "Ünïcode text"),
    ]
    for kind, sample in samples:
        if isinstance(field, kind):
            return sample(field) if callable(sample) else sample
    return "raw"


def made_for(schema: ma.Schema, shape: str, depth: int = 0) -> Any:
    if shape == "empty" or depth > 4:
        return SimpleNamespace()
    names = {(field.attribute or name).split(".")[0]: field for name, field in schema.dump_fields.items()}
    return Made(**{name: None if shape == "none" else value_for(field, depth) for name, field in names.items()})


def outcome(dump: Any, obj: Any) -> Any:
    """The dump, or the kind of error it raised (a ``Method`` field may refuse a made-up object: both must)."""
    try:
        return dump(obj)
    except Exception as error:  # noqa: BLE001 - compared, not hidden
        return type(error)


def test_the_app_defines_many_response_schemas_and_compiles_them() -> None:
    assert len(SCHEMAS) > 100
    left_to_marshmallow = [cls.__name__ for cls in SCHEMAS if dumping.compiled(cls()) is None]
    assert len(left_to_marshmallow) < len(SCHEMAS) / 10, left_to_marshmallow


@pytest.mark.parametrize("shape", ["full", "none", "empty"])
def test_every_response_schema_of_the_app_dumps_exactly_as_marshmallow_does(shape: str) -> None:
    differing = {}
    for cls in SCHEMAS:
        schema = cls()
        compiled = dumping.compiled(schema)
        if compiled is None:
            continue
        obj = made_for(schema, shape)
        ours, theirs = outcome(compiled, obj), outcome(lambda o, by=schema: ma.Schema.dump(by, o), obj)
        if ours != theirs:
            differing[f"{cls.__module__}.{cls.__qualname__}"] = (ours, theirs)
    assert not differing, f"compiled dumps that are not marshmallow's ({shape} objects): {differing}"


def test_a_schemas_dump_is_compiled_once_and_kept() -> None:
    schema = SCHEMAS[0]()
    assert dumping.compiled(schema) is dumping.compiled(schema)


def test_a_schema_that_reads_attributes_its_own_way_is_still_dumped_as_marshmallow_does() -> None:
    class Upper(Schema):
        name = fields.String()
        code = fields.String(attribute="raw_code")

        def get_attribute(self, obj: Any, attr: str, default: Any) -> Any:
            return str(obj[attr]).upper() if attr in obj else default

    schema, obj = Upper(), {"name": "berlin", "raw_code": "de"}
    assert schema.dump(obj) == ma.Schema.dump(schema, obj) == {"name": "BERLIN", "code": "DE"}


def test_a_callable_dump_default_is_called_for_each_absent_value() -> None:
    calls = []

    class Defaulted(Schema):
        tags = fields.List(fields.String(), dump_default=lambda: calls.append(1) or [])

    dump = dumping.compiled(Defaulted())
    assert dump is not None
    first, second = dump(SimpleNamespace()), dump(SimpleNamespace())
    assert first == second == ma.Schema.dump(Defaulted(), SimpleNamespace()) == {"tags": []}
    assert first["tags"] is not second["tags"] and len(calls) == 3


def test_a_nested_schema_with_dump_hooks_is_left_to_marshmallow_inside_a_compiled_one() -> None:
    class Shouting(Schema):
        name = fields.String()

        @ma.post_dump
        def _shout(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
            return {"name": data["name"].upper()}

    class Holder(Schema):
        one = fields.Nested(Shouting)
        many = fields.List(fields.Nested(Shouting))

    obj = SimpleNamespace(one={"name": "a"}, many=[{"name": "b"}, {"name": "c"}])
    assert dumping.compiled(Holder()) is not None and dumping.compiled(Shouting()) is None
    assert Holder().dump(obj) == ma.Schema.dump(Holder(), obj) == {
        "one": {"name": "A"}, "many": [{"name": "B"}, {"name": "C"}]}
