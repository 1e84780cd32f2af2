"""The travel-time stage (analysis.traveltime): DuckDB output, route command, settings.

``synthetic_*`` databases and road layers are built in the tests (not real data); the GTFS
fixture ``tests/fixtures/gtfs/synthetic_line`` is the transit engineer's synthetic feed. Tests on
the real mirror use the session's ``base_db`` and are skipped only when the mirror is absent.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from synthetic_line import GEOD, LAT0, X, geod_m, north_of, write_line_roads

from analysis import db, traveltime
from analysis.config import BuildSettings
from analysis.traveltime import TravelTimeSettings

FIX_GTFS = Path(__file__).parent / "fixtures" / "gtfs" / "synthetic_line"


@pytest.fixture()
def synthetic_roads(tmp_path) -> Path:
    """Synthetic GeoJSON: one 'secondary' road A-B-C-D-E along the 49.10 parallel."""
    return write_line_roads(tmp_path / "synthetic_roads.geojson")


@pytest.fixture()
def synthetic_db(tmp_path):
    """Synthetic core tables: two communes and a lycée on the line, one commune 10 km off it."""
    con = db.connect(tmp_path / "synthetic.duckdb")
    far = north_of(X["D"], 10_000)
    con.execute("CREATE TABLE communes(code VARCHAR, name VARCHAR, lon DOUBLE, lat DOUBLE)")
    con.execute(
        "INSERT INTO communes VALUES ('99001','A',?,?),('99002','C',?,?),('99003','far',?,?)",
        [X["A"], LAT0, X["C"], LAT0, far[0], far[1]],
    )
    con.execute("CREATE TABLE schools(uai VARCHAR, name VARCHAR, lon DOUBLE, lat DOUBLE)")
    con.execute("INSERT INTO schools VALUES ('0990001A','lycée B',?,?)", [X["B"], LAT0])
    con.execute("CREATE TABLE offer_locations(loc_id INTEGER, lon DOUBLE, lat DOUBLE, commune_code VARCHAR)")
    con.execute("INSERT INTO offer_locations VALUES (1,?,?,'99002'),(2,?,?,NULL)", [X["C"], LAT0, X["E"], LAT0])
    con.execute("CREATE TABLE offers(offer_id VARCHAR, loc_id INTEGER)")
    con.execute("INSERT INTO offers VALUES ('o1',1),('o2',1),('o3',2)")
    yield con
    con.close()


def _tt(con, mode, kind, oid, loc):
    row = con.execute(
        "SELECT minutes, is_estimate FROM travel_times WHERE mode=? AND origin_kind=? AND origin_id=? AND loc_id=?",
        [mode, kind, oid, loc],
    ).fetchone()
    return row


def test_build_on_synthetic_line(synthetic_db, synthetic_roads):
    con = synthetic_db
    cfg = {"road_network": synthetic_roads, "modes": ("walk", "bike", "car"), "source_dir": None}
    counts = traveltime.build_travel_times(con, cfg, None)
    a, b, c, d, e = ((X[k], LAT0) for k in "ABCDE")
    # car on a secondary road: 65 km/h (CAR_HWY_SPEEDS), points exactly on nodes (no access leg)
    m, est = _tt(con, "car", "commune", "99001", 1)
    assert m == pytest.approx(geod_m(a, c) / (65 / 3.6) / 60, rel=5e-3) and not est
    m, _ = _tt(con, "car", "school", "0990001A", 2)
    assert m == pytest.approx(geod_m(b, e) / (65 / 3.6) / 60, rel=5e-3)
    # bike 15 km/h: A -> C 12 km = 48 min; walk 4.5 km/h: A -> C 160 min > 90, not stored
    m, _ = _tt(con, "bike", "commune", "99001", 1)
    assert m == pytest.approx(geod_m(a, c) / (15 / 3.6) / 60, rel=5e-3)
    assert _tt(con, "walk", "commune", "99001", 1) is None
    # same place: 0 minutes
    assert _tt(con, "walk", "commune", "99002", 1)[0] == 0.0
    # the commune 10 km off the network: straight line x 1.3 at the fallback speed, flagged
    far = con.execute("SELECT lon, lat FROM communes WHERE code='99003'").fetchone()
    m, est = _tt(con, "car", "commune", "99003", 1)
    assert est and m == pytest.approx(geod_m(far, c) * 1.3 / (40 / 3.6) / 60, rel=5e-3)
    # every stored time is within the 90-minute horizon, one row per pair and mode
    assert con.execute("SELECT max(minutes) FROM travel_times").fetchone()[0] <= 90
    dup = con.execute(
        "SELECT count(*) FROM (SELECT origin_kind, origin_id, loc_id, mode FROM travel_times "
        "GROUP BY ALL HAVING count(*) > 1)"
    ).fetchone()[0]
    assert dup == 0
    assert counts["car"] == 8  # 4 origins x 2 locations, all under 90 min by car
    # the view repeats a location's time for each of its offers
    v = con.execute(
        "SELECT offer_id, minutes FROM offer_travel_times WHERE mode='car' AND origin_id='99001' ORDER BY offer_id"
    ).fetchall()
    assert [r[0] for r in v] == ["o1", "o2", "o3"] and v[0][1] == v[1][1]
    runs = con.execute(
        "SELECT mode, network_source, status, params, n_pairs FROM travel_time_runs ORDER BY mode"
    ).fetchall()
    assert [r[0] for r in runs] == ["bike", "car", "walk"]
    assert all(r[1] == "lignes:synthetic_roads.geojson" and r[2] == "ok" for r in runs)
    assert json.loads(runs[1][3])["max_minutes"] == 90


def test_max_minutes_and_speeds_are_configurable(synthetic_db, synthetic_roads):
    con = synthetic_db
    build_settings = BuildSettings(
        source_dir=None,
        db_path=Path("unused.duckdb"),
        travel=TravelTimeSettings(
            source_dir=None, road_network=synthetic_roads, modes=("bike",), bike_kph=20.0, max_minutes=30
        ),
    )
    traveltime.build_travel_times(con, build_settings, None)
    # A -> C: 12 km at 20 km/h = 36 min > 30, not stored; B -> C: 7 km = 21 min, stored
    assert _tt(con, "bike", "commune", "99001", 1) is None
    b, c = (X["B"], LAT0), (X["C"], LAT0)
    m, _ = _tt(con, "bike", "school", "0990001A", 1)
    assert m == pytest.approx(geod_m(b, c) / (20 / 3.6) / 60, rel=5e-3)
    assert con.execute("SELECT max(minutes) FROM travel_times").fetchone()[0] <= 30


def test_transit_from_synthetic_gtfs(synthetic_db, synthetic_roads):
    from analysis import transit

    con = synthetic_db
    cfg = TravelTimeSettings(
        source_dir=None,
        road_network=synthetic_roads,
        modes=("transit",),
        transit_gtfs=FIX_GTFS,
        service_date="2025-06-17",
    )
    counts = traveltime.build_travel_times(con, cfg, None)
    assert counts["transit"] > 0
    # hand-computed (fixture README): trip T1 leaves A 07:10, reaches C 07:35 -> 25 minutes
    m, est = _tt(con, "transit", "commune", "99001", 1)
    assert m == pytest.approx(25.0) and not est
    # same figures as the transit engine called directly
    net = transit.TransitNetwork.from_gtfs(FIX_GTFS, service_date="2025-06-17")
    origins = traveltime.read_origins(con)
    dests = traveltime.read_destinations(con)
    ref = transit.transit_matrix(net, origins[["lon", "lat"]].to_numpy(), dests[["lon", "lat"]].to_numpy())
    got = np.full(ref.shape, np.inf)
    rows = con.execute(
        "SELECT origin_kind, origin_id, loc_id, minutes FROM travel_times WHERE mode='transit'"
    ).fetchall()
    key = {(k, i): n for n, (k, i) in enumerate(zip(origins["origin_kind"], origins["origin_id"]))}
    col = {int(loc): n for n, loc in enumerate(dests["loc_id"])}
    for k, i, loc, minutes in rows:
        got[key[(k, i)], col[loc]] = minutes
    ref = np.where(ref <= 90, ref, np.inf)
    np.testing.assert_allclose(got, ref, rtol=1e-6)
    run = con.execute("SELECT status, params FROM travel_time_runs WHERE mode='transit'").fetchone()
    assert run[0] == "ok" and json.loads(run[1])["service_date"] == "2025-06-17"


def test_transit_skipped_with_message_without_timetables(synthetic_db, synthetic_roads):
    messages = []
    cfg = TravelTimeSettings(source_dir=None, road_network=synthetic_roads, modes=("transit",))
    counts = traveltime.build_travel_times(synthetic_db, cfg, lambda msg, frac=None: messages.append(msg))
    assert counts == {"transit": 0}
    assert any("transports en commun ignorés" in m for m in messages)
    status = synthetic_db.execute("SELECT status FROM travel_time_runs").fetchone()[0]
    assert status.startswith("ignoré")


def test_unknown_mode_and_missing_network(tmp_path):
    with pytest.raises(ValueError, match="mode inconnu"):
        TravelTimeSettings.from_any({"modes": ["plane"]})
    from analysis.errors import DataError

    with pytest.raises(DataError, match="introuvable"):
        TravelTimeSettings(source_dir=tmp_path).network_for("car")


def test_route_command_synthetic(synthetic_roads, capsys):
    # negative longitudes are accepted after --from / --to
    rc = traveltime.main(
        [
            "route",
            "--mode",
            "car",
            "--from",
            f"{X['A']},{LAT0}",
            "--to",
            f"{X['D']},{LAT0}",
            "--network",
            str(synthetic_roads),
        ]
    )
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    expected = geod_m((X["A"], LAT0), (X["D"], LAT0)) / (65 / 3.6) / 60
    assert out["minutes"] == pytest.approx(expected, rel=5e-3)
    assert sum(leg["minutes"] for leg in out["legs"]) == pytest.approx(out["minutes"], abs=0.05)
    assert [leg["kind"] for leg in out["legs"]] == ["access", "road", "egress"]


def test_route_command_rejects_bad_coordinates(capsys):
    with pytest.raises(SystemExit):
        traveltime.main(["route", "--mode", "walk", "--from", "49.4,1.09,3", "--to", "1.1,49.4"])


# --------------------------------------------------------------------------- real mirror data


@pytest.fixture(scope="module")
def real_tt(base_db, tmp_path_factory, source_dir):
    path = tmp_path_factory.mktemp("tt") / "tt.duckdb"
    shutil.copy(base_db, path)
    con = db.connect(path)
    cfg = TravelTimeSettings(source_dir=source_dir, modes=("walk", "bike", "car"))
    nets = traveltime.RoadNetworks(cfg)
    counts = traveltime.build_travel_times(con, cfg, None, networks=nets)
    yield con, counts, cfg, nets
    con.close()


def test_real_region_matrix(real_tt):
    con, counts, *_ = real_tt
    assert counts["car"] > counts["bike"] > counts["walk"] > 0
    n_communes = con.execute("SELECT count(*) FROM communes").fetchone()[0]
    with_car = con.execute(
        "SELECT count(DISTINCT origin_id) FROM travel_times WHERE mode='car' AND origin_kind='commune'"
    ).fetchone()[0]
    assert with_car >= 0.98 * n_communes  # almost every commune has an offer within 90 min by car
    # a commune hosting offers no longer reaches its own offers in 0 minutes (issue 11 item 4):
    # the intra-commune model gives every such trip a positive, flagged time
    intra = con.execute("""SELECT count(*), min(t.minutes), bool_and(t.is_estimate)
                           FROM travel_times t JOIN offer_locations l USING (loc_id)
                           WHERE t.origin_kind='commune' AND t.origin_id=l.commune_code AND t.mode='walk'
                           AND l.location_precision='commune'""").fetchone()
    assert intra[0] > 0 and intra[1] > 0 and intra[2]
    assert con.execute("SELECT count(*) FROM travel_times WHERE minutes <= 0").fetchone()[0] == 0
    # on the skeleton walking and cycling use the same edges (motorways closed to both, no
    # one-way roads) and every part of the time is a distance over the mode's speed; only the
    # straight-line parts differ by the calibrated detour factors (walk 1.28-1.30, bike 1.28-1.40):
    # walk minutes / (bike minutes x 15 / 4.5) lies between 1.30 / 1.40 and 1
    pairs = con.execute("""SELECT w.minutes, b.minutes FROM travel_times w JOIN travel_times b
                           USING (origin_kind, origin_id, loc_id)
                           WHERE w.mode='walk' AND b.mode='bike'""").fetchnumpy()
    assert len(pairs["minutes"]) == counts["walk"]  # every walk pair is also a bike pair
    ratio = pairs["minutes"] / (pairs["minutes_1"] * 15 / 4.5)
    assert ratio.max() <= 1 + 1e-5 and ratio.min() >= 1.30 / 1.40 - 1e-5
    # walking can't beat the straight line at 4.5 km/h
    rows = con.execute("""SELECT t.minutes, c.lon, c.lat, l.lon, l.lat FROM travel_times t
                          JOIN communes c ON c.code = t.origin_id JOIN offer_locations l USING (loc_id)
                          WHERE t.mode='walk' AND t.origin_kind='commune'""").fetchnumpy()
    from analysis.network.paths import haversine_m

    crow = haversine_m(rows["lon"], rows["lat"], rows["lon_1"], rows["lat_1"])
    assert (rows["minutes"] * 4.5 / 3.6 * 60 >= crow * 0.995 - 1).all()
    est_share = con.execute("SELECT avg(is_estimate::INT) FROM travel_times WHERE mode='car'").fetchone()[0]
    assert est_share < 0.02  # 1.0 % since the OSRM calibration (access 40 km/h widens the direct cap), 0.3 % before


def test_real_route_equals_matrix_cell(real_tt, source_dir):
    con, _, cfg, nets = real_tt
    rows = con.execute("""WITH pick AS (
                              SELECT * FROM travel_times WHERE mode='car' AND NOT is_estimate
                              ORDER BY hash(origin_id || loc_id::VARCHAR) LIMIT 4),
                          pts AS (SELECT 'commune' AS kind, code AS id, lon, lat FROM communes
                                  UNION ALL SELECT 'school', uai, lon, lat FROM schools)
                          SELECT p.minutes, o.lon, o.lat, l.lon, l.lat
                          FROM pick p JOIN pts o ON o.kind = p.origin_kind AND o.id = p.origin_id
                          JOIN offer_locations l ON l.loc_id = p.loc_id""").fetchall()
    assert len(rows) == 4
    G = nets.graph("car")
    arrays = nets.arrays("car")
    for minutes, olon, olat, dlon, dlat in rows:
        out = traveltime.road_route(G, arrays, "car", (olon, olat), (dlon, dlat), cfg)
        assert out["minutes"] == pytest.approx(minutes, abs=0.01)
        assert sum(leg["minutes"] for leg in out["legs"]) == pytest.approx(minutes, abs=0.1)


def test_real_caen_to_rouen_car_time(real_tt):
    con, _, cfg, nets = real_tt
    # Caen town hall -> Rouen town hall by car on the skeleton calibrated against OSRM (93 min,
    # 137 km of which 103 km on the A13). OSRM 2021 gives 157.9 - 101.3 = 56.6 min between
    # their times to Paris, a lower bound; the former, 8 % too fast, speeds gave 83 min. Routed
    # here, not read from travel_times: the pair is now beyond the 90-minute horizon.
    (a, b) = con.execute("SELECT lon, lat FROM communes WHERE code IN ('14118', '76540') ORDER BY code").fetchall()
    out = traveltime.road_route(nets.graph("car"), nets.arrays("car"), "car", a, b, cfg)
    assert not out["is_estimate"]
    assert 125_000 <= out["distance_m"] <= 150_000
    assert 85 <= out["minutes"] <= 100
    stored = con.execute("""SELECT min(t.minutes) FROM travel_times t JOIN offer_locations l USING (loc_id)
                            WHERE t.mode='car' AND t.origin_kind='commune' AND t.origin_id='14118'
                            AND l.commune_code='76540'""").fetchone()[0]
    assert stored is None or stored <= out["minutes"] + 0.01


def test_route_command_transit_synthetic_gtfs(capsys):
    # hand-computed (fixture README): T1 leaves A at 07:10 and reaches C at 07:35
    rc = traveltime.main(
        [
            "route",
            "--mode",
            "transit",
            "--network",
            str(FIX_GTFS),
            "--date",
            "2025-06-17",
            "--from",
            f"{X['A']},{LAT0}",
            "--to",
            f"{X['C']},{LAT0}",
        ]
    )
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert out["minutes"] == pytest.approx(25.0)
    assert any(leg.get("mode") == "transit" and leg.get("to") == "Synthetic C" for leg in out["legs"])
    # a date outside the feed's calendar is a clear error, not an empty result
    rc = traveltime.main(
        [
            "route",
            "--mode",
            "transit",
            "--network",
            str(FIX_GTFS),
            "--date",
            "2031-06-17",
            "--from",
            f"{X['A']},{LAT0}",
            "--to",
            f"{X['C']},{LAT0}",
        ]
    )
    assert rc == 2 and "Erreur" in capsys.readouterr().err


def test_online_download_is_only_used_when_asked(synthetic_db, synthetic_roads, monkeypatch):
    """OSMnx's download is replaced here by the synthetic line layer (no internet in tests)."""
    import osmnx as ox
    from shapely.geometry import Point

    from analysis.network import roads

    calls = []

    def fake_graph_from_polygon(polygon, **kw):
        calls.append((polygon, kw))
        G = roads.graph_from_lines(synthetic_roads)
        return G

    monkeypatch.setattr(ox, "graph_from_polygon", fake_graph_from_polygon)
    # default settings never download
    traveltime.build_travel_times(synthetic_db, {"road_network": synthetic_roads, "modes": ["car"]}, None)
    assert not calls
    counts = traveltime.build_travel_times(synthetic_db, {"road_network": traveltime.ONLINE, "modes": ["car"]}, None)
    assert len(calls) == 1 and counts["car"] == 8
    polygon, kw = calls[0]
    for lon, lat in synthetic_db.execute(
        "SELECT lon, lat FROM communes UNION ALL SELECT lon, lat FROM offer_locations"
    ).fetchall():
        assert polygon.contains(Point(lon, lat))
    assert synthetic_db.execute("SELECT network_source FROM travel_time_runs").fetchone()[0] == "osmnx:online"


def test_missing_core_table_is_a_clear_error(tmp_path):
    from analysis.errors import DataError

    con = db.connect()
    con.execute("CREATE TABLE communes(code VARCHAR, lon DOUBLE, lat DOUBLE)")
    con.execute("CREATE TABLE schools(uai VARCHAR, lon DOUBLE, lat DOUBLE)")
    with pytest.raises(DataError, match="offer_locations"):
        traveltime.build_travel_times(con, {"source_dir": None, "modes": ["walk"]}, None)


# --------------------------------------------------------------------------- points off the network
# issue 20 item 4: a point farther from the mode's network than its snapping limit is refused


def _shifted_gtfs(tmp_path: Path, lon0: float, lat0: float) -> Path:
    """A copy of the SYNTHETIC line feed moved elsewhere in France: stop A at (lon0, lat0), the
    other stops at the same longitude offsets, all on the ``lat0`` parallel (synthetic data)."""
    folder = tmp_path / "synthetic_elsewhere"
    shutil.copytree(FIX_GTFS, folder)
    stops = pd.read_csv(folder / "stops.txt")
    stops["stop_lon"] = stops["stop_lon"] - X["A"] + lon0
    stops["stop_lat"] = lat0
    stops.to_csv(folder / "stops.txt", index=False)
    return folder


def test_route_on_another_territorys_gtfs_uses_its_extent(tmp_path, capsys):
    # SYNTHETIC feed placed around Lyon (4.83, 45.76): outside Normandie, routed with --network
    feed = _shifted_gtfs(tmp_path, 4.83, 45.76)
    c_lon = X["C"] - X["A"] + 4.83
    args = ["route", "--mode", "transit", "--network", str(feed), "--date", "2025-06-17"]
    rc = traveltime.main([*args, "--from", "4.83,45.76", "--to", f"{c_lon},45.76"])
    assert rc == 0, capsys.readouterr().err
    out = json.loads(capsys.readouterr().out)
    assert out["minutes"] == pytest.approx(25.0)  # T1 A 07:10 -> C 07:35 (fixture README)
    # a start in Caen is outside this network's extent: refused, naming the network
    rc = traveltime.main([*args, "--from", "-0.36,49.18", "--to", f"{c_lon},45.76"])
    captured = capsys.readouterr()
    assert rc == 2 and captured.out == ""
    assert "hors de l'emprise du réseau « synthetic_elsewhere »" in captured.err
    assert "Traceback" not in captured.err and "Normandie" not in captured.err
    # inside the extent (a thin line widened by 30 min of walking) but 4 km from every stop:
    # C (12 km) and D (20 km) are 8 km apart; 1 km north of their midpoint is ~4.1 km from both
    mid = (X["C"] + X["D"]) / 2 - X["A"] + 4.83
    lon, lat, _ = GEOD.fwd(mid, 45.76, 0.0, 1000)
    rc = traveltime.main([*args, "--from", f"{lon},{lat}", "--to", f"{c_lon},45.76"])
    err = capsys.readouterr().err
    assert rc == 2 and "de l'arrêt le plus proche" in err and "30 min de marche" in err


def test_route_road_network_file_extent_and_snap(synthetic_roads, capsys):
    # synthetic road A..E on the 49.10 parallel; snappable nodes only at A..E (segment ends)
    base = ["route", "--mode", "car", "--network", str(synthetic_roads), "--to", f"{X['A']},{LAT0}"]
    near = north_of(X["C"], 2000)  # 2 km from node C: within the 2.5 km snapping limit
    assert traveltime.main([*base, "--from", f"{near[0]},{near[1]}"]) == 0
    capsys.readouterr()
    far = north_of(X["C"], 3000)  # beyond the extent widened by 2.5 km
    assert traveltime.main([*base, "--from", f"{far[0]},{far[1]}"]) == 2
    assert "hors de l'emprise du réseau « synthetic_roads.geojson »" in capsys.readouterr().err
    gap = north_of((X["C"] + X["D"]) / 2, 2000)  # inside the extent, ~4.5 km from C and D
    assert traveltime.main([*base, "--from", f"{gap[0]},{gap[1]}"]) == 2
    err = capsys.readouterr().err
    assert "du réseau routier « synthetic_roads.geojson »" in err and "2,5 km" in err


def test_snap_check_public_function():
    from analysis import transit
    from analysis.traveltime import extent

    net = transit.TransitNetwork.from_gtfs(FIX_GTFS, service_date="2025-06-17")
    # the transit limit is 30 min of walking: 30 x 60 x 1.25 m/s / 1.29 (walking detour) = 1,744 m
    assert extent.snap_limit_m("transit") == pytest.approx(30 * 60 * 1.25 / 1.29)
    west = GEOD.fwd(X["A"], LAT0, 270.0, 1700)[:2]
    assert extent.snap_check(west, "transit", net) == pytest.approx(1700, rel=5e-3)  # sphere vs ellipsoid
    with pytest.raises(extent.OutOfNetworkError, match="1,8 km de l'arrêt le plus proche"):
        extent.snap_check(GEOD.fwd(X["A"], LAT0, 270.0, 1800)[:2], "transit", net)
    assert extent.snap_limit_m("walk") == 2500.0


def test_route_refuses_a_start_in_the_sea(source_dir, capsys):
    # -0.9,49.6 lies in the Baie de Seine: 23.8 km from the nearest node of the regional network
    # (it used to answer a 1,049-minute "walk"); Caen town hall is accepted
    rc = traveltime.main(["route", "--mode", "walk", "--from", "-0.9,49.6", "--to", "-0.36,49.18"])
    captured = capsys.readouterr()
    assert rc == 2 and captured.out == "" and "Traceback" not in captured.err
    assert "km du réseau routier" in captured.err and "limite d'accrochage" in captured.err
    from analysis.traveltime import extent

    arrays = extent.mode_network("walk", TravelTimeSettings(source_dir=source_dir))
    d = extent.snap_distance_m((-0.9, 49.6), "walk", arrays)
    assert 20_000 < d < 30_000  # the nearest coast (Grandcamp, Barfleur) is 20+ km away
    assert extent.snap_check((-0.3625, 49.1829), "walk", arrays) < 2500  # Caen


def test_route_command_bike_access_is_labelled(capsys):
    # « rabattement vélo » on the SYNTHETIC line: 3 km west of A (52 min on foot, refused) is
    # 965 s by bike (3,000 x 1.34 / 4.17 m/s) from A; T8 A 08:00 -> C 08:25
    west = GEOD.fwd(X["A"], LAT0, 270.0, 3000)[:2]
    args = ["route", "--mode", "transit", "--network", str(FIX_GTFS), "--date", "2025-06-17"]
    args += ["--from", f"{west[0]},{west[1]}", "--to", f"{X['C']},{LAT0}"]
    assert traveltime.main(args) == 2  # on foot: beyond the extent widened by 30 min of walking
    assert "hors de l'emprise du réseau « synthetic_line »" in capsys.readouterr().err
    assert traveltime.main([*args, "--rabattement-velo"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert "rabattement vélo" in out["mode_libelle"]
    assert out["legs"][0]["mode"] == "bike"
    assert out["minutes"] == pytest.approx(25 + 965 / 60, abs=0.1)  # 3 km on the ellipsoid ~ 2,99x km on the sphere
    assert (
        traveltime.main(
            ["route", "--mode", "walk", "--from", "-0.36,49.18", "--to", "-0.37,49.18", "--rabattement-velo"]
        )
        == 2
    )
    assert "ne concerne que les transports en commun" in capsys.readouterr().err
