"""Lookup latency against liveness latency, on a realistic database, measured in one run.

Loads 100,000 activities (about 600,000 participants, each with a linked external meeting) into SQLite, serves the
app with gunicorn, and drives GET /api/lookup and GET /healthz from concurrent clients, interleaved so both see the
same load. Prints p50 and p99 of each and their ratio. Goal: lookup p50 within 2x of healthz p50.

    .venv/bin/python benchmarks/lookup.py [--activities 100000] [--requests 3000] [--clients 4] [--workers 2]
"""

import argparse
import http.client
import os
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


def serve(url: str, port: int, workers: int, instance: str) -> subprocess.Popen:
    env = {**os.environ, "CRMBRIDGE_ENV": "development", "CRMBRIDGE_SECRET_KEY": SECRET, "DATABASE_URL": url,
           "CRMBRIDGE_INSTANCE_PATH": instance}
    process = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "crmbridge"), "serve", "--port", str(port), "--workers", str(workers)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--activities", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=4000, help="total requests, half of them lookups")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.sqlite3"
        started = time.perf_counter()
        participants = load(url, args.activities)
        print(f"loaded {args.activities:,} activities, {participants:,} participants "
              f"in {time.perf_counter() - started:.1f} s")
        port = free_port()
        server = serve(url, port, args.workers, tmp)
        try:
            drive(port, args.activities, 200, args.clients)  # warm-up: imports, connection pools, page cache
            timings = drive(port, args.activities, args.requests, args.clients)
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
    health, lookup = timings["healthz"], timings["lookup"]
    print(f"gunicorn workers={args.workers}, concurrent clients={args.clients}, "
          f"requests: {len(lookup)} lookups + {len(health)} healthz, interleaved")
    for name, values in (("GET /healthz", health), ("GET /api/lookup", lookup)):
        print(f"{name:16} p50 {percentile(values, 50):7.2f} ms   p99 {percentile(values, 99):7.2f} ms")
    ratio50 = percentile(lookup, 50) / percentile(health, 50)
    ratio99 = percentile(lookup, 99) / percentile(health, 99)
    print(f"ratio lookup/healthz: p50 {ratio50:.2f}x   p99 {ratio99:.2f}x   (goal: p50 within 2x)")


if __name__ == "__main__":
    main()
