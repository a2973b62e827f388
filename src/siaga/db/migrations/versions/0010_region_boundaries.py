"""Region boundaries: each region's official outline (GeoJSON text) with its bbox, and a row per boundary
import whose token tells every process's reverse geocoder to rebuild. No PostGIS: SQLite stores the same.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op

import siaga.db.base

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('boundary_import',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('token', sa.String(length=32), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('imported_at', siaga.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('region_count', sa.Integer(), nullable=False),
    sa.Column('created_count', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_boundary_import')),
    sa.UniqueConstraint('token', name=op.f('uq_boundary_import_token'))
    )
    with op.batch_alter_table('region', schema=None) as batch_op:
        batch_op.add_column(sa.Column('boundary', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('min_lat', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('min_lon', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('max_lat', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('max_lon', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('boundary_source', sa.String(length=200), server_default='',
                                      nullable=False))


def downgrade() -> None:
    # Plain ALTER TABLE … DROP COLUMN (SQLite ≥ 3.35, PostgreSQL): batch mode would copy `region` into a new
    # table and drop the old one, which SQLite refuses while landmarks, stations and incidents refer to it.
    for column in ('boundary_source', 'max_lon', 'max_lat', 'min_lon', 'min_lat', 'boundary'):
        op.drop_column('region', column)
    op.drop_table('boundary_import')
