"""The send guard's rules: outsiders on the internal meeting, and runs of the internal notes in the customer
meeting, with no false alarm on realistic text that shares only common phrases with the notes."""

import pytest
from send_guard_corpus import INVITATIONS, NOTES

from crmbridge.domain.classification import OrgDomains
from crmbridge.domain.send_guard import (
    RUN_WORDS,
    OutgoingMeeting,
    Reason,
    Verdict,
    check,
    fields_with_notes,
    meeting_kind,
    note_runs,
    words,
)

ORG = OrgDomains.of(["contoso.com"])
NOTES_TEXT = "Discount may go to 12 %\nThey are also talking to Northwind; our price is 8 % higher."


def meeting(subject="Quarterly review", location="Room Harbour", body="", attendees=("mette@fabrikam.example",)):
    return OutgoingMeeting(subject, location, body, tuple(attendees))


def answer(kind, outgoing, notes=NOTES_TEXT, subject="Quarterly review", location="Room Harbour", agenda="1. Status"):
    return check(kind, outgoing, ORG, notes=notes, allowed=(subject, location, agenda))


# Rule 1: the internal meeting


def test_the_internal_meeting_with_an_outsider_is_blocked_and_names_them_in_order_without_repeats():
    outgoing = meeting(attendees=("lars@contoso.com", "mette@fabrikam.example", "x@evil.example",
                                  "mette@fabrikam.example"))

    result = answer("internal", outgoing)

    assert result.verdict is Verdict.BLOCK
    assert result.reason is Reason.OUTSIDERS_ON_INTERNAL
    assert result.outsiders == ("mette@fabrikam.example", "x@evil.example")
    assert result.fields == ()


@pytest.mark.parametrize("address", ["lars@contoso.com.evil.example", "lars@contoso-com.example", "not an address"])
def test_look_alikes_and_unreadable_addresses_count_as_outsiders(address):
    assert answer("internal", meeting(attendees=("lars@contoso.com", address))).outsiders == (address,)


def test_the_internal_meeting_with_colleagues_only_passes_even_though_its_body_holds_the_notes():
    result = answer("internal", meeting(body=NOTES_TEXT, attendees=("lars@contoso.com", "LARS@CONTOSO.COM")))

    assert result.verdict is Verdict.ALLOW


# Rule 2: the customer meeting


def test_a_pasted_note_in_the_body_prompts_and_names_the_body_only():
    result = answer("external", meeting(body="Hi Mette,\n\nsee you Tuesday.\nDiscount may go to 12 %\n"))

    assert result.verdict is Verdict.PROMPT
    assert result.reason is Reason.NOTES_IN_CUSTOMER_MEETING
    assert result.fields == ("body",)
    assert result.outsiders == ()


def test_every_field_holding_notes_is_named_in_a_fixed_order():
    note = "talking to Northwind; our price is 8 % higher"
    result = answer("external", meeting(subject=f"Review: {note}", location=note, body=note.upper()))

    assert result.fields == ("subject", "location", "body")


def test_the_comparison_ignores_case_spacing_and_punctuation_between_words():
    body = "they   are ALSO talking to\nNorthwind — our price is 8 % higher!"

    assert answer("external", meeting(body=body)).fields == ("body",)


def test_text_that_is_also_in_the_agenda_subject_or_location_is_not_a_leak():
    notes = "Present the new analytics module and the training package"
    agenda = "1. Present the new analytics module and the training package\n2. Questions"

    assert answer("external", meeting(body=agenda), notes=notes, agenda=agenda).verdict is Verdict.ALLOW
    assert answer("external", meeting(subject=notes), notes=notes, subject=notes).verdict is Verdict.ALLOW


def test_a_customer_meeting_without_notes_text_passes():
    assert answer("external", meeting(body="Hi Mette, see you Tuesday. Agenda: 1. Status")).verdict is Verdict.ALLOW


def test_empty_notes_never_prompt():
    assert answer("external", meeting(body="anything at all"), notes="").verdict is Verdict.ALLOW


@pytest.mark.parametrize("phrase", [
    "Please let me know if you have any questions",
    "Looking forward to seeing you next week",
    "Vi ses til mødet i morgen",
    "Tak for sidst og god weekend",
])
def test_short_common_phrases_shared_by_notes_and_invitation_do_not_count(phrase):
    notes = f"{phrase}. Price floor is 400.000 kr."

    assert note_runs(phrase, ()) == set()
    assert answer("external", meeting(body=f"Hi, {phrase}."), notes=notes).verdict is Verdict.ALLOW


def test_a_run_is_found_inside_a_longer_note_across_a_line_break():
    notes = "Background.\nThe decision maker is\nHenrik Madsen who prefers open source."

    assert fields_with_notes(notes, (), meeting(body="As you know Henrik Madsen who prefers open source"))


def test_words_are_normalised_with_nfkc_and_case_folding():
    assert words("Straße ＴＥＳＴ fi") == ["strasse", "test", "fi"]


def test_meeting_kind_comes_from_the_custom_property_else_from_the_attendees():
    assert meeting_kind("internal", ["mette@fabrikam.example"], ORG) == "internal"
    assert meeting_kind("external", ["lars@contoso.com"], ORG) == "external"
    assert meeting_kind(None, ["lars@contoso.com"], ORG) == "internal"
    assert meeting_kind("bogus", ["lars@contoso.com", "mette@fabrikam.example"], ORG) == "external"


# Measured on realistic text (send_guard_corpus; benchmarks/send_guard_false_alarms.py prints the figures)


def false_alarms():
    return [
        (n, i) for n, note in enumerate(NOTES) for i, invitation in enumerate(INVITATIONS)
        if fields_with_notes(note, (), OutgoingMeeting("", "", invitation, ()))
    ]


def test_no_realistic_invitation_is_flagged_for_notes_it_does_not_hold():
    assert len(NOTES) * len(INVITATIONS) >= 900
    assert false_alarms() == []


def test_every_note_pasted_into_a_realistic_invitation_is_found():
    missed = []
    for note in NOTES:
        for invitation in INVITATIONS[:10]:
            if not fields_with_notes(note, (), OutgoingMeeting("", "", f"{invitation}\n\n{note}\n", ())):
                missed.append(note)
    assert missed == []


def test_a_run_shorter_than_the_threshold_is_not_reported_on_its_own():
    note = NOTES[3]
    short = " ".join(note.split()[:RUN_WORDS - 1])

    assert not fields_with_notes(note, (), OutgoingMeeting("", "", short, ()))


def test_invitations_share_no_run_with_one_another_despite_their_boilerplate():
    # Harder than notes against invitations: greetings, sign-offs and Teams blocks are what invitations share.
    flagged = [(a, b) for a in INVITATIONS for b in INVITATIONS
               if a is not b and fields_with_notes(a, (), OutgoingMeeting("", "", b, ()))]
    assert flagged == []


def test_a_name_and_company_on_a_line_of_their_own_is_no_run():
    assert note_runs("Call first.\nAnna Jensen, Contoso\n", ()) == set()
    assert note_runs("Mette Kunde, Fabrikam A/S", ()) != set()  # four words: a run
