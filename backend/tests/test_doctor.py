"""`crmbridge doctor`: every check says what is missing for the current mode, and the exit code follows."""

import os
import subprocess
import sys

import pytest
from entra_fakes import APP_ID_URI, CLIENT_ID, TENANT

from crmbridge import doctor, migrations
from crmbridge.auth.obo import CacheCipher
from crmbridge.doctor import ADVICE, MISSING, OK, Finding


@pytest.fixture
def production(database_url) -> dict:
    """A complete production configuration on a migrated database."""
    migrations.upgrade(database_url)
    return {
        "CRMBRIDGE_ENV": "production", "SECRET_KEY": "s" * 48, "DATABASE_URL": database_url,
        "ORG_DOMAINS": ["contoso.com"], "DEV_TOKENS": False, "ENTRA_CLIENT_ID": CLIENT_ID,
        "ENTRA_TENANTS": [TENANT], "ENTRA_APP_ID_URI": APP_ID_URI, "ENTRA_CLIENT_SECRET": "client-secret",
        "TOKEN_CACHE_KEY": CacheCipher.generate_key(), "ADDIN_ORIGIN": "https://crm.example.com",
        "BEHIND_PROXY": True,
    }


def by_topic(config: dict) -> dict[str, Finding]:
    return {finding.topic: finding for finding in doctor.run(config)}


def test_a_complete_production_configuration_has_nothing_missing(production):
    findings = by_topic(production)
    assert {finding.level for finding in findings.values()} == {OK}
    assert {"mode", "secret key", "database", "org domains", "Entra client id", "Entra tenants",
            "Application ID URI", "on-behalf-of", "add-in origin", "development tokens", "proxy"} <= set(findings)


@pytest.mark.parametrize(("change", "topic", "named"), [
    ({"ENTRA_CLIENT_ID": ""}, "Entra client id", "CRMBRIDGE_ENTRA_CLIENT_ID"),
    ({"ENTRA_TENANTS": []}, "Entra tenants", "CRMBRIDGE_ENTRA_TENANTS"),
    ({"ORG_DOMAINS": []}, "org domains", "CRMBRIDGE_ORG_DOMAINS"),
    ({"ADDIN_ORIGIN": ""}, "add-in origin", "CRMBRIDGE_ADDIN_ORIGIN"),
    ({"ADDIN_ORIGIN": "http://crm.example.com"}, "add-in origin", "not https"),
    ({"TOKEN_CACHE_KEY": ""}, "on-behalf-of", "CRMBRIDGE_TOKEN_CACHE_KEY"),
    ({"ENTRA_CLIENT_SECRET": ""}, "on-behalf-of", "CRMBRIDGE_ENTRA_CLIENT_SECRET"),
    ({"DEV_TOKENS": True}, "development tokens", "CRMBRIDGE_DEV_TOKENS"),
    ({"SECRET_KEY": ""}, "secret key", "CRMBRIDGE_SECRET_KEY"),
])
def test_each_setting_production_needs_is_reported_missing_by_name(production, change, topic, named):
    finding = by_topic({**production, **change})[topic]
    assert finding.level == MISSING
    assert named in finding.text


@pytest.mark.parametrize(("change", "topic", "named"), [
    ({"ENTRA_APP_ID_URI": ""}, "Application ID URI", "CRMBRIDGE_ENTRA_APP_ID_URI"),
    ({"ENTRA_APP_ID_URI": f"api://{CLIENT_ID}"}, "Application ID URI", "api://<host>/<client id>"),
    ({"ENTRA_CLIENT_SECRET": "", "TOKEN_CACHE_KEY": ""}, "on-behalf-of", "off"),
    ({"SECRET_KEY": "short"}, "secret key", "shorter than 32"),
])
def test_optional_settings_get_advice_not_a_failure(production, change, topic, named):
    finding = by_topic({**production, **change})[topic]
    assert finding.level == ADVICE
    assert named in finding.text


def test_development_mode_needs_no_entra_settings_but_is_told_about_them(production):
    config = {**production, "CRMBRIDGE_ENV": "development", "DEV_TOKENS": True, "ENTRA_CLIENT_ID": "",
              "ENTRA_TENANTS": [], "ADDIN_ORIGIN": "http://127.0.0.1:3000"}
    findings = by_topic(config)
    assert MISSING not in {finding.level for finding in findings.values()}
    assert findings["Entra client id"].level == ADVICE and findings["add-in origin"].level == ADVICE
    assert findings["development tokens"].level == OK


def test_development_without_dev_tokens_or_entra_has_no_way_to_sign_in(production):
    config = {**production, "CRMBRIDGE_ENV": "development", "ENTRA_CLIENT_ID": "", "ENTRA_TENANTS": []}
    assert by_topic(config)["development tokens"].level == MISSING


def test_a_database_behind_the_newest_migration_says_to_upgrade(production, tmp_path):
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    migrations.upgrade(url, "0001")
    finding = by_topic({**production, "DATABASE_URL": url})["database"]
    assert finding.level == MISSING and "0001" in finding.text and "crmbridge db upgrade" in finding.text


def test_a_missing_sqlite_file_is_reported_and_not_created(production, tmp_path):
    path = tmp_path / "never.sqlite3"
    finding = by_topic({**production, "DATABASE_URL": f"sqlite:///{path}"})["database"]
    assert finding.level == MISSING and "does not exist" in finding.text
    assert not path.exists()


def test_an_unreachable_database_is_reported_without_its_password(production):
    url = "postgresql+psycopg://crm:pa55word@127.0.0.1:1/crm?connect_timeout=2"
    finding = by_topic({**production, "DATABASE_URL": url})["database"]
    assert finding.level == MISSING and "cannot be reached" in finding.text
    assert "pa55word" not in finding.text


def test_domains_stored_in_the_database_count(production, runner):
    assert runner.invoke(args=["domains", "add", "fabrikam.example"]).exit_code == 0  # the same database

    finding = by_topic({**production, "ORG_DOMAINS": []})["org domains"]
    assert finding.level == OK and "fabrikam.example" in finding.text


def test_a_failing_check_is_reported_and_the_others_still_run(production, monkeypatch):
    monkeypatch.setattr(doctor, "CHECKS", list(doctor.CHECKS))

    @doctor.check
    def graph_subscription(config):
        raise RuntimeError("boom")

    findings = by_topic(production)
    assert findings["graph_subscription"].level == MISSING
    assert findings["graph_subscription"].text == "the check itself failed: RuntimeError"
    assert findings["database"].level == OK


def test_another_engineer_appends_a_check_and_the_command_shows_it(runner, monkeypatch):
    monkeypatch.setattr(doctor, "CHECKS", list(doctor.CHECKS))
    doctor.check(lambda config: Finding(MISSING, "Graph", "CRMBRIDGE_GRAPH_MODE is not set."))

    result = runner.invoke(args=["doctor"])

    assert result.exit_code == 1
    assert "CRMBRIDGE_GRAPH_MODE is not set." in result.output


def test_the_command_on_the_test_app_lists_every_check_and_exits_zero(runner):
    result = runner.invoke(args=["doctor"])

    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) >= len(doctor.CHECKS)
    assert lines[0].split()[:3] == ["ok", "mode", "test"]
    assert any(line.startswith("advice") and "CRMBRIDGE_ENTRA_CLIENT_ID" in line for line in lines)


def test_the_command_answers_even_when_production_refuses_to_start(tmp_path):
    """Run as the installed `crmbridge` command: the app cannot start, the doctor still names what is missing."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("CRMBRIDGE_", "DATABASE_URL"))}
    env.update({
        "CRMBRIDGE_ENV": "production", "CRMBRIDGE_SECRET_KEY": "s" * 48, "CRMBRIDGE_INSTANCE_PATH": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'crm.sqlite3'}", "FLASK_SKIP_DOTENV": "1",
    })
    result = subprocess.run([sys.executable, "-c", "from crmbridge.cli import main; main()", "doctor"],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)

    assert result.returncode == 1, result.stderr
    missing = [line for line in result.stdout.splitlines() if line.startswith(MISSING)]
    for named in ("CRMBRIDGE_ENTRA_CLIENT_ID", "CRMBRIDGE_ENTRA_TENANTS", "CRMBRIDGE_ORG_DOMAINS",
                  "crmbridge db upgrade", "CRMBRIDGE_ADDIN_ORIGIN"):
        assert any(named in line for line in missing), (named, result.stdout)
    assert "Traceback" not in result.stderr


def test_application_mode_does_not_ask_for_the_on_behalf_of_token_cache_key(production):
    production.update(GRAPH_MODE="application", TOKEN_CACHE_KEY="", GRAPH_NOTIFICATION_URL="", GRAPH_CLIENT_STATE="")

    findings = by_topic(production)

    assert findings["on-behalf-of"].level == OK and "not used in application mode" in findings["on-behalf-of"].text
    assert findings["Microsoft Graph"].level == ADVICE  # notifications are off: advice, nothing missing
    assert "Calendars.ReadWrite (application)" in findings["Microsoft Graph"].text
    assert "Organization.Read.All (application, optional)" in findings["Microsoft Graph"].text


def app_token(*roles):
    import base64
    import json

    payload = base64.urlsafe_b64encode(json.dumps({"roles": list(roles)}).encode()).decode().rstrip("=")
    return f"header.{payload}.signature"


@pytest.mark.parametrize(("roles", "level", "named"), [
    (("Calendars.ReadWrite", "Organization.Read.All", "User.Read.All"), OK,
     "granted: Calendars.ReadWrite, Organization.Read.All, User.Read.All"),
    (("Calendars.ReadWrite", "User.Read.All"), ADVICE, "Organization.Read.All is not granted"),
    (("Organization.Read.All", "User.Read.All"), MISSING, "Calendars.ReadWrite is not granted"),
    (("Calendars.ReadWrite", "Organization.Read.All"), MISSING, "User.Read.All is not granted"),
])
def test_doctor_graph_reads_the_permissions_granted_to_the_app_token(roles, level, named):
    finding = doctor.graph_permissions(lambda: app_token(*roles), "application")

    assert finding.level == level and named in finding.text


def test_doctor_graph_says_when_entra_gives_no_token():
    def refused():
        raise RuntimeError("AADSTS7000215: Invalid client secret provided.")

    finding = doctor.graph_permissions(refused, "application")

    assert finding.level == MISSING and "AADSTS7000215" in finding.text
