"""The production WSGI server: gunicorn, each worker building its own app (no engine shared across a fork)."""

from gunicorn.app.base import BaseApplication


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


def run(host: str, port: int, workers: int, certfile: str | None = None, keyfile: str | None = None) -> None:
    scheme = "https" if certfile else "http"
    print(f"crmbridge on {scheme}://{host}:{port}/  (health: /healthz, API docs: /api/openapi.json)", flush=True)
    _Gunicorn({
        "bind": f"{host}:{port}",
        "workers": workers,
        "certfile": certfile,
        "keyfile": keyfile,
        "accesslog": "-",
        "access_log_format": '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms',
        "timeout": 30,
    }).run()
