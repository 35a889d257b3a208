"""Who on a meeting is outside the organization: the one rule that decides whether a meeting may carry the
internal notes, and whether the backend may write to it at all.

Graph mails every attendee on an organizer's PATCH and cancel (DESIGN 8), so a meeting with one outsider on it is
a customer meeting as far as the backend is concerned, whatever it is linked as. Unlike the classification of an
activity's participants, the attendee's type does not excuse it: a room or resource mailbox outside the
organization's domains reads the body too. An address that cannot be parsed counts as an outsider.
"""

from collections.abc import Iterable

from .classification import Kind, OrgDomains, classify


def outsiders(addresses: Iterable[str], org: OrgDomains) -> tuple[str, ...]:
    """The addresses outside the organization's domains, in the order given, without repeats."""
    found: dict[str, None] = {}
    for address in addresses:
        if classify(address or "", "required", org).kind is not Kind.INTERNAL:
            found.setdefault(address or "", None)
    return tuple(found)


def attendee_addresses(event: dict) -> list[str]:
    """The addresses of a Graph event's attendees (any type), as Graph gives them."""
    addresses = []
    for attendee in event.get("attendees") or []:
        email = (attendee.get("emailAddress") or {}).get("address") if isinstance(attendee, dict) else None
        addresses.append(email if isinstance(email, str) else "")
    return addresses
