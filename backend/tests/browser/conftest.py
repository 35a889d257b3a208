"""Browser tests: the real taskpane in headless Chromium, a fake Office.js in place of Microsoft's, the real backend.

One backend (a temporary SQLite database with the demo data) and one browser per session; a new browser context
per test. Each test signs in as its own organizer, so the activities one test creates never show up in another.
If /usr/bin/chromium is missing the tests skip, except on CI (CI=true), where that is a failure. The taskpane's
bundle (addin/taskpane/dist/) is made first when it is missing or older than its sources, so these tests also run
on their own; without Node.js that fails with the reason.
"""

import os
import subprocess
import threading
import uuid

import pytest
from playwright.sync_api import expect, sync_playwright
from werkzeug.serving import make_server

from crmbridge import create_app, db, demo, migrations

from .browser_support import (
    BROWSER_ZONE,
    CHROMIUM,
    LANGUAGES,
    PANE_SIZE,
    REPO,
    TASKPANE,
    TEXT,
    Api,
    LiveBackend,
    Pane,
    route_outside_world,
)

BUNDLE_SCRIPT = REPO / "scripts" / "lib" / "bundle.sh"
BUILD_SCRIPT = REPO / "scripts" / "lib" / "build-taskpane.mjs"
BUNDLES = [TASKPANE / "dist" / name for name in ("taskpane.html", "auth-dialog.html", "send-guard.js")]
# How long a waiting assertion waits for the pane (a bound, not a measure): generous, for a busy machine.
expect.set_options(timeout=15_000)


def closing_files_first(app):
    """Buffer each response, closing its iterator (an open static file) before the socket is written.

    werkzeug's development server skips the iterator's close() when the browser drops the connection mid-file
    (the preview reloads its iframe so): the file would be left open, and a ResourceWarning fails the run.
    """

    def wsgi(environ, start_response):
        iterable = app(environ, start_response)
        try:
            return [b"".join(iterable)]
        finally:
            if hasattr(iterable, "close"):
                iterable.close()

    return wsgi


@pytest.fixture(scope="session")
def live_backend(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('browser-db') / 'crmbridge.sqlite3'}"
    migrations.upgrade(url)
    app = create_app({
        "TESTING": True,
        "DATABASE_URL": url,
        "ORG_DOMAINS": ["contoso.com"],
        "SECRET_KEY": "browser-tests-secret-key",
    })
    demo.seed(app)
    server = make_server("127.0.0.1", 0, closing_files_first(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="crmbridge-browser-backend", daemon=True)
    thread.start()
    try:
        yield LiveBackend(app, f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        db.engine(app).dispose()


# ---------------------------------------------------------------- the bundle


def bundle_inputs() -> list:
    return [*(TASKPANE / "src").glob("*.js"), *TASKPANE.glob("*.html"), *TASKPANE.glob("*.css"),
            REPO / "package.json", REPO / "package-lock.json", BUNDLE_SCRIPT, BUILD_SCRIPT]


@pytest.fixture(scope="session")
def taskpane_bundle() -> None:
    """dist/ as scripts/lib/bundle.sh makes it, made again when a source is newer."""
    newest_input = max(path.stat().st_mtime for path in bundle_inputs())
    if all(path.exists() and path.stat().st_mtime >= newest_input for path in BUNDLES):
        return
    result = subprocess.run(["bash", str(BUNDLE_SCRIPT)], cwd=REPO, capture_output=True, text=True, timeout=600,
                            check=False)
    if result.returncode != 0 or not all(path.exists() for path in BUNDLES):
        pytest.fail(f"The taskpane could not be bundled ({BUNDLE_SCRIPT.relative_to(REPO)}):\n"
                    f"{result.stdout}{result.stderr}", pytrace=False)


# ---------------------------------------------------------------- the browser


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: install Debian's chromium package (never `playwright install`)."
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return str(CHROMIUM)


@pytest.fixture(scope="session")
def browser(chromium_path, live_backend, taskpane_bundle):
    """One headless Chromium per session; closed before the backend stops, so no connection is left open."""
    args = ["--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-gpu"]
    if os.geteuid() == 0:
        args.insert(0, "--no-sandbox")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path, headless=True, args=args)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(params=LANGUAGES)
def lang(request) -> str:
    return request.param


@pytest.fixture
def text(lang) -> dict:
    return TEXT[lang]


@pytest.fixture
def organizer() -> str:
    return f"organizer-{uuid.uuid4().hex[:10]}@contoso.com"


@pytest.fixture
def api(live_backend, organizer) -> Api:
    return live_backend.api(organizer)


@pytest.fixture
def context_for(browser, live_backend):
    """A new browser context per test, in a pane-sized window, with Office.js served by the fake."""
    contexts = []

    def make(lang: str):
        context = browser.new_context(locale=lang, timezone_id=BROWSER_ZONE, viewport=PANE_SIZE)
        context.set_default_timeout(10_000)
        context.route("**/*", route_outside_world(live_backend))
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def pane(context_for, live_backend, lang) -> Pane:
    return Pane(context_for(lang).new_page(), live_backend, lang)


@pytest.fixture
def pane_en(context_for, live_backend) -> Pane:
    """For tests where the language does not matter."""
    return Pane(context_for("en-US").new_page(), live_backend, "en-US")




@pytest.fixture
def graph_on(live_backend):
    """The live backend in application mode against a fake Graph server (no faults), for the flows that need
    Graph; the backend goes back to Graph off afterwards."""
    from fake_graph import start_fake_graph

    from crmbridge.graph import GraphClient
    from crmbridge.graph import setup as graph_setup

    app = live_backend.app
    before = app.extensions.get(graph_setup.EXTENSION)
    base_url, fake, stop = start_fake_graph(seed=9, domains=("contoso.com",))
    client = GraphClient(lambda mailbox: "app-token", base_url=base_url, timeout=(1.0, 3.0), max_retries=1,
                         sleep=lambda seconds: None)
    graph_setup.install(app, client)
    fake.client = client
    try:
        yield fake
    finally:
        if before is None:
            app.extensions.pop(graph_setup.EXTENSION, None)
        else:
            app.extensions[graph_setup.EXTENSION] = before
        stop()
        client.close()
