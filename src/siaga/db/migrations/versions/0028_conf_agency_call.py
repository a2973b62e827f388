"""Joining an agency to a caller: agency_call, one row per conference leg or transfer (issue 17).

Revision ID: 0028_conf_agency_call
Revises: 0027_dtmf
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

import siaga.db.base

revision = '0028_conf_agency_call'
down_revision = '0027_dtmf'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('agency_call',
    sa.Column('id', _ID, nullable=False),
    sa.Column('call_id', _ID, nullable=True),
    sa.Column('incident_id', _ID, nullable=True),
    sa.Column('agency_id', _ID, nullable=True),
    sa.Column('user_id', _ID, nullable=True),
    sa.Column('extension', sa.String(length=20), nullable=False),
    sa.Column('target', sa.String(length=40), nullable=False),
    sa.Column('target_kind', sa.String(length=12), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('sip_call_id', sa.String(length=200), nullable=False),
    sa.Column('result', sa.String(length=80), nullable=False),
    sa.Column('requested_at', siaga.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('answered_at', siaga.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ended_at', siaga.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['call_id'], ['call.id'], name=op.f('fk_agency_call_call_id_call')),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], name=op.f('fk_agency_call_incident_id_incident')),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], name=op.f('fk_agency_call_agency_id_agency')),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_agency_call_user_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agency_call'))
    )
    with op.batch_alter_table('agency_call', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agency_call_call_id'), ['call_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_agency_call_incident_id'), ['incident_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_agency_call_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_agency_call_sip_call_id'), ['sip_call_id'], unique=False)


def downgrade() -> None:
    op.drop_table('agency_call')
