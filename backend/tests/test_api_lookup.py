"""/api/lookup: one call for the taskpane, by activity id, EWS item id, REST id or iCalUId."""

import pytest
from test_api_activities import graph_event


def link(anna, aid, **body):
    if body.get("kind") == "internal":
        body.setdefault("attendees", ["lars@contoso.com"])  # as the taskpane reports them: colleagues only
    response = anna.post(f"/api/activities/{aid}/links", json=body)
    assert response.status_code in (200, 201), response.json
    return response


def test_lookup_by_activity_id_returns_activity_classification_and_state(anna, created):
    response = anna.get(f"/api/lookup?activityId={created.json['id']}")
    assert response.status_code == 200
    body = response.json
    expected = {**created.json, "externalState": "not-invited"}
    del expected["internalNotes"]  # the pane never shows the notes, so the lookup does not carry them
    assert body["activity"] == expected
    assert body["etag"] == '"v1"'
    assert body["state"] == "not-invited"
    assert body["meeting"] is None and body["externalMeeting"] is None and body["drift"] is None
    assert {p["classification"] for p in body["activity"]["participants"]} == {"internal", "external", "resource"}


def test_an_activity_without_externals_says_so(anna):
    aid = anna.post("/api/activities", json={
        "subject": "Internal prep", "start": "2026-12-01T09:00:00Z", "end": "2026-12-01T10:00:00Z",
        "timeZone": "Europe/Copenhagen", "participants": [{"email": "lars@contoso.com"}]}).json["id"]
    assert anna.get(f"/api/lookup?activityId={aid}").json["state"] == "no-externals"


@pytest.mark.parametrize(("query", "meeting"), [
    ("itemId=AAMk%2Fext%2B1", "external"),
    ("itemId=AAMk-ext_1", "external"),  # the REST form of the same id, as convertToRestId gives it
    ("restId=AAMk-ext_1", "external"),
    ("iCalUId=ical-ext", "external"),
    ("itemId=AAMk%2Fint%2B1", "internal"),
])
def test_lookup_by_outlook_ids_finds_the_linked_meeting(anna, created, query, meeting):
    aid = created.json["id"]
    link(anna, aid, state="sent", ewsItemId="AAMk/ext+1", graphEventId="AAMk-ext_1", iCalUId="ical-ext")
    link(anna, aid, kind="internal", state="sent", ewsItemId="AAMk/int+1")
    body = anna.get(f"/api/lookup?{query}").json
    assert body["activity"]["id"] == aid
    assert body["meeting"] == meeting
    assert body["state"] == "sent"
    assert body["externalMeeting"]["iCalUId"] == "ical-ext"
    assert body["internalMeeting"]["ewsItemId"] == "AAMk/int+1"


def test_a_pending_invitation_is_reported_as_open(anna, created):
    link(anna, created.json["id"], state="pending")
    assert anna.get(f"/api/lookup?activityId={created.json['id']}").json["state"] == "invitation-open"


def test_lookup_with_a_snapshot_reports_drift_in_the_same_call(anna, created):
    aid = created.json["id"]
    link(anna, aid, state="sent", graphEventId="AAMk-ext")
    in_sync = anna.post("/api/lookup", json={"restId": "AAMk-ext", "snapshot": graph_event()}).json
    assert in_sync["state"] == "in-sync" and in_sync["drift"]["inSync"] is True
    moved = anna.post("/api/lookup", json={"restId": "AAMk-ext", "snapshot": graph_event(
        location={"displayName": "Teams"})}).json
    assert moved["state"] == "drifted"
    assert moved["drift"]["differences"] == [{"field": "location", "crm": "Room Harbour", "outlook": "Teams"}]


def test_a_snapshot_of_the_internal_meeting_is_not_compared_with_the_externals(anna, created):
    aid = created.json["id"]
    link(anna, aid, kind="internal", state="sent", graphEventId="AAMk-int")
    body = anna.post("/api/lookup", json={"restId": "AAMk-int", "snapshot": graph_event(attendees=[])}).json
    assert body["meeting"] == "internal" and body["drift"] is None


def test_a_cancelled_external_link_is_reported_cancelled(anna, created):
    link(anna, created.json["id"], state="cancelled", graphEventId="AAMk-x")
    assert anna.get("/api/lookup?restId=AAMk-x").json["state"] == "cancelled"


@pytest.mark.parametrize("query", ["", "itemId=x&restId=y", "activityId=abc", "activityId=0", "other=1",
                                   "itemId="])
def test_lookup_needs_exactly_one_valid_identifier(anna, query):
    response = anna.get(f"/api/lookup?{query}")
    assert response.status_code == 422
    assert response.json["errors"]


def test_an_unknown_meeting_or_another_organizers_link_is_404(anna, bo, created):
    assert anna.get("/api/lookup?itemId=nothing-here").status_code == 404
    link(anna, created.json["id"], state="sent", iCalUId="ical-anna")
    response = bo.get("/api/lookup?iCalUId=ical-anna")
    assert response.status_code == 404
    assert "Quarterly" not in response.get_data(as_text=True)


def test_lookup_with_a_broken_snapshot_is_422(anna, created):
    response = anna.post("/api/lookup", json={"activityId": created.json["id"], "snapshot": {"start": "soon"}})
    assert response.status_code == 422 and "start" in response.json["errors"]


def test_an_activity_id_beside_an_outlook_id_is_the_fallback_when_the_meeting_has_no_link(anna, created):
    aid = created.json["id"]
    fallback = anna.post("/api/lookup", json={"itemId": "AAMk/unknown", "activityId": aid, "meetingKind": "external",
                                               "snapshot": graph_event(location={"displayName": "Teams"})}).json
    assert fallback["activity"]["id"] == aid and fallback["meeting"] == "external"
    assert fallback["state"] == "drifted"
    internal = anna.post("/api/lookup", json={"itemId": "AAMk/unknown", "activityId": aid, "meetingKind": "internal",
                                               "snapshot": graph_event()}).json
    assert internal["meeting"] == "internal" and internal["drift"] is None


def test_the_link_wins_over_the_fallback_activity_id(anna, created):
    aid = created.json["id"]
    other = anna.post("/api/activities", json={
        "subject": "Other", "start": "2026-12-02T09:00:00Z", "end": "2026-12-02T10:00:00Z",
        "timeZone": "Europe/Copenhagen"}).json["id"]
    link(anna, aid, state="sent", ewsItemId="AAMk/linked")
    body = anna.get(f"/api/lookup?itemId=AAMk%2Flinked&activityId={other}").json
    assert body["activity"]["id"] == aid and body["meeting"] == "external"


def test_an_unknown_outlook_id_without_a_fallback_is_404_and_meeting_kind_needs_an_activity_id(anna, created):
    assert anna.get("/api/lookup?itemId=AAMk%2Fnone").status_code == 404
    response = anna.get("/api/lookup?itemId=x&meetingKind=external")
    assert response.status_code == 422 and "meetingKind" in response.json["errors"]


def test_a_lookup_makes_no_schema_of_its_own(anna, created, monkeypatch):
    """Each endpoint's schemas are made once (with the app, the nested ones at the first answer): webargs given a
    schema class would make one per request, and marshmallow deep-copies every field for it."""
    import marshmallow

    def lookups():
        assert anna.get(f"/api/lookup?activityId={created.json['id']}").status_code == 200
        assert anna.post("/api/lookup", json={"activityId": created.json["id"]}).status_code == 200

    lookups()
    made = []
    original = marshmallow.Schema.__init__

    def counting(self, *args, **kwargs):
        made.append(type(self).__name__)
        original(self, *args, **kwargs)

    monkeypatch.setattr(marshmallow.Schema, "__init__", counting)
    lookups()
    assert made == []
