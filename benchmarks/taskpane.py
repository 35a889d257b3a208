"""The taskpane on the wire and on the CPU, in headless Chromium: the new build against the unsplit one, one run.

Builds the taskpane twice from the same sources (scripts/lib/build-taskpane.mjs): as now (content-hashed files,
MSAL.js in a lazily imported chunk, precompressed brotli and gzip) and unsplit as the baseline (one file per entry
with MSAL.js inside, no hashes, nothing precompressed: how the taskpane was built and served before). Each is served
by the real app over HTTPS (Chromium offers brotli on secure origins only, and Outlook loads the pane over https)
from a temporary SQLite database, with the fake Office.js in place of Microsoft's. Both are served the same way, as
browsers reach a deployment (docs/operations.md): gunicorn (a gthread worker) with persistent HTTP/1.1 connections
(keep-alive), not werkzeug's development server, which closes the connection after every answer and so charges a
new TLS handshake per file. (Production's proxy may speak HTTP/2, one connection for every file; that would favour
the build of several files further.) Sign-in as in production: the backend names an Entra app in its own
/taskpane/config.json and the token comes by nested app authentication through MSAL.js, from the fake Office's
broker (the test stub, answering with a development token the test-mode backend accepts), so MSAL.js is loaded,
parsed and run in both builds before the lookup can be made.

For each build, condition and round, alternating builds so both see the same machine, under three conditions: the
CPU at full speed and 4x throttled by Chromium, over this machine's loopback (no latency, so bytes cost nothing),
and at full CPU over an emulated link as an organizer's Outlook reaches the server from an office or a VPN
(Chromium's network emulation: NETWORK below, 20 Mbit/s down, 5 up, 40 ms added to each request). In each: a cold
open (new profile, empty cache) and a warm reopen (same profile). Prints bytes on the wire for the taskpane's own
files (headers included, as Chromium counts them), JavaScript and CSS bytes downloaded, and two times from
navigation start (medians of the rounds), with new/baseline ratios:

  to item shown  first content: the Outlook item's subject in the pane's header (view.js renderHeader), read from
                 Office while the lookup still runs; it needs neither MSAL.js nor the backend
  to activity    the lookup's answer rendered: the CRM activity's line (renderLinked's .crm__activity) naming the
                 activity's subject. The scenario's Outlook item has the activity's subject, so the subject alone
                 appearing anywhere in the pane would be the header, not the activity.

    .venv/bin/python benchmarks/taskpane.py [--rounds 5]
"""

import argparse
import base64
import json
import os
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "backend"))
sys.path.insert(0, str(ROOT / "backend" / "tests"))

from browser.browser_support import (  # noqa: E402
    CHROMIUM,
    FAKE_OFFICE,
    PANE_SIZE,
    Api,
    internal_attendees,
    new_item_id,
    outlook_item,
    scenario,
)
from browser.wire import ENTRA_CLIENT_ID, Wire, entra_sign_in  # noqa: E402

from crmbridge import create_app, db, devcert, migrations  # noqa: E402
from crmbridge.auth import dev_tokens  # noqa: E402

ORGANIZER = "benchmark.organizer@contoso.com"
# An office's or a VPN's link to the server, as Chromium's DevTools protocol emulates one (bytes per second, ms).
NETWORK = {"offline": False, "latency": 40, "downloadThroughput": 20_000_000 / 8, "uploadThroughput": 5_000_000 / 8}
CONDITIONS = (("CPU 1x", 1, None), ("CPU 4x", 4, None), ("CPU 1x, link", 1, NETWORK))
SECRET = "benchmark-secret-key"
# Set by the page itself, no polling from outside: __itemShownAt when the header shows the Outlook item's subject,
# __renderedAt when the CRM activity's line (the lookup's answer) shows the activity's subject.
RENDER_PROBE = """
window.__itemShownAt = null;
window.__renderedAt = null;
new MutationObserver((_, observer) => {
  const subject = %s;
  const has = (selector) => document.querySelector(selector)?.textContent.includes(subject);
  if (window.__itemShownAt === null && has("#app h1.meeting__subject")) window.__itemShownAt = performance.now();
  if (has("#app .crm__activity")) { window.__renderedAt = performance.now(); observer.disconnect(); }
}).observe(document, {subtree: true, childList: true, characterData: true});
"""

def build(outdir: Path, unsplit: bool) -> None:
    command = ["node", str(ROOT / "scripts/lib/build-taskpane.mjs"), "--outdir", str(outdir)]
    subprocess.run(command + (["--unsplit"] if unsplit else []), cwd=ROOT, check=True)


def wsgi_app():
    """gunicorn's app factory (serve): the app configured by the benchmark through PANE_BENCH_APP."""
    return create_app(json.loads(os.environ["PANE_BENCH_APP"]))


def serve(site: Path, database_url: str, certs) -> tuple[str, subprocess.Popen]:
    """The app under gunicorn, the production server, with persistent HTTP/1.1 connections over TLS: one worker of
    threads (gthread), keep-alive 5 s. Browsers reach production through a reverse proxy that keeps connections
    open (docs/operations.md); werkzeug's development server closes every one, so each file would cost a new
    connection and TLS handshake, which punishes a build of several files in a way no deployment does."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # An Entra app named, as in production: the backend's own /taskpane/config.json tells the pane to sign in with
    # MSAL.js (the fake Office's broker answers with a development token, which a test-mode backend accepts).
    config = {"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": SECRET, "ORG_DOMAINS": ["contoso.com"],
              "TASKPANE_DIR": str(site), "ENTRA_CLIENT_ID": ENTRA_CLIENT_ID,
              "ENTRA_APP_ID_URI": f"api://127.0.0.1:{port}/{ENTRA_CLIENT_ID}"}
    command = [sys.executable, "-m", "gunicorn", "--chdir", str(ROOT / "benchmarks"), "--bind", f"127.0.0.1:{port}",
               "--worker-class", "gthread", "--workers", "1", "--threads", "4", "--keep-alive", "5",
               "--certfile", str(certs.cert), "--keyfile", str(certs.key), "--no-control-socket",
               "--log-level", "warning", "taskpane:wsgi_app()"]
    server = subprocess.Popen(command, env={**os.environ, "PANE_BENCH_APP": json.dumps(config)})
    origin = f"https://127.0.0.1:{port}"
    insecure = ssl.create_default_context()
    insecure.check_hostname, insecure.verify_mode = False, ssl.CERT_NONE
    for _ in range(300):
        try:
            with urllib.request.urlopen(origin + "/healthz", context=insecure, timeout=1):
                return origin, server
        except OSError:
            if server.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({server.returncode})") from None
            time.sleep(0.1)
    server.terminate()
    raise RuntimeError("gunicorn did not answer /healthz")


def open_pane(context, origin: str, item: dict, subject: str, throttle: float, network: dict | None) -> dict:
    page = context.new_page()
    _, extras = entra_sign_in(origin, dev_tokens.issue(SECRET, ORGANIZER))  # the backend serves the configuration
    wire = Wire(page, FAKE_OFFICE)
    wire.throttle_cpu(throttle)
    if network:
        wire.cdp.send("Network.emulateNetworkConditions", network)
    page.add_init_script(f"window.__officeScenario = {json.dumps(scenario('en-US', ORGANIZER, item, **extras))};")
    page.add_init_script(RENDER_PROBE % json.dumps(subject))
    page.goto(origin + "/taskpane/taskpane.html")
    page.wait_for_function("() => window.__renderedAt !== null", timeout=60_000)
    page.wait_for_load_state("networkidle")
    rendered, item_shown = page.evaluate("[window.__renderedAt, window.__itemShownAt]")
    own = [t for t in wire.of(origin) if not t.url.endswith("/config.json")]
    code = [t for t in own if t.url.endswith((".js", ".css"))]
    if os.environ.get("PANE_BENCH_FILES"):  # each transfer, for finding where bytes go
        for t in own:
            print(f"  {t.bytes:>8} {t.encoding or '-':>5} {t.url.rsplit('/', 1)[-1]}", file=sys.stderr)
    result = {
        "bytes": sum(t.bytes for t in own),
        "code_bytes": sum(t.bytes for t in code),
        "code_requests": sum(1 for t in code if t.bytes > 0 and not t.from_cache),
        "ms": rendered,
        "item_ms": item_shown,
    }
    wire.close()
    page.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="crmbridge-pane-bench-") as tmp:
        tmp = Path(tmp)
        sites = {"new": tmp / "new", "baseline": tmp / "unsplit"}
        build(sites["new"], unsplit=False)
        build(sites["baseline"], unsplit=True)
        url = f"sqlite:///{tmp / 'db.sqlite3'}"
        migrations.upgrade(url)
        certs = devcert.create(tmp / "certs")
        servers = {name: serve(site, url, certs) for name, site in sites.items()}
        app = create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": SECRET, "ORG_DOMAINS": ["contoso.com"]})
        api = Api(app.test_client(), dev_tokens.issue(SECRET, ORGANIZER))
        activity = api.create_activity()
        item_id = new_item_id()
        api.link(activity["id"], kind="internal", state="sent", ewsItemId=item_id)
        item = outlook_item(activity, ORGANIZER, item_id=item_id, attendees=internal_attendees(activity, ORGANIZER))

        sizes = {name: site_sizes(site) for name, site in sites.items()}
        results: dict[tuple, list[dict]] = {}
        browser_args = ["--disable-background-networking", "--disable-component-update", "--disable-sync",
                        "--disable-gpu", f"--ignore-certificate-errors-spki-list={spki_hash(certs.cert)}",
                        *(["--no-sandbox"] if os.geteuid() == 0 else [])]
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=browser_args)
            for condition, throttle, network in CONDITIONS:
                for _ in range(args.rounds):
                    for name, (origin, _server) in servers.items():
                        context = browser.new_context(locale="en-US", viewport=PANE_SIZE)
                        for visit in ("cold", "warm"):
                            results.setdefault((name, condition, visit), []).append(
                                open_pane(context, origin, item, activity["subject"], throttle, network))
                        context.close()
            browser.close()
        for _, server in servers.values():
            server.terminate()
            server.wait(timeout=30)
        db.engine(app).dispose()
        report(results, sizes, args.rounds)


def spki_hash(cert_path: Path) -> str:
    """The certificate's public key as Chromium's --ignore-certificate-errors-spki-list takes it: the page is then
    a secure origin whose files Chromium caches (it caches nothing from an origin with a certificate error)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization

    key = x509.load_pem_x509_certificate(cert_path.read_bytes()).public_key()
    digest = hashes.Hash(hashes.SHA256())
    digest.update(key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo))
    return base64.b64encode(digest.finalize()).decode()


def site_sizes(site: Path) -> dict:
    """Bytes of the pane's files as served to a brotli client (the .br file where there is one), from build.json:
    what taskpane.html loads at start (the app's own code and style) and what it loads lazily (MSAL.js)."""
    def served(name: str) -> int:
        path = site / name
        compressed = path.with_name(path.name + ".br")
        return (compressed if compressed.exists() else path).stat().st_size

    manifest = site / "build.json"
    if not manifest.exists():
        return {"start": sum(served(f"static/{p.name}") for p in (site / "static").glob("*.*s")), "lazy": 0,
                "start_js": 0}
    page = json.loads(manifest.read_text())["taskpane.html"]
    return {"start": sum(map(served, page["start"])), "lazy": sum(map(served, page["lazy"])),
            "start_js": sum(served(name) for name in page["start"] if name.endswith(".js"))}


def report(results: dict, sizes: dict, rounds: int) -> None:
    def median(name, condition, visit, key):
        return statistics.median(r[key] for r in results[(name, condition, visit)])

    def fastest(name, condition, visit):
        return min(r["ms"] for r in results[(name, condition, visit)])

    print(f"\nTaskpane in headless Chromium over HTTPS, {rounds} rounds each, medians; baseline = unsplit build, "
          "uncompressed, revalidated on reopen (as before); new = split, hashed, precompressed.\n")
    print(f"{'':44}{'baseline':>12}{'new':>12}{'new/base':>10}")
    for condition, _throttle, _network in CONDITIONS:
        for visit in ("cold", "warm"):
            label = f"{visit} open, {condition}"
            for key, unit in (("bytes", "B"), ("code_bytes", "B"), ("item_ms", "ms"), ("ms", "ms")):
                if key in ("bytes", "code_bytes") and condition != CONDITIONS[0][0]:
                    continue  # the same files under every condition: said once
                base, new = median("baseline", condition, visit, key), median("new", condition, visit, key)
                what = {"bytes": "bytes on the wire", "code_bytes": "JS+CSS bytes", "item_ms": "to item shown",
                        "ms": "to activity"}[key]
                ratio = f"{new / base:.2f}x" if base else "-"
                print(f"{label + ', ' + what:44}{base:>10.0f}{unit:>2}{new:>10.0f}{unit:>2}{ratio:>10}")
            base, new = fastest("baseline", condition, visit), fastest("new", condition, visit)
            print(f"{label + ', to activity (min)':44}{base:>10.0f}ms{new:>10.0f}ms{new / base:>9.2f}x")
    print(f"\nnew build: the app's own JS+CSS (loaded at start) {sizes['new']['start']} B brotli, of which JS "
          f"{sizes['new']['start_js']} B; MSAL.js (loaded "
          f"lazily) {sizes['new']['lazy']} B brotli; baseline: {sizes['baseline']['start']} B (main.js with MSAL.js "
          "inside, and the CSS), uncompressed.")
    warm_files = median("new", "CPU 1x", "warm", "code_requests")
    print(f"new build, warm reopen: {warm_files:.0f} JS/CSS requests to the server (a 304 counts) "
          f"(baseline: {median('baseline', 'CPU 1x', 'warm', 'code_requests'):.0f})")


if __name__ == "__main__":
    main()
