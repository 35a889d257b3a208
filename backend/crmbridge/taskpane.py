"""Serving the taskpane's static files, and in development a token for it to call the API with.

The files come from the built site (scripts/lib/build-taskpane.mjs): content-hashed scripts and styles are cached
for a year as immutable; the stable names the manifest and Office open by URL are revalidated with an ETag; a
precompressed brotli or gzip sibling is sent when the browser accepts it, never compressed per request."""

import hashlib
import mimetypes
import os
import re
from functools import lru_cache
from pathlib import Path

from flask import Blueprint, Flask, abort, current_app, jsonify, request, send_file
from werkzeug.security import safe_join

from .auth import dev_tokens

bp = Blueprint("taskpane", __name__)
# The simulated Outlook and its fake Office.js exist for development; production never serves them.
DEVELOPMENT_ONLY = ("preview.html", "preview.css", "src/preview.js", "fake-office/")
dev_bp = Blueprint("dev", __name__, url_prefix="/dev")

SOURCE_DIR = Path(__file__).resolve().parents[2] / "addin" / "taskpane"
# Where the wheel carries the built site (setup.py copies addin/taskpane/dist/ there).
PACKAGED_DIR = Path(__file__).resolve().parent / "taskpane_site"
# esbuild's content hash in a file name (build-taskpane.mjs: "[name]-[hash]"): the name changes with the content.
HASHED = re.compile(r"-[A-Z0-9]{8}\.(?:js|css)$")
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"  # stable names (taskpane.html, icons): cached, but checked with the ETag on every open
# Precompressed siblings, in the server's order of preference; images are compressed already and have none.
ENCODINGS = (("br", ".br"), ("gzip", ".gz"))


def taskpane_dir(app: Flask) -> Path:
    """The built site: CRMBRIDGE_TASKPANE_DIR, else the one in the installed package, else the checkout's dist/."""
    configured = app.config.get("TASKPANE_DIR")
    if configured:
        return Path(configured)
    if PACKAGED_DIR.is_dir():
        return PACKAGED_DIR
    return SOURCE_DIR / "dist"


def _folders(app: Flask) -> list[Path]:
    folders = [taskpane_dir(app)]
    if app.config["CRMBRIDGE_ENV"] != "production" and SOURCE_DIR.is_dir():
        folders.append(SOURCE_DIR)  # the development preview and its fake Office.js live beside the sources
    return folders


@lru_cache(maxsize=512)
def _content_etag(path: str, mtime_ns: int, size: int) -> str:
    # From the content, not the file's time: every web instance gives the same ETag for the same file.
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:32]


def _find(filename: str) -> Path:
    for folder in _folders(current_app):
        path = safe_join(str(folder), filename)
        if path and os.path.isfile(path):
            return Path(path)
    abort(404)


def _negotiate(path: Path) -> tuple[Path, str | None, bool]:
    """The file to send, its Content-Encoding, and whether the answer varies by Accept-Encoding."""
    variants = [(encoding, path.with_name(path.name + suffix)) for encoding, suffix in ENCODINGS]
    available = [(encoding, variant) for encoding, variant in variants if variant.is_file()]
    for encoding, variant in available:
        if request.accept_encodings.quality(encoding) > 0:
            return variant, encoding, True
    return path, None, bool(available)


@bp.get("/taskpane/")
@bp.get("/taskpane/<path:filename>")
def static_file(filename: str = "taskpane.html"):
    production = current_app.config["CRMBRIDGE_ENV"] == "production"
    if (production and filename.startswith(DEVELOPMENT_ONLY)) or filename.endswith((".br", ".gz")):
        abort(404)
    path = _find(filename)
    served, encoding, varies = _negotiate(path)
    stat = served.stat()
    mimetype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    response = send_file(served, mimetype=mimetype, conditional=True,
                         etag=_content_etag(str(served), stat.st_mtime_ns, stat.st_size), max_age=None)
    if encoding:
        response.headers["Content-Encoding"] = encoding
    if varies:
        response.vary.add("Accept-Encoding")
    if HASHED.search(path.name):
        # Never asked for again (immutable for a year, a new build has new names): validators would be bytes on the
        # wire of every cold open for nothing, and the file's name is no download name.
        response.headers["Cache-Control"] = IMMUTABLE
        for header in ("ETag", "Last-Modified", "Content-Disposition", "Accept-Ranges"):
            response.headers.pop(header, None)
    else:
        response.headers["Cache-Control"] = REVALIDATE
        response.headers.pop("Content-Disposition", None)
    return response


@bp.get("/taskpane/config.json")
def sign_in_config():
    """What the taskpane needs to sign in: public values only (client id, API scope, authority)."""
    config = current_app.config
    client_id = config.get("ENTRA_CLIENT_ID") or None
    app_id_uri = config.get("ENTRA_APP_ID_URI") or None
    tenants = config.get("ENTRA_TENANTS") or []
    tenant = tenants[0] if len(tenants) == 1 else "organizations"
    body = {
        "clientId": client_id,
        "apiScope": f"{app_id_uri}/access_as_user" if client_id and app_id_uri else None,
        "authority": f"https://login.microsoftonline.com/{tenant}",
        "devTokens": bool(config["DEV_TOKENS"]) and config["CRMBRIDGE_ENV"] != "production",
    }
    return jsonify(body), 200, {"Cache-Control": "no-store"}


@bp.get("/")
def home():
    """The manifest's SupportUrl: what crmbridge is, for an admin or organizer who follows the link."""
    return (
        "<!doctype html><html lang=en><meta charset=utf-8><title>crmbridge</title>"
        "<h1>crmbridge</h1><p>Links CRM meetings to Outlook: the CRM meeting button in Outlook opens the taskpane."
        "</p><p lang=da>Forbinder CRM-møder med Outlook: knappen CRM-møde i Outlook åbner opgaveruden.</p>"
        "<p>Problems? Contact your administrator. / Problemer? Kontakt din administrator.</p></html>",
        200, {"Content-Type": "text/html; charset=utf-8"},
    )


@dev_bp.post("/token")
def dev_token():
    """Development and test only: a token for the given organizer, so the taskpane runs without Entra."""
    payload = request.get_json(silent=True)
    email = payload.get("email", "") if isinstance(payload, dict) else ""
    try:
        token = dev_tokens.issue(current_app.config["SECRET_KEY"], email)
    except dev_tokens.DevTokenError as exc:
        from .errors import ApiError

        raise ApiError(str(exc), {"email": [str(exc)]}, status=422) from exc
    return jsonify(token=token)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    if app.config["DEV_TOKENS"]:
        app.register_blueprint(dev_bp)
