"""Response plans (rules → agencies and units), deadline policies and deadlines; an agency's backup
agency; an assignment's escalation level; an incident's guided answers (which rules can match).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""
from alembic import op
import sqlalchemy as sa
import siaga.db.base


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('deadline_policy',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('agency_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('priority', sa.Integer(), nullable=True),
    sa.Column('step', sa.String(length=20), nullable=False),
    sa.Column('seconds', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], name=op.f('fk_deadline_policy_agency_id_agency')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deadline_policy'))
    )
    op.create_table('response_rule',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=160), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('category_code', sa.String(length=60), nullable=True),
    sa.Column('subcategory_code', sa.String(length=60), nullable=True),
    sa.Column('max_priority', sa.Integer(), nullable=True),
    sa.Column('kode_wilayah', sa.String(length=13), nullable=True),
    sa.Column('hour_from', sa.Integer(), nullable=True),
    sa.Column('hour_to', sa.Integer(), nullable=True),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.Column('agency_codes', sa.JSON(), nullable=False),
    sa.Column('units', sa.JSON(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', siaga.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['category_code'], ['category.code'], name=op.f('fk_response_rule_category_code_category')),
    sa.ForeignKeyConstraint(['kode_wilayah'], ['region.kode'], name=op.f('fk_response_rule_kode_wilayah_region')),
    sa.ForeignKeyConstraint(['subcategory_code'], ['category.code'], name=op.f('fk_response_rule_subcategory_code_category')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_response_rule'))
    )
    with op.batch_alter_table('response_rule', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_response_rule_category_code'), ['category_code'], unique=False)

    op.create_table('deadline',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('incident_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('assignment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('step', sa.String(length=20), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('due_at', siaga.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('created_at', siaga.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('fired_at', siaga.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('fired_by', sa.String(length=80), nullable=False),
    sa.ForeignKeyConstraint(['assignment_id'], ['assignment.id'], name=op.f('fk_deadline_assignment_id_assignment')),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], name=op.f('fk_deadline_incident_id_incident')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deadline'))
    )
    with op.batch_alter_table('deadline', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deadline_assignment_id'), ['assignment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_deadline_incident_id'), ['incident_id'], unique=False)
        batch_op.create_index('ix_deadline_state_due', ['state', 'due_at'], unique=False)

    with op.batch_alter_table('agency', schema=None) as batch_op:
        batch_op.add_column(sa.Column('backup_agency_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_agency_backup_agency_id_agency'), 'agency', ['backup_agency_id'], ['id'])

    with op.batch_alter_table('assignment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('escalation_level', sa.Integer(), nullable=False,
                                      server_default=sa.text('0')))
        batch_op.add_column(sa.Column('escalated_at', siaga.db.base.UTCDateTime(timezone=True), nullable=True))

    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.add_column(sa.Column('answers', sa.JSON(), nullable=False, server_default=sa.text("'{}'")))



def downgrade() -> None:
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_column('answers')

    with op.batch_alter_table('assignment', schema=None) as batch_op:
        batch_op.drop_column('escalated_at')
        batch_op.drop_column('escalation_level')

    with op.batch_alter_table('agency', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_agency_backup_agency_id_agency'), type_='foreignkey')
        batch_op.drop_column('backup_agency_id')

    with op.batch_alter_table('deadline', schema=None) as batch_op:
        batch_op.drop_index('ix_deadline_state_due')
        batch_op.drop_index(batch_op.f('ix_deadline_incident_id'))
        batch_op.drop_index(batch_op.f('ix_deadline_assignment_id'))

    op.drop_table('deadline')
    with op.batch_alter_table('response_rule', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_response_rule_category_code'))

    op.drop_table('response_rule')
    op.drop_table('deadline_policy')
