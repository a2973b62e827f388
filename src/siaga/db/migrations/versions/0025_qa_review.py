"""Quality review: the checklist as data (qa_checklist_item, seeded by `siaga demo load` / `siaga site load`
from the site folder's qa_checklist.json) and one review per call (qa_review).

Revision ID: 0025_qa_review
Revises: 0024_recordings
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

import siaga.db.base

revision = '0025_qa_review'
down_revision = '0024_recordings'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('qa_checklist_item',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('label_id', sa.String(length=200), nullable=False),
    sa.Column('label_en', sa.String(length=200), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', siaga.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by', _ID, nullable=True),
    sa.ForeignKeyConstraint(['updated_by'], ['app_user.id'], name=op.f('fk_qa_checklist_item_updated_by_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qa_checklist_item'))
    )
    op.create_table('qa_review',
    sa.Column('id', _ID, nullable=False),
    sa.Column('call_id', _ID, nullable=False),
    sa.Column('operator_id', _ID, nullable=True),
    sa.Column('results', sa.JSON(), nullable=False),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('sampled_for', sa.JSON(), nullable=False),
    sa.Column('reviewed_by', _ID, nullable=True),
    sa.Column('reviewed_at', siaga.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by', _ID, nullable=True),
    sa.Column('updated_at', siaga.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['call_id'], ['call.id'], name=op.f('fk_qa_review_call_id_call')),
    sa.ForeignKeyConstraint(['operator_id'], ['app_user.id'], name=op.f('fk_qa_review_operator_id_app_user')),
    sa.ForeignKeyConstraint(['reviewed_by'], ['app_user.id'], name=op.f('fk_qa_review_reviewed_by_app_user')),
    sa.ForeignKeyConstraint(['updated_by'], ['app_user.id'], name=op.f('fk_qa_review_updated_by_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qa_review')),
    sa.UniqueConstraint('call_id', name=op.f('uq_qa_review_call_id'))
    )
    with op.batch_alter_table('qa_review', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_qa_review_operator_id'), ['operator_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('qa_review', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_qa_review_operator_id'))
    op.drop_table('qa_review')
    op.drop_table('qa_checklist_item')
