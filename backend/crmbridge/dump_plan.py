"""Marshmallow's dump, planned once per schema: the same output as ``Schema.dump`` in a fraction of its time.

``Schema.dump`` decides everything again on every call: for each field ``Field.serialize`` → ``get_value`` →
``utils.get_value``, which splits a dotted attribute, tries ``obj[key]`` and then ``getattr``, and for each nested
object ``Nested._serialize`` → ``Schema.dump`` once more. On the lookup, which the taskpane makes at every opening,
that was a fifth of the request (``benchmarks/lookup.py`` prints the profile). A plan takes those decisions once
per schema: the path each field reads (split once), the key it writes (``data_key``) and how it formats the value
(the field's own ``_serialize``, so every field type keeps marshmallow's formatting, ``UtcDateTime`` included);
nested schemas and lists of them are planned inline. What a plan does not mirror falls back to marshmallow: a
schema with dump hooks or its own ``get_attribute``, and per field, one that overrides ``serialize`` or
``get_value``.

The schemas stay marshmallow's (declared, documented in the OpenAPI description, loaded as before); only
``dump`` changes. With ``VERIFY`` set (the test suite sets it) every dump is also made by marshmallow and the two
must serialise to the same JSON, key order included, so each API test checks the plan too.
"""

import json
from collections.abc import Callable
from typing import Any

from marshmallow import Schema, fields, missing
from marshmallow.decorators import POST_DUMP, PRE_DUMP

VERIFY = False  # tests: dump through marshmallow too and require the same JSON

Plan = Callable[[Any], dict]
Format = Callable[[Any, str, Any], Any]  # (value, field name, parent object) -> output, as Field._serialize


class PlannedSchema(Schema):
    """A marshmallow schema whose ``dump`` runs its plan (see the module's docstring)."""

    def dump(self, obj: Any, *, many: bool | None = None):
        many = self.many if many is None else bool(many)
        plan = self.__dict__.get("_plan", _UNPLANNED)
        if plan is _UNPLANNED:
            plan = self.__dict__["_plan"] = plan_of(self)
        if plan is None or obj is None:
            return super().dump(obj, many=many)
        result = [plan(each) for each in obj] if many else plan(obj)
        if VERIFY:
            _same_as_marshmallow(self, obj, many, result)
        return result


_UNPLANNED = object()


def plan_of(schema: Schema) -> Plan | None:
    """The schema's dump as one function of the object, or None where marshmallow's own dump must run."""
    if schema._hooks[PRE_DUMP] or schema._hooks[POST_DUMP] or type(schema).get_attribute is not Schema.get_attribute:
        return None
    steps = []
    for name, field in schema.dump_fields.items():
        key = field.data_key if field.data_key is not None else name
        if type(field).serialize is not fields.Field.serialize or type(field).get_value is not fields.Field.get_value:
            steps.append((key, name, None, missing, _whole_field(field, schema)))
        elif not field._CHECK_ATTRIBUTE:  # as Field.serialize: such a field formats None (Constant, Method, ...)
            steps.append((key, name, (), missing, _format(field)))
        else:
            path = tuple((field.attribute if field.attribute is not None else name).split("."))
            steps.append((key, name, path, field.dump_default, _format(field)))
    make = schema.dict_class

    def plan(obj):
        out = make()
        for key, name, path, default, format_ in steps:
            if path is None:  # the field serialises itself
                result = format_(None, name, obj)
            else:
                value = obj if path else None
                for part in path:
                    value = _value_for_key(value, part)
                if value is missing:
                    value = default() if callable(default) else default
                    if value is missing:
                        continue
                result = format_(value, name, obj)
            if result is not missing:  # as Schema._serialize: a field may answer missing
                out[key] = result
        return out

    return plan


def _value_for_key(obj, key):
    """``marshmallow.utils._get_value_for_key`` with ``missing`` as the default: ``obj[key]``, else the
    attribute."""
    if not hasattr(obj, "__getitem__"):
        return getattr(obj, key, missing)
    try:
        return obj[key]
    except (KeyError, IndexError, TypeError, AttributeError):
        return getattr(obj, key, missing)


def _format(field: fields.Field) -> Format:
    """How the field turns a value into output: a nested schema or a list planned inline, else its own
    ``_serialize``."""
    if type(field) is fields.Nested:
        nested = field.schema  # with the field's only/exclude applied, as Nested._serialize uses it
        inner = plan_of(nested)
        if inner is None:
            return field._serialize
        if nested.many or field.many:
            return lambda value, _name, _obj: None if value is None else [inner(each) for each in value]
        return lambda value, _name, _obj: None if value is None else inner(value)
    if type(field) is fields.List:
        inner_format = _format(field.inner)
        return lambda value, name, obj: None if value is None else [inner_format(each, name, obj) for each in value]
    return field._serialize


def _whole_field(field: fields.Field, schema: Schema) -> Format:
    """A field whose serialize or get_value is its own: run it as Schema._serialize does."""
    return lambda _value, name, obj: field.serialize(name, obj, accessor=schema.get_attribute)


def _same_as_marshmallow(schema: Schema, obj, many: bool, planned) -> None:
    expected = Schema.dump(schema, obj, many=many)
    as_json = [json.dumps(value, default=repr, ensure_ascii=False) for value in (planned, expected)]
    if as_json[0] != as_json[1]:
        raise AssertionError(f"{type(schema).__name__}: the planned dump differs from marshmallow's:\n"
                             f"planned:     {as_json[0]}\nmarshmallow: {as_json[1]}")
