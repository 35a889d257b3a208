"""Webhooks: registered endpoints, signed deliveries from the outbox, retried with backoff; a receiver that fails,
hangs and recovers loses no event and never gets one again after acknowledging it; a dead endpoint holds up no
other; one tenant's events never reach another's endpoint."""

import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
import responses
from conftest import Api, activity_json, token_for
from entra_fakes import app_token, entra_config, serve_keys
from sqlalchemy import select
from webhook_receiver import Receiver, serve

from crmbridge import create_app, db, migrations
from crmbridge.domain import webhook_signing
from crmbridge.domain.errors import InvalidInput
from crmbridge.integration import webhooks
from crmbridge.models import WebhookDeliveryRow

ROLE = "Activities.ReadWrite.All"
FAST = (0.5, 0.5)  # the sender's connect and read timeouts in these tests; the hanging receiver sleeps 1.5 s


@pytest.fixture
def crm(app, client):
    return Api(client, token_for(app, "crm-sync@contoso.com", (ROLE,)))


@pytest.fixture
def receiver():
    hooks = Receiver()
    url, stop = serve(hooks)
    hooks.url = url
    yield hooks
    stop()


def register(api, url, **extra):
    response = api.post("/api/webhooks", json={"url": url, **extra})
    assert response.status_code == 201, response.json
    return response.json


def make_changes(crm, count, prefix="A"):
    for n in range(count):
        answer = crm.put(f"/api/activities/by-external-id/crm/{prefix}-{n}",
                         json=activity_json(organizerEmail="anna@contoso.com"))
        assert answer.status_code == 201


def deliver(app, **options):
    with app.app_context():
        return webhooks.deliver_due(db.session(), timeout=FAST, **options)


def deliveries(app):
    with app.app_context():
        rows = db.session().scalars(select(WebhookDeliveryRow).order_by(WebhookDeliveryRow.id)).all()
        return [SimpleNamespace(endpoint_id=r.endpoint_id, state=r.state, attempts=r.attempts) for r in rows]


def feed_ids(crm):
    return [item["id"] for item in crm.get("/api/changes?limit=500").json["items"]]


# Signing --------------------------------------------------------------------------------------------------------


def test_a_signature_verifies_only_for_its_body_secret_and_time():
    secret, body = webhook_signing.new_secret(), b'{"id":"evt_1"}'
    header = webhook_signing.sign(secret, body, timestamp=1_800_000_000)
    assert webhook_signing.verify(secret, header, body, now=1_800_000_100) == 1_800_000_000
    for wrong in ((secret, header, body + b" "), ("whsec_other", header, body), (secret, "t=1800000000", body),
                  (secret, None, body), (secret, header.replace("t=1800000000", "t=1800000001"), body)):
        with pytest.raises(webhook_signing.SignatureError):
            webhook_signing.verify(*wrong, now=1_800_000_100)
    with pytest.raises(webhook_signing.SignatureError):  # replayed much later
        webhook_signing.verify(secret, header, body, now=1_800_000_000 + 301)


def test_a_header_with_several_signatures_verifies_with_either_secret():
    old, new, body = "whsec_old", "whsec_new", b"{}"
    header = f"t=1700000000,v1={webhook_signing.signature(old, 1700000000, body)}," \
             f"v1={webhook_signing.signature(new, 1700000000, body)}"
    for secret in (old, new):
        assert webhook_signing.verify(secret, header, body, now=1700000000)


# Endpoints ------------------------------------------------------------------------------------------------------


def test_registering_an_endpoint_shows_its_secret_once(crm, anna):
    created = register(crm, "https://crm.example.com/hooks", events=["customer_meeting.drifted"])
    assert created["secret"].startswith("whsec_") and created["events"] == ["customer_meeting.drifted"]
    listed = crm.get("/api/webhooks").json["items"]
    assert [item["url"] for item in listed] == ["https://crm.example.com/hooks"]
    assert "secret" not in listed[0] and "secret" not in crm.get(f"/api/webhooks/{created['id']}").json
    assert anna.get("/api/webhooks").status_code == 403
    assert crm.delete(f"/api/webhooks/{created['id']}").status_code == 204
    assert crm.get("/api/webhooks").json["items"] == []


@pytest.mark.parametrize("url", ["http://crm.example.com/hooks", "ftp://crm.example.com", "https://", "hooks"])
def test_only_https_endpoints_are_accepted(crm, url):
    response = crm.post("/api/webhooks", json={"url": url})
    assert response.status_code == 422 and "url" in response.json["errors"]


def test_production_refuses_plain_http_even_on_loopback(app):
    from crmbridge.auth.caller import Caller

    caller = Caller(kind="app", email=None, subject="crm", roles=frozenset({ROLE}))
    with app.app_context(), pytest.raises(InvalidInput):
        webhooks.create_endpoint(db.session(), caller, {"url": "http://127.0.0.1:9/x"}, allow_http_loopback=False)


def test_unknown_event_types_are_refused(crm):
    assert crm.post("/api/webhooks", json={"url": "https://x.example/h", "events": ["nope"]}).status_code == 422


# Delivery -------------------------------------------------------------------------------------------------------


def test_a_failing_hanging_then_recovering_receiver_gets_every_event_once_acknowledged(app, crm, receiver):
    endpoint = register(crm, receiver.url)
    receiver.secret = endpoint["secret"]
    receiver.script = ["fail", "fail", "hang", "fail"]
    make_changes(crm, 6)
    expected = feed_ids(crm)
    assert len(expected) == 6

    runs = 0
    while any(d.state == "pending" for d in deliveries(app)) or runs == 0:
        runs += 1
        assert runs <= 12, "deliveries never settled"
        deliver(app, retry_now=True)

    assert sorted(receiver.acknowledged) == sorted(expected)
    assert receiver.after_ack == {}  # nothing came again once acknowledged
    assert receiver.bad_signatures == 0
    assert len(receiver.received) == 6 + 4  # one extra try per scripted failure
    assert {d.state for d in deliveries(app)} == {"delivered"}
    body = receiver.bodies[expected[0]]
    assert body["type"] == "activity.created" and body["activity"]["externalId"] == "A-0"
    assert "internalNotes" not in str(body)
    assert crm.get(f"/api/webhooks/{endpoint['id']}").json["deliveries"] == {"pending": 0, "delivered": 6,
                                                                            "failed": 0}


def test_a_failed_delivery_waits_for_its_backoff(app, crm, receiver):
    endpoint = register(crm, receiver.url)
    receiver.secret = endpoint["secret"]
    receiver.script = ["fail"]
    make_changes(crm, 2)
    first = deliver(app)
    assert (first.delivered, first.failed, first.postponed) == (0, 1, 1)
    assert deliver(app).delivered == 0  # nothing due yet: the endpoint backs off
    later = deliver(app, at=datetime.now(UTC) + timedelta(seconds=webhooks.RETRY_BASE_SECONDS + 1))
    assert later.delivered == 2
    assert receiver.after_ack == {} and len(receiver.acknowledged) == 2


def test_a_dead_endpoint_holds_up_no_other_endpoint(app, crm, receiver):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        dead_url = f"http://127.0.0.1:{probe.getsockname()[1]}/gone"
    register(crm, dead_url)
    alive = register(crm, receiver.url)
    receiver.secret = alive["secret"]
    make_changes(crm, 5)

    report = deliver(app)

    assert report.delivered == 5 and report.failed == 1 and report.postponed == 4
    assert len(receiver.acknowledged) == 5
    dead = [d for d in deliveries(app) if d.endpoint_id != alive["id"]]
    assert sum(d.attempts for d in dead) == 1  # one try per run, not one timeout per event
    assert all(d.state == "pending" for d in dead)


def test_a_delivery_that_runs_out_of_retries_is_kept_and_can_be_sent_again(app, crm, receiver):
    endpoint = register(crm, receiver.url)
    receiver.secret = endpoint["secret"]
    receiver.script = ["fail"] * webhooks.MAX_ATTEMPTS
    make_changes(crm, 1)
    for _ in range(webhooks.MAX_ATTEMPTS):
        deliver(app, retry_now=True)
    assert [d.state for d in deliveries(app)] == ["failed"]
    with app.app_context():
        assert webhooks.retry_failed(db.session()) == 1
    deliver(app)
    assert [d.state for d in deliveries(app)] == ["delivered"] and len(receiver.acknowledged) == 1


def test_an_endpoint_gets_only_the_types_it_asked_for(app, crm, receiver):
    endpoint = register(crm, receiver.url, events=["activity.deleted"])
    receiver.secret = endpoint["secret"]
    make_changes(crm, 2)
    crm.delete("/api/activities/by-external-id/crm/A-1")
    deliver(app)
    assert [receiver.bodies[e]["type"] for e in receiver.acknowledged] == ["activity.deleted"]


def test_one_tenants_events_never_reach_another_tenants_endpoint(app, client, crm, receiver):
    other = Api(client, token_for(app, "crm@fabrikam.example", (ROLE,), tenant="tenant-b"))
    theirs = register(other, receiver.url)
    receiver.secret = theirs["secret"]
    make_changes(crm, 3)  # the default tenant's
    other.put("/api/activities/by-external-id/crm/F-1", json=activity_json(organizerEmail="olga@fabrikam.example"))
    deliver(app)
    assert [receiver.bodies[e]["activity"]["organizerEmail"] for e in receiver.acknowledged] == [
        "olga@fabrikam.example"]
    assert other.get("/api/webhooks").json["items"][0]["id"] == theirs["id"]
    assert crm.get("/api/webhooks").json["items"] == []
    assert crm.delete(f"/api/webhooks/{theirs['id']}").status_code == 404


def test_the_deliver_command_sends_what_is_due(app, crm, receiver, runner):
    endpoint = register(crm, receiver.url)
    receiver.secret = endpoint["secret"]
    make_changes(crm, 2)
    result = runner.invoke(args=["webhooks", "deliver"])
    assert result.exit_code == 0, result.output
    assert "2 delivered" in result.output and len(receiver.acknowledged) == 2


def test_webhooks_through_the_integrations_app_only_token(database_url, receiver):
    migrations.upgrade(database_url)
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "ORG_DOMAINS": ["contoso.com"],
                      "SECRET_KEY": "test-secret-key", **entra_config()})
    client = app.test_client()
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        serve_keys(rsps)
        crm = Api(client, app_token())
        endpoint = register(crm, receiver.url)
        assert crm.post("/api/activities", json=activity_json(organizerEmail="anna@contoso.com")).status_code == 201
    receiver.secret = endpoint["secret"]
    deliver(app)
    assert len(receiver.acknowledged) == 1 and receiver.bad_signatures == 0
    assert receiver.bodies[receiver.acknowledged[0]]["actor"]["kind"] == "integration"
    db.engine(app).dispose()


def test_the_verification_example_in_the_integration_guide_accepts_our_signatures():
    guide = (Path(__file__).resolve().parents[2] / "docs" / "integrating-a-crm.md").read_text()
    code = guide.split("### Verifying a delivery (Python)", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    namespace = {}
    exec(code, namespace)  # noqa: S102 - our own documentation
    secret, body = webhook_signing.new_secret(), b'{"id":"evt_1"}'
    namespace["verify"](secret, webhook_signing.sign(secret, body), body)
    with pytest.raises(ValueError):
        namespace["verify"](secret, webhook_signing.sign("whsec_other", body), body)
