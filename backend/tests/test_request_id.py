"""A request id on every response, in every error body and on every log line of the request."""

import logging
import re

import pytest

from crmbridge import request_id

HEX_ID = re.compile(r"[0-9a-f]{32}")


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/api/activities", "/no-such-page", "/taskpane/config.json"])
def test_every_response_carries_a_request_id(client, path):
    response = client.get(path)
    assert HEX_ID.fullmatch(response.headers["X-Request-Id"])


def test_each_request_gets_its_own_id(client):
    assert client.get("/healthz").headers["X-Request-Id"] != client.get("/healthz").headers["X-Request-Id"]


@pytest.mark.parametrize("path, status", [("/api/activities", 401), ("/no-such-page", 404),
                                          ("/api/activities/1", 401)])
def test_error_bodies_carry_the_request_id_of_their_response(client, path, status):
    response = client.get(path)
    assert response.status_code == status
    assert response.json["requestId"] == response.headers["X-Request-Id"]


def test_a_validation_error_carries_the_request_id(anna):
    response = anna.post("/api/activities", json={"subject": ""})
    assert response.status_code == 422
    assert response.json["requestId"] == response.headers["X-Request-Id"]
    assert response.json["errors"]


def test_the_500_fallback_carries_the_request_id_and_logs_it(app, client, caplog):
    @app.get("/boom")
    def boom():
        raise RuntimeError("internal notes must not leak")

    with caplog.at_level(logging.ERROR, logger="crmbridge"):
        response = client.get("/boom")

    assert response.status_code == 500
    rid = response.json["requestId"]
    assert rid == response.headers["X-Request-Id"]
    assert [record.request_id for record in caplog.records if record.name.startswith("crmbridge")] == [rid]
    assert "internal notes" not in response.get_data(as_text=True)


def test_a_proxys_request_id_is_kept(client):
    response = client.get("/no-such-page", headers={"X-Request-Id": "lb-7f3a9c2e-0001"})
    assert response.headers["X-Request-Id"] == "lb-7f3a9c2e-0001"
    assert response.json["requestId"] == "lb-7f3a9c2e-0001"


@pytest.mark.parametrize("offered", ["short", "bad id with spaces", "x" * 65, "evil\u2028line", "a;b=c<script>"])
def test_an_unusable_offered_id_is_replaced(client, offered):
    response = client.get("/healthz", headers={"X-Request-Id": offered})
    assert HEX_ID.fullmatch(response.headers["X-Request-Id"])


def test_log_lines_outside_a_request_carry_a_dash(caplog):
    with caplog.at_level(logging.INFO, logger="crmbridge.test"):
        logging.getLogger("crmbridge.test").info("started")
    assert caplog.records[-1].request_id == request_id.NONE


def test_the_served_log_format_names_the_request_id(app, client):
    formatter = logging.Formatter(request_id.LOG_FORMAT)
    with app.test_request_context("/", headers={"X-Request-Id": "support-call-1234"}):
        app.preprocess_request()
        record = logging.getLogger("crmbridge.test").makeRecord("crmbridge.test", logging.WARNING, __file__, 1,
                                                                 "something failed", (), None)
    assert "[support-call-1234] something failed" in formatter.format(record)
