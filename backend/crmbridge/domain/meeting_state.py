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
    CRM_CANCELLED = "crm-cancelled"


def external_state(activity: Activity, org: OrgDomains, link_state: str | None, drift: Drift | None) -> ExternalState:
    """``link_state`` is the external link's state (pending, sent, cancelled) or None when there is no link.

    ``cancelled`` means the customer meeting is cancelled (the link says so, or Outlook shows it); an activity
    cancelled only in the CRM is ``crm-cancelled``: the customers still have their meeting until the organizer
    cancels it in Outlook."""
    both_cancelled = drift is not None and drift.in_sync and activity.status is Status.CANCELLED
    if link_state == "cancelled" or both_cancelled:
        return ExternalState.CANCELLED
    if activity.status is Status.CANCELLED:
        return ExternalState.CRM_CANCELLED
    if link_state == "pending":  # not sent yet: matching the CRM or not, the customers have nothing
        return ExternalState.INVITATION_OPEN
    if drift is not None:
        return ExternalState.IN_SYNC if drift.in_sync else ExternalState.DRIFTED
    if link_state == "sent":
        return ExternalState.SENT
    if link_state == "pending":
        return ExternalState.INVITATION_OPEN
    if not activity.externals(org):
        return ExternalState.NO_EXTERNALS
    return ExternalState.NOT_INVITED
