"""Incremental recompute of the travel times after an import of offers.

A full recompute (:func:`analysis.imports.recompute_derived`) loads the road network, converts
it for every mode and searches from every offer location. After an import, most locations have
not moved: each pair's time depends only on the two points and the network (the searches run
from the destinations' side, one search per location; the cutoff, access legs and straight-line
rules are per pair), so the times of an unchanged location can be kept and only locations at
new coordinates need searches.

:func:`snapshot` records the offer locations before the import writes; :func:`update_after_offers`
then

1. matches the new ``offer_locations`` to the old ones by exact coordinates and the attributes
   of the intra-commune model (commune, precision, number of offers; see
   :data:`MATCH_COLUMNS`) — ``loc_id`` is a dense rank of the coordinates, so ids shift when a
   location is added before them;
2. keeps the rows of ``travel_times`` of matched locations under their new ids, drops those of
   locations that no longer exist;
3. computes, for every mode in ``travel_times``, the times from every origin to the new or
   changed locations only (with the intra-commune model, as the build), the road graphs coming
   from :mod:`analysis.network.graphcache` (no network loading when the build cached them);
4. updates ``travel_times`` in place (:func:`write_travel_times`: deletes the rows of gone
   locations, renumbers the kept ones, inserts the new ones; the file keeps its blocks) and
   ``travel_time_runs``;
5. brings the indicator tables up to date (:func:`update_indicators`,
   :mod:`analysis.incremental.indicators`): ``access_pairs`` gets the same deletions,
   renumbering and insertions; ``accessibility`` is recomputed from the pairs (2SFCA couples
   every origin to every location within reach, a set-based DuckDB stage),
   ``territory_indicators`` aggregated from it, and only the rows that differ are rewritten.

The result is identical to a full rebuild (``tests/test_incremental.py`` compares every table
on the mirror). When an incremental update is not possible (no previous locations, a network
downloaded online, a mode without cached graph and no file), it falls back to the full
recompute.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from analysis import traveltime
from analysis.catalogue import mode_label
from analysis.config import BuildSettings
from analysis.db import columns_of, has_relation, write_stamp
from analysis.network import graphcache, paths
from analysis.progress import ProgressFn
from analysis.text import count as count_of
from analysis.text import format_number


def snapshot(con: duckdb.DuckDBPyConnection) -> pd.DataFrame | None:
    """Offer locations (:func:`analysis.traveltime.read_destinations`, with the offers of each
    as :func:`analysis.incremental.indicators.location_offers` counts them) before an import, or
    None when there are no travel times to update incrementally."""
    if not (has_relation(con, "travel_times") and has_relation(con, "offer_locations")):
        return None
    cols = set(columns_of(con, "travel_times"))
    if not {"origin_kind", "origin_id", "loc_id", "mode", "minutes", "is_estimate"} <= cols:
        return None  # not the build's table: only a full recompute can rebuild it
    before = traveltime.read_destinations(con)
    from analysis.incremental import indicators as incremental_indicators

    try:  # the offers of each location as the indicators see them (only_additions)
        return before.merge(incremental_indicators.location_offers(con), on="loc_id", how="left")
    except duckdb.Error:  # an offers table without capacity or sector: no shortcut for the indicators
        return before


#: Columns of :func:`analysis.traveltime.read_destinations` a location's times depend on: its
#: point, and for the intra-commune model its commune, its precision and its number of offers.
MATCH_COLUMNS = ("lon", "lat", "commune_code", "location_precision", "n_offers")


def match_locations(before: pd.DataFrame, after: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split the new locations into those unchanged since before and those to search.

    A location is unchanged when every column of :data:`MATCH_COLUMNS` present in both frames
    is equal (coordinates exactly; a location that gained an offer is recomputed, its
    intra-commune times depending on its number of offers).

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame)
        ``kept``: ``old_loc_id``, ``loc_id`` of unchanged locations; ``fresh``: the rows of
        ``after`` to search (new, moved or changed).
    """
    on = [c for c in MATCH_COLUMNS if c in before and c in after]
    old = before[["loc_id", *on]].rename(columns={"loc_id": "old_loc_id"}).drop_duplicates(on)
    m = after.merge(old, on=on, how="left")
    hit = m["old_loc_id"].notna()
    kept = m.loc[hit, ["old_loc_id", "loc_id"]].astype({"old_loc_id": np.int64, "loc_id": np.int64})
    fresh = after.loc[~hit.to_numpy()].reset_index(drop=True)
    return kept.reset_index(drop=True), fresh


def road_arrays(
    cfg: traveltime.TravelTimeSettings, mode: str, networks: traveltime.RoadNetworks | None = None
) -> paths.GraphArrays:
    """A road mode's arrays from the graph cache, else loaded by ``networks`` (the build's
    loader, which caches them; pass one for all modes so that a network file is read once)."""
    network = cfg.network_for(mode)
    if network == traveltime.ONLINE:
        raise LookupError("réseau téléchargé en ligne : pas de mise à jour incrémentale")
    arrays = graphcache.load(network, mode, cfg.speeds())
    if arrays is None:
        arrays = (networks or traveltime.RoadNetworks(cfg)).arrays(mode)
    return arrays


def changed_count_frames(
    cfg: traveltime.TravelTimeSettings,
    modes: list[str],
    origins: pd.DataFrame,
    changed: pd.DataFrame,
    communes: pd.DataFrame,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Intra-commune times of kept locations whose offer count changed.

    A trip inside one commune goes to the nearest of the location's ``n`` offers
    (:mod:`analysis.network.intracommune`), so its time changes with ``n`` while every routed pair of the
    location stays the same: only these cells are recomputed (no network search).

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame)
        ``keys`` (``origin_kind``, ``origin_id``, ``loc_id``, ``mode``) of every such cell, to drop
        from the kept rows, and ``rows`` (``travel_times`` columns) of those within the horizon.
    """
    from analysis.network import intracommune

    pairs = intracommune.intra_pairs(origins, changed, communes) if len(changed) and len(communes) else None
    cols = ["origin_kind", "origin_id", "loc_id", "mode"]
    if pairs is None or not len(pairs):
        empty = pd.DataFrame({c: pd.Series(dtype=np.int64 if c == "loc_id" else object) for c in cols})
        return empty, pd.DataFrame()
    keys, rows = [], []
    shape = (len(origins), len(changed))
    for mode in modes:
        mat = traveltime.TravelTimeMatrix(
            mode, origins, changed, np.full(shape, np.inf), np.zeros(shape, dtype=bool), "", "", {}
        )
        mat.apply_intra_commune(communes, cfg)
        rows.append(mat.to_frame())
        keys.append(
            pd.DataFrame(
                {
                    "origin_kind": origins["origin_kind"].to_numpy()[pairs["i"]],
                    "origin_id": origins["origin_id"].astype(str).to_numpy()[pairs["i"]],
                    "loc_id": changed["loc_id"].to_numpy()[pairs["j"]].astype(np.int64),
                    "mode": mode,
                }
            )
        )
    return pd.concat(keys, ignore_index=True), pd.concat(rows, ignore_index=True)


def build_settings(con: duckdb.DuckDBPyConnection, settings: Any = None):
    """The given settings, else those of the last build (``build_info``), as the full recompute reads them."""
    if settings is not None:
        return settings
    import json
    from pathlib import Path

    info = dict(con.execute("SELECT key, value FROM build_info").fetchall()) if has_relation(con, "build_info") else {}
    saved = json.loads(info.get("settings") or "{}")
    src = info.get("source_dir")
    return BuildSettings(
        source_dir=Path(src) if src else None,
        db_path=Path("."),
        gtfs=[Path(p) for p in saved.get("gtfs", [])],
        travel_times=bool(saved.get("travel_times", True)),
    )


def new_location_frames(
    con: duckdb.DuckDBPyConnection,
    cfg: traveltime.TravelTimeSettings,
    modes: list[str],
    fresh: pd.DataFrame,
    progress: ProgressFn,
) -> tuple[list[pd.DataFrame], dict]:
    """``travel_times`` rows (one frame per mode) from every origin to the ``fresh`` locations."""
    origins = traveltime.read_origins(con)
    communes = traveltime.read_communes(con)
    frames, stats = [], {}
    networks = traveltime.RoadNetworks(cfg)  # loads a network only on a graph-cache miss, once for all modes
    for mode in modes:
        t0 = time.perf_counter()
        if mode == "transit":
            from analysis import transit

            network = (
                transit.TransitNetwork.from_gtfs(cfg.transit_gtfs, service_date=cfg.service_date)
                if cfg.transit_gtfs
                else transit.TransitNetwork.from_duckdb(con, service_date=cfg.service_date)
            )
            mat = traveltime.TravelTimeMatrix.for_transit(network, origins, fresh, cfg)
        else:
            mat = traveltime.TravelTimeMatrix.for_road(road_arrays(cfg, mode, networks), mode, origins, fresh, cfg)
        mat.apply_intra_commune(communes, cfg)  # as build_travel_times does, per pair
        frame = mat.to_frame()
        frames.append(frame)
        stats[mode] = (len(frame), int(frame["is_estimate"].sum()), time.perf_counter() - t0)
        progress(
            f"Temps de trajet {mode_label(mode, None, 'phrase')} : "
            f"{count_of(len(fresh), 'nouveau lieu', 'nouveaux lieux')}, {count_of(len(frame), 'couple')} "
            f"en {format_number(stats[mode][2], 2)} s",
            None,
        )
    return frames, stats


def _changed_counts(before: pd.DataFrame, after: pd.DataFrame, kept: pd.DataFrame) -> pd.DataFrame:
    """The kept locations (rows of ``after``) whose number of offers changed."""
    if not ("n_offers" in before and "n_offers" in after and len(kept)):
        return after.iloc[0:0]
    n_old = before.set_index("loc_id")["n_offers"]
    n_new = after.set_index("loc_id")["n_offers"]
    diff = kept[n_old.reindex(kept["old_loc_id"]).to_numpy() != n_new.reindex(kept["loc_id"]).to_numpy()]
    return after[after["loc_id"].isin(diff["loc_id"])].reset_index(drop=True)


_EMPTY_TIMES = {
    "origin_kind": str,
    "origin_id": str,
    "loc_id": np.int32,
    "mode": str,
    "minutes": np.float32,
    "is_estimate": bool,
}


def write_travel_times(
    con: duckdb.DuckDBPyConnection,
    kept: pd.DataFrame,
    intra_keys: pd.DataFrame,
    new_rows: list[pd.DataFrame],
    modes: list[str],
) -> None:
    """Update ``travel_times`` in place: the rows of gone locations and of the recomputed
    intra-commune cells are deleted, the kept rows renumbered (``loc_id``), the new rows
    inserted (in the build's order). The table keeps its blocks and constraints."""
    new = (
        pd.concat(new_rows, ignore_index=True)
        if new_rows
        else pd.DataFrame({c: pd.Series(dtype=t) for c, t in _EMPTY_TIMES.items()})
    )
    order = "CASE mode " + " ".join(f"WHEN '{m}' THEN {i}" for i, m in enumerate(modes)) + " END"
    con.register("_inc_kept", kept.astype({"old_loc_id": np.int64, "loc_id": np.int64}))
    con.register(
        "_inc_intra_keys",
        intra_keys.astype({"origin_kind": str, "origin_id": str, "mode": str, "loc_id": np.int64}),
    )
    con.register("_inc_new", new)
    try:
        con.execute("DELETE FROM travel_times WHERE loc_id NOT IN (SELECT old_loc_id FROM _inc_kept)")
        if len(intra_keys):
            con.execute(
                """DELETE FROM travel_times t USING _inc_kept k, _inc_intra_keys i
                   WHERE k.old_loc_id = t.loc_id AND i.loc_id = k.loc_id AND i.origin_kind = t.origin_kind
                     AND i.origin_id = t.origin_id AND i.mode = t.mode"""
            )
        con.execute(
            """UPDATE travel_times SET loc_id = k.loc_id::INTEGER FROM _inc_kept k
               WHERE travel_times.loc_id = k.old_loc_id AND k.loc_id <> k.old_loc_id"""
        )
        con.execute(f"""
            INSERT INTO travel_times
            SELECT origin_kind, origin_id, loc_id::INTEGER, mode, minutes::REAL, is_estimate FROM _inc_new
            ORDER BY {order}, origin_kind, origin_id, loc_id
        """)
    finally:
        for name in ("_inc_kept", "_inc_new", "_inc_intra_keys"):
            con.unregister(name)


def _update_runs(con: duckdb.DuckDBPyConnection, modes: list[str], n_destinations: int) -> None:
    """``travel_time_runs``: the counts of the updated table."""
    if not has_relation(con, "travel_time_runs"):
        return
    counts = dict(
        (m, (int(n), int(e)))
        for m, n, e in con.execute(
            "SELECT mode, count(*), count(*) FILTER (WHERE is_estimate) FROM travel_times GROUP BY mode"
        ).fetchall()
    )
    for mode in modes:
        n_pairs, n_est = counts.get(mode, (0, 0))
        con.execute(
            "UPDATE travel_time_runs SET n_destinations = ?, n_pairs = ?, n_estimates = ?, "
            "computed_at = date_trunc('second', current_localtimestamp()) WHERE mode = ? AND status = 'ok'",
            [n_destinations, n_pairs, n_est, mode],
        )


def update_indicators(
    con: duckdb.DuckDBPyConnection,
    settings: Any,
    progress: ProgressFn,
    pairs_fresh: bool,
    kept: pd.DataFrame,
    fresh: pd.DataFrame,
    intra_keys: pd.DataFrame,
    added: list[int] | None = None,
) -> None:
    """Bring the indicator tables up to date after ``travel_times`` was updated in place:
    the pair table updated, the indicator tables recomputed from it
    (:mod:`analysis.incremental.indicators`; ``added``: the ids of the added locations when the
    import only added some), else the whole stage (:func:`analysis.access.build_tables`)."""
    from analysis import access
    from analysis.incremental import indicators as incremental_indicators

    progress("Mise à jour des indicateurs d'accessibilité…", 0.85)
    if not (pairs_fresh and incremental_indicators.update_pairs(con, kept, fresh["loc_id"].tolist(), intra_keys)):
        if not incremental_indicators.can_refresh(con):
            access.build_tables(con, settings, progress)
            return
        access.build_pairs(con)
    if not incremental_indicators.refresh_indicators(con, settings, progress, added if pairs_fresh else None):
        access.build_tables(con, settings, progress)


def update_after_offers(
    con: duckdb.DuckDBPyConnection,
    before: pd.DataFrame | None,
    progress: ProgressFn,
    settings: Any = None,
    fallback=None,
) -> bool:
    """Bring ``travel_times`` and the indicators up to date after offers were written.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The database being imported into (offers and ``offer_locations`` already replaced).
    before : pandas.DataFrame or None
        :func:`snapshot` taken before the write.
    progress : callable
    settings : optional
        Build settings (default: those recorded in ``build_info``).
    fallback : callable, optional
        ``fallback(con, progress, settings) -> bool``, the full recompute, used when an
        incremental update is not possible.

    Returns
    -------
    bool
        True when something was recomputed.
    """
    settings = build_settings(con, settings)
    if before is None or not has_relation(con, "travel_times"):
        return bool(fallback(con, progress, settings)) if fallback else False
    with duckdb_threads(con, INCREMENTAL_THREADS):
        done = _update(con, before, progress, settings)
    if not done:  # incremental update impossible: the full recompute, on every thread
        return bool(fallback(con, progress, settings)) if fallback else False
    return True


#: DuckDB threads of the incremental update's statements. They are many and small (a few
#: thousand to a million rows): on the 2-core machine, one thread spends ~20 % less CPU than two
#: on them and finishes sooner (bench/imports.py, interleaved runs, docs/performance.md §4).
INCREMENTAL_THREADS = 1


@contextlib.contextmanager
def duckdb_threads(con: duckdb.DuckDBPyConnection, n: int) -> Iterator[None]:
    """Run the block with DuckDB's ``threads`` setting at ``n``, restored afterwards (the
    setting belongs to the database instance: the import's private copy)."""
    old = int(con.execute("SELECT current_setting('threads')").fetchone()[0])
    con.execute(f"SET threads = {int(n)}")
    try:
        yield
    finally:
        con.execute(f"SET threads = {old}")


def _update(con: duckdb.DuckDBPyConnection, before: pd.DataFrame, progress: ProgressFn, settings: Any) -> bool:
    """The incremental update of :func:`update_after_offers`; False (nothing written) when a
    mode cannot be searched incrementally (then the caller runs the full recompute)."""
    from analysis import access

    cfg = traveltime.TravelTimeSettings.from_any(settings)
    present = {m for (m,) in con.execute("SELECT DISTINCT mode FROM travel_times").fetchall()}
    modes = [m for m in cfg.modes if m in present]
    # before the travel times change: were the pairs and indicators built from them (then they
    # can be updated)?
    pairs_fresh = access.pairs_table_is_fresh(con)
    tables_fresh = access.tables_fresh(con, access.Filters())
    after = traveltime.read_destinations(con)
    kept, fresh = match_locations(before, after)
    # the fresh locations with their commune, precision and offer count (intra-commune model)
    fresh = fresh[["loc_id"]].merge(after, on="loc_id", how="left")
    progress(
        f"Mise à jour incrémentale : {count_of(len(kept), 'lieu inchangé', 'lieux inchangés')}, {len(fresh)} à calculer",
        0.5,
    )
    try:
        frames, _ = new_location_frames(con, cfg, modes, fresh, progress) if len(fresh) else ([], {})
    except (LookupError, OSError) as exc:
        progress(f"Mise à jour incrémentale impossible ({exc}) : recalcul complet", None)
        return False
    # kept locations whose offer count changed: their intra-commune cells (nearest of n offers)
    intra_keys, intra_rows = changed_count_frames(
        cfg, modes, traveltime.read_origins(con), _changed_counts(before, after, kept), traveltime.read_communes(con)
    )
    if len(intra_rows):
        frames = [*frames, intra_rows]
    write_travel_times(con, kept, intra_keys, frames, list(cfg.modes))
    write_stamp(con, "travel_times")  # the derived tables compare it (analysis.access)
    if has_relation(con, "offers"):
        con.execute(traveltime.OFFER_VIEW_SQL)
    _update_runs(con, modes, len(after))
    if has_relation(con, "commune_pupils") or has_relation(con, "accessibility"):
        added = _added_locations(con, before, kept, fresh, intra_keys) if tables_fresh else None
        update_indicators(con, settings, progress, pairs_fresh, kept, fresh, intra_keys, added)
    return True


def _added_locations(
    con: duckdb.DuckDBPyConnection,
    before: pd.DataFrame,
    kept: pd.DataFrame,
    fresh: pd.DataFrame,
    intra_keys: pd.DataFrame,
) -> list[int] | None:
    """The ids of the new locations when the import only added locations (every old one kept,
    with the same offers), else None."""
    from analysis.incremental import indicators as incremental_indicators

    if not len(fresh) or len(intra_keys) or "places" not in before:
        return None
    after = incremental_indicators.location_offers(con)
    if not incremental_indicators.only_additions(before, after, kept, len(before)):
        return None
    return [int(i) for i in fresh["loc_id"]]
