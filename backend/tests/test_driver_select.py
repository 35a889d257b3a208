"""Selects run on the driver's cursor give exactly the rows SQLAlchemy's execution gives: the same values, of the
same types, for every statement the lookup runs, on SQLite and on PostgreSQL (the CI's PostgreSQL pass)."""

import itertools
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import bindparam, select

from crmbridge import db, store
from crmbridge.driver_select import DriverSelect
from crmbridge.graph import sync
from crmbridge.models import (
    ActivityRow,
    ExternalMeetingCheckRow,
    InternalMeetingSyncRow,
    MeetingLinkRow,
    ParticipantRow,
    SyncJobRow,
)

START = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 30, 12, 0, 0, 123456, tzinfo=UTC)


@pytest.fixture
def seeded(app):
    """Two organizers' activities: one with both links (one write-blocked), sync rows and a job waiting for a
    sign-in; one the CRM deleted, with no links or sync rows."""
    with app.app_context():
        session = db.session()
        first = ActivityRow(id=1, tenant_id="t1", organizer_oid="oid-anna", organizer_email="anna@contoso.com",
                            organizer_key="anna@contoso.com", subject="Review", start_utc=START,
                            end_utc=START + timedelta(hours=1), time_zone="Romance Standard Time", is_all_day=False,
                            location="Harbour", internal_notes="Internal only", external_agenda="Agenda",
                            status="planned", version=3, external_source="crm", external_id="A-1")
        first.participants = [ParticipantRow(position=0, email="bo@contoso.com", display_name="Bo", type="required"),
                              ParticipantRow(position=1, email="kim@fabrikam.com", display_name=None,
                                             type="optional")]
        first.links = [
            MeetingLinkRow(kind="external", state="sent", graph_event_id="AAMk-rest_1", ews_item_id="AAMk/rest+1",
                           ical_uid="ical-1", write_blocked="outsider", blocked_addresses="kim@fabrikam.com",
                           blocked_at=START - timedelta(days=3)),
            MeetingLinkRow(kind="internal", state="sent", graph_event_id="AAMk-int", ical_uid="ical-int"),
        ]
        second = ActivityRow(id=2, tenant_id="t1", organizer_email="bo@contoso.com", organizer_key="bo@contoso.com",
                             subject="Deleted", start_utc=START, end_utc=START + timedelta(hours=2),
                             time_zone="UTC", is_all_day=True, deleted_at=NOW - timedelta(days=1))
        session.add_all([first, second])
        session.flush()
        session.add_all([
            InternalMeetingSyncRow(activity_id=1, mailbox="anna@contoso.com", transaction_id="tx-1",
                                   field_hashes='{"body": "abc"}', synced_version=3, synced_at=NOW,
                                   notes_held="online-meeting", room_responses='{"room@contoso.com": "accepted"}'),
            ExternalMeetingCheckRow(activity_id=1, graph_event_id="AAMk-rest_1", snapshot='{"subject": "Review"}',
                                    activity_version=3),
            SyncJobRow(activity_id=1, reason="update", next_attempt_at=NOW + timedelta(minutes=5),
                       last_error=sync.SIGN_IN_NEEDED + ": anna"),
        ])
        session.commit()
    return app


def core_rows(connection, driver: DriverSelect, params) -> list[tuple]:
    return [tuple(row) for row in connection.execute(driver.statement, params).all()]


IDS = {
    "id": [{"activity_id": 1}, {"activity_id": 2}, {"activity_id": 3}],
    "item": [{"ews_id": "AAMk/rest+1", "rest_ids": ["AAMk-rest_1", "AAMk/rest+1"]},
             {"ews_id": "nothing", "rest_ids": ["AAMk-int"]}],
    "rest": [{"rest_id": "AAMk-rest_1", "ews_id": "AAMk/rest+1"}, {"rest_id": "AAMk-int", "ews_id": "AAMk/int"}],
    "ical": [{"ical_uid": "ical-1"}, {"ical_uid": "ical-int"}, {"ical_uid": "missing"}],
}
SEEN_BY = {
    "tenant": [{"tenant_id": "t1"}, {"tenant_id": "t2"}],
    # Each length of an expanding IN is its own compiled form: none, one and three addresses.
    "address": [{"tenant_id": "t1", "organizer_keys": keys}
                for keys in ([], ["anna@contoso.com"], ["x@contoso.com", "anna@contoso.com", "bo@contoso.com"])],
    "object-id": [{"tenant_id": "t1", "organizer_keys": ["bo@contoso.com"], "object_id": "oid-anna"},
                  {"tenant_id": "t1", "organizer_keys": ["bo@contoso.com", "anna@contoso.com"], "object_id": "x"}],
}


@pytest.mark.parametrize(("by", "shape"), list(itertools.product(IDS, SEEN_BY)))
def test_the_lookups_first_select_gives_what_sqlalchemy_gives(seeded, by, shape):
    driver = store._lookup_statement(by, shape)
    found = 0
    with seeded.app_context():
        connection = db.reads()
        for values, seen_by in itertools.product(IDS[by], SEEN_BY[shape]):
            params = {**values, **seen_by}
            rows, core = driver.rows(connection, params), core_rows(connection, driver, params)
            assert rows == core, params
            assert [[type(value) for value in row] for row in rows] == [[type(value) for value in row] for row in core]
            found += len(rows)
    assert found, "no parameters matched a row: the comparison would prove nothing"


def test_participants_links_and_the_pane_state_give_what_sqlalchemy_gives(seeded):
    with seeded.app_context():
        connection = db.reads()
        for driver, params in [(store._PARTICIPANTS, {"id": 1}), (store._LINKS, {"id": 1}), (store._LINKS, {"id": 2}),
                               (sync._PANE_STATE, {"id": 1, "now": NOW}), (sync._PANE_STATE, {"id": 2, "now": NOW}),
                               (sync._PANE_STATE, {"id": 1, "now": NOW + timedelta(hours=1)})]:
            assert driver.rows(connection, params) == core_rows(connection, driver, params), params
        links = {row[0]: row for row in store._LINKS.rows(connection, {"id": 1})}
        assert links["external"][7] == START - timedelta(days=3)  # a datetime, in UTC, not SQLite's text
        assert links["external"][7].tzinfo is not None
        (state,) = sync._PANE_STATE.rows(connection, {"id": 1, "now": NOW})
        assert state[0] == NOW and state[-1] in (True, 1)  # a job waits for a sign-in after NOW
        (later,) = sync._PANE_STATE.rows(connection, {"id": 1, "now": NOW + timedelta(hours=1)})
        assert later[-1] in (False, 0)
        # The bound datetime goes through its type: NOW at a +02:00 offset reads 14:00 on the clock,
        # after the job's 12:05 as text, but it is the same instant as NOW, before the job.
        (east,) = sync._PANE_STATE.rows(connection, {"id": 1, "now": NOW.astimezone(timezone(timedelta(hours=2)))})
        assert east[-1] in (True, 1)


def test_a_missing_parameter_is_named(app):
    driver = DriverSelect(select(ActivityRow.id).where(ActivityRow.id == bindparam("activity_id")))
    with app.app_context(), pytest.raises(KeyError, match="activity_id"):
        driver.rows(db.reads(), {})
