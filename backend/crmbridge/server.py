"""The production WSGI server: gunicorn, each worker building its own app (no engine shared across a fork)."""

import json

from gunicorn import util as gunicorn_util
from gunicorn.app.base import BaseApplication

from .errors import MESSAGES


class _Gunicorn(BaseApplication):
    def __init__(self, options: dict):
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            if value is not None:
                self.cfg.set(key, value)

    def load(self):
        from . import create_app

        return create_app()


def write_json_error(sock, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's answer to a request it cannot parse (or a worker crash), in our error shape instead of HTML.

    gunicorn calls ``util.write_error`` for these; it has no setting for the body.
    """
    message = MESSAGES.get(status_int) or reason
    body = json.dumps({"code": status_int, "message": message, "errors": {"_request": [mesg]} if mesg else {}})
    head = (f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
            f"X-Content-Type-Options: nosniff\r\nContent-Length: {len(body.encode())}\r\n\r\n")
    gunicorn_util.write_nonblock(sock, (head + body).encode("latin-1", "replace"))


def options(host: str, port: int, workers: int, certfile: str | None = None, keyfile: str | None = None) -> dict:
    return {
        "bind": f"{host}:{port}",
        "workers": workers,
        "certfile": certfile,
        "keyfile": keyfile,
        "accesslog": "-",
        "access_log_format": '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms',
        "timeout": 30,
        # gunicorn's control socket is one path per user (~/.gunicorn/gunicorn.ctl): two servers on one machine
        # would take it from each other. Nothing here uses gunicornc.
        "control_socket_disable": True,
    }


def run(host: str, port: int, workers: int, certfile: str | None = None, keyfile: str | None = None) -> None:
    scheme = "https" if certfile else "http"
    print(f"crmbridge on {scheme}://{host}:{port}/  (health: /healthz, API docs: /api/openapi.json)", flush=True)
    gunicorn_util.write_error = write_json_error
    _Gunicorn(options(host, port, workers, certfile, keyfile)).run()
