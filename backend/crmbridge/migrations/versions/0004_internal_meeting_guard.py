"""The internal meeting guard: why the backend stopped writing to a linked meeting (an attendee outside the
organization, or a meeting the organizer does not own), whom it found, and since when

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("meeting_links") as batch:
        batch.add_column(sa.Column("write_blocked", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("blocked_addresses", sa.Text(), nullable=True))
        batch.add_column(sa.Column("blocked_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("meeting_links") as batch:
        batch.drop_column("blocked_at")
        batch.drop_column("blocked_addresses")
        batch.drop_column("write_blocked")
