"""The production WSGI server: gunicorn, each worker building its own app (no engine shared across a fork).

Every log line (gunicorn's, the app's and the access log) goes to standard error with the request id, and the
workers' metrics are added up through prometheus_client's multiprocess folder (crmbridge.metrics).
"""

import json
import os
import shutil
import sys
import tempfile

from gunicorn import util as gunicorn_util
from gunicorn.app.base import BaseApplication

from .errors import MESSAGES
from .request_id import ACCESS_LOG_FORMAT, ACCESS_RECORD_FORMAT, LOG_FORMAT, install_record_factory

MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"


def logging_config() -> dict:
    """gunicorn's logconfig_dict: one handler on standard error, the request id on every line."""
    handler = {"class": "logging.StreamHandler", "formatter": "crmbridge", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"crmbridge": {"format": LOG_FORMAT}, "access": {"format": ACCESS_RECORD_FORMAT}},
        "handlers": {"stderr": handler, "access": {**handler, "formatter": "access"}},
        "root": {"level": "WARNING", "handlers": ["stderr"]},
        "loggers": {
            "crmbridge": {"level": "INFO"},
            "gunicorn.error": {"level": "INFO", "handlers": ["stderr"], "propagate": False},
            "gunicorn.access": {"level": "INFO", "handlers": ["access"], "propagate": False},
        },
    }


def metrics_folder() -> tuple[str, bool]:
    """A fresh folder for the workers' metric files, made before any worker starts (emptied if given); and whether
    it was made here (then it goes when the server stops)."""
    folder = os.environ.get(MULTIPROC_DIR)
    made = not folder
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder, exist_ok=True)
    else:
        folder = tempfile.mkdtemp(prefix="crmbridge-metrics-")
        os.environ[MULTIPROC_DIR] = folder
    values = sys.modules.get("prometheus_client.values")
    if values is not None:
        # prometheus_client chose in-process values when `crmbridge` loaded the app to read its commands. Every
        # crmbridge metric has labels, so its values are made at .labels() time, in the workers: from now on they
        # are the multiprocess kind that a scrape adds up.
        values.ValueClass = values.get_value_class()
    return folder, made


def _worker_exited(_server, worker) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


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


def options(host: str, port: int, workers: int, certfile: str | None = None, keyfile: str | None = None,
            metrics_dir: tuple[str, bool] | None = None) -> dict:
    """gunicorn's settings; ``metrics_dir`` is ``metrics_folder()``'s answer (a folder made here goes at exit)."""
    folder, made = metrics_dir or (None, False)
    return {
        "bind": f"{host}:{port}",
        "workers": workers,
        "certfile": certfile,
        "keyfile": keyfile,
        "accesslog": "-",
        "access_log_format": ACCESS_LOG_FORMAT,
        "logconfig_dict": logging_config(),
        "child_exit": _worker_exited,
        "on_exit": (lambda _server: shutil.rmtree(folder, ignore_errors=True)) if made else None,
        "timeout": 30,
        # gunicorn's control socket is one path per user (~/.gunicorn/gunicorn.ctl): two servers on one machine
        # would take it from each other. Nothing here uses gunicornc.
        "control_socket_disable": True,
    }


def run(host: str, port: int, workers: int, certfile: str | None = None, keyfile: str | None = None) -> None:
    scheme = "https" if certfile else "http"
    print(f"crmbridge on {scheme}://{host}:{port}/  (health: /healthz, /readyz; API docs: /api/openapi.json)",
          flush=True)
    gunicorn_util.write_error = write_json_error
    install_record_factory()  # the master's own lines name the request id too ("-")
    _Gunicorn(options(host, port, workers, certfile, keyfile, metrics_dir=metrics_folder())).run()
