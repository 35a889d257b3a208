"""Checks a JSON value against an OpenAPI 3.0 schema from /api/openapi.json: types, formats, nullable, required,
enum, and no property the description leaves out (``additionalProperties: false``)."""

from datetime import datetime


def resolve(spec: dict, schema: dict) -> dict:
    while "$ref" in schema:
        name = schema["$ref"].removeprefix("#/components/")
        section, _, key = name.partition("/")
        schema = spec["components"][section][key]
    return schema


def problems(spec: dict, schema: dict, value, path: str = "$") -> list[str]:
    schema = resolve(spec, schema)
    found = []
    for part in schema.get("allOf", []):
        found += problems(spec, part, value, path)
    if value is None:
        return found if schema.get("nullable") or not schema.get("type") else [*found, f"{path}: null not allowed"]
    kind = schema.get("type")
    checks = {"object": dict, "array": list, "string": str, "boolean": bool, "number": (int, float)}
    if kind == "integer":
        if not isinstance(value, int) or isinstance(value, bool):
            return [*found, f"{path}: {value!r} is not an integer"]
    elif kind in checks and (not isinstance(value, checks[kind]) or (kind == "number" and isinstance(value, bool))):
        return [*found, f"{path}: {value!r} is not {kind}"]
    if "enum" in schema and value not in schema["enum"]:
        found.append(f"{path}: {value!r} not in {schema['enum']}")
    if kind == "string" and schema.get("format") == "date-time":
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            found.append(f"{path}: {value!r} is not a date-time")
    if kind == "array" and "items" in schema:
        for index, item in enumerate(value):
            found += problems(spec, schema["items"], item, f"{path}[{index}]")
    if kind == "object":
        properties = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                found.append(f"{path}: {name} is required")
        extra = schema.get("additionalProperties", True)
        for name, item in value.items():
            if name in properties:
                found += problems(spec, properties[name], item, f"{path}.{name}")
            elif extra is False:
                found.append(f"{path}: {name} is not in the description")
            elif isinstance(extra, dict):
                found += problems(spec, extra, item, f"{path}.{name}")
    return found


def operation(spec: dict, method: str, template: str) -> dict:
    assert template in spec["paths"], f"{template} is not described"
    assert method.lower() in spec["paths"][template], f"{method} {template} is not described"
    return spec["paths"][template][method.lower()]


def response_schema(spec: dict, method: str, template: str, status: int) -> dict | None:
    responses = operation(spec, method, template)["responses"]
    described = responses.get(str(status))
    assert described is not None, f"{method} {template} does not describe status {status}"
    described = resolve(spec, described)
    content = described.get("content", {}).get("application/json")
    return content["schema"] if content else None


def request_schema(spec: dict, method: str, template: str) -> dict:
    return operation(spec, method, template)["requestBody"]["content"]["application/json"]["schema"]
