"""The fake Office host offers only what real Outlook offers: each member it exposes exists, per Microsoft's reference
(addin/taskpane/fake-office/office-api-table.json, made by scripts/office-api-table.py from
OfficeDev/office-js-docs-reference), in the item's mode at the scenario's Mailbox version, and is not in preview.

A member Outlook does not offer there must be absent, or fail when called (an async call's result is "failed", a
synchronous call throws, a property read throws); either passes, and the second is printed as "exposed, fails".
Known gaps of today's fake are strict xfails, one per case, so each disappears exactly when the fake is fixed.
"""

import json
from functools import cache

import pytest

from .browser_support import (
    BROWSER_ZONE,
    FAKE_OFFICE,
    PANE_SIZE,
    activity_json,
    new_item_id,
    outlook_item,
    route_outside_world,
    scenario,
)

pytestmark = pytest.mark.browser

TABLE = json.loads((FAKE_OFFICE.parent / "office-api-table.json").read_text(encoding="utf-8"))
ROWS = {(row["object"], row["member"]): row for row in TABLE["members"]}
OBJECT_OF_INTERFACE = {info["interface"]: key for key, info in TABLE["objects"].items()}

MODES = ("read", "compose")
VERSIONS = ("1.3", "1.7", "1.8", "1.13")  # 1.3: the manifest's minimum; 1.7, 1.8: organizer, events, getItemIdAsync
ORGANIZER = "fidelity-organizer@contoso.com"

# What the taskpane or the fake touch, per path from Office.context. Anything else the fake exposes is checked by
# test_the_fake_exposes_nothing_else_undocumented.
CHECKED = {
    "mailbox": [
        "item", "userProfile", "diagnostics", "convertToRestId", "convertToEwsId", "convertToLocalClientTime",
        "displayNewAppointmentForm", "displayNewAppointmentFormAsync", "displayAppointmentForm",
        "displayAppointmentFormAsync", "addHandlerAsync", "removeHandlerAsync",
    ],
    "mailbox.userProfile": ["emailAddress", "displayName", "timeZone"],
    "mailbox.diagnostics": ["hostName", "hostVersion"],
    "item": [
        "itemId", "itemType", "getItemIdAsync", "saveAsync", "loadCustomPropertiesAsync", "isAllDayEvent", "start",
        "end", "subject", "location", "enhancedLocation", "body", "organizer", "requiredAttendees",
        "optionalAttendees", "addHandlerAsync", "removeHandlerAsync",
    ],
    "item.start": ["getAsync", "setAsync"],
    "item.end": ["getAsync", "setAsync"],
    "item.subject": ["getAsync", "setAsync"],
    "item.location": ["getAsync", "setAsync"],
    "item.enhancedLocation": ["getAsync", "addAsync", "removeAsync"],
    "item.body": ["getAsync", "getTypeAsync", "setAsync", "prependAsync"],
    "item.organizer": ["getAsync"],
    "item.requiredAttendees": ["getAsync", "setAsync", "addAsync"],
    "item.optionalAttendees": ["getAsync", "setAsync", "addAsync"],
    "customProperties": ["get", "getAll", "set", "remove", "saveAsync"],
    "eventType": [
        "ItemChanged", "AppointmentTimeChanged", "RecipientsChanged", "EnhancedLocationsChanged",
        "DialogMessageReceived", "DialogEventReceived",
    ],
}

# Arguments a probe passes before its callback; "$date" is a Date, "$fn" a function, "$event" the ItemChanged value.
PROBE_ARGS = {
    "convertToRestId": ["AAMkAGI2/probe+AAA=", "v2.0"],
    "convertToEwsId": ["AAMkAGI2-probe_AAA=", "v2.0"],
    "convertToLocalClientTime": ["$date"],
    "displayNewAppointmentForm": [{"subject": "probe"}],
    "displayNewAppointmentFormAsync": [{"subject": "probe"}],
    "displayAppointmentForm": ["AAMkAGI2/probe+AAA="],
    "displayAppointmentFormAsync": ["AAMkAGI2/probe+AAA="],
    "addHandlerAsync": ["$event", "$fn"],
    "removeHandlerAsync": ["$event"],
    "setAsync": ["probe"],
    "addAsync": [[]],
    "removeAsync": [[]],
    "getAsync": [],
    "prependAsync": ["probe"],
    "get": ["probe"],
    "set": ["probe", "probe"],
    "remove": ["probe"],
}
TIME_PROBE_ARGS = {"setAsync": ["$date"]}
BODY_PROBE_ARGS = {"getAsync": ["text"], "setAsync": ["probe"]}


# (mode, version, path, member) -> a strict xfail mark for a known gap of the fake; none is left.
KNOWN_GAPS: dict = {}


# ---------------------------------------------------------------- what Microsoft documents


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def item_object(mode: str) -> str:
    return "appointmentRead" if mode == "read" else "appointmentCompose"


def object_of(path: str, mode: str) -> str | None:
    """The table's object for a path from Office.context, in this mode; None where the reference has none."""
    if path == "item":
        return item_object(mode)
    if path.startswith("item."):
        row = ROWS.get((item_object(mode), path.split(".", 1)[1]))
        return OBJECT_OF_INTERFACE.get(row["type"]) if row else None
    return {"mailbox": "mailbox", "mailbox.userProfile": "userProfile", "mailbox.diagnostics": "diagnostics",
            "customProperties": "customProperties", "eventType": "eventType"}[path]


def verdict(mode: str, version: str, path: str, member: str) -> tuple[bool, str]:
    """(offered, why): whether Outlook offers the member here, and what the reference says about it."""
    obj = object_of(path, mode)
    row = ROWS.get((obj, member)) if obj else None
    if row is None:
        return False, f"not in Microsoft's reference for {obj or path}"
    said = f"{row['object']}.{member}: {row['requirementSet']}, modes {row['modes']} ({row['source'].split('/')[-1]})"
    if row["preview"]:
        return False, said + ", preview"
    if path == "eventType":  # an enum value exists in every version; whether the event fires is the handler's matter
        return True, said
    if mode.capitalize() not in row["modes"]:
        return False, said
    wanted = row["requirementSet"]
    if wanted and wanted.startswith("Mailbox ") and version_key(wanted.split()[1]) > version_key(version):
        return False, said
    return True, said


def expected_shape(path: str, mode: str, member: str) -> set[str]:
    row = ROWS[(object_of(path, mode), member)]
    if row["kind"] == "method":
        return {"function"}
    if row["kind"] == "field":
        return {"string", "number"}
    written = row["type"] or ""
    if written.endswith("[]"):
        shape = "array"
    elif written == "Date":
        shape = "date"
    elif written == "boolean":
        shape = "boolean"
    elif written == "string" or "| string" in written or written.startswith("Office.MailboxEnums."):
        shape = "string"
    else:
        shape = "object"
    return {shape, "null"}


def field_paths_offered(mode: str, version: str) -> list[str]:
    """item.X paths whose object Outlook offers here: their members are checked one by one."""
    return [path for path in CHECKED if path.startswith("item.")
            and verdict(mode, version, "item", path.split(".", 1)[1])[0] and object_of(path, mode)]


def cases():
    for mode in MODES:
        for version in VERSIONS:
            paths = ["mailbox", "mailbox.userProfile", "mailbox.diagnostics", "item", "customProperties",
                     "eventType", *field_paths_offered(mode, version)]
            for path in paths:
                for member in CHECKED[path]:
                    mark = KNOWN_GAPS.get((mode, version, path, member))
                    yield pytest.param(mode, version, path, member, id=f"{mode}-{version}-{path}.{member}",
                                       marks=[mark] if mark else [])


# ---------------------------------------------------------------- what the fake exposes

INTROSPECT = """async () => {
  await Office.onReady();
  const shape = (value) => value === null ? "null" : Array.isArray(value) ? "array"
    : value instanceof Date ? "date" : typeof value;
  const members = (object) => {
    if (object === null || object === undefined || typeof object !== "object") return null;
    const names = new Set();
    for (let p = object; p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
      for (const name of Object.getOwnPropertyNames(p)) if (name !== "constructor") names.add(name);
    }
    const found = {};
    for (const name of names) {
      try {
        if (object[name] !== undefined) found[name] = shape(object[name]);
      } catch (error) {
        found[name] = "throws";
      }
    }
    return found;
  };
  const mailbox = Office.context.mailbox;
  const item = mailbox.item;
  const seen = {
    "mailbox": members(mailbox), "mailbox.userProfile": members(mailbox.userProfile),
    "mailbox.diagnostics": members(mailbox.diagnostics), "item": members(item), "eventType": members(Office.EventType),
  };
  for (const [name, kind] of Object.entries(seen.item || {})) {
    if (kind === "object") seen["item." + name] = members(item[name]);
  }
  seen.customProperties = null;
  if (item && typeof item.loadCustomPropertiesAsync === "function") {
    const result = await new Promise((resolve) => {
      item.loadCustomPropertiesAsync(resolve);
      setTimeout(() => resolve(null), 3000);
    });
    if (result && result.status === "succeeded") {
      window.__fidelityCustomProperties = result.value;
      seen.customProperties = members(result.value);
    }
  }
  return seen;
}"""

PROBE = """async ({path, member, args}) => {
  const context = Office.context;
  const roots = {mailbox: context.mailbox, item: context.mailbox.item,
                 customProperties: window.__fidelityCustomProperties};
  let target = roots[path.split(".")[0]];
  for (const part of path.split(".").slice(1)) target = target[part];
  const made = args.map((arg) => arg === "$date" ? new Date() : arg === "$fn" ? () => {}
    : arg === "$event" ? Office.EventType.ItemChanged : arg);
  let value;
  try {
    value = target[member];
  } catch (error) {
    return "fails";
  }
  if (typeof value !== "function") {
    // A field object (compose isAllDayEvent): calling its getAsync is what "using" it means.
    if (value && typeof value.getAsync === "function") { target = value; value = value.getAsync; } else return "works";
  }
  return await new Promise((resolve) => {
    const callback = (result) => resolve(result && result.status === "failed" ? "fails" : "works");
    try {
      const returned = value.apply(target, made.concat([callback]));
      if (!/Async$/.test(member) && !(value === target.getAsync)) resolve("works");
      if (returned && typeof returned.then === "function") {
        returned.then(() => resolve("works"), () => resolve("fails"));
      }
    } catch (error) {
      resolve("fails");
    }
    setTimeout(() => resolve("no answer"), 3000);
  });
}"""


def host_scenario(mode: str, version: str) -> dict:
    """An existing meeting: in compose, the signed-in organizer's own; in read, an attendee's view of another's."""
    organizer = ORGANIZER if mode == "compose" else "someone.else@contoso.com"
    item = outlook_item(activity_json(), organizer, item_id=new_item_id(), custom_properties={"probe": "1"})
    item["mode"] = mode
    return scenario("en-US", ORGANIZER, item, requirements={"Mailbox": version})


@pytest.fixture(scope="module")
def fake_host(browser, live_backend):
    """The fake Office host in the taskpane page, one page per (mode, version), inspected once and probed on demand."""
    pages = {}
    contexts = []

    @cache
    def seen(mode: str, version: str) -> dict:
        context = browser.new_context(locale="en-US", timezone_id=BROWSER_ZONE, viewport=PANE_SIZE)
        context.set_default_timeout(10_000)
        context.route("**/*", route_outside_world(live_backend))
        contexts.append(context)
        page = context.new_page()
        page.add_init_script(f"window.__officeScenario = {json.dumps(host_scenario(mode, version))};")
        page.goto(live_backend.url + "/taskpane/taskpane.html")
        pages[(mode, version)] = page
        return page.evaluate(INTROSPECT)

    def probe(mode: str, version: str, path: str, member: str) -> str:
        seen(mode, version)
        object_key = object_of(path, mode)
        table = {"time": TIME_PROBE_ARGS, "body": BODY_PROBE_ARGS}.get(object_key, {})
        args = table.get(member, PROBE_ARGS.get(member, []))
        return pages[(mode, version)].evaluate(PROBE, {"path": path, "member": member, "args": args})

    seen.probe = probe
    yield seen
    for context in contexts:
        context.close()


# ---------------------------------------------------------------- the tests


@pytest.mark.parametrize(("mode", "version", "path", "member"), list(cases()))
def test_the_fake_offers_a_member_only_where_outlook_documents_it(fake_host, mode, version, path, member):
    exposed = fake_host(mode, version).get(path) or {}
    offered, why = verdict(mode, version, path, member)
    if member not in exposed:
        return  # absent: right where Outlook does not offer it, and allowed where the taskpane does not need it
    if offered:
        assert exposed[member] in expected_shape(path, mode, member), (
            f"{path}.{member} in {mode} mode is a {exposed[member]}; Microsoft documents {why}")
        return
    outcome = fake_host.probe(mode, version, path, member)
    assert outcome == "fails", (
        f"{path}.{member} is exposed in {mode} mode at Mailbox {version} and {outcome} when used; "
        f"Outlook does not offer it there: {why}")
    print(f"exposed, fails: {path}.{member} in {mode} mode at Mailbox {version}")


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("mode", MODES)
def test_the_fake_exposes_nothing_else_undocumented(fake_host, mode, version):
    seen = fake_host(mode, version)
    wrong = []
    for path, exposed in seen.items():
        if not exposed or (path.startswith("item.") and path not in field_paths_offered(mode, version)):
            continue  # a field object Outlook does not offer here is judged as the item's member above
        for member in sorted(set(exposed) - set(CHECKED.get(path, []))):
            offered, why = verdict(mode, version, path, member)
            if not offered and fake_host.probe(mode, version, path, member) != "fails":
                wrong.append(f"{path}.{member}: {why}")
    assert not wrong, f"the fake exposes in {mode} mode at Mailbox {version}:\n" + "\n".join(wrong)


def test_the_table_names_its_source_and_the_members_the_taskpane_relies_on():
    assert TABLE["source"]["repository"] == "OfficeDev/office-js-docs-reference"
    assert len(TABLE["source"]["commit"]) == 40
    # Spot checks a reader can verify on learn.microsoft.com in a minute.
    assert ROWS[("mailbox", "displayNewAppointmentFormAsync")]["modes"] == ["Read"]
    assert ROWS[("mailbox", "displayAppointmentFormAsync")]["requirementSet"] == "Mailbox 1.9"
    assert ROWS[("appointmentCompose", "getItemIdAsync")]["requirementSet"] == "Mailbox 1.8"
    assert ROWS[("appointmentCompose", "isAllDayEvent")]["preview"] is True
    assert ROWS[("appointmentRead", "itemId")]["modes"] == ["Read"]
    assert ("appointmentCompose", "itemId") not in ROWS
    assert ROWS[("eventType", "AppointmentTimeChanged")]["requirementSet"] == "Mailbox 1.7"
    assert ROWS[("eventType", "EnhancedLocationsChanged")]["requirementSet"] == "Mailbox 1.8"
