"""Health, the OpenAPI document, and the taskpane's static files."""

import pytest


def test_healthz_answers_without_a_token(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}


def test_openapi_lists_every_endpoint(client):
    spec = client.get("/api/openapi.json").json
    paths = set(spec["paths"])
    assert {
        "/api/activities", "/api/activities/{activity_id}", "/api/activities/{activity_id}/external-draft",
        "/api/activities/{activity_id}/drift", "/api/activities/{activity_id}/reconcile",
        "/api/activities/{activity_id}/links", "/api/lookup",
    } <= paths
    assert "patch" in spec["paths"]["/api/activities/{activity_id}"]


def test_the_dev_token_endpoint_exists_only_with_dev_tokens(app, client):
    response = client.post("/dev/token", json={"email": "anna@contoso.com"})
    assert response.status_code == 200 and response.json["token"].startswith("dev.")
    assert client.post("/dev/token", json={"email": "nope"}).status_code == 422


@pytest.fixture
def production_app(tmp_path, monkeypatch):
    from crmbridge import create_app

    monkeypatch.setenv("CRMBRIDGE_ENV", "production")
    monkeypatch.setenv("CRMBRIDGE_SECRET_KEY", "k" * 40)
    monkeypatch.setenv("CRMBRIDGE_ENTRA_CLIENT_ID", "6b1f3c1e-8e0a-4d57-9d3b-1f0b6a3c2d11")
    monkeypatch.setenv("CRMBRIDGE_ENTRA_TENANTS", "72f988bf-86f1-41af-91ab-2d7cd011db47")
    monkeypatch.setenv("CRMBRIDGE_PUBLIC_URL", "https://crm.example.com")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'p.sqlite3'}")
    monkeypatch.delenv("CRMBRIDGE_DEV_TOKENS", raising=False)
    return create_app()


def test_the_dev_token_endpoint_is_absent_in_production(production_app):
    assert production_app.test_client().post("/dev/token", json={"email": "anna@contoso.com"}).status_code == 404


@pytest.mark.parametrize("path", ["preview.html", "preview.css", "src/preview.js", "fake-office/office-fake.js"])
def test_production_serves_the_taskpane_but_not_the_development_preview(production_app, client, path):
    def status(test_client, url):
        with test_client.get(url) as response:  # file responses stream: close them
            return response.status_code

    assert status(client, f"/taskpane/{path}") == 200  # development serves it
    assert status(production_app.test_client(), f"/taskpane/{path}") == 404
    assert status(production_app.test_client(), "/taskpane/taskpane.html") == 200


def test_the_support_page_answers_in_both_languages(client):
    text = client.get("/").get_data(as_text=True)
    assert "administrator" in text and "Kontakt din administrator" in text


def test_the_sign_in_configuration_in_development_has_no_client_and_allows_dev_tokens(client):
    response = client.get("/taskpane/config.json")
    assert response.headers["Cache-Control"] == "no-store"
    assert response.json == {"clientId": None, "apiScope": None,
                             "authority": "https://login.microsoftonline.com/organizations", "devTokens": True}


def test_the_sign_in_configuration_in_production_names_the_api_scope_and_the_tenant(production_app):
    assert production_app.test_client().get("/taskpane/config.json").json == {
        "clientId": "6b1f3c1e-8e0a-4d57-9d3b-1f0b6a3c2d11",
        "apiScope": "api://crm.example.com/6b1f3c1e-8e0a-4d57-9d3b-1f0b6a3c2d11/access_as_user",
        "authority": "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47",
        "devTokens": False,
    }
