"""How often the send guard's notes detector is wrong on realistic text: false alarms (a customer invitation flagged
for notes it does not hold) and misses (a note pasted into an invitation not found), at the shipped threshold and at
neighbouring ones, to show why the threshold is where it is.

    .venv/bin/python benchmarks/send_guard_false_alarms.py

The text is backend/tests/send_guard_corpus.py: internal notes and customer invitations in English and Danish,
written independently and sharing the phrases such texts share. Every note is paired with every invitation. A
harder second measure takes each invitation as if it were the notes and checks it against every other invitation:
invitations share far more boilerplate (greetings, sign-offs, "please let me know") than notes and invitations do.
"""

import sys
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "backend" / "tests"))

from send_guard_corpus import INVITATIONS, NOTES  # noqa: E402

from crmbridge.domain import send_guard  # noqa: E402
from crmbridge.domain.send_guard import OutgoingMeeting, fields_with_notes  # noqa: E402


def flagged(notes: str, body: str) -> bool:
    return bool(fields_with_notes(notes, (), OutgoingMeeting("", "", body, ())))


def measure() -> tuple[int, int, int, int]:
    pairs = [(note, invitation) for note in NOTES for invitation in INVITATIONS]
    false_alarms = sum(flagged(n, i) for n, i in pairs)
    misses = sum(not flagged(n, f"{i}\n\n{n}\n") for n, i in pairs)
    boilerplate = [(a, b) for a in INVITATIONS for b in INVITATIONS if a is not b]
    shared = sum(flagged(a, b) for a, b in boilerplate)
    return len(pairs), false_alarms, misses, shared, len(boilerplate)


def main() -> None:
    print(f"{len(NOTES)} notes x {len(INVITATIONS)} invitations (English and Danish)")
    print(f"{'run words':>9} {'content words':>13} {'false alarms':>16} {'misses (pasted)':>18} "
          f"{'invitation vs invitation':>26}")
    for run_words in (3, 4, 5, 6, 8):
        for content in (1, 2, 3):
            with mock.patch.object(send_guard, "RUN_WORDS", run_words), \
                 mock.patch.object(send_guard, "MIN_CONTENT_WORDS", content):
                pairs, false_alarms, misses, shared, others = measure()
            shipped = " <- shipped" if (run_words, content) == (6, 3) else ""
            print(f"{run_words:>9} {content:>13} {false_alarms:>6}/{pairs} {100 * false_alarms / pairs:5.1f} % "
                  f"{misses:>6}/{pairs} {100 * misses / pairs:5.1f} % "
                  f"{shared:>11}/{others} {100 * shared / others:5.1f} %{shipped}")


if __name__ == "__main__":
    main()
