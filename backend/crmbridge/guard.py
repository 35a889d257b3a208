"""The send-time guard's use case: Outlook's OnAppointmentSend handler posts the meeting it is about to send; the
answer is a verdict with field names and the outsiders' addresses (which the handler sent itself), never notes.

Which of the activity's meetings it is: the link recorded for the item's id when there is one (the backend's
record is the truth, DESIGN 3), else the add-in's custom property, else the attendees. An allowed customer meeting
is recorded as sent, in the same request, so the taskpane stops offering to invite again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.orm import Session

from . import services, store
from .auth.caller import Caller
from .domain import send_guard
from .domain.classification import OrgDomains
from .domain.errors import AlreadyLinked, Conflict, NotFound
from .domain.outsiders import outsiders
from .domain.send_guard import GuardAnswer, OutgoingMeeting, Verdict
from .integration import events

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GuardResult:
    answer: GuardAnswer
    recorded: bool

    @property
    def verdict(self) -> str:
        return self.answer.verdict.value

    @property
    def reason(self) -> str | None:
        return self.answer.reason.value if self.answer.reason else None

    @property
    def meeting(self) -> str:
        return self.answer.meeting

    @property
    def outsiders(self) -> tuple[str, ...]:
        return self.answer.outsiders

    @property
    def fields(self) -> tuple[str, ...]:
        return self.answer.fields


def check_send(session: Session, caller: Caller, data: dict, org: OrgDomains) -> GuardResult:
    row = store.find_own(session, caller.email, data["activity_id"]) if caller.is_user else None
    if row is None:
        raise NotFound("This meeting's activity is not one of yours.")
    item_id = data.get("item_id")
    link = store.find_link(session, item_id=item_id) if item_id else None
    stated = link.kind if link is not None and link.activity_id == row.id else data.get("meeting_kind")
    outgoing = OutgoingMeeting(data.get("subject", ""), data.get("location", ""), data.get("body", ""),
                               tuple(data.get("attendees", ())))
    kind = send_guard.meeting_kind(stated, outgoing.attendees, org)
    allowed = [row.subject, row.location, row.external_agenda,
               *(f"{p.display_name} <{p.email}>" for p in row.participants)]
    answer = send_guard.check(kind, outgoing, org, notes=row.internal_notes, allowed=allowed)
    # Logged without any text of the meeting or the notes (test_logging_hygiene).
    log.info("send guard: activity %s, %s meeting, verdict %s", row.id, kind, answer.verdict.value)
    # The audit trail keeps the verdict with its reason and field names (never text of the meeting or the notes).
    events.record(session, "guard.send_checked", row, events.actor_of(caller), {
        "meeting": kind, "verdict": answer.verdict.value,
        "reason": answer.reason.value if answer.reason else None, "fields": list(answer.fields),
        "outsiders": list(answer.outsiders)})
    session.commit()
    recorded = False
    # Sent to a customer: an appointment with colleagues only is no customer meeting (linking.is_sent_customer_meeting).
    if kind == "external" and answer.verdict is Verdict.ALLOW and item_id and outsiders(outgoing.attendees, org):
        recorded = _record_sent(session, caller, row.id, item_id, org)
    return GuardResult(answer, recorded)


def _record_sent(session: Session, caller: Caller, activity_id: int, item_id: str, org: OrgDomains) -> bool:
    """Mark the customer meeting sent; a meeting linked elsewhere keeps its link, and the send goes on."""
    try:
        services.record_link(session, caller, activity_id, {"kind": "external", "state": "sent",
                                                             "ews_item_id": item_id}, org)
    except (AlreadyLinked, Conflict) as exc:
        log.info("send guard: activity %s, sent meeting not recorded (%s)", activity_id, type(exc).__name__)
        return False
    return True
