"""The Graph client end to end against the fake Graph server, with injected faults."""

from datetime import UTC, datetime, timedelta

import pytest
import requests
from fake_graph import start_fake_graph

from crmbridge.graph import (
    GraphAuthError,
    GraphClient,
    GraphDeltaExpired,
    GraphError,
    GraphNotFound,
    GraphUnavailable,
    event_path,
)

MAILBOX = "olivia@contoso.com"
PROP = "String {00020329-0000-0000-C000-000000000046} Name crmActivityId"
DAY = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)
WINDOW = (DAY - timedelta(days=1), DAY + timedelta(days=30))


@pytest.fixture
def graph():
    """Factory: graph(client_options, **fake_options) -> (client, fake); everything is stopped afterwards."""
    cleanups = []

    def make(client_options=None, **fake_options):
        base_url, fake, stop = start_fake_graph(**fake_options)
        cleanups.append(stop)
        client = GraphClient(
            lambda mailbox: f"token-for-{mailbox or 'app'}",
            base_url=base_url,
            timeout=(1.0, 0.25),
            sleep=lambda seconds: None,
            **(client_options or {}),
        )
        cleanups.append(client.close)
        return client, fake

    yield make
    for cleanup in reversed(cleanups):
        cleanup()


def meeting(n, *, activity=None, days=0, zone="UTC"):
    start = DAY + timedelta(days=days, hours=n % 8)
    event = {
        "subject": f"Meeting {n}",
        "start": {"dateTime": start.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": zone},
        "end": {"dateTime": (start + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": zone},
        "attendees": [{"emailAddress": {"address": "ann@contoso.com"}, "type": "required"}],
    }
    if activity is not None:
        event["singleValueExtendedProperties"] = [{"id": PROP, "value": activity}]
    return event


def test_fifty_creates_under_thirty_percent_faults_leave_exactly_fifty_events(graph):
    client, fake = graph(
        {"max_retries": 10}, seed=7, fault_rate=0.3, slow_seconds=0.5, applied_then_drop_rate=0.2
    )

    created = [client.create_event(MAILBOX, meeting(n), transaction_id=f"crm-{n}") for n in range(50)]

    stored = fake.events(MAILBOX)
    assert len(stored) == 50
    assert sorted(e["transactionId"] for e in stored) == sorted(f"crm-{n}" for n in range(50))
    assert {e["id"] for e in created} == {e["id"] for e in stored}
    assert set(fake.faults_injected) == {"throttle", "unavailable", "slow", "drop", "applied_then_drop"}
    posts = [r for r in fake.requests if r.method == "POST"]
    assert len(posts) > 50
    assert client.requests_sent == len(fake.requests)


def test_the_same_transaction_id_returns_the_first_event(graph):
    client, fake = graph()

    first = client.create_event(MAILBOX, meeting(1), transaction_id="crm-1")
    again = client.create_event(MAILBOX, meeting(1), transaction_id="crm-1")

    assert again["id"] == first["id"]
    assert len(fake.events(MAILBOX)) == 1


def test_delta_returns_only_what_changed_since_the_last_round(graph):
    client, fake = graph(
        {"max_retries": 10},
        seed=3,
        fault_rate=0.3,
        faults=("throttle", "unavailable", "drop"),
        max_page_size=2,
    )
    ids = [client.create_event(MAILBOX, meeting(n), transaction_id=f"t{n}")["id"] for n in range(5)]

    everything, link = client.calendar_view_delta(MAILBOX, *WINDOW, delta_link=None)
    assert sorted(e["id"] for e in everything) == sorted(ids)

    updated = client.update_event(MAILBOX, ids[0], {"subject": "Moved"})
    fake.respond(MAILBOX, ids[1], "ann@contoso.com", "accepted")
    fake.outlook_cancel(MAILBOX, ids[2])
    fake.outlook_delete(MAILBOX, ids[3])
    new = fake.add_event(MAILBOX, meeting(9))
    outside = fake.add_event(MAILBOX, meeting(10, days=90))

    changes, link = client.calendar_view_delta(MAILBOX, *WINDOW, delta_link=link)

    by_id = {c["id"]: c for c in changes}
    assert set(by_id) == {ids[0], ids[1], ids[2], ids[3], new["id"], outside["id"]}
    assert by_id[ids[0]]["subject"] == "Moved"
    before = {e["id"]: e for e in everything}
    assert by_id[ids[0]]["changeKey"] == updated["changeKey"] != before[ids[0]]["changeKey"]
    assert by_id[ids[1]]["attendees"][0]["status"]["response"] == "accepted"
    assert {i for i, c in by_id.items() if "@removed" in c} == {ids[2], ids[3], outside["id"]}

    assert client.calendar_view_delta(MAILBOX, *WINDOW, delta_link=link)[0] == []


def test_an_expired_delta_link_raises_delta_expired(graph):
    client, fake = graph()
    _, link = client.calendar_view_delta(MAILBOX, *WINDOW, delta_link=None)
    fake.expire_delta_links()

    with pytest.raises(GraphDeltaExpired):
        client.calendar_view_delta(MAILBOX, *WINDOW, delta_link=link)


def test_calendar_view_pages_through_the_window_and_expands_only_when_asked(graph):
    client, fake = graph(max_page_size=3)
    for n in range(7):
        client.create_event(MAILBOX, meeting(n, activity=f"act-{n}", days=n), transaction_id=f"t{n}")
    client.create_event(MAILBOX, meeting(99, days=60), transaction_id="outside")

    plain = client.calendar_view(MAILBOX, *WINDOW)
    expanded = client.calendar_view(MAILBOX, *WINDOW, expand_property_ids=[PROP])

    assert len(plain) == len(expanded) == 7
    assert all("singleValueExtendedProperties" not in e for e in plain)
    assert [e["singleValueExtendedProperties"][0]["value"] for e in expanded] == [
        f"act-{n}" for n in range(7)
    ]
    assert len([r for r in fake.requests if r.path.endswith("calendarView")]) == 6


def test_times_come_back_in_utc_whatever_zone_they_were_written_in(graph):
    client, fake = graph()
    created = fake.add_event(MAILBOX, meeting(0, zone="Romance Standard Time"))

    event = client.get_event(MAILBOX, created["id"])

    assert event["start"] == {"dateTime": "2030-03-04T08:00:00.0000000", "timeZone": "UTC"}
    assert event["originalStartTimeZone"] == "Romance Standard Time"


def test_finding_by_extended_property_matches_the_value_case_insensitively(graph):
    client, _ = graph()
    wanted = client.create_event(MAILBOX, meeting(1, activity="O'Brien-42"), transaction_id="a")
    client.create_event(MAILBOX, meeting(2, activity="other"), transaction_id="b")
    client.create_event(MAILBOX, meeting(3), transaction_id="c")

    found = client.find_events_by_extended_property(MAILBOX, PROP, "o'brien-42")

    assert [e["id"] for e in found] == [wanted["id"]]
    assert found[0]["singleValueExtendedProperties"] == [{"id": PROP, "value": "O'Brien-42"}]


def test_batch_get_survives_item_faults_and_reports_missing_events(graph):
    client, fake = graph({"max_retries": 10}, seed=5)
    ids = [client.create_event(MAILBOX, meeting(n), transaction_id=f"t{n}")["id"] for n in range(25)]
    fake.fault_rate, fake.faults = 0.3, ("throttle", "unavailable")
    paths = [event_path(MAILBOX, event_id, select=["changeKey"]) for event_id in ids]
    missing = event_path(MAILBOX, "AAMkNoSuchEvent")

    results = client.batch_get(MAILBOX, [*paths, missing], return_errors=True)

    assert [results[p]["id"] for p in paths] == ids
    assert set(results[paths[0]]) == {"id", "@odata.etag", "changeKey"}
    assert isinstance(results[missing], GraphNotFound)
    assert any(r.in_batch and r.fault for r in fake.requests)


def test_writes_to_lists_every_write_attempt_on_one_event(graph):
    client, fake = graph({"max_retries": 2})
    external = fake.add_event(MAILBOX, meeting(1))
    internal = client.create_event(MAILBOX, meeting(2), transaction_id="internal")
    client.get_event(MAILBOX, external["id"])
    client.batch_get(MAILBOX, [event_path(MAILBOX, external["id"])])
    client.update_event(MAILBOX, internal["id"], {"subject": "New time"})
    client.cancel_event(MAILBOX, internal["id"])

    assert fake.writes_to(external["id"]) == []
    assert [(r.method, r.path.rsplit("/", 1)[-1]) for r in fake.writes_to(internal["id"])] == [
        ("PATCH", internal["id"]),
        ("POST", "cancel"),
    ]

    fake.fault_rate, fake.faults = 1.0, ("unavailable",)
    with pytest.raises(GraphUnavailable):
        client.update_event(MAILBOX, external["id"], {"subject": "oops"})
    assert len(fake.writes_to(external["id"])) == 3
    assert fake.events(MAILBOX)[0]["subject"] == "Meeting 1"


def test_dropped_connections_end_as_graph_unavailable(graph):
    client, fake = graph({"max_retries": 2}, fault_rate=1.0, faults=("drop",))

    with pytest.raises(GraphUnavailable) as raised:
        client.get_event(MAILBOX, "AAMk1")

    assert raised.value.status is None
    assert len(fake.requests) == 3


def test_slow_answers_time_out_and_end_as_graph_unavailable(graph):
    client, fake = graph({"max_retries": 1}, fault_rate=1.0, faults=("slow",), slow_seconds=5)

    with pytest.raises(GraphUnavailable) as raised:
        client.get_event(MAILBOX, "AAMk1")

    assert raised.value.code == "ReadTimeout"
    assert fake.faults_injected["slow"] == 2


def test_cancelled_events_leave_the_calendar_view_but_stay_readable(graph):
    client, _ = graph()
    event = client.create_event(MAILBOX, meeting(1), transaction_id="t")

    client.cancel_event(MAILBOX, event["id"], comment="Sorry")

    assert client.calendar_view(MAILBOX, *WINDOW) == []
    assert client.get_event(MAILBOX, event["id"])["isCancelled"] is True


def test_organization_domains_and_subscriptions(graph):
    client, fake = graph(domains=["contoso.com", "contoso.onmicrosoft.com"])
    fake.clock = lambda: DAY
    expires = DAY + timedelta(days=2)

    assert client.organization_domains() == ["contoso.com", "contoso.onmicrosoft.com"]
    subscription = client.create_subscription(MAILBOX, "https://crm.example/notify", "state", expires)
    client.renew_subscription(subscription["id"], expires + timedelta(days=1))
    assert fake.subscriptions()[0]["expirationDateTime"] == "2030-03-07T09:00:00Z"
    client.delete_subscription(subscription["id"])
    assert fake.subscriptions() == []


def test_the_fake_refuses_requests_without_token_or_immutable_ids(graph):
    client, _ = graph()
    url = f"{client.base_url}/organization"

    with requests.Session() as session:
        no_token = session.get(url, headers={"Prefer": 'IdType="ImmutableId"'}, timeout=5)
        no_preference = session.get(url, headers={"Authorization": "Bearer t"}, timeout=5)

    assert no_token.status_code == 401
    assert no_preference.status_code == 400


# Mail: what Exchange sends when a meeting is written (each rule names its source) -----------------------------


def attendees(*addresses):
    return [{"emailAddress": {"address": a}, "type": "required"} for a in addresses]


def test_a_create_with_attendees_sends_the_invitations_at_once(graph):
    # graph:api-reference/v1.0/api/user-post-events.md; DESIGN 5: there is no draft meeting in Graph.
    client, fake = graph()
    invited = attendees("a@contoso.com", "c@fabrikam.example")
    created = client.create_event(MAILBOX, {**meeting(1), "attendees": invited}, "tx-1")
    alone = client.create_event(MAILBOX, {**meeting(2), "attendees": []}, "tx-2")

    assert [(m.to, m.kind, m.event_id, m.by) for m in fake.mails] == [
        ("a@contoso.com", "invitation", created["id"], "api"),
        ("c@fabrikam.example", "invitation", created["id"], "api"),
    ]
    assert fake.writes_to(alone["id"]) == []


def test_an_organizers_patch_mails_every_attendee_and_removed_ones_get_a_cancellation(graph):
    # docs-contrib #6637: no switch suppresses it; DESIGN 8: removed attendees get a cancellation.
    client, fake = graph()
    event = fake.add_event(MAILBOX, {**meeting(1), "attendees": attendees("a@contoso.com", "b@contoso.com")})
    fake.mails.clear()

    client.update_event(MAILBOX, event["id"], {"attendees": attendees("a@contoso.com", "c@fabrikam.example")})
    client.update_event(MAILBOX, event["id"], {"body": {"contentType": "text", "content": "second"}})

    assert [(m.to, m.kind, m.body) for m in fake.mails] == [
        ("b@contoso.com", "cancellation", ""), ("a@contoso.com", "update", ""),
        ("c@fabrikam.example", "invitation", ""),
        ("a@contoso.com", "update", "second"), ("c@fabrikam.example", "update", "second"),
    ]
    assert fake.writes_to(event["id"])[1].attendees == ("a@contoso.com", "c@fabrikam.example")


def test_cancel_is_organizer_only_and_mails_a_cancellation(graph):
    # graph:api-reference/v1.0/api/event-cancel.md: only the organizer can cancel; an attendee gets 400.
    client, fake = graph()
    own = fake.add_event(MAILBOX, {**meeting(1), "attendees": attendees("a@contoso.com")})
    theirs = fake.add_event(MAILBOX, {**meeting(2), "attendees": attendees("a@contoso.com")}, is_organizer=False)
    fake.mails.clear()

    client.cancel_event(MAILBOX, own["id"])
    with pytest.raises(GraphError) as refused:
        client.cancel_event(MAILBOX, theirs["id"])

    assert refused.value.status == 400
    assert [(m.to, m.kind, m.event_id, m.by) for m in fake.mails] == [
        ("a@contoso.com", "cancellation", own["id"], "api")]


def test_what_the_organizer_does_in_outlook_is_mail_by_the_organizer(graph):
    _, fake = graph()
    event = fake.add_event(MAILBOX, {**meeting(1), "attendees": attendees("c@fabrikam.example")})
    fake.outlook_update(MAILBOX, event["id"], {"subject": "Moved"})
    fake.outlook_cancel(MAILBOX, event["id"])

    assert [(m.kind, m.by) for m in fake.mails_to("C@fabrikam.example")] == [
        ("invitation", "organizer"), ("update", "organizer"), ("cancellation", "organizer")]
    assert fake.mails_to("c@fabrikam.example", by="api") == []


# The platform rules of shared/DESIGN.md 8, each pinned with its source -----------------------------------------

ROOM = "room-orion@contoso.com"


def test_all_day_events_come_back_floating_midnight_to_midnight_in_their_own_zone(graph):
    # microsoftgraph/microsoft-graph-docs #1802, #6003; graph:api-reference/v1.0/resources/event.md (isAllDay).
    client, _ = graph()
    created = client.create_event(MAILBOX, {
        "subject": "Fair", "isAllDay": True,
        "start": {"dateTime": "2030-03-05T00:00:00", "timeZone": "Romance Standard Time"},
        "end": {"dateTime": "2030-03-07T00:00:00", "timeZone": "Romance Standard Time"},
    }, transaction_id="t-all-day")

    read = client.get_event(MAILBOX, created["id"])  # the client asks for outlook.timezone="UTC"

    assert read["start"] == {"dateTime": "2030-03-05T00:00:00.0000000", "timeZone": "Romance Standard Time"}
    assert read["end"] == {"dateTime": "2030-03-07T00:00:00.0000000", "timeZone": "Romance Standard Time"}
    # It overlaps the window by its local midnight, not by UTC midnight.
    assert [e["id"] for e in client.calendar_view(MAILBOX, datetime(2030, 3, 4, 23, 30, tzinfo=UTC),
                                                  datetime(2030, 3, 4, 23, 59, tzinfo=UTC))] == [created["id"]]


def test_an_all_day_event_not_at_midnight_or_in_two_zones_is_refused(graph):
    # graph:api-reference/v1.0/resources/event.md, isAllDay: "start and end time must be set to midnight and be in
    # the same time zone".
    client, _ = graph()
    for start, end in ((("2030-03-05T09:00:00", "UTC"), ("2030-03-06T00:00:00", "UTC")),
                       (("2030-03-05T00:00:00", "UTC"), ("2030-03-06T00:00:00", "Romance Standard Time"))):
        with pytest.raises(GraphError) as refused:
            client.create_event(MAILBOX, {"isAllDay": True, "start": {"dateTime": start[0], "timeZone": start[1]},
                                          "end": {"dateTime": end[0], "timeZone": end[1]}}, transaction_id=start[0]
                                + end[1])
        assert refused.value.status == 400


def test_immutable_and_rest_ids_name_the_same_event_and_ews_ids_are_not_graph_ids(graph):
    # graph:concepts/outlook-immutable-id.md: with Prefer: IdType="ImmutableId" Graph answers immutable ids; the
    # regular REST id (Office.js convertToRestId) still names the event. EWS ids use / and +.
    client, fake = graph()
    created = client.create_event(MAILBOX, meeting(1), transaction_id="t-ids")
    rest, ews = fake.rest_id(created["id"]), fake.ews_id(created["id"])
    assert len({created["id"], rest, ews}) == 3

    assert client.get_event(MAILBOX, rest)["id"] == created["id"]
    with pytest.raises(GraphError) as malformed:
        client.get_event(MAILBOX, ews)
    assert (malformed.value.status, malformed.value.code) == (400, "ErrorInvalidIdMalformed")


def test_without_the_immutable_id_preference_graph_answers_regular_rest_ids(graph):
    # graph:concepts/outlook-immutable-id.md: immutable ids only when asked for.
    client, fake = graph(require_immutable_ids=False)
    created = client.create_event(MAILBOX, meeting(1), transaction_id="t-rest")
    url = f"{client.base_url}/users/{MAILBOX}/events/{created['id']}"

    plain = requests.get(url, headers={"Authorization": "Bearer t"}, timeout=5).json()

    assert plain["id"] == fake.rest_id(created["id"]) != created["id"]


def test_translate_exchange_ids_is_delegated_only_on_me_and_needs_user_read_all_app_only(graph):
    # graph:api-reference/v1.0/api/user-translateexchangeids.md (DESIGN 8).
    client, fake = graph(delegated_tokens={"delegated-token": MAILBOX})
    created = client.create_event(MAILBOX, meeting(1), transaction_id="t-translate")
    ews = fake.ews_id(created["id"])

    assert client.translate_ids(MAILBOX, [ews], "ewsId", "restImmutableEntryId") == {ews: created["id"]}
    me = requests.post(f"{client.base_url}/me/translateExchangeIds", timeout=5, json={
        "inputIds": [ews], "sourceIdType": "ewsId", "targetIdType": "restId"},
        headers={"Authorization": "Bearer token-for-app", "Prefer": 'IdType="ImmutableId"'})
    assert me.status_code == 400  # an app-only token has no /me
    delegated = requests.post(f"{client.base_url}/me/translateExchangeIds", timeout=5, json={
        "inputIds": [ews], "sourceIdType": "ewsId", "targetIdType": "restId"},
        headers={"Authorization": "Bearer delegated-token", "Prefer": 'IdType="ImmutableId"'})
    assert delegated.json()["value"] == [{"sourceId": ews, "targetId": fake.rest_id(created["id"])}]

    fake.missing_permissions = {"User.Read.All"}
    with pytest.raises(GraphAuthError) as denied:
        client.translate_ids(MAILBOX, [ews], "ewsId", "restId")
    assert (denied.value.status, denied.value.permission) == (403, "User.Read.All")


@pytest.mark.parametrize("permission, call, code", [
    # graph:api-reference/v1.0/api/organization-get.md; DESIGN 8: 403 Authorization_RequestDenied.
    ("Organization.Read.All", lambda c: c.organization_domains(), "Authorization_RequestDenied"),
    # graph:api-reference/v1.0/api/user-post-events.md: Calendars.ReadWrite.
    ("Calendars.ReadWrite", lambda c: c.create_event(MAILBOX, meeting(1), transaction_id="t"), "ErrorAccessDenied"),
])
def test_each_call_answers_403_without_its_permission_and_the_client_names_it(graph, permission, call, code):
    client, _ = graph(missing_permissions={permission})

    with pytest.raises(GraphAuthError) as denied:
        call(client)

    assert (denied.value.status, denied.value.code, denied.value.permission) == (403, code, permission)
    assert permission in str(denied.value)


def test_a_room_accepts_one_booking_and_declines_an_overlapping_second(graph):
    # Exchange Set-CalendarProcessing -AllowConflicts defaults to $false (DESIGN 8).
    client, fake = graph(rooms=[ROOM])
    booked = {**meeting(1), "attendees": [{"emailAddress": {"address": ROOM}, "type": "resource"}]}

    first = client.create_event(MAILBOX, booked, transaction_id="t-room-1")
    second = client.create_event("bo@contoso.com", booked, transaction_id="t-room-2")

    def room_answer(mailbox, event):
        return client.get_event(mailbox, event["id"])["attendees"][0]["status"]["response"]

    assert (room_answer(MAILBOX, first), room_answer("bo@contoso.com", second)) == ("accepted", "declined")


def test_patching_the_body_of_an_online_meeting_loses_its_join_information(graph):
    # microsoftgraph/microsoft-graph-docs-contrib #3670, #311 (DESIGN 8).
    client, fake = graph()
    created = client.create_event(MAILBOX, {**meeting(1), "isOnlineMeeting": True}, transaction_id="t-online")
    assert created["onlineMeeting"]["joinUrl"] in created["body"]["content"]

    client.update_event(MAILBOX, created["id"], {"body": {"contentType": "text", "content": "New notes"}})

    assert client.get_event(MAILBOX, created["id"])["onlineMeeting"] is None
    assert fake.join_info_lost == [created["id"]]


def test_patch_and_cancel_mail_every_attendee_and_only_the_organizer_may_cancel(graph):
    # docs-contrib #6637 (no switch to suppress the mail); graph:api-reference/v1.0/api/event-cancel.md.
    client, fake = graph()
    created = client.create_event(MAILBOX, meeting(1), transaction_id="t-mail")
    client.update_event(MAILBOX, created["id"], {"location": {"displayName": "Room 2"}})
    client.cancel_event(MAILBOX, created["id"])
    copy = fake.add_event("ann@contoso.com", meeting(2), is_organizer=False)

    assert [m.kind for m in fake.mails_to("ann@contoso.com")] == ["invitation", "update", "cancellation"]
    with pytest.raises(GraphError) as refused:
        client.cancel_event("ann@contoso.com", copy["id"])
    assert refused.value.status == 400


def test_a_batch_runs_4_requests_per_mailbox_and_the_rest_answer_429_mailbox_concurrency(graph):
    # graph:concepts/json-batching.md (20 per batch); graph:concepts/throttling-limits.md and DESIGN 8 (4 per mailbox).
    client, _ = graph(batch_retry_after="3")
    ids = [client.create_event(MAILBOX, meeting(n), transaction_id=f"t-b{n}")["id"] for n in range(6)]
    url = f"{client.base_url}/$batch"
    body = {"requests": [{"id": str(n), "method": "GET", "url": f"/users/{MAILBOX}/events/{i}",
                          "headers": {"Prefer": 'IdType="ImmutableId"'}} for n, i in enumerate(ids)]}

    answer = requests.post(url, json=body, timeout=5, headers={
        "Authorization": "Bearer t", "Prefer": 'IdType="ImmutableId"'}).json()

    statuses = {r["id"]: r["status"] for r in answer["responses"]}
    assert statuses == {"0": 200, "1": 200, "2": 200, "3": 200, "4": 429, "5": 429}
    throttled = next(r for r in answer["responses"] if r["id"] == "4")
    assert throttled["headers"]["Retry-After"] == "3" and "MailboxConcurrency" in throttled["body"]["error"]["message"]
    # The client sends 4 per batch, so none is refused.
    assert set(client.batch_get(MAILBOX, [event_path(MAILBOX, i) for i in ids])) == {
        event_path(MAILBOX, i) for i in ids}


def test_a_series_is_one_master_in_events_and_occurrences_with_own_ids_in_calendar_view_and_delta(graph):
    # graph:api-reference/v1.0/resources/event.md (type, iCalUId differs per occurrence); DESIGN 8.
    client, fake = graph()
    series = fake.add_event(MAILBOX, {**meeting(1), "recurrence": {
        "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"]},
        "range": {"type": "numbered", "startDate": "2030-03-04", "numberOfOccurrences": 3}}})
    assert series["type"] == "seriesMaster"

    seen = client.calendar_view(MAILBOX, *WINDOW)
    delta, _ = client.calendar_view_delta(MAILBOX, *WINDOW, None)

    assert [e["start"]["dateTime"][:10] for e in seen] == ["2030-03-04", "2030-03-11", "2030-03-18"]
    assert {e["type"] for e in seen} == {"occurrence"} and {e["seriesMasterId"] for e in seen} == {series["id"]}
    assert len({e["id"] for e in seen} | {series["id"]}) == 4 and len({e["iCalUId"] for e in seen}) == 3
    assert sorted(e["id"] for e in delta) == sorted(e["id"] for e in seen)
    moved = fake.outlook_update(MAILBOX, seen[1]["id"], {"location": {"displayName": "Elsewhere"}})
    assert moved["type"] == "exception"
    assert client.get_event(MAILBOX, seen[1]["id"])["location"]["displayName"] == "Elsewhere"
    assert [e["type"] for e in client.calendar_view(MAILBOX, *WINDOW)] == ["occurrence", "exception", "occurrence"]


def test_a_delta_round_begins_with_an_empty_page_and_an_expired_link_answers_410(graph):
    # graph:api-reference/v1.0/api/event-delta.md; DESIGN 8 (SyncStateNotFound).
    client, fake = graph()
    client.create_event(MAILBOX, meeting(1), transaction_id="t-delta")
    url = f"{client.base_url}/users/{MAILBOX}/calendarView/delta?startDateTime=2030-03-03T09:00:00Z" \
          "&endDateTime=2030-04-03T09:00:00Z"
    first = requests.get(url, timeout=5, headers={"Authorization": "Bearer t",
                                                  "Prefer": 'IdType="ImmutableId"'}).json()
    assert first["value"] == [] and "@odata.nextLink" in first

    _, link = client.calendar_view_delta(MAILBOX, *WINDOW, None)
    fake.expire_delta_links()
    with pytest.raises(GraphDeltaExpired) as expired:
        client.calendar_view_delta(MAILBOX, *WINDOW, link)
    assert (expired.value.status, expired.value.code) == (410, "SyncStateNotFound")


def test_subscriptions_last_at_most_10080_minutes_and_lifecycle_events_need_a_lifecycle_url(graph):
    # graph:api-reference/v1.0/resources/subscription.md; graph:concepts/change-notifications-lifecycle-events.md.
    client, fake = graph()
    fake.clock = lambda: DAY
    with pytest.raises(GraphError) as too_long:
        client.create_subscription(MAILBOX, "https://crm.example/n", "s", DAY + timedelta(minutes=10081))
    assert too_long.value.status == 400

    plain = client.create_subscription(MAILBOX, "https://crm.example/n", "s", DAY + timedelta(minutes=10080))
    with_url = client.create_subscription(MAILBOX, "https://crm.example/n", "s", DAY + timedelta(days=6),
                                          lifecycle_url="https://crm.example/n")

    assert fake.lifecycle_notification(plain["id"], "missed") is None
    missed = fake.lifecycle_notification(with_url["id"], "missed")["value"][0]
    assert (missed["lifecycleEvent"], missed["subscriptionId"]) == ("missed", with_url["id"])
    assert missed["clientState"] == "s"
    fake.lifecycle_notification(with_url["id"], "subscriptionRemoved")
    assert [s["id"] for s in fake.subscriptions()] == [plain["id"]]
