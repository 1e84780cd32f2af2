"""Incremental recompute after an import of offers (issue 15): identical to a full rebuild."""

from __future__ import annotations

import csv
import io
import os
import re
import shutil

import duckdb
import numpy as np
import pandas as pd
import pytest

from analysis import imports
from analysis.incremental import indicators as incremental_indicators
from analysis.incremental import times as incremental
from analysis.network import roads

SECRET = "secret-de-test-incremental"


def test_match_locations_by_exact_coordinates_hand_computed():
    before = pd.DataFrame({"loc_id": [1, 2, 3], "lon": [0.0, 1.0, 2.0], "lat": [49.0, 49.0, 49.0]})
    # a location inserted first (ids shift), one removed (2), one moved by 1e-7 degree (3)
    after = pd.DataFrame({"loc_id": [1, 2, 3, 4], "lon": [-1.0, 0.0, 2.0000001, 5.0], "lat": [49.0, 49.0, 49.0, 49.5]})
    kept, fresh = incremental.match_locations(before, after)
    assert kept.to_dict("list") == {"old_loc_id": [1], "loc_id": [2]}
    assert fresh["loc_id"].tolist() == [1, 3, 4]


def test_only_additions_hand_computed():
    """Only additions: every old location kept (renumbered) with the same offers as the
    indicators count them (number, places, unknown capacities, sectors)."""
    before = pd.DataFrame(
        {"loc_id": [1, 2], "n": [1, 2], "places": [1.0, 5.0], "n_default": [1, 0], "sectors": ["A", "A\x1fB"]}
    )
    after = pd.DataFrame(
        {
            "loc_id": [1, 2, 3],
            "n": [1, 1, 2],
            "places": [2.0, 1.0, 5.0],
            "n_default": [0, 1, 0],
            "sectors": ["C", "A", "A\x1fB"],
        }
    )
    kept = pd.DataFrame({"old_loc_id": [1, 2], "loc_id": [2, 3]})  # a location inserted first
    assert incremental_indicators.only_additions(before, after, kept, 2)
    assert not incremental_indicators.only_additions(before, after, kept.iloc[:1], 2)  # one gone
    for col, value in (("places", 6.0), ("n_default", 1), ("sectors", "A\x1fC"), ("n", 3)):
        changed = after.copy()
        changed.loc[2, col] = value  # the second old location, now id 3
        assert not incremental_indicators.only_additions(before, changed, kept, 2), col


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


def new_communes(db_path, n: int) -> list[tuple[str, str, str]]:
    """(code, name, postcode) of ``n`` communes without any offer in ``db_path``."""
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        return con.execute(
            """SELECT c.code, c.name, min(p.postcode) FROM communes c JOIN commune_postcodes p ON p.code = c.code
               WHERE c.code NOT IN (SELECT commune_code FROM offers WHERE commune_code IS NOT NULL)
               GROUP BY 1, 2 ORDER BY hash(c.code) LIMIT ?""",
            [n],
        ).fetchall()
    finally:
        con.close()


def new_commune_offers(db_path, n: int = 10) -> bytes:
    """SYNTHETIC offers: one in each of ``n`` communes without any offer (new locations at
    their origin points), plus one in Caen: ids shift, and Caen's location gains an offer, which
    changes its intra-commune times (recomputed: ``n + 1`` locations to search)."""
    return _csv(_new_commune_rows(db_path, n))


def _new_commune_rows(db_path, n: int) -> list[dict]:
    rows = [
        {"identifiant": f"SYN-INC-{code}", "code_postal": pc, "commune": name}
        for code, name, pc in new_communes(db_path, n)
    ]
    rows.append({"identifiant": "SYN-INC-CAEN", "code_postal": "14000", "commune": "Caen"})
    return rows


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


#: Every table a recompute writes, with a key ordering its rows (None: every column).
TABLES = {
    "travel_times": "origin_kind, origin_id, loc_id, mode",  # the times themselves: exact (below)
    "travel_time_runs": "mode",
    "access_origins": "origin_kind, origin_id",
    "access_pairs": "origin_kind, mode, oid, loc_id",
    "access_meta": "key",
    "accessibility": None,
    "territory_indicators": None,
    "commune_pupils": None,
    "transit_supply": None,
    "offers": "offer_id",
    "offer_locations": "loc_id",
    "offer_travel_times": "origin_kind, origin_id, offer_id, mode",
}
#: Columns that differ between any two runs by design.
VOLATILE = {"travel_time_runs": {"computed_at", "seconds"}, "access_meta": {"value"}}


def _frame(path, table: str, order: str | None) -> pd.DataFrame:
    con = duckdb.connect(str(path), read_only=True)
    try:
        cols = [
            c
            for (c, t) in con.execute(
                f"SELECT column_name, data_type FROM information_schema.columns "
                f"WHERE table_name = '{table}' ORDER BY ordinal_position"
            ).fetchall()
            if t not in ("GEOMETRY", "BLOB") and c not in VOLATILE.get(table, ())
        ]
        return con.execute(f"SELECT {', '.join(cols)} FROM {table} ORDER BY {order or 'ALL'}").df()
    finally:
        con.close()


def _nulls_and_types(path, table: str) -> list[tuple]:
    """(column, type, nullable, NULL count) of every column: NULL and NaN both read as NaN in
    pandas, so the NULLs are counted apart."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        cols = con.execute(
            "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
            "WHERE table_name = ? ORDER BY ordinal_position",
            [table],
        ).fetchall()
        counts = ", ".join(f'count(*) FILTER (WHERE "{c}" IS NULL)' for c, _, _ in cols)
        nulls = con.execute(f"SELECT {counts} FROM {table}").fetchone()
        return [(*c, n) for c, n in zip(cols, nulls, strict=True)]
    finally:
        con.close()


def assert_same_tables(inc, ref) -> None:
    """Every table written by the recompute equal in ``inc`` and ``ref`` (floats to 1e-12, the
    travel times exactly), with the same column types and NULLs."""
    for table, order in TABLES.items():
        a, b = _frame(inc, table, order), _frame(ref, table, order)
        assert len(a) == len(b), table
        # DuckDB sums floats in parallel, in no fixed order: two full builds already differ in
        # the last bit of sums such as 2SFCA availability, so floats are compared to 1e-12
        pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-12, atol=1e-15, obj=table)
        assert _nulls_and_types(inc, table) == _nulls_and_types(ref, table), table
    tt = _frame(inc, "travel_times", TABLES["travel_times"])
    pd.testing.assert_frame_equal(tt, _frame(ref, "travel_times", TABLES["travel_times"]), check_exact=True)
    assert set(tt["loc_id"]) <= set(_frame(inc, "offer_locations", "loc_id")["loc_id"])
    assert np.isfinite(tt["minutes"]).all()


def _import_and_compare(inc, tmp_path, rows: list[dict], mode: str, messages: list[str], loads: list) -> None:
    """Import ``rows`` into ``inc`` with the incremental recompute (which must load no road
    network: ``loads`` records the loads); the same import into a copy of ``inc`` without
    recompute followed by the full recompute is the reference."""
    from analysis import db

    f = tmp_path / "offres_essai.csv"
    f.write_bytes(_csv(rows))
    ref = tmp_path / "ref.duckdb"
    shutil.copyfile(inc, ref)
    gate = imports.AdminGate(sleep=lambda s: None)
    res = imports.import_file(
        imports.ImportRequest(f, "offers", db_path=inc, mode=mode),
        secret=SECRET,
        gate=gate,
        progress=lambda m, x=None: messages.append(m),
    )
    assert res.accepted == len(rows) and res.recomputed
    assert loads == []  # the build's cached arrays were used: no network loaded
    imports.import_file(
        imports.ImportRequest(f, "offers", db_path=ref, mode=mode, recompute=False), secret=SECRET, gate=gate
    )
    con = db.connect(ref)
    try:
        imports.recompute_derived(con, lambda m, x=None: None)  # loads the network
    finally:
        con.close()
    loads.clear()
    assert_same_tables(inc, ref)


def _to_compute(messages: list[str]) -> int:
    """Number of locations the incremental update searched (its progress message)."""
    found = [
        re.search(r"Mise à jour incrémentale : [\d\u202f]+ lieux? inchangés?, (\d+) à calculer", m) for m in messages
    ]
    counts = [int(f.group(1)) for f in found if f]
    assert len(counts) == 1, messages
    return counts[0]


def test_incremental_imports_equal_full_rebuilds_on_the_mirror(full_db, tmp_path, monkeypatch):
    """A chain of imports, each compared with a full recompute of the same data: new offers in
    new communes only, more of them and one in Caen (ids shift, Caen's location changes), a
    capacity change, an offer moved to another commune, offers deleted."""
    monkeypatch.setenv(imports.ENV_SECRET, SECRET)
    inc = tmp_path / "inc.duckdb"
    shutil.copyfile(full_db, inc)
    loads = []
    real_load = roads.load_road_graph
    monkeypatch.setattr(roads, "load_road_graph", lambda *a, **k: loads.append(a) or real_load(*a, **k))
    rows = _new_commune_rows(full_db, 12)
    spare, rows = rows[:2], rows[2:]  # two communes kept for the move
    delta = "lieux ajoutés, accessibilité complétée"

    # 0. only additions: 5 offers in 5 new communes (accessibility completed, not recomputed)
    messages: list[str] = []
    _import_and_compare(inc, tmp_path, rows[:5], "append", messages, loads)
    assert _to_compute(messages) == 5
    assert any("5 " + delta in m for m in messages), messages

    # 1. the same file with 5 more new communes and one offer in Caen (whose location changes)
    messages = []
    _import_and_compare(inc, tmp_path, rows, "replace-source", messages, loads)
    assert _to_compute(messages) == 6
    assert not any(delta in m for m in messages), messages

    # 2. capacity change (same places: no search, the indicators change)
    rows = [dict(r) for r in rows]
    rows[0]["places"], rows[-1]["places"] = "7", "1"
    messages = []
    _import_and_compare(inc, tmp_path, rows, "replace-source", messages, loads)
    assert _to_compute(messages) == 0

    # 3. an offer moved to another commune without offers
    rows[1] = {**rows[1], "code_postal": spare[0]["code_postal"], "commune": spare[0]["commune"]}
    messages = []
    _import_and_compare(inc, tmp_path, rows, "replace-source", messages, loads)
    assert _to_compute(messages) == 1

    # 4. deletions: a new commune's offer (its location goes, ids shift) and Caen's (its count
    # drops: the location is searched again)
    rows = rows[:2] + rows[3:-1]
    messages = []
    _import_and_compare(inc, tmp_path, rows, "replace-source", messages, loads)
    assert _to_compute(messages) == 1
    assert not any(delta in m for m in messages), messages


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
    from analysis.network import graphcache, paths

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


def test_territory_rows_from_stored_origin_rows_equal_the_territory_query(full_db):
    """territory_indicators aggregated from accessibility (one query, both origin kinds) equals
    what access computes from the pairs, kind by kind, on the mirror build."""
    from analysis import access, db
    from analysis.incremental import indicators as incremental_indicators

    con = db.connect(full_db, read_only=True)
    try:
        scenarios = incremental_indicators.scenarios_of(con, None)
        assert len(scenarios) == 16  # 4 modes x 4 budgets
        n_terr = con.execute(
            "SELECT (SELECT count(*) FROM communes) + (SELECT count(*) FROM epci) "
            "+ (SELECT count(*) FROM departements) + 1"
        ).fetchone()[0]
        got = con.execute(incremental_indicators.territory_sql(con, scenarios)).df()
        want = pd.concat(
            [
                access.territory_query(
                    con, access.LEVELS, access.Filters(origin_kind=k), None, access.precomputed_views(con, None, k)
                )
                for k in access.ORIGIN_KINDS
            ],
            ignore_index=True,
        )
    finally:
        con.close()
    assert list(got.columns) == list(want.columns)
    key = ["origin_kind", "level", "code", "mode", "budget_min"]
    got, want = (d.sort_values(key).reset_index(drop=True) for d in (got, want))
    assert len(got) == len(want) == 2 * 16 * n_terr  # territories without origins included
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-12, atol=1e-15, check_dtype=False)


def test_copy_file_is_byte_identical_with_and_without_copy_file_range(tmp_path, monkeypatch):
    """db.copy_file (the import's copy of the live database): same bytes whether the kernel
    copies them or the fallback loop does (copy_file_range missing, failing or stopping short)."""
    from analysis import db

    src = tmp_path / "base.duckdb"
    payload = np.random.default_rng(15).integers(0, 256, 5 * 2**20 + 12345, dtype=np.uint8).tobytes()
    src.write_bytes(payload)
    db.copy_file(src, tmp_path / "a")
    assert (tmp_path / "a").read_bytes() == payload

    def failing(*a, **k):
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(db.os, "copy_file_range", failing)
    db.copy_file(src, tmp_path / "b")
    assert (tmp_path / "b").read_bytes() == payload
    monkeypatch.setattr(db.os, "copy_file_range", lambda fi, fo, n: 0)  # stops at once
    db.copy_file(src, tmp_path / "c")
    assert (tmp_path / "c").read_bytes() == payload
    monkeypatch.delattr(db.os, "copy_file_range")
    db.copy_file(src, tmp_path / "d")
    assert (tmp_path / "d").read_bytes() == payload


def test_point_sql_is_st_point_byte_for_byte():
    """db.point_sql (core DuckDB, no extension) writes the very bytes of spatial's ST_Point:
    random coordinates, tiny and huge magnitudes, signed zero, NaN, infinity and NULL."""
    from analysis import db

    con = db.connect()
    try:
        rng = np.random.default_rng(15)
        lon = np.concatenate(
            [rng.uniform(-180, 180, 20_000), rng.uniform(-1e-7, 1e-7, 500), [0.0, -0.0, 5e-324, 1e300, np.inf]]
        )
        lat = np.concatenate([rng.uniform(-90, 90, len(lon) - 3), [np.nan, 1.0, -2.0]])
        con.register("pts", pd.DataFrame({"x": lon, "y": lat}))  # pandas NaN reads as NULL
        differ = con.execute(
            f"SELECT count(*) FILTER (WHERE ST_Point(x, y) IS DISTINCT FROM {db.point_sql('x', 'y')}), "
            "count(*) FILTER (WHERE ST_Point(x, y) IS NULL) FROM pts"
        ).fetchone()
        nan = con.execute(
            f"SELECT ST_AsWKB(ST_Point('nan'::DOUBLE, 1.0)) = ST_AsWKB({db.point_sql(chr(39) + 'nan' + chr(39), '1.0')})"
        ).fetchone()[0]
    finally:
        con.close()
    assert differ == (0, 1) and nan


def test_warm_import_loads_no_spatial_extension(full_db, tmp_path, monkeypatch):
    """The import of offers (checks, writes, incremental recompute, swap) opens its copy of the
    database without the spatial extension (0.3-0.5 CPU-s per connection) and never loads it:
    its points are written by core SQL, equal to ST_Point's."""
    from analysis import db

    monkeypatch.setenv(imports.ENV_SECRET, SECRET)
    inc = tmp_path / "inc.duckdb"
    shutil.copyfile(full_db, inc)
    f = tmp_path / "offres_essai.csv"
    f.write_bytes(_csv(_new_commune_rows(full_db, 3)[:3]))  # new communes only (as the bench)
    loads = []
    real = db.load_spatial
    monkeypatch.setattr(db, "load_spatial", lambda con: loads.append(con) or real(con))
    res = imports.import_file(
        imports.ImportRequest(f, "offers", db_path=inc, mode="append"),
        secret=SECRET,
        gate=imports.AdminGate(sleep=lambda s: None),
    )
    assert res.accepted == 3 and res.recomputed
    assert loads == []
    monkeypatch.setattr(db, "load_spatial", real)
    con = db.connect(inc, read_only=True)
    try:
        n, same = con.execute(
            "SELECT count(*), count(*) FILTER (WHERE geom = ST_Point(lon, lat)) FROM offer_locations"
        ).fetchone()
    finally:
        con.close()
    assert n == same > 3


def test_incremental_update_runs_on_one_duckdb_thread_and_restores_the_setting(full_db, tmp_path, monkeypatch):
    """The incremental statements run with DuckDB's ``threads`` at INCREMENTAL_THREADS (1: less
    CPU and wall time on its many small statements); the setting comes back afterwards, also
    after an error, and the full recompute (fallback) keeps every thread."""
    from analysis import db

    p = tmp_path / "threads.duckdb"
    shutil.copyfile(full_db, p)
    con = db.connect(p, spatial=False)

    def threads() -> int:
        return int(con.execute("SELECT current_setting('threads')").fetchone()[0])

    seen = []
    real = incremental.update_indicators
    monkeypatch.setattr(incremental, "update_indicators", lambda c, *a, **k: seen.append(threads()) or real(c, *a, **k))
    try:
        con.execute("SET threads = 2")
        before = incremental.snapshot(con)
        assert incremental.update_after_offers(con, before, lambda m, x=None: None)
        assert seen == [incremental.INCREMENTAL_THREADS] == [1]
        assert threads() == 2
        fell_back = []
        assert incremental.update_after_offers(
            con, None, lambda m, x=None: None, fallback=lambda c, pr, s: fell_back.append(threads()) or True
        )
        assert fell_back == [2]

        def boom(*a, **k):
            raise RuntimeError("échec simulé")

        monkeypatch.setattr(incremental, "update_indicators", boom)
        with pytest.raises(RuntimeError):
            incremental.update_after_offers(con, before, lambda m, x=None: None)
        assert threads() == 2
    finally:
        con.close()


def test_incremental_transit_uses_the_time_capped_access_walk(tmp_path):
    """Issue 20 item 2: an import's new locations get transit times with the build's rule, the
    access walk bounded by 30 min (not 1.5 km). SYNTHETIC feed tests/fixtures/gtfs/synthetic_line:
    a commune 1,540 m west of stop A (1,602 s of walking at 4.5 km/h, detour 1.3) and a new offer
    location at stop C; T8 A 08:00 -> C 08:25, leaving home at 07:33:18: 25 min + 1,602 s."""
    import math
    from pathlib import Path

    from analysis import db, traveltime
    from analysis.incremental.times import new_location_frames

    feed = Path(__file__).parent / "fixtures" / "gtfs" / "synthetic_line"
    stops = pd.read_csv(feed / "stops.txt").set_index("stop_id")
    m_per_deg = 6_371_008.8 * math.pi / 180 * math.cos(math.radians(49.10))
    con = db.connect(tmp_path / "syn.duckdb")
    con.execute("CREATE TABLE communes(code VARCHAR, name VARCHAR, lon DOUBLE, lat DOUBLE)")
    con.execute("INSERT INTO communes VALUES ('99001', 'west of A', ?, 49.10)", [-0.40 - 1540 / m_per_deg])
    con.execute("CREATE TABLE schools(uai VARCHAR, name VARCHAR, lon DOUBLE, lat DOUBLE)")
    fresh = pd.DataFrame(
        {"loc_id": [1], "lon": [stops.at["C", "stop_lon"]], "lat": [stops.at["C", "stop_lat"]], "n_offers": [1]}
    )
    settings = {"source_dir": None, "modes": ("transit",), "transit_gtfs": feed, "service_date": "2025-06-17"}
    cfg = traveltime.TravelTimeSettings.from_any({**settings, "walk_detour": 1.3})
    frames, _ = new_location_frames(con, cfg, ["transit"], fresh, lambda *a: None)
    assert frames[0]["minutes"].tolist() == pytest.approx([25 + 1602 / 60], abs=1e-4)
    capped = traveltime.TravelTimeSettings.from_any({**settings, "walk_detour": 1.3, "transit_access_min": 20})
    frames, _ = new_location_frames(con, capped, ["transit"], fresh, lambda *a: None)
    assert len(frames[0]) == 0  # 26.7 min of walking > 20: no access to the stop
    con.close()
