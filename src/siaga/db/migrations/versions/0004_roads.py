"""Road network for closest-unit recommendation: road_network (one row: source, counts, bbox, token),
road_node and road_edge (directed edges; ferries with their speed and waiting time). No foreign keys
between edges and nodes: one action replaces the whole network in one transaction (see roads.models).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""
from alembic import op
import sqlalchemy as sa
import siaga.db.base


revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "road_network",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=300), nullable=False),
        sa.Column("imported_at", siaga.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("node_count", sa.Integer(), nullable=False),
        sa.Column("edge_count", sa.Integer(), nullable=False),
        sa.Column("min_lat", sa.Float(), nullable=False),
        sa.Column("min_lon", sa.Float(), nullable=False),
        sa.Column("max_lat", sa.Float(), nullable=False),
        sa.Column("max_lon", sa.Float(), nullable=False),
        sa.Column("is_demo", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_road_network")),
        sa.UniqueConstraint("token", name=op.f("uq_road_network_token")),
    )
    op.create_table(
        "road_node",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("osm_id", sa.BigInteger(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_road_node")),
    )
    op.create_table(
        "road_edge",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("from_node", sa.BigInteger(), nullable=False),
        sa.Column("to_node", sa.BigInteger(), nullable=False),
        sa.Column("length_m", sa.Float(), nullable=False),
        sa.Column("road_class", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("osm_way_id", sa.BigInteger(), nullable=True),
        sa.Column("ferry", sa.Boolean(), nullable=False),
        sa.Column("ferry_speed_kmh", sa.Float(), nullable=True),
        sa.Column("ferry_wait_min", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_road_edge")),
    )


def downgrade() -> None:
    op.drop_table("road_edge")
    op.drop_table("road_node")
    op.drop_table("road_network")
