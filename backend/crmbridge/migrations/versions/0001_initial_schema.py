"""activities, participants, meeting links, org domains

Revision ID: 0001
Revises:
Create Date: 2026-11-27 13:26:21.880491
"""

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('activities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organizer_email', sa.String(length=254), nullable=False),
    sa.Column('organizer_key', sa.String(length=254), nullable=False),
    sa.Column('subject', sa.String(length=255), nullable=False),
    sa.Column('start_utc', sa.DateTime(), nullable=False),
    sa.Column('end_utc', sa.DateTime(), nullable=False),
    sa.Column('time_zone', sa.String(length=64), nullable=False),
    sa.Column('is_all_day', sa.Boolean(), nullable=False),
    sa.Column('location', sa.String(length=255), nullable=False),
    sa.Column('internal_notes', sa.Text(), nullable=False),
    sa.Column('external_agenda', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.create_index('ix_activities_organizer_start', ['organizer_key', 'start_utc'], unique=False)

    op.create_table('org_domains',
    sa.Column('domain', sa.String(length=253), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('domain')
    )
    op.create_table('meeting_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('activity_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('graph_event_id', sa.String(length=512), nullable=True),
    sa.Column('ews_item_id', sa.String(length=512), nullable=True),
    sa.Column('ical_uid', sa.String(length=512), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['activity_id'], ['activities.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('ews_item_id'),
    sa.UniqueConstraint('graph_event_id'),
    sa.UniqueConstraint('ical_uid')
    )
    with op.batch_alter_table('meeting_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_links_activity_id'), ['activity_id'], unique=False)
        batch_op.create_index('ix_meeting_links_activity_kind', ['activity_id', 'kind'], unique=True)

    op.create_table('participants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('activity_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('display_name', sa.String(length=255), nullable=False),
    sa.Column('type', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['activity_id'], ['activities.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('participants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_participants_activity_id'), ['activity_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('participants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_participants_activity_id'))

    op.drop_table('participants')
    with op.batch_alter_table('meeting_links', schema=None) as batch_op:
        batch_op.drop_index('ix_meeting_links_activity_kind')
        batch_op.drop_index(batch_op.f('ix_meeting_links_activity_id'))

    op.drop_table('meeting_links')
    op.drop_table('org_domains')
    with op.batch_alter_table('activities', schema=None) as batch_op:
        batch_op.drop_index('ix_activities_organizer_start')

    op.drop_table('activities')
