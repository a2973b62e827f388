"""Guided questions as data in the database (guided_question), editable by admins like response plans;
`siaga demo load` / `siaga site load` fill it from the site folder's questions.json.

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op

import siaga.db.base

revision = '0013'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('guided_question',
    sa.Column('id', sa.String(length=80), nullable=False),
    sa.Column('category_code', sa.String(length=60), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('body', sa.JSON(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', siaga.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['category_code'], ['category.code'],
                            name=op.f('fk_guided_question_category_code_category')),
    sa.ForeignKeyConstraint(['updated_by'], ['app_user.id'], name=op.f('fk_guided_question_updated_by_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_guided_question'))
    )
    with op.batch_alter_table('guided_question', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_guided_question_category_code'), ['category_code'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('guided_question', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_guided_question_category_code'))
    op.drop_table('guided_question')
