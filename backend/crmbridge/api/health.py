"""Liveness and readiness for load balancers and orchestrators, without authentication.

``/healthz``: the process answers (it touches nothing else, so a database outage does not get it restarted).
``/readyz``: it can serve: the database answers and its schema is the newest this code knows (a web instance
started before ``crmbridge db upgrade`` ran is not ready, so no traffic reaches it).
"""

from functools import lru_cache

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Blueprint, current_app, jsonify
from sqlalchemy.exc import SQLAlchemyError

from .. import db, migrations

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@lru_cache(maxsize=1)
def expected_revisions() -> frozenset[str]:
    """The head revisions of the migrations shipped with this code (read once: they do not change at run time)."""
    script = ScriptDirectory.from_config(migrations.alembic_config("sqlite://"))
    return frozenset(script.get_heads())


@bp.get("/readyz")
def readyz():
    checks = {"database": "ok", "migrations": "ok"}
    try:
        with db.engine(current_app).connect() as connection:
            current = frozenset(MigrationContext.configure(connection).get_current_heads())
    except SQLAlchemyError as exc:
        current_app.logger.warning("readiness: the database does not answer: %s", type(exc).__name__)
        checks = {"database": "unreachable", "migrations": "unknown"}
    else:
        if current != expected_revisions():
            checks["migrations"] = "pending"  # run `crmbridge db upgrade`
    ready = all(value == "ok" for value in checks.values())
    body = {"status": "ok" if ready else "unavailable", "checks": checks}
    return jsonify(body), 200 if ready else 503, {"Cache-Control": "no-store"}
