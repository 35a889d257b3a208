"""A request id on every response (``X-Request-Id``), every log line and every error body (``requestId``).

The id a reverse proxy sends in ``X-Request-Id`` is kept when it looks like one (so its access log and ours share
it); otherwise a new one is made. The taskpane shows it in its error states, so the one log line that explains an
organizer's failure can be found from the code they read out.
"""

import logging
import re
import uuid

from flask import Flask, Response, g, has_request_context, request

HEADER = "X-Request-Id"
# Letters, digits and a few separators, at most 64: nothing that could forge a log line or a header.
ACCEPTED = re.compile(r"[A-Za-z0-9._:-]{8,64}")
NONE = "-"  # outside a request: start-up, CLI commands, the worker


def current() -> str:
    """The id of the request being served, or "-" outside one."""
    if has_request_context():
        return g.get("request_id", NONE)
    return NONE


def _assign() -> None:
    offered = request.headers.get(HEADER, "")
    g.request_id = offered if ACCEPTED.fullmatch(offered) else uuid.uuid4().hex


def _stamp(response: Response) -> Response:
    response.headers[HEADER] = current()
    return response


_factory_installed = False


def install_record_factory() -> None:
    """Every log record gets a ``request_id`` attribute, whichever logger makes it, so any format can name it.
    `crmbridge serve` installs it before gunicorn logs its first line (its master process never loads the app)."""
    global _factory_installed
    if _factory_installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        record.request_id = current()
        return record

    logging.setLogRecordFactory(factory)
    _factory_installed = True


# The format `crmbridge serve` gives every log line (gunicorn's and the app's); the access log's lines are written
# after the request, so they take the id from the response header, in the same place.
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
ACCESS_RECORD_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
ACCESS_LOG_FORMAT = '[%({x-request-id}o)s] %(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'


def init_app(app: Flask) -> None:
    install_record_factory()
    app.before_request(_assign)
    app.after_request(_stamp)
