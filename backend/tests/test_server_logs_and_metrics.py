"""`crmbridge serve` as an operator runs it: gunicorn with two workers, metrics added up across them, and the
request id on every log line."""

import http.client
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crmbridge import migrations

CRMBRIDGE = Path(sys.executable).with_name("crmbridge")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(port: int, path: str) -> tuple[int, dict, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode()
    finally:
        connection.close()


@pytest.fixture
def served(tmp_path):
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    migrations.upgrade(url)
    port = free_port()
    env = {**os.environ, "CRMBRIDGE_ENV": "development", "CRMBRIDGE_INSTANCE_PATH": str(tmp_path),
           "DATABASE_URL": url, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics")}
    log = (tmp_path / "server.log").open("w+")
    process = subprocess.Popen([str(CRMBRIDGE), "serve", "--port", str(port), "--workers", "2"], cwd=tmp_path,
                               env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120  # up within seconds; far longer on a busy machine
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if get(port, "/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("crmbridge serve did not answer:\n" + (tmp_path / "server.log").read_text())
        yield port, tmp_path / "server.log"
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def test_served_metrics_add_up_every_worker_and_log_lines_carry_the_request_id(served):
    port, log = served
    for _ in range(20):  # spread over both workers
        assert get(port, "/healthz")[0] == 200
    status, headers, body = get(port, "/no-such-page")
    assert status == 404
    request_id = headers["X-Request-Id"]
    assert f'"requestId":"{request_id}"' in body.replace(" ", "")

    status, _, text = get(port, "/metrics")

    assert status == 200
    healthz = re.search(r'crmbridge_http_requests_total\{endpoint="health.healthz",method="GET",status="200"\} '
                        r'([0-9.]+)', text)
    assert healthz and float(healthz.group(1)) >= 21  # the 20 above and the readiness poll's last one
    assert "crmbridge_outbox_jobs 0.0" in text
    lines = [line for line in log.read_text().splitlines() if "GET /no-such-page" in line]
    assert len(lines) == 1 and f"[{request_id}]" in lines[0]
    # gunicorn's master (which never loads the app) logs in the same format, with "-" for its request id
    text = log.read_text()
    assert re.search(r"INFO gunicorn\.error \[-\] Listening at: http://127\.0\.0\.1:", text)
    assert "Logging error" not in text
