"""crmbridge: the bridge between a CRM's meetings and Outlook."""

import logging
from importlib.metadata import PackageNotFoundError, version

from flask import Flask

try:
    __version__ = version("crmbridge")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app: config, extensions, blueprints, error handlers, CLI."""
    from . import api, cli, config, db, errors, guard_assets, metrics, request_id, security, taskpane
    from .auth import setup as identity
    from .strict_json import StrictJSONProvider

    app = Flask(__name__, instance_path=config.instance_path(), instance_relative_config=True)
    app.json = StrictJSONProvider(app)
    test_mode = bool(test_config and test_config.get("TESTING"))
    app.config.update(config.from_environment(config.environment(), app.instance_path, test_mode=test_mode))
    if test_config:
        app.config.update(test_config)
    config.check(app.config)
    app.json.sort_keys = False
    logging.getLogger("crmbridge").setLevel(logging.INFO)

    db.init_app(app)
    request_id.init_app(app)  # first: every later hook, log line and error body can name the request
    metrics.init_app(app)
    identity.init_app(app)
    security.init_app(app)
    api.init_app(app)
    errors.init_app(app)  # after the API, so our error shape replaces flask-smorest's
    taskpane.init_app(app)
    guard_assets.init_app(app)
    cli.init_app(app)
    return app
