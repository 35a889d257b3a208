"""Graph requests of the drift watch, against the naive way (one GET per linked meeting), measured in one run.

An organizer has 500 activities in the scan window, each with its internal meeting and its sent external meeting
linked (1,000 events in the calendar). The script runs, against the fake Graph server (no faults):

- the naive check: one GET per linked external meeting;
- a full scan: one ``calendarView/delta`` round over the window (100 events per page) plus ``$batch`` reads of
  linked meetings the round did not show;
- an incremental scan after 10 external meetings changed in Outlook (moved or answered);
- an incremental scan with no change;
- an incremental scan after ``--cancelled`` external meetings were cancelled in Outlook: delta reports them as
  ``@removed``, so each is read by id through ``$batch``. Outlook runs at most 4 requests per mailbox at a time,
  inside a batch too, and the fake answers the rest 429 ``MailboxConcurrency`` (DESIGN 8), so the client sends 4
  per batch; the same scan with 20 per batch is measured for comparison (its refused items are sent again).

Goals: a full scan needs at most 1/20 of the naive requests; an incremental scan with no change needs 1.

    .venv/bin/python benchmarks/graph_cost.py [--meetings 500] [--changed 10] [--cancelled 40]
"""

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "backend"))
sys.path.insert(0, str(ROOT / "backend" / "tests"))  # the fake Graph server lives with the tests

from fake_graph import start_fake_graph  # noqa: E402

from crmbridge import create_app, db, migrations, store  # noqa: E402
from crmbridge.graph import GraphClient, drift_watch  # noqa: E402
from crmbridge.graph import client as client_module  # noqa: E402
from crmbridge.graph.linking import link_properties  # noqa: E402
from crmbridge.models import ActivityRow, MeetingLinkRow, ParticipantRow  # noqa: E402

ORGANIZER = "olivia@contoso.com"
EXTERNALS = ("mette@fabrikam.example", "jonas@fabrikam.example")
WINDOW_DAYS = 60


def graph_time(moment: datetime) -> dict:
    return {"dateTime": moment.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}


def load(app, fake, meetings: int, first_day: datetime) -> list[str]:
    """Activities with their two meetings in the fake calendar and both links in the database."""
    external_ids = []
    with db.standalone_session(app) as session:
        for n in range(meetings):
            start = first_day + timedelta(days=n % (WINDOW_DAYS - 5), hours=n % 9)
            end = start + timedelta(minutes=45)
            row = ActivityRow(organizer_email=ORGANIZER, organizer_key=store.organizer_key(ORGANIZER),
                              subject=f"Customer meeting {n}", start_utc=start, end_utc=end,
                              time_zone="Europe/Copenhagen", location="Room Harbour",
                              internal_notes="Internal only", external_agenda="Agenda", status="planned")
            row.participants = [ParticipantRow(position=0, email="lars@contoso.com", type="required")] + [
                ParticipantRow(position=i + 1, email=address, type="required") for i, address in enumerate(EXTERNALS)]
            session.add(row)
            session.flush()
            internal = fake.add_event(ORGANIZER, {
                "subject": row.subject, "start": graph_time(start), "end": graph_time(end),
                "attendees": [{"emailAddress": {"address": "lars@contoso.com"}, "type": "required"}],
                "singleValueExtendedProperties": link_properties(row.id)})
            external = fake.add_event(ORGANIZER, {
                "subject": row.subject, "start": graph_time(start), "end": graph_time(end),
                "location": {"displayName": "Room Harbour"},
                "attendees": [{"emailAddress": {"address": a}, "type": "required"} for a in EXTERNALS]})
            row.links = [
                MeetingLinkRow(kind="internal", state="sent", graph_event_id=internal["id"],
                               ical_uid=internal["iCalUId"]),
                MeetingLinkRow(kind="external", state="sent", graph_event_id=external["id"],
                               ical_uid=external["iCalUId"]),
            ]
            external_ids.append(external["id"])
    return external_ids


def counted(graph: GraphClient, work) -> tuple[int, float, object]:
    before, started = graph.requests_sent, time.perf_counter()
    result = work()
    return graph.requests_sent - before, time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meetings", type=int, default=500)
    parser.add_argument("--changed", type=int, default=10)
    parser.add_argument("--cancelled", type=int, default=40)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        app = create_app({"TESTING": True, "DATABASE_URL": url, "ORG_DOMAINS": ["contoso.com"],
                          "SECRET_KEY": "benchmark-secret-key"})
        migrations.upgrade(url)
        base_url, fake, stop = start_fake_graph(seed=1, domains=("contoso.com",), batch_retry_after="0")
        graph = GraphClient(lambda mailbox: "benchmark-token", base_url=base_url, max_retries=8)
        try:
            now = datetime.now(UTC)
            first_day = (now + timedelta(days=1)).replace(hour=8, minute=0, second=0, microsecond=0)
            externals = load(app, fake, args.meetings, first_day)
            events = len(fake.events(ORGANIZER))

            def scan(full: bool, at: datetime):
                with db.standalone_session(app) as session:
                    org = store.org_domains(session, app.config["ORG_DOMAINS"], False)
                    return drift_watch.scan(session, graph, org, at=at, window_days=WINDOW_DAYS, full=full,
                                            mailboxes=[ORGANIZER])

            naive, naive_seconds, _ = counted(graph, lambda: [graph.get_event(ORGANIZER, e) for e in externals])
            full, full_seconds, full_stats = counted(graph, lambda: scan(True, now))

            for n, event_id in enumerate(externals[: args.changed]):
                if n % 2:
                    fake.respond(ORGANIZER, event_id, EXTERNALS[0], "declined")
                else:
                    moved = first_day + timedelta(days=WINDOW_DAYS - 4, hours=n % 9)
                    fake.outlook_update(ORGANIZER, event_id, {"start": graph_time(moved),
                                                              "end": graph_time(moved + timedelta(minutes=45))})
            later = now + timedelta(minutes=10)
            changed, changed_seconds, changed_stats = counted(graph, lambda: scan(False, later))
            quiet, quiet_seconds, _ = counted(graph, lambda: scan(False, later + timedelta(minutes=10)))

            def cancel_and_scan(batch_size: int, offset: int, at: datetime):
                for event_id in externals[offset: offset + args.cancelled]:
                    fake.outlook_cancel(ORGANIZER, event_id)
                client_module.MAILBOX_BATCH_LIMIT = batch_size
                try:
                    return counted(graph, lambda: scan(False, at))
                finally:
                    client_module.MAILBOX_BATCH_LIMIT = 4

            start = args.changed
            cancelled4, cancelled4_seconds, cancelled4_stats = cancel_and_scan(4, start, later + timedelta(minutes=20))
            refused_before = sum(r.status == 429 for r in fake.requests)
            cancelled20, cancelled20_seconds, cancelled20_stats = cancel_and_scan(
                20, start + args.cancelled, later + timedelta(minutes=30))
            refused20 = sum(r.status == 429 for r in fake.requests) - refused_before
        finally:
            graph.close()
            stop()
            db.engine(app).dispose()

    assert full_stats.checked == args.meetings, full_stats
    assert changed_stats.checked == args.changed, changed_stats
    assert changed_stats.drifted == (args.changed + 1) // 2 and changed_stats.rsvp_changed == args.changed // 2
    assert cancelled4_stats.checked == cancelled20_stats.checked == args.cancelled, (cancelled4_stats,
                                                                                     cancelled20_stats)

    print(f"Graph requests for one organizer with {args.meetings} linked meetings in a {WINDOW_DAYS}-day window "
          f"({events} events with the internal meetings), fake Graph server, no faults:")
    rows = [
        ("naive: one GET per linked meeting", naive, naive_seconds, ""),
        (f"full scan: delta round, {full_stats.checked} meetings checked", full, full_seconds,
         "goal: at most 1/20 of naive"),
        (f"incremental scan, {args.changed} meetings changed ({changed_stats.drifted} drifted, "
         f"{changed_stats.rsvp_changed} RSVPs)", changed, changed_seconds, ""),
        ("incremental scan, nothing changed", quiet, quiet_seconds, "goal: 1 request"),
        (f"incremental scan, {args.cancelled} cancelled: $batch 4 per request", cancelled4, cancelled4_seconds,
         "what the client does"),
        (f"incremental scan, {args.cancelled} cancelled: $batch 20 per request", cancelled20, cancelled20_seconds,
         f"{refused20} items refused 429 MailboxConcurrency and sent again"),
    ]
    for label, requests, seconds, goal in rows:
        ratio = f"{requests / naive:.3f} of naive (1/{naive / requests:.0f})" if requests else "0 of naive"
        print(f"  {label:<58} {requests:>5} requests  {ratio:<24} {seconds * 1000:>7.0f} ms  {goal}")
    full_ok = full * 20 <= naive
    quiet_ok = quiet == 1
    print(f"Full scan at most 1/20 of naive: {'yes' if full_ok else 'NO'}; "
          f"incremental with no change is 1 request: {'yes' if quiet_ok else 'NO'}.")
    if not (full_ok and quiet_ok):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
