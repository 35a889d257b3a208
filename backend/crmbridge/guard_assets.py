"""Serving the send-time guard to Outlook's event runtimes.

- ``/guard/send-guard.js``: the bundled handler (``send-guard.js`` in the built taskpane site, from
  scripts/lib/build-taskpane.mjs) with its configuration first, ``globalThis.crmbridgeGuardConfig = {...}``: the
  origin it calls (classic Outlook on Windows runs it in a JavaScript-only runtime, which has no page address and
  takes absolute URLs only) and the public sign-in values of ``/taskpane/config.json``. The manifest names it as the
  JavaScript runtime's file.
- ``/.well-known/microsoft-officeaddins-allowed.json``: lists that file, so that classic Outlook lets it use single
  sign-on and CORS (docs-pr: docs/develop/use-sso-in-event-based-activation.md).

The browser runtime's page (web, new Outlook, Mac) is the static ``/taskpane/send-guard.html``, which loads the
same script.
"""

import json

from flask import Blueprint, Flask, abort, current_app, jsonify, request

from . import taskpane

bp = Blueprint("guard_assets", __name__)
SCRIPT_PATH = "/guard/send-guard.js"


def origin() -> str:
    """The https origin the add-in is served from: CRMBRIDGE_PUBLIC_URL's, else this request's."""
    configured = current_app.config.get("PUBLIC_BASE_URL") or ""
    return (configured or request.host_url).rstrip("/")


@bp.get(SCRIPT_PATH)
def script():
    bundle = taskpane.taskpane_dir(current_app) / "send-guard.js"
    if not bundle.is_file():
        abort(404)
    # The same public values the taskpane reads from /taskpane/config.json, taken from that view itself.
    response, _status, _headers = taskpane.sign_in_config()
    settings = {"origin": origin(), **response.get_json()}
    prefix = f"globalThis.crmbridgeGuardConfig = {json.dumps(settings, separators=(',', ':'))};\n"
    body = prefix + bundle.read_text(encoding="utf-8")
    # Not cached: it carries the configuration, and Outlook fetches it once per send at most.
    return body, 200, {"Content-Type": "application/javascript; charset=utf-8", "Cache-Control": "no-cache"}


@bp.get("/.well-known/microsoft-officeaddins-allowed.json")
def allowed_scripts():
    return jsonify(allowed=[origin() + SCRIPT_PATH]), 200, {"Cache-Control": "max-age=3600"}


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
