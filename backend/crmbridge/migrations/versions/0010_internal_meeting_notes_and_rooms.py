"""The internal meeting's notes and rooms: why newer notes are held back from it (an online meeting, notes-only
updates turned off) and the rooms' answers to its booking

Revision ID: 0010
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("internal_meeting_sync") as batch:
        batch.add_column(sa.Column("notes_held", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("room_responses", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("internal_meeting_sync") as batch:
        batch.drop_column("room_responses")
        batch.drop_column("notes_held")
