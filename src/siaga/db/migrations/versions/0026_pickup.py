"""The pickup delay: when a call first rang at an operator's phone (call.ringing_at), so that the time from
ringing to a human's answer is measured per call (KPIs, the period report, `siaga staffing`).

Revision ID: 0026_pickup
Revises: 0025_qa_review
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

import siaga.db.base

revision = '0026_pickup'
down_revision = '0025_qa_review'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('call') as batch:
        batch.add_column(sa.Column('ringing_at', siaga.db.base.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('call') as batch:
        batch.drop_column('ringing_at')
