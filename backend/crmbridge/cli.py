"""The ``crmbridge`` command: a Flask CLI group whose commands are registered on the app."""

import os
import sys

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from . import db, devcert, doctor, graph_cli, migrations
from .api.common import forget_org_domains
from .integration import cli as integration_cli


def init_app(app: Flask) -> None:
    domains_group.add_command(graph_cli.domains_sync)
    for command in (db_group, seed_demo, serve, dev_token, domains_group, manifest, devcert.command,
                    doctor.command, graph_cli.sync_command, graph_cli.scan_command, graph_cli.subscriptions_group,
                    *integration_cli.COMMANDS):
        app.cli.add_command(command)


@click.group("db", help="Database schema (Alembic migrations).")
def db_group():
    pass


@db_group.command("upgrade", help="Migrate the database to the newest schema.")
@click.option("--revision", default="head", show_default=True)
@with_appcontext
def db_upgrade(revision):
    migrations.upgrade(current_app.config["DATABASE_URL"], revision)
    click.echo(f"Database at {_safe_url(current_app.config['DATABASE_URL'])} is at revision {revision}.")


@click.command("seed-demo", help="Load demo activities once; running it again keeps existing data.")
@with_appcontext
def seed_demo():
    from .demo import seed

    created = seed(current_app._get_current_object())
    click.echo(f"Demo data: {created} activities added." if created else "Demo data already present; kept as is.")


@click.command("serve", help="Serve the app with gunicorn.")
@click.option("--host", default=lambda: os.environ.get("HOST", "127.0.0.1"), show_default="HOST or 127.0.0.1")
@click.option("--port", default=lambda: int(os.environ.get("PORT", "3000")), type=int, show_default="PORT or 3000")
@click.option("--workers", default=lambda: int(os.environ.get("WEB_CONCURRENCY", "2")), type=int,
              show_default="WEB_CONCURRENCY or 2")
@click.option("--certfile", default=None, help="TLS certificate (PEM) to serve https.")
@click.option("--keyfile", default=None, help="TLS private key (PEM).")
def serve(host, port, workers, certfile, keyfile):
    from .server import run

    run(host=host, port=port, workers=workers, certfile=certfile, keyfile=keyfile)


@click.command("dev-token", help="Print a development token for EMAIL (development and test modes only).")
@click.argument("email")
@click.option("--role", "roles", multiple=True, help="An app role, making it an integration's token.")
@click.option("--tenant", default=None, help="The tenant the token belongs to (default: 'default').")
@with_appcontext
def dev_token(email, roles, tenant):
    from .auth import dev_tokens

    if not current_app.config["DEV_TOKENS"]:
        raise click.ClickException("Development tokens are off (production mode, or CRMBRIDGE_DEV_TOKENS=0).")
    try:
        click.echo(dev_tokens.issue(current_app.config["SECRET_KEY"], email, tuple(roles), tenant))
    except dev_tokens.DevTokenError as exc:
        raise click.ClickException(str(exc)) from exc


@click.group("domains", help="The organization's own domains (participants there are internal).")
def domains_group():
    pass


def _domain_name(domain: str) -> str:
    from .domain.addresses import AddressError, normalise_domain

    try:
        return normalise_domain(domain.lstrip("@"))
    except AddressError as exc:
        raise click.ClickException(str(exc)) from exc


@domains_group.command("add")
@click.argument("domain")
@with_appcontext
def domains_add(domain):
    from .models import OrgDomainRow

    name = _domain_name(domain)
    with db.standalone_session(current_app._get_current_object()) as session:
        if session.get(OrgDomainRow, name) is None:
            session.add(OrgDomainRow(domain=name, source="admin"))
    forget_org_domains(current_app)
    click.echo(f"Added {name}.")


@domains_group.command("remove")
@click.argument("domain")
@with_appcontext
def domains_remove(domain):
    from .models import OrgDomainRow

    name = _domain_name(domain)
    with db.standalone_session(current_app._get_current_object()) as session:
        row = session.get(OrgDomainRow, name)
        if row is None:
            raise click.ClickException(f"{name} is not a stored organization domain.")
        session.delete(row)
    forget_org_domains(current_app)
    click.echo(f"Removed {name}.")


@domains_group.command("list")
@with_appcontext
def domains_list():
    from . import store

    for name in current_app.config["ORG_DOMAINS"]:
        click.echo(f"{name}\t(CRMBRIDGE_ORG_DOMAINS)")
    with db.standalone_session(current_app._get_current_object()) as session:
        for row in store.stored_domains(session):
            click.echo(f"{row.domain}\t({row.source})")


@click.command("manifest", help="Write the add-in manifest for a deployment.")
@click.option("--base-url", required=True, help="Where the taskpane is served, e.g. https://crm.example.com")
@click.option("--client-id", default=None, help="The Entra app's client id.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), default=None,
              help="File to write; standard output when left out.")
@click.option("--send-mode", type=click.Choice(["prompt-user", "soft-block", "block"]), default="soft-block",
              show_default=True,
              help="The send-time guard's Smart Alerts send mode. block also stops sends while CRM Bridge cannot "
                   "be loaded, and needs central deployment (docs/deploying-the-add-in.md).")
def manifest(base_url, client_id, output, send_mode):
    from .manifest import ManifestSchemaNotFoundError, render_manifest, validate_manifest

    try:
        xml = render_manifest(base_url, client_id,
                              send_mode="".join(part.capitalize() for part in send_mode.split("-")))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    try:
        problems = validate_manifest(xml)
    except ManifestSchemaNotFoundError as exc:
        raise click.ClickException(str(exc)) from exc
    if problems:
        raise click.ClickException("The generated manifest is not valid:\n" + "\n".join(problems))
    if output:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(xml)
        click.echo(f"Wrote {output}.", err=True)
    else:
        sys.stdout.write(xml)


def _safe_url(url: str) -> str:
    """The database URL without its password, for messages."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def main() -> None:
    from . import create_app

    group = FlaskGroup(create_app=create_app, add_version_option=True, load_dotenv=True)
    group.add_command(doctor.command)  # on the group as well, so it answers when the app refuses to start
    group.main(prog_name="crmbridge")
