"""Serving the taskpane's static files, and in development a token for it to call the API with."""

from pathlib import Path

from flask import Blueprint, Flask, abort, current_app, jsonify, request, send_from_directory

from .auth import dev_tokens

bp = Blueprint("taskpane", __name__)
# The simulated Outlook and its fake Office.js exist for development; production never serves them.
DEVELOPMENT_ONLY = ("preview.html", "preview.css", "src/preview.js", "fake-office/")
dev_bp = Blueprint("dev", __name__, url_prefix="/dev")


def taskpane_dir(app: Flask) -> Path:
    configured = app.config.get("TASKPANE_DIR")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[2] / "addin" / "taskpane"


@bp.get("/taskpane/")
@bp.get("/taskpane/<path:filename>")
def static_file(filename: str = "taskpane.html"):
    folder = taskpane_dir(current_app)
    production = current_app.config["CRMBRIDGE_ENV"] == "production"
    if not folder.is_dir() or (production and filename.startswith(DEVELOPMENT_ONLY)):
        abort(404)
    max_age = 3600 if production else 0
    return send_from_directory(folder, filename, max_age=max_age)


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
