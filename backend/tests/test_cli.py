"""The crmbridge command: database, demo data, dev tokens, domains, manifest."""

import pytest

from crmbridge import db
from crmbridge.auth import dev_tokens
from crmbridge.models import ActivityRow, OrgDomainRow


def test_db_upgrade_reports_the_revision_without_a_password(runner):
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "head" in result.output


def test_seed_demo_loads_once_and_keeps_data_when_run_again(app, runner):
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0 and "added" in first.output
    with app.app_context():
        count = db.session().query(ActivityRow).count()
        organizers = {row.organizer_email for row in db.session().query(ActivityRow)}
        assert count >= 5 and len(organizers) >= 3
    second = runner.invoke(args=["seed-demo"])
    assert "kept" in second.output
    with app.app_context():
        assert db.session().query(ActivityRow).count() == count


def test_dev_token_prints_a_token_the_api_accepts(app, runner, client):
    result = runner.invoke(args=["dev-token", "a@contoso.com"])
    assert result.exit_code == 0
    token = result.output.strip()
    assert dev_tokens.verify(app.config["SECRET_KEY"], token).email == "a@contoso.com"
    assert client.get("/api/activities", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_dev_token_refuses_a_bad_address_and_a_disabled_mode(app, runner):
    assert runner.invoke(args=["dev-token", "not-an-address"]).exit_code != 0
    app.config["DEV_TOKENS"] = False
    result = runner.invoke(args=["dev-token", "a@contoso.com"])
    assert result.exit_code != 0 and "off" in result.output


def test_domains_add_list_remove_and_classification_follows(app, runner, anna):
    created = anna.post("/api/activities", json={
        "subject": "x", "start": "2026-12-01T09:00:00Z", "end": "2026-12-01T10:00:00Z",
        "timeZone": "UTC", "participants": [{"email": "ole@Fabrikam.example"}]}).json
    assert created["participants"][0]["classification"] == "external"
    assert runner.invoke(args=["domains", "add", "@FABRIKAM.example"]).exit_code == 0
    listed = runner.invoke(args=["domains", "list"]).output
    assert "fabrikam.example" in listed and "contoso.com" in listed
    after = anna.get(f"/api/activities/{created['id']}").json
    first = after["participants"][0]
    assert (first["classification"], first["reason"]) == ("internal", "org-domain")
    assert runner.invoke(args=["domains", "remove", "fabrikam.example"]).exit_code == 0
    assert runner.invoke(args=["domains", "remove", "fabrikam.example"]).exit_code != 0
    with app.app_context():
        assert db.session().query(OrgDomainRow).count() == 0


@pytest.mark.parametrize("bad", ["contoso", "-bad-.com", ""])
def test_domains_add_rejects_a_malformed_domain(runner, bad):
    result = runner.invoke(args=["domains", "add", bad])
    assert result.exit_code != 0


def test_manifest_writes_a_valid_manifest_for_a_deployment(runner, tmp_path):
    out = tmp_path / "manifest.xml"
    result = runner.invoke(args=["manifest", "--base-url", "https://crm.example.com", "--output", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert "https://crm.example.com/taskpane/taskpane.html" in text


def test_manifest_refuses_an_http_base_url(runner):
    result = runner.invoke(args=["manifest", "--base-url", "http://crm.example.com"])
    assert result.exit_code != 0 and "https" in result.output
