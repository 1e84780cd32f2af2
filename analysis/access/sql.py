"""SQL generation of the indicators.

Owns the pieces of the one DuckDB query behind every indicator: the offer filter, the origins
(communes with estimated pupils, or lycées), the per-origin common table expressions
(:func:`_origin_ctes`: cumulative opportunities, nearest offer per mode, 2SFCA) and the
per-territory query (:func:`_territory_query`: weighted means, medians, located offers, density,
transport supply). :mod:`analysis.access.indicators` runs them (or reads the precomputed tables),
:mod:`analysis.access.tables` writes their default results at build time, and
:mod:`analysis.report.data` reuses :func:`_territory_query` for its reference territories.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import duckdb
import pandas as pd

from analysis import catalogue, config
from analysis.access.filters import DENSITY_CLASSES, LEVELS, AccessError, Filters, _check_inputs, _require
from analysis.access.pairs import _pairs_source
from analysis.db import has_relation
from analysis.sources import pupils

#: Up to this many distinct sectors, "sectors reachable" uses a HUGEINT bit mask per location.
MAX_MASK_SECTORS = 127


def _sql_literal(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def density_class_sql(density_expr: str) -> str:
    """SQL CASE expression giving the density-class proxy code for a density expression."""
    parts = [f"WHEN {density_expr} IS NULL THEN NULL"]
    for code, threshold in DENSITY_CLASSES:
        parts.append(f"WHEN {density_expr} >= {threshold!r} THEN '{code}'")
    return "CASE " + " ".join(parts) + " END"


def _offer_filter(filters: Filters) -> tuple[str, dict[str, Any]]:
    conds: list[str] = ["o.loc_id IS NOT NULL"]
    params: dict[str, Any] = {}
    if filters.sectors:
        names = []
        for k, s in enumerate(filters.sectors):
            params[f"sector{k}"] = s
            names.append(f"$sector{k}")
        conds.append(f"o.sector IN ({', '.join(names)})")
    if filters.grade == "seconde":
        conds.append("o.for_seconde")
    elif filters.grade == "3e":
        conds.append("o.for_troisieme")
    if filters.public is not None:
        conds.append("o.is_public = $public")
        params["public"] = bool(filters.public)
    return " AND ".join(conds), params


def _origins_sql(con: duckdb.DuckDBPyConnection, origin_kind: str, total: float | None = None) -> str:
    if origin_kind == "school":
        return """
            SELECT s.uai AS origin_id, s.name AS origin_name, s.commune_code,
                   s.seconde_pupils::DOUBLE AS pupils, FALSE AS pupils_is_estimate
            FROM schools s
        """
    if total is None and has_relation(con, "commune_pupils"):
        cp = "commune_pupils"
    else:
        cp = "(" + pupils.commune_pupils_sql(total if total is not None else pupils.regional_total(con)) + ")"
    return f"""
        SELECT c.code AS origin_id, c.name AS origin_name, c.code AS commune_code,
               cp.pupils::DOUBLE AS pupils, TRUE AS pupils_is_estimate
        FROM communes c LEFT JOIN {cp} cp ON cp.code = c.code
    """


Scenario = tuple[str, float]


def _scenarios_sql(scenarios: Iterable[Scenario]) -> str:
    rows = []
    for mode, budget in scenarios:
        if mode not in catalogue.MODES:
            raise AccessError(f"Mode inconnu : {mode!r}")
        rows.append(f"('{mode}', {float(budget)!r}::DOUBLE)")
    if not rows:
        raise AccessError("Aucun couple (mode, budget) demandé")
    return f"SELECT * FROM (VALUES {', '.join(rows)}) t(s_mode, budget)"


def _origin_ctes(
    con: duckdb.DuckDBPyConnection,
    filters: Filters,
    total: float | None = None,
    scenarios: Iterable[Scenario] | None = None,
) -> tuple[str, dict[str, Any]]:
    """The WITH clause (without the final SELECT) computing per-origin indicators ``po``.

    ``po`` has one row per (scenario, origin); a scenario is a (mode, budget) pair, by default
    only ``(filters.mode, filters.minutes)``. Also defines ``f_offers`` (filtered offers),
    ``origins`` and ``scen``.
    """
    where, params = _offer_filter(filters)
    params.update(origin_kind=filters.origin_kind)
    pairs, oid_sql = _pairs_source(con)
    # Distinct sectors reachable: a bit mask per location (fast) when there are few sectors,
    # else a COUNT(DISTINCT) join.
    n_sectors = con.execute("SELECT count(DISTINCT sector) FROM offers").fetchone()[0]
    use_mask = n_sectors <= MAX_MASK_SECTORS
    if scenarios is None:
        scenarios = [(filters.mode, float(filters.minutes))]
    nearest = ",\n".join(f"min(e.minutes) FILTER (WHERE e.mode = '{m}') AS nearest_{m}" for m in catalogue.MODES)
    sql = f"""
    WITH
    scen AS ({_scenarios_sql(scenarios)}),
    budgets AS (SELECT DISTINCT budget FROM scen),
    f_offers AS (
        SELECT o.offer_id, o.loc_id, o.sector, o.commune_code,
               coalesce(o.capacity, 1)::DOUBLE AS places, (o.capacity IS NULL) AS default_cap
        FROM offers o WHERE {where}
    ),
    sector_idx AS (
        SELECT sector, (row_number() OVER (ORDER BY sector) - 1)::INTEGER AS idx
        FROM (SELECT DISTINCT sector FROM f_offers WHERE sector IS NOT NULL)
    ),
    locs AS (
        SELECT f.loc_id, count(*) AS n_offers, sum(f.places) AS places,
               count(*) FILTER (WHERE f.default_cap) AS n_default,
               {"bit_or(1::HUGEINT << si.idx)" if use_mask else "NULL::HUGEINT"} AS sector_mask
        FROM f_offers f LEFT JOIN sector_idx si USING (sector) GROUP BY f.loc_id
    ),
    loc_sectors AS (SELECT DISTINCT loc_id, sector FROM f_offers),
    origins0 AS ({_origins_sql(con, filters.origin_kind, total)}),
    origins AS (SELECT o.*, {oid_sql} AS oid FROM origins0 o),
    eff AS (
        SELECT p.oid, p.loc_id, p.mode, p.minutes, p.is_estimate
        FROM {pairs} p SEMI JOIN locs l ON p.loc_id = l.loc_id
        WHERE p.origin_kind = $origin_kind
    ),
    om AS MATERIALIZED (
        SELECT e.oid, e.mode, b.budget,
               min(e.minutes) AS nearest,
               arg_min(e.is_estimate, (e.minutes, e.is_estimate)) AS nearest_is_estimate,
               sum(l.n_offers) FILTER (WHERE e.minutes <= b.budget) AS offers,
               sum(l.places) FILTER (WHERE e.minutes <= b.budget) AS places,
               sum(l.n_default) FILTER (WHERE e.minutes <= b.budget) AS n_default,
               bool_or(e.is_estimate) FILTER (WHERE e.minutes <= b.budget) AS uses_est,
               bit_or(l.sector_mask) FILTER (WHERE e.minutes <= b.budget) AS sector_mask
        FROM eff e JOIN locs l USING (loc_id) CROSS JOIN budgets b
        GROUP BY e.oid, e.mode, b.budget
    ),
    nearest AS (
        SELECT e.oid, {nearest}
        FROM (SELECT oid, mode, nearest AS minutes FROM om) e
        GROUP BY e.oid
    ),
    sel AS MATERIALIZED (
        SELECT s.s_mode, s.budget, e.oid, e.loc_id
        FROM eff e JOIN scen s ON e.mode = s.s_mode AND e.minutes <= s.budget
    ),
    demand AS (
        SELECT s.s_mode, s.budget, s.loc_id, sum(o.pupils) AS demand
        FROM sel s JOIN origins o USING (oid)
        WHERE o.pupils > 0 GROUP BY ALL
    ),
    ratio AS (
        SELECT d.s_mode, d.budget, d.loc_id, l.places / d.demand AS r
        FROM demand d JOIN locs l USING (loc_id)
    ),
    fca AS (
        SELECT s.s_mode, s.budget, s.oid, sum(r.r) AS a
        FROM sel s JOIN ratio r USING (s_mode, budget, loc_id)
        GROUP BY ALL
    ),
    sect AS (
        {
        "SELECT NULL AS s_mode, NULL AS budget, NULL AS oid, NULL AS n_sectors WHERE FALSE"
        if use_mask
        else "SELECT s.s_mode, s.budget, s.oid, count(DISTINCT ls.sector) AS n_sectors "
        "FROM sel s JOIN loc_sectors ls USING (loc_id) GROUP BY ALL"
    }
    ),
    po AS MATERIALIZED (
        SELECT sc.s_mode, sc.budget, o.origin_id, o.origin_name, o.commune_code, o.pupils,
               o.pupils_is_estimate,
               coalesce(r.offers, 0)::BIGINT AS offers_reachable,
               coalesce({"bit_count(r.sector_mask)" if use_mask else "sect.n_sectors"}, 0)::BIGINT
                   AS sectors_reachable,
               coalesce(r.places, 0)::DOUBLE AS places_reachable,
               coalesce(r.n_default, 0)::BIGINT AS places_default_capacity,
               coalesce(f.a, 0)::DOUBLE AS places_per_pupil_2sfca,
               r.nearest AS minutes_nearest,
               r.nearest_is_estimate,
               coalesce(r.uses_est, FALSE) AS reach_uses_estimates,
               {", ".join(f"n.nearest_{m}" for m in catalogue.MODES)},
               coalesce(gc.offers, 0)::BIGINT AS offers_reachable_car,
               coalesce(gt.offers, 0)::BIGINT AS offers_reachable_transit
        FROM origins o CROSS JOIN scen sc
        LEFT JOIN om r ON r.oid = o.oid AND r.mode = sc.s_mode
                      AND r.budget = sc.budget
        LEFT JOIN fca f ON f.oid = o.oid AND f.s_mode = sc.s_mode
                       AND f.budget = sc.budget
        LEFT JOIN sect ON sect.oid = o.oid AND sect.s_mode = sc.s_mode
                      AND sect.budget = sc.budget
        LEFT JOIN nearest n ON n.oid = o.oid
        LEFT JOIN om gc ON gc.oid = o.oid AND gc.mode = 'car'
                       AND gc.budget = sc.budget
        LEFT JOIN om gt ON gt.oid = o.oid AND gt.mode = 'transit'
                       AND gt.budget = sc.budget
    )
    """
    return sql, params


def origin_columns() -> str:
    """The select list of the per-origin table (``accessibility``) over the CTEs of
    :func:`_origin_ctes`: one ``nearest_<mode>`` column per mode of the catalogue."""
    return (
        """$origin_kind AS origin_kind, origin_id, origin_name, commune_code,
               s_mode AS mode, budget AS budget_min, pupils, pupils_is_estimate,
               offers_reachable, sectors_reachable, places_reachable, places_default_capacity,
               places_per_pupil_2sfca, minutes_nearest, nearest_is_estimate,
               reach_uses_estimates, """
        + ", ".join(f"nearest_{m}" for m in catalogue.MODES)
        + """,
               offers_reachable_car, offers_reachable_transit"""
    )


def _territories_sql(levels: Iterable[str]) -> str:
    parts = []
    for level in levels:
        if level == "commune":
            parts.append("SELECT 'commune' AS level, code, name, 1 AS lv FROM communes")
        elif level == "epci":
            parts.append("SELECT 'epci' AS level, siren AS code, name, 2 AS lv FROM epci")
        elif level == "departement":
            parts.append("SELECT 'departement' AS level, code, name, 3 AS lv FROM departements")
        else:
            parts.append(
                f"SELECT 'region' AS level, {_sql_literal(config.REGION_CODE)} AS code, "
                f"{_sql_literal(config.REGION_NAME)} AS name, 4 AS lv"
            )
    return " UNION ALL ".join(parts)


def _levels_sql(levels: Iterable[str]) -> str:
    return "SELECT * FROM (VALUES " + ", ".join(f"('{lv}')" for lv in levels) + ") t(level)"


def _tkey_sql(alias: str) -> str:
    """CASE giving the territory key of commune alias ``alias`` for the row's ``lvl.level``."""
    return (
        f"CASE lvl.level WHEN 'commune' THEN {alias}.code WHEN 'epci' THEN {alias}.epci_siren "
        f"WHEN 'departement' THEN {alias}.dep ELSE {_sql_literal(config.REGION_CODE)} END"
    )


def _supply_sql(con: duckdb.DuckDBPyConnection) -> str | None:
    """SQL giving (commune_code, n_stops, morning_departures) or None when unavailable."""
    if has_relation(con, "transit_supply"):
        return "SELECT commune_code, n_stops, morning_departures FROM transit_supply"
    return None


def _territory_query(
    con: duckdb.DuckDBPyConnection,
    levels: Iterable[str],
    filters: Filters,
    total: float | None,
    scenarios: Iterable[Scenario] | None,
    where: str = "",
    extra_params: dict | None = None,
) -> pd.DataFrame:
    levels = list(levels)
    for level in levels:
        if level not in LEVELS:
            raise AccessError(f"Niveau territorial inconnu : {level!r} (attendu : {', '.join(LEVELS)})")
    _check_inputs(con, filters)
    if "epci" in levels:
        _require(con, "epci")
    if "departement" in levels:
        _require(con, "departements")
    ctes, params = _origin_ctes(con, filters, total, scenarios)
    params.update(extra_params or {})
    sql = (
        ctes
        + """,
    kinds AS (SELECT $origin_kind AS origin_kind),
    po_k AS (SELECT $origin_kind AS origin_kind, po.* FROM po)"""
        + territory_rows_sql(con, levels, "po_k", where)
    )
    return con.execute(sql, params).df()


def territory_rows_sql(
    con: duckdb.DuckDBPyConnection, levels: list[str], po: str, where: str = "", ordered: bool = True
) -> str:
    """The per-territory part of the indicator query: weighted means, medians, located offers,
    density and transport supply, one row per origin kind x territory x scenario.

    Continues a ``WITH`` clause (starts with a comma) that defines ``scen`` (``s_mode``,
    ``budget``; the first row gives the medians of nearest times), ``f_offers`` (the filtered
    offers: ``commune_code``, ``places``, ``default_cap``), ``kinds`` (``origin_kind``) and the
    per-origin rows ``po`` names (the columns of ``accessibility`` with ``s_mode`` and
    ``budget``): built by :func:`_territory_query` from :func:`_origin_ctes`, and by
    :mod:`analysis.incremental.indicators` from the stored ``accessibility`` table.
    ``ordered=False`` leaves the rows unsorted (sorting them is most of the query's time; a
    table written from it is read with ``ORDER BY``).
    """
    supply = _supply_sql(con)
    if supply is None:
        supply_cte = (
            "supply AS (SELECT NULL::VARCHAR AS level, NULL::VARCHAR AS tkey, "
            "NULL::BIGINT AS n_stops, NULL::BIGINT AS morning_departures WHERE FALSE)"
        )
        stops_null = deps_null = "NULL::BIGINT"
    else:
        supply_cte = f"""supply AS (
            SELECT lvl.level, {_tkey_sql("g")} AS tkey, sum(s.n_stops)::BIGINT AS n_stops,
                   sum(s.morning_departures)::BIGINT AS morning_departures
            FROM ({supply}) s JOIN communes g ON g.code = s.commune_code CROSS JOIN lvl
            GROUP BY ALL
        )"""
        # 0 for territories without stops, but only when the data exists at all (NULL otherwise)
        stops_null = "(SELECT CASE WHEN count(*) > 0 THEN 0 END FROM transit_supply)::BIGINT"
        deps_null = "(SELECT CASE WHEN count(morning_departures) > 0 THEN 0 END FROM transit_supply)::BIGINT"
    density = density_class_sql("geo.population::DOUBLE / nullif(geo.area_km2, 0)")
    low_density = density_class_sql("g.population::DOUBLE / nullif(g.area_km2, 0)")
    med_cols = ",\n".join(f"max(v) FILTER (WHERE mode = '{m}') AS median_minutes_{m}" for m in catalogue.MODES)
    return f""",
    lvl AS ({_levels_sql(levels)}),
    po_geo AS (
        SELECT po.*, g.code AS g_code, g.epci_siren AS g_epci, g.dep AS g_dep,
               coalesce(po.pupils, 0) AS w,
               {low_density} IN ('peu_dense', 'tres_peu_dense') AS low_density
        FROM {po} po LEFT JOIN communes g ON g.code = po.commune_code
    ),
    po2 AS (
        SELECT p.*, lvl.level,
               CASE lvl.level WHEN 'commune' THEN p.g_code WHEN 'epci' THEN p.g_epci
                    WHEN 'departement' THEN p.g_dep
                    ELSE {_sql_literal(config.REGION_CODE)} END AS tkey
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
               coalesce(sum(w) FILTER (WHERE offers_reachable_transit = 0), 0)
                   AS pupils_no_offer_transit,
               sum(w * offers_reachable_car) / nullif(sum(w), 0) AS offers_reachable_car_mean,
               sum(w * offers_reachable_transit) / nullif(sum(w), 0)
                   AS offers_reachable_transit_mean,
               coalesce(sum(w) FILTER (WHERE low_density), 0) / nullif(sum(w), 0)
                   AS pupils_low_density_share,
               bool_or(reach_uses_estimates) AS uses_estimated_times
        FROM po2 GROUP BY origin_kind, level, tkey, s_mode, budget
    ),
    first_scen AS (SELECT s_mode, budget FROM scen LIMIT 1),
    long AS (
        UNPIVOT (
            SELECT origin_kind, level, tkey, origin_id, w,
                   {", ".join(f"coalesce(nearest_{m}, 1e9) AS {m}" for m in catalogue.MODES)}
            FROM po2 SEMI JOIN first_scen f ON po2.s_mode = f.s_mode AND po2.budget = f.budget
        ) ON {", ".join(catalogue.MODES)} INTO NAME mode VALUE v
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
        SELECT lvl.level, {_tkey_sql("g")} AS tkey, count(*) AS offers_located,
               sum(f.places) AS places_located,
               count(*) FILTER (WHERE f.default_cap) AS places_located_default_capacity
        FROM f_offers f JOIN communes g ON g.code = f.commune_code CROSS JOIN lvl
        GROUP BY ALL
    ),
    geo AS (
        SELECT lvl.level, {_tkey_sql("g")} AS tkey, sum(g.population) AS population,
               sum(g.area_km2) AS area_km2
        FROM communes g CROSS JOIN lvl GROUP BY ALL
    ),
    {supply_cte},
    terr AS ({_territories_sql(levels)})
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
           100.0 * coalesce(located.offers_located, 0) / nullif(agg.pupils, 0)
               AS offers_per_100_pupils,
           agg.offers_reachable_mean, agg.sectors_reachable_mean, agg.places_reachable_mean,
           agg.places_per_pupil_2sfca,
           coalesce(agg.pupils_no_offer, 0)::DOUBLE AS pupils_no_offer,
           agg.pupils_no_offer / nullif(agg.pupils, 0) AS share_no_offer,
           coalesce(agg.pupils_no_offer_transit, 0)::DOUBLE AS pupils_no_offer_transit,
           agg.pupils_no_offer_transit / nullif(agg.pupils, 0) AS share_no_offer_transit,
           {", ".join(f"med.median_minutes_{m}" for m in catalogue.MODES)},
           agg.offers_reachable_car_mean, agg.offers_reachable_transit_mean,
           agg.offers_reachable_car_mean / nullif(agg.offers_reachable_transit_mean, 0)
               AS car_transit_ratio,
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
    {where}
    {"ORDER BY k.origin_kind, t.lv, sc.s_mode, sc.budget, t.code" if ordered else ""}
    """
