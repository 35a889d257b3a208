"""The external draft carries the organizer's externals and the external agenda, and never the internal notes."""

import dataclasses
import os
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmbridge.domain.activity import Activity, Participant, checked
from crmbridge.domain.classification import OrgDomains
from crmbridge.domain.draft import external_draft

ORG = OrgDomains.of(["contoso.com"])
START = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def activity(**overrides) -> Activity:
    base = Activity(
        subject="Quarterly review",
        start=START,
        end=START + timedelta(hours=1),
        time_zone="Europe/Copenhagen",
        organizer_email="anna@contoso.com",
        location="Room Harbour",
        internal_notes="Discount may go to 12 %",
        external_agenda="1. Status",
        participants=(
            Participant("anna@contoso.com", "Anna (organizer)"),
            Participant("lars@contoso.com", "Lars"),
            Participant("mette@fabrikam.example", "Mette"),
            Participant("jonas@fabrikam.example", "", "optional"),
            Participant("it@dk.contoso.com", "IT subdomain"),
            Participant("room@contoso.com", "Room Harbour", "resource"),
        ),
    )
    return checked(dataclasses.replace(base, **overrides))


def test_the_draft_holds_externals_only_split_by_required_and_optional():
    draft = external_draft(activity(), ORG)
    assert [a.email_address for a in draft.required_attendees] == ["mette@fabrikam.example", "it@dk.contoso.com"]
    assert [a.email_address for a in draft.optional_attendees] == ["jonas@fabrikam.example"]
    assert [a.email_address for a in draft.resources] == ["room@contoso.com"]


def test_the_organizer_is_never_an_attendee_of_the_draft_even_when_listed_as_a_participant():
    draft = external_draft(activity(organizer_email="Anna@Contoso.com"), ORG)
    everyone = [a.email_address.lower() for a in (*draft.required_attendees, *draft.optional_attendees)]
    assert "anna@contoso.com" not in everyone


def test_an_attendee_without_a_name_is_shown_by_address():
    draft = external_draft(activity(), ORG)
    assert draft.optional_attendees[0].display_name == "jonas@fabrikam.example"


def test_the_body_is_the_external_agenda_and_times_are_utc():
    draft = external_draft(activity(), ORG)
    assert draft.body == "1. Status"
    assert draft.start == START and draft.start.tzinfo == UTC
    assert draft.subject == "Quarterly review" and draft.location == "Room Harbour"


def test_with_subdomains_counted_the_subdomain_colleague_leaves_the_draft():
    draft = external_draft(activity(), OrgDomains.of(["contoso.com"], include_subdomains=True))
    assert [a.email_address for a in draft.required_attendees] == ["mette@fabrikam.example"]


# Property: nothing from the notes reaches the draft. A run of 8+ characters of the notes may appear only when
# the same run is also in a field that legitimately reaches externals (subject, location, agenda, attendees).
RUN = 8
# scripts/test lowers this only for its second (PostgreSQL) pass; the first pass, CI included, runs 2,000.
EXAMPLES = int(os.environ.get("CRMBRIDGE_PROPERTY_EXAMPLES", "2000"))

text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=120)
local = st.from_regex(r"[a-z][a-z0-9+_-]{0,10}(\.[a-z0-9]{1,4})?", fullmatch=True)
domain = st.sampled_from(["contoso.com", "fabrikam.example", "kunde.dk", "dk.contoso.com", "blåbær.dk"])
people = st.lists(
    st.builds(lambda lp, d, name, kind: Participant(f"{lp}@{d}", name, kind), local, domain, text,
              st.sampled_from(["required", "optional", "resource"])),
    max_size=8, unique_by=lambda p: p.email.lower(),
)


def _draft_text(draft) -> str:
    values = [draft.subject, draft.location, draft.body, draft.start.isoformat(), draft.end.isoformat()]
    for attendee in (*draft.required_attendees, *draft.optional_attendees, *draft.resources):
        values += [attendee.email_address, attendee.display_name]
    return "\x00".join(values)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    subject=text.filter(str.strip), location=text, agenda=text, participants=people,
    notes=st.one_of(text, st.text(min_size=8, max_size=400)),
)
def test_no_run_of_eight_characters_from_the_notes_reaches_the_draft(subject, location, agenda, participants, notes):
    act = activity(subject=subject, location=location, external_agenda=agenda, internal_notes=notes,
                   participants=tuple(participants))
    draft_text = _draft_text(external_draft(act, ORG))
    allowed = "\x00".join([subject, location, agenda, *(f"{p.email}\x00{p.display_name}" for p in participants)])
    for i in range(len(notes) - RUN + 1):
        run = notes[i:i + RUN]
        if run not in allowed:
            assert run not in draft_text


def test_the_property_would_catch_a_draft_that_leaks_the_notes():
    act = activity(internal_notes="SECRET-MARKER-123")
    leaky = dataclasses.replace(external_draft(act, ORG), body=act.external_agenda + act.internal_notes)
    assert "SECRET-M" in _draft_text(leaky)
    assert "SECRET-M" not in _draft_text(external_draft(act, ORG))
