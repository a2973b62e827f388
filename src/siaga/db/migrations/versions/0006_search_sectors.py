"""Search sectors: polygons drawn on an incident's map, each searched by one agency's team (an assignment
on the same incident) and moved open → searching → cleared.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""
from alembic import op
import sqlalchemy as sa
import siaga.db.base


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('search_sector',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('incident_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('polygon', sa.JSON(), nullable=False),
    sa.Column('assignment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', siaga.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', siaga.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['assignment_id'], ['assignment.id'], name=op.f('fk_search_sector_assignment_id_assignment')),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], name=op.f('fk_search_sector_incident_id_incident')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_search_sector')),
    sa.UniqueConstraint('incident_id', 'name', name=op.f('uq_search_sector_incident_id_name'))
    )
    with op.batch_alter_table('search_sector', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_search_sector_assignment_id'), ['assignment_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('search_sector', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_search_sector_assignment_id'))

    op.drop_table('search_sector')
