"""Assignments stood down by the centre: resolving or cancelling an incident ends every open assignment in
state `stood_down` (no constraint lists the states; the column keeps when it happened).

Revision ID: 0014
Revises: 0012 (the head: 0011 → 0013 → 0012)
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

import siaga.db.base

revision = '0014'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('assignment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stood_down_at', siaga.db.base.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # Below 0014 the state does not exist: a stood-down assignment reads as cancelled by the centre.
    op.execute("UPDATE assignment SET state = 'cancelled', cancelled_at = stood_down_at WHERE state = 'stood_down'")
    with op.batch_alter_table('assignment', schema=None) as batch_op:
        batch_op.drop_column('stood_down_at')
