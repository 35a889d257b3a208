"""`crmbridge serve` (gunicorn): two servers side by side on one machine, and gunicorn's own answers in our shape."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from crmbridge import server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited with {process.returncode}: {process.stdout.read()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("the server did not answer /healthz")


def raw_request(port: int, data: bytes) -> tuple[str, dict, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in header_lines)}
    return status_line, headers, body


@contextmanager
def serving(app, tmp_path, count: int):
    """``count`` servers from `crmbridge serve`, as a user with an empty home folder would start them."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {key: value for key, value in os.environ.items() if key not in ("XDG_RUNTIME_DIR", "DATABASE_URL")}
    env.update(HOME=str(home), CRMBRIDGE_ENV="test", CRMBRIDGE_SECRET_KEY="x" * 40,
               DATABASE_URL=app.config["DATABASE_URL"], CRMBRIDGE_INSTANCE_PATH=str(tmp_path / "instance"))
    command = Path(sys.executable).parent / "crmbridge"
    ports = [free_port() for _ in range(count)]
    processes = [subprocess.Popen([str(command), "serve", "--port", str(port), "--workers", "1"], env=env,
                                  cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                 for port in ports]
    try:
        for port, process in zip(ports, processes, strict=True):
            wait_until_up(port, process)
        yield home, ports
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.communicate(timeout=30)


def test_two_servers_on_one_machine_both_answer_and_share_no_control_socket(app, tmp_path):
    with serving(app, tmp_path, 2) as (home, ports):
        for port in ports:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
                assert json.load(response) == {"status": "ok"}
        assert not (home / ".gunicorn").exists()


UNPARSABLE = {
    "request-line": (b"GARBAGE\r\n\r\n", 400),
    "http-version": (b"GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n", 400),
    "long-uri": (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    "header": (b"GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n", 400),
}


def test_a_request_gunicorn_cannot_parse_gets_our_json_error_shape(app, tmp_path):
    with serving(app, tmp_path, 1) as (_home, ports):
        for name, (request_bytes, status) in UNPARSABLE.items():
            status_line, headers, body = raw_request(ports[0], request_bytes)
            assert status_line.split()[1] == str(status), name
            assert headers["content-type"] == "application/json", name
            document = json.loads(body)
            assert document["code"] == status and document["message"], name
            assert isinstance(document["errors"], dict) and b"<html" not in body, name


def test_gunicorn_options_turn_the_control_socket_off():
    assert server.options("127.0.0.1", 3000, 2)["control_socket_disable"] is True
