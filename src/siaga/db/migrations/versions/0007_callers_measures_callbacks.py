"""Defending the line: the nuisance policy (rules), measures on callers' numbers, callback attempts, and
the silent-caller checklist on each call.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28
"""
from alembic import op
import sqlalchemy as sa
import siaga.db.base


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('nuisance_rule',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=160), nullable=False),
    sa.Column('outcomes', sa.JSON(), nullable=False),
    sa.Column('min_count', sa.Integer(), nullable=False),
    sa.Column('window_hours', sa.Integer(), nullable=False),
    sa.Column('measure', sa.String(length=20), nullable=False),
    sa.Column('duration_hours', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', siaga.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_nuisance_rule'))
    )
    op.create_table('caller_measure',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('rule_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('legal_basis', sa.Text(), nullable=False),
    sa.Column('created_at', siaga.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('decided_at', siaga.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('duration_hours', sa.Integer(), nullable=False),
    sa.Column('expires_at', siaga.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ended_at', siaga.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ended_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['app_user.id'], name=op.f('fk_caller_measure_created_by_app_user')),
    sa.ForeignKeyConstraint(['decided_by'], ['app_user.id'], name=op.f('fk_caller_measure_decided_by_app_user')),
    sa.ForeignKeyConstraint(['ended_by'], ['app_user.id'], name=op.f('fk_caller_measure_ended_by_app_user')),
    sa.ForeignKeyConstraint(['rule_id'], ['nuisance_rule.id'], name=op.f('fk_caller_measure_rule_id_nuisance_rule')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_caller_measure'))
    )
    with op.batch_alter_table('caller_measure', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_caller_measure_number'), ['number'], unique=False)
        batch_op.create_index(batch_op.f('ix_caller_measure_state'), ['state'], unique=False)

    op.create_table('callback_attempt',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('call_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('at', siaga.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('by_user', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('result', sa.String(length=30), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['by_user'], ['app_user.id'], name=op.f('fk_callback_attempt_by_user_app_user')),
    sa.ForeignKeyConstraint(['call_id'], ['call.id'], name=op.f('fk_callback_attempt_call_id_call')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_callback_attempt'))
    )
    with op.batch_alter_table('callback_attempt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_callback_attempt_call_id'), ['call_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_callback_attempt_number'), ['number'], unique=False)

    with op.batch_alter_table('call', schema=None) as batch_op:
        batch_op.add_column(sa.Column('checklist', sa.JSON(), nullable=False, server_default=sa.text("'{}'")))



def downgrade() -> None:
    with op.batch_alter_table('call', schema=None) as batch_op:
        batch_op.drop_column('checklist')

    with op.batch_alter_table('callback_attempt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_callback_attempt_number'))
        batch_op.drop_index(batch_op.f('ix_callback_attempt_call_id'))

    op.drop_table('callback_attempt')
    with op.batch_alter_table('caller_measure', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_caller_measure_state'))
        batch_op.drop_index(batch_op.f('ix_caller_measure_number'))

    op.drop_table('caller_measure')
    op.drop_table('nuisance_rule')
