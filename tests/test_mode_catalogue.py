"""One place per travel mode (issue 21): the catalogue's mode entry carries what the travel-time
stage and the indicators need, and a mode registered there only (a SYNTHETIC test mode,
« trottinette ») runs end to end: road graph, travel times, pair table, indicator tables and
their per-mode columns, labels — as the dummy-indicator test does for indicators.

The database and the road line are SYNTHETIC (built here, not real data); expected minutes are
hand-computed from geodesic distances and the mode's speed.
"""

from __future__ import annotations

import json

import pytest
from synthetic_line import LAT0, X, geod_m, north_of, write_line_roads

from analysis import access, catalogue, db, traveltime
from analysis.access import Filters
from analysis.network import detour, roads
from analysis.traveltime import TravelTimeSettings

TROT = "trot"
TROT_KPH, TROT_FALLBACK_KPH, TROT_DETOUR = 12.0, 20.0, 1.25


FAR = north_of(X["D"], 3_000)  # 3 km off the road: beyond max_snap_m (2.5 km), straight-line estimate


@pytest.fixture()
def trot_mode():
    """SYNTHETIC road mode registered for the test only: 12 km/h on the network and the access
    legs, 20 km/h for straight-line estimates, detour 1.25, the ways closed to bikes, one-way
    streets followed."""
    info = catalogue.ModeInfo(
        "Trottinette",
        "en trottinette",
        "en trottinette",
        TROT_KPH,
        4,
        True,
        fallback_kph=TROT_FALLBACK_KPH,
        detour=TROT_DETOUR,
        closed_highway=catalogue.MODE_INFO["bike"].closed_highway,
    )
    catalogue.register_mode(TROT, info)
    yield info
    catalogue.unregister_mode(TROT)


@pytest.fixture()
def line_roads(tmp_path):
    """SYNTHETIC GeoJSON: one 'secondary' road A-B-C-D-E along the 49.10 parallel."""
    return write_line_roads(tmp_path / "line.geojson")


@pytest.fixture()
def line_db(tmp_path):
    """SYNTHETIC core tables on the line: communes at A and C, one 3 km off the road near D; a
    lycée at B; offers at C and E."""
    con = db.connect(tmp_path / "line.duckdb")
    con.execute("""CREATE TABLE communes (code VARCHAR, name VARCHAR, dep VARCHAR, epci_siren VARCHAR,
        population INTEGER, area_km2 DOUBLE, density_per_km2 DOUBLE, lon DOUBLE, lat DOUBLE)""")
    con.execute(
        "INSERT INTO communes VALUES ('14001','Synthé-A','14','200000001',1000,10.0,100.0,?,?),"
        "('14002','Synthé-C','14','200000001',500,10.0,50.0,?,?),"
        "('50001','Synthé-loin','50','200000002',100,10.0,10.0,?,?)",
        [X["A"], LAT0, X["C"], LAT0, *FAR],
    )
    con.execute(
        "CREATE TABLE epci AS SELECT * FROM (VALUES ('200000001','CC Synthé 1'),"
        "('200000002','CC Synthé 2')) t(siren, name)"
    )
    con.execute("CREATE TABLE departements AS SELECT * FROM (VALUES ('14','Calvados'),('50','Manche')) t(code, name)")
    con.execute("""CREATE TABLE schools (uai VARCHAR, name VARCHAR, commune_code VARCHAR,
        seconde_pupils INTEGER, lon DOUBLE, lat DOUBLE)""")
    con.execute("INSERT INTO schools VALUES ('0140001X','Lycée B','14001',120,?,?)", [X["B"], LAT0])
    con.execute("CREATE TABLE offer_locations (loc_id INTEGER, lon DOUBLE, lat DOUBLE)")
    con.execute("INSERT INTO offer_locations VALUES (1,?,?),(2,?,?)", [X["C"], LAT0, X["E"], LAT0])
    con.execute("""CREATE TABLE offers AS SELECT * FROM (VALUES
        ('o1','S1',TRUE,'14002',1,TRUE,FALSE,2), ('o2','S2',FALSE,'50001',2,TRUE,TRUE,NULL))
        t(offer_id, sector, is_public, commune_code, loc_id, for_seconde, for_troisieme, capacity)""")
    yield con
    con.close()


def _minutes(con, mode, kind, oid, loc):
    return con.execute(
        "SELECT minutes, is_estimate FROM travel_times WHERE mode=? AND origin_kind=? AND origin_id=? AND loc_id=?",
        [mode, kind, oid, loc],
    ).fetchone()


def test_built_in_modes_read_their_parameters_from_the_catalogue():
    """The values moved to the catalogue are the ones the stage used before (issue 21)."""
    car, walk, bike = (catalogue.MODE_INFO[m] for m in ("car", "walk", "bike"))
    assert (roads.CAR_ACCESS_KPH, roads.CAR_FALLBACK_KPH, roads.DETOUR_FACTOR) == (40.0, 40.0, 1.3)
    assert (car.access_speed, car.fallback_speed, car.detour) == (40.0, 40.0, 1.3)
    assert roads.SKELETON_CAR_ACCESS_KPH == car.access_speed  # the calibration and the catalogue agree
    assert (walk.access_speed, walk.fallback_speed, bike.access_speed) == (4.5, 4.5, 15.0)
    assert roads.EXCLUDED_HIGHWAY == {m: catalogue.MODE_INFO[m].closed_highway for m in ("walk", "bike", "car")}
    assert "motorway" in walk.closed_highway and "footway" in car.closed_highway and "steps" in bike.closed_highway
    assert walk.both_ways and not bike.both_ways and not car.both_ways
    assert car.edge_speeds and not walk.edge_speeds and not bike.edge_speeds
    cfg = TravelTimeSettings(source_dir=None)
    assert cfg.detour_for("transit") == cfg.detour_for("walk") == detour.factor("walk")
    assert cfg.speeds() == {"walk": 4.5, "bike": 15.0, "car": 40.0}
    assert cfg.fallback_kph("car") == 40.0 and cfg.fallback_kph("bike") == 15.0


def test_pairs_sql_is_generated_from_the_catalogue(trot_mode):
    sql = access.pairs_sql()
    assert "mode IN ('walk', 'bike', 'car', 'trot')" in sql  # the direct modes, in column order
    assert "'transit' AS mode" in sql and "mode IN ('transit', 'walk')" in sql  # transit counts walking


def test_a_mode_without_detour_never_gets_the_car_factor():
    catalogue.register_mode("nodetour", catalogue.ModeInfo("X", "en x", "en x", 5.0, 9, True))
    try:
        with pytest.raises(ValueError, match="détour"):
            detour.factor("nodetour")
        with pytest.raises(ValueError, match="détour"):
            TravelTimeSettings(source_dir=None).detour_for("nodetour")
    finally:
        catalogue.unregister_mode("nodetour")
    with pytest.raises(ValueError, match="mode inconnu"):
        catalogue.mode_info("nodetour")


def test_registered_mode_runs_end_to_end(trot_mode, line_db, line_roads):
    """A mode registered in the catalogue only: travel times on the road line, then the pair
    table and the indicator tables with its own columns, and its labels."""
    con = line_db
    cfg = {"road_network": line_roads, "modes": ("walk", TROT), "source_dir": None}
    counts = traveltime.build_travel_times(con, cfg, None)
    a, c, e = ((X[k], LAT0) for k in "ACE")
    # on the network at 12 km/h: A -> C ~12 km = ~60 min, points on nodes (no access leg)
    m, est = _minutes(con, TROT, "commune", "14001", 1)
    assert m == pytest.approx(geod_m(a, c) / (TROT_KPH / 3.6) / 60, rel=5e-3) and not est
    assert _minutes(con, TROT, "commune", "14002", 1) == (0.0, False)
    # A -> E ~25 km = ~125 min: beyond the 90-minute horizon, not stored
    assert _minutes(con, TROT, "commune", "14001", 2) is None
    # the commune off the network: straight line x 1.25 at 20 km/h, flagged
    m, est = _minutes(con, TROT, "commune", "50001", 2)
    assert est and m == pytest.approx(geod_m(FAR, e) * TROT_DETOUR / (TROT_FALLBACK_KPH / 3.6) / 60, rel=5e-3)
    assert counts[TROT] == con.execute("SELECT count(*) FROM travel_times WHERE mode = ?", [TROT]).fetchone()[0]
    params = json.loads(con.execute("SELECT params FROM travel_time_runs WHERE mode = ?", [TROT]).fetchone()[0])
    assert (params["detour"], params["fallback_kph"], params["network_kph"]) == (1.25, 20.0, 12.0)

    access.build_tables(con, {"modes": (TROT,), "budgets": (45,)})
    assert con.execute("SELECT count(*) FROM access_pairs WHERE mode = ?", [TROT]).fetchone()[0] == counts[TROT]
    acc = con.execute(
        "SELECT origin_id, offers_reachable, nearest_trot FROM accessibility "
        "WHERE mode = ? AND origin_kind = 'commune' ORDER BY origin_id",
        [TROT],
    ).fetchall()
    far_e, far_c = (geod_m(FAR, p) * TROT_DETOUR / (TROT_FALLBACK_KPH / 3.6) / 60 for p in (e, c))  # ~22, ~32 min
    near_a = geod_m(a, c) / (TROT_KPH / 3.6) / 60  # ~60 min > 45: not reachable (E is beyond the horizon)
    assert far_e < far_c <= 45  # both offer places reachable from the commune off the road
    assert [(r[0], r[1]) for r in acc] == [("14001", 0), ("14002", 1), ("50001", 2)]
    assert acc[0][2] == pytest.approx(near_a, rel=5e-3) and acc[1][2] == 0.0
    assert acc[2][2] == pytest.approx(far_e, rel=5e-3)
    terr = access.territory_indicators(con, "commune", Filters(mode=TROT, minutes=45))
    row = terr.set_index("code").loc["14001"]
    assert row["median_minutes_trot"] == pytest.approx(near_a, rel=5e-3)  # the only commune origin
    live = access.territory_indicators(con, "commune", Filters(mode=TROT, minutes=45), precomputed=False)
    assert list(live["median_minutes_trot"]) == pytest.approx(list(terr["median_minutes_trot"]), nan_ok=True)
    # labels and per-mode indicator columns
    assert catalogue.mode_labels()[TROT] == "Trottinette"
    assert ("median_minutes_trot", catalogue.indicator("median_minutes"), TROT) in catalogue.indicator_columns()


def test_unregistered_mode_is_gone(trot_mode):
    catalogue.unregister_mode(TROT)
    assert TROT not in catalogue.MODES and TROT not in catalogue.ROAD_MODES
    with pytest.raises(access.AccessError, match="Mode inconnu"):
        Filters(mode=TROT)
    catalogue.register_mode(TROT, trot_mode)  # for the fixture's teardown
    with pytest.raises(ValueError, match="déjà"):
        catalogue.register_mode(TROT, trot_mode)
    with pytest.raises(ValueError, match="intégré"):
        catalogue.unregister_mode("car")
