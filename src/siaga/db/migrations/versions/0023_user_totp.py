"""Two-factor sign-in: a user's authenticator (TOTP secret sealed with a key derived from SIAGA_SECRET_KEY, when it
was enabled, the time step of the last code accepted) and their recovery codes, kept as keyed digests.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

import siaga.db.base

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('user_totp',
    sa.Column('user_id', _ID, nullable=False),
    sa.Column('secret_sealed', sa.String(length=200), nullable=False),
    sa.Column('created_at', siaga.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('enabled_at', siaga.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_step', sa.BigInteger(), server_default='0', nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_user_totp_user_id_app_user')),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_user_totp'))
    )
    op.create_table('user_recovery_code',
    sa.Column('id', _ID, nullable=False),
    sa.Column('user_id', _ID, nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('created_at', siaga.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', siaga.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_user_recovery_code_user_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_recovery_code')),
    sa.UniqueConstraint('digest', name=op.f('uq_user_recovery_code_digest'))
    )
    with op.batch_alter_table('user_recovery_code', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_recovery_code_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    op.drop_table('user_recovery_code')
    op.drop_table('user_totp')
