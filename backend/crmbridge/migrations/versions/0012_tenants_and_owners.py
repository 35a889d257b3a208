"""Tenants kept apart: activities and org domains carry their tenant, activities their organizer's object id;
Outlook ids are unique per organizer (tenant and address), no longer across every organizer.

Revision ID: 0012
Revises: 0011
"""

import os
import re

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

ID_COLUMNS = ("graph_event_id", "ews_item_id", "ical_uid")
# SQLite's unique constraints from 0001 have no names; batch mode names them by this convention to drop them.
NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}
_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _existing_tenant() -> str:
    """Activities from before tenants belong to the one configured tenant; with none or several, to the tenant
    "default" (development tokens' tenant, as the integration contract of 0015 assumes)."""
    tenants = [t.strip().lower() for t in os.environ.get("CRMBRIDGE_ENTRA_TENANTS", "").split(",") if t.strip()]
    return tenants[0] if len(tenants) == 1 and _GUID.fullmatch(tenants[0]) else "default"


def _unique_constraints(table: str, columns: tuple[str, ...]) -> list[str]:
    inspector = sa.inspect(op.get_bind())
    return [uc["name"] for uc in inspector.get_unique_constraints(table)
            if len(uc["column_names"]) == 1 and uc["column_names"][0] in columns]


def upgrade() -> None:
    tenant = _existing_tenant()
    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tenant_id", sa.String(length=64), nullable=False, server_default=tenant))
        batch_op.add_column(sa.Column("organizer_oid", sa.String(length=36), nullable=True))
        batch_op.create_index("ix_activities_tenant_organizer", ["tenant_id", "organizer_key"], unique=False)
    # Stored domains from before tenants count for every tenant ("") unless one tenant is configured.
    domain_tenant = "" if tenant == "default" else tenant
    with op.batch_alter_table("org_domains", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tenant_id", sa.String(length=36), nullable=False, server_default=domain_tenant))

    with op.batch_alter_table("meeting_links", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner_key", sa.String(length=300), nullable=False, server_default=""))
    op.execute("UPDATE meeting_links SET owner_key = (SELECT a.tenant_id || ' ' || a.organizer_key "
               "FROM activities a WHERE a.id = meeting_links.activity_id)")
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("meeting_links", naming_convention=NAMING, recreate="always") as batch_op:
            for column in ID_COLUMNS:
                batch_op.drop_constraint(f"uq_meeting_links_{column}", type_="unique")
    else:
        for name in _unique_constraints("meeting_links", ID_COLUMNS):
            op.drop_constraint(name, "meeting_links", type_="unique")
    with op.batch_alter_table("meeting_links", schema=None) as batch_op:
        for column in ID_COLUMNS:
            batch_op.create_index(f"ix_meeting_links_owner_{column}", ["owner_key", column], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("meeting_links", schema=None) as batch_op:
        for column in ID_COLUMNS:
            batch_op.drop_index(f"ix_meeting_links_owner_{column}")
        for column in ID_COLUMNS:
            batch_op.create_unique_constraint(f"uq_meeting_links_{column}", [column])
        batch_op.drop_column("owner_key")
    with op.batch_alter_table("org_domains", schema=None) as batch_op:
        batch_op.drop_column("tenant_id")
    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.drop_index("ix_activities_tenant_organizer")
        batch_op.drop_column("organizer_oid")
        batch_op.drop_column("tenant_id")
