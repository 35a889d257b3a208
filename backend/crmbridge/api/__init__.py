"""HTTP API blueprints: thin views that parse with a schema, call one use case and return."""

from flask import Flask
from flask_smorest import Api

from . import activities, graph, health, lookup
from .common import IdConverter, id_parameter_schema


def init_app(app: Flask) -> None:
    app.url_map.converters["id"] = IdConverter
    api = Api(app, spec_kwargs={"info": {"description": "crmbridge: CRM meetings and Outlook, side by side."}})
    api.register_converter(IdConverter, id_parameter_schema)
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    for blueprint in (activities.blp, lookup.blp, graph.blp):
        api.register_blueprint(blueprint)
    app.register_blueprint(health.bp)
    app.register_blueprint(graph.notifications_bp)  # called by Graph: no bearer token
