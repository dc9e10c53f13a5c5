"""Response schemas say what is always there (issue 17 item 4), so a generated client types it as present.

openapi-python-client types a property the spec does not list ``required`` as "maybe UNSET", and one that admits
null as "maybe None": an integrator would check both on every attribute of every answer. So every field a response
schema dumps is required unless its metadata says when it is absent (``grc.dumping.OMITTED_WHEN``), and a property
admits null exactly when its field is ``allow_none``. These tests hold every response schema of the committed spec
(those of endpoints added later included) to that rule; the runtime half, that real answers keep the promise, is
checked on every dump of the suite (grc/dumping.py ``broken_promises``) and by the fuzzer on the wire.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import marshmallow as ma
import pytest
from flask import Flask

from grc import dumping
from grc.dumping import OMITTED_WHEN
from grc.openapi import INPUT_SUFFIX, SCHEMA_REF, always_present, marshmallow_schemas_by_name
from grc.schemas import Schema

SPEC = json.loads((Path(__file__).resolve().parent.parent / "openapi" / "openapi.json").read_text())
SCHEMAS: dict[str, dict[str, Any]] = SPEC["components"]["schemas"]


def referenced(node: Any) -> set[str]:
    """The schema components ``node`` references, directly or through other components."""
    found: set[str] = set()
    todo = [node]
    while todo:
        item = todo.pop()
        if isinstance(item, dict):
            ref = item.get("$ref", "")
            if ref.startswith(SCHEMA_REF) and ref.removeprefix(SCHEMA_REF) not in found:
                found.add(ref.removeprefix(SCHEMA_REF))
                todo.append(SCHEMAS[ref.removeprefix(SCHEMA_REF)])
            todo += item.values()
        elif isinstance(item, list):
            todo += item
    return found


OPERATIONS = [op for item in SPEC["paths"].values() for op in item.values() if isinstance(op, dict)]
ANSWERED = sorted(referenced([[op["responses"] for op in OPERATIONS], SPEC["components"]["responses"]]))
ASKED = referenced([[op.get("requestBody", {}), op.get("parameters", [])] for op in OPERATIONS])


def admits_null(prop: dict[str, Any]) -> bool:
    """Whether a JSON Schema property accepts null (one with no type, reference or enum accepts anything)."""
    kinds = prop.get("type", [])
    if "null" in (kinds if isinstance(kinds, list) else [kinds]) or None in prop.get("enum", [None] * 0):
        return True
    if "anyOf" in prop:
        return any(admits_null(option) for option in prop["anyOf"])
    return not ({"type", "$ref", "enum", "anyOf"} & set(prop))


@pytest.fixture(scope="module")
def marshmallow_schemas(app: Flask) -> dict[str, ma.Schema]:
    return marshmallow_schemas_by_name(app.extensions["grc.api"].spec)


def test_responses_use_schemas_this_rule_can_see() -> None:
    assert len(ANSWERED) > 100 and {"Certificate", "Client", "Finding", "Problem", "Site"} <= set(ANSWERED)


@pytest.mark.parametrize("name", ANSWERED)
def test_a_response_schema_requires_every_field_it_always_carries(
        name: str, marshmallow_schemas: dict[str, ma.Schema]) -> None:
    component, schema = SCHEMAS[name], marshmallow_schemas[name]
    required = set(component.get("required", []))
    for field_name, field in schema.dump_fields.items():
        key = field.data_key or field_name
        prop = component["properties"][key]
        if always_present(field):
            assert key in required, f"{name}.{key} is in every answer but not required: a client types it UNSET"
        else:
            assert key not in required, f"{name}.{key} is sometimes absent ({field.metadata[OMITTED_WHEN]})"
            assert "Absent " in prop.get("description", ""), f"{name}.{key}: say when it is absent"
        nullable = "may be null" if field.allow_none else "may not be null (no allow_none)"
        assert admits_null(prop) == field.allow_none, f"{name}.{key} {nullable}, but the spec says {prop}"


def test_a_schema_shared_with_requests_keeps_its_optional_inputs_under_its_input_name() -> None:
    """A site in an answer always carries its city (maybe null); a site in a request may leave it out."""
    assert {"city", "street", "needs_review"} <= set(SCHEMAS["Site"]["required"])
    assert set(SCHEMAS["Site" + INPUT_SUFFIX]["required"]) == {"address", "country", "name"}
    assert "Site" + INPUT_SUFFIX in ASKED and "Site" + INPUT_SUFFIX not in ANSWERED
    assert not {name for name in ASKED & set(ANSWERED)
                if SCHEMAS[name].get("required") != SCHEMAS.get(name + INPUT_SUFFIX, SCHEMAS[name]).get("required")}


class Licence(Schema):
    number = ma.fields.String()
    revoked_on = ma.fields.Date(allow_none=True)
    badge = ma.fields.String(metadata={OMITTED_WHEN: "for a licence without a badge"})
    sites = ma.fields.List(ma.fields.Nested(lambda: Place()))


class Place(Schema):
    name = ma.fields.String()


@pytest.fixture
def checking() -> Iterator[None]:
    """Dumps held to the spec, as the test app has them for every response, whether or not this process made one."""
    was_holding = dumping._hold_to_spec  # noqa: SLF001 - the process-wide switch, restored as found
    dumping.hold_to_the_spec(True)
    yield
    dumping.hold_to_the_spec(was_holding)


def test_the_test_app_holds_every_response_dump_to_the_spec(app: Flask) -> None:
    assert dumping._hold_to_spec is True  # noqa: SLF001


def test_a_dump_keeps_the_promise_null_only_where_allowed_and_absent_only_where_said(checking: None) -> None:
    ok = SimpleNamespace(number="L-1", revoked_on=None, sites=[SimpleNamespace(name="Berlin")])
    assert Licence().dump(ok) == {"number": "L-1", "revoked_on": None, "sites": [{"name": "Berlin"}]}

    with pytest.raises(AssertionError, match=r"Licence breaks what the spec promises: number is absent"):
        Licence().dump(SimpleNamespace(revoked_on=None, sites=[]))
    with pytest.raises(AssertionError, match=r"Place breaks what the spec promises: name is null"):
        Licence().dump(SimpleNamespace(number="L-1", revoked_on=None, sites=[SimpleNamespace(name=None)]))
