"""Response schemas that dump through a function compiled once per schema from its own fields.

marshmallow stays the single description of every response (the OpenAPI spec is generated from it), but its
generic dump costs about seven Python calls per field (``serialize``, ``get_value``, the accessor, the key
lookup, ``_serialize``...): a page of 20 certificate summaries took 0.9 ms, a sixth of the request. Here each
field's reader and converter are chosen once, from the field itself, and a dump is a loop over them.

The result is marshmallow's, key for key. The fields this module knows are converted as marshmallow converts
them; any other field (``Method``, ``Function``, custom fields) and any schema with dump hooks go through
marshmallow itself. Under ``GRC_ENV=test`` every dump is also made by marshmallow and compared (``check``), so
the whole test suite proves the equivalence on every response it sees.

The spec promises more than a shape: every field a response schema dumps is listed ``required`` unless its
metadata names when it is absent (``OMITTED_WHEN``), and only ``allow_none`` fields may be null (grc/openapi.py).
While checking is on, every dump is also held to that promise (``broken_promises``), so a field the spec calls
required but some answer leaves out fails the suite where it happens, not in an integrator's generated client.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import marshmallow as ma
from marshmallow import fields, missing, utils
from marshmallow.decorators import POST_DUMP, PRE_DUMP

Dumper = Callable[[Any], Any]  # one object (never None) -> its dump
OMITTED_WHEN = "omitted_when"  # field metadata: when the field is absent from an answer (else it is always there)
_check = False
_hold_to_spec = False


def check_against_marshmallow(enabled: bool) -> None:
    """Make every dump also with marshmallow and fail loudly on any difference (the test suite turns it on)."""
    global _check  # a process-wide switch, like the tests' cheap password hashing
    _check = enabled


def hold_to_the_spec(enabled: bool) -> None:
    """Fail loudly on any dump that breaks what the spec promises (``broken_promises``; the test suite turns it on)."""
    global _hold_to_spec  # process-wide, as above
    _hold_to_spec = enabled


def dump(schema: ma.Schema, obj: Any, many: bool, marshmallow_dump: Callable[[Any], Any]) -> Any:
    """``schema``'s dump of ``obj`` through its compiled function; ``marshmallow_dump`` (marshmallow's own) when the
    schema cannot be compiled, and as the reference every dump is compared with while checking is on."""
    dumper = compiled(schema)
    if dumper is None:
        result = marshmallow_dump(obj)
    else:
        result = [dumper(item) for item in obj] if many and obj is not None else dumper(obj)
        if _check:
            expected = marshmallow_dump(obj)
            if result != expected:
                raise AssertionError(f"{type(schema).__name__}: compiled dump {result!r} != marshmallow {expected!r}")
    if _hold_to_spec:
        dumped = [] if result is None else result if many else [result]
        broken = [where for item in dumped for where in broken_promises(schema, item)]
        if broken:
            raise AssertionError(f"{type(schema).__name__} breaks what the spec promises: {'; '.join(broken)}")
    return result


def broken_promises(schema: ma.Schema, data: Any) -> list[str]:
    """Where the dump ``data`` of ``schema`` breaks the spec: a field absent though not marked ``OMITTED_WHEN``, or
    null though not ``allow_none`` (nested schemas included, named by their path)."""
    broken = []
    for name, field in schema.dump_fields.items():
        key = field.data_key if field.data_key is not None else name
        if key not in data:
            if not field.metadata.get(OMITTED_WHEN):
                broken.append(f"{key} is absent")
            continue
        broken += [f"{key}{where}" for where in _broken_value(field, data[key])]
    return broken


def _broken_value(field: fields.Field[Any], value: Any) -> list[str]:
    if value is None:
        return [] if field.allow_none else [" is null"]
    if isinstance(field, fields.Nested):
        items = value if field.many or field.schema.many else [value]
        return [f".{where}" for item in items for where in broken_promises(field.schema, item)]
    if isinstance(field, fields.List):
        return [f"[{index}]{where}" for index, item in enumerate(value) for where in _broken_value(field.inner, item)]
    return []


def compiled(schema: ma.Schema) -> Dumper | None:
    """The compiled dump of one object by ``schema`` (built on first use, kept on the instance), or None when
    marshmallow must do it (the schema has dump hooks)."""
    try:
        dumper: Dumper | None = schema.__dict__["_grc_dumper"]
    except KeyError:
        dumper = None if schema._hooks[PRE_DUMP] or schema._hooks[POST_DUMP] else _compile(schema)
        schema.__dict__["_grc_dumper"] = dumper
    return dumper


def _compile(schema: ma.Schema) -> Dumper:
    plan = [_field_plan(schema, name, field) for name, field in schema.dump_fields.items()]

    def dump(obj: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, write in plan:
            value = write(obj)
            if value is not missing:
                out[key] = value
        return out

    return dump


def _field_plan(schema: ma.Schema, name: str, field: fields.Field[Any]) -> tuple[str, Dumper]:
    """The output key of ``field`` and a function from the object to the field's value (or ``missing``)."""
    key = field.data_key if field.data_key is not None else name
    convert = _converter(field)
    if convert is None or not field._CHECK_ATTRIBUTE:  # Method, Function: they read the object themselves
        return key, lambda obj: field.serialize(name, obj, accessor=schema.get_attribute)
    read = _reader(schema, field.attribute or name, field)

    def write(obj: Any) -> Any:
        value = read(obj)
        if value is missing:
            return missing
        return None if value is None else convert(value)

    return key, write


def _reader(schema: ma.Schema, attribute: str, field: fields.Field[Any]) -> Dumper:
    """``field.get_value`` for plain attribute names, dump defaults included; dotted paths go to marshmallow's."""
    default = field.dump_default
    if type(schema).get_attribute is not ma.Schema.get_attribute or "." in attribute:
        plain = None
    else:
        def plain(obj: Any) -> Any:
            if type(obj) is dict:
                value = obj.get(attribute, missing)
                return value if value is not missing else getattr(obj, attribute, missing)
            if hasattr(obj, "__getitem__"):
                return utils.get_value(obj, attribute, missing)
            return getattr(obj, attribute, missing)

    def read(obj: Any) -> Any:
        value = plain(obj) if plain is not None else field.get_value(obj, attribute, accessor=schema.get_attribute)
        if value is missing and default is not missing:
            return default() if callable(default) else default
        return value

    return read


def _converter(field: fields.Field[Any]) -> Dumper | None:
    """How ``field`` turns a value that is not None into its dump, or None for fields left to marshmallow."""
    kind: Callable[..., Any] = type(field)._serialize  # the conversion the field's class really uses
    if kind is fields.String._serialize:  # String, Email, and our subclasses that change loading only
        return utils.ensure_text_type
    if kind is fields.UUID._serialize:
        return str
    if isinstance(field, fields.Number) and kind is fields.Number._serialize and not field.as_string:
        return field._format_num
    if isinstance(field, fields.DateTime | fields.Date) and kind is fields._TemporalField._serialize:
        iso = field.SERIALIZATION_FUNCS.get(field.format or field.DEFAULT_FORMAT)
        return iso or (lambda value: field._serialize(value, None, None))
    if isinstance(field, fields.Nested) and kind is fields.Nested._serialize:
        return _nested(field)
    if isinstance(field, fields.List) and kind is fields.List._serialize:
        inner = field.inner
        item = _converter(inner)
        if item is None:
            return None
        return lambda values: [None if value is None else item(value) for value in values]
    if kind in (fields.Boolean._serialize, fields.Enum._serialize, fields.Mapping._serialize):
        return lambda value: field._serialize(value, None, None)  # exact, minus get_value's layers
    return None


def _nested(field: fields.Nested) -> Dumper:
    """A nested schema's compiled dump (or its own ``dump`` when it has hooks), one object or many."""
    schema = field.schema
    many = schema.many or field.many
    one = compiled(schema)
    if one is None:
        return lambda value: schema.dump(value, many=many)
    if many:
        return lambda values: [one(value) for value in values]
    return one
