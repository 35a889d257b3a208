"""The state of the external meeting, as the taskpane names it to the organizer."""

from enum import StrEnum

from .activity import Activity, Status
from .classification import OrgDomains
from .drift import Drift


class ExternalState(StrEnum):
    NO_EXTERNALS = "no-externals"
    NOT_INVITED = "not-invited"
    INVITATION_OPEN = "invitation-open"
    SENT = "sent"
    IN_SYNC = "in-sync"
    DRIFTED = "drifted"
    CANCELLED = "cancelled"


def external_state(activity: Activity, org: OrgDomains, link_state: str | None, drift: Drift | None) -> ExternalState:
    """``link_state`` is the external link's state (pending, sent, cancelled) or None when there is no link."""
    if link_state == "cancelled" or (drift is None and activity.status is Status.CANCELLED and link_state):
        return ExternalState.CANCELLED
    if drift is not None:
        return ExternalState.IN_SYNC if drift.in_sync else ExternalState.DRIFTED
    if link_state == "sent":
        return ExternalState.SENT
    if link_state == "pending":
        return ExternalState.INVITATION_OPEN
    if not activity.externals(org):
        return ExternalState.NO_EXTERNALS
    return ExternalState.NOT_INVITED
