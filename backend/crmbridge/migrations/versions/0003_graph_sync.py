"""Microsoft Graph: sync outbox, internal meeting sync state, drift checks, RSVPs, delta links, subscriptions

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _activity_fk() -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["activity_id"], ["activities.id"], ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "sync_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("activity_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("done", sa.Boolean(), nullable=False),
        sa.Column("claimed_by", sa.String(length=32), nullable=True),
        sa.Column("last_error", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        _activity_fk(),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("sync_jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sync_jobs_activity_id"), ["activity_id"], unique=False)
        batch_op.create_index("ix_sync_jobs_due", ["done", "next_attempt_at"], unique=False)

    op.create_table(
        "internal_meeting_sync",
        sa.Column("activity_id", sa.Integer(), nullable=False),
        sa.Column("mailbox", sa.String(length=254), nullable=False),
        sa.Column("transaction_id", sa.String(length=64), nullable=False),
        sa.Column("field_hashes", sa.Text(), nullable=False),
        sa.Column("synced_version", sa.Integer(), nullable=True),
        sa.Column("synced_at", sa.DateTime(), nullable=True),
        _activity_fk(),
        sa.PrimaryKeyConstraint("activity_id"),
        sa.UniqueConstraint("transaction_id"),
    )

    op.create_table(
        "external_meeting_checks",
        sa.Column("activity_id", sa.Integer(), nullable=False),
        sa.Column("graph_event_id", sa.String(length=512), nullable=False),
        sa.Column("change_key", sa.String(length=128), nullable=True),
        sa.Column("event_state", sa.String(length=16), nullable=False),
        sa.Column("snapshot", sa.Text(), nullable=True),
        sa.Column("in_sync", sa.Boolean(), nullable=False),
        sa.Column("activity_version", sa.Integer(), nullable=False),
        sa.Column("checked_at", sa.DateTime(), nullable=False),
        _activity_fk(),
        sa.PrimaryKeyConstraint("activity_id"),
    )

    op.create_table(
        "attendee_responses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("activity_id", sa.Integer(), nullable=False),
        sa.Column("email_key", sa.String(length=254), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("display_name", sa.String(length=255), nullable=False),
        sa.Column("response", sa.String(length=16), nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        _activity_fk(),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("attendee_responses", schema=None) as batch_op:
        batch_op.create_index("ix_attendee_responses_activity_email", ["activity_id", "email_key"], unique=True)

    op.create_table(
        "graph_delta_state",
        sa.Column("mailbox", sa.String(length=254), nullable=False),
        sa.Column("delta_link", sa.Text(), nullable=False),
        sa.Column("window_start", sa.DateTime(), nullable=False),
        sa.Column("window_end", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("mailbox"),
    )

    op.create_table(
        "graph_subscriptions",
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("mailbox", sa.String(length=254), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("graph_subscriptions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_graph_subscriptions_mailbox"), ["mailbox"], unique=False)

    op.create_table(
        "graph_notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mailbox", sa.String(length=254), nullable=False),
        sa.Column("event_id", sa.String(length=512), nullable=False),
        sa.Column("change_key", sa.String(length=128), nullable=False),
        sa.Column("change_type", sa.String(length=16), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("processed", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("graph_notifications", schema=None) as batch_op:
        batch_op.create_index("ix_graph_notifications_event_change", ["event_id", "change_key"], unique=True)
        batch_op.create_index("ix_graph_notifications_pending", ["processed", "mailbox"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("graph_notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_graph_notifications_pending")
        batch_op.drop_index("ix_graph_notifications_event_change")
    op.drop_table("graph_notifications")
    with op.batch_alter_table("graph_subscriptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_graph_subscriptions_mailbox"))
    op.drop_table("graph_subscriptions")
    op.drop_table("graph_delta_state")
    with op.batch_alter_table("attendee_responses", schema=None) as batch_op:
        batch_op.drop_index("ix_attendee_responses_activity_email")
    op.drop_table("attendee_responses")
    op.drop_table("external_meeting_checks")
    op.drop_table("internal_meeting_sync")
    with op.batch_alter_table("sync_jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_sync_jobs_due")
        batch_op.drop_index(batch_op.f("ix_sync_jobs_activity_id"))
    op.drop_table("sync_jobs")
