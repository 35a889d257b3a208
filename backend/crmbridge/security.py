"""HTTP hardening: CORS for the add-in's origin only (flask-cors), security headers, the proxy's headers when
behind one, and no SQL values in the logs."""

import logging

from flask import Flask, Response, current_app, request
from flask_cors import CORS
from werkzeug.middleware.proxy_fix import ProxyFix

# Outlook on the web, new Outlook and the desktop clients frame the task pane from these origins.
OFFICE_FRAME_ANCESTORS = (
    "'self'", "https://*.office.com", "https://*.office365.com", "https://*.microsoft.com", "https://*.outlook.com",
    "https://outlook.office.com", "https://outlook.office365.com", "https://*.cloud.microsoft",
)
TASKPANE_CSP = "; ".join((
    "default-src 'self'",
    "script-src 'self' https://appsforoffice.microsoft.com",  # Office.js is only supported from Microsoft's CDN
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self' https://login.microsoftonline.com",
    "frame-src 'self' https://login.microsoftonline.com",  # MSAL's hidden iframe when nested auth is missing
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors " + " ".join(OFFICE_FRAME_ANCESTORS),
))
# JSON is never a page: nothing in it may run, load or be framed.
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
HSTS = "max-age=31536000"
# A browser would keep forcing https on every local development server for a year.
NO_HSTS_HOSTS = ("localhost", "127.0.0.1", "[::1]")

CORS_METHODS = ["GET", "POST", "PATCH", "PUT", "DELETE"]
CORS_REQUEST_HEADERS = ["Authorization", "Content-Type", "If-Match", "Prefer"]
# WWW-Authenticate and the JSON body both carry a claims challenge; Retry-After comes with 503.
CORS_EXPOSED_HEADERS = ["ETag", "Location", "WWW-Authenticate", "Retry-After"]
CORS_MAX_AGE = 600


def init_app(app: Flask) -> None:
    if app.config["BEHIND_PROXY"]:
        # Exactly one proxy in front: trust its X-Forwarded-For/-Proto/-Host, and no one else's.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)
    origin = app.config["ADDIN_ORIGIN"]
    if origin:
        # The add-in's one origin, on /api only; bearer tokens, never cookies, so no credentials.
        CORS(app, resources={r"/api/*": {"origins": [origin]}}, methods=CORS_METHODS,
             allow_headers=CORS_REQUEST_HEADERS, expose_headers=CORS_EXPOSED_HEADERS, max_age=CORS_MAX_AGE,
             supports_credentials=False, vary_header=True)
    app.before_request(_answer_preflight)
    app.after_request(_add_headers)
    hide_sql_values()


def _is_api() -> bool:
    return request.path == "/api" or request.path.startswith("/api/")


def _is_preflight() -> bool:
    return request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers


def _answer_preflight() -> Response | None:
    # Before routing and authentication: a preflight carries no token, and the browser wants a 2xx.
    if _is_api() and _is_preflight():
        return current_app.response_class(status=204)
    return None


def _hostname() -> str:
    host = request.host.lower()
    return host if host.endswith("]") else host.rsplit(":", 1)[0]


def _add_headers(response: Response) -> Response:
    headers = response.headers
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
    if request.is_secure and _hostname() not in NO_HSTS_HOSTS:
        headers["Strict-Transport-Security"] = HSTS
    # A policy governs a document only: scripts, styles and images it loads carry none (bytes on every file).
    if response.mimetype == "text/html" and request.path.startswith("/taskpane/"):
        headers["Content-Security-Policy"] = TASKPANE_CSP
    elif response.mimetype == "application/json":
        headers["Content-Security-Policy"] = API_CSP
    if _is_api():
        response.vary.add("Origin")  # CORS headers (flask-cors) depend on it, and answers may be cached
    return response


class _NoSqlValues(logging.Filter):
    """Drops SQLAlchemy's log records that carry values: bound parameters (INFO) and result rows (DEBUG).

    Those hold internal notes whenever someone turns SQL logging on; the statements themselves (no arguments) stay.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.args


def hide_sql_values() -> None:
    # The engine logs through this one logger (no per-engine logging_name); a filter survives any level change.
    logger = logging.getLogger("sqlalchemy.engine.Engine")
    if not any(isinstance(existing, _NoSqlValues) for existing in logger.filters):
        logger.addFilter(_NoSqlValues())
