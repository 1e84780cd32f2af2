"""SQL generation of the per-territory indicators.

Owns the query behind :func:`analysis.access.territory_indicators` (:func:`territory_query`):
the per-origin rows of :func:`analysis.access.sql.origin_ctes` aggregated per territory
(:func:`territory_rows_sql`: weighted means, medians of nearest times, located offers, density,
transport supply), one small function per common table expression.
:mod:`analysis.incremental.indicators` applies the same aggregation to the stored
``accessibility`` table, and :mod:`analysis.report.data` reuses :func:`territory_query` for its
reference territories.
"""

from __future__ import annotations

from collections.abc import Iterable

import duckdb
import pandas as pd

from analysis import catalogue, config
from analysis.access.filters import LEVELS, AccessError, Filters, check_inputs, require_tables, views_of
from analysis.access.sql import density_class_sql, origin_ctes, sql_literal
from analysis.db import has_relation


def _territories_sql(levels: Iterable[str]) -> str:
    """SELECT of every territory of ``levels`` (``level``, ``code``, ``name``, level order ``lv``)."""
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
                f"SELECT 'region' AS level, {sql_literal(config.REGION_CODE)} AS code, "
                f"{sql_literal(config.REGION_NAME)} AS name, 4 AS lv"
            )
    return " UNION ALL ".join(parts)


def _levels_sql(levels: Iterable[str]) -> str:
    """SELECT of the levels, one ``level`` row each."""
    return "SELECT * FROM (VALUES " + ", ".join(f"('{lv}')" for lv in levels) + ") t(level)"


def _tkey_sql(alias: str) -> str:
    """CASE giving the territory key of commune alias ``alias`` for the row's ``lvl.level``."""
    return (
        f"CASE lvl.level WHEN 'commune' THEN {alias}.code WHEN 'epci' THEN {alias}.epci_siren "
        f"WHEN 'departement' THEN {alias}.dep ELSE {sql_literal(config.REGION_CODE)} END"
    )


def _supply_sql(con: duckdb.DuckDBPyConnection) -> str | None:
    """SQL giving (commune_code, n_stops, morning_departures) or None when unavailable."""
    if has_relation(con, "transit_supply"):
        return "SELECT commune_code, n_stops, morning_departures FROM transit_supply"
    return None


def territory_query(
    con: duckdb.DuckDBPyConnection,
    levels: Iterable[str],
    filters: Filters,
    total: float | None,
    scenarios: Iterable[Filters] | None,
    where: str = "",
    extra_params: dict | None = None,
) -> pd.DataFrame:
    """Indicators per territory of ``levels`` computed from the travel times.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
    levels : iterable of str
        Territory levels (:data:`analysis.access.filters.LEVELS`).
    filters : Filters
        Offer filters, origin kind, mode and budget (the budget is checked against the horizon).
    total : float, optional
        Regional pupils spread over the communes (default: ``commune_pupils``).
    scenarios : iterable of Filters, optional
        Several views computed at once, differing from ``filters`` only by mode and budget
        (rows for each, in order; :func:`analysis.access.filters.views_of`); default ``[filters]``.
    where : str
        Condition on the territory ``t`` (``WHERE ...``), with ``extra_params``.

    Returns
    -------
    pandas.DataFrame
        One row per origin kind x territory x view (see :func:`territory_rows_sql`).
    """
    levels = list(levels)
    for level in levels:
        if level not in LEVELS:
            raise AccessError(f"Niveau territorial inconnu : {level!r} (attendu : {', '.join(LEVELS)})")
    check_inputs(con, filters)
    if "epci" in levels:
        require_tables(con, "epci")
    if "departement" in levels:
        require_tables(con, "departements")
    ctes, params = origin_ctes(con, views_of(filters, scenarios), total)
    params.update(extra_params or {})
    sql = (
        ctes
        + """,
    kinds AS (SELECT $origin_kind AS origin_kind),
    po_k AS (SELECT $origin_kind AS origin_kind, po.* FROM po)"""
        + territory_rows_sql(con, levels, "po_k", where)
    )
    return con.execute(sql, params).df()


def _territory_origin_ctes(levels: list[str], po: str) -> list[str]:
    """``lvl``: the levels; ``po_geo``: the per-origin rows ``po`` with their commune's
    territories, weight ``w`` (pupils, 0 when unknown) and whether the commune is of low
    density; ``po2``: one row per origin row and level, keyed by the territory ``tkey``."""
    low_density = density_class_sql("g.population::DOUBLE / nullif(g.area_km2, 0)")
    return [
        f"lvl AS ({_levels_sql(levels)})",
        f"""po_geo AS (
        SELECT po.*, g.code AS g_code, g.epci_siren AS g_epci, g.dep AS g_dep,
               coalesce(po.pupils, 0) AS w,
               {low_density} IN ('peu_dense', 'tres_peu_dense') AS low_density
        FROM {po} po LEFT JOIN communes g ON g.code = po.commune_code
    )""",
        f"""po2 AS (
        SELECT p.*, lvl.level,
               CASE lvl.level WHEN 'commune' THEN p.g_code WHEN 'epci' THEN p.g_epci
                    WHEN 'departement' THEN p.g_dep
                    ELSE {sql_literal(config.REGION_CODE)} END AS tkey
        FROM po_geo p CROSS JOIN lvl
    )""",
    ]


def _weighted_means_cte() -> str:
    """``agg``: per origin kind, territory and scenario, the origins, pupils, pupil-weighted
    means of the per-origin indicators, pupils without any offer (in the mode, by transit),
    share of pupils in low-density communes and use of estimated times."""
    return """agg AS (
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
    )"""


def _median_ctes() -> list[str]:
    """Pupil-weighted medians of the nearest time of every mode, per origin kind and territory
    (from the rows of the first scenario: nearest times do not depend on the budget).

    ``first_scen``: that scenario; ``long``: one row per origin and mode (no offer within the
    horizon: 1e9); ``wm``: cumulative and total weights in time order; ``med1``: the first
    time reaching half the weight; ``med``: one ``median_minutes_<mode>`` column per mode
    (NULL when the median origin reaches nothing).
    """
    modes = catalogue.MODES
    nearest = ", ".join(f"coalesce(nearest_{m}, 1e9) AS {m}" for m in modes)
    med_cols = ",\n".join(f"max(v) FILTER (WHERE mode = '{m}') AS median_minutes_{m}" for m in modes)
    return [
        "first_scen AS (SELECT s_mode, budget FROM scen LIMIT 1)",
        f"""long AS (
        UNPIVOT (
            SELECT origin_kind, level, tkey, origin_id, w,
                   {nearest}
            FROM po2 SEMI JOIN first_scen f ON po2.s_mode = f.s_mode AND po2.budget = f.budget
        ) ON {", ".join(modes)} INTO NAME mode VALUE v
    )""",
        """wm AS (
        SELECT origin_kind, level, tkey, mode, v,
               sum(w) OVER (PARTITION BY origin_kind, level, tkey, mode ORDER BY v, origin_id
                            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cum,
               sum(w) OVER (PARTITION BY origin_kind, level, tkey, mode) AS tot
        FROM long
    )""",
        """med1 AS (
        SELECT origin_kind, level, tkey, mode, min(v) FILTER (WHERE cum >= tot / 2.0 AND tot > 0) AS v
        FROM wm GROUP BY origin_kind, level, tkey, mode
    )""",
        f"""med AS (
        SELECT origin_kind, level, tkey, {med_cols}
        FROM (SELECT origin_kind, level, tkey, mode, CASE WHEN v < 1e9 THEN v END AS v FROM med1)
        GROUP BY origin_kind, level, tkey
    )""",
    ]


def _located_cte() -> str:
    """``located``: per territory, the filtered offers located in it (count, places, offers of
    default capacity)."""
    return f"""located AS (
        SELECT lvl.level, {_tkey_sql("g")} AS tkey, count(*) AS offers_located,
               sum(f.places) AS places_located,
               count(*) FILTER (WHERE f.default_cap) AS places_located_default_capacity
        FROM f_offers f JOIN communes g ON g.code = f.commune_code CROSS JOIN lvl
        GROUP BY ALL
    )"""


def _geo_cte() -> str:
    """``geo``: per territory, its population and area."""
    return f"""geo AS (
        SELECT lvl.level, {_tkey_sql("g")} AS tkey, sum(g.population) AS population,
               sum(g.area_km2) AS area_km2
        FROM communes g CROSS JOIN lvl GROUP BY ALL
    )"""


def _supply_cte(con: duckdb.DuckDBPyConnection) -> tuple[str, str, str]:
    """``supply``: stops and morning departures per territory (empty without
    ``transit_supply``), with the SQL values of a territory absent from it: 0 when the data
    exists at all, else NULL (stops, departures)."""
    supply = _supply_sql(con)
    if supply is None:
        cte = (
            "supply AS (SELECT NULL::VARCHAR AS level, NULL::VARCHAR AS tkey, "
            "NULL::BIGINT AS n_stops, NULL::BIGINT AS morning_departures WHERE FALSE)"
        )
        return cte, "NULL::BIGINT", "NULL::BIGINT"
    cte = f"""supply AS (
        SELECT lvl.level, {_tkey_sql("g")} AS tkey, sum(s.n_stops)::BIGINT AS n_stops,
               sum(s.morning_departures)::BIGINT AS morning_departures
        FROM ({supply}) s JOIN communes g ON g.code = s.commune_code CROSS JOIN lvl
        GROUP BY ALL
    )"""
    stops_null = "(SELECT CASE WHEN count(*) > 0 THEN 0 END FROM transit_supply)::BIGINT"
    deps_null = "(SELECT CASE WHEN count(morning_departures) > 0 THEN 0 END FROM transit_supply)::BIGINT"
    return cte, stops_null, deps_null


def _territory_select(stops_null: str, deps_null: str, where: str, ordered: bool) -> str:
    """The final SELECT: one row per origin kind x territory x scenario, joining the CTEs of
    :func:`territory_rows_sql` (territories without origins get 0 pupils)."""
    density = density_class_sql("geo.population::DOUBLE / nullif(geo.area_km2, 0)")
    medians = ", ".join(f"med.median_minutes_{m}" for m in catalogue.MODES)
    order = "ORDER BY k.origin_kind, t.lv, sc.s_mode, sc.budget, t.code" if ordered else ""
    return f"""
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
           {medians},
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
    {order}
    """


def territory_rows_sql(
    con: duckdb.DuckDBPyConnection, levels: list[str], po: str, where: str = "", ordered: bool = True
) -> str:
    """The per-territory part of the indicator query: weighted means, medians, located offers,
    density and transport supply, one row per origin kind x territory x scenario.

    Continues a ``WITH`` clause (starts with a comma) that defines ``scen`` (``s_mode``,
    ``budget``; the first row gives the medians of nearest times), ``f_offers`` (the filtered
    offers: ``commune_code``, ``places``, ``default_cap``), ``kinds`` (``origin_kind``) and the
    per-origin rows ``po`` names (the columns of ``accessibility`` with ``s_mode`` and
    ``budget``): built by :func:`territory_query` from :func:`origin_ctes`, and by
    :mod:`analysis.incremental.indicators` from the stored ``accessibility`` table.
    ``ordered=False`` leaves the rows unsorted (sorting them is most of the query's time; a
    table written from it is read with ``ORDER BY``).
    """
    supply_cte, stops_null, deps_null = _supply_cte(con)
    ctes = [
        *_territory_origin_ctes(levels, po),
        _weighted_means_cte(),
        *_median_ctes(),
        _located_cte(),
        _geo_cte(),
        supply_cte,
        f"terr AS ({_territories_sql(levels)})",  # every territory: code, name, level order lv
    ]
    return ",\n    " + ",\n    ".join(ctes) + _territory_select(stops_null, deps_null, where, ordered)
