"""The database: one engine per app; per request, one session and (for the lookup's plain selects) one connection,
both opened on first use and closed at the end of the request."""

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, current_app, g
from sqlalchemy import Connection, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

EXTENSION = "crmbridge.db"


def make_engine(url: str, **options) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **options)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, **options)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # WAL lets readers run beside a writer; foreign keys are off by default in SQLite. In WAL mode NORMAL may
    # lose the last acknowledged commits on power loss; FULL syncs the log on every commit.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


def init_app(app: Flask) -> None:
    url = app.config["DATABASE_URL"]
    if url.startswith("sqlite:///"):
        from pathlib import Path

        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = make_engine(url)
    app.extensions[EXTENSION] = sessionmaker(bind=engine, expire_on_commit=False)
    app.teardown_appcontext(_close)


def engine(app: Flask | None = None) -> Engine:
    return (app or current_app).extensions[EXTENSION].kw["bind"]


def session() -> Session:
    """The request's session, opened on first use."""
    if "db_session" not in g:
        g.db_session = current_app.extensions[EXTENSION]()
    return g.db_session


def reads() -> Connection:
    """The request's connection for selects that need no ORM (the lookup's, run on the driver's cursor): no session,
    no identity map, no transaction of its own to end; opened on first use."""
    if "db_reads" not in g:
        g.db_reads = engine().connect()
    return g.db_reads


@contextmanager
def standalone_session(app: Flask) -> Iterator[Session]:
    """A session outside a request (CLI, seeding), committed on success and rolled back on error."""
    db_session = app.extensions[EXTENSION]()
    try:
        yield db_session
        db_session.commit()
    except BaseException:
        db_session.rollback()
        raise
    finally:
        db_session.close()


def _close(_exc) -> None:
    db_session = g.pop("db_session", None)
    if db_session is not None:
        db_session.close()  # ends its transaction, rolling back what was not committed
    connection = g.pop("db_reads", None)
    if connection is not None:
        connection.close()  # back to the pool, its transaction (if the driver began one) rolled back
