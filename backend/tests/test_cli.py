"""The crmbridge command: database, demo data, dev tokens, domains, manifest."""

import os

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


# The command as a new user runs it: no configuration at all ------------------------------------------------------


def crmbridge(tmp_path, *args: str, **env: str):
    import subprocess
    import sys
    from pathlib import Path

    clean = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "CRMBRIDGE_INSTANCE_PATH": str(tmp_path / "i"),
             **env}
    command = Path(sys.executable).parent / "crmbridge"
    return subprocess.run([str(command), *args], env=clean, cwd=tmp_path, capture_output=True, text=True, timeout=120)


def test_help_works_with_no_configuration_and_lists_every_command(tmp_path):
    result = crmbridge(tmp_path, "--help")
    assert result.returncode == 0, result.stderr
    for command in ("db", "dev-token", "doctor", "domains", "manifest", "serve", "dev-cert", "sync", "scan"):
        assert f"  {command} " in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.parametrize("args", [
    ("manifest", "--base-url", "https://crm.example.com", "-o", "manifest.xml"),
    ("dev-cert", "--dir", "certs"),
    ("serve", "--help"),
    ("db", "upgrade", "--help"),
], ids=["manifest", "dev-cert", "serve-help", "db-help"])
def test_commands_that_need_no_secret_run_without_one(tmp_path, args):
    result = crmbridge(tmp_path, *args)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr


CONFIGURATION_PROBLEMS = {
    "no-secret": ({}, "CRMBRIDGE_SECRET_KEY"),
    "bad-mode": ({"CRMBRIDGE_ENV": "staging"}, "CRMBRIDGE_ENV"),
    "bad-number": ({"CRMBRIDGE_ENV": "development", "CRMBRIDGE_MAX_BODY_BYTES": "lots"}, "CRMBRIDGE_MAX_BODY_BYTES"),
}
DATABASE_DOWN = ({"CRMBRIDGE_ENV": "development", "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"},
                 "DATABASE_URL")


@pytest.mark.parametrize("args, env, names", [
    *[pytest.param(args, *CONFIGURATION_PROBLEMS["no-secret"], id=f"{args[0]}-no-secret") for args in (
        ("serve",), ("dev-token", "a@contoso.com"), ("domains", "list"), ("sync",), ("scan",))],
    *[pytest.param(("db", "upgrade"), env, names, id=f"db-{problem}")
      for problem, (env, names) in CONFIGURATION_PROBLEMS.items()],
    pytest.param(("db", "upgrade"), *DATABASE_DOWN, id="db-database-down"),
])
def test_a_configuration_problem_is_one_actionable_line_never_a_traceback(tmp_path, args, env, names):
    result = crmbridge(tmp_path, *args, **env)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: ") and names in lines[0], result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_doctor_names_what_is_missing_without_a_secret(tmp_path):
    result = crmbridge(tmp_path, "doctor")
    assert result.returncode == 1
    assert "CRMBRIDGE_SECRET_KEY" in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
