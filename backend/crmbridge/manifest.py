"""Render and check the Outlook add-in-only XML manifest.

Plain functions, no Flask. The Office manifest XSDs ship inside the package (``manifest_schemas/``, with their
source in its README), so every install validates; ``CRMBRIDGE_MANIFEST_XSD_DIR`` names another copy.
"""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.resources
import os
import re
import string
import textwrap
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

from lxml import etree

# A recognisable "not configured yet" value; deployments pass their Entra app's client id.
DEFAULT_CLIENT_ID = "00000000-0000-0000-0000-000000000000"
# Smart Alerts send modes (docs-pr: docs/outlook/onmessagesend-onappointmentsend-events.md); SoftBlock is Outlook's
# default. Block keeps a meeting unsent while the add-in is unavailable and needs an admin deployment.
SEND_MODES = ("PromptUser", "SoftBlock", "Block")
DEFAULT_SEND_MODE = "SoftBlock"
XSD_DIR_ENV = "CRMBRIDGE_MANIFEST_XSD_DIR"

_ROOT_XSD = "OfficeAppManifestV1_1.xsd"
_VENDORED_XSD_DIR = Path(__file__).resolve().parent / "manifest_schemas"
_NS = {
    "o": "http://schemas.microsoft.com/office/appforoffice/1.1",
    "bt": "http://schemas.microsoft.com/office/officeappbasictypes/1.0",
}
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_MANIFEST_VERSION = re.compile(r"\d{1,5}(\.\d{1,5}){3}")
_HOSTNAME = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*")

# Which Resources collection a resid on each referencing element must name.
_RESID_COLLECTIONS = {
    "Image": "Images",
    "SourceLocation": "Urls",
    "FunctionFile": "Urls",
    "Label": "ShortStrings",
    "Title": "ShortStrings",
    "Tooltip": "ShortStrings",
    "Description": "LongStrings",
}
_RESOURCE_ITEMS = {"Images": "Image", "Urls": "Url", "ShortStrings": "String", "LongStrings": "String"}
# LaunchEvent/@Type is free text in the XSDs: the events crmbridge declares, and which of them take a SendMode
# (docs-pr: docs/develop/event-based-activation.md "Supported events").
_LAUNCH_EVENTS = {"OnAppointmentSend": "1.12"}
_SEND_EVENTS = {"OnMessageSend", "OnAppointmentSend"}
_URL_ELEMENTS = {"IconUrl", "HighResolutionIconUrl", "SupportUrl", "SourceLocation", "Url", "Image"}


class ManifestSchemaNotFoundError(FileNotFoundError):
    """The Office manifest XSDs could not be found, so a manifest cannot be validated."""


def render_manifest(base_url: str, client_id: str | None = None, version: str | None = None,
                    send_mode: str = DEFAULT_SEND_MODE) -> str:
    """Return the manifest XML for an add-in served from ``base_url``.

    ``base_url`` is the https origin serving ``/taskpane/`` (a trailing slash is fine).
    ``client_id`` is the Entra application (client) id; ``version`` defaults to the installed
    package version plus ``.0``, because Office wants four parts. ``send_mode`` is the send-time
    guard's Smart Alerts send mode: PromptUser, SoftBlock (default) or Block.
    """
    origin, host = _parse_base_url(base_url)
    if client_id is None:
        client_id = DEFAULT_CLIENT_ID
    if not _GUID.fullmatch(client_id):
        raise ValueError(
            f"client id must be a GUID like 1b2c3d4e-0000-4000-8000-123456789abc, not {client_id!r}"
        )
    if version is None:
        version = _expected_version()
    if not _MANIFEST_VERSION.fullmatch(version):
        raise ValueError(f"manifest version must have four numeric parts like 1.2.3.0, not {version!r}")
    if send_mode not in SEND_MODES:
        raise ValueError(f"send mode must be one of {', '.join(SEND_MODES)}, not {send_mode!r}")
    values = {"base_url": origin, "host": host, "client_id": client_id.lower(), "version": version,
              "send_mode": send_mode}
    # The command buttons and the resources appear twice: for clients below Mailbox 1.12 (VersionOverridesV1_0)
    # and in the VersionOverridesV1_1 that adds the send-time guard.
    commands = _template("manifest-commands.xml", values)
    resources = _template("manifest-resources.xml", values)
    for prefix, indent in (("v1_0", 10), ("v1_1", 12)):
        values[f"commands_{prefix}"] = textwrap.indent(commands, " " * indent).rstrip("\n")
        values[f"resources_{prefix}"] = textwrap.indent(resources, " " * (indent - 4)).rstrip("\n")
    return _template("manifest.xml", values)


def _template(name: str, values: dict[str, str]) -> str:
    template = importlib.resources.files("crmbridge").joinpath(f"templates/{name}")
    return string.Template(template.read_text(encoding="utf-8")).substitute(values)


def validate_manifest(xml: str | bytes) -> list[str]:
    """Return the problems found in a manifest, each a readable sentence; empty means valid.

    Checks the XSDs first, then what they cannot express: resource ids resolve to the right kind
    of resource, all URLs are https on one origin, the SSO resource is on that origin's host,
    every string has a Danish override, and the version is the installed package's plus ".0".
    """
    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    try:
        root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as exc:
        return [f"the manifest is not well-formed XML: {exc}"]

    schema = _schema(_xsd_dir())
    problems = [] if schema.validate(root) else [f"line {e.line}: {e.message}" for e in schema.error_log]
    problems += _unresolved_resids(root)
    origin = _main_origin(root)
    problems += _url_problems(root, origin)
    problems += _sso_resource_problems(root, origin)
    problems += _missing_danish(root)
    problems += _version_problems(root)
    problems += _launch_event_problems(root)
    return problems


def _parse_base_url(base_url: str) -> tuple[str, str]:
    """Return (origin, host with any non-default port) of an https origin, or raise ValueError."""
    problem = f"base URL must be an https origin like https://crm.example.com, not {base_url!r}"
    try:
        parts = urlsplit(base_url)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"{problem} ({exc})") from None
    if parts.scheme.lower() != "https":
        raise ValueError(f"{problem}: Outlook loads add-ins over https only")
    if parts.username is not None or parts.password is not None:
        raise ValueError(f"{problem}: it must not contain a user name or password")
    if parts.path not in ("", "/") or "?" in base_url or "#" in base_url:
        raise ValueError(f"{problem}: it must not have a path, query or fragment")
    host = parts.hostname or ""
    if not _HOSTNAME.fullmatch(host):
        raise ValueError(f"{problem}: {host!r} is not a DNS host name (use the punycode form)")
    if port == 0:
        raise ValueError(f"{problem}: port 0 is not a port")
    if port is not None and port != 443:
        host = f"{host}:{port}"
    return f"https://{host}", host


def _expected_version() -> str:
    return importlib.metadata.version("crmbridge") + ".0"


def _xsd_dir() -> Path:
    configured = os.environ.get(XSD_DIR_ENV)
    if configured:
        path = Path(configured)
        if not (path / _ROOT_XSD).is_file():
            raise ManifestSchemaNotFoundError(f"{XSD_DIR_ENV}={configured} has no {_ROOT_XSD} in it")
        return path.resolve()
    if not (_VENDORED_XSD_DIR / _ROOT_XSD).is_file():
        raise ManifestSchemaNotFoundError(
            f"the package has no {_ROOT_XSD} in {_VENDORED_XSD_DIR}: reinstall crmbridge, "
            f"or set {XSD_DIR_ENV} to the directory holding the Office manifest XSDs"
        )
    return _VENDORED_XSD_DIR


@functools.cache
def _schema(xsd_dir: Path) -> etree.XMLSchema:
    # Parsed by path so that the relative xs:import schemaLocations resolve.
    return etree.XMLSchema(etree.parse(str(xsd_dir / _ROOT_XSD)))


def _elements(root: etree._Element) -> Iterator[etree._Element]:
    return root.iter(tag=etree.Element)


def _name(element: etree._Element) -> str:
    return etree.QName(element).localname


def _describe(element: etree._Element) -> str:
    """Name an element for a message: its tag, its resource id if any, and its line."""
    if _name(element) == "Override":
        return f"the {element.get('Locale')} Override of {_describe(element.getparent())}"
    label = _name(element)
    if element.get("id"):
        label += f" {element.get('id')}"
    return f"{label} (line {element.sourceline})"


def _unresolved_resids(root: etree._Element) -> list[str]:
    defined: dict[str, set[str]] = {collection: set() for collection in _RESOURCE_ITEMS}
    for collection, item in _RESOURCE_ITEMS.items():
        for resource in root.iterfind(f".//bt:{collection}/bt:{item}", _NS):
            defined[collection].add(resource.get("id"))
    everything = set().union(*defined.values())

    problems = []
    for element in _elements(root):
        resid = element.get("resid")
        if resid is None:
            continue
        collection = _RESID_COLLECTIONS.get(_name(element))
        if resid not in (defined[collection] if collection else everything):
            problems.append(
                f'{_describe(element)}: resid "{resid}" names no resource in Resources/{collection or "*"}'
            )
    return problems


def _urls(root: etree._Element) -> Iterator[tuple[etree._Element, str]]:
    for element in _elements(root):
        name = _name(element)
        if name == "AppDomain":
            yield element, (element.text or "").strip()
        elif name in _URL_ELEMENTS and element.get("DefaultValue") is not None:
            yield element, element.get("DefaultValue")
            for override in element.iterfind("{*}Override"):
                yield override, override.get("Value", "")


def _origin(url: str) -> str | None:
    """The https origin of ``url`` (default port dropped), or None if it is not an https URL."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() != "https" or not parts.hostname:
        return None
    return f"https://{parts.hostname}" + (f":{port}" if port not in (None, 443) else "")


def _main_origin(root: etree._Element) -> str | None:
    """The origin most of the manifest's URLs agree on: the add-in's own. The odd ones out are mistakes."""
    origins = [origin for _, url in _urls(root) if (origin := _origin(url))]
    return Counter(origins).most_common(1)[0][0] if origins else None


def _url_problems(root: etree._Element, main_origin: str | None) -> list[str]:
    problems = []
    for element, url in _urls(root):
        origin = _origin(url)
        if origin is None:
            problems.append(f'{_describe(element)}: "{url}" is not an https URL')
        elif origin != main_origin:
            problems.append(
                f'{_describe(element)}: "{url}" is on {origin}, not on the add-in\'s origin {main_origin}'
            )
    return problems


def _sso_resource_problems(root: etree._Element, main_origin: str | None) -> list[str]:
    # Office only issues SSO tokens when the Application ID URI's host is the add-in's own host.
    if main_origin is None:
        return []
    problems = []
    for info in root.iterfind(".//{*}WebApplicationInfo"):
        expected = f"api://{main_origin.removeprefix('https://')}/{info.findtext('{*}Id', '').strip()}"
        actual = info.findtext("{*}Resource", "").strip()
        if actual != expected:
            problems.append(f'{_describe(info)}: Resource is "{actual}" but must be "{expected}"')
    return problems


def _missing_danish(root: etree._Element) -> list[str]:
    localized = root.findall("o:DisplayName", _NS) + root.findall("o:Description", _NS)
    localized += root.findall(".//bt:ShortStrings/bt:String", _NS)
    localized += root.findall(".//bt:LongStrings/bt:String", _NS)
    return [
        f'{_describe(element)}: "{element.get("DefaultValue")}" has no da-DK Override'
        for element in localized
        if not any(o.get("Locale", "").lower() == "da-dk" for o in element.iterfind("{*}Override"))
    ]


def _version_problems(root: etree._Element) -> list[str]:
    expected = _expected_version()
    actual = root.findtext("o:Version", namespaces=_NS)
    if actual == expected:
        return []
    return [
        f'Version is "{actual}" but must be "{expected}": the installed crmbridge package version plus ".0"'
    ]


def _launch_event_problems(root: etree._Element) -> list[str]:
    """What the XSDs leave open about event-based activation: known event names, a SendMode on send events only,
    an event that needs a newer Mailbox set than its VersionOverrides requires, and a SourceLocation naming one of
    the Runtimes (docs-pr: docs/outlook/smart-alerts-onmessagesend-walkthrough.md)."""
    problems = []
    for event in root.iterfind(".//{*}LaunchEvent[@Type]"):
        name = event.get("Type")
        if name not in _LAUNCH_EVENTS:
            problems.append(f"{_describe(event)}: {name!r} is not an event crmbridge handles "
                            f"({', '.join(sorted(_LAUNCH_EVENTS))})")
            continue
        if event.get("SendMode") and name not in _SEND_EVENTS:
            problems.append(f"{_describe(event)}: SendMode is for send events only")
        overrides = next(a for a in event.iterancestors() if _name(a) == "VersionOverrides")
        required = overrides.find("{*}Requirements/bt:Sets", _NS)
        minimum = required.get("DefaultMinVersion") if required is not None else "1.1"
        if _version_tuple(minimum) < _version_tuple(_LAUNCH_EVENTS[name]):
            problems.append(f"{_describe(event)}: {name} needs Mailbox {_LAUNCH_EVENTS[name]}, but its "
                            f"VersionOverrides requires {minimum} only")
        point = next(a for a in event.iterancestors() if _name(a) == "ExtensionPoint")
        source = point.find("{*}SourceLocation")
        runtimes = {r.get("resid") for r in overrides.iterfind(".//{*}Runtimes/{*}Runtime")}
        if source is None or source.get("resid") not in runtimes:
            problems.append(f"{_describe(event)}: the LaunchEvent's SourceLocation must name one of the Runtimes "
                            f"({', '.join(sorted(runtimes)) or 'none'})")
    return problems


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".") if part.isdigit())
