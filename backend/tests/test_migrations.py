"""The schema comes from the Alembic migrations, and they match the models."""

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from crmbridge import migrations
from crmbridge.db import make_engine
from crmbridge.models import Base


def test_migrations_create_exactly_the_models_schema(database_url):
    migrations.upgrade(database_url)
    engine = make_engine(database_url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []


def test_migrations_downgrade_to_nothing_and_up_again(database_url):
    migrations.upgrade(database_url)
    migrations.downgrade(database_url, "base")
    engine = make_engine(database_url, poolclass=sa.pool.NullPool)
    assert set(sa.inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
    migrations.upgrade(database_url)


def test_sqlite_runs_in_wal_mode(database_url):
    if not database_url.startswith("sqlite"):
        return
    engine = make_engine(database_url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    engine.dispose()
