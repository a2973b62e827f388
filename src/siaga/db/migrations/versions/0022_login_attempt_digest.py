"""Failed sign-ins keep a keyed digest of the username, never the username typed (it may be a password typed
into the wrong field), and whether it was a user's: unknown usernames are throttled per address.

The rows already stored hold usernames as typed; they only count failures within the last window, so they
are deleted rather than kept.

Revision ID: 0022
Revises: 0018
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

revision = '0022'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(sa.text("DELETE FROM login_attempt"))
    with op.batch_alter_table('login_attempt', schema=None) as batch_op:
        batch_op.add_column(sa.Column('known', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM login_attempt"))
    with op.batch_alter_table('login_attempt', schema=None) as batch_op:
        batch_op.drop_column('known')
