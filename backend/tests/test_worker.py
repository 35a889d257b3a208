"""``crmbridge worker``: the API never waits on Graph for the internal meeting; workers (separate processes, as in
production) run the outbox and the scheduled jobs, several of them safely on one PostgreSQL database.

The multi-worker test needs PostgreSQL (SQLite takes one worker): it is marked ``postgres`` and runs in the
PostgreSQL pass of ``scripts/test`` (TEST_DATABASE_URL), which CI cannot do without.
"""

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import responses
import sqlalchemy as sa
from conftest import Api, activity_json, token_for
from fake_graph import start_fake_graph
from webhook_receiver import Receiver, serve

from crmbridge import db
from crmbridge.graph import GraphClient
from crmbridge.graph import setup as graph_setup
from crmbridge.graph.linking import CRM_ACTIVITY_PROPERTY
from crmbridge.graph.worker import Locks, Worker, WorkerRefused
from crmbridge.models import MeetingLinkRow, ScheduledRunRow, SyncJobRow

WORKER = Path(__file__).with_name("worker_process.py")
DAY = (datetime.now(UTC) + timedelta(days=5)).replace(hour=8, minute=0, second=0, microsecond=0)
PATIENCE = 300  # seconds a test waits for workers before it fails (a guard against hanging, not a measurement)


def upcoming(n: int, **overrides) -> dict:
    start = DAY + timedelta(hours=n)
    return activity_json(start=start.isoformat(), end=(start + timedelta(minutes=45)).isoformat(), **overrides)


def start_worker(app, base_url: str, lease_seconds: float = 300) -> subprocess.Popen:
    env = {**os.environ, "CRMBRIDGE_ENV": "test", "PYTHONPATH": str(WORKER.parent)}
    return subprocess.Popen([sys.executable, str(WORKER), app.config["DATABASE_URL"], base_url, str(lease_seconds)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def waiting_jobs(app) -> list[SyncJobRow]:
    with db.standalone_session(app) as session:
        return list(session.query(SyncJobRow).filter_by(done=False).all())


def wait_until(condition, what: str, workers: list[subprocess.Popen]) -> None:
    """Wait for ``condition``; on giving up (or a worker dying), stop the workers and fail with their output."""
    deadline = time.monotonic() + PATIENCE
    while not condition():
        if time.monotonic() > deadline or any(worker.poll() is not None for worker in workers):
            outputs = []
            for worker in workers:
                if worker.poll() is None:
                    worker.kill()
                outputs.append(worker.communicate()[1])
            pytest.fail(f"gave up waiting: {what}; the workers said: {outputs}")
        time.sleep(0.2)


def creates(fake) -> list:
    return [r for r in fake.requests if r.method == "POST" and r.path.endswith("/events")]


def live_internal_meetings(fake, mailbox: str) -> Counter:
    """How many live events of ``mailbox`` carry each activity id."""
    found: Counter = Counter()
    for event in fake.events(mailbox):
        for prop in event.get("singleValueExtendedProperties") or []:
            if prop["id"] == CRM_ACTIVITY_PROPERTY:
                found[prop["value"]] += 1
    return found


def scheduled_finished(app, name: str) -> bool:
    with db.standalone_session(app) as session:
        row = session.get(ScheduledRunRow, name)
        return row is not None and row.last_finished_at is not None


def stop_all(workers: list[subprocess.Popen]) -> list[str]:
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
    outputs = []
    for worker in workers:
        try:
            _, err = worker.communicate(timeout=PATIENCE)
        except subprocess.TimeoutExpired:
            worker.send_signal(signal.SIGABRT)  # faulthandler (worker_process.py) prints where it is stuck
            pytest.fail(f"a worker did not stop within {PATIENCE} s of SIGTERM:\n{worker.communicate()[1]}")
        outputs.append(err)
        assert worker.returncode == 0, err
    return outputs


# The API does not wait on Graph ----------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["application", "delegated"])
def test_with_graph_answering_after_12_seconds_activity_changes_and_healthz_never_touch_graph(app, anna, client,
                                                                                             mode):
    base_url, fake, stop = start_fake_graph(fault_rate=1.0, faults=("slow",), slow_seconds=12)
    graph = GraphClient(lambda mailbox: "token", base_url=base_url, max_retries=0)
    try:
        graph_setup.install(app, graph, mode=mode)
        created = anna.post("/api/activities", json=upcoming(1))
        assert created.status_code == 201, created.json
        patched = anna.patch(f"/api/activities/{created.json['id']}", json={"internalNotes": "New notes"},
                             headers={"If-Match": created.headers["ETag"]})
        assert patched.status_code == 200, patched.json
        assert client.get("/healthz").status_code == 200

        assert fake.requests == []  # nothing went to Graph: the changes wait in the outbox
        jobs = waiting_jobs(app)
        assert [(job.activity_id, job.reason, job.attempts) for job in jobs] == [
            (created.json["id"], jobs[0].reason, 0), (created.json["id"], jobs[1].reason, 0)]
    finally:
        stop()
        graph.close()


# One worker, in this process -----------------------------------------------------------------------------------


@pytest.fixture
def fake(app):
    base_url, fake, stop = start_fake_graph(domains=("contoso.com",))
    graph = GraphClient(lambda mailbox: "static-token", base_url=base_url, sleep=lambda seconds: None)
    graph_setup.install(app, graph)
    fake.base_url = base_url
    yield fake
    stop()
    graph.close()


def test_one_worker_round_creates_the_internal_meeting_and_runs_each_scheduled_job_once(app, anna, fake):
    created = anna.post("/api/activities", json=upcoming(2))
    worker = Worker(app, graph_setup.background_client(app))
    worker.run(once=True)
    worker.run(once=True)  # the scheduled jobs are not due again

    assert live_internal_meetings(fake, "anna@contoso.com") == {str(created.json["id"]): 1}
    assert waiting_jobs(app) == []
    assert len([r for r in fake.requests if r.path == "/organization"]) == 1  # the daily domain refresh
    with db.standalone_session(app) as session:
        runs = {row.name: row for row in session.query(ScheduledRunRow).all()}
    assert set(runs) == {"incremental-scan", "full-scan", "domains"}  # no subscriptions without a URL
    assert all(row.last_error is None and row.next_run_at > datetime.now(UTC) for row in runs.values())


def test_a_worker_round_sends_the_webhook_deliveries_of_the_change_and_of_its_internal_meeting(app, client, fake):
    hooks = Receiver()
    hooks.url, stop = serve(hooks)
    try:
        crm = Api(client, token_for(app, "crm-sync@contoso.com", ("Activities.ReadWrite.All",)))
        endpoint = crm.post("/api/webhooks", json={"url": hooks.url})
        assert endpoint.status_code == 201, endpoint.json
        hooks.secret = endpoint.json["secret"]
        put = crm.put("/api/activities/by-external-id/crm/W-1", json=upcoming(4, organizerEmail="anna@contoso.com"))
        assert put.status_code == 201, put.json

        Worker(app, graph_setup.background_client(app), schedule=()).run(once=True)

        assert live_internal_meetings(fake, "anna@contoso.com") == {str(put.json["id"]): 1}
        feed = [item["id"] for item in crm.get("/api/changes?limit=500").json["items"]]
        assert feed and sorted(hooks.acknowledged) == sorted(feed)
        assert hooks.bad_signatures == 0
    finally:
        stop()


def test_a_job_that_keeps_failing_backs_off_and_shows_its_error_and_next_attempt(app, anna, fake, runner):
    fake.missing_permissions = {"Calendars.ReadWrite"}
    created = anna.post("/api/activities", json=upcoming(3))
    Worker(app, graph_setup.background_client(app)).run(once=True)

    [job] = waiting_jobs(app)
    assert job.attempts == 1 and job.claimed_by is None
    assert job.last_error.startswith("GraphAuthError 403")
    assert job.next_attempt_at > datetime.now(UTC) + timedelta(seconds=20)
    result = runner.invoke(args=["worker", "status"])
    assert result.exit_code == 0, result.output
    assert f"activity {created.json['id']}: 1 attempt(s), last error: GraphAuthError 403" in result.output
    assert "next attempt 20" in result.output


def test_sqlite_takes_one_worker_and_refuses_a_second(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'one.sqlite3'}")
    first = Locks(engine)
    try:
        with pytest.raises(WorkerRefused, match="SQLite takes one worker"):
            Locks(engine)
    finally:
        first.close()
    Locks(engine).close()  # free again once the first is gone
    engine.dispose()


# Worker processes ----------------------------------------------------------------------------------------------


def test_a_worker_killed_mid_create_loses_no_job_and_the_meeting_is_created_once(app, anna, fake):
    created = anna.post("/api/activities", json=upcoming(4))
    activity_id = created.json["id"]
    fake.hold_creates()
    first = start_worker(app, fake.base_url, lease_seconds=1)
    try:
        wait_until(fake.create_arrived.is_set, "the first worker's create", [first])
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=PATIENCE)
    finally:
        fake.release_creates()  # the create the killed worker sent is applied; its answer is lost
    assert [job.claimed_by is not None for job in waiting_jobs(app)] == [True]  # still held by the dead worker

    second = start_worker(app, fake.base_url, lease_seconds=1)
    try:
        wait_until(lambda: not waiting_jobs(app), "the second worker to finish the job after the lease ran out",
                   [second])
    finally:
        stop_all([second])
    assert live_internal_meetings(fake, "anna@contoso.com") == {str(activity_id): 1}
    assert len(creates(fake)) == 1  # the second worker looked it up before creating (DESIGN 8) and found it
    with db.standalone_session(app) as session:
        link = session.query(MeetingLinkRow).filter_by(activity_id=activity_id, kind="internal").one()
        assert link.state == "sent" and link.graph_event_id == fake.events("anna@contoso.com")[0]["id"]


def test_sigterm_lets_a_worker_finish_the_current_job_and_claim_no_more(app, anna, fake):
    first = anna.post("/api/activities", json=upcoming(5)).json["id"]
    second = anna.post("/api/activities", json=upcoming(6)).json["id"]
    fake.hold_creates()
    worker = start_worker(app, fake.base_url)
    try:
        wait_until(fake.create_arrived.is_set, "the worker's first create", [worker])
        worker.send_signal(signal.SIGTERM)
    finally:
        fake.release_creates()
    _, err = worker.communicate(timeout=PATIENCE)
    assert worker.returncode == 0, err
    assert "1 created" in err

    done = set(live_internal_meetings(fake, "anna@contoso.com"))
    assert len(done) == 1 and done <= {str(first), str(second)}
    [left] = waiting_jobs(app)
    assert str(left.activity_id) not in done and left.claimed_by is None and left.attempts == 0


@pytest.mark.postgres
def test_three_workers_on_one_postgresql_never_run_a_job_twice_nor_crowd_a_mailbox(app, client, fake):
    organizers = [f"organizer{n}@contoso.com" for n in range(6)]
    ids = {}
    for n, email in enumerate(organizers):
        api = Api(client, token_for(app, email))
        for k in range(6):
            response = api.post("/api/activities", json=upcoming(n * 6 + k))
            assert response.status_code == 201, response.json
            ids[response.json["id"]] = email
            if k % 2:  # a second job for the same activity
                patched = api.patch(f"/api/activities/{response.json['id']}", json={"location": "Room Fjord"},
                                    headers={"If-Match": response.headers["ETag"]})
                assert patched.status_code == 200, patched.json
    jobs = len(waiting_jobs(app))

    workers = [start_worker(app, fake.base_url) for _ in range(3)]
    try:
        # The scheduled jobs run on the workers' own clock, after scans that take a while: wait for the last one.
        wait_until(lambda: not waiting_jobs(app) and scheduled_finished(app, "domains"),
                   "the workers to empty the outbox and refresh the domains", workers)
    finally:
        outputs = stop_all(workers)

    duplicates = sum(n - 1 for email in organizers for n in live_internal_meetings(fake, email).values())
    meetings = {email: live_internal_meetings(fake, email) for email in organizers}
    max_concurrent = max(fake.max_in_flight_per_mailbox[email] for email in organizers)
    print(f"\nworkers: {len(workers)}, jobs: {jobs}, activities: {len(ids)}, creates sent: {len(creates(fake))}, "
          f"duplicates: {duplicates}, max concurrent requests per mailbox: {max_concurrent}")
    for line in outputs:
        print(line.strip().splitlines()[-1])
    assert duplicates == 0
    assert all(meetings[email][str(activity_id)] == 1 for activity_id, email in ids.items())
    assert len(creates(fake)) == len(ids)  # no create sent twice, not even one answered by its transactionId
    assert max_concurrent <= 4
    assert len([r for r in fake.requests if r.path == "/organization"]) == 1  # a scheduled job ran once, not 3x


# Delegated mode: each organizer's own token, from their token cache ---------------------------------------------


def test_in_delegated_mode_the_worker_waits_for_the_organizers_sign_in_and_the_pane_is_told(app, anna, fake):
    from entra_fakes import AUTHORITY, CLIENT_ID, OIDC_URL, OPENID_CONFIGURATION, TENANT, TOKEN_URL, b64json

    from crmbridge.auth import graph_tokens
    from crmbridge.auth.obo import OnBehalfOfClient
    from crmbridge.token_cache_store import encrypted_store

    key = "0" * 43 + "="
    app.extensions[graph_tokens.OBO_CLIENT] = OnBehalfOfClient(
        CLIENT_ID, "client-secret", AUTHORITY, encrypted_store(app.extensions[db.EXTENSION], key))
    worker_graph = GraphClient(graph_setup._organizer_token, base_url=fake.base_url, max_retries=0)
    graph_setup.install(app, worker_graph, mode="delegated")
    aid = anna.post("/api/activities", json=upcoming(7)).json["id"]

    with app.app_context():
        Worker(app, worker_graph, schedule=()).run(once=True)
    [job] = waiting_jobs(app)
    assert job.last_error == "sign-in needed: no_token_cache"
    assert job.next_attempt_at > datetime.now(UTC) + timedelta(hours=12)
    assert fake.requests == []
    assert anna.get(f"/api/lookup?activityId={aid}").json["internalMeetingWaitsForSignIn"] is True

    # Anna signs in in the taskpane: the on-behalf-of exchange leaves her tokens in her encrypted cache.
    oid = "a1b2c3d4-0000-4000-8000-00000000cafe"
    user_key = f"{TENANT}:{oid}"
    with responses.RequestsMock() as entra:
        entra.get(OIDC_URL, json=OPENID_CONFIGURATION)
        entra.post(TOKEN_URL, json={
            "token_type": "Bearer", "expires_in": 3600, "access_token": "annas-graph-token",
            "refresh_token": "annas-refresh-token", "scope": "https://graph.microsoft.com/.default",
            "id_token": f"{b64json({'alg': 'none'})}.{b64json({'oid': oid, 'tid': TENANT, 'sub': 'x'})}.",
            "client_info": b64json({"uid": oid, "utid": TENANT})})
        with app.app_context():
            app.extensions[graph_tokens.OBO_CLIENT].graph_token(user_key, "assertion", ["https://graph.microsoft.com/.default"],
                                                               tenant_id=TENANT)
            graph_tokens.signed_in(app, user_key, "Anna@Contoso.com")
    assert anna.get(f"/api/lookup?activityId={aid}").json["internalMeetingWaitsForSignIn"] is False

    with app.app_context():
        Worker(app, worker_graph, schedule=()).run(once=True)
    assert waiting_jobs(app) == []
    assert live_internal_meetings(fake, "anna@contoso.com") == {str(aid): 1}
    assert {r.token for r in fake.requests} == {"annas-graph-token"}
    worker_graph.close()


# crmbridge verify-tenant, against the fake Graph -----------------------------------------------------------------


def test_verify_tenant_passes_against_a_graph_that_behaves_as_documented_and_leaves_nothing(app, fake, runner):
    fake.rooms = {"harbour-room@contoso.com"}
    result = runner.invoke(args=["verify-tenant", "--mailbox", "test@contoso.com",
                                 "--room", "harbour-room@contoso.com"])

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [line.split(":")[0] for line in lines[:-1]] == [
        "pass  permission Organization.Read.All (domains)", "pass  create an internal meeting (Calendars.ReadWrite)",
        "pass  transactionId", "pass  immutable ids", "pass  notes update", "pass  all-day meeting",
        "pass  room booking", "pass  delta round", "pass  cancel", "pass  clean up"]
    assert "room answered accepted" in result.output
    assert fake.events("test@contoso.com") == []
    assert {m.to for m in fake.mails} <= {"harbour-room@contoso.com"}  # no person was mailed


def test_verify_tenant_names_the_permission_graph_refused(app, fake, runner):
    fake.missing_permissions = {"Organization.Read.All"}
    result = runner.invoke(args=["verify-tenant", "--mailbox", "test@contoso.com"])

    assert result.exit_code == 1
    assert "FAIL  permission Organization.Read.All (domains): 403 Authorization_RequestDenied" in result.output
    assert "skip  room booking: the room answers: not run" in result.output
    assert fake.events("test@contoso.com") == []
