"""Lookup latency against liveness latency, on a realistic database, measured in one run.

Loads 100,000 activities (about 600,000 participants, each with a linked external meeting) into SQLite, serves the
app with gunicorn, and drives GET /api/lookup and GET /healthz from 1 and from 4 concurrent clients, interleaved so
both see the same load. Prints p50 and p99 of each and their ratio. Goal: lookup p50 within 1.5x of healthz p50.

First it profiles lookups in this process (cProfile, through Flask's test client on the same database) and prints
the top entries, so the time can be placed: token check, query, classification, serialisation.

With --baseline REV (e.g. the commit before a change) the same database is also served by that revision's code
(its backend/ from `git archive`, on this .venv's packages), one server at a time, so the two compare in one run.

    .venv/bin/python benchmarks/lookup.py [--activities 100000] [--requests 4000] [--clients 1 4] [--workers 2]
                                          [--baseline REV] [--profile 2000] [--top 25]
"""

import argparse
import cProfile
import http.client
import io
import os
import pstats
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "backend"))

from crmbridge import migrations  # noqa: E402
from crmbridge.auth import dev_tokens  # noqa: E402
from crmbridge.db import make_engine  # noqa: E402

SECRET = "benchmark-secret-key"
ORGANIZERS = 1000
DOMAINS = ["fabrikam.example", "northwind.example", "kunde.dk", "tailspin.example", "adatum.example"]


def load(url: str, activities: int) -> int:
    migrations.upgrade(url)
    engine = make_engine(url)
    meta = sa.MetaData()
    meta.reflect(engine)
    act_t, part_t, link_t = meta.tables["activities"], meta.tables["participants"], meta.tables["meeting_links"]
    rng = random.Random(7)
    base = datetime(2026, 1, 5, 8, 0)
    now = datetime.now(UTC).replace(tzinfo=None)
    participants = 0
    batch = 5000
    with engine.begin() as conn:
        conn.execute(sa.insert(meta.tables["org_domains"]), [{"domain": "contoso.com", "source": "admin",
                                                               "created_at": now}])
        for first in range(1, activities + 1, batch):
            ids = range(first, min(first + batch, activities + 1))
            acts, parts, links = [], [], []
            for i in ids:
                organizer = f"organizer{i % ORGANIZERS}@contoso.com"
                start = base + timedelta(hours=i % 5000)
                acts.append({
                    "id": i, "organizer_email": organizer, "organizer_key": organizer, "subject": f"Meeting {i}",
                    "start_utc": start, "end_utc": start + timedelta(hours=1), "time_zone": "Europe/Copenhagen",
                    "is_all_day": False, "location": "Room Harbour", "internal_notes": "Internal notes " * 20,
                    "external_agenda": "Agenda", "status": "planned", "version": 1, "created_at": now,
                    "updated_at": now,
                })
                people = [(f"colleague{(i + k) % 300}@contoso.com", "required") for k in range(2)]
                people += [(f"customer{(i + k) % 5000}@{rng.choice(DOMAINS)}", "required") for k in range(3)]
                people.append(("room.harbour@contoso.com", "resource"))
                for position, (email, kind) in enumerate(people):
                    parts.append({"activity_id": i, "position": position, "email": email,
                                  "display_name": email.split("@")[0].title(), "type": kind})
                links.append({"activity_id": i, "kind": "external", "state": "sent", "graph_event_id": f"AAMk-{i}",
                              "ews_item_id": None, "ical_uid": f"ical-{i}", "created_at": now, "updated_at": now})
            conn.execute(sa.insert(act_t), acts)
            conn.execute(sa.insert(part_t), parts)
            conn.execute(sa.insert(link_t), links)
            participants += len(parts)
    engine.dispose()
    return participants


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(url: str, port: int, workers: int, instance: str, backend: Path | None = None) -> subprocess.Popen:
    """`crmbridge serve` of this checkout, or of another revision's backend/ folder (put first on the path)."""
    env = {**os.environ, "CRMBRIDGE_ENV": "development", "CRMBRIDGE_SECRET_KEY": SECRET, "DATABASE_URL": url,
           "CRMBRIDGE_INSTANCE_PATH": instance}
    if backend is not None:
        env["PYTHONPATH"] = str(backend)
    code = "import sys; from crmbridge.cli import main; sys.argv[0] = 'crmbridge'; main()"
    process = subprocess.Popen(
        [sys.executable, "-c", code, "serve", "--port", str(port), "--workers", str(workers)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, cwd=instance,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                conn.close()
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("the server did not start")


def drive(port: int, activities: int, requests: int, clients: int) -> dict[str, list[float]]:
    """Each client alternates healthz and lookup requests (random activity, random identifier kind)."""
    timings: dict[str, list[float]] = {"healthz": [], "lookup": []}
    lock = threading.Lock()
    errors = []
    tokens = {n: dev_tokens.issue(SECRET, f"organizer{n}@contoso.com") for n in range(ORGANIZERS)}

    def client(seed: int) -> None:
        rng = random.Random(seed)
        local = {"healthz": [], "lookup": []}
        for n in range(requests // clients):
            i = rng.randint(1, activities)
            kind = "healthz" if n % 2 == 0 else "lookup"
            if kind == "healthz":
                path, headers = "/healthz", {}
            else:
                query = rng.choice([f"activityId={i}", f"restId=AAMk-{i}", f"iCalUId=ical-{i}"])
                path, headers = f"/api/lookup?{query}", {"Authorization": f"Bearer {tokens[i % ORGANIZERS]}"}
            started = time.perf_counter()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            conn.close()
            local[kind].append((time.perf_counter() - started) * 1000)
            if response.status != 200:
                errors.append((path, response.status))
        with lock:
            for key, values in local.items():
                timings[key].extend(values)

    threads = [threading.Thread(target=client, args=(seed,)) for seed in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise SystemExit(f"{len(errors)} requests failed, e.g. {errors[:3]}")
    return timings


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if q < 100 else max(values)


def profile(url: str, activities: int, count: int, top: int) -> None:
    """cProfile of `count` lookups in this process, through Flask's test client: where a lookup's time goes."""
    from crmbridge import create_app, db

    app = create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": SECRET, "ORG_DOMAINS": ["contoso.com"]})
    client = app.test_client()
    rng = random.Random(11)
    tokens = {n: dev_tokens.issue(SECRET, f"organizer{n}@contoso.com") for n in range(ORGANIZERS)}

    def one() -> None:
        i = rng.randint(1, activities)
        query = rng.choice([f"activityId={i}", f"restId=AAMk-{i}", f"iCalUId=ical-{i}"])
        response = client.get(f"/api/lookup?{query}", headers={"Authorization": f"Bearer {tokens[i % ORGANIZERS]}"})
        assert response.status_code == 200, response.status_code

    for _ in range(200):
        one()  # imports, caches, the SQLite page cache
    phases(app, client, one, count)
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for _ in range(count):
        one()
    profiler.disable()
    elapsed = (time.perf_counter() - started) / count * 1000
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(top)
    print(f"\nprofile: {count} lookups in-process (test client, under cProfile: slower than served), "
          f"{elapsed:.2f} ms each; top {top} by cumulative time:")
    print("\n".join(line for line in out.getvalue().splitlines()[6:] if line.strip()))
    db.engine(app).dispose()


def phases(app, client, one, count: int) -> None:
    """Mean time per lookup in each phase (timers around the functions that do it, no profiler), beside an
    in-process /healthz: what a lookup costs that liveness does not."""
    import webargs.core

    from crmbridge import db, dump_plan, services, store
    from crmbridge.auth import request as auth_request
    from crmbridge.graph import sync

    spent: dict[str, float] = {}

    def timed(phase, function):
        def run(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent[phase] = spent.get(phase, 0.0) + time.perf_counter() - started
        return run

    patched = [(webargs.core.Parser, "parse", "arguments (webargs, marshmallow load)"),
               (store, "find_for_lookup", "queries: activity, participants, links"),
               (sync, "pane_state", "query: the internal meeting's sync state"),
               (services, "view", "classification and view"),
               (dump_plan.PlannedSchema, "dump", "serialisation: dump"),
               (app.json, "dumps", "serialisation: JSON")]
    originals = [(owner, name, getattr(owner, name)) for owner, name, _ in patched]
    for owner, name, phase in patched:
        setattr(owner, name, timed(phase, getattr(owner, name)))
    hooks = []  # (list, index, original): the hooks Flask holds in lists, timed in place
    for functions, function, phase in ((app.before_request_funcs["lookup"], auth_request.authenticate, "token check"),
                                       (app.teardown_appcontext_funcs, db._close, "closing the connection")):
        index = functions.index(function)
        functions[index] = timed(phase, function)
        hooks.append((functions, index, function))
    try:
        def healthz() -> None:
            assert client.get("/healthz").status_code == 200

        totals = {}
        for name, call in (("healthz", healthz), ("lookup", one)):
            spent.clear()
            started = time.perf_counter()
            for _ in range(count):
                call()
            totals[name] = (time.perf_counter() - started) / count * 1000
    finally:
        for owner, name, original in originals:
            setattr(owner, name, original)
        for functions, index, function in hooks:
            functions[index] = function
    print(f"\nphases: {count} lookups in-process (test client, timers only), mean ms per lookup; in-process "
          f"/healthz {totals['healthz']:.3f} ms, lookup {totals['lookup']:.3f} ms")
    for phase, seconds in sorted(spent.items(), key=lambda item: -item[1]):
        print(f"  {phase:44}{seconds / count * 1000:>8.3f} ms")
    rest = totals["lookup"] - sum(spent.values()) / count * 1000
    print(f"  {'the rest (Flask, test client, hooks)':44}{rest:>8.3f} ms")


def measure(url: str, args, tmp: str, backend: Path | None, clients: int) -> tuple[list[float], list[float]]:
    port = free_port()
    server = serve(url, port, args.workers, tmp, backend)
    try:
        drive(port, args.activities, 200, clients)  # warm-up: imports, connection pools, page cache
        timings = drive(port, args.activities, args.requests, clients)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    return timings["healthz"], timings["lookup"]


def baseline_backend(revision: str, tmp: str) -> Path:
    target = Path(tmp) / "baseline"
    target.mkdir()
    archive = subprocess.run(["git", "archive", revision, "backend/crmbridge"], cwd=ROOT, check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target / "backend"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--activities", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=4000, help="total requests per run, half of them lookups")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--baseline", help="a git revision to serve the same database with, for comparison")
    parser.add_argument("--profile", type=int, default=2000, help="lookups to profile in-process (0: none)")
    parser.add_argument("--top", type=int, default=25, help="profile entries to print")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.sqlite3"
        started = time.perf_counter()
        participants = load(url, args.activities)
        print(f"loaded {args.activities:,} activities, {participants:,} participants "
              f"in {time.perf_counter() - started:.1f} s")
        if args.profile:
            profile(url, args.activities, args.profile, args.top)
        builds = [("new", None)]
        if args.baseline:
            builds.insert(0, (f"baseline {args.baseline}", baseline_backend(args.baseline, tmp)))
        half = args.requests // 2
        print(f"\ngunicorn workers={args.workers}, {half} lookups + {half} healthz per run, interleaved; "
              "goal: lookup p50 <= 1.5x healthz p50")
        print(f"{'build':22}{'clients':>8}{'healthz p50':>13}{'p99':>9}{'lookup p50':>12}{'p99':>9}"
              f"{'ratio p50':>11}{'ratio p99':>11}")
        for clients in args.clients:
            for name, backend in builds:
                health, lookup = measure(url, args, tmp, backend, clients)
                h50, h99, l50, l99 = (percentile(health, 50), percentile(health, 99), percentile(lookup, 50),
                                      percentile(lookup, 99))
                print(f"{name:22}{clients:>8}{h50:>10.2f} ms{h99:>6.2f} ms{l50:>9.2f} ms{l99:>6.2f} ms"
                      f"{l50 / h50:>10.2f}x{l99 / h99:>10.2f}x")


if __name__ == "__main__":
    main()
