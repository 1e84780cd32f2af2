"""SQL generation of the per-origin indicators.

Owns the pieces of the one DuckDB query behind every indicator: the offer filter, the origins
(communes with estimated pupils, or lycées) and the per-origin common table expressions
(:func:`origin_ctes`: cumulative opportunities, nearest offer per mode, 2SFCA), each built by a
small function saying what it holds; :mod:`analysis.access.territory_sql` aggregates them per
territory. The builders receive the view's :class:`~analysis.access.filters.Filters` whole, or a
list of them differing only by mode and budget when several budgets are computed at once (one
``scen`` row per view). :mod:`analysis.access.indicators` runs them (or reads the precomputed
tables) and :mod:`analysis.access.tables` writes their default results at build time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb

from analysis import catalogue
from analysis.access.filters import DENSITY_CLASSES, AccessError, Filters, same_population
from analysis.access.pairs import pairs_source
from analysis.db import has_relation
from analysis.sources import pupils

#: Up to this many distinct sectors, "sectors reachable" uses a HUGEINT bit mask per location.
MAX_MASK_SECTORS = 127


def sql_literal(value: str) -> str:
    """``value`` as a SQL string literal (quotes doubled)."""
    return "'" + str(value).replace("'", "''") + "'"


def density_class_sql(density_expr: str) -> str:
    """SQL CASE expression giving the density-class proxy code for a density expression."""
    parts = [f"WHEN {density_expr} IS NULL THEN NULL"]
    for code, threshold in DENSITY_CLASSES:
        parts.append(f"WHEN {density_expr} >= {threshold!r} THEN '{code}'")
    return "CASE " + " ".join(parts) + " END"


def offer_filter(filters: Filters) -> tuple[str, dict[str, Any]]:
    """The condition on offers ``o`` of the filters (located, sectors, grade, host) and its
    named parameters."""
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
    """SELECT of the origins (``origin_id``, ``origin_name``, ``commune_code``, ``pupils``,
    ``pupils_is_estimate``): the lycées, or every commune with its estimated pupils (the
    ``commune_pupils`` table, or ``total`` spread over the communes)."""
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


def scenarios_sql(views: Sequence[Filters]) -> str:
    """SELECT giving the ``scen`` rows (``s_mode``, ``budget``): one per view, in their order
    (the first one gives the medians of nearest times, see :func:`territory_rows_sql`)."""
    rows = []
    for view in views:
        if view.mode not in catalogue.MODES:  # a mode unregistered since the view was made
            raise AccessError(f"Mode inconnu : {view.mode!r}")
        rows.append(f"('{view.mode}', {float(view.minutes)!r}::DOUBLE)")
    if not rows:
        raise AccessError("Aucun couple (mode, budget) demandé")
    return f"SELECT * FROM (VALUES {', '.join(rows)}) t(s_mode, budget)"


def _uses_sector_mask(con: duckdb.DuckDBPyConnection) -> bool:
    """True when the offers have few enough sectors for a per-location bit mask
    (:data:`MAX_MASK_SECTORS`), else sectors reachable are counted by a ``COUNT(DISTINCT)`` join."""
    n_sectors = con.execute("SELECT count(DISTINCT sector) FROM offers").fetchone()[0]
    return n_sectors <= MAX_MASK_SECTORS


def _scenario_ctes(views: Sequence[Filters]) -> list[str]:
    """``scen``: the (``s_mode``, ``budget``) rows of the views; ``budgets``: their distinct budgets."""
    return [f"scen AS ({scenarios_sql(views)})", "budgets AS (SELECT DISTINCT budget FROM scen)"]


def _offer_ctes(where: str, use_mask: bool) -> list[str]:
    """The filtered offers and what each location holds.

    ``f_offers``: offers passing the filter ``where`` (places = capacity, else 1, flagged
    ``default_cap``); ``sector_idx``: a bit index per sector; ``locs``: per location, offers,
    places, offers of default capacity and the mask of its sectors (NULL without mask);
    ``loc_sectors``: distinct (location, sector) pairs.
    """
    mask = "bit_or(1::HUGEINT << si.idx)" if use_mask else "NULL::HUGEINT"
    return [
        f"""f_offers AS (
        SELECT o.offer_id, o.loc_id, o.sector, o.commune_code,
               coalesce(o.capacity, 1)::DOUBLE AS places, (o.capacity IS NULL) AS default_cap
        FROM offers o WHERE {where}
    )""",
        """sector_idx AS (
        SELECT sector, (row_number() OVER (ORDER BY sector) - 1)::INTEGER AS idx
        FROM (SELECT DISTINCT sector FROM f_offers WHERE sector IS NOT NULL)
    )""",
        f"""locs AS (
        SELECT f.loc_id, count(*) AS n_offers, sum(f.places) AS places,
               count(*) FILTER (WHERE f.default_cap) AS n_default,
               {mask} AS sector_mask
        FROM f_offers f LEFT JOIN sector_idx si USING (sector) GROUP BY f.loc_id
    )""",
        "loc_sectors AS (SELECT DISTINCT loc_id, sector FROM f_offers)",
    ]


def _origin_rows_ctes(con: duckdb.DuckDBPyConnection, origin_kind: str, total: float | None, oid_sql: str) -> list[str]:
    """``origins0``: the origins of ``origin_kind`` with their pupils (:func:`_origins_sql`);
    ``origins``: the same with ``oid``, their key in the pairs relation."""
    return [
        f"origins0 AS ({_origins_sql(con, origin_kind, total)})",
        f"origins AS (SELECT o.*, {oid_sql} AS oid FROM origins0 o)",
    ]


def _reach_ctes(pairs: str) -> list[str]:
    """What each origin reaches, per mode and budget.

    ``eff``: the pairs (origin ``oid``, location, mode, minutes) of the origin kind towards
    locations holding filtered offers; ``om``: per origin, mode and budget, the nearest time
    (and whether it is estimated) and the offers, places, offers of default capacity, use of
    estimated times and sector mask within the budget; ``nearest``: per origin, the nearest
    time of every mode of the catalogue.
    """
    within = "FILTER (WHERE e.minutes <= b.budget)"
    nearest = ",\n".join(f"min(e.minutes) FILTER (WHERE e.mode = '{m}') AS nearest_{m}" for m in catalogue.MODES)
    return [
        f"""eff AS (
        SELECT p.oid, p.loc_id, p.mode, p.minutes, p.is_estimate
        FROM {pairs} p SEMI JOIN locs l ON p.loc_id = l.loc_id
        WHERE p.origin_kind = $origin_kind
    )""",
        f"""om AS MATERIALIZED (
        SELECT e.oid, e.mode, b.budget,
               min(e.minutes) AS nearest,
               arg_min(e.is_estimate, (e.minutes, e.is_estimate)) AS nearest_is_estimate,
               sum(l.n_offers) {within} AS offers,
               sum(l.places) {within} AS places,
               sum(l.n_default) {within} AS n_default,
               bool_or(e.is_estimate) {within} AS uses_est,
               bit_or(l.sector_mask) {within} AS sector_mask
        FROM eff e JOIN locs l USING (loc_id) CROSS JOIN budgets b
        GROUP BY e.oid, e.mode, b.budget
    )""",
        f"""nearest AS (
        SELECT e.oid, {nearest}
        FROM (SELECT oid, mode, nearest AS minutes FROM om) e
        GROUP BY e.oid
    )""",
    ]


def _fca_ctes() -> list[str]:
    """The two steps of 2SFCA for every scenario.

    ``sel``: the (scenario, origin, location) pairs within the scenario's mode and budget;
    ``demand``: per scenario and location, the pupils of the origins reaching it; ``ratio``:
    its places per pupil ``R_j``; ``fca``: per scenario and origin, ``A_i``, the sum of the
    ratios of the locations it reaches.
    """
    return [
        """sel AS MATERIALIZED (
        SELECT s.s_mode, s.budget, e.oid, e.loc_id
        FROM eff e JOIN scen s ON e.mode = s.s_mode AND e.minutes <= s.budget
    )""",
        """demand AS (
        SELECT s.s_mode, s.budget, s.loc_id, sum(o.pupils) AS demand
        FROM sel s JOIN origins o USING (oid)
        WHERE o.pupils > 0 GROUP BY ALL
    )""",
        """ratio AS (
        SELECT d.s_mode, d.budget, d.loc_id, l.places / d.demand AS r
        FROM demand d JOIN locs l USING (loc_id)
    )""",
        """fca AS (
        SELECT s.s_mode, s.budget, s.oid, sum(r.r) AS a
        FROM sel s JOIN ratio r USING (s_mode, budget, loc_id)
        GROUP BY ALL
    )""",
    ]


def _sectors_cte(use_mask: bool) -> str:
    """``sect``: per scenario and origin, the distinct sectors reachable, counted by a join
    (empty when the sector masks of ``om`` give them)."""
    if use_mask:
        body = "SELECT NULL AS s_mode, NULL AS budget, NULL AS oid, NULL AS n_sectors WHERE FALSE"
    else:
        body = (
            "SELECT s.s_mode, s.budget, s.oid, count(DISTINCT ls.sector) AS n_sectors "
            "FROM sel s JOIN loc_sectors ls USING (loc_id) GROUP BY ALL"
        )
    return f"sect AS (\n        {body}\n    )"


def _per_origin_cte(use_mask: bool) -> str:
    """``po``: one row per (scenario, origin) with the columns of ``accessibility`` (see
    :func:`origin_columns`), every origin included (0 offers when nothing is within reach)."""
    n_sectors = "bit_count(r.sector_mask)" if use_mask else "sect.n_sectors"
    nearest = ", ".join(f"n.nearest_{m}" for m in catalogue.MODES)
    return f"""po AS MATERIALIZED (
        SELECT sc.s_mode, sc.budget, o.origin_id, o.origin_name, o.commune_code, o.pupils,
               o.pupils_is_estimate,
               coalesce(r.offers, 0)::BIGINT AS offers_reachable,
               coalesce({n_sectors}, 0)::BIGINT AS sectors_reachable,
               coalesce(r.places, 0)::DOUBLE AS places_reachable,
               coalesce(r.n_default, 0)::BIGINT AS places_default_capacity,
               coalesce(f.a, 0)::DOUBLE AS places_per_pupil_2sfca,
               r.nearest AS minutes_nearest,
               r.nearest_is_estimate,
               coalesce(r.uses_est, FALSE) AS reach_uses_estimates,
               {nearest},
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
    )"""


def origin_ctes(
    con: duckdb.DuckDBPyConnection,
    views: Sequence[Filters],
    total: float | None = None,
) -> tuple[str, dict[str, Any]]:
    """The WITH clause (without the final SELECT) computing per-origin indicators ``po``.

    ``po`` has one row per (view, origin): the views differ only by mode and budget
    (:func:`analysis.access.filters.same_population`); the offer filter and origin kind are
    those of the first. Also defines ``f_offers`` (filtered offers), ``origins`` and ``scen``
    (one row per view). ``total``: regional pupils spread over the communes (default: the
    ``commune_pupils`` table).
    """
    views = same_population(views)
    first = views[0]
    where, params = offer_filter(first)
    params.update(origin_kind=first.origin_kind)
    pairs, oid_sql = pairs_source(con)
    use_mask = _uses_sector_mask(con)
    ctes = [
        *_scenario_ctes(views),
        *_offer_ctes(where, use_mask),
        *_origin_rows_ctes(con, first.origin_kind, total, oid_sql),
        *_reach_ctes(pairs),
        *_fca_ctes(),
        _sectors_cte(use_mask),
        _per_origin_cte(use_mask),
    ]
    return "\n    WITH\n    " + ",\n    ".join(ctes) + "\n    ", params


def origin_columns() -> str:
    """The select list of the per-origin table (``accessibility``) over the CTEs of
    :func:`origin_ctes`: one ``nearest_<mode>`` column per mode of the catalogue."""
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
