"""The migrations build exactly the schema the models describe, and 0003 (session last seen) goes down
and up again, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from siaga.db.engine import make_engine
from siaga.schema import Base

MIGRATIONS = Path(__file__).parents[2] / "src/siaga/db/migrations"
pytestmark = pytest.mark.both_backends  # each test migrates an empty database of its own


def alembic(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def session_columns(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return {c["name"] for c in inspect(engine).get_columns("user_session")}
    finally:
        engine.dispose()


def test_migrations_match_the_models(empty_db):
    command.upgrade(alembic(empty_db), "head")
    engine = make_engine(empty_db)
    try:
        with engine.connect() as conn:
            diffs = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), Base.metadata)
    finally:
        engine.dispose()
    assert diffs == []


def test_0003_adds_last_seen_and_can_be_undone(empty_db):
    cfg = alembic(empty_db)
    command.upgrade(cfg, "head")
    assert "last_seen_at" in session_columns(empty_db)
    command.downgrade(cfg, "0002")
    assert "last_seen_at" not in session_columns(empty_db)
    command.upgrade(cfg, "head")
    assert "last_seen_at" in session_columns(empty_db)


def test_0009_marks_the_calls_the_simulator_wrote_before_the_column_existed(empty_db):
    """Before 0009 a simulated call was known only by its reference (`sim-…`); the upgrade marks those,
    exactly those (case and position count), and leaves every other call real."""
    from sqlalchemy import text

    cfg = alembic(empty_db)
    command.upgrade(cfg, "0008")
    engine = make_engine(empty_db)
    refs = ["sim-0a1b2c3d4e-0000001", "sim-live-t9-0000001", "SIM-upper", "x-sim-1", "real-call-1", None]
    try:
        with engine.begin() as conn:
            for i, ref in enumerate(refs):
                conn.execute(text("INSERT INTO call (external_ref, caller_number, called_number, status, offered_at, "
                                  "notes, checklist, version) VALUES (:ref, '', '112', 'ended', :at, '', '{}', 1)"),
                             {"ref": ref, "at": f"2026-10-0{i + 1} 01:00:00+00:00"})
        command.upgrade(cfg, "0009")
        with engine.connect() as conn:
            marked = dict(conn.execute(text("SELECT coalesce(external_ref, '-'), simulated FROM call")).all())
    finally:
        engine.dispose()
    assert {ref for ref, sim in marked.items() if sim} == {"sim-0a1b2c3d4e-0000001", "sim-live-t9-0000001"}
    assert len(marked) == len(refs)


def test_0010_region_boundaries_go_down_and_up_with_rows_referring_to_regions(empty_db):
    """0010's downgrade drops the boundary columns in place: copying `region` into a new table (batch mode)
    is refused by SQLite while a landmark refers to a region."""
    from sqlalchemy import inspect, text

    cfg = alembic(empty_db)
    command.upgrade(cfg, "head")
    engine = make_engine(empty_db)
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO region (kode, level, name, coord_approx, source, boundary, min_lat) "
                              "VALUES ('14', 'provinsi', 'Riau', true, '', '{}', 0.5)"))
            conn.execute(text("INSERT INTO landmark (name, kind, kode_wilayah, lat, lon, coord_approx, note) "
                              "VALUES ('Tugu', 'other', '14', 0.5, 101.4, true, '')"))
        command.downgrade(cfg, "0009")
        assert "boundary" not in {c["name"] for c in inspect(engine).get_columns("region")}
        command.upgrade(cfg, "head")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT name, boundary FROM region")).all() == [("Riau", None)]
            assert conn.execute(text("SELECT count(*) FROM landmark")).scalar() == 1
    finally:
        engine.dispose()


def test_0012_codes_go_down_as_indonesian_words_and_the_timeline_stays_append_only(empty_db):
    """Going back below 0012 loses no words: a coded timeline entry gets its message written into its text in
    Bahasa Indonesia, a backup assignment says whom it stands in for in its reason; an entry written before
    codes keeps its text; and the timeline refuses an UPDATE again afterwards."""
    from datetime import UTC, datetime

    from sqlalchemy import text
    from sqlalchemy.exc import DatabaseError
    from sqlalchemy.orm import Session

    from siaga.core.i18n import message, ref
    from siaga.domains.agencies.models import Agency
    from siaga.domains.incidents.models import Assignment, Category, Incident, TimelineEntry

    cfg = alembic(empty_db)
    command.upgrade(cfg, "head")
    engine = make_engine(empty_db)
    at = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    try:
        with Session(engine) as db:
            db.add(Category(code="kebakaran", name_id="Kebakaran", name_en="Fire", default_priority=2, active=True))
            damkar = Agency(code="DAMKAR", name="Dinas Pemadam Kebakaran", short_name="Damkar", kind="fire")
            bpbd = Agency(code="BPBD", name="Badan Penanggulangan Bencana Daerah", short_name="BPBD", kind="disaster")
            db.add_all([damkar, bpbd])
            db.flush()
            incident = Incident(number="BKS-2026-000001", category_code="kebakaran", priority=2, status="new",
                                created_at=at)
            db.add(incident)
            db.flush()
            db.add(Assignment(incident_id=incident.id, agency_id=bpbd.id, state="notified", notified_at=at,
                              reason="", backup_for_agency_id=damkar.id))
            said = message("timeline.escalated_backup", agency="Damkar", step=ref("deadline_step.acknowledge"),
                           backup="BPBD")
            db.add_all([TimelineEntry(incident_id=incident.id, at=at, actor="", kind="note", text="api besar"),
                        TimelineEntry(incident_id=incident.id, at=at, actor="", kind="escalated", text="",
                                      code=said["code"], params=said["params"]),
                        TimelineEntry(incident_id=incident.id, at=at, actor="", kind="sector", text="kebun sawit",
                                      code="timeline.sector_created",
                                      params={"name": "Sektor A", "size": ref("sector.area_m2", n=800)})])
            db.commit()
        command.downgrade(cfg, "0013")
        with engine.connect() as conn:
            texts = [row[0] for row in conn.execute(text("SELECT text FROM timeline_entry ORDER BY id"))]
            reason = conn.execute(text("SELECT reason FROM assignment")).scalar_one()
        assert texts == ["api besar",
                         "Damkar masih belum menerima (acknowledge): instansi cadangan BPBD diberi tahu",
                         "Sektor A: sektor baru (800 m²) — kebun sawit"]
        assert reason == "cadangan untuk Damkar"
        with pytest.raises(DatabaseError, match="append-only"), engine.begin() as conn:
            conn.execute(text("UPDATE timeline_entry SET text = 'changed'"))
        command.upgrade(cfg, "head")
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT code, text FROM timeline_entry ORDER BY id")).all()
        assert [tuple(r) for r in rows] == [(None, t) for t in texts]
    finally:
        engine.dispose()


def test_0011_osm_refs_go_down_and_up_with_incidents_referring_to_landmarks(empty_db):
    """0011 adds `landmark.osm_ref` in place (an incident refers to the landmark: SQLite would refuse to copy the
    table) with a unique index, so one OpenStreetMap object is one patokan; down and up again keep the rows."""
    from sqlalchemy import inspect, text
    from sqlalchemy.exc import IntegrityError

    cfg = alembic(empty_db)
    command.upgrade(cfg, "head")
    engine = make_engine(empty_db)
    insert = ("INSERT INTO landmark (name, kind, lat, lon, coord_approx, note, osm_ref) "
              "VALUES (:name, 'mosque', 1.46, 102.1, false, '', :ref)")
    try:
        with engine.begin() as conn:
            conn.execute(text(insert), {"name": "Masjid Agung", "ref": "node/1"})
            conn.execute(text(insert), {"name": "Tangan", "ref": None})
            conn.execute(text(insert), {"name": "Tangan 2", "ref": None})  # many hand-entered: NULL repeats
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(text(insert), {"name": "Masjid Agung lagi", "ref": "node/1"})
        command.downgrade(cfg, "0010")
        assert "osm_ref" not in {c["name"] for c in inspect(engine).get_columns("landmark")}
        assert "landmark_import" not in inspect(engine).get_table_names()
        command.upgrade(cfg, "head")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*), count(osm_ref) FROM landmark")).one() == (3, 0)
    finally:
        engine.dispose()
