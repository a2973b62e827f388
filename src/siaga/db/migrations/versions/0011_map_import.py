"""Patokan from OpenStreetMap (`siaga map import`): each landmark may name the OSM object it came from, so a
new import updates it instead of adding it twice, and a row per landmark import whose token tells every
process's reverse geocoder to rebuild.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

import siaga.db.base

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('landmark_import',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('token', sa.String(length=32), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('imported_at', siaga.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_count', sa.Integer(), nullable=False),
    sa.Column('updated_count', sa.Integer(), nullable=False),
    sa.Column('removed_count', sa.Integer(), nullable=False),
    sa.Column('skipped_count', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_landmark_import')),
    sa.UniqueConstraint('token', name=op.f('uq_landmark_import_token'))
    )
    # Plain ADD COLUMN and a unique index, not batch mode: SQLite would copy `landmark` into a new table,
    # which it refuses while incidents refer to it (see 0010).
    op.add_column('landmark', sa.Column('osm_ref', sa.String(length=40), nullable=True))
    op.create_index('uq_landmark_osm_ref', 'landmark', ['osm_ref'], unique=True)


def downgrade() -> None:
    op.drop_index('uq_landmark_osm_ref', table_name='landmark')
    op.drop_column('landmark', 'osm_ref')
    op.drop_table('landmark_import')
