"""Configuration: modes, defaults, and the combinations that must never start."""

import pytest

from crmbridge import create_app
from crmbridge.config import ConfigError, database_url, from_environment


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    with pytest.raises(ConfigError, match="CRMBRIDGE_SECRET_KEY"):
        from_environment({"CRMBRIDGE_ENV": "production"}, str(tmp_path))


def test_production_refuses_development_tokens(tmp_path):
    env = {"CRMBRIDGE_ENV": "production", "CRMBRIDGE_SECRET_KEY": "k" * 40, "CRMBRIDGE_DEV_TOKENS": "1"}
    with pytest.raises(ConfigError, match="DEV_TOKENS"):
        from_environment(env, str(tmp_path))


def test_create_app_refuses_dev_tokens_in_production_even_from_test_config(tmp_path):
    with pytest.raises(ConfigError):
        create_app({"CRMBRIDGE_ENV": "production", "DEV_TOKENS": True, "SECRET_KEY": "k",
                    "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}"})


def test_production_has_dev_tokens_off_by_default(tmp_path):
    config = from_environment({"CRMBRIDGE_ENV": "production", "CRMBRIDGE_SECRET_KEY": "k" * 40}, str(tmp_path))
    assert config["DEV_TOKENS"] is False


def test_development_keeps_a_generated_secret_key_across_restarts(tmp_path):
    first = from_environment({"CRMBRIDGE_ENV": "development"}, str(tmp_path))["SECRET_KEY"]
    second = from_environment({"CRMBRIDGE_ENV": "development"}, str(tmp_path))["SECRET_KEY"]
    assert first == second and len(first) > 40
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_an_unknown_mode_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="CRMBRIDGE_ENV"):
        from_environment({"CRMBRIDGE_ENV": "staging"}, str(tmp_path))


def test_settings_are_read_with_types(tmp_path):
    config = from_environment({
        "CRMBRIDGE_ENV": "development", "CRMBRIDGE_ORG_DOMAINS": "contoso.com, contoso.dk ,",
        "CRMBRIDGE_INCLUDE_SUBDOMAINS": "yes", "CRMBRIDGE_MAX_BODY_BYTES": "1000"}, str(tmp_path))
    assert config["ORG_DOMAINS"] == ["contoso.com", "contoso.dk"]
    assert config["INCLUDE_SUBDOMAINS"] is True and config["MAX_CONTENT_LENGTH"] == 1000
    with pytest.raises(ConfigError, match="CRMBRIDGE_MAX_BODY_BYTES"):
        from_environment({"CRMBRIDGE_ENV": "development", "CRMBRIDGE_MAX_BODY_BYTES": "lots"}, str(tmp_path))


@pytest.mark.parametrize(("raw", "expected"), [
    ("", "sqlite:////srv/instance/crmbridge.sqlite3"),
    ("postgres://u:p@db/crm", "postgresql+psycopg://u:p@db/crm"),
    ("postgresql://u:p@db/crm", "postgresql+psycopg://u:p@db/crm"),
    ("postgresql+psycopg://u@db/crm", "postgresql+psycopg://u@db/crm"),
    ("sqlite:////tmp/x.sqlite3", "sqlite:////tmp/x.sqlite3"),
])
def test_database_url_defaults_to_sqlite_and_uses_psycopg_for_postgres(raw, expected):
    assert database_url(raw, "/srv/instance") == expected


def test_test_config_selects_test_mode(app):
    assert app.config["CRMBRIDGE_ENV"] == "test" and app.config["TESTING"]
