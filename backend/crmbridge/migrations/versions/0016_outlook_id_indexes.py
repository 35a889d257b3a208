"""Links found by an Outlook id alone: the lookup searches every link the caller may see by its Graph id, EWS id or
iCalUId, and the per-organizer unique indexes of 0012 (owner first) cannot serve that, so it scanned the table.

Revision ID: 0016
Revises: 0015
"""

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

ID_COLUMNS = ("graph_event_id", "ews_item_id", "ical_uid")


def upgrade() -> None:
    with op.batch_alter_table("meeting_links") as batch:
        for column in ID_COLUMNS:
            batch.create_index(f"ix_meeting_links_{column}", [column])


def downgrade() -> None:
    with op.batch_alter_table("meeting_links") as batch:
        for column in ID_COLUMNS:
            batch.drop_index(f"ix_meeting_links_{column}")
