import json
import logging
import random
import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
import requests
import responses

from crmbridge.graph import (
    GraphAuthError,
    GraphClient,
    GraphDeltaExpired,
    GraphError,
    GraphNotFound,
    GraphThrottled,
    GraphUnavailable,
    event_path,
)

BASE = "https://graph.microsoft.com/v1.0"
MAILBOX = "olivia@contoso.com"
USER = f"{BASE}/users/{MAILBOX}"
PROP = "String {00020329-0000-0000-C000-000000000046} Name crmActivityId"
PROP_Q = "String%20%7B00020329-0000-0000-C000-000000000046%7D%20Name%20crmActivityId"
WINDOW_Q = "startDateTime=2030-03-01T00%3A00%3A00Z&endDateTime=2030-04-01T00%3A00%3A00Z"
START = datetime(2030, 3, 1, tzinfo=UTC)
END = datetime(2030, 4, 1, tzinfo=UTC)


class UpperBoundJitter(random.Random):
    """Makes 'full jitter' deterministic: always the top of the window."""

    def uniform(self, a: float, b: float) -> float:
        return b


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def graph(sleeps):
    client = GraphClient(
        lambda mailbox: f"token-for-{mailbox or 'app'}",
        max_retries=3,
        backoff_base=0.5,
        backoff_cap=2,
        sleep=sleeps.append,
        rng=UpperBoundJitter(),
    )
    yield client
    client.close()


def sent(rsps, index=0):
    return rsps.calls[index].request


def body_of(request):
    return json.loads(request.body)


# Request shapes ------------------------------------------------------------------------------------


def test_get_event_sends_token_immutable_id_preference_and_timeout(rsps, graph):
    rsps.get(f"{USER}/events/AAMk=1", json={"id": "AAMk=1"})

    assert graph.get_event(MAILBOX, "AAMk=1") == {"id": "AAMk=1"}

    request = sent(rsps)
    assert request.url == f"{USER}/events/AAMk=1"
    assert request.headers["Authorization"] == f"Bearer token-for-{MAILBOX}"
    assert request.headers["Prefer"] == 'IdType="ImmutableId", outlook.timezone="UTC"'
    assert request.req_kwargs["timeout"] == (3.05, 15)
    assert graph.requests_sent == 1


def test_get_event_with_select_and_expanded_property_builds_the_query(rsps, graph):
    rsps.get(f"{USER}/events/AAMk%2F1", json={"id": "AAMk/1"})

    graph.get_event(MAILBOX, "AAMk/1", select=["subject", "start"], expand_property_ids=[PROP])

    assert sent(rsps).url == (
        f"{USER}/events/AAMk%2F1?$select=subject,start"
        f"&$expand=singleValueExtendedProperties($filter%3Did%20eq%20'{PROP_Q}')"
    )


def test_create_event_puts_the_transaction_id_in_the_body(rsps, graph):
    rsps.post(f"{USER}/events", status=201, json={"id": "new", "transactionId": "crm-42-v1"})
    event = {"subject": "Kick-off", "attendees": [{"emailAddress": {"address": "ann@contoso.com"}}]}

    created = graph.create_event(MAILBOX, event, transaction_id="crm-42-v1")

    assert created["id"] == "new"
    request = sent(rsps)
    assert request.method == "POST"
    assert body_of(request) == {**event, "transactionId": "crm-42-v1"}
    assert request.headers["Content-Type"] == "application/json"
    assert 'IdType="ImmutableId"' in request.headers["Prefer"]
    assert "transactionId" not in event


def test_update_event_patches_only_the_given_fields(rsps, graph):
    rsps.patch(f"{USER}/events/AAMk1", json={"id": "AAMk1", "subject": "New"})

    assert graph.update_event(MAILBOX, "AAMk1", {"subject": "New"})["subject"] == "New"

    assert sent(rsps).method == "PATCH"
    assert body_of(sent(rsps)) == {"subject": "New"}


def test_cancel_event_posts_to_cancel_with_the_comment(rsps, graph):
    rsps.post(f"{USER}/events/AAMk1/cancel", status=202)

    assert graph.cancel_event(MAILBOX, "AAMk1", comment="Moved to next week") is None

    assert body_of(sent(rsps)) == {"comment": "Moved to next week"}


def test_find_by_extended_property_filters_expands_and_doubles_single_quotes(rsps, graph):
    first = (
        f"{USER}/events?$filter=singleValueExtendedProperties%2FAny(ep%3A%20ep%2Fid%20eq%20'{PROP_Q}'"
        f"%20and%20ep%2Fvalue%20eq%20'O''Brien%20%26%20Co')"
        f"&$expand=singleValueExtendedProperties($filter%3Did%20eq%20'{PROP_Q}')"
    )
    second = f"{USER}/events?$skip=1"
    rsps.get(first, json={"value": [{"id": "a"}], "@odata.nextLink": second})
    rsps.get(second, json={"value": [{"id": "b"}]})

    found = graph.find_events_by_extended_property(MAILBOX, PROP, "O'Brien & Co")

    assert [e["id"] for e in found] == ["a", "b"]
    assert sent(rsps, 0).url == first
    assert sent(rsps, 1).url == second


def test_calendar_view_follows_next_links_and_sends_utc_window(rsps, graph):
    first = f"{USER}/calendarView?{WINDOW_Q}&$top=500"
    rsps.get(first, json={"value": [{"id": "1"}, {"id": "2"}], "@odata.nextLink": f"{first}&$skip=2"})
    rsps.get(f"{first}&$skip=2", json={"value": [{"id": "3"}]})

    plus_one = timezone(timedelta(hours=1))
    events = graph.calendar_view(MAILBOX, START.astimezone(plus_one), END)

    assert [e["id"] for e in events] == ["1", "2", "3"]
    assert sent(rsps, 0).url == first
    assert sent(rsps, 1).url == f"{first}&$skip=2"


def test_calendar_view_can_expand_several_properties(rsps, graph):
    rsps.get(f"{USER}/calendarView", json={"value": []})

    graph.calendar_view(MAILBOX, START, END, expand_property_ids=[PROP, "String {x} Name y"])

    assert sent(rsps).url.endswith(
        f"&$expand=singleValueExtendedProperties($filter%3Did%20eq%20'{PROP_Q}'"
        f"%20or%20id%20eq%20'String%20%7Bx%7D%20Name%20y')"
    )


def test_naive_datetimes_are_refused(graph):
    with pytest.raises(ValueError, match="timezone-aware"):
        graph.calendar_view(MAILBOX, datetime(2030, 3, 1), END)


def test_delta_first_round_uses_the_window_then_pages_to_the_delta_link(rsps, graph):
    first = f"{USER}/calendarView/delta?{WINDOW_Q}"
    rsps.get(
        first, json={"value": [{"id": "1"}], "@odata.nextLink": f"{USER}/calendarView/delta?$skiptoken=s1"}
    )
    rsps.get(
        f"{USER}/calendarView/delta?$skiptoken=s1",
        json={"value": [{"id": "2"}], "@odata.deltaLink": f"{USER}/calendarView/delta?$deltatoken=d1"},
    )

    changes, link = graph.calendar_view_delta(MAILBOX, START, END, delta_link=None)

    assert [c["id"] for c in changes] == ["1", "2"]
    assert link == f"{USER}/calendarView/delta?$deltatoken=d1"
    assert sent(rsps, 0).url == first
    assert sent(rsps, 0).headers["Prefer"] == (
        'IdType="ImmutableId", outlook.timezone="UTC", odata.maxpagesize=100'
    )
    assert "$select" not in sent(rsps, 0).url and "$expand" not in sent(rsps, 0).url


def test_delta_follow_up_calls_the_stored_link_and_keeps_removed_entries(rsps, graph):
    link = f"{USER}/calendarView/delta?$deltatoken=d1"
    removed = {"id": "gone", "@removed": {"reason": "deleted"}}
    rsps.get(link, json={"value": [removed], "@odata.deltaLink": f"{USER}/calendarView/delta?$deltatoken=d2"})

    changes, new_link = graph.calendar_view_delta(MAILBOX, START, END, delta_link=link)

    assert changes == [removed]
    assert new_link.endswith("$deltatoken=d2")
    assert sent(rsps).url == link


def test_an_expired_delta_link_raises_delta_expired(rsps, graph):
    link = f"{USER}/calendarView/delta?$deltatoken=old"
    rsps.get(link, status=410, json={"error": {"code": "SyncStateNotFound", "message": "gone"}})

    with pytest.raises(GraphDeltaExpired):
        graph.calendar_view_delta(MAILBOX, START, END, delta_link=link)


def test_a_paging_link_to_another_host_is_refused_before_sending_the_token(rsps, graph):
    rsps.get(f"{USER}/calendarView", json={"value": [], "@odata.nextLink": "https://evil.example/v1.0/x"})

    with pytest.raises(GraphError, match="outside"):
        graph.calendar_view(MAILBOX, START, END)
    assert len(rsps.calls) == 1


def test_organization_domains_use_the_app_token_and_collect_verified_names(rsps, graph):
    rsps.get(
        f"{BASE}/organization?$select=verifiedDomains",
        json={"value": [{"verifiedDomains": [{"name": "contoso.com"}, {"name": "contoso.onmicrosoft.com"}]}]},
    )

    assert graph.organization_domains() == ["contoso.com", "contoso.onmicrosoft.com"]
    assert sent(rsps).headers["Authorization"] == "Bearer token-for-app"


def test_subscription_lifecycle_requests(rsps, graph):
    expires = datetime(2030, 3, 3, 12, 0, tzinfo=UTC)
    rsps.post(f"{BASE}/subscriptions", status=201, json={"id": "sub-1"})
    rsps.patch(f"{BASE}/subscriptions/sub-1", json={"id": "sub-1"})
    rsps.delete(f"{BASE}/subscriptions/sub-1", status=204)

    assert (
        graph.create_subscription(MAILBOX, "https://crm.example/notify", "s3cret", expires)["id"] == "sub-1"
    )
    graph.renew_subscription("sub-1", expires + timedelta(days=2), mailbox=MAILBOX)
    graph.delete_subscription("sub-1")

    assert body_of(sent(rsps, 0)) == {
        "changeType": "created,updated,deleted",
        "notificationUrl": "https://crm.example/notify",
        "resource": f"users/{MAILBOX}/events",
        "expirationDateTime": "2030-03-03T12:00:00Z",
        "clientState": "s3cret",
    }
    assert body_of(sent(rsps, 1)) == {"expirationDateTime": "2030-03-05T12:00:00Z"}
    assert sent(rsps, 1).headers["Authorization"] == f"Bearer token-for-{MAILBOX}"
    assert sent(rsps, 2).headers["Authorization"] == "Bearer token-for-app"


def test_client_state_longer_than_128_characters_is_refused(graph):
    with pytest.raises(ValueError, match="128"):
        graph.create_subscription(MAILBOX, "https://crm.example/n", "x" * 129, END)


# Batching ------------------------------------------------------------------------------------------


def batch_echo(request):
    """A $batch endpoint that answers every item 200 with its own url."""
    items = json.loads(request.body)["requests"]
    answers = [{"id": i["id"], "status": 200, "headers": {}, "body": {"url": i["url"]}} for i in items]
    return 200, {}, json.dumps({"responses": answers})


def test_batch_get_of_one_mailbox_sends_4_per_post_as_outlook_runs_4_per_mailbox_at_once(rsps, graph):
    # graph:concepts/throttling-limits.md (Outlook): 4 concurrent requests per mailbox, inside $batch too (DESIGN 8).
    rsps.add_callback(responses.POST, f"{BASE}/$batch", callback=batch_echo)
    paths = [event_path(MAILBOX, f"id{n}", select=["changeKey"]) for n in range(18)]

    results = graph.batch_get(MAILBOX, paths)

    assert [len(body_of(call.request)["requests"]) for call in rsps.calls] == [4, 4, 4, 4, 2]
    assert results == {path: {"url": path} for path in paths}
    first_item = body_of(sent(rsps))["requests"][0]
    assert first_item == {
        "id": "0",
        "method": "GET",
        "url": f"/users/{MAILBOX}/events/id0?$select=changeKey",
        "headers": {"Prefer": 'IdType="ImmutableId", outlook.timezone="UTC"'},
    }


def test_batch_get_retries_throttled_items_after_their_retry_after(rsps, graph, sleeps):
    answers = iter(
        [
            [
                {"id": "0", "status": 200, "body": {"n": 0}},
                {"id": "1", "status": 429, "headers": {"Retry-After": "3"}, "body": {"error": {"code": "x"}}},
                {"id": "2", "status": 503, "headers": {}, "body": None},
            ],
            [{"id": "0", "status": 200, "body": {"n": 1}}, {"id": "1", "status": 200, "body": {"n": 2}}],
        ]
    )
    rsps.add_callback(
        responses.POST,
        f"{BASE}/$batch",
        callback=lambda r: (200, {}, json.dumps({"responses": next(answers)})),
    )

    results = graph.batch_get(MAILBOX, ["/a", "/b", "/c"])

    assert results == {"/a": {"n": 0}, "/b": {"n": 1}, "/c": {"n": 2}}
    assert [item["url"] for item in body_of(sent(rsps, 1))["requests"]] == ["/b", "/c"]
    assert sleeps == [3.0]


def test_batch_get_raises_the_first_failed_item_or_returns_errors_when_asked(rsps, graph):
    answer = {
        "responses": [
            {"id": "0", "status": 404, "body": {"error": {"code": "ErrorItemNotFound", "message": "gone"}}},
            {"id": "1", "status": 200, "body": {"ok": True}},
        ]
    }
    rsps.post(f"{BASE}/$batch", json=answer)
    rsps.post(f"{BASE}/$batch", json=answer)

    with pytest.raises(GraphNotFound):
        graph.batch_get(MAILBOX, ["/gone", "/here"])
    results = graph.batch_get(MAILBOX, ["/gone", "/here"], return_errors=True)

    assert isinstance(results["/gone"], GraphNotFound)
    assert results["/gone"].code == "ErrorItemNotFound"
    assert results["/here"] == {"ok": True}


def test_batch_items_that_stay_throttled_end_as_graph_throttled(rsps, graph, sleeps):
    throttled = {"responses": [{"id": "0", "status": 429, "headers": {"retry-after": "1"}, "body": None}]}
    for _ in range(4):
        rsps.post(f"{BASE}/$batch", json=throttled)

    results = graph.batch_get(MAILBOX, ["/busy"], return_errors=True)

    assert isinstance(results["/busy"], GraphThrottled)
    assert sleeps == [1.0, 1.0, 1.0]


# Retries and errors --------------------------------------------------------------------------------


def test_429_waits_the_retry_after_seconds_then_succeeds(rsps, graph, sleeps):
    rsps.get(
        f"{USER}/events/e", status=429, headers={"Retry-After": "7"}, json={"error": {"code": "Throttled"}}
    )
    rsps.get(f"{USER}/events/e", json={"id": "e"})

    assert graph.get_event(MAILBOX, "e") == {"id": "e"}
    assert sleeps == [7.0]
    assert graph.requests_sent == 2


def test_503_backs_off_exponentially_with_jitter_then_succeeds(rsps, graph, sleeps):
    rsps.get(f"{USER}/events/e", status=503)
    rsps.get(f"{USER}/events/e", status=503)
    rsps.get(f"{USER}/events/e", json={"id": "e"})

    assert graph.get_event(MAILBOX, "e")["id"] == "e"
    assert sleeps == [0.5, 1.0]


def test_a_connection_error_is_retried(rsps, graph, sleeps):
    rsps.get(f"{USER}/events/e", body=requests.ConnectionError("reset"))
    rsps.get(f"{USER}/events/e", json={"id": "e"})

    assert graph.get_event(MAILBOX, "e")["id"] == "e"
    assert len(sleeps) == 1


def test_a_create_retried_after_a_timeout_reuses_the_transaction_id(rsps, graph):
    rsps.post(f"{USER}/events", body=requests.ReadTimeout("slow"))
    rsps.post(f"{USER}/events", status=201, json={"id": "new"})

    graph.create_event(MAILBOX, {"subject": "s"}, transaction_id="t-1")

    assert [body_of(call.request)["transactionId"] for call in rsps.calls] == ["t-1", "t-1"]


def test_unavailable_after_every_retry_raises_graph_unavailable(rsps, graph, sleeps):
    for _ in range(4):
        rsps.get(
            f"{USER}/events/e", status=503, json={"error": {"code": "ServiceUnavailable", "message": "m"}}
        )

    with pytest.raises(GraphUnavailable) as raised:
        graph.get_event(MAILBOX, "e")

    assert (raised.value.status, raised.value.code) == (503, "ServiceUnavailable")
    assert sleeps == [0.5, 1.0, 2.0]  # capped at backoff_cap
    assert graph.requests_sent == 4


def test_timeouts_after_every_retry_raise_graph_unavailable_without_status(rsps, graph):
    for _ in range(4):
        rsps.get(f"{USER}/events/e", body=requests.ConnectTimeout("no route"))

    with pytest.raises(GraphUnavailable) as raised:
        graph.get_event(MAILBOX, "e")
    assert raised.value.status is None


def test_throttled_after_every_retry_raises_graph_throttled(rsps, graph, sleeps):
    for _ in range(4):
        rsps.get(f"{USER}/events/e", status=429, headers={"Retry-After": "2"})

    with pytest.raises(GraphThrottled) as raised:
        graph.get_event(MAILBOX, "e")
    assert raised.value.retry_after == 2.0
    assert sleeps == [2.0, 2.0, 2.0]


@pytest.mark.parametrize(
    ("status", "error_class"),
    [
        (404, GraphNotFound),
        (401, GraphAuthError),
        (403, GraphAuthError),
        (400, GraphError),
        (501, GraphUnavailable),
    ],
)
def test_errors_that_retrying_cannot_fix_are_raised_at_once(rsps, graph, sleeps, status, error_class):
    rsps.get(f"{USER}/events/e", status=status, json={"error": {"code": "Code", "message": "Message"}})

    with pytest.raises(error_class) as raised:
        graph.get_event(MAILBOX, "e")

    assert (raised.value.status, raised.value.code, raised.value.message) == (status, "Code", "Message")
    assert sleeps == []


def test_retry_logs_name_neither_the_token_nor_the_event(rsps, graph, caplog):
    rsps.post(f"{USER}/events", status=503)
    rsps.post(f"{USER}/events", status=201, json={"id": "new"})

    with caplog.at_level(logging.DEBUG):
        graph.create_event(MAILBOX, {"subject": "Secret merger talk"}, transaction_id="t")

    assert caplog.records
    assert "token-for" not in caplog.text and "Secret merger" not in caplog.text


# Concurrency ---------------------------------------------------------------------------------------


def test_at_most_four_requests_per_mailbox_are_in_flight_and_other_mailboxes_are_not_blocked(rsps, graph):
    lock = threading.Condition()
    in_flight = {"a@contoso.com": 0, "b@contoso.com": 0}
    peak = dict(in_flight)
    release = threading.Event()

    def slow_transport(request):
        mailbox = request.url.split("/users/")[1].split("/")[0]
        with lock:
            in_flight[mailbox] += 1
            peak[mailbox] = max(peak[mailbox], in_flight[mailbox])
            lock.notify_all()
        if mailbox == "a@contoso.com":
            release.wait(timeout=10)
        with lock:
            in_flight[mailbox] -= 1
        return 200, {}, json.dumps({"id": "e"})

    rsps.add_callback(responses.GET, f"{BASE}/users/a@contoso.com/events/e", callback=slow_transport)
    rsps.add_callback(responses.GET, f"{BASE}/users/b@contoso.com/events/e", callback=slow_transport)
    results = []
    workers = [
        threading.Thread(target=lambda: results.append(graph.get_event("a@contoso.com", "e")))
        for _ in range(8)
    ]
    for worker in workers:
        worker.start()
    try:
        with lock:
            assert lock.wait_for(lambda: in_flight["a@contoso.com"] >= 4, timeout=10)

        assert graph.get_event("b@contoso.com", "e") == {"id": "e"}
        assert peak["a@contoso.com"] == 4
    finally:
        release.set()
        for worker in workers:
            worker.join(timeout=10)

    assert len(results) == 8
    assert peak == {"a@contoso.com": 4, "b@contoso.com": 1}
