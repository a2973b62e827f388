"""The call-taker's line in the browser: operator_line.device (phone or browser) and browser_ha1, the digest of the
browser's own short-lived SIP password (the desk phone's, sip_ha1, is kept for when the line goes back).

Revision ID: 0029_webrtc_browser_line
Revises: 0028_conf_agency_call
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

revision = '0029_webrtc_browser_line'
down_revision = '0028_conf_agency_call'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('operator_line') as batch:
        batch.add_column(sa.Column('device', sa.String(length=12), server_default='phone', nullable=False))
        batch.add_column(sa.Column('browser_ha1', sa.String(length=64), server_default='', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('operator_line') as batch:
        batch.drop_column('browser_ha1')
        batch.drop_column('device')
