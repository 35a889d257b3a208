"""The worker's scheduled jobs: when each last ran, how it ended and when it runs next, shared by every worker so
that a job runs once per period however many workers there are; and whose mailbox each token cache is, so that in
delegated mode a worker finds the organizer's cache

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scheduled_runs",
        sa.Column("name", sa.String(length=32), primary_key=True),
        sa.Column("next_run_at", sa.DateTime(), nullable=False),
        sa.Column("last_started_at", sa.DateTime(), nullable=True),
        sa.Column("last_finished_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.String(length=255), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("run_by", sa.String(length=64), nullable=True),
    )
    with op.batch_alter_table("token_caches") as batch:
        batch.add_column(sa.Column("mailbox", sa.String(length=254), nullable=True))
        batch.create_index("ix_token_caches_mailbox", ["mailbox"])


def downgrade() -> None:
    with op.batch_alter_table("token_caches") as batch:
        batch.drop_index("ix_token_caches_mailbox")
        batch.drop_column("mailbox")
    op.drop_table("scheduled_runs")
