"""call.simulated: calls made by `siaga simulate`, marked by a column rather than by their reference

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28 08:48:57.955825
"""
import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('call', schema=None) as batch_op:
        batch_op.add_column(sa.Column('simulated', sa.Boolean(), server_default=sa.false(), nullable=False))
    # Calls the simulator wrote before the column existed are known by their reference's prefix (once).
    op.execute("UPDATE call SET simulated = true WHERE substr(external_ref, 1, 4) = 'sim-'")


def downgrade() -> None:
    with op.batch_alter_table('call', schema=None) as batch_op:
        batch_op.drop_column('simulated')
