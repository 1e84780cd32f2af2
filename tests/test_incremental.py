"""Incremental recompute after an import of offers (issue 15): identical to a full rebuild."""

from __future__ import annotations

import csv
import io
import os
import shutil

import duckdb
import numpy as np
import pandas as pd
import pytest

from analysis import imports, incremental

SECRET = "secret-de-test-incremental"


def test_match_locations_by_exact_coordinates_hand_computed():
    before = pd.DataFrame({"loc_id": [1, 2, 3], "lon": [0.0, 1.0, 2.0], "lat": [49.0, 49.0, 49.0]})
    # a location inserted first (ids shift), one removed (2), one moved by 1e-7 degree (3)
    after = pd.DataFrame({"loc_id": [1, 2, 3, 4], "lon": [-1.0, 0.0, 2.0000001, 5.0], "lat": [49.0, 49.0, 49.0, 49.5]})
    kept, fresh = incremental.match_locations(before, after)
    assert kept.to_dict("list") == {"old_loc_id": [1], "loc_id": [2]}
    assert fresh["loc_id"].tolist() == [1, 3, 4]


def _csv(rows: list[dict]) -> bytes:
    header = [c.header for c in imports.OFFER_TEMPLATE]
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=";", lineterminator="\r\n")
    w.writerow(header)
    for r in rows:
        base = {
            "employeur": "Employeur synthétique",
            "siret": "73282932000074",
            "secteur": "Commerce et distribution",
            "public": "non",
            "places": "2",
            "niveaux": "seconde",
        }
        base.update(r)
        w.writerow([base.get(h, "") for h in header])
    return buf.getvalue().encode()


def new_commune_offers(db_path, n: int = 10) -> bytes:
    """SYNTHETIC offers: one in each of ``n`` communes without any offer (new locations at
    their origin points), plus one in Caen: ids shift, and Caen's location gains an offer, which
    changes its intra-commune times (recomputed: ``n + 1`` locations to search)."""
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        picked = con.execute(
            """SELECT c.code, c.name, min(p.postcode) FROM communes c JOIN commune_postcodes p ON p.code = c.code
               WHERE c.code NOT IN (SELECT commune_code FROM offers WHERE commune_code IS NOT NULL)
               GROUP BY 1, 2 ORDER BY hash(c.code) LIMIT ?""",
            [n],
        ).fetchall()
    finally:
        con.close()
    rows = [{"identifiant": f"SYN-INC-{code}", "code_postal": pc, "commune": name} for code, name, pc in picked]
    rows.append({"identifiant": "SYN-INC-CAEN", "code_postal": "14000", "commune": "Caen"})
    return _csv(rows)


@pytest.fixture(scope="module")
def full_db(source_dir, tmp_path_factory):
    """The whole build (travel times, indicators) from the mirror, its graphs cached in tmp."""
    from analysis.build import BuildSettings, build, default_gtfs
    from analysis.progress import silent

    tmp = tmp_path_factory.mktemp("incremental")
    old = os.environ.get("OBSERVATOIRE_CACHE")
    os.environ["OBSERVATOIRE_CACHE"] = str(tmp / "cache")
    path = tmp / "full.duckdb"
    build(BuildSettings(source_dir=source_dir, db_path=path, gtfs=default_gtfs(source_dir)), silent)
    yield path
    if old is None:
        os.environ.pop("OBSERVATOIRE_CACHE", None)
    else:
        os.environ["OBSERVATOIRE_CACHE"] = old


TABLES = {
    "travel_times": "origin_kind, origin_id, loc_id, mode",  # the times themselves: exact (below)
    "access_origins": "origin_kind, origin_id",
    "access_pairs": "origin_kind, mode, oid, loc_id",
    "accessibility": None,
    "territory_indicators": None,
    "commune_pupils": None,
    "transit_supply": None,
    "offer_locations": "loc_id",
}


def _frame(path, table: str, order: str | None) -> pd.DataFrame:
    con = duckdb.connect(str(path), read_only=True)
    try:
        cols = [
            c
            for (c, t) in con.execute(
                f"SELECT column_name, data_type FROM information_schema.columns "
                f"WHERE table_name = '{table}' ORDER BY ordinal_position"
            ).fetchall()
            if t not in ("GEOMETRY", "BLOB")
        ]
        return con.execute(f"SELECT {', '.join(cols)} FROM {table} ORDER BY {order or 'ALL'}").df()
    finally:
        con.close()


def test_incremental_import_equals_full_rebuild_on_the_mirror(full_db, tmp_path, monkeypatch):
    monkeypatch.setenv(imports.ENV_SECRET, SECRET)
    inc, ref = tmp_path / "inc.duckdb", tmp_path / "ref.duckdb"
    shutil.copyfile(full_db, inc)
    shutil.copyfile(full_db, ref)
    f = tmp_path / "offres_synthetiques.csv"
    f.write_bytes(new_commune_offers(full_db))
    gate = imports.AdminGate(sleep=lambda s: None)
    messages: list[str] = []
    loads = []
    real_load = incremental.roads.load_road_graph
    monkeypatch.setattr(incremental.roads, "load_road_graph", lambda *a, **k: loads.append(a) or real_load(*a, **k))
    res = imports.import_file(
        f, "offers", secret=SECRET, db_path=inc, mode="append", gate=gate, progress=lambda m, x=None: messages.append(m)
    )
    assert res.accepted == 11 and res.recomputed
    assert any("Mise à jour incrémentale" in m and "11 à calculer" in m for m in messages), messages
    assert loads == []  # the build's cached arrays were used: no network loaded
    # reference: the same import without recompute, then the full recompute
    imports.import_file(f, "offers", secret=SECRET, db_path=ref, mode="append", gate=gate, recompute=False)
    from analysis import db

    con = db.connect(ref)
    try:
        imports.recompute_derived(con, lambda m, x=None: None)
    finally:
        con.close()
    for table, order in TABLES.items():
        a, b = _frame(inc, table, order), _frame(ref, table, order)
        assert len(a) == len(b), table
        # DuckDB sums floats in parallel, in no fixed order: two full builds already differ in
        # the last bit of sums such as 2SFCA availability, so floats are compared to 1e-12
        pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-12, atol=1e-15, obj=table)
    tt = _frame(inc, "travel_times", TABLES["travel_times"])
    pd.testing.assert_frame_equal(tt, _frame(ref, "travel_times", TABLES["travel_times"]), check_exact=True)
    n_locs = _frame(inc, "offer_locations", "loc_id")
    assert set(tt["loc_id"]) <= set(n_locs["loc_id"])
    assert np.isfinite(tt["minutes"]).all()


def test_incremental_falls_back_to_the_full_recompute_without_a_snapshot(full_db, tmp_path):
    from analysis import db

    p = tmp_path / "x.duckdb"
    shutil.copyfile(full_db, p)
    con = db.connect(p)
    calls = []
    try:
        assert incremental.update_after_offers(
            con, None, lambda m, x=None: None, fallback=lambda c, pr, s: calls.append(s) or True
        )
    finally:
        con.close()
    assert len(calls) == 1


def test_graph_cache_round_trip_and_key(tmp_path, monkeypatch):
    """Cached arrays come back equal; another file content, mode or speed is another key."""
    from analysis import graphcache, paths

    monkeypatch.setenv(graphcache.ENV_CACHE, str(tmp_path / "cache"))
    net = tmp_path / "reseau_synthetique.gpkg"
    net.write_bytes(b"SYNTHETIC network file, version 1")
    g = paths.GraphArrays.from_edges(
        [0.0, 0.01, 0.02],
        [49.0, 49.0, 49.01],
        [0, 1, 2],
        [1, 2, 0],
        [5.0, 7.0, 9.0],
        mode="walk",
        source="synthetique",
        precision="rues",
    )
    speeds = {"walk": 4.5, "bike": 15.0}
    assert graphcache.load(net, "walk", speeds) is None
    assert graphcache.save(net, "walk", speeds, g) is not None
    back = graphcache.load(net, "walk", speeds)
    assert (back.matrix != g.matrix).nnz == 0 and back.matrix.shape == (3, 3)
    np.testing.assert_array_equal(back.lon, g.lon)
    assert back.meta["precision"] == "rues" and back.meta["source"] == "synthetique"
    assert graphcache.load(net, "bike", speeds) is None
    assert graphcache.load(net, "walk", {**speeds, "walk": 5.0}) is None
    net.write_bytes(b"SYNTHETIC network file, version 2, longer")  # other size: memo key changes
    assert graphcache.load(net, "walk", speeds) is None
