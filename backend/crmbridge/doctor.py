"""``crmbridge doctor``: checks the configuration and says exactly what is missing for the current mode.

Each check is a small function from the configuration (Flask's config mapping) to one ``Finding``; ``@check``
appends it to ``CHECKS``, which run in order. A finding is ``ok``, ``missing`` (required in this mode: the
command exits 1) or ``advice`` (optional, or required only in production).
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask.cli import ScriptInfo

from . import config as configuration
from . import migrations

OK, MISSING, ADVICE = "ok", "missing", "advice"


@dataclass(frozen=True)
class Finding:
    level: str
    topic: str
    text: str


Check = Callable[[Mapping[str, Any]], Finding]
CHECKS: list[Check] = []


def check(function: Check) -> Check:
    CHECKS.append(function)
    return function


def run(config: Mapping[str, Any]) -> list[Finding]:
    findings = []
    for function in CHECKS:
        try:
            findings.append(function(config))
        except Exception as exc:  # one broken check must not hide the others' answers
            findings.append(Finding(MISSING, function.__name__, f"the check itself failed: {type(exc).__name__}"))
    return findings


def _production(config: Mapping[str, Any]) -> bool:
    return config["CRMBRIDGE_ENV"] == "production"


def _required(config: Mapping[str, Any]) -> str:
    """The level of a missing setting that production needs and the other modes can do without."""
    return MISSING if _production(config) else ADVICE


@check
def mode(config):
    notes = {
        "production": "only Microsoft Entra ID access tokens are accepted",
        "development": "development tokens (`crmbridge dev-token`) stand in for Microsoft sign-in",
        "test": "for the test suite",
    }
    name = config["CRMBRIDGE_ENV"]
    return Finding(OK, "mode", f"{name} (CRMBRIDGE_ENV): {notes.get(name, '')}")


@check
def secret_key(config):
    key = config.get("SECRET_KEY") or ""
    if not key:
        return Finding(MISSING, "secret key", "CRMBRIDGE_SECRET_KEY is not set.")
    if _production(config) and len(key) < 32:
        return Finding(ADVICE, "secret key", "CRMBRIDGE_SECRET_KEY is shorter than 32 characters; use a long random "
                                             "one (python3 -c 'import secrets; print(secrets.token_urlsafe(48))').")
    return Finding(OK, "secret key", "set")


def _sqlite_file_missing(url: sa.engine.URL) -> bool:
    # Connecting would create an empty file; say what to run instead.
    return url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:") and not Path(
        url.database).exists()


@check
def database(config):
    url = sa.engine.make_url(config["DATABASE_URL"])
    shown = url.render_as_string(hide_password=True)
    if _sqlite_file_missing(url):
        return Finding(MISSING, "database", f"{shown} does not exist yet: run `crmbridge db upgrade`.")
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
    except sa.exc.SQLAlchemyError as exc:
        return Finding(MISSING, "database", f"{shown} cannot be reached: {type(exc).__name__} "
                                            "(check DATABASE_URL and that the server runs).")
    finally:
        engine.dispose()
    heads = set(ScriptDirectory.from_config(migrations.alembic_config(config["DATABASE_URL"])).get_heads())
    if current != heads:
        at = ", ".join(sorted(current)) or "no schema"
        return Finding(MISSING, "database", f"{shown} is at {at}, not at {', '.join(sorted(heads))}: "
                                            "run `crmbridge db upgrade`.")
    return Finding(OK, "database", f"{shown} is reachable and migrated to the newest schema")


@check
def org_domains(config):
    from .models import OrgDomainRow

    names = list(config.get("ORG_DOMAINS") or [])
    url = sa.engine.make_url(config["DATABASE_URL"])
    if not _sqlite_file_missing(url):
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        try:
            with engine.connect() as connection:
                names += connection.execute(sa.select(OrgDomainRow.domain)).scalars().all()
        except sa.exc.SQLAlchemyError:
            pass  # unreachable or not migrated: the database check says which
        finally:
            engine.dispose()
    if not names:
        return Finding(_required(config), "org domains", "none: every participant counts as external. Set "
                                                         "CRMBRIDGE_ORG_DOMAINS or run `crmbridge domains add`.")
    return Finding(OK, "org domains", ", ".join(sorted(set(names))))


@check
def entra_client_id(config):
    if not config.get("ENTRA_CLIENT_ID"):
        return Finding(_required(config), "Entra client id", "CRMBRIDGE_ENTRA_CLIENT_ID is not set: Microsoft "
                                                             "sign-in is off (the app registration's client id).")
    return Finding(OK, "Entra client id", config["ENTRA_CLIENT_ID"])


@check
def entra_tenants(config):
    if not config.get("ENTRA_TENANTS"):
        return Finding(_required(config), "Entra tenants", "CRMBRIDGE_ENTRA_TENANTS is not set: list the tenant "
                                                           "ids (GUIDs) whose users may sign in.")
    return Finding(OK, "Entra tenants", ", ".join(config["ENTRA_TENANTS"]))


@check
def entra_app_id_uri(config):
    uri, client_id = config.get("ENTRA_APP_ID_URI") or "", config.get("ENTRA_CLIENT_ID") or ""
    if not uri:
        return Finding(ADVICE, "Application ID URI", "CRMBRIDGE_ENTRA_APP_ID_URI is not set (nor "
                                                     "CRMBRIDGE_PUBLIC_URL to derive it): v1 tokens for "
                                                     "api://<host>/<client id> are refused.")
    host, _, rest = uri.removeprefix("api://").partition("/")
    if not uri.startswith("api://") or not host or (client_id and rest != client_id):
        return Finding(ADVICE, "Application ID URI", f"{uri} is not api://<host>/<client id>, which the manifest "
                                                     "and Office's single sign-on expect.")
    return Finding(OK, "Application ID URI", uri)


@check
def on_behalf_of(config):
    secret, key = bool(config.get("ENTRA_CLIENT_SECRET")), bool(config.get("TOKEN_CACHE_KEY"))
    if config.get("GRAPH_MODE") == "application":
        # The app's own token reaches the mailboxes; no user token is exchanged or cached.
        return Finding(OK, "on-behalf-of", "not used in application mode (CRMBRIDGE_TOKEN_CACHE_KEY is not needed)")
    if secret and key:
        return Finding(OK, "on-behalf-of", "client secret and token cache key are set")
    if not secret and not key:
        return Finding(ADVICE, "on-behalf-of", "off: set CRMBRIDGE_ENTRA_CLIENT_SECRET and "
                                               "CRMBRIDGE_TOKEN_CACHE_KEY to reach calendars through Microsoft "
                                               "Graph on the user's behalf.")
    absent = "CRMBRIDGE_TOKEN_CACHE_KEY" if secret else "CRMBRIDGE_ENTRA_CLIENT_SECRET"
    return Finding(MISSING, "on-behalf-of", f"{absent} is not set; on-behalf-of needs the client secret and the "
                                            "token cache key.")


@check
def addin_origin(config):
    origin = config.get("ADDIN_ORIGIN") or ""
    if not origin:
        return Finding(_required(config), "add-in origin", "CRMBRIDGE_ADDIN_ORIGIN (or CRMBRIDGE_PUBLIC_URL) is "
                                                           "not set: the https origin serving the taskpane.")
    if not origin.startswith("https://"):
        return Finding(_required(config), "add-in origin", f"{origin} is not https; Outlook loads add-ins only "
                                                           "over https (`scripts/dev` with HTTPS=1 locally).")
    return Finding(OK, "add-in origin", origin)


@check
def dev_tokens(config):
    on = bool(config.get("DEV_TOKENS"))
    if on and _production(config):
        return Finding(MISSING, "development tokens", "on in production: turn CRMBRIDGE_DEV_TOKENS off.")
    if not on and not config.get("ENTRA_CLIENT_ID") and not _production(config):  # production: the Entra checks say it
        return Finding(MISSING, "development tokens", "off, and Microsoft sign-in is not configured: "
                                                      "no one can sign in.")
    return Finding(OK, "development tokens", "on (development only)" if on else "off")


@check
def proxy(config):
    if config.get("BEHIND_PROXY"):
        return Finding(OK, "proxy", "behind one proxy: its X-Forwarded-For/-Proto/-Host are trusted")
    return Finding(OK, "proxy", "not behind a proxy (CRMBRIDGE_BEHIND_PROXY off): X-Forwarded-* are ignored")


@check
def microsoft_graph(config):
    from .graph.setup import permissions_needed, problems

    mode = config.get("GRAPH_MODE", "off")
    if mode == "off":
        return Finding(OK, "Microsoft Graph", "off (CRMBRIDGE_GRAPH_MODE): no internal meeting sync and no drift "
                                              "watch; set it to application (or delegated) to turn them on.")
    found = problems(config)
    needs = f" It {permissions_needed(mode)}."
    if not found:
        return Finding(OK, "Microsoft Graph", f"{mode} mode; notifications to {config['GRAPH_NOTIFICATION_URL']}."
                       + needs)
    level = MISSING if any(required for required, _ in found) else ADVICE
    return Finding(level, "Microsoft Graph", f"{mode} mode: " + " ".join(text for _, text in found) + needs)


def _configuration() -> tuple[Mapping[str, Any] | None, str | None]:
    """The app's configuration; or, when the app refuses to start, what the environment says, so the checks can
    name every missing setting and not only the first."""
    info = click.get_current_context().ensure_object(ScriptInfo)
    # The command is registered on the group too, so it runs even when the app refuses to start.
    try:
        return info.load_app().config, None
    except configuration.ConfigError as refused:
        try:
            env = configuration.environment()
            return configuration.from_environment(env, configuration.instance_path()), None
        except configuration.ConfigError:
            return None, str(refused)


def graph_permissions(token_for_app: Callable[[], str], mode: str) -> Finding:
    """Which of the permissions the Graph mode needs the app's token holds (application mode only: a delegated
    token needs a signed-in user)."""
    from .graph.setup import granted_roles, permission_problems

    if mode != "application":
        return Finding(ADVICE, "Graph permissions", f"checked only in application mode (it is {mode}).")
    try:
        granted = granted_roles(token_for_app())
    except Exception as exc:  # Entra refused or did not answer: say so, the other findings stand
        return Finding(MISSING, "Graph permissions", f"no app token from Microsoft Entra ID: {exc}")
    problems = permission_problems(mode, granted)
    if not problems:
        return Finding(OK, "Graph permissions", "granted: " + ", ".join(sorted(granted)))
    level = MISSING if any(required for required, _ in problems) else ADVICE
    return Finding(level, "Graph permissions", " ".join(text for _, text in problems))


def _app_token_from_loaded_app() -> str:
    from .auth.graph_tokens import app_graph_token

    app = click.get_current_context().ensure_object(ScriptInfo).load_app()
    with app.app_context():
        return app_graph_token()


@click.command("doctor", help="Check the configuration and say what is missing for the current mode.")
@click.option("--graph", "check_graph", is_flag=True,
              help="Also ask Microsoft Entra ID for the app's token and check its Graph permissions.")
@click.pass_context
def command(ctx: click.Context, check_graph: bool = False):
    config, unreadable = _configuration()
    if config is None:
        click.echo(f"{MISSING:8} configuration  {unreadable}")
        ctx.exit(1)
    findings = run(config)
    if check_graph:
        findings.append(graph_permissions(_app_token_from_loaded_app, config.get("GRAPH_MODE", "off")))
    width = max(len(finding.topic) for finding in findings)
    for finding in findings:
        click.echo(f"{finding.level:8} {finding.topic:{width}}  {finding.text}")
    missing = sum(finding.level == MISSING for finding in findings)
    if missing:
        click.echo(f"\n{missing} thing(s) missing for {config['CRMBRIDGE_ENV']} mode.", err=True)
        ctx.exit(1)
    click.echo(f"\nNothing missing for {config['CRMBRIDGE_ENV']} mode.", err=True)
