"""Liveness and readiness: /healthz answers while the process runs, /readyz only when it can serve."""

import sqlalchemy as sa

from crmbridge import create_app, db, migrations


def test_readyz_is_ok_when_the_database_answers_and_is_migrated(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "checks": {"database": "ok", "migrations": "ok"}}
    assert response.headers["Cache-Control"] == "no-store"


def test_readyz_says_migrations_are_pending_before_the_upgrade(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    migrations.upgrade(url, "0001")
    app = create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "test-secret-key"})

    response = app.test_client().get("/readyz")

    assert response.status_code == 503
    assert response.json == {"status": "unavailable", "checks": {"database": "ok", "migrations": "pending"}}
    migrations.upgrade(url)
    assert app.test_client().get("/readyz").status_code == 200
    db.engine(app).dispose()


def test_readyz_says_an_empty_database_is_not_migrated(tmp_path):
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}",
                      "SECRET_KEY": "test-secret-key"})
    response = app.test_client().get("/readyz")
    assert response.status_code == 503 and response.json["checks"]["migrations"] == "pending"
    db.engine(app).dispose()


def test_readyz_says_the_database_is_unreachable_and_healthz_still_answers(tmp_path):
    # A folder where the SQLite file should be cannot be opened as a database: the database does not answer.
    (tmp_path / "db.sqlite3").mkdir()
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
                      "SECRET_KEY": "test-secret-key"})
    client = app.test_client()

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json == {"status": "unavailable", "checks": {"database": "unreachable", "migrations": "unknown"}}
    assert client.get("/healthz").status_code == 200
    db.engine(app).dispose()


def test_readyz_needs_no_token_and_sends_no_cors_headers(client):
    response = client.get("/readyz", headers={"Origin": "https://crm.example.com"})
    assert response.status_code == 200 and "Access-Control-Allow-Origin" not in response.headers


def test_the_expected_revision_is_the_newest_migration(app):
    with db.engine(app).connect() as connection:
        stored = connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all()
    from crmbridge.api.health import expected_revisions

    assert frozenset(stored) == expected_revisions()
