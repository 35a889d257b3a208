"""/api/webhooks: an integration's endpoints. Deliveries go out from the outbox (``crmbridge webhooks deliver``)."""

from flask import current_app

from .. import db
from ..auth.request import current_caller
from ..integration import schemas, webhooks
from .common import BODY_ERRORS, api_blueprint

blp = api_blueprint("webhooks", __name__, "Webhook endpoints of an integration: signed, retried, per event id.")


def _with_counts(row):
    row.deliveries = webhooks.delivery_counts(db.session(), row.id)
    return row


@blp.post("/webhooks")
@blp.arguments(schemas.WebhookIn)
@blp.response(201, schemas.WebhookCreatedOut, description="The secret is in this answer only.")
@blp.errors(*BODY_ERRORS, 422)
@blp.doc(operationId="createWebhook")
def create_webhook(data):
    allow_loopback = current_app.config["CRMBRIDGE_ENV"] != "production"
    row = webhooks.create_endpoint(db.session(), current_caller(), data, allow_http_loopback=allow_loopback)
    return _with_counts(row)


@blp.get("/webhooks")
@blp.response(200, schemas.WebhookList)
@blp.errors()
@blp.doc(operationId="listWebhooks")
def list_webhooks():
    return {"items": [_with_counts(row) for row in webhooks.list_endpoints(db.session(), current_caller())]}


@blp.get("/webhooks/<id:endpoint_id>")
@blp.response(200, schemas.WebhookOut)
@blp.errors(404)
@blp.doc(operationId="getWebhook")
def get_webhook(endpoint_id):
    return _with_counts(webhooks.get_endpoint(db.session(), current_caller(), endpoint_id))


@blp.delete("/webhooks/<id:endpoint_id>")
@blp.response(204, description="Deleted with its undelivered deliveries.")
@blp.errors(404)
@blp.doc(operationId="deleteWebhook")
def delete_webhook(endpoint_id):
    webhooks.delete_endpoint(db.session(), current_caller(), endpoint_id)
    return "", 204
