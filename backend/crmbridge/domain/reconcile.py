"""Reconcile "take Outlook's version": the CRM follows the external meeting.

Only the activity changes. Nothing here addresses an external participant: any update customers see is sent by
the organizer from Outlook.
"""

from datetime import datetime, time

from .activity import Activity, Status
from .graph_event import OutlookMeeting


def take_outlook(activity: Activity, outlook: OutlookMeeting, apply_cancellation: bool = False) -> Activity:
    """Start, end and location from Outlook; a cancellation only when the organizer asks for it."""
    if outlook.is_all_day:
        zone = activity.zone
        start = datetime.combine(outlook.start_date, time(0), zone)
        end = datetime.combine(outlook.end_date, time(0), zone)
    else:
        start, end = outlook.start, outlook.end
    status = Status.CANCELLED if (apply_cancellation and outlook.is_cancelled) else activity.status
    return activity.with_changes(
        start=start, end=end, is_all_day=outlook.is_all_day, location=outlook.location, status=status
    )
