"""Timeline entries store what the system says as a message code and JSON parameters (rendered in each
reader's language), no longer as Indonesian prose; `text` keeps only what a person typed. Existing rows keep
their text and have no code. An assignment made for a backup agency names the agency it stands in for
(assignment.backup_for_agency_id) instead of the words 'cadangan untuk …' in its reason.

Revision ID: 0012
Revises: 0013
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op

import siaga.db.base

revision = '0012'
# Chained after 0013 (already on main when this was written) so the branch has one head; the merger re-chains.
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN on both databases (no batch copy): SQLite keeps the table and its append-only triggers.
    op.add_column('timeline_entry', sa.Column('code', sa.String(length=80), nullable=True))
    op.add_column('timeline_entry', sa.Column('params', siaga.db.base.Json, nullable=True))
    with op.batch_alter_table('assignment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('backup_for_agency_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                                      nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_assignment_backup_for_agency_id_agency'), 'agency',
                                    ['backup_for_agency_id'], ['id'])


def downgrade() -> None:
    """Nothing said is lost: a coded entry's message is written into its text in Bahasa Indonesia (under the
    append-only guard, lifted for this one statement) before the columns go."""
    from siaga.core.i18n import render

    bind = op.get_bind()
    table = sa.table('timeline_entry', sa.column('id', sa.BigInteger), sa.column('code', sa.String),
                     sa.column('params', siaga.db.base.Json), sa.column('text', sa.Text))
    rows = bind.execute(sa.select(table.c.id, table.c.code, table.c.params, table.c.text)
                        .where(table.c.code.is_not(None))).all()
    if rows:
        postgres = bind.dialect.name == "postgresql"
        if postgres:
            op.execute("ALTER TABLE timeline_entry DISABLE TRIGGER timeline_entry_append_only")
        else:
            op.execute("DROP TRIGGER IF EXISTS timeline_entry_no_update")
        for row_id, code, params, text in rows:
            bind.execute(table.update().where(table.c.id == row_id)
                         .values(text=render(code, params or {}, "id", text or "")))
        if postgres:
            op.execute("ALTER TABLE timeline_entry ENABLE TRIGGER timeline_entry_append_only")
        else:
            op.execute("CREATE TRIGGER timeline_entry_no_update BEFORE UPDATE ON timeline_entry "
                       "BEGIN SELECT RAISE(ABORT, 'timeline_entry is append-only'); END")
    assignment = sa.table('assignment', sa.column('id', sa.BigInteger), sa.column('reason', sa.Text),
                          sa.column('backup_for_agency_id', sa.BigInteger))
    agency = sa.table('agency', sa.column('id', sa.BigInteger), sa.column('short_name', sa.String))
    for row_id, reason, short_name in bind.execute(
            sa.select(assignment.c.id, assignment.c.reason, agency.c.short_name)
            .join(agency, agency.c.id == assignment.c.backup_for_agency_id)).all():
        said = render("timeline.backup_for", {"agency": short_name}, "id", reason or "")
        bind.execute(assignment.update().where(assignment.c.id == row_id).values(reason=said))
    with op.batch_alter_table('assignment', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_assignment_backup_for_agency_id_agency'), type_='foreignkey')
        batch_op.drop_column('backup_for_agency_id')
    op.drop_column('timeline_entry', 'params')
    op.drop_column('timeline_entry', 'code')
