"""``crmbridge verify-tenant``: the documented Graph behaviour crmbridge relies on (DESIGN 5 and 8), tried against
the real tenant with a test mailbox, each check with the answer that decided it; everything made is deleted.

Run it with a mailbox nobody uses: the meetings it makes have no attendees (a room only with ``--room``), so they
mail nobody, and they lie a month ahead at an early hour.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from .client import GraphClient, GraphError, GraphNotFound, user_path

MARK = "crmbridge verify-tenant"


@dataclass
class Check:
    name: str
    passed: bool | None  # None: not run (what it needs was not given)
    answer: str


class Verification:
    def __init__(self, graph: GraphClient, mailbox: str, *, mode: str, room: str | None = None,
                 at: datetime | None = None) -> None:
        self.graph = graph
        self.mailbox = mailbox
        self.mode = mode
        self.room = room
        day = (at or datetime.now(UTC)).replace(hour=4, minute=0, second=0, microsecond=0) + timedelta(days=30)
        self.start, self.end = day, day + timedelta(minutes=30)
        self.made: list[str] = []
        self.checks: list[Check] = []

    def run(self) -> list[Check]:
        try:
            self._check("permission Organization.Read.All (domains)", self._organization,
                        when=self.mode == "application")
            internal = self._check("create an internal meeting (Calendars.ReadWrite)", self._create)
            if internal:
                self._check("transactionId: a repeated create returns the same meeting", lambda: self._repeat(internal))
                self._check("immutable ids: the id Graph gave reads the meeting back", lambda: self._read(internal))
                self._check("notes update: PATCH of the body", lambda: self._notes(internal))
            self._check("all-day meeting: midnight to midnight in its own zone", self._all_day)
            self._check("room booking: the room answers", self._room, when=bool(self.room))
            self._check("delta round: calendarView/delta ends with a deltaLink", self._delta)
            if internal:
                self._check("cancel: the organizer's cancel", lambda: self._cancel(internal))
        finally:
            self._clean_up()
        return self.checks

    # Each check returns (passed, Graph's answer in words) or raises GraphError (a failure, its answer).

    def _check(self, name: str, run: Callable[[], tuple[bool, str] | tuple[bool, str, dict]], *,
               when: bool = True) -> dict | None:
        if not when:
            self.checks.append(Check(name, None, "not run"))
            return None
        try:
            passed, answer, *made = run()
        except GraphError as exc:
            self.checks.append(Check(name, False, f"{exc.status} {exc.code}".strip()))
            return None
        self.checks.append(Check(name, passed, answer))
        return made[0] if made and passed else None

    def _organization(self) -> tuple[bool, str]:
        domains = self.graph.organization_domains(self.mailbox)
        return bool(domains), f"200, {len(domains)} verified domain(s)"

    def _event(self, subject: str, **fields) -> dict:
        return {"subject": f"{MARK}: {subject}", "body": {"contentType": "text", "content": MARK},
                "start": {"dateTime": self.start.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
                "end": {"dateTime": self.end.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
                "attendees": [], **fields}

    def _create_event(self, event: dict, transaction_id: str | None = None) -> dict:
        created = self.graph.create_event(self.mailbox, event, transaction_id or f"crmbridge-verify-{uuid.uuid4().hex}")
        if created.get("id") and created["id"] not in self.made:
            self.made.append(created["id"])
        return created

    def _create(self) -> tuple[bool, str, dict]:
        self._transaction = f"crmbridge-verify-{uuid.uuid4().hex}"
        created = self._create_event(self._event("internal meeting"), self._transaction)
        return bool(created.get("id")), f"201, id {_short(created.get('id'))}", created

    def _repeat(self, internal: dict) -> tuple[bool, str]:
        again = self._create_event(self._event("internal meeting"), self._transaction)
        same = again.get("id") == internal["id"]
        return same, f"id {_short(again.get('id'))} ({'the same' if same else 'a second meeting'})"

    def _read(self, internal: dict) -> tuple[bool, str]:
        read = self.graph.get_event(self.mailbox, internal["id"], select=("id", "iCalUId"))
        same = read.get("id") == internal["id"]
        return same, f"200, id {'unchanged' if same else 'differs: ' + _short(read.get('id'))}"

    def _notes(self, internal: dict) -> tuple[bool, str]:
        text = f"{MARK}: notes {uuid.uuid4().hex[:8]}"
        self.graph.update_event(self.mailbox, internal["id"], {"body": {"contentType": "text", "content": text}})
        body = (self.graph.get_event(self.mailbox, internal["id"], select=("body",)).get("body") or {})
        found = text in (body.get("content") or "")
        return found, f"200, body {'holds' if found else 'lacks'} the new notes"

    def _all_day(self) -> tuple[bool, str]:
        day = self.start.strftime("%Y-%m-%dT00:00:00")
        next_day = (self.start + timedelta(days=1)).strftime("%Y-%m-%dT00:00:00")
        created = self._create_event(self._event("all-day", isAllDay=True,
                                                 start={"dateTime": day, "timeZone": "W. Europe Standard Time"},
                                                 end={"dateTime": next_day, "timeZone": "W. Europe Standard Time"}))
        start = (created.get("start") or {}).get("dateTime", "")
        return start.startswith(day[:19]), f"start {start} {(created.get('start') or {}).get('timeZone', '')}"

    def _room(self) -> tuple[bool, str]:
        assert self.room is not None
        created = self._create_event(self._event("room booking", attendees=[
            {"emailAddress": {"address": self.room}, "type": "resource"}]))
        read = self.graph.get_event(self.mailbox, created["id"], select=("attendees",))
        answers = [(a.get("status") or {}).get("response", "none") for a in read.get("attendees") or []]
        return bool(answers), f"room answered {', '.join(answers) or 'nothing yet'}"

    def _delta(self) -> tuple[bool, str]:
        changes, link = self.graph.calendar_view_delta(self.mailbox, self.start - timedelta(hours=1),
                                                       self.start + timedelta(days=2), None)
        ids = {change.get("id") for change in changes}
        seen = len(ids & set(self.made))
        kept = "kept" if link else "missing"
        return bool(link) and seen > 0, f"{len(changes)} change(s), {seen} of ours, deltaLink {kept}"

    def _cancel(self, internal: dict) -> tuple[bool, str]:
        self.graph.cancel_event(self.mailbox, internal["id"], MARK)
        return True, "202"

    def _clean_up(self) -> None:
        deleted, gone, failed = 0, 0, []
        for event_id in self.made:
            try:
                self.graph._request("DELETE", user_path(self.mailbox, "events", event_id), mailbox=self.mailbox)
                deleted += 1
            except GraphNotFound:
                gone += 1
            except GraphError as exc:
                failed.append(f"{_short(event_id)}: {exc.status} {exc.code}")
        answer = f"{deleted} deleted, {gone} already gone" + (f"; left: {', '.join(failed)}" if failed else "")
        self.checks.append(Check("clean up: every meeting made is deleted", not failed, answer))


def _short(event_id: str | None) -> str:
    return f"{event_id[:12]}…" if event_id else "none"
