import hashlib
import importlib.metadata
import re
import shutil
import struct
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from lxml import etree

from crmbridge import manifest
from crmbridge.manifest import ManifestSchemaNotFoundError, render_manifest, validate_manifest

REPO = Path(__file__).resolve().parents[2]
CHECKED_IN_MANIFEST = REPO / "addin" / "manifest.xml"
ASSETS = REPO / "addin" / "taskpane" / "assets"
ICON_SIZES = (16, 32, 64, 80, 128)

VERSION = importlib.metadata.version("crmbridge") + ".0"
CLIENT_ID = "1b2c3d4e-0000-4000-8000-123456789abc"
NS = {
    "o": "http://schemas.microsoft.com/office/appforoffice/1.1",
    "bt": "http://schemas.microsoft.com/office/officeappbasictypes/1.0",
    "v10": "http://schemas.microsoft.com/office/mailappversionoverrides",
    "v11": "http://schemas.microsoft.com/office/mailappversionoverrides/1.1",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
}
XSI_TYPE = f"{{{NS['xsi']}}}type"


def parse(xml: str) -> etree._Element:
    return etree.fromstring(xml.encode("utf-8"))


def replace(text: str, old: str, new: str) -> str:
    """Replace the first ``old``; fail loudly if it is not there, so no case passes by not mutating."""
    assert old in text, f"{old!r} is not in the manifest"
    return text.replace(old, new, 1)


@pytest.fixture(scope="module")
def example() -> str:
    return render_manifest("https://crm.example.com", CLIENT_ID)


# The checked-in manifest


def test_the_checked_in_manifest_has_no_problems():
    assert validate_manifest(CHECKED_IN_MANIFEST.read_bytes()) == []


def test_the_checked_in_manifest_is_the_template_rendered_for_localhost():
    assert CHECKED_IN_MANIFEST.read_text(encoding="utf-8") == render_manifest("https://localhost:3000")


# Rendering


@pytest.mark.parametrize(
    ("base_url", "origin"),
    [
        ("https://crm.example.com", "https://crm.example.com"),
        ("https://crm.example.com/", "https://crm.example.com"),
        ("https://crm.example.com:8443", "https://crm.example.com:8443"),
        ("https://CRM.Example.com:443/", "https://crm.example.com"),
        ("https://localhost:3000", "https://localhost:3000"),
    ],
)
@pytest.mark.parametrize("client_id", [None, CLIENT_ID, CLIENT_ID.upper()])
def test_a_rendered_manifest_is_valid_and_uses_the_base_url_origin(base_url, origin, client_id):
    xml = render_manifest(base_url, client_id)

    assert validate_manifest(xml) == []
    root = parse(xml)
    assert root.find("o:SupportUrl", NS).get("DefaultValue") == f"{origin}/"
    assert root.findtext("o:AppDomains/o:AppDomain", namespaces=NS) == origin
    taskpane = root.find(".//bt:Url[@id='residTaskpaneUrl']", NS)
    assert taskpane.get("DefaultValue") == f"{origin}/taskpane/taskpane.html"
    expected_id = (client_id or manifest.DEFAULT_CLIENT_ID).lower()
    assert root.findtext(".//v11:WebApplicationInfo/v11:Id", namespaces=NS) == expected_id
    assert root.findtext(".//v11:WebApplicationInfo/v11:Resource", namespaces=NS) == (
        f"api://{urlsplit(origin).netloc}/{expected_id}"
    )


def test_the_version_is_the_package_version_with_a_fourth_part(example):
    assert parse(example).findtext("o:Version", namespaces=NS) == VERSION


def test_the_rendered_manifest_is_well_formed_and_has_both_appointment_command_surfaces(example):
    root = parse(example)

    older = [point.get(XSI_TYPE) for point in root.iterfind("v10:VersionOverrides//v10:ExtensionPoint", NS)]
    newer = [point.get(XSI_TYPE) for point in root.iterfind(".//v11:ExtensionPoint", NS)]
    assert older == ["AppointmentOrganizerCommandSurface", "AppointmentAttendeeCommandSurface"]
    assert newer == [*older, "LaunchEvent"]
    for point in root.iterfind(".//v11:ExtensionPoint[@xsi:type!='LaunchEvent']", NS):
        action = point.find(".//v11:Control/v11:Action", NS)
        assert action.get(XSI_TYPE) == "ShowTaskpane"
        assert action.find("v11:SourceLocation", NS).get("resid") == "residTaskpaneUrl"
        assert action.find("v11:SupportsPinning", NS) is None


def test_the_manifest_asks_for_read_write_item_and_mailbox_1_3(example):
    root = parse(example)

    assert root.findtext("o:Permissions", namespaces=NS) == "ReadWriteItem"
    mailbox = root.find("o:Requirements/o:Sets/o:Set", NS)
    assert (mailbox.get("Name"), mailbox.get("MinVersion")) == ("Mailbox", "1.3")
    assert [host.get("Name") for host in root.iterfind("o:Hosts/o:Host", NS)] == ["Mailbox"]


def test_web_application_info_is_the_last_child_of_version_overrides_1_1(example):
    overrides = parse(example).find(".//v11:VersionOverrides", NS)

    assert etree.QName(overrides[-1]).localname == "WebApplicationInfo"
    scopes = overrides[-1].findall("v11:Scopes/v11:Scope", NS)
    assert [scope.text for scope in scopes] == ["openid", "profile"]


def test_the_button_label_is_crm_meeting_in_english_and_danish(example):
    label = parse(example).find(".//bt:ShortStrings/bt:String[@id='residCrmMeetingLabel']", NS)

    assert label.get("DefaultValue") == "CRM meeting"
    assert label.find("bt:Override[@Locale='da-DK']", NS).get("Value") == "CRM-møde"


def test_a_trailing_slash_does_not_change_the_manifest():
    assert render_manifest("https://crm.example.com/") == render_manifest("https://crm.example.com")


@pytest.mark.parametrize(
    "base_url",
    [
        "http://crm.example.com",
        "ftp://crm.example.com",
        "crm.example.com",
        "https://crm.example.com/crm",
        "https://crm.example.com/taskpane/",
        "https://crm.example.com/?tenant=1",
        "https://crm.example.com#top",
        "https://admin:secret@crm.example.com",
        "https://",
        "https://crm.example.com:99999",
        "https://crm.example.com:0",
        "https://crm example.com",
        'https://crm.example.com"/><x',
        "not a url",
        "",
    ],
)
def test_render_manifest_rejects_a_base_url_that_is_not_an_https_origin(base_url):
    with pytest.raises(ValueError, match="base URL must be an https origin"):
        render_manifest(base_url)


@pytest.mark.parametrize("client_id", ["", "not-a-guid", "{1b2c3d4e-0000-4000-8000-123456789abc}", "1234"])
def test_render_manifest_rejects_a_client_id_that_is_not_a_guid(client_id):
    with pytest.raises(ValueError, match="client id must be a GUID"):
        render_manifest("https://crm.example.com", client_id)


@pytest.mark.parametrize("version", ["1.0", "1.0.0", "1.0.0.0.0", "1.0.0.dev1", "v1.0.0.0"])
def test_render_manifest_rejects_a_version_without_four_numeric_parts(version):
    with pytest.raises(ValueError, match="four numeric parts"):
        render_manifest("https://crm.example.com", version=version)


# Validation of broken manifests


BROKEN = {
    "permissions outside the schema's list": (
        lambda xml: replace(
            xml, "<Permissions>ReadWriteItem</Permissions>", "<Permissions>Bogus</Permissions>"
        ),
        "'Bogus' is not an element of the set",
    ),
    "elements out of schema order": (
        lambda xml: replace(
            xml,
            f"<Version>{VERSION}</Version>\n  <ProviderName>crmbridge</ProviderName>",
            f"<ProviderName>crmbridge</ProviderName>\n  <Version>{VERSION}</Version>",
        ),
        "ProviderName': This element is not expected",
    ),
    "an action's children out of schema order": (
        lambda xml: replace(
            xml,
            '<SourceLocation resid="residTaskpaneUrl"/>',
            '<SupportsPinning>true</SupportsPinning><SourceLocation resid="residTaskpaneUrl"/>',
        ),
        "SupportsPinning': This element is not expected",
    ),
    "a resid with no resource": (
        lambda xml: replace(
            xml, '<Label resid="residCrmMeetingLabel"/>', '<Label resid="residNoSuchString"/>'
        ),
        'resid "residNoSuchString" names no resource in Resources/ShortStrings',
    ),
    "a label pointing at a long string": (
        lambda xml: replace(
            xml, '<Label resid="residCrmMeetingLabel"/>', '<Label resid="residAddinDescription"/>'
        ),
        'resid "residAddinDescription" names no resource in Resources/ShortStrings',
    ),
    "an http URL": (
        lambda xml: replace(
            xml,
            '<bt:Url id="residTaskpaneUrl" DefaultValue="https:',
            '<bt:Url id="residTaskpaneUrl" DefaultValue="http:',
        ),
        'Url residTaskpaneUrl (line N): "http://localhost:3000/taskpane/taskpane.html" is not an https URL',
    ),
    "an icon on another origin": (
        lambda xml: replace(
            xml,
            "https://localhost:3000/taskpane/assets/icon-16.png",
            "https://cdn.example.net/taskpane/assets/icon-16.png",
        ),
        "is on https://cdn.example.net, not on the add-in's origin https://localhost:3000",
    ),
    "a support URL on another port": (
        lambda xml: replace(
            xml,
            'SupportUrl DefaultValue="https://localhost:3000/"',
            'SupportUrl DefaultValue="https://localhost:4000/"',
        ),
        "is on https://localhost:4000, not on the add-in's origin https://localhost:3000",
    ),
    "an app domain without a scheme": (
        lambda xml: replace(
            xml, "<AppDomain>https://localhost:3000</AppDomain>", "<AppDomain>localhost:3000</AppDomain>"
        ),
        '"localhost:3000" is not an https URL',
    ),
    "a wrong version": (
        lambda xml: replace(xml, f"<Version>{VERSION}</Version>", "<Version>99.0.0.0</Version>"),
        f'Version is "99.0.0.0" but must be "{VERSION}"',
    ),
    "a string resource without Danish": (
        lambda xml: replace(xml, '<bt:Override Locale="da-DK" Value="CRM-møde"/>', ""),
        'String residCrmMeetingLabel (line N): "CRM meeting" has no da-DK Override',
    ),
    "a display name without Danish": (
        lambda xml: replace(xml, '<Override Locale="da-DK" Value="CRM Bridge"/>', ""),
        'DisplayName (line N): "CRM Bridge" has no da-DK Override',
    ),
    "an SSO resource on another host": (
        lambda xml: replace(xml, "<Resource>api://localhost:3000/", "<Resource>api://crm.example.com/"),
        'Resource is "api://crm.example.com/00000000-0000-0000-0000-000000000000" but must be '
        '"api://localhost:3000/00000000-0000-0000-0000-000000000000"',
    ),
    "an unknown launch event": (
        lambda xml: replace(xml, 'Type="OnAppointmentSend"', 'Type="OnAppointmentSent"'),
        "'OnAppointmentSent' is not an event crmbridge handles (OnAppointmentSend)",
    ),
    "a send mode outside the schema's list": (
        lambda xml: replace(xml, 'SendMode="SoftBlock"', 'SendMode="HardBlock"'),
        "'HardBlock' is not an element of the set",
    ),
    "the send event under a too old requirement set": (
        lambda xml: replace(xml, '<bt:Sets DefaultMinVersion="1.12">', '<bt:Sets DefaultMinVersion="1.11">'),
        "OnAppointmentSend needs Mailbox 1.12, but its VersionOverrides requires 1.11 only",
    ),
    "a launch event whose source is not a runtime": (
        lambda xml: replace(xml, '<SourceLocation resid="residSendGuardPage"/>',
                            '<SourceLocation resid="residTaskpaneUrl"/>'),
        "the LaunchEvent's SourceLocation must name one of the Runtimes (residSendGuardPage)",
    ),
    "a truncated file": (
        lambda xml: xml[: len(xml) // 2],
        "the manifest is not well-formed XML",
    ),
}


@pytest.mark.parametrize(("break_it", "expected_problem"), BROKEN.values(), ids=BROKEN.keys())
def test_the_validator_reports_exactly_the_problem_in_a_broken_manifest(break_it, expected_problem):
    broken = break_it(render_manifest("https://localhost:3000"))

    problems = validate_manifest(broken)

    assert len(problems) == 1, problems
    # "(line N)" in the table stands for any line number.
    pattern = re.escape(expected_problem).replace(re.escape("(line N)"), r"\(line \d+\)")
    assert re.search(pattern, problems[0]), problems[0]


def test_the_validator_accepts_text_and_bytes(example):
    assert validate_manifest(example) == validate_manifest(example.encode("utf-8")) == []


# Locating the schemas


def test_the_schema_directory_can_be_named_in_the_environment(monkeypatch, tmp_path, example):
    for xsd in manifest._xsd_dir().glob("*.xsd"):
        shutil.copy(xsd, tmp_path)
    monkeypatch.setenv(manifest.XSD_DIR_ENV, str(tmp_path))

    assert manifest._xsd_dir() == tmp_path.resolve()
    assert validate_manifest(example) == []


def test_a_schema_directory_without_the_schemas_is_a_clear_error(monkeypatch, tmp_path, example):
    monkeypatch.setenv(manifest.XSD_DIR_ENV, str(tmp_path))

    with pytest.raises(ManifestSchemaNotFoundError, match=manifest.XSD_DIR_ENV):
        validate_manifest(example)


# Icons


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


@pytest.mark.parametrize("size", ICON_SIZES)
def test_each_icon_is_a_png_of_its_stated_size(size):
    assert png_size(ASSETS / f"icon-{size}.png") == (size, size)


def test_every_asset_the_manifest_names_is_in_the_assets_folder(example):
    root = parse(example)
    urls = [element.get("DefaultValue") for element in root.iter(tag=etree.Element)]
    assets = [urlsplit(url).path for url in urls if url and "/taskpane/assets/" in url]

    assert sorted(set(assets)) == sorted(f"/taskpane/assets/icon-{size}.png" for size in ICON_SIZES)
    for path in assets:
        assert (ASSETS / Path(path).name).is_file(), path


@pytest.mark.parametrize(
    ("element", "size"),
    [("o:IconUrl", 64), ("o:HighResolutionIconUrl", 128)],
)
def test_the_store_icons_have_the_sizes_outlook_expects(example, element, size):
    url = parse(example).find(element, NS).get("DefaultValue")

    assert png_size(ASSETS / Path(urlsplit(url).path).name) == (size, size)


def test_the_schemas_ship_inside_the_package_unchanged(monkeypatch):
    monkeypatch.delenv(manifest.XSD_DIR_ENV, raising=False)
    folder = manifest._xsd_dir()
    assert folder == Path(manifest.__file__).resolve().parent / "manifest_schemas"
    listed = {
        line.split()[1]: line.split()[0]
        for line in (folder / "README.md").read_text(encoding="utf-8").splitlines()
        if line.endswith(".xsd") or ".xsd " in line
        if len(line.split()[0]) == 64
    }
    actual = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.glob("*.xsd")}
    assert listed == actual and len(actual) == 6


def test_the_manifest_command_validates_with_the_packaged_schemas(monkeypatch, runner, tmp_path):
    monkeypatch.delenv(manifest.XSD_DIR_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(args=["manifest", "--base-url", "https://crm.example.com"])
    assert result.exit_code == 0, result.output
    assert validate_manifest(result.stdout) == []


def test_the_manifest_command_fails_when_the_schemas_are_missing(monkeypatch, runner, tmp_path):
    monkeypatch.setenv(manifest.XSD_DIR_ENV, str(tmp_path))
    result = runner.invoke(args=["manifest", "--base-url", "https://crm.example.com"])
    assert result.exit_code == 1
    assert manifest.XSD_DIR_ENV in result.output


# The send-time guard (Smart Alerts OnAppointmentSend)


def guard_event(xml: str) -> etree._Element:
    return parse(xml).find(".//v11:LaunchEvent[@Type='OnAppointmentSend']", NS)


def test_the_guard_is_declared_once_with_soft_block_and_its_handler_name(example):
    events = parse(example).findall(".//v11:LaunchEvent", NS)

    assert [(e.get("Type"), e.get("FunctionName"), e.get("SendMode")) for e in events] == [
        ("OnAppointmentSend", "onAppointmentSendHandler", "SoftBlock")]
    handler = (REPO / "addin" / "taskpane" / "src" / "send-guard.js").read_text(encoding="utf-8")
    assert 'const HANDLER_NAME = "onAppointmentSendHandler";' in handler
    assert "Office.actions.associate(HANDLER_NAME, onAppointmentSendHandler)" in handler


@pytest.mark.parametrize("send_mode", ["PromptUser", "SoftBlock", "Block"])
def test_each_send_mode_renders_a_valid_manifest(send_mode):
    xml = render_manifest("https://crm.example.com", send_mode=send_mode)

    assert validate_manifest(xml) == []
    assert guard_event(xml).get("SendMode") == send_mode


def test_an_unknown_send_mode_is_refused():
    with pytest.raises(ValueError, match="send mode must be one of PromptUser, SoftBlock, Block"):
        render_manifest("https://crm.example.com", send_mode="block")


def test_the_guard_has_a_page_for_browsers_and_a_bare_script_for_classic_outlook(example):
    root = parse(example)
    runtime = root.find(".//v11:Runtimes/v11:Runtime", NS)
    urls = {url.get("id"): url.get("DefaultValue") for url in root.iterfind(".//v11:Resources//bt:Url", NS)}

    assert urls[runtime.get("resid")] == "https://crm.example.com/taskpane/send-guard.html"
    override = runtime.find("v11:Override", NS)
    assert override.get("type") == "javascript"
    assert urls[override.get("resid")] == "https://crm.example.com/guard/send-guard.js"
    source = root.find(".//v11:ExtensionPoint[@xsi:type='LaunchEvent']/v11:SourceLocation", NS)
    assert source.get("resid") == runtime.get("resid")


def test_the_guard_needs_mailbox_1_12_while_older_clients_keep_the_buttons(example):
    root = parse(example)
    base = root.find("o:Requirements/o:Sets/o:Set", NS)
    outer = root.find("v10:VersionOverrides", NS)
    inner = outer.find("v11:VersionOverrides", NS)

    assert (base.get("Name"), base.get("MinVersion")) == ("Mailbox", "1.3")
    assert outer.find("v10:Requirements", NS) is None
    assert inner.find("v11:Requirements/bt:Sets", NS).get("DefaultMinVersion") == "1.12"
    assert outer.find(".//v10:LaunchEvent", NS) is None and outer.find(".//v10:Runtimes", NS) is None

    def buttons(overrides: etree._Element, ns: str) -> list[tuple]:
        """Every element of the command surfaces, as (tag, attributes): the same buttons on both sides."""
        points = [p for p in overrides.iterfind(f".//{ns}:ExtensionPoint", NS) if p.get(XSI_TYPE) != "LaunchEvent"]
        return [(etree.QName(e).localname, dict(e.attrib)) for p in points for e in p.iter(tag=etree.Element)]

    assert buttons(outer.find("v10:Hosts", NS), "v10") == buttons(inner, "v11")
    assert [kind for tag, attrs in buttons(inner, "v11") if tag == "ExtensionPoint" for kind in attrs.values()] == [
        "AppointmentOrganizerCommandSurface", "AppointmentAttendeeCommandSurface"]


def test_the_manifest_command_writes_block_when_asked(runner, tmp_path):
    target = tmp_path / "manifest.xml"

    result = runner.invoke(args=["manifest", "--base-url", "https://crm.example.com", "--send-mode", "block",
                                 "-o", str(target)])

    assert result.exit_code == 0, result.output
    xml = target.read_text(encoding="utf-8")
    assert validate_manifest(xml) == []
    assert guard_event(xml).get("SendMode") == "Block"


def test_the_manifest_command_writes_soft_block_by_default(runner):
    result = runner.invoke(args=["manifest", "--base-url", "https://crm.example.com"])

    assert guard_event(result.stdout).get("SendMode") == "SoftBlock"
