"""A user's console alerts: sound volume (0-100) and mute, kept with the user so they follow an operator
to another desk.

Revision ID: 0018
Revises: 0014
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('alert_volume', sa.Integer(), server_default='70', nullable=False))
        batch_op.add_column(sa.Column('alert_muted', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.drop_column('alert_muted')
        batch_op.drop_column('alert_volume')
