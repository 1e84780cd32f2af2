"""Indicator tables brought up to date after an incremental travel-times update (issue 15).

:mod:`analysis.incremental` updates ``travel_times`` in place (rows of new locations inserted,
rows of gone locations deleted, ``loc_id`` renumbered). This module then brings the tables
derived from it up to date without rebuilding them whole:

- :func:`update_pairs`: ``access_pairs`` (:func:`analysis.access.build_pairs`) gets the same
  deletions, renumbering and insertions (the pairs of new or changed cells derived with
  :data:`analysis.access.PAIRS_SQL`); ``access_origins`` is kept when the set of origins is
  unchanged (otherwise the numbering would shift: the whole pair table is rebuilt);
- :func:`refresh_indicators`: ``accessibility`` is recomputed with
  :func:`analysis.access.origin_accessibility` (one pass per origin kind, every (mode, budget)
  scenario of the build) and ``territory_indicators`` aggregated from those per-origin rows in
  one query for both origin kinds (:func:`territory_sql`: the aggregation of
  :func:`analysis.access.territory_indicators` over the stored rows, instead of computing the
  per-origin rows a second time). After 10 offers in new communes most rows change (the car
  reaches a new location from most origins within 60 minutes), so both tables are rewritten.

``commune_pupils`` and ``transit_supply`` do not depend on offers: they are left as they are.
The result equals :func:`analysis.access.build_tables` (``tests/test_incremental.py`` compares
every table on the mirror).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import duckdb
import pandas as pd

from . import access, config
from .access import LEVELS, MODES, ORIGIN_KINDS, Filters
from .db import columns_of, has_relation, read_stamp
from .progress import ProgressFn

#: Key columns of ``accessibility`` (one row per key).
ACCESSIBILITY_KEYS = ("origin_kind", "origin_id", "mode", "budget_min")


def scenarios_of(con: duckdb.DuckDBPyConnection, settings) -> list[tuple[str, float]]:
    """The (mode, budget) pairs :func:`analysis.access.build_tables` precomputes for ``settings``."""
    opts = config.IndicatorSettings.of(settings)
    modes = opts.modes if opts.modes is not None else MODES
    present = {m for (m,) in con.execute("SELECT DISTINCT mode FROM travel_times").fetchall()}
    return [
        (m, float(b)) for m in modes for b in opts.budgets if m in present or (m == "transit" and "walk" in present)
    ]


def update_pairs(
    con: duckdb.DuckDBPyConnection,
    kept: pd.DataFrame,
    fresh_ids: Sequence[int],
    cells: pd.DataFrame,
) -> bool:
    """Apply an incremental ``travel_times`` update to ``access_pairs``.

    Call after ``travel_times`` was updated and before its new stamp is recorded in
    ``access_meta``; ``access_pairs`` must have been fresh before the update.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
    kept : pandas.DataFrame
        ``old_loc_id``, ``loc_id`` of the locations whose times were kept (others are gone).
    fresh_ids : sequence of int
        New ``loc_id`` of the locations whose times were all computed anew.
    cells : pandas.DataFrame
        ``origin_kind``, ``origin_id``, ``loc_id`` (new id) of kept locations whose times were
        recomputed for some origins (intra-commune cells).

    Returns
    -------
    bool
        False when the set of origins changed (``access_origins`` would be renumbered): the
        caller must rebuild the pairs whole (:func:`analysis.access.build_pairs`).
    """
    cells = cells[["origin_kind", "origin_id", "loc_id"]].drop_duplicates().astype({"loc_id": "int64"})
    con.register("_ip_kept", kept[["old_loc_id", "loc_id"]].astype("int64"))
    con.register("_ip_fresh", pd.DataFrame({"loc_id": pd.Series(list(fresh_ids), dtype="int64")}))
    con.register("_ip_cells", cells.astype({"origin_kind": str, "origin_id": str}))
    try:
        gone = con.execute(
            "SELECT count(*) FROM access_pairs WHERE loc_id NOT IN (SELECT old_loc_id FROM _ip_kept)"
        ).fetchone()[0]
        if gone or len(cells):  # rows were deleted: an origin may have lost its last pair
            n_origins = con.execute("SELECT count(*) FROM access_origins").fetchone()[0]
            now = con.execute(
                "SELECT count(*) FROM (SELECT DISTINCT origin_kind, origin_id FROM travel_times)"
            ).fetchone()[0]
            if now != n_origins:
                return False
        missing = con.execute(
            """SELECT count(*) FROM (SELECT DISTINCT origin_kind, origin_id FROM travel_times
               WHERE loc_id IN (SELECT loc_id FROM _ip_fresh)) t
               ANTI JOIN access_origins o USING (origin_kind, origin_id)"""
        ).fetchone()[0]
        if missing:  # an origin that had no pair before
            return False
        # rows of gone locations, and of the recomputed cells (every mode: transit pairs take walk)
        con.execute("DELETE FROM access_pairs WHERE loc_id NOT IN (SELECT old_loc_id FROM _ip_kept)")
        if len(cells):
            con.execute(
                """DELETE FROM access_pairs p USING access_origins o, _ip_cells c, _ip_kept k
                   WHERE p.origin_kind = o.origin_kind AND p.oid = o.oid AND o.origin_kind = c.origin_kind
                     AND o.origin_id = c.origin_id AND k.loc_id = c.loc_id AND p.loc_id = k.old_loc_id"""
            )
        con.execute(
            """UPDATE access_pairs SET loc_id = k.loc_id::INTEGER FROM _ip_kept k
               WHERE access_pairs.loc_id = k.old_loc_id AND k.loc_id <> k.old_loc_id"""
        )
        # the new ids as a literal list: the filter reaches the scan of travel_times
        ids = sorted({int(i) for i in fresh_ids} | set(cells["loc_id"].astype(int)))
        if ids:
            con.execute(f"""
                INSERT INTO access_pairs
                SELECT p.origin_kind, o.oid, p.loc_id::INTEGER AS loc_id, p.mode,
                       p.minutes::REAL AS minutes, p.is_estimate
                FROM ({access.PAIRS_SQL}) p JOIN access_origins o USING (origin_kind, origin_id)
                WHERE p.loc_id IN ({", ".join(map(str, ids))})
                  AND (p.loc_id IN (SELECT loc_id FROM _ip_fresh)
                       OR EXISTS (SELECT 1 FROM _ip_cells c WHERE c.origin_kind = p.origin_kind
                                  AND c.origin_id = p.origin_id AND c.loc_id = p.loc_id))
                ORDER BY p.origin_kind, p.mode, o.oid, p.minutes
            """)
    finally:
        for name in ("_ip_kept", "_ip_fresh", "_ip_cells"):
            con.unregister(name)
    con.execute("DELETE FROM access_meta WHERE key = 'travel_times_signature'")
    con.execute("INSERT INTO access_meta VALUES ('travel_times_signature', ?)", [read_stamp(con, "travel_times")])
    return True


def territory_sql(con: duckdb.DuckDBPyConnection, scenarios: Iterable[tuple[str, float]]) -> str:
    """SQL of the ``territory_indicators`` rows, from ``accessibility``.

    The aggregation of :func:`analysis.access.territory_indicators` (every level, every
    scenario) applied to the per-origin rows already stored in ``accessibility`` (the ``po``
    rows that function would compute again), for both origin kinds in one query.
    """
    where, _ = access._offer_filter(Filters())
    supply = access._supply_sql(con)
    if supply is None:
        supply_cte = (
            "supply AS (SELECT NULL::VARCHAR AS level, NULL::VARCHAR AS tkey, "
            "NULL::BIGINT AS n_stops, NULL::BIGINT AS morning_departures WHERE FALSE)"
        )
        stops_null = deps_null = "NULL::BIGINT"
    else:
        supply_cte = f"""supply AS (
            SELECT lvl.level, {access._tkey_sql("g")} AS tkey, sum(s.n_stops)::BIGINT AS n_stops,
                   sum(s.morning_departures)::BIGINT AS morning_departures
            FROM ({supply}) s JOIN communes g ON g.code = s.commune_code CROSS JOIN lvl
            GROUP BY ALL
        )"""
        stops_null = "(SELECT CASE WHEN count(*) > 0 THEN 0 END FROM transit_supply)::BIGINT"
        deps_null = "(SELECT CASE WHEN count(morning_departures) > 0 THEN 0 END FROM transit_supply)::BIGINT"
    density = access.density_class_sql("geo.population::DOUBLE / nullif(geo.area_km2, 0)")
    low_density = access.density_class_sql("g.population::DOUBLE / nullif(g.area_km2, 0)")
    med_cols = ",\n".join(f"max(v) FILTER (WHERE mode = '{m}') AS median_minutes_{m}" for m in MODES)
    region = access._sql_literal(config.REGION_CODE)
    return f"""
    WITH
    scen AS ({access._scenarios_sql(scenarios)}),
    kinds AS (SELECT * FROM (VALUES {", ".join(f"('{k}')" for k in ORIGIN_KINDS)}) t(origin_kind)),
    f_offers AS (
        SELECT o.commune_code, coalesce(o.capacity, 1)::DOUBLE AS places, (o.capacity IS NULL) AS default_cap
        FROM offers o WHERE {where}
    ),
    po AS (
        SELECT a.mode AS s_mode, a.budget_min AS budget, a.* EXCLUDE (mode, budget_min)
        FROM accessibility a
    ),
    lvl AS ({access._levels_sql(LEVELS)}),
    po_geo AS (
        SELECT po.*, g.code AS g_code, g.epci_siren AS g_epci, g.dep AS g_dep,
               coalesce(po.pupils, 0) AS w,
               {low_density} IN ('peu_dense', 'tres_peu_dense') AS low_density
        FROM po LEFT JOIN communes g ON g.code = po.commune_code
    ),
    po2 AS (
        SELECT p.*, lvl.level,
               CASE lvl.level WHEN 'commune' THEN p.g_code WHEN 'epci' THEN p.g_epci
                    WHEN 'departement' THEN p.g_dep ELSE {region} END AS tkey
        FROM po_geo p CROSS JOIN lvl
    ),
    agg AS (
        SELECT origin_kind, level, tkey, s_mode, budget, count(*) AS n_origins,
               count(*) FILTER (WHERE pupils IS NOT NULL) AS n_origins_with_pupils,
               sum(w) AS pupils,
               bool_or(pupils_is_estimate) AS pupils_is_estimate,
               sum(w * offers_reachable) / nullif(sum(w), 0) AS offers_reachable_mean,
               sum(w * sectors_reachable) / nullif(sum(w), 0) AS sectors_reachable_mean,
               sum(w * places_reachable) / nullif(sum(w), 0) AS places_reachable_mean,
               sum(w * places_per_pupil_2sfca) / nullif(sum(w), 0) AS places_per_pupil_2sfca,
               coalesce(sum(w) FILTER (WHERE offers_reachable = 0), 0) AS pupils_no_offer,
               coalesce(sum(w) FILTER (WHERE offers_reachable_transit = 0), 0) AS pupils_no_offer_transit,
               sum(w * offers_reachable_car) / nullif(sum(w), 0) AS offers_reachable_car_mean,
               sum(w * offers_reachable_transit) / nullif(sum(w), 0) AS offers_reachable_transit_mean,
               coalesce(sum(w) FILTER (WHERE low_density), 0) / nullif(sum(w), 0) AS pupils_low_density_share,
               bool_or(reach_uses_estimates) AS uses_estimated_times
        FROM po2 GROUP BY origin_kind, level, tkey, s_mode, budget
    ),
    first_scen AS (SELECT s_mode, budget FROM scen LIMIT 1),
    long AS (
        UNPIVOT (
            SELECT origin_kind, level, tkey, origin_id, w,
                   {", ".join(f"coalesce(nearest_{m}, 1e9) AS {m}" for m in MODES)}
            FROM po2 SEMI JOIN first_scen f ON po2.s_mode = f.s_mode AND po2.budget = f.budget
        ) ON {", ".join(MODES)} INTO NAME mode VALUE v
    ),
    wm AS (
        SELECT origin_kind, level, tkey, mode, v,
               sum(w) OVER (PARTITION BY origin_kind, level, tkey, mode ORDER BY v, origin_id
                            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cum,
               sum(w) OVER (PARTITION BY origin_kind, level, tkey, mode) AS tot
        FROM long
    ),
    med1 AS (
        SELECT origin_kind, level, tkey, mode, min(v) FILTER (WHERE cum >= tot / 2.0 AND tot > 0) AS v
        FROM wm GROUP BY origin_kind, level, tkey, mode
    ),
    med AS (
        SELECT origin_kind, level, tkey, {med_cols}
        FROM (SELECT origin_kind, level, tkey, mode, CASE WHEN v < 1e9 THEN v END AS v FROM med1)
        GROUP BY origin_kind, level, tkey
    ),
    located AS (
        SELECT lvl.level, {access._tkey_sql("g")} AS tkey, count(*) AS offers_located,
               sum(f.places) AS places_located,
               count(*) FILTER (WHERE f.default_cap) AS places_located_default_capacity
        FROM f_offers f JOIN communes g ON g.code = f.commune_code CROSS JOIN lvl
        GROUP BY ALL
    ),
    geo AS (
        SELECT lvl.level, {access._tkey_sql("g")} AS tkey, sum(g.population) AS population,
               sum(g.area_km2) AS area_km2
        FROM communes g CROSS JOIN lvl GROUP BY ALL
    ),
    {supply_cte},
    terr AS ({access._territories_sql(LEVELS)})
    SELECT t.level, t.code, t.name, k.origin_kind, sc.s_mode AS mode,
           sc.budget AS budget_min,
           geo.population, geo.area_km2,
           geo.population::DOUBLE / nullif(geo.area_km2, 0) AS density_per_km2,
           {density} AS density_class,
           coalesce(agg.n_origins, 0) AS n_origins,
           coalesce(agg.n_origins_with_pupils, 0) AS n_origins_with_pupils,
           coalesce(agg.pupils, 0)::DOUBLE AS pupils,
           coalesce(agg.pupils_is_estimate, k.origin_kind = 'commune') AS pupils_is_estimate,
           coalesce(located.offers_located, 0) AS offers_located,
           coalesce(located.places_located, 0)::DOUBLE AS places_located,
           coalesce(located.places_located_default_capacity, 0) AS places_located_default_capacity,
           100.0 * coalesce(located.offers_located, 0) / nullif(agg.pupils, 0) AS offers_per_100_pupils,
           agg.offers_reachable_mean, agg.sectors_reachable_mean, agg.places_reachable_mean,
           agg.places_per_pupil_2sfca,
           coalesce(agg.pupils_no_offer, 0)::DOUBLE AS pupils_no_offer,
           agg.pupils_no_offer / nullif(agg.pupils, 0) AS share_no_offer,
           coalesce(agg.pupils_no_offer_transit, 0)::DOUBLE AS pupils_no_offer_transit,
           agg.pupils_no_offer_transit / nullif(agg.pupils, 0) AS share_no_offer_transit,
           med.median_minutes_walk, med.median_minutes_bike, med.median_minutes_transit,
           med.median_minutes_car,
           agg.offers_reachable_car_mean, agg.offers_reachable_transit_mean,
           agg.offers_reachable_car_mean / nullif(agg.offers_reachable_transit_mean, 0) AS car_transit_ratio,
           coalesce(supply.n_stops, {stops_null}) AS n_stops,
           coalesce(supply.morning_departures, {deps_null}) AS morning_departures,
           agg.pupils_low_density_share,
           coalesce(agg.uses_estimated_times, FALSE) AS uses_estimated_times
    FROM kinds k CROSS JOIN terr t CROSS JOIN scen sc
    LEFT JOIN geo ON geo.level = t.level AND geo.tkey = t.code
    LEFT JOIN agg ON agg.origin_kind = k.origin_kind AND agg.level = t.level AND agg.tkey = t.code
                 AND agg.s_mode = sc.s_mode AND agg.budget = sc.budget
    LEFT JOIN med ON med.origin_kind = k.origin_kind AND med.level = t.level AND med.tkey = t.code
    LEFT JOIN located ON located.level = t.level AND located.tkey = t.code
    LEFT JOIN supply ON supply.level = t.level AND supply.tkey = t.code
    ORDER BY k.origin_kind, t.lv, sc.s_mode, sc.budget, t.code
    """


def write_table(con: duckdb.DuckDBPyConnection, table: str, new: pd.DataFrame) -> None:
    """Replace ``table`` by ``new`` as :func:`analysis.access.build_tables` writes it."""
    con.register("_wt_new", new)
    try:
        con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM _wt_new")
    finally:
        con.unregister("_wt_new")


def can_refresh(con: duckdb.DuckDBPyConnection) -> bool:
    """True when the indicator tables exist and were built from the current pairs."""
    return all(
        has_relation(con, t)
        for t in ("accessibility", "territory_indicators", "access_meta", "access_pairs", "commune_pupils")
    ) and set(ACCESSIBILITY_KEYS) <= set(columns_of(con, "accessibility"))


def refresh_indicators(con: duckdb.DuckDBPyConnection, settings, progress: ProgressFn) -> bool:
    """Recompute ``accessibility`` and ``territory_indicators`` after the pairs were updated.

    Returns False (nothing written) when the tables cannot be refreshed this way (missing, or
    no scenario): the caller then runs :func:`analysis.access.build_tables`.
    """
    if not can_refresh(con):
        return False
    scenarios = scenarios_of(con, settings)
    if not scenarios:
        return False
    con.execute("DELETE FROM access_meta WHERE key = 'tables_signature'")
    acc = pd.concat(
        [access.origin_accessibility(con, Filters(origin_kind=k), scenarios=scenarios) for k in ORIGIN_KINDS],
        ignore_index=True,
    )
    write_table(con, "accessibility", acc)
    progress(f"Indicateurs : {len(acc):,} lignes d'accessibilité", None)
    terr = con.execute(territory_sql(con, scenarios)).df()
    write_table(con, "territory_indicators", terr)
    progress(f"Indicateurs : {len(terr):,} lignes de territoires", None)
    con.execute("INSERT INTO access_meta VALUES ('tables_signature', ?)", [read_stamp(con, "travel_times")])
    return True
