"""Configuration: read from the environment once, in one place, with a documented default for each setting.

Every variable is listed in README.md and .env.example.
"""

import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

MODES = ("development", "test", "production")
GRAPH_MODES = ("off", "delegated", "application")
ROOM_BOOKINGS = ("internal", "external")


class ConfigError(RuntimeError):
    """The configuration cannot work; the message names the variable to set."""


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, got '{raw}'.") from exc


def _list(value: str | None) -> list[str]:
    return [item.strip() for item in (value or "").split(",") if item.strip()]


def database_url(raw: str | None, instance_path: str) -> str:
    """SQLite under instance/ by default; ``postgres://`` and ``postgresql://`` use the psycopg 3 driver."""
    if not raw:
        return f"sqlite:///{Path(instance_path) / 'crmbridge.sqlite3'}"
    for prefix in ("postgres://", "postgresql://"):
        if raw.startswith(prefix):
            return "postgresql+psycopg://" + raw[len(prefix):]
    return raw


_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _guids(env: Mapping[str, str], name: str) -> list[str]:
    values = [value.lower() for value in _list(env.get(name))]
    bad = [value for value in values if not _GUID.fullmatch(value)]
    if bad:
        # 'common' or 'organizations' would let every tenant in.
        raise ConfigError(f"{name} takes GUIDs (tenant or client ids), not: {', '.join(bad)}.")
    return values


def _origin(env: Mapping[str, str], name: str, default: str = "") -> str:
    """``scheme://host[:port]`` of a URL setting, lowercased."""
    raw = env.get(name, "").strip() or default
    if not raw:
        return ""
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
        raise ConfigError(f"{name} must be an origin such as https://crm.example.com, got '{raw}'.")
    return f"{parts.scheme}://{parts.netloc}".lower()


def _fernet_key(env: Mapping[str, str], name: str) -> str:
    key = env.get(name, "").strip()
    if key:
        from cryptography.fernet import Fernet

        try:
            Fernet(key)
        except ValueError as exc:
            raise ConfigError(
                f"{name} is not a Fernet key; create one with: python3 -c "
                "'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
            ) from exc
    return key


def _entra(env: Mapping[str, str]) -> dict:
    """Entra ID settings. The Application ID URI defaults to api://<public host>/<client id>, as the manifest has it."""
    client_ids = _guids(env, "CRMBRIDGE_ENTRA_CLIENT_ID")
    if len(client_ids) > 1:
        raise ConfigError("CRMBRIDGE_ENTRA_CLIENT_ID takes one client id.")
    client_id = client_ids[0] if client_ids else ""
    public = urlsplit(env.get("CRMBRIDGE_PUBLIC_URL", "").strip())
    derived = f"api://{public.netloc.lower()}/{client_id}" if client_id and public.netloc else ""
    public_origin = f"{public.scheme}://{public.netloc}" if public.scheme and public.netloc else ""
    return {
        "ENTRA_CLIENT_ID": client_id,
        "ENTRA_APP_ID_URI": env.get("CRMBRIDGE_ENTRA_APP_ID_URI", "").strip().rstrip("/") or derived,
        "ENTRA_TENANTS": _guids(env, "CRMBRIDGE_ENTRA_TENANTS"),
        "ENTRA_CLIENT_SECRET": env.get("CRMBRIDGE_ENTRA_CLIENT_SECRET", "").strip(),
        "TOKEN_CACHE_KEY": _fernet_key(env, "CRMBRIDGE_TOKEN_CACHE_KEY"),
        "ADDIN_ORIGIN": _origin(env, "CRMBRIDGE_ADDIN_ORIGIN", default=public_origin),
        "BEHIND_PROXY": _flag(env.get("CRMBRIDGE_BEHIND_PROXY"), default=False),
    }


def _secret_key(env: Mapping[str, str], mode: str, instance_path: str) -> str:
    """Production must be given a key. Development keeps a random one in instance/ so dev tokens survive restarts."""
    key = env.get("CRMBRIDGE_SECRET_KEY", "").strip()
    if key:
        return key
    if mode == "production":
        raise ConfigError("CRMBRIDGE_SECRET_KEY is not set: production needs a long random secret.")
    if mode == "test":
        return secrets.token_urlsafe(32)
    path = Path(instance_path) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


def from_environment(env: Mapping[str, str], instance_path: str, test_mode: bool = False) -> dict:
    """Flask config values from the environment. ``test_mode`` forces mode ``test``."""
    mode = "test" if test_mode else env.get("CRMBRIDGE_ENV", "production").strip().lower()
    if mode not in MODES:
        raise ConfigError(f"CRMBRIDGE_ENV must be one of {', '.join(MODES)}, got '{mode}'.")
    dev_tokens = _flag(env.get("CRMBRIDGE_DEV_TOKENS"), default=mode != "production")
    if mode == "production" and dev_tokens:
        raise ConfigError(
            "CRMBRIDGE_DEV_TOKENS is on in production mode: development tokens would let anyone in. Turn it off."
        )
    return {
        "CRMBRIDGE_ENV": mode,
        "TESTING": mode == "test",
        "SECRET_KEY": _secret_key(env, mode, instance_path),
        "DATABASE_URL": database_url(env.get("DATABASE_URL", "").strip(), instance_path),
        "ORG_DOMAINS": _list(env.get("CRMBRIDGE_ORG_DOMAINS")),
        "INCLUDE_SUBDOMAINS": _flag(env.get("CRMBRIDGE_INCLUDE_SUBDOMAINS"), default=False),
        "DEV_TOKENS": dev_tokens,
        "MAX_CONTENT_LENGTH": _int(env, "CRMBRIDGE_MAX_BODY_BYTES", 256 * 1024),
        "ORG_DOMAINS_CACHE_SECONDS": _int(env, "CRMBRIDGE_ORG_DOMAINS_CACHE_SECONDS", 30),
        "DIRECTORY_CACHE_SECONDS": _int(env, "CRMBRIDGE_DIRECTORY_CACHE_SECONDS", 3600),
        "PUBLIC_BASE_URL": env.get("CRMBRIDGE_PUBLIC_URL", "").strip().rstrip("/"),
        "TASKPANE_DIR": env.get("CRMBRIDGE_TASKPANE_DIR", "").strip(),
        "GRAPH_MODE": env.get("CRMBRIDGE_GRAPH_MODE", "").strip().lower() or "off",
        "GRAPH_BASE_URL": env.get("CRMBRIDGE_GRAPH_BASE_URL", "").strip() or "https://graph.microsoft.com/v1.0",
        "GRAPH_NOTIFICATION_URL": env.get("CRMBRIDGE_GRAPH_NOTIFICATION_URL", "").strip(),
        "GRAPH_CLIENT_STATE": env.get("CRMBRIDGE_GRAPH_CLIENT_STATE", "").strip(),
        "SCAN_WINDOW_DAYS": _int(env, "CRMBRIDGE_SCAN_WINDOW_DAYS", 60),
        "ROOM_BOOKING": env.get("CRMBRIDGE_ROOM_BOOKING", "").strip().lower() or "internal",
        "NOTES_COALESCE_SECONDS": _int(env, "CRMBRIDGE_NOTES_COALESCE_SECONDS", 300),
        "NOTES_ONLY_UPDATES": _flag(env.get("CRMBRIDGE_NOTES_ONLY_UPDATES"), default=True),
        "GRAPH_RETRY_AFTER_CAP": _int(env, "CRMBRIDGE_GRAPH_RETRY_AFTER_CAP", 60),
        "WEBHOOK_TIMEOUT_SECONDS": _int(env, "CRMBRIDGE_WEBHOOK_TIMEOUT_SECONDS", 10),
        "AUDIT_RETENTION_DAYS": _int(env, "CRMBRIDGE_AUDIT_RETENTION_DAYS", 365),
        "NOTES_RETENTION_DAYS": _int(env, "CRMBRIDGE_NOTES_RETENTION_DAYS", 0),
        "METRICS_TOKEN": env.get("CRMBRIDGE_METRICS_TOKEN", "").strip(),
        "API_TITLE": "crmbridge",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api",
        "OPENAPI_JSON_PATH": "openapi.json",
        **_entra(env),
    }


def check(config: Mapping) -> None:
    """Refuse combinations that must never run, whatever set them (environment or test_config)."""
    if config["CRMBRIDGE_ENV"] not in MODES:
        raise ConfigError(f"CRMBRIDGE_ENV must be one of {', '.join(MODES)}.")
    if config["CRMBRIDGE_ENV"] == "production" and config.get("DEV_TOKENS"):
        raise ConfigError("Development tokens cannot be enabled in production mode (CRMBRIDGE_DEV_TOKENS).")
    if not config.get("SECRET_KEY"):
        raise ConfigError("CRMBRIDGE_SECRET_KEY is not set.")
    if config.get("GRAPH_MODE", "off") not in GRAPH_MODES:
        raise ConfigError(f"CRMBRIDGE_GRAPH_MODE must be one of {', '.join(GRAPH_MODES)}.")
    if config.get("ROOM_BOOKING", "internal") not in ROOM_BOOKINGS:
        raise ConfigError(f"CRMBRIDGE_ROOM_BOOKING must be one of {', '.join(ROOM_BOOKINGS)}.")
    if len(config.get("GRAPH_CLIENT_STATE", "")) > 128:
        raise ConfigError("CRMBRIDGE_GRAPH_CLIENT_STATE is longer than the 128 characters Graph accepts.")
    missing = [name for name, key in (("CRMBRIDGE_ENTRA_CLIENT_ID", "ENTRA_CLIENT_ID"),
                                      ("CRMBRIDGE_ENTRA_TENANTS", "ENTRA_TENANTS")) if not config.get(key)]
    if config["CRMBRIDGE_ENV"] == "production" and missing:
        raise ConfigError(
            f"Production accepts only Microsoft Entra ID access tokens: set {' and '.join(missing)} "
            "(run `crmbridge doctor` for everything that is missing)."
        )


def instance_path() -> str:
    """CRMBRIDGE_INSTANCE_PATH, else ``instance/`` at the top of a source checkout, else the current folder's."""
    configured = os.environ.get("CRMBRIDGE_INSTANCE_PATH", "").strip()
    if configured:
        return str(Path(configured).resolve())
    checkout = Path(__file__).resolve().parents[2]
    base = checkout if (checkout / "pyproject.toml").exists() else Path.cwd()
    return str(base / "instance")


def environment() -> Mapping[str, str]:
    return os.environ
