"""Every error leaves in one JSON shape with a message a person can act on, and nothing is half-written."""

import logging

import pytest
from conftest import activity_json

from crmbridge import db
from crmbridge.models import ActivityRow, ParticipantRow


def assert_error_shape(response, status):
    assert response.status_code == status
    assert response.is_json
    assert set(response.json) >= {"code", "message", "errors"}
    assert response.json["code"] == status
    assert isinstance(response.json["message"], str) and response.json["message"]
    assert isinstance(response.json["errors"], dict)


def test_malformed_json_is_400(anna):
    response = anna.post("/api/activities", data="{not json", headers={"Content-Type": "application/json"})
    assert_error_shape(response, 400)


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer "},
                                     {"Authorization": "Bearer dev.forged.token"},
                                     {"Authorization": "Bearer eyJhbGciOiJub25lIn0.e30."}])
def test_missing_or_bad_tokens_are_401_with_www_authenticate(client, headers):
    response = client.get("/api/activities", headers=headers)
    assert_error_shape(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer ")


def test_a_dev_token_signed_with_another_key_is_401(app, client):
    from crmbridge.auth import dev_tokens

    forged = dev_tokens.issue("some-other-key", "anna@contoso.com")
    assert_error_shape(client.get("/api/activities", headers={"Authorization": f"Bearer {forged}"}), 401)


def test_dev_tokens_are_refused_when_turned_off(app, client):
    from conftest import token_for

    token = token_for(app, "anna@contoso.com")
    app.config["DEV_TOKENS"] = False
    assert_error_shape(client.get("/api/activities", headers={"Authorization": f"Bearer {token}"}), 401)


def test_unknown_routes_and_activities_are_404(anna):
    assert_error_shape(anna.get("/api/activities/999999"), 404)
    assert_error_shape(anna.get("/api/nothing"), 404)


def test_a_wrong_method_is_405_with_allow(anna):
    response = anna.delete("/api/lookup")
    assert_error_shape(response, 405)
    assert "GET" in response.headers["Allow"]


def test_an_oversized_body_is_413_and_writes_nothing(app, anna):
    app.config["MAX_CONTENT_LENGTH"] = 10_000
    response = anna.post("/api/activities", json=activity_json(internalNotes="x" * 20_000))
    assert_error_shape(response, 413)
    with app.app_context():
        assert db.session().query(ActivityRow).count() == 0


def test_validation_errors_are_422_per_field_including_unknown_fields(anna):
    response = anna.post("/api/activities", json={
        "subject": "", "start": "tomorrow", "end": "2026-12-01T10:00:00", "timeZone": "Europe/Copenhagen",
        "participants": [{"email": "ok@kunde.dk"}, {"email": "not an address"}, {"email": "x@y.dk", "type": "vip"}],
        "colour": "blue",
    })
    assert_error_shape(response, 422)
    assert set(response.json["errors"]) == {
        "subject", "start", "end", "participants.1.email", "participants.2.type", "colour"}


@pytest.mark.parametrize(("overrides", "field"), [
    ({"end": "2026-12-01T07:00:00Z"}, "end"),
    ({"timeZone": "Europe/Atlantis"}, "timeZone"),
    ({"timeZone": "Romance Standard Time"}, "timeZone"),
    ({"isAllDay": True}, "start"),
    ({"participants": [{"email": "a@kunde.dk"}, {"email": "A@KUNDE.DK"}]}, "participants.1.email"),
    ({"status": "postponed"}, "status"),
    ({"subject": "x" * 256}, "subject"),
    ({"participants": "everyone"}, "participants"),
])
def test_domain_rules_are_422_and_nothing_is_written(app, anna, overrides, field):
    response = anna.post("/api/activities", json=activity_json(**overrides))
    assert_error_shape(response, 422)
    assert field in response.json["errors"]
    with app.app_context():
        assert db.session().query(ActivityRow).count() == 0
        assert db.session().query(ParticipantRow).count() == 0


def test_an_unexpected_failure_is_a_500_that_hides_details_and_logs_no_note_text(app, anna, created, caplog,
                                                                                    monkeypatch):
    from crmbridge import services

    def explode(*_args, **_kwargs):
        raise RuntimeError("boom with Internal only: discount up to 12 %")

    monkeypatch.setattr(services, "draft_for", explode)
    with caplog.at_level(logging.DEBUG):
        response = anna.get(f"/api/activities/{created.json['id']}/external-draft")
    assert_error_shape(response, 500)
    assert "boom" not in response.get_data(as_text=True)
    assert "discount" not in caplog.text
    assert "RuntimeError" in caplog.text


def test_the_409_412_and_428_share_the_shape(anna, created):
    aid = created.json["id"]
    assert_error_shape(anna.patch(f"/api/activities/{aid}", json={"location": "x"}), 428)
    assert_error_shape(anna.patch(f"/api/activities/{aid}", json={"location": "x"}, headers={"If-Match": '"v5"'}), 412)
    anna.post(f"/api/activities/{aid}/links", json={"state": "sent", "iCalUId": "dup"})
    other = anna.post("/api/activities", json=activity_json()).json["id"]
    assert_error_shape(anna.post(f"/api/activities/{other}/links", json={"state": "sent", "iCalUId": "dup"}), 409)


def test_a_non_json_body_is_rejected(anna):
    response = anna.post("/api/activities", data="subject=x", headers={"Content-Type": "text/plain"})
    assert response.status_code in (400, 415, 422)
    assert response.is_json and response.json["code"] == response.status_code
