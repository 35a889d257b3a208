"""Tenants kept apart and identities that cannot be spoofed: two tenants share one server and no row crosses; the
organizer is the token's tenant and object id, with the upn as their address only within their tenant's domains."""

import pytest
import responses
from conftest import Api, activity_json, store_org_domains
from entra_fakes import (
    ROLE,
    SECOND_TENANT,
    TENANT,
    TENANT_DOMAINS,
    app_claims,
    entra_config,
    serve_keys,
    sign,
    user_claims,
    user_token,
)

from crmbridge import create_app, db, migrations
from crmbridge.auth import dev_tokens
from crmbridge.models import ActivityRow, MeetingLinkRow

# Tenant A is Contoso, tenant B Fabrikam; each has its own domain and nothing else.


@pytest.fixture
def app(database_url):
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "ORG_DOMAINS": [],
                      "SECRET_KEY": "test-secret-key", **entra_config()})
    migrations.upgrade(database_url)
    store_org_domains(app, TENANT_DOMAINS)
    yield app
    db.engine(app).dispose()


@pytest.fixture
def entra():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        serve_keys(rsps)
        yield rsps


def entra_user(client, email: str, tenant: str = TENANT, **claims) -> Api:
    overrides = {"tid": tenant, "iss": f"https://login.microsoftonline.com/{tenant}/v2.0", **claims}
    return Api(client, user_token(email, **overrides))


def entra_app(client, tenant: str) -> Api:
    claims = app_claims((ROLE,))
    claims.update(tid=tenant, iss=f"https://login.microsoftonline.com/{tenant}/v2.0")
    return Api(client, sign(claims))


def rows(app, model, *columns: str) -> list[tuple]:
    with app.app_context():
        return sorted(tuple(getattr(row, c) for c in columns) for row in db.session().query(model).all())


# Two tenants -----------------------------------------------------------------------------------------------------


def test_two_tenants_on_one_server_see_classify_and_link_only_their_own(app, client, entra):
    anna = entra_user(client, "anna@contoso.com", TENANT)
    bob = entra_user(client, "bob@fabrikam.example", SECOND_TENANT)
    contoso_crm, fabrikam_crm = entra_app(client, TENANT), entra_app(client, SECOND_TENANT)
    participants = [{"email": "lars@contoso.com"}, {"email": "mette@fabrikam.example"}]

    a = anna.post("/api/activities", json=activity_json(participants=participants))
    b = bob.post("/api/activities", json=activity_json(participants=participants, internalNotes="Fabrikam only"))
    assert a.status_code == b.status_code == 201
    # Each tenant's own domain is internal, the other tenant's is not.
    assert [p["classification"] for p in a.json["participants"]] == ["internal", "external"]
    assert [p["classification"] for p in b.json["participants"]] == ["external", "internal"]

    # Neither organizer, nor the other tenant's integration, sees the other's activity or notes.
    for caller, foreign in ((anna, b), (bob, a), (contoso_crm, b), (fabrikam_crm, a)):
        for path in ("", "/external-draft"):
            response = caller.get(f"/api/activities/{foreign.json['id']}{path}")
            assert response.status_code == 404 and "Fabrikam only" not in response.get_data(as_text=True)
        assert caller.patch(f"/api/activities/{foreign.json['id']}", json={"location": "X"},
                            headers={"If-Match": "*"}).status_code == 404
    assert [item["id"] for item in anna.get("/api/activities").json["items"]] == [a.json["id"]]
    assert [item["id"] for item in bob.get("/api/activities").json["items"]] == [b.json["id"]]
    # The integration acts for organizers of its own tenant only: its activity lands there.
    created = fabrikam_crm.post("/api/activities", json=activity_json(organizerEmail="anna@contoso.com"))
    assert created.status_code == 201
    assert [item["id"] for item in anna.get("/api/activities").json["items"]] == [a.json["id"]]
    assert contoso_crm.get(f"/api/activities/{a.json['id']}").status_code == 200

    # The same Outlook iCalUId linked in both tenants: no conflict, and each lookup finds its own.
    for caller, activity in ((anna, a), (bob, b)):
        response = caller.post(f"/api/activities/{activity.json['id']}/links",
                               json={"state": "sent", "iCalUId": "040000008200E00074C5B7101A82E008"})
        assert response.status_code == 201
    for caller, activity in ((anna, a), (bob, b)):
        found = caller.get("/api/lookup", query_string={"iCalUId": "040000008200E00074C5B7101A82E008"})
        assert found.status_code == 200 and found.json["activity"]["id"] == activity.json["id"]

    assert rows(app, ActivityRow, "id", "tenant_id") == [
        (a.json["id"], TENANT), (b.json["id"], SECOND_TENANT), (created.json["id"], SECOND_TENANT)]
    assert rows(app, MeetingLinkRow, "activity_id", "owner_key") == [
        (a.json["id"], f"{TENANT} anna@contoso.com"), (b.json["id"], f"{SECOND_TENANT} bob@fabrikam.example")]


def test_the_same_address_in_two_tenants_is_two_organizers(app, client):
    in_a = Api(client, dev_tokens.issue(app.config["SECRET_KEY"], "anna@contoso.com", tenant=TENANT))
    in_b = Api(client, dev_tokens.issue(app.config["SECRET_KEY"], "anna@contoso.com", tenant=SECOND_TENANT))
    created = in_a.post("/api/activities", json=activity_json())
    assert created.status_code == 201
    assert in_b.get(f"/api/activities/{created.json['id']}").status_code == 404
    assert in_b.get("/api/activities").json["total"] == 0


def test_the_integration_and_the_organizers_share_one_tenant_column(app, client, entra):
    # The CRM's external ids, its reassign and the organizer's own view all read activities.tenant_id.
    anna = entra_user(client, "anna@contoso.com", oid="0d6c4b2a-1111-4aaa-8bbb-123456789abc")
    lars = entra_user(client, "lars@contoso.com")
    contoso_crm, fabrikam_crm = entra_app(client, TENANT), entra_app(client, SECOND_TENANT)
    put = contoso_crm.put("/api/activities/by-external-id/crm/A-1",
                          json=activity_json(organizerEmail="anna@contoso.com"))
    assert put.status_code == 201
    aid = put.json["id"]
    assert fabrikam_crm.get("/api/activities/by-external-id/crm/A-1").status_code == 404
    assert fabrikam_crm.delete(f"/api/activities/{aid}").status_code == 404
    # Anna acts on it: from now on she is known by her object id.
    assert anna.patch(f"/api/activities/{aid}", json={"location": "Room 1"},
                      headers={"If-Match": put.headers["ETag"]}).status_code == 200
    assert rows(app, ActivityRow, "id", "tenant_id") == [(aid, TENANT)]
    etag = contoso_crm.get(f"/api/activities/{aid}").headers["ETag"]
    moved = contoso_crm.post(f"/api/activities/{aid}/reassign", json={"organizerEmail": "lars@contoso.com"},
                             headers={"If-Match": etag})
    assert moved.status_code == 200
    # The old organizer's object id does not keep a moved activity.
    assert anna.get(f"/api/activities/{aid}").status_code == 404
    assert lars.get(f"/api/activities/{aid}").status_code == 200
    assert rows(app, ActivityRow, "id", "organizer_oid") == [(aid, None)]


# Identity --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("claims", [
    {"upn": None, "email": "bob@contoso.com"},
    {"upn": None, "preferred_username": "bob@contoso.com"},
    {"upn": '"Eve" <bob@contoso.com>'},
    {"upn": "mailto:bob@contoso.com"},
    {"upn": "\uff42\uff4f\uff42@contoso.com"},  # full-width "bob"
    {"upn": "bob@\uff43ontoso.com"},  # full-width "c", which IDNA would fold into contoso.com
    {"upn": "bob@contoso.com "},
], ids=["email-only", "preferred_username-only", "display-name", "mailto", "full-width-local", "full-width-domain",
        "trailing-space"])
def test_no_claim_but_a_plain_upn_makes_anyone_bob(app, client, entra, claims):
    bob = entra_user(client, "bob@contoso.com")
    created = bob.post("/api/activities", json=activity_json())
    assert created.status_code == 201
    claims = {key: value for key, value in {**user_claims("eve@contoso.com"), **claims}.items() if value is not None}
    eve = Api(client, sign(claims))
    response = eve.get(f"/api/activities/{created.json['id']}")
    assert response.status_code == 401
    assert response.json["code"] == 401


def test_a_upn_outside_the_tenants_domains_is_refused(app, client, entra):
    # Tenant B's user with a Contoso upn (a guest or a misconfigured tenant) is not Contoso's anna.
    anna = entra_user(client, "anna@contoso.com", TENANT)
    created = anna.post("/api/activities", json=activity_json())
    impostor = entra_user(client, "anna@contoso.com", SECOND_TENANT)
    response = impostor.get(f"/api/activities/{created.json['id']}")
    assert response.status_code == 403 and response.json["code"] == 403


def test_a_renamed_upn_keeps_its_activities(app, client, entra):
    before = entra_user(client, "anna@contoso.com", oid="0d6c4b2a-1111-4aaa-8bbb-123456789abc")
    created = before.post("/api/activities", json=activity_json())
    after = entra_user(client, "anna.berg@contoso.com", oid="0d6c4b2a-1111-4aaa-8bbb-123456789abc")
    assert after.get(f"/api/activities/{created.json['id']}").status_code == 200
    assert [item["id"] for item in after.get("/api/activities").json["items"]] == [created.json["id"]]
    # Someone else who later gets the old upn does not get her activities.
    successor = entra_user(client, "anna@contoso.com", oid="9f9f9f9f-2222-4ccc-8ddd-123456789abc")
    assert successor.get(f"/api/activities/{created.json['id']}").status_code == 404


def without_request_id(response) -> dict:
    body = dict(response.json)
    assert body.pop("requestId", response.headers["X-Request-Id"]) == response.headers["X-Request-Id"]
    return body


def test_another_organizers_outlook_id_answers_exactly_as_an_unknown_one(anna, bo, created):
    aid = created.json["id"]
    linked = anna.post(f"/api/activities/{aid}/links", json={"state": "sent", "iCalUId": "ANNAS-UID",
                                                            "graphEventId": "AAMkANNA", "ewsItemId": "AAMk/ANNA"})
    assert linked.status_code == 201
    own = bo.post("/api/activities", json=activity_json()).json["id"]
    for name, known in (("iCalUId", "ANNAS-UID"), ("restId", "AAMkANNA"), ("itemId", "AAMk/ANNA")):
        for extra in ({}, {"activityId": own}):
            theirs = bo.get("/api/lookup", query_string={name: known, **extra})
            unknown = bo.get("/api/lookup", query_string={name: "NOBODYS-ID", **extra})
            assert theirs.status_code == unknown.status_code
            assert without_request_id(theirs) == without_request_id(unknown)  # each answer has its own request id
            assert set(theirs.headers.keys()) == set(unknown.headers.keys())
            assert str(aid) not in without_request_id(theirs).values() or extra


def test_another_organizer_can_link_the_same_outlook_ids_without_taking_them(anna, bo, created):
    ids = {"state": "sent", "iCalUId": "SHARED-UID", "graphEventId": "AAMkSHARED"}
    theirs = bo.post("/api/activities", json=activity_json()).json["id"]
    assert bo.post(f"/api/activities/{theirs}/links", json=ids).status_code == 201
    assert anna.post(f"/api/activities/{created.json['id']}/links", json=ids).status_code == 201
    found = anna.get("/api/lookup", query_string={"iCalUId": "SHARED-UID"})
    assert found.json["activity"]["id"] == created.json["id"]


def test_a_development_token_is_only_issued_for_a_plain_address(app):
    for spoof in ('"Eve" <bob@contoso.com>', "mailto:bob@contoso.com", "\uff42ob@contoso.com"):
        with pytest.raises(dev_tokens.DevTokenError):
            dev_tokens.issue(app.config["SECRET_KEY"], spoof)
