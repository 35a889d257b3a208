"""The app, client and runner fixtures, plus small helpers for authenticated API calls."""

import os
import shutil

import pytest
import responses

from crmbridge import create_app, dump_plan, migrations
from crmbridge.auth import dev_tokens

# Every dump in the test run is made by marshmallow too, and must give the same JSON: each API test checks the
# planned dumps (crmbridge.dump_plan) against the schemas they are planned from.
dump_plan.VERIFY = True


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory):
    """A SQLite file migrated once per run; each test gets a copy, so each starts from the real schema quickly."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    migrations.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def database_url(tmp_path):
    """SQLite in a temporary folder, or a fresh schema on the PostgreSQL server named by TEST_DATABASE_URL."""
    server = os.environ.get("TEST_DATABASE_URL")
    if not server:
        yield f"sqlite:///{tmp_path / 'test.sqlite3'}"
        return
    import uuid

    import sqlalchemy as sa

    from crmbridge.config import database_url as normalise

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(normalise(server, str(tmp_path)), poolclass=sa.pool.NullPool)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in server else "?"
    yield normalise(server, str(tmp_path)) + f"{separator}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def app(request, database_url):
    url = database_url
    if url.startswith("sqlite:///"):
        shutil.copyfile(request.getfixturevalue("migrated_sqlite"), url.removeprefix("sqlite:///"))
    else:
        migrations.upgrade(url)
    app = create_app({
        "TESTING": True,
        "DATABASE_URL": url,
        "ORG_DOMAINS": ["contoso.com"],
        "SECRET_KEY": "test-secret-key",
        # Notes edits reach the internal meeting at once unless a test turns coalescing on (test_notes_edits.py).
        "NOTES_COALESCE_SECONDS": 0,
    })
    yield app
    from crmbridge import db

    db.engine(app).dispose()


@pytest.fixture
def rsps():
    """Microsoft endpoints answered at the HTTP boundary; every stubbed request must be called."""
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def worker_round(app) -> None:
    """What a running ``crmbridge worker`` does after a change: one round of the outbox, without the scheduled jobs
    (so a test sees only the requests the change causes). Nothing unless Graph is in application mode."""
    from crmbridge.graph import setup as graph_setup
    from crmbridge.graph.worker import Worker

    if graph_setup.mode(app) == "application":
        Worker(app, graph_setup.background_client(app), schedule=()).run(once=True)


def store_org_domains(app, by_tenant: dict[str, str]) -> None:
    """One organization domain per tenant, stored as an admin adds them (``crmbridge domains add``)."""
    from crmbridge import db
    from crmbridge.models import OrgDomainRow

    with app.app_context():
        session = db.session()
        session.add_all(OrgDomainRow(domain=domain, tenant_id=tenant, source="admin")
                        for tenant, domain in by_tenant.items())
        session.commit()


def token_for(app, email: str, roles: tuple[str, ...] = (), tenant: str | None = None) -> str:
    return dev_tokens.issue(app.config["SECRET_KEY"], email, roles, tenant)


class Api:
    """A test client that signs its requests as one organizer."""

    def __init__(self, client, token: str):
        self.client = client
        self.token = token

    def _headers(self, headers):
        return {"Authorization": f"Bearer {self.token}", **(headers or {})}

    def get(self, url, headers=None, **kw):
        return self.client.get(url, headers=self._headers(headers), **kw)

    def post(self, url, headers=None, **kw):
        return self.client.post(url, headers=self._headers(headers), **kw)

    def patch(self, url, headers=None, **kw):
        return self.client.patch(url, headers=self._headers(headers), **kw)

    def put(self, url, headers=None, **kw):
        return self.client.put(url, headers=self._headers(headers), **kw)

    def delete(self, url, headers=None, **kw):
        return self.client.delete(url, headers=self._headers(headers), **kw)


@pytest.fixture
def anna(app, client):
    return Api(client, token_for(app, "anna@contoso.com"))


@pytest.fixture
def bo(app, client):
    return Api(client, token_for(app, "bo@contoso.com"))


def activity_json(**overrides) -> dict:
    body = {
        "subject": "Quarterly review",
        "start": "2026-12-01T09:00:00+01:00",
        "end": "2026-12-01T10:00:00+01:00",
        "timeZone": "Europe/Copenhagen",
        "location": "Room Harbour",
        "internalNotes": "Internal only: discount up to 12 %",
        "externalAgenda": "1. Status\n2. Next quarter",
        "participants": [
            {"email": "lars@contoso.com", "displayName": "Lars"},
            {"email": '"Mette Kunde" <mette@fabrikam.example>'},
            {"email": "jonas@fabrikam.example", "type": "optional"},
            {"email": "harbour-room@contoso.com", "displayName": "Room Harbour", "type": "resource"},
        ],
    }
    body.update(overrides)
    return body


@pytest.fixture
def created(anna):
    response = anna.post("/api/activities", json=activity_json())
    assert response.status_code == 201, response.json
    return response


def pytest_collection_modifyitems(config, items):
    """Tests marked ``postgres`` need PostgreSQL. Without TEST_DATABASE_URL they are left out in CI (its PostgreSQL
    pass runs them, and CI fails when PostgreSQL cannot start) and skipped elsewhere, saying why."""
    if os.environ.get("TEST_DATABASE_URL"):
        return
    needs = [item for item in items if item.get_closest_marker("postgres")]
    if os.environ.get("CI") == "true":
        if needs:
            config.hook.pytest_deselected(items=needs)
            items[:] = [item for item in items if not item.get_closest_marker("postgres")]
        return
    for item in needs:
        item.add_marker(pytest.mark.skip(reason="needs PostgreSQL: scripts/test runs it in its PostgreSQL pass"))


def pytest_report_header(config):
    return f"database: {'PostgreSQL (TEST_DATABASE_URL)' if os.environ.get('TEST_DATABASE_URL') else 'SQLite'}"


@pytest.fixture
def fake(app):
    """The app in application mode against a fake Graph server without faults (tests/fake_graph.py); the fake's
    own client is `fake.client`. Tests that need faults define their own `fake`."""
    from fake_graph import start_fake_graph

    from crmbridge.graph import GraphClient
    from crmbridge.graph import setup as graph_setup

    base_url, fake, stop = start_fake_graph(seed=3, domains=("contoso.com",))
    client = GraphClient(lambda mailbox: "app-token", base_url=base_url, timeout=(1.0, 2.0), max_retries=2,
                         sleep=lambda seconds: None)
    graph_setup.install(app, client)
    fake.client = client
    yield fake
    stop()
    client.close()
