"""The keys a caller pressed during the call (RFC 4733 events from rtpengine): call.keys_pressed.

Revision ID: 0027_dtmf
Revises: 0026_pickup
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

revision = '0027_dtmf'
down_revision = '0026_pickup'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('call') as batch:
        batch.add_column(sa.Column('keys_pressed', sa.String(length=40), server_default='', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('call') as batch:
        batch.drop_column('keys_pressed')
