"""The CRM integration contract: external ids on activities, deletions, idempotency keys, meetings left behind
by a delete or a reassign, the activity events (audit trail and change feed) and webhooks

Activities carry their tenant since 0012 (rows from before tenants: the one configured tenant, else ``default``).

Revision ID: 0015
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("activities") as batch:
        batch.add_column(sa.Column("external_source", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("external_id", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("deleted_at", sa.DateTime(), nullable=True))
        batch.create_index("ix_activities_external_id", ["tenant_id", "external_source", "external_id"], unique=True)
        batch.create_index("ix_activities_tenant_updated", ["tenant_id", "updated_at"], unique=False)

    op.create_table(
        "idempotency_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("caller", sa.String(length=255), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("response", sa.Text(), nullable=False),
        sa.Column("activity_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.create_index("ix_idempotency_keys_caller_key", ["tenant_id", "caller", "key"], unique=True)

    op.create_table(
        "retired_meetings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("activity_id", sa.Integer(), nullable=False),
        sa.Column("organizer_email", sa.String(length=254), nullable=False),
        sa.Column("organizer_key", sa.String(length=254), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("moved_to", sa.String(length=254), nullable=True),
        sa.Column("graph_event_id", sa.String(length=512), nullable=True),
        sa.Column("ews_item_id", sa.String(length=512), nullable=True),
        sa.Column("ical_uid", sa.String(length=512), nullable=True),
        sa.Column("cancel_state", sa.String(length=16), nullable=False),
        sa.Column("synced_once", sa.Boolean(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("last_error", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["activity_id"], ["activities.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("retired_meetings") as batch:
        for column in ("activity_id", "graph_event_id", "ews_item_id", "ical_uid"):
            batch.create_index(f"ix_retired_meetings_{column}", [column], unique=False)

    op.create_table(
        "activity_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=True),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("activity_id", sa.Integer(), nullable=True),
        sa.Column("organizer_email", sa.String(length=254), nullable=True),
        sa.Column("external_source", sa.String(length=64), nullable=True),
        sa.Column("external_id", sa.String(length=255), nullable=True),
        sa.Column("actor_kind", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id"),
        sa.UniqueConstraint("position"),
    )
    with op.batch_alter_table("activity_events") as batch:
        batch.create_index("ix_activity_events_activity_id", ["activity_id"], unique=False)
        batch.create_index("ix_activity_events_tenant_position", ["tenant_id", "position"], unique=False)
        batch.create_index("ix_activity_events_created", ["created_at"], unique=False)

    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("secret", sa.String(length=128), nullable=False),
        sa.Column("event_types", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("webhook_endpoints") as batch:
        batch.create_index("ix_webhook_endpoints_tenant_id", ["tenant_id"], unique=False)

    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("endpoint_id", sa.Integer(), nullable=False),
        sa.Column("event_row_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("claimed_by", sa.String(length=32), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=255), nullable=True),
        sa.Column("delivered_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["endpoint_id"], ["webhook_endpoints.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["event_row_id"], ["activity_events.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("webhook_deliveries") as batch:
        batch.create_index("ix_webhook_deliveries_event_row_id", ["event_row_id"], unique=False)
        batch.create_index("ix_webhook_deliveries_endpoint_event", ["endpoint_id", "event_row_id"], unique=True)
        batch.create_index("ix_webhook_deliveries_due", ["state", "next_attempt_at"], unique=False)


def downgrade() -> None:
    for table in ("webhook_deliveries", "webhook_endpoints", "activity_events", "retired_meetings",
                  "idempotency_keys"):
        op.drop_table(table)
    with op.batch_alter_table("activities") as batch:
        batch.drop_index("ix_activities_tenant_updated")
        batch.drop_index("ix_activities_external_id")
        batch.drop_column("deleted_at")
        batch.drop_column("external_id")
        batch.drop_column("external_source")
