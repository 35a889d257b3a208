"""HTTP API blueprints: thin views that parse with a schema, call one use case and return."""

from flask import Flask
from flask_smorest import Api

from . import activities, audit, changes, graph, guard, health, integrations, lookup, webhooks


def init_app(app: Flask) -> None:
    api = Api(app, spec_kwargs={"info": {"description": "crmbridge: CRM meetings and Outlook, side by side."}})
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    for blueprint in (activities.blp, integrations.blp, lookup.blp, graph.blp, changes.blp, webhooks.blp, audit.blp,
                      guard.blp):
        api.register_blueprint(blueprint)
    app.register_blueprint(health.bp)
    app.register_blueprint(graph.notifications_bp)  # called by Graph: no bearer token
