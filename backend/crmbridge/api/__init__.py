"""HTTP API blueprints: thin views that parse with a schema, call one use case and return."""

from flask import Flask
from flask_smorest import Api

from .. import schemas
from . import activities, audit, changes, graph, guard, health, integrations, lookup, webhooks
from .common import IdConverter, id_parameter_schema


class CrmbridgeApi(Api):
    """Every error is documented with our one shape, and each operation lists its own statuses (no "default")."""

    ERROR_SCHEMA = schemas.ErrorOut
    DEFAULT_ERROR_RESPONSE_NAME = None


def init_app(app: Flask) -> None:
    app.url_map.converters["id"] = IdConverter
    api = CrmbridgeApi(app, spec_kwargs={
        "info": {"description": "crmbridge: CRM meetings and Outlook, side by side."},
        "security": [{"bearer": []}],
    })
    api.register_converter(IdConverter, id_parameter_schema)
    api.spec.components.security_scheme("bearer", {
        "type": "http", "scheme": "bearer",
        "description": "A Microsoft Entra ID access token for the API (access_as_user), or a development token.",
    })
    for blueprint in (activities.blp, integrations.blp, lookup.blp, graph.blp, changes.blp, webhooks.blp, audit.blp,
                      guard.blp):
        api.register_blueprint(blueprint)
    graph.document_notifications(api.spec)
    app.register_blueprint(health.bp)
    app.register_blueprint(graph.notifications_bp)  # called by Graph: no bearer token
