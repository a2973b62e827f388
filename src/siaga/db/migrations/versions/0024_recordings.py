"""Call recordings: one row per recording rtpengine made, linked to its call, with its hash and duration,
legal hold and retention state.

Revision ID: 0024_recordings
Revises: 0023
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

import siaga.db.base

revision = '0024_recordings'
down_revision = '0023'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('recording',
    sa.Column('id', _ID, nullable=False),
    sa.Column('source', sa.String(length=300), nullable=False),
    sa.Column('call_ref', sa.String(length=200), nullable=False),
    sa.Column('call_id', _ID, nullable=True),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('file_name', sa.String(length=300), nullable=False),
    sa.Column('media_type', sa.String(length=40), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('duration_s', sa.Float(), nullable=False),
    sa.Column('started_at', siaga.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ended_at', siaga.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('attached_at', siaga.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('legal_hold', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('hold_reason', sa.Text(), nullable=False),
    sa.Column('hold_by', _ID, nullable=True),
    sa.Column('hold_at', siaga.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('deleted_at', siaga.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['call_id'], ['call.id'], name=op.f('fk_recording_call_id_call')),
    sa.ForeignKeyConstraint(['hold_by'], ['app_user.id'], name=op.f('fk_recording_hold_by_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recording')),
    sa.UniqueConstraint('source', name=op.f('uq_recording_source'))
    )
    with op.batch_alter_table('recording', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recording_attached_at'), ['attached_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_recording_call_id'), ['call_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_recording_call_ref'), ['call_ref'], unique=False)
        batch_op.create_index(batch_op.f('ix_recording_state'), ['state'], unique=False)


def downgrade() -> None:
    op.drop_table('recording')
