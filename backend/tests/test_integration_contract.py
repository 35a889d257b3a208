"""Contract tests: every integration endpoint answers what /api/openapi.json describes, for the requests it
describes, and the headers the contract rests on (Idempotency-Key, If-Match) are in the description."""

import pytest
from conftest import Api, activity_json, token_for
from openapi_contract import operation, problems, request_schema, response_schema

ROLE = "Activities.ReadWrite.All"
ADMIN = "Crmbridge.Admin"
BY_EXTERNAL_ID = "/api/activities/by-external-id/{source}/{external_id}"


@pytest.fixture
def spec(client):
    return client.get("/api/openapi.json").json


@pytest.fixture
def crm(app, client):
    return Api(client, token_for(app, "crm-sync@contoso.com", (ROLE,)))


class Checked:
    """Calls the API and checks each request body and answer against the description."""

    def __init__(self, spec):
        self.spec = spec
        self.checked = []

    def __call__(self, api, method, template, url, status, body=None, headers=None):
        if body is not None:
            assert problems(self.spec, request_schema(self.spec, method, template), body) == []
        response = getattr(api, method.lower())(url, json=body, headers=headers)
        assert response.status_code == status, response.get_data(as_text=True)
        schema = response_schema(self.spec, method, template, status)
        if schema is not None:
            assert problems(self.spec, schema, response.json) == [], (method, template)
        self.checked.append((method, template, status))
        return response


def test_the_integration_endpoints_answer_as_described(spec, app, client, crm, anna):
    call = Checked(spec)
    admin = Api(client, token_for(app, "it@contoso.com", (ADMIN,)))
    body = activity_json(organizerEmail="anna@contoso.com")
    url = "/api/activities/by-external-id/dynamics/M-1"

    created = call(crm, "PUT", BY_EXTERNAL_ID, url, 201, body)
    call(crm, "PUT", BY_EXTERNAL_ID, url, 200, body)
    call(crm, "GET", BY_EXTERNAL_ID, url, 200)
    aid = created.json["id"]
    keyed = call(crm, "POST", "/api/activities", "/api/activities", 201, body, {"Idempotency-Key": "k"})
    call(crm, "GET", "/api/activities", "/api/activities?organizer=anna@contoso.com&changedSince=2020-01-01T00:00:00Z",
         200)
    call(anna, "POST", "/api/activities/{activity_id}/links", f"/api/activities/{aid}/links", 201,
         {"kind": "external", "state": "sent", "graphEventId": "AAMk-1"})
    call(crm, "POST", "/api/activities/{activity_id}/reassign", f"/api/activities/{aid}/reassign", 200,
         {"organizerEmail": "bo@contoso.com"}, {"If-Match": created.headers["ETag"]})
    call(anna, "GET", "/api/lookup", "/api/lookup?restId=AAMk-1", 410)
    call(crm, "DELETE", "/api/activities/{activity_id}", f"/api/activities/{keyed.json['id']}", 200)
    call(crm, "DELETE", BY_EXTERNAL_ID, url, 200)
    call(anna, "GET", "/api/lookup", f"/api/lookup?activityId={keyed.json['id']}", 410)
    page = call(crm, "GET", "/api/changes", "/api/changes?limit=50", 200)
    assert page.json["items"]
    hook = call(crm, "POST", "/api/webhooks", "/api/webhooks", 201, {"url": "https://crm.example.com/h",
                                                                      "events": ["activity.deleted"]})
    call(crm, "GET", "/api/webhooks", "/api/webhooks", 200)
    call(crm, "GET", "/api/webhooks/{endpoint_id}", f"/api/webhooks/{hook.json['id']}", 200)
    call(admin, "GET", "/api/audit", "/api/audit?limit=5", 200)
    call(crm, "DELETE", "/api/webhooks/{endpoint_id}", f"/api/webhooks/{hook.json['id']}", 204)
    assert len(call.checked) == 17


def test_the_contract_headers_are_described(spec):
    create = operation(spec, "POST", "/api/activities")
    assert "Idempotency-Key" in [p["name"] for p in create["parameters"] if p["in"] == "header"]
    reassign = operation(spec, "POST", "/api/activities/{activity_id}/reassign")
    assert {"name": "If-Match", "required": True}.items() <= next(
        p for p in reassign["parameters"] if p["name"] == "If-Match").items()
    assert set(operation(spec, "PUT", BY_EXTERNAL_ID)["responses"]) >= {"200", "201"}


def test_the_validator_finds_an_undescribed_or_mistyped_field(spec):
    schema = {"$ref": "#/components/schemas/ChangePage"}
    assert problems(spec, schema, {"items": [], "next": "0", "hasMore": False}) == []
    assert problems(spec, schema, {"items": [], "next": 0, "hasMore": False}) == ["$.next: 0 is not string"]
    assert problems(spec, schema, {"items": [], "next": "0", "hasMore": False, "secret": "x"}) == [
        "$: secret is not in the description"]
