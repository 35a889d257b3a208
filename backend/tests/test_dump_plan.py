"""The planned dump (crmbridge.dump_plan) gives marshmallow's output exactly, in the cases where that is subtle."""

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

import pytest
from marshmallow import Schema, fields, post_dump

from crmbridge import dump_plan, schemas
from crmbridge.api import graph as graph_api
from crmbridge.api import guard as guard_api
from crmbridge.dump_plan import PlannedSchema, plan_of
from crmbridge.integration import schemas as integration_schemas
from crmbridge.schemas import UtcDateTime


def same_json(planned_schema: PlannedSchema, obj, many=None) -> str:
    planned = planned_schema.dump(obj, many=many)
    expected = Schema.dump(planned_schema, obj, many=many)  # marshmallow's own
    assert json.dumps(planned, default=repr) == json.dumps(expected, default=repr)
    return json.dumps(planned, default=repr)


@dataclass
class Inner:
    name: str | None
    at: datetime | None = None


@dataclass
class Outer:
    inner: Inner | None
    inners: list | None
    count: int = 3


class InnerOut(PlannedSchema):
    name = fields.String()
    at = UtcDateTime()
    extra = fields.String()  # not on the object: left out


class OuterOut(PlannedSchema):
    name = fields.String(attribute="inner.name", data_key="innerName", dump_only=True)  # dotted, through a None
    inner = fields.Nested(InnerOut, allow_none=True)
    only_name = fields.Nested(InnerOut, attribute="inner", only=("name",), data_key="onlyName",
                              dump_only=True)
    inners = fields.List(fields.Nested(InnerOut, exclude=("at",)), allow_none=True)
    many = fields.Nested(InnerOut, attribute="inners", many=True, dump_only=True)
    count = fields.Integer(as_string=True)
    default = fields.String(dump_default="given")
    computed = fields.Function(lambda obj: obj.count * 2)
    method = fields.Method("twice")
    constant = fields.Constant("always")
    times = fields.List(UtcDateTime(), attribute="inners", dump_only=True)  # Inner objects: fails as in marshmallow

    def twice(self, obj):
        return obj.count * 2


def test_nested_lists_dotted_paths_defaults_and_computed_fields_dump_as_marshmallow_does():
    aware = datetime(2026, 3, 1, 9, 30, tzinfo=timezone(timedelta(hours=1)))
    full = Outer(Inner("Ann", aware), [Inner("Bo", aware), Inner(None)], count=4)
    text = same_json(OuterOut(), Outer(None, None))
    assert '"innerName"' not in text and '"inner": null' in text and '"default": "given"' in text
    with pytest.raises(AttributeError):  # UtcDateTime of an Inner: the same error marshmallow raises
        OuterOut().dump(full)
    schema = OuterOut(exclude=("times",))
    text = same_json(schema, full)
    assert '"innerName": "Ann"' in text and '"at": "2026-03-01T08:30:00Z"' in text and '"count": "4"' in text


def test_dicts_are_read_by_key_then_attribute_as_marshmallow_reads_them():
    class Row(PlannedSchema):
        email = fields.String()
        items = fields.String()  # no such key: marshmallow falls back to the dict's attribute of that name
        missing_key = fields.String()

    same_json(Row(), {"email": "a@contoso.com"})
    same_json(Row(), [{"email": "a@contoso.com"}, {}], many=True)


def test_a_schema_with_dump_hooks_or_its_own_field_serialize_is_still_dumped_right():
    class Hooked(PlannedSchema):
        name = fields.String()

        @post_dump
        def shout(self, data, **_kwargs):
            return {key: value.upper() for key, value in data.items()}

    class Shouting(fields.String):
        def serialize(self, attr, obj, accessor=None, **kwargs):
            return "!" + str(super().serialize(attr, obj, accessor, **kwargs))

    class OwnField(PlannedSchema):
        name = Shouting()
        hooked = fields.Nested(Hooked, attribute="inner")

    assert plan_of(Hooked()) is None  # marshmallow's dump, hooks and all
    assert same_json(Hooked(), Inner("ann")) == '{"name": "ANN"}'
    assert same_json(OwnField(), {"name": "ann", "inner": Inner("bo")}) == '{"name": "!ann", "hooked": {"name": "BO"}}'


def test_every_response_schema_of_the_api_is_planned():
    """Each is dumped through its plan, not marshmallow's fallback (else the plan would speed up nothing)."""
    modules = (schemas, integration_schemas, graph_api, guard_api)
    planned = [value for module in modules for value in vars(module).values()
               if isinstance(value, type) and issubclass(value, PlannedSchema) and value is not PlannedSchema]
    assert schemas.LookupOut in planned and len(planned) > 25
    for schema in planned:
        assert plan_of(schema()) is not None, schema.__name__


def test_the_check_the_tests_run_with_finds_a_plan_that_differs(monkeypatch):
    assert dump_plan.VERIFY  # conftest sets it for the whole run
    schema = InnerOut()
    schema.dump(Inner("Ann", datetime(2026, 1, 1, tzinfo=UTC)))  # planned now
    monkeypatch.setattr(schema.dump_fields["name"], "data_key", "displayName")  # marshmallow reads it anew
    with pytest.raises(AssertionError, match="differs from marshmallow"):
        schema.dump(Inner("Ann"))
