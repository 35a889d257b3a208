"""The Graph side classifies each activity's attendees with its own tenant's domains: two tenants share one
server, and tenant B's address on tenant A's internal meeting is an outsider there, never a colleague."""

import json
import re

import pytest
from conftest import Api, activity_json, store_org_domains, token_for, worker_round
from entra_fakes import SECOND_TENANT, TENANT, TENANT_DOMAINS

from crmbridge import db
from crmbridge.graph import GraphClient
from crmbridge.graph import setup as graph_setup
from crmbridge.graph.org_scope import TenantDomains
from crmbridge.models import MeetingLinkRow, OrgDomainRow

BASE = "https://graph.microsoft.com/v1.0"
EVENTS = f"{BASE}/users/anna@contoso.com/events"
START, END = "2030-03-04T09:00:00+01:00", "2030-03-04T10:00:00+01:00"
# Tenant A is Contoso, tenant B Fabrikam (the customer in activity_json is at Fabrikam's domain).
LARS = {"emailAddress": {"address": "lars@contoso.com", "name": "Lars"}, "type": "required",
        "status": {"response": "accepted"}}
METTE = {"emailAddress": {"address": "mette@fabrikam.example", "name": "Mette"}, "type": "required",
         "status": {"response": "none"}}


@pytest.fixture
def two_tenants(app):
    """No configured domain: each tenant has only its own stored one."""
    app.config["ORG_DOMAINS"] = []
    store_org_domains(app, TENANT_DOMAINS)
    return app


@pytest.fixture
def graph(two_tenants):
    client = GraphClient(lambda mailbox: "static-token", max_retries=0, sleep=lambda seconds: None)
    graph_setup.install(two_tenants, client)
    yield client
    client.close()


@pytest.fixture
def anna_in_a(two_tenants, client):
    return Api(client, token_for(two_tenants, "anna@contoso.com", tenant=TENANT))


def current(rsps, attendees):
    """Graph's answer to the check before a write (graph:api-reference/v1.0/api/event-get.md)."""
    rsps.get(re.compile(re.escape(f"{EVENTS}/AAMkInternal1") + r"\?\$select="),
             json={"id": "AAMkInternal1", "isOrganizer": True, "attendees": attendees})


def synced_activity(app, anna, rsps) -> dict:
    rsps.post(EVENTS, status=201, json={"id": "AAMkInternal1", "iCalUId": "UID-INT-1", "changeKey": "ck1"})
    created = anna.post("/api/activities", json=activity_json(start=START, end=END))
    assert created.status_code == 201, created.json
    worker_round(app)
    invited = json.loads(rsps.calls[0].request.body)["attendees"]
    rsps.calls.reset()
    rsps.reset()
    return {"created": created, "invited": [a["emailAddress"]["address"] for a in invited]}


def edit_notes(app, anna, created, notes: str) -> None:
    response = anna.patch(f"/api/activities/{created.json['id']}", json={"internalNotes": notes},
                          headers={"If-Match": created.headers["ETag"]})
    assert response.status_code == 200, response.json
    worker_round(app)


def test_another_tenants_domain_is_not_invited_to_the_internal_meeting(two_tenants, graph, anna_in_a, rsps):
    synced = synced_activity(two_tenants, anna_in_a, rsps)

    assert synced["invited"] == ["lars@contoso.com", "harbour-room@contoso.com"]


def test_the_sync_refuses_to_write_when_an_address_of_another_tenant_is_on_the_internal_meeting(
        two_tenants, graph, anna_in_a, rsps):
    synced = synced_activity(two_tenants, anna_in_a, rsps)
    current(rsps, [LARS, METTE])  # someone added tenant B's Mette in Outlook

    edit_notes(two_tenants, anna_in_a, synced["created"], "Walk away below 9 %")

    assert [call.request.method for call in rsps.calls] == ["GET"]
    assert not any("Walk away" in (call.request.body or b"").decode() for call in rsps.calls)
    with two_tenants.app_context():
        link = db.session().query(MeetingLinkRow).filter_by(kind="internal").one()
        assert (link.write_blocked, json.loads(link.blocked_addresses)) == ("outsiders", ["mette@fabrikam.example"])


def test_the_same_meeting_with_colleagues_only_is_written(two_tenants, graph, anna_in_a, rsps):
    synced = synced_activity(two_tenants, anna_in_a, rsps)
    current(rsps, [LARS])
    rsps.patch(f"{EVENTS}/AAMkInternal1", json={"id": "AAMkInternal1", "changeKey": "ck2"})

    edit_notes(two_tenants, anna_in_a, synced["created"], "Walk away below 9 %")

    assert [call.request.method for call in rsps.calls] == ["GET", "PATCH"]
    assert json.loads(rsps.calls[1].request.body) == {"body": {"contentType": "text", "content": "Walk away below 9 %"}}


def test_each_tenant_gets_its_own_domains_and_those_of_no_tenant(two_tenants):
    with two_tenants.app_context():
        session = db.session()
        session.add(OrgDomainRow(domain="shared.example", tenant_id="", source="admin"))
        session.commit()
        scope = TenantDomains(session, ["configured.example"], include_subdomains=False)
        assert scope.of(TENANT).domains == {"contoso.com", "shared.example", "configured.example"}
        assert scope.of(SECOND_TENANT).domains == {"fabrikam.example", "shared.example", "configured.example"}
