"""A second regency without code: `siaga site init` makes its data folder from the national code list and
the official boundaries, `siaga site load` puts it into an empty database, and the centre runs a call to
closure there — its regions, its agencies, its incident numbers, its time zone."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from siaga.core.authz import SYSTEM
from siaga.core.clock import FixedClock
from siaga.core.context import Ctx
from siaga.core.security import digest
from siaga.data.load import load_reference
from siaga.data.site import SiteError, init_site, national_codes, timezone_for
from siaga.db.engine import make_engine, unit_of_work
from siaga.domains.agencies.models import Agency
from siaga.domains.users.models import ApiToken, User
from siaga.settings import Settings
from tests.conftest import START, _migrate

pytestmark = pytest.mark.both_backends  # each test makes a database of its own
REGIONS = Path(os.environ.get("SIAGA_CONFORMANCE_DIR", Path(__file__).parents[3] / "shared" / "conformance")) \
    / "indonesia_regions"
SITES = {  # kode: (files, zone, prefix)
    "14.10": (["kepulauan_meranti_desa.geojson", "kepulauan_meranti_kecamatan.geojson"], "Asia/Jakarta", "KME"),
    "64.01": (["paser_desa.geojson", "paser_kecamatan.geojson"], "Asia/Makassar", "PAS"),
}
NEIGHBOURS = {"14.10": "riau_kabupaten.geojson", "64.01": "kalimantan_timur_kabupaten.geojson"}


@pytest.fixture(scope="module")
def codes() -> dict[str, str]:
    return national_codes()


def test_the_national_list_is_upstreams(codes):
    with (REGIONS / "wilayah_kode_nama.csv").open(encoding="utf-8") as f:
        upstream = dict(line.rstrip("\n").split(",", 1) for line in list(f)[1:])
    assert codes == {k: v.strip('"') for k, v in upstream.items()}
    assert len(codes) == 91_599 and codes["14.03"] == "Kabupaten Bengkalis"


def test_time_zone_by_province():
    assert [timezone_for(k) for k in ("14.10", "64.01", "51.71", "91.01", "61.01")] == \
        ["Asia/Jakarta", "Asia/Makassar", "Asia/Makassar", "Asia/Jayapura", "Asia/Pontianak"]


@pytest.mark.parametrize("kode", sorted(SITES))
def test_init_writes_a_site_folder_from_the_national_list_and_the_boundaries(kode, codes, tmp_path):
    files, zone, prefix = SITES[kode]
    info = init_site(kode, [REGIONS / f for f in files], tmp_path / "site", codes=codes)
    assert (info.timezone, info.incident_prefix) == (zone, prefix)
    site = json.loads((tmp_path / "site" / "site.json").read_text(encoding="utf-8"))
    assert site["kode"] == kode and site["timezone"] == zone
    mine = {k for k in codes if k.startswith(kode + ".")}
    regions = (tmp_path / "site" / "regions.csv").read_text(encoding="utf-8")
    assert all(f"\n{k}," in regions for k in mine) and "Bengkalis" not in regions
    assert info.desa == sum(1 for k in mine if k.count(".") == 3)


def test_init_refuses_what_it_cannot_use_and_writes_nothing(codes, tmp_path):
    meranti = [REGIONS / f for f in SITES["14.10"][0]]
    cases = [("14", meranti, "bukan kode kabupaten"), ("14.99", meranti, "tidak ada dalam daftar"),
             ("14.03", meranti, "tidak ada batas desa"), ("14.10", [], "berikan batas")]
    broken = tmp_path / "broken.geojson"
    broken.write_text('{"type": "FeatureCollection", "features": [{"type": "Feature"', encoding="utf-8")
    cases.append(("14.10", [broken], "broken.geojson"))
    for kode, files, message in cases:
        target = tmp_path / f"out-{len(message)}"
        with pytest.raises(SiteError, match=message):
            init_site(kode, files, target, codes=codes)
        assert not target.exists() or not any(target.iterdir())
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "x.txt").write_text("x")
    with pytest.raises(SiteError, match="sudah berisi"):
        init_site("14.10", meranti, tmp_path / "used", codes=codes)


def _staff(engine) -> None:  # type: ignore[no-untyped-def]
    """What an admin of the new centre does first: accounts for a call-taker, a dispatcher, a fire-service
    operator and the phone system (with API tokens, as machines and tests use them)."""
    with unit_of_work(engine) as db:
        damkar = db.scalar(select(Agency.id).where(Agency.code == "DAMKAR"))
        for username, role, agency in (("ct", "call_taker", None), ("disp", "dispatcher", None),
                                       ("damkar", "agency_operator", damkar), ("phone", "telephony", None),
                                       ("adm", "admin", None)):
            user = User(username=username, full_name=username, role=role, agency_id=agency, password_hash="-",
                        language="id", active=True, created_at=START)
            db.add(user)
            db.flush()
            db.add(ApiToken(user_id=user.id, name="t", token_hash=digest(f"tok-{username}-000000"),
                            prefix=f"tok-{username}"[:12], created_at=START))


@pytest.mark.parametrize("kode", sorted(SITES))
def test_a_second_regency_runs_a_call_to_closure(kode, codes, empty_db, tmp_path):
    from siaga.app import create_app

    files, zone, prefix = SITES[kode]
    folder = tmp_path / "site"
    init_site(kode, [REGIONS / f for f in files], folder, codes=codes, neighbours=REGIONS / NEIGHBOURS[kode])
    around = json.loads((folder / "neighbours.geojson").read_text(encoding="utf-8"))["features"]
    assert around and all(f["properties"]["kode"].split(".")[0] == kode.split(".")[0] != f["properties"]["kode"]
                          for f in around)
    _migrate(empty_db)
    engine = make_engine(empty_db)
    settings = Settings(database_url=empty_db, site_dir=folder, secret_key="t", deadline_tick_seconds=0)
    assert (settings.region_code, settings.incident_prefix, settings.timezone) == (kode, prefix, zone)
    try:
        with unit_of_work(engine) as db:
            report = load_reference(Ctx(db=db, actor=SYSTEM, clock=FixedClock(START), settings=settings), folder)
        starter = json.loads((folder / "questions.json").read_text(encoding="utf-8"))["categories"]
        assert report.added["questions"] == sum(len(qs) for qs in starter.values())
        _staff(engine)
        app = create_app(settings, clock=FixedClock(START), engine=engine)

        def client(who: str) -> TestClient:
            return TestClient(app, headers={"Authorization": f"Bearer tok-{who}-000000"},
                              raise_server_exceptions=False)

        ct, disp, damkar, phone, adm = (client(w) for w in ("ct", "disp", "damkar", "phone", "adm"))
        # The pages are headed with this regency's name, not Bengkalis'.
        login = TestClient(app).get("/")
        assert login.status_code == 200 and f"<title>Siaga 112 {codes[kode]}</title>" in login.text
        assert "Bengkalis" not in login.text
        # The gazetteer is this regency's, with every desa point inside its own desa.
        desa = [r for r in ct.get("/api/v1/regions", params={"level": "desa", "limit": 500}).json()]
        assert desa and all(r["kode"].startswith(kode + ".") for r in desa)
        place = desa[len(desa) // 2]
        where = ct.get("/api/v1/regions/at", params={"lat": place["lat"], "lon": place["lon"]}).json()
        assert where["desa"]["kode"] == place["kode"]
        # A point inside a neighbouring kabupaten is named as that kabupaten, not "near" this one.
        import shapely.geometry

        inside = shapely.geometry.shape(around[0]["geometry"]).representative_point()
        there = ct.get("/api/v1/regions/at", params={"lat": inside.y, "lon": inside.x}).json()
        assert there["desa"] is None and there["kabupaten"]["kode"] == around[0]["properties"]["kode"]
        assert there["status"] in ("neighbour", "outside")
        # The console's built-in map is this regency's desa and kecamatan, with its neighbours as land.
        drawn = TestClient(app).get("/map/outlines.geojson").json()["features"]
        by_kind: dict[str, set[str]] = {}
        for f in drawn:
            by_kind.setdefault(f["properties"]["kind"], set()).add(f["properties"]["kode"])
        assert {d["kode"] for d in desa} <= by_kind["desa"] and all(k.startswith(kode + ".") for k in by_kind["desa"])
        assert by_kind["neighbour"] == {f["properties"]["kode"] for f in around}
        # The call-taker is asked the starter questions the site folder gave, now this database's own.
        fire = ct.get("/api/v1/categories/kebakaran/questions").json()["questions"]
        assert [q["id"] for q in fire] == [q["id"] for q in starter["kebakaran"]]
        assert [q["text_id"] for q in fire] == [q["text_id"] for q in starter["kebakaran"]]
        listed = adm.get("/api/v1/guided-questions").json()
        assert {q["category_code"] for q in listed} == set(starter) and all(q["version"] == 1 for q in listed)
        # The admin completes the starter set: a fire engine.
        agencies = {a["code"]: a for a in adm.get("/api/v1/agencies").json()}
        assert set(agencies) >= {"DAMKAR", "BPBD", "DINKES", "POLRES"}
        assert codes[kode] in agencies["DAMKAR"]["name"]
        unit = adm.post("/api/v1/units", json={"callsign": f"{prefix}-DMK-01", "agency_id": agencies["DAMKAR"]["id"],
                                               "type": "pumper", "lat": place["lat"], "lon": place["lon"]})
        assert unit.status_code == 201, unit.text
        # A call rings in, a call-taker takes it and creates the incident in a desa of this regency.
        offered = phone.post("/api/v1/call-events", json={"event_id": "e1", "call_ref": "c1", "type": "offered",
                                                         "at": START.isoformat(), "caller_number": "081200000001"})
        assert offered.status_code == 201, offered.text
        call = offered.json()["call"]
        assert ct.post(f"/api/v1/calls/{call['id']}/claim", json={"version": call["version"]}).status_code == 200
        made = ct.post("/api/v1/incidents", json={
            "category_code": "kebakaran", "subcategory_code": "kebakaran.bangunan", "priority": 1,
            "lat": place["lat"], "lon": place["lon"], "kode_wilayah": place["kode"], "call_id": call["id"],
            "description": "Rumah terbakar"})
        assert made.status_code == 201, made.text
        incident = made.json()
        assert incident["number"] == f"{prefix}-2026-000001"
        # Elsewhere is refused: Duri (Bengkalis) is not this centre's.
        assert ct.post("/api/v1/incidents", json={"category_code": "kebakaran", "lat": 1.287,
                                                  "lon": 101.235}).status_code == 422
        # The default plan proposes the fire service; one step notifies it; it acts and clears.
        proposal = disp.get(f"/api/v1/incidents/{incident['id']}/proposal").json()
        assert agencies["DAMKAR"]["id"] in proposal["missing_agency_ids"]
        sent = disp.post(f"/api/v1/incidents/{incident['id']}/dispatch",
                         json={"agency_ids": proposal["missing_agency_ids"]})
        assert sent.status_code == 200, sent.text
        mine = damkar.get(f"/api/v1/incidents/{incident['id']}").json()
        a = next(x for x in mine["assignments"] if x["agency_id"] == agencies["DAMKAR"]["id"])
        assert damkar.post(f"/api/v1/assignments/{a['id']}/units",
                           json={"unit_id": unit.json()["id"]}).status_code == 200
        for x in disp.get(f"/api/v1/incidents/{incident['id']}").json()["assignments"]:
            # The fire service clears its job; any other agency the plan brought is stood down.
            ours = x["agency_id"] == agencies["DAMKAR"]["id"]
            r = (damkar if ours else disp).post(f"/api/v1/assignments/{x['id']}/state", json={
                "state": "cleared" if ours else "cancelled", "version": x["version"], "reason": "api padam"})
            assert r.status_code == 200, r.text
        now = disp.get(f"/api/v1/incidents/{incident['id']}").json()
        resolved = disp.post(f"/api/v1/incidents/{incident['id']}/status",
                             json={"status": "resolved", "version": now["version"]})
        assert resolved.status_code == 200, resolved.text
        closed = disp.post(f"/api/v1/incidents/{incident['id']}/status",
                           json={"status": "closed", "version": resolved.json()["version"], "note": "Api padam"})
        assert closed.status_code == 200 and closed.json()["status"] == "closed"
    finally:
        engine.dispose()


def test_the_command_says_what_is_wrong_and_what_to_do_next(tmp_path):
    from typer.testing import CliRunner

    from siaga.cli import app

    runner = CliRunner()
    meranti = [arg for f in SITES["14.10"][0] for arg in ("-b", str(REGIONS / f))]
    bad = runner.invoke(app, ["site", "init", "14.99", *meranti, "--out", str(tmp_path / "x")])
    assert bad.exit_code == 1 and "tidak ada dalam daftar" in bad.output and "Traceback" not in bad.output
    good = runner.invoke(app, ["site", "init", "14.10", *meranti, "--out", str(tmp_path / "site")])
    assert good.exit_code == 0, good.output
    assert "Kabupaten Kepulauan Meranti" in good.output and "SIAGA_SITE_DIR=" in good.output
    assert (tmp_path / "site" / "site.json").exists()
