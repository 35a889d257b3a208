"""CORS for the add-in's origin only, the taskpane's Content-Security-Policy, and the headers on every response."""

import pytest
from conftest import token_for

from crmbridge import create_app, db, migrations

ORIGIN = "https://crm.example.com"
OFFICE_HOSTS = ("'self'", "https://*.office.com", "https://*.office365.com", "https://*.microsoft.com",
                "https://*.outlook.com", "https://outlook.office.com", "https://outlook.office365.com",
                "https://*.cloud.microsoft")
CORS_HEADERS = ("Access-Control-Allow-Origin", "Access-Control-Allow-Methods", "Access-Control-Allow-Headers",
                "Access-Control-Expose-Headers", "Access-Control-Max-Age", "Access-Control-Allow-Credentials")


def make_app(database_url, tmp_path, **settings):
    taskpane = tmp_path / "taskpane"
    taskpane.mkdir(exist_ok=True)
    (taskpane / "taskpane.html").write_text("<!doctype html><title>crmbridge</title>")
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "test-secret-key",
                      "ADDIN_ORIGIN": ORIGIN, "TASKPANE_DIR": str(taskpane), **settings})
    migrations.upgrade(database_url)
    return app


@pytest.fixture
def app(database_url, tmp_path):
    app = make_app(database_url, tmp_path)
    yield app
    db.engine(app).dispose()


def signed_in(app) -> dict:
    return {"Authorization": f"Bearer {token_for(app, 'anna@contoso.com')}"}


def test_the_add_in_origin_gets_cors_headers_with_etag_exposed(app, client):
    response = client.get("/api/activities", headers={**signed_in(app), "Origin": ORIGIN})

    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "ETag" in response.headers["Access-Control-Expose-Headers"].split(", ")
    assert "Origin" in response.headers["Vary"]
    assert "Access-Control-Allow-Credentials" not in response.headers  # bearer tokens, never cookies


def test_a_preflight_from_the_add_in_origin_is_answered_without_a_token(client):
    response = client.options("/api/activities/7", headers={
        "Origin": ORIGIN, "Access-Control-Request-Method": "PATCH",
        "Access-Control-Request-Headers": "authorization, content-type, if-match",
    })

    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "PATCH" in response.headers["Access-Control-Allow-Methods"]
    allowed = {name.strip().lower() for name in response.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type", "if-match"} <= allowed
    assert int(response.headers["Access-Control-Max-Age"]) > 0


def test_an_error_answer_to_the_add_in_origin_carries_cors_headers_too(client):
    response = client.get("/api/activities", headers={"Origin": ORIGIN})

    assert response.status_code == 401
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "WWW-Authenticate" in response.headers["Access-Control-Expose-Headers"]


@pytest.mark.parametrize("origin", ["https://evil.example", "http://crm.example.com", "https://crm.example.com.evil",
                                    "null"])
def test_other_origins_get_no_cors_headers(app, client, origin):
    preflight = client.options("/api/activities", headers={"Origin": origin, "Access-Control-Request-Method": "POST"})
    actual = client.get("/api/activities", headers={**signed_in(app), "Origin": origin})

    for response in (preflight, actual):
        assert not [name for name in CORS_HEADERS if name in response.headers], response.headers


def test_without_an_add_in_origin_no_origin_gets_cors_headers(database_url, tmp_path):
    app = make_app(database_url, tmp_path, ADDIN_ORIGIN="")
    try:
        response = app.test_client().get("/api/activities", headers={**signed_in(app), "Origin": ORIGIN})
    finally:
        db.engine(app).dispose()
    assert "Access-Control-Allow-Origin" not in response.headers


def test_the_taskpane_has_a_csp_that_lets_only_office_hosts_frame_it(client):
    with client.get("/taskpane/taskpane.html") as response:  # a file response: close it
        pass

    assert response.status_code == 200
    policy = dict(part.strip().split(" ", 1) for part in response.headers["Content-Security-Policy"].split(";"))
    assert policy["frame-ancestors"].split() == list(OFFICE_HOSTS)
    assert policy["script-src"].split() == ["'self'", "https://appsforoffice.microsoft.com"]
    assert policy["connect-src"].split() == ["'self'", "https://login.microsoftonline.com"]
    assert policy["default-src"] == "'self'" and policy["object-src"] == "'none'"
    assert "X-Frame-Options" not in response.headers  # it would override frame-ancestors and break Outlook


def test_api_answers_may_not_be_framed_or_run_anything(app, client):
    response = client.get("/api/activities", headers=signed_in(app))
    assert response.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"


@pytest.mark.parametrize("path", ["/healthz", "/api/activities", "/taskpane/taskpane.html", "/no-such-page",
                                  "/api/openapi.json"])
def test_every_response_has_nosniff_and_a_referrer_policy(client, path):
    with client.get(path) as response:
        pass
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_hsts_is_sent_over_https_only(client):
    assert client.get("/healthz", base_url="https://crm.example.com").headers["Strict-Transport-Security"] == (
        "max-age=31536000")
    assert "Strict-Transport-Security" not in client.get("/healthz", base_url="http://crm.example.com").headers


@pytest.mark.parametrize("base_url", ["https://localhost:3000", "https://127.0.0.1", "https://[::1]:3000"])
def test_no_hsts_for_local_development_over_https(client, base_url):
    # Otherwise the browser would force https on every local server for a year.
    assert "Strict-Transport-Security" not in client.get("/healthz", base_url=base_url).headers


def test_forwarded_proto_is_ignored_unless_behind_a_configured_proxy(client):
    response = client.get("/healthz", base_url="http://crm.example.com", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in response.headers


def test_behind_a_configured_proxy_its_forwarded_proto_counts(database_url, tmp_path):
    app = make_app(database_url, tmp_path, BEHIND_PROXY=True)
    try:
        response = app.test_client().get("/healthz", base_url="http://crm.example.com",
                                          headers={"X-Forwarded-Proto": "https"})
    finally:
        db.engine(app).dispose()
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
