"""The taskpane's build (scripts/lib/build-taskpane.mjs): what each page loads at start and lazily.

The pane loads its own script and the stylesheet at start and MSAL.js as one lazily imported file; it shares no
start file with the sign-in dialog but the stylesheet, and the Danish strings are neither preloaded nor listed.
Built once into a temporary folder; Node.js and the npm packages are needed (CI has them; elsewhere the tests skip
without them).
"""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPO / "scripts" / "lib" / "build-taskpane.mjs"
HASHED = re.compile(r"^static/[a-z0-9-]+-[A-Z0-9]{8}\.(js|css)$")
PRELOAD = re.compile(r'<link rel="modulepreload" href="([^"]+)">')
IMPORT = re.compile(r'(?:\bfrom\s*|\bimport\s*\(?\s*)"(\./[^"]+)"')


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    if not shutil.which("node") or not (REPO / "node_modules" / "esbuild").exists():
        if os.environ.get("CI") == "true":
            pytest.fail("CI needs Node.js and the npm packages (npm ci) to build the taskpane.")
        pytest.skip("Node.js or the taskpane's npm packages are missing (npm ci)")
    out = tmp_path_factory.mktemp("taskpane-site")
    result = subprocess.run(["node", str(BUILD_SCRIPT), "--outdir", str(out)], cwd=REPO, capture_output=True,
                            text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture(scope="module")
def graph(site) -> dict:
    return json.loads((site / "build.json").read_text())


def imports_of(site: Path, name: str) -> set[str]:
    """The files a built script imports (statically or dynamically), as site paths."""
    text = (site / name).read_text()
    return {f"static/{found[2:]}" for found in IMPORT.findall(text)}


def test_the_pane_loads_its_script_and_stylesheet_at_start_and_msal_as_one_lazy_file(site, graph):
    pane = graph["taskpane.html"]
    assert [name.rsplit("-", 1)[0] for name in pane["start"]] == ["static/main", "static/taskpane"]
    assert [name.rsplit("-", 1)[0] for name in pane["lazy"]] == ["static/msal"]
    msal = pane["lazy"][0]
    assert b"InteractionRequiredAuthError" in (site / msal).read_bytes()
    assert imports_of(site, msal) == set()  # whole: no chunk of its own to wait for
    main = pane["start"][0]
    assert msal in imports_of(site, main)
    # Preloaded: MSAL.js only, so it downloads and compiles beside the start; nothing the pane does not use.
    assert PRELOAD.findall((site / "taskpane.html").read_text()) == [msal]


def test_the_pane_shares_no_start_file_with_the_sign_in_dialog_but_the_stylesheet(graph):
    pane, dialog = graph["taskpane.html"], graph["auth-dialog.html"]
    shared = set(pane["start"]) & set(dialog["start"] + dialog["lazy"])
    assert {name.rsplit("-", 1)[0] for name in shared} == {"static/taskpane"}
    assert not any(name.rsplit("-", 1)[0] == "static/chunk" for name in pane["start"] + dialog["start"])


def test_the_danish_strings_are_one_file_only_a_danish_pane_imports(site, graph):
    pane = graph["taskpane.html"]
    main = pane["start"][0]
    danish = [name for name in imports_of(site, main) if name.startswith("static/i18n-da-")]
    assert len(danish) == 1
    assert danish[0] not in pane["start"] + pane["lazy"]
    assert danish[0] not in PRELOAD.findall((site / "taskpane.html").read_text())
    assert imports_of(site, danish[0]) == set()
    assert "Indlæser" in (site / danish[0]).read_text()


def test_every_listed_file_is_hashed_and_precompressed(site, graph):
    for page in graph.values():
        for name in page["start"] + page["lazy"]:
            assert HASHED.match(name), name
            assert (site / name).exists() and (site / f"{name}.br").exists() and (site / f"{name}.gz").exists()
