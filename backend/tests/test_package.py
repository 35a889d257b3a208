"""The wheel and the sdist carry the built taskpane, and an installed wheel serves it with `crmbridge serve`."""

import os
import re
import socket
import subprocess
import sys
import tarfile
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.package

REPO = Path(__file__).resolve().parents[2]
HASHED = re.compile(r"static/(main|auth-dialog|taskpane)-[A-Z0-9]{8}\.(js|css)")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """`python -m build` as a release would run it (the build runs scripts/lib/bundle.sh), without build isolation
    so it needs no network: the sdist first, then the wheel from the sdist."""
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(REPO)],
                            capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Bundling the taskpane" in result.stderr
    wheel = next(out.glob("crmbridge-*.whl"))
    sdist = next(out.glob("crmbridge-*.tar.gz"))
    return wheel, sdist


def test_the_wheel_carries_the_built_taskpane_with_its_precompressed_files(built):
    wheel, _ = built
    names = set(zipfile.ZipFile(wheel).namelist())
    site = "crmbridge/taskpane_site/"
    page = zipfile.ZipFile(wheel).read(site + "taskpane.html").decode()
    referenced = set(HASHED.findall(page)) and {match.group(0) for match in HASHED.finditer(page)}
    assert {"static/main", "static/taskpane"} <= {name.rsplit("-", 1)[0] for name in referenced}
    for name in referenced:
        assert {site + name, site + name + ".br", site + name + ".gz"} <= names
    assert {site + "auth-dialog.html", site + "assets/icon-80.png"} <= names
    assert site + "assets/icon-80.png.gz" not in names  # images are not compressed again
    # Development only: never in the package.
    assert not any("preview" in name or "fake-office" in name or "node_modules" in name for name in names)


def test_the_sdist_carries_the_built_taskpane_and_what_builds_it_again(built):
    _, sdist = built
    names = {name.split("/", 1)[1] for name in tarfile.open(sdist).getnames() if "/" in name}
    assert {"addin/taskpane/dist/taskpane.html", "addin/taskpane/src/main.js", "package.json", "package-lock.json",
            "scripts/lib/bundle.sh", "scripts/lib/build-taskpane.mjs", "setup.py"} <= names
    assert not any(name.startswith("node_modules/") for name in names)


def test_an_installed_wheel_serves_the_taskpane(built, tmp_path):
    wheel, _ = built
    target = tmp_path / "installed"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-compile",
                    "--disable-pip-version-check", "--target", str(target), str(wheel)], check=True, timeout=300)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # The installed copy first on the path, the venv's dependencies after it; run from a folder with no checkout.
    env = {**os.environ, "PYTHONPATH": str(target), "CRMBRIDGE_ENV": "development",
           "CRMBRIDGE_INSTANCE_PATH": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    code = "import sys; from crmbridge.cli import main; sys.argv[0] = 'crmbridge'; main()"
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen([sys.executable, "-c", code, "serve", "--port", str(port), "--workers", "1"],
                               cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        page = None
        deadline = time.monotonic() + 120  # up within seconds; far longer on a busy machine
        while page is None and time.monotonic() < deadline and process.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/taskpane/taskpane.html", timeout=5) as answer:
                    page = answer.read().decode()
            except OSError:
                time.sleep(0.2)
        assert page, (tmp_path / "serve.log").read_text()
        script = HASHED.search(page).group(0)
        request = urllib.request.Request(f"http://127.0.0.1:{port}/taskpane/{script}",
                                         headers={"Accept-Encoding": "br"})
        with urllib.request.urlopen(request, timeout=5) as answer:
            assert answer.headers["Content-Encoding"] == "br"
            assert answer.headers["Cache-Control"] == "public, max-age=31536000, immutable"
            served = answer.read()
        assert served == zipfile.ZipFile(wheel).read(f"crmbridge/taskpane_site/{script}.br")
        # The same environment serves from the installed package's copy, not from the checkout's dist/.
        where = subprocess.run([sys.executable, "-c", "from crmbridge import create_app, taskpane; "
                                "print(taskpane.taskpane_dir(create_app()))"], cwd=tmp_path, env=env,
                               capture_output=True, text=True, check=True).stdout.strip()
        assert where == str(target / "crmbridge" / "taskpane_site")
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
