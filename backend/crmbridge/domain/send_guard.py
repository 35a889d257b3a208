"""The send-time guard's rules: what Outlook's OnAppointmentSend handler is told about a meeting being sent.

Plain Python. Two mistakes are caught:

1. the internal meeting (whose body carries the internal notes) is sent with anyone outside the organization on
   it: stop it and name them;
2. the customer meeting's subject, location or body holds a run of the internal notes that is not also in the
   activity's subject, location, external agenda or participants' names: ask, and name the field.

A "run" is ``RUN_WORDS`` consecutive words of the notes, compared after Unicode normalisation and case folding,
that holds at least ``MIN_CONTENT_WORDS`` words that are not common short words (English and Danish), or one
fewer when one of them is a number (prices, percentages and dates are what notes are made of). Short
common phrases ("please let me know if you have any questions", "vi ses til mødet") therefore never count, and a
note line shorter than ``RUN_WORDS`` words counts as a whole when it has ``MIN_LINE_WORDS`` words and enough content
words. benchmarks/send_guard_false_alarms.py measures the thresholds on realistic text. The answer names
fields only: nothing of the notes leaves this module.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from .classification import OrgDomains
from .outsiders import outsiders

RUN_WORDS = 6
MIN_CONTENT_WORDS = 3
# A note line shorter than RUN_WORDS counts as one run from this many words on: a name and a company on a line
# ("Anna Jensen, Contoso") are in every signature.
MIN_LINE_WORDS = 4
FIELDS = ("subject", "location", "body")

_WORD = re.compile(r"\w+(?:[.,'’-]\w+)*")

# Common short words: a run made of these and little else is a phrase anyone writes, not a note.
_COMMON = frozenset("""
a about after again all also am an and any are as at be been before being but by can could did do does for from
get go going had has have he her here him his how i if in into is it its just let like me more most my no not now
of on one or our out over please re regarding so some such than thank thanks that the their them then there these
they this those to too up us very was we well were what when where which while who will with would you your yours
hi hello dear best regards kind meeting agenda today tomorrow week next time see look looking forward
af alle alt andre at bare blev bliver da de dem den denne der deres det dette du efter eller en end er et for fra
ham han hans har havde have hej hende hendes her hos hun hvad hvis hvor i ikke ind jeg jer jo kan kom kommer kun
man mange med meget men mig min mine mit mod møde mødet ned noget nogle nu når og også om op os over på sammen
se ses selv sig sin sine sit skal skulle som så til tak ud under var vi vil ville vores være været venlig hilsen
mvh dagsorden næste uge i dag i morgen sidst god weekend good last
""".split())


class Verdict(StrEnum):
    ALLOW = "allow"
    BLOCK = "block"  # rule 1: fix before sending (SoftBlock)
    PROMPT = "prompt"  # rule 2: the organizer may send anyway (PromptUser)


class Reason(StrEnum):
    OUTSIDERS_ON_INTERNAL = "outsiders-on-internal-meeting"
    NOTES_IN_CUSTOMER_MEETING = "notes-in-customer-meeting"


@dataclass(frozen=True)
class OutgoingMeeting:
    """What Outlook is about to send, as the send handler read it."""

    subject: str
    location: str
    body: str
    attendees: tuple[str, ...]


@dataclass(frozen=True)
class GuardAnswer:
    verdict: Verdict
    meeting: str  # "internal" or "external"
    reason: Reason | None = None
    outsiders: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()


def words(text: str) -> list[str]:
    """The words of a text (the handler sends the body as plain text), NFKC-normalised and case-folded."""
    text = unicodedata.normalize("NFKC", text or "").casefold()
    return _WORD.findall(text)


def _is_content(word: str) -> bool:
    return word not in _COMMON and (len(word) >= 3 or any(ch.isdigit() for ch in word))


def _runs(tokens: Sequence[str]) -> set[tuple[str, ...]]:
    """The runs of a token sequence that count: windows of RUN_WORDS with enough content words; a shorter
    sequence is one window."""
    size = min(RUN_WORDS, len(tokens))
    if size < MIN_LINE_WORDS:
        return set()
    found = set()
    for i in range(len(tokens) - size + 1):
        window = tuple(tokens[i:i + size])
        content = [word for word in window if _is_content(word)]
        # A number (a price, a percentage, a date) is telling: with one, two content words are enough.
        needed = MIN_CONTENT_WORDS - 1 if any(ch.isdigit() for word in content for ch in word) else MIN_CONTENT_WORDS
        if len(content) >= needed:
            found.add(window)
    return found


def _windows(tokens: Sequence[str], size: int) -> set[tuple[str, ...]]:
    return {tuple(tokens[i:i + size]) for i in range(len(tokens) - size + 1)}


def note_runs(notes: str, allowed: Iterable[str]) -> set[tuple[str, ...]]:
    """The runs of the notes, per line (a note line shorter than RUN_WORDS is one run), minus those that also
    appear in the allowed texts (the activity's subject, location and external agenda reach customers anyway)."""
    runs: set[tuple[str, ...]] = set()
    for line in (notes or "").splitlines():
        runs |= _runs(words(line))
    runs |= {run for run in _runs(words(notes)) if len(run) == RUN_WORDS}  # runs across line breaks too
    allowed_tokens = [words(text) for text in allowed]
    for size in {len(run) for run in runs}:
        seen = set().union(*(_windows(tokens, size) for tokens in allowed_tokens)) if allowed_tokens else set()
        runs = {run for run in runs if len(run) != size or run not in seen}
    return runs


def fields_with_notes(notes: str, allowed: Iterable[str], meeting: OutgoingMeeting) -> tuple[str, ...]:
    """The names of the meeting's fields (subject, location, body) that hold a run of the notes."""
    runs = note_runs(notes, allowed)
    if not runs:
        return ()
    sizes = {len(run) for run in runs}
    found = []
    for name in FIELDS:
        tokens = words(getattr(meeting, name))
        if any(_windows(tokens, size) & runs for size in sizes):
            found.append(name)
    return tuple(found)


def meeting_kind(stated: str | None, attendees: Iterable[str], org: OrgDomains) -> str:
    """Which of the activity's meetings this is when no link record says: the custom property's word, else the
    attendees (anyone outside the organization makes it the customer meeting, which is checked for notes)."""
    if stated in ("internal", "external"):
        return stated
    return "external" if outsiders(attendees, org) else "internal"


def check(kind: str, meeting: OutgoingMeeting, org: OrgDomains, *, notes: str, allowed: Iterable[str]) -> GuardAnswer:
    """The guard's answer for one of an activity's meetings being sent. ``allowed``: the activity's texts that reach
    customers anyway (subject, location, external agenda, participants' names and addresses)."""
    if kind == "internal":
        found = outsiders(meeting.attendees, org)
        if found:
            return GuardAnswer(Verdict.BLOCK, kind, Reason.OUTSIDERS_ON_INTERNAL, outsiders=found)
        return GuardAnswer(Verdict.ALLOW, kind)
    fields = fields_with_notes(notes, allowed, meeting)
    if fields:
        return GuardAnswer(Verdict.PROMPT, kind, Reason.NOTES_IN_CUSTOMER_MEETING, fields=fields)
    return GuardAnswer(Verdict.ALLOW, kind)
