#!/usr/bin/env python3
"""Writes the table of the Office.js Outlook APIs the taskpane and the fake Office host touch, from Microsoft's own
reference data, so the fake (addin/taskpane/fake-office/office-fake.js) can be checked against it.

    python3 scripts/office-api-table.py PATH/TO/office-js-docs-reference [-o OUT.json]

PATH is a checkout of https://github.com/OfficeDev/office-js-docs-reference (only docs/docs-ref-autogen/outlook*,
docs/docs-ref-autogen/office are read). Needs PyYAML (Debian: python3-yaml). The output,
addin/taskpane/fake-office/office-api-table.json by default, names the checkout's commit in its header; commit it
together with any change to this script.

For each member of the objects below the table says:
  member          the property or method name (overloads are one entry)
  object          mailbox | appointmentRead | appointmentCompose | body | time | subject | ... (see "objects")
  kind            property | method | field (an enum value)
  type            a property's type as the reference writes it (Office.Time, string, Date, ...)
  requirementSet  "Mailbox 1.N", "Mailbox preview", or another set (DialogApi 1.1) for Office.EventType
  modes           ["Read"], ["Compose"] or both: the reference's "Applicable Outlook mode"
  preview         true when the member is in preview only
  source          the YAML file it comes from
  stated          only where the remarks' "[API set: ...]" text is not a plain "Mailbox 1.N" (kept verbatim)

The requirement set is the remarks' "[API set: Mailbox 1.N]" where it says exactly that; otherwise (the remarks of
many 1.1 members say nothing, a few say "1.1 on Windows, 1.8 on the web") it is the lowest docs-ref-autogen/outlook_1_N
folder, Microsoft's reference for requirement set 1.N, that has the member; a member in no such folder is preview.
A member's mode is its own "Applicable Outlook mode", else its interface's; "Appointment Organizer" is Compose and
"Appointment Attendee" is Read (docs-pr: docs/outlook/compose-scenario.md).
"""

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

import yaml

REPOSITORY = "OfficeDev/office-js-docs-reference"
OUTLOOK = "docs/docs-ref-autogen/outlook/outlook"
VERSIONED = "docs/docs-ref-autogen/outlook_1_{minor}/outlook"
OFFICE = "docs/docs-ref-autogen/office/office"
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "addin" / "taskpane" / "fake-office" / "office-api-table.json"

# object key -> (directory, YAML file): Office.context.mailbox, the appointment in both modes, and the objects its
# properties return that the taskpane or the fake use.
OBJECTS = {
    "mailbox": (OUTLOOK, "office.mailbox.yml"),
    "userProfile": (OUTLOOK, "office.userprofile.yml"),
    "diagnostics": (OUTLOOK, "office.diagnostics.yml"),
    "appointmentRead": (OUTLOOK, "office.appointmentread.yml"),
    "appointmentCompose": (OUTLOOK, "office.appointmentcompose.yml"),
    "subject": (OUTLOOK, "office.subject.yml"),
    "time": (OUTLOOK, "office.time.yml"),
    "location": (OUTLOOK, "office.location.yml"),
    "enhancedLocation": (OUTLOOK, "office.enhancedlocation.yml"),
    "body": (OUTLOOK, "office.body.yml"),
    "recipients": (OUTLOOK, "office.recipients.yml"),
    "organizer": (OUTLOOK, "office.organizer.yml"),
    "customProperties": (OUTLOOK, "office.customproperties.yml"),
    "isAllDayEvent": (OUTLOOK, "office.isalldayevent.yml"),
    "eventType": (OFFICE, "office.eventtype.yml"),
}
# Office.EventType also lists Excel's, Word's and Project's events: keep Outlook's (Mailbox sets) and the dialog's
# (their entries name no set: requirementSet null).
EVENT_SETS = ("Mailbox", "DialogApi")
HIGHEST_MINOR = 30  # folders outlook_1_1 ... are looked for up to this

API_SET = re.compile(r"\[API set: ([^\]]+)\]")
MODE = re.compile(r"Applicable Outlook mode\]\([^)]*\)(?:<!-- -->)?\*\*: *([^\n]+)")
PLAIN_SET = re.compile(r"^Mailbox (1\.\d+|preview)$")
XREF = re.compile(r'<xref uid="[a-z-]+!([^:"]+)(?::[a-z]+)?" */>')


def modes_of(text: str) -> list[str] | None:
    match = MODE.search(text or "")
    if not match:
        return None
    said = match.group(1)
    modes = []
    if re.search(r"Compose|Organizer", said):
        modes.append("Compose")
    if re.search(r"Read|Attendee", said):
        modes.append("Read")
    return modes or None


def type_of(entry: dict) -> str | None:
    returned = (entry.get("syntax") or {}).get("return") or {}
    text = returned.get("type")
    if not text:
        return None
    text = XREF.sub(lambda m: m.group(1), text).replace("&lt;", "<").replace("&gt;", ">")
    return re.sub(r"\s+", " ", text).strip()


def members_of(document: dict):
    """(name, kind, entry) for each property, method (overloads once) and enum field."""
    seen = set()
    for key, kind in (("properties", "property"), ("methods", "method"), ("fields", "field")):
        for entry in document.get(key) or []:
            name = entry["name"].split("(")[0]
            if name not in seen:
                seen.add(name)
                yield name, kind, entry


def versioned_names(checkout: Path, file: str) -> list[tuple[str, set[str]]]:
    """[("1.N", {member names})] for each requirement set folder that has `file`."""
    found = []
    for minor in range(1, HIGHEST_MINOR + 1):
        path = checkout / VERSIONED.format(minor=minor) / file
        if path.exists():
            document = yaml.safe_load(path.read_text(encoding="utf-8"))
            found.append((f"1.{minor}", {name for name, _, _ in members_of(document)}))
    return found


def git(checkout: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(checkout), *args], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def build(checkout: Path) -> dict:
    members = []
    objects = {}
    for key, (directory, file) in OBJECTS.items():
        source = f"{directory}/{file}"
        document = yaml.safe_load((checkout / source).read_text(encoding="utf-8"))
        interface_remarks = document.get("remarks") or ""
        interface_modes = modes_of(interface_remarks)
        objects[key] = {"interface": document["fullName"], "source": source, "preview": bool(document.get("isPreview"))}
        versions = versioned_names(checkout, file) if directory == OUTLOOK else []
        for name, kind, entry in members_of(document):
            remarks = entry.get("remarks") or entry.get("summary") or ""
            stated = API_SET.search(remarks)
            stated = stated.group(1).strip() if stated else None
            if key == "eventType" and not ((stated or "").startswith(EVENT_SETS) or name.startswith("Dialog")):
                continue
            first = next((version for version, names in versions if name in names), None)
            if stated and PLAIN_SET.match(stated):
                requirement_set = stated
            elif first:
                requirement_set = f"Mailbox {first}"
            elif directory == OUTLOOK:
                requirement_set = "Mailbox preview"
            else:
                requirement_set = stated
            preview = bool(entry.get("isPreview")) or requirement_set == "Mailbox preview"
            row = {
                "member": name,
                "object": key,
                "kind": kind,
                "type": type_of(entry) if kind == "property" else None,
                "requirementSet": requirement_set,
                "modes": modes_of(remarks) or interface_modes or ["Compose", "Read"],
                "preview": preview,
                "source": source,
            }
            if key == "eventType":
                # Item events are registered with item.addHandlerAsync, which both appointment modes have; the
                # reference names no mode for the event itself.
                row["modes"] = ["Compose", "Read"]
            if stated and stated != requirement_set:
                row["stated"] = stated
            if first and stated and PLAIN_SET.match(stated) and stated != f"Mailbox {first}" and not preview:
                row["firstInFolder"] = f"Mailbox {first}"
            members.append(row)
    return {
        "source": {
            "repository": REPOSITORY,
            "commit": git(checkout, "rev-parse", "HEAD"),
            "commitDate": git(checkout, "log", "-1", "--format=%cI"),
        },
        "generatedBy": "scripts/office-api-table.py",
        "objects": objects,
        "members": members,
    }


def write(table: dict, out: Path) -> None:
    """JSON with one member per line, so a regenerated table reads as a short diff."""
    head = {key: value for key, value in table.items() if key != "members"}
    text = json.dumps(head, indent=2, ensure_ascii=False)[:-2]
    lines = [json.dumps(row, ensure_ascii=False) for row in table["members"]]
    text += ',\n  "members": [\n    ' + ",\n    ".join(lines) + "\n  ]\n}\n"
    json.loads(text)  # the hand-joined text must still be one JSON document
    out.write_text(text, encoding="utf-8")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkout", type=Path, help=f"a checkout of {REPOSITORY}")
    parser.add_argument("-o", "--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    if not (args.checkout / OUTLOOK / "office.mailbox.yml").exists():
        parser.error(f"{args.checkout} has no {OUTLOOK}/office.mailbox.yml: not a checkout of {REPOSITORY}?")
    table = build(args.checkout)
    write(table, args.out)
    print(f"{len(table['members'])} members from {REPOSITORY}@{table['source']['commit'][:12]} -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
