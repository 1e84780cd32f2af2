"""Accessibility and coverage-gap indicators (issue 4).

Everything is computed by DuckDB SQL over ``travel_times`` (origin -> offer location, minutes,
only pairs <= 90 min) and ``offers``, with the filters passed as parameters, so any indicator
table for the whole region takes well under a second (see ``bench/indicators.py``).

Main objects
------------
- :class:`Filters`: mode, time budget, sectors, target grade, public/private host, origin kind.
- :func:`origin_accessibility`: one row per origin (commune of residence or lycée):
  cumulative opportunities, minutes to the nearest offer, 2SFCA places per pupil.
- :func:`territory_indicators`: one row per commune, EPCI, département or the region.
- :func:`build_tables`: build stage writing ``commune_pupils``, ``transit_supply``,
  ``access_pairs`` (+ ``access_origins``, ``access_meta``: the travel times in a compact,
  integer-keyed form used by every query), ``accessibility`` and ``territory_indicators`` for the
  default parameters.

Definitions (see ``docs/indicators.md`` for the full text in French and English)
-------------------------------------------------------------------------------
- Mode ``transit`` means public transport *or walking*: the time of a pair is the smaller of
  the ``transit`` and ``walk`` rows of ``travel_times``.
- Places of an offer: ``offers.capacity`` where known, else 1 (flagged: the count of offers
  with the default capacity is given next to every places figure).
- 2SFCA with the same travel-time relation (mode, budget) in both steps::

      R_j = places_j / sum(pupils_i : t_ij <= budget)      (locations j with demand > 0)
      A_i = sum(R_j : t_ij <= budget)

  so that ``sum_i pupils_i * A_i`` equals the places of the offers reachable from at least one
  origin with pupils.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import pandas as pd

from analysis import catalogue, config, pupils, supply
from analysis.db import (
    columns_of,  # noqa: F401 - read as access.columns_of by analysis.report
    has_relation,
    read_stamp,
)

#: Travel modes known to the indicators (:data:`analysis.catalogue.MODES`).
MODES: tuple[str, ...] = catalogue.MODES
#: Origin kinds: communes of residence (estimated pupils) or lycées (real headcounts).
ORIGIN_KINDS: tuple[str, ...] = ("commune", "school")
#: Territory levels.
LEVELS: tuple[str, ...] = ("commune", "epci", "departement", "region")
#: Target grades of the offers.
GRADES: tuple[str, ...] = ("seconde", "3e")

#: Morning window for the transport-supply indicator (departures counted in [start, end]).
MORNING_WINDOW: tuple[str, str] = supply.MORNING_WINDOW

#: Population-density thresholds (inhabitants per km²) of the density-class PROXY. The INSEE
#: "grille communale de densité" is built on 1 km² grid cells, which are not in the mirror;
#: these commune-level thresholds only approximate it (documented in docs/indicators.md).
DENSITY_CLASSES: tuple[tuple[str, float], ...] = (
    ("dense", 1500.0),
    ("intermediaire", 300.0),
    ("peu_dense", 25.0),
    ("tres_peu_dense", 0.0),
)
#: French labels of the density classes, for display.
DENSITY_LABELS: dict[str, str] = {
    "dense": "Dense",
    "intermediaire": "Intermédiaire",
    "peu_dense": "Peu dense",
    "tres_peu_dense": "Très peu dense",
}

ProgressFn = Callable[[str, "float | None"], None]

#: Up to this many distinct sectors, "sectors reachable" uses a HUGEINT bit mask per location.
MAX_MASK_SECTORS = 127


class AccessError(ValueError):
    """Invalid indicator parameters or missing input tables."""


@dataclass(frozen=True)
class Filters:
    """Filters shared by every indicator.

    Parameters
    ----------
    mode : str
        ``'walk'``, ``'bike'``, ``'transit'`` (public transport or walking) or ``'car'``.
    minutes : int
        Time budget in minutes (an offer is reachable when its time is ``<= minutes``).
    sectors : tuple of str
        Keep only offers of these sectors (empty: all sectors).
    grade : str, optional
        ``'seconde'`` or ``'3e'``: keep only offers open to that grade (None: all offers).
    public : bool, optional
        True: public hosts only; False: private hosts only; None: both.
    origin_kind : str
        ``'commune'`` (communes of residence, estimated pupils) or ``'school'`` (lycées, real
        seconde headcounts). The two views are never mixed.
    """

    mode: str = "transit"
    minutes: int = 45
    sectors: tuple[str, ...] = ()
    grade: str | None = None
    public: bool | None = None
    origin_kind: str = "commune"

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise AccessError(f"Mode inconnu : {self.mode!r} (attendu : {', '.join(MODES)})")
        if self.origin_kind not in ORIGIN_KINDS:
            raise AccessError(f"Type d'origine inconnu : {self.origin_kind!r} (attendu : commune ou school)")
        if self.grade is not None and self.grade not in GRADES:
            raise AccessError(f"Niveau inconnu : {self.grade!r} (attendu : seconde ou 3e)")
        try:
            minutes = float(self.minutes)
        except (TypeError, ValueError):
            raise AccessError(f"Budget-temps invalide : {self.minutes!r}") from None
        if not 0 <= minutes <= 24 * 60:
            raise AccessError(f"Budget-temps hors limites : {self.minutes!r} minutes")
        if isinstance(self.sectors, str):  # a single sector passed as a string
            object.__setattr__(self, "sectors", (self.sectors,))
        else:
            object.__setattr__(self, "sectors", tuple(self.sectors))

    @property
    def is_default_offer_set(self) -> bool:
        """True when no offer filter (sector, grade, public) is applied."""
        return not self.sectors and self.grade is None and self.public is None


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def _noop_progress(message: str, fraction: float | None = None) -> None:
    return None


def _require(con: duckdb.DuckDBPyConnection, *names: str) -> None:
    missing = [n for n in names if not has_relation(con, n)]
    if missing:
        raise AccessError(
            "Table(s) absente(s) de la base : " + ", ".join(missing) + ". Lancez « python -m analysis.build »."
        )


def _sql_literal(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def density_class_sql(density_expr: str) -> str:
    """SQL CASE expression giving the density-class proxy code for a density expression."""
    parts = [f"WHEN {density_expr} IS NULL THEN NULL"]
    for code, threshold in DENSITY_CLASSES:
        parts.append(f"WHEN {density_expr} >= {threshold!r} THEN '{code}'")
    return "CASE " + " ".join(parts) + " END"


# --------------------------------------------------------------------------------------------
# SQL building blocks
# --------------------------------------------------------------------------------------------


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


#: Derivation of the indicator pairs from ``travel_times``: one row per (origin, location, mode)
#: where ``transit`` is the smaller of the transit and walk times (on a tie, the non-estimated one).
PAIRS_SQL = """
    SELECT origin_kind, origin_id, loc_id, mode, minutes, is_estimate
    FROM travel_times WHERE mode IN ('walk', 'bike', 'car')
    UNION ALL
    SELECT origin_kind, origin_id, loc_id, 'transit' AS mode, min(minutes) AS minutes,
           arg_min(is_estimate, (minutes, is_estimate)) AS is_estimate
    FROM travel_times WHERE mode IN ('transit', 'walk')
    GROUP BY origin_kind, origin_id, loc_id
"""


def _travel_times_signature(con: duckdb.DuckDBPyConnection) -> str | None:
    """The stamp written when ``travel_times`` was last computed (``build_meta``, see
    :func:`analysis.db.write_stamp`); None when unknown (then nothing derived counts as fresh)."""
    return read_stamp(con, "travel_times")


def pairs_table_is_fresh(con: duckdb.DuckDBPyConnection) -> bool:
    """True when ``access_pairs`` exists and was built from the current ``travel_times``."""
    if not (
        has_relation(con, "access_pairs") and has_relation(con, "access_origins") and has_relation(con, "access_meta")
    ):
        return False
    row = con.execute("SELECT value FROM access_meta WHERE key = 'travel_times_signature'").fetchone()
    stamp = _travel_times_signature(con)
    return stamp is not None and row is not None and row[0] == stamp


def build_pairs(con: duckdb.DuckDBPyConnection) -> int:
    """Write the compact pair tables used by every indicator query.

    ``access_origins(origin_kind, origin_id, oid INTEGER)`` numbers the origins;
    ``access_pairs(origin_kind, oid, loc_id, mode, minutes, is_estimate)`` is
    :data:`PAIRS_SQL` keyed by ``oid`` and sorted by (origin_kind, mode, oid): integer keys
    and the pre-merged transit/walk times make the grouped queries faster (see
    ``bench/indicators.py``). ``access_meta`` records a signature of ``travel_times`` (see
    :func:`_travel_times_signature`) at build time; queries fall back to ``travel_times``
    itself when it no longer matches.

    Returns
    -------
    int
        Number of rows of ``access_pairs``.
    """
    con.execute("""
        CREATE OR REPLACE TABLE access_origins AS
        SELECT origin_kind, origin_id,
               (row_number() OVER (ORDER BY origin_kind, origin_id))::INTEGER AS oid
        FROM (SELECT DISTINCT origin_kind, origin_id FROM travel_times)
    """)
    con.execute(f"""
        CREATE OR REPLACE TABLE access_pairs AS
        SELECT p.origin_kind, o.oid, p.loc_id::INTEGER AS loc_id, p.mode,
               p.minutes::REAL AS minutes, p.is_estimate
        FROM ({PAIRS_SQL}) p JOIN access_origins o USING (origin_kind, origin_id)
        ORDER BY p.origin_kind, p.mode, o.oid, p.minutes
    """)
    con.execute("CREATE OR REPLACE TABLE access_meta (key VARCHAR, value VARCHAR)")
    con.execute("INSERT INTO access_meta VALUES ('travel_times_signature', ?)", [_travel_times_signature(con)])
    return int(con.execute("SELECT count(*) FROM access_pairs").fetchone()[0])


def _pairs_source(con: duckdb.DuckDBPyConnection) -> tuple[str, str]:
    """(pairs relation keyed by ``oid``, SQL giving ``oid`` of ``origins`` row ``o``)."""
    if pairs_table_is_fresh(con):
        return (
            "access_pairs",
            "(SELECT a.oid FROM access_origins a WHERE a.origin_kind = $origin_kind AND a.origin_id = o.origin_id)",
        )
    return (
        f"(SELECT origin_kind, origin_id AS oid, loc_id, mode, minutes, is_estimate FROM ({PAIRS_SQL}))",
        "o.origin_id",
    )


Scenario = tuple[str, float]


def _scenarios_sql(scenarios: Iterable[Scenario]) -> str:
    rows = []
    for mode, budget in scenarios:
        if mode not in MODES:
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
    nearest = ",\n".join(f"min(e.minutes) FILTER (WHERE e.mode = '{m}') AS nearest_{m}" for m in MODES)
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
               {", ".join(f"n.nearest_{m}" for m in MODES)},
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


def max_minutes_of(con: duckdb.DuckDBPyConnection) -> float:
    """Horizon of ``travel_times`` (minutes): ``max_minutes`` of ``travel_time_runs`` params,
    else ``config.DEFAULT_MAX_MINUTES``."""
    import json

    horizon = None
    if has_relation(con, "travel_time_runs"):
        for (params,) in con.execute("SELECT params FROM travel_time_runs").fetchall():
            try:
                value = float(json.loads(params).get("max_minutes"))
            except (TypeError, ValueError, AttributeError):
                continue
            horizon = value if horizon is None else min(horizon, value)
    return float(horizon if horizon is not None else config.DEFAULT_MAX_MINUTES)


def _check_inputs(con: duckdb.DuckDBPyConnection, filters: Filters) -> None:
    _require(con, "communes", "offers", "travel_times")
    if filters.origin_kind == "school":
        _require(con, "schools")
    horizon = max_minutes_of(con)
    if float(filters.minutes) > horizon:
        raise AccessError(
            f"Budget-temps de {filters.minutes} min supérieur à l'horizon des temps de trajet "
            f"calculés ({horizon:g} min)"
        )


_ORIGIN_COLUMNS = (
    """$origin_kind AS origin_kind, origin_id, origin_name, commune_code,
               s_mode AS mode, budget AS budget_min, pupils, pupils_is_estimate,
               offers_reachable, sectors_reachable, places_reachable, places_default_capacity,
               places_per_pupil_2sfca, minutes_nearest, nearest_is_estimate,
               reach_uses_estimates, """
    + ", ".join(f"nearest_{m}" for m in MODES)
    + """,
               offers_reachable_car, offers_reachable_transit"""
)


def origin_accessibility(
    con: duckdb.DuckDBPyConnection,
    filters: Filters | None = None,
    *,
    total_pupils: float | None = None,
    scenarios: Iterable[Scenario] | None = None,
    precomputed: bool = True,
) -> pd.DataFrame:
    """Cumulative opportunities and 2SFCA supply for every origin.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Database with ``communes``, ``offers``, ``travel_times`` (+ ``schools``,
        ``commune_pupils``).
    filters : Filters, optional
        Mode, budget, offer filters and origin kind (default ``Filters()``).
    total_pupils : float, optional
        Regional seconde total spread over communes (commune origins only); default: the
        ``commune_pupils`` table, else the sum of the lycée headcounts.
    scenarios : iterable of (mode, budget), optional
        Compute several (mode, budget) pairs at once (rows for each); default the filters'
        mode and budget.
    precomputed : bool
        Read the ``accessibility`` table written by :func:`build_tables` when it holds these
        parameters (no offer filter, default pupils) and is up to date; False: always compute.

    Returns
    -------
    pandas.DataFrame
        One row per origin (every commune, or every lycée) with columns: ``origin_kind,
        origin_id, origin_name, commune_code, mode, budget_min, pupils, pupils_is_estimate,
        offers_reachable, sectors_reachable, places_reachable, places_default_capacity,
        places_per_pupil_2sfca, minutes_nearest, nearest_is_estimate, reach_uses_estimates,
        nearest_walk, nearest_bike, nearest_transit, nearest_car, offers_reachable_car,
        offers_reachable_transit``. ``minutes_nearest`` is NULL when no offer is within the
        90-minute horizon of ``travel_times``.
    """
    filters = filters or Filters()
    _check_inputs(con, filters)
    if precomputed and scenarios is None and total_pupils is None and _tables_fresh(con, filters):
        df = con.execute(
            """SELECT * FROM accessibility WHERE origin_kind = $k AND mode = $m
               AND budget_min = $b ORDER BY origin_id""",
            {"k": filters.origin_kind, "m": filters.mode, "b": float(filters.minutes)},
        ).df()
        if len(df):
            return df
    ctes, params = _origin_ctes(con, filters, total_pupils, scenarios)
    sql = (
        ctes
        + f"""
        SELECT {_ORIGIN_COLUMNS}
        FROM po ORDER BY s_mode, budget, origin_id
    """
    )
    return con.execute(sql, params).df()


def _tables_fresh(con: duckdb.DuckDBPyConnection, filters: Filters) -> bool:
    """True when the precomputed tables can answer ``filters`` (no offer filter, up to date)."""
    if not filters.is_default_offer_set:
        return False
    if not (
        has_relation(con, "access_meta")
        and has_relation(con, "accessibility")
        and has_relation(con, "territory_indicators")
    ):
        return False
    row = con.execute("SELECT value FROM access_meta WHERE key = 'tables_signature'").fetchone()
    stamp = _travel_times_signature(con)
    return stamp is not None and row is not None and row[0] == stamp


# --------------------------------------------------------------------------------------------
# territories
# --------------------------------------------------------------------------------------------


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
    med_cols = ",\n".join(f"max(v) FILTER (WHERE mode = '{m}') AS median_minutes_{m}" for m in MODES)
    sql = (
        ctes
        + f""",
    lvl AS ({_levels_sql(levels)}),
    po_geo AS (
        SELECT po.*, g.code AS g_code, g.epci_siren AS g_epci, g.dep AS g_dep,
               coalesce(po.pupils, 0) AS w,
               {low_density} IN ('peu_dense', 'tres_peu_dense') AS low_density
        FROM po LEFT JOIN communes g ON g.code = po.commune_code
    ),
    po2 AS (
        SELECT p.*, lvl.level,
               CASE lvl.level WHEN 'commune' THEN p.g_code WHEN 'epci' THEN p.g_epci
                    WHEN 'departement' THEN p.g_dep
                    ELSE {_sql_literal(config.REGION_CODE)} END AS tkey
        FROM po_geo p CROSS JOIN lvl
    ),
    agg AS (
        SELECT level, tkey, s_mode, budget, count(*) AS n_origins,
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
        FROM po2 GROUP BY level, tkey, s_mode, budget
    ),
    first_scen AS (SELECT s_mode, budget FROM scen LIMIT 1),
    long AS (
        UNPIVOT (
            SELECT level, tkey, origin_id, w,
                   {", ".join(f"coalesce(nearest_{m}, 1e9) AS {m}" for m in MODES)}
            FROM po2 SEMI JOIN first_scen f ON po2.s_mode = f.s_mode AND po2.budget = f.budget
        ) ON {", ".join(MODES)} INTO NAME mode VALUE v
    ),
    wm AS (
        SELECT level, tkey, mode, v,
               sum(w) OVER (PARTITION BY level, tkey, mode ORDER BY v, origin_id
                            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cum,
               sum(w) OVER (PARTITION BY level, tkey, mode) AS tot
        FROM long
    ),
    med1 AS (
        SELECT level, tkey, mode, min(v) FILTER (WHERE cum >= tot / 2.0 AND tot > 0) AS v
        FROM wm GROUP BY level, tkey, mode
    ),
    med AS (
        SELECT level, tkey, {med_cols}
        FROM (SELECT level, tkey, mode, CASE WHEN v < 1e9 THEN v END AS v FROM med1)
        GROUP BY level, tkey
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
    SELECT t.level, t.code, t.name, $origin_kind AS origin_kind, sc.s_mode AS mode,
           sc.budget AS budget_min,
           geo.population, geo.area_km2,
           geo.population::DOUBLE / nullif(geo.area_km2, 0) AS density_per_km2,
           {density} AS density_class,
           coalesce(agg.n_origins, 0) AS n_origins,
           coalesce(agg.n_origins_with_pupils, 0) AS n_origins_with_pupils,
           coalesce(agg.pupils, 0)::DOUBLE AS pupils,
           coalesce(agg.pupils_is_estimate, $origin_kind = 'commune') AS pupils_is_estimate,
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
           med.median_minutes_walk, med.median_minutes_bike, med.median_minutes_transit,
           med.median_minutes_car,
           agg.offers_reachable_car_mean, agg.offers_reachable_transit_mean,
           agg.offers_reachable_car_mean / nullif(agg.offers_reachable_transit_mean, 0)
               AS car_transit_ratio,
           coalesce(supply.n_stops, {stops_null}) AS n_stops,
           coalesce(supply.morning_departures, {deps_null}) AS morning_departures,
           agg.pupils_low_density_share,
           coalesce(agg.uses_estimated_times, FALSE) AS uses_estimated_times
    FROM terr t CROSS JOIN scen sc
    LEFT JOIN geo ON geo.level = t.level AND geo.tkey = t.code
    LEFT JOIN agg ON agg.level = t.level AND agg.tkey = t.code AND agg.s_mode = sc.s_mode
                 AND agg.budget = sc.budget
    LEFT JOIN med ON med.level = t.level AND med.tkey = t.code
    LEFT JOIN located ON located.level = t.level AND located.tkey = t.code
    LEFT JOIN supply ON supply.level = t.level AND supply.tkey = t.code
    {where}
    ORDER BY t.lv, sc.s_mode, sc.budget, t.code
    """
    )
    return con.execute(sql, params).df()


def territory_indicators(
    con: duckdb.DuckDBPyConnection,
    level: str,
    filters: Filters | None = None,
    code: str | None = None,
    *,
    within: str | None = None,
    total_pupils: float | None = None,
    precomputed: bool = True,
) -> pd.DataFrame:
    """Indicators per territory (commune, EPCI, département or region).

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Database with the core tables and ``travel_times``.
    level : str
        ``'commune'``, ``'epci'``, ``'departement'`` or ``'region'``.
    filters : Filters, optional
        Default ``Filters()``.
    code : str, optional
        Return only this territory (INSEE code, EPCI SIREN, département code or ``'28'``).
    within : str, optional
        Return only territories inside this EPCI (SIREN) or département (code); for
        ``level='commune'`` or ``'epci'``.
    total_pupils : float, optional
        See :func:`origin_accessibility`.
    precomputed : bool
        Read the ``territory_indicators`` table written by :func:`build_tables` when it holds
        these parameters (no offer filter, default pupils) and is up to date; False: always
        compute.

    Returns
    -------
    pandas.DataFrame
        One row per territory of the level (territories without origins included, with 0
        pupils). Columns are documented in ``docs/indicators.md`` and ``docs/schema.md``.
    """
    if level not in LEVELS:
        raise AccessError(f"Niveau territorial inconnu : {level!r} (attendu : {', '.join(LEVELS)})")
    filters = filters or Filters()
    conds, params = [], {}
    if code is not None:
        conds.append("t.code = $code")
        params["code"] = str(code)
    if within is not None:
        if level == "commune":
            conds.append("t.code IN (SELECT code FROM communes WHERE epci_siren = $within OR dep = $within)")
        elif level == "epci":
            conds.append("t.code IN (SELECT epci_siren FROM communes WHERE dep = $within)")
        else:
            raise AccessError("« within » ne s'applique qu'aux niveaux commune et epci")
        params["within"] = str(within)
    where = ("WHERE " + " AND ".join(conds)) if conds else ""
    if precomputed and total_pupils is None:
        _check_inputs(con, filters)
        if _tables_fresh(con, filters):
            df = con.execute(
                f"""SELECT * FROM territory_indicators t WHERE t.level = $level
                    AND t.origin_kind = $k AND t.mode = $m AND t.budget_min = $b
                    {"AND " + " AND ".join(conds) if conds else ""} ORDER BY t.code""",
                {**params, "level": level, "k": filters.origin_kind, "m": filters.mode, "b": float(filters.minutes)},
            ).df()
            if len(df):
                return df
    return _territory_query(con, [level], filters, total_pupils, None, where, params)


# --------------------------------------------------------------------------------------------
# transport supply (stops and morning departures per commune)
# --------------------------------------------------------------------------------------------


def service_date_of(con: duckdb.DuckDBPyConnection) -> dt.date | None:
    """The service date used for transit, or None.

    Looked up in this order: ``travel_time_runs.params`` (JSON key ``service_date``) of the
    latest ``transit`` run, then :func:`analysis.transit.default_service_date`.
    """
    from analysis import transit

    if has_relation(con, "travel_time_runs"):
        rows = con.execute(
            "SELECT params FROM travel_time_runs WHERE mode = 'transit' ORDER BY computed_at DESC"
        ).fetchall()
        for (params,) in rows:
            try:
                value = json.loads(params).get("service_date") if params else None
                if value:
                    return dt.date.fromisoformat(str(value)[:10])
            except (TypeError, ValueError, AttributeError):
                continue
    if not has_relation(con, "transit_feeds"):
        return None
    try:
        return transit.default_service_date(con)
    except transit.GTFSError:
        return None


def transit_supply_sql(
    con: duckdb.DuckDBPyConnection, service_date=None, window: tuple[str, str] = MORNING_WINDOW
) -> tuple[str | None, str]:
    """SQL giving transport supply per commune, and a note saying what it contains.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Database with the ``transit_*`` tables of ``analysis.gtfs``.
    service_date : datetime.date, optional
        Day on which the morning departures are counted; default :func:`service_date_of`.
    window : (str, str)
        Departure window ``('HH:MM', 'HH:MM')``, bounds included.

    Returns
    -------
    (str or None, str)
        A ``SELECT commune_code, n_stops, morning_departures`` (``morning_departures`` NULL
        when the timetable or the calendar is missing) — or None when there is no
        ``transit_stops`` table — and a French note describing the result.
    """
    if not has_relation(con, "transit_stops"):
        return None, "Pas d'arrêts de transport en commun dans la base."
    # Stops outside Normandie (bbox margin) have no commune: they belong to no territory;
    # parent stations are not stops.
    stops = (
        "SELECT commune_code, count(*) AS n_stops FROM transit_stops "
        "WHERE commune_code IS NOT NULL AND coalesce(location_type, 0) = 0 GROUP BY 1"
    )
    no_departures = f"SELECT commune_code, n_stops, NULL::BIGINT AS morning_departures FROM ({stops})"
    if not all(
        has_relation(con, n)
        for n in ("transit_stop_times", "transit_trips", "transit_calendar", "transit_calendar_dates")
    ):
        return no_departures, (
            "Départs du matin non calculés : horaires ou calendrier absents "
            "(tables transit_stop_times / transit_trips / transit_calendar*)."
        )
    if isinstance(service_date, str):
        service_date = dt.date.fromisoformat(service_date[:10])
    if service_date is None:
        service_date = service_date_of(con)
    if service_date is None:
        return no_departures, "Départs du matin non calculés : date de service inconnue."
    sql = f"""
        WITH deps AS (
            SELECT s.commune_code, sum(d.morning_departures) AS morning_departures
            FROM ({supply.stop_departures_sql(service_date, window)}) d
            JOIN transit_stops s ON s.feed_id = d.feed_id AND s.stop_id = d.stop_id
            WHERE s.commune_code IS NOT NULL
            GROUP BY 1
        ),
        stops AS ({stops})
        SELECT coalesce(stops.commune_code, deps.commune_code) AS commune_code,
               coalesce(stops.n_stops, 0) AS n_stops,
               coalesce(deps.morning_departures, 0)::BIGINT AS morning_departures
        FROM stops FULL OUTER JOIN deps ON deps.commune_code = stops.commune_code
    """
    return sql, supply.window_note(service_date, window)


# --------------------------------------------------------------------------------------------
# build stage
# --------------------------------------------------------------------------------------------


def build_tables(
    con: duckdb.DuckDBPyConnection,
    settings: config.IndicatorSettings | config.BuildSettings | Mapping[str, object] | None = None,
    progress: ProgressFn | None = None,
) -> None:
    """Build stage: write the indicator tables for the default parameters.

    Creates (or replaces) ``commune_pupils``, ``transit_supply``, ``access_pairs`` /
    ``access_origins`` / ``access_meta`` (see :func:`build_pairs`), ``accessibility`` (one row
    per origin kind x origin x mode x budget) and ``territory_indicators`` (one row per origin
    kind x level x territory x mode x budget), without offer filters (all sectors, grades,
    hosts). Without ``travel_times`` only the first two are written.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Writable connection on the database being built.
    settings : IndicatorSettings, BuildSettings or mapping of its fields, optional
        See :class:`analysis.config.IndicatorSettings`: ``regional_pupils_total`` (default:
        sum of lycée headcounts), ``modes`` (default all), ``budgets`` (default
        ``config.DEFAULT_BUDGETS_MIN``), ``service_date`` (for the morning departures,
        default :func:`service_date_of`).
    progress : callable, optional
        ``progress(message, fraction)``.
    """
    progress = progress or _noop_progress
    _require(con, "communes", "epci", "departements", "schools", "offers")
    opts = config.IndicatorSettings.of(settings)
    total = opts.regional_pupils_total
    modes = opts.modes if opts.modes is not None else MODES
    budgets = opts.budgets
    if has_relation(con, "access_meta"):  # the precomputed tables are being replaced
        con.execute("DELETE FROM access_meta WHERE key = 'tables_signature'")
    progress("Indicateurs : élèves par commune (estimation)", 0.0)
    used = pupils.build_commune_pupils(con, total)
    progress(f"Indicateurs : total régional de {used:,.0f} élèves de seconde réparti", None)

    sql, note = transit_supply_sql(con, opts.service_date)
    if sql is None:
        con.execute(
            "CREATE OR REPLACE TABLE transit_supply (commune_code VARCHAR, "
            "n_stops BIGINT, morning_departures BIGINT, note VARCHAR)"
        )
    else:
        con.execute(f"CREATE OR REPLACE TABLE transit_supply AS SELECT *, {_sql_literal(note)} AS note FROM ({sql})")
    progress("Indicateurs : " + note, None)

    if not has_relation(con, "travel_times"):
        progress("Indicateurs : table travel_times absente, accessibilité non calculée", None)
        for table in ("accessibility", "territory_indicators", "access_pairs", "access_origins", "access_meta"):
            con.execute(f"DROP TABLE IF EXISTS {table}")
        return
    present = {m for (m,) in con.execute("SELECT DISTINCT mode FROM travel_times").fetchall()}
    check_travel_times(con)
    n_pairs = build_pairs(con)
    progress(f"Indicateurs : {n_pairs:,} couples origine-lieu-mode (access_pairs)", None)
    scenarios = [
        (m, float(b)) for m in modes for b in budgets if m in present or (m == "transit" and "walk" in present)
    ]
    missing = [m for m in modes if not any(s[0] == m for s in scenarios)]
    if missing:
        progress("Indicateurs : modes absents de travel_times : " + ", ".join(missing), None)
    acc_parts: list[pd.DataFrame] = []
    terr_parts: list[pd.DataFrame] = []
    if scenarios:
        for n, kind in enumerate(ORIGIN_KINDS):
            f = Filters(origin_kind=kind)
            acc_parts.append(origin_accessibility(con, f, scenarios=scenarios))
            terr_parts.append(_territory_query(con, LEVELS, f, None, scenarios))
            progress(
                f"Indicateurs : origines {kind} ({len(scenarios)} couples mode-budget)", (n + 1) / len(ORIGIN_KINDS)
            )
    acc = pd.concat(acc_parts, ignore_index=True) if acc_parts else pd.DataFrame()
    terr = pd.concat(terr_parts, ignore_index=True) if terr_parts else pd.DataFrame()
    con.register("_acc_df", acc)
    con.register("_terr_df", terr)
    try:
        con.execute("CREATE OR REPLACE TABLE accessibility AS SELECT * FROM _acc_df")
        con.execute("CREATE OR REPLACE TABLE territory_indicators AS SELECT * FROM _terr_df")
    finally:
        con.unregister("_acc_df")
        con.unregister("_terr_df")
    if scenarios:
        con.execute("DELETE FROM access_meta WHERE key = 'tables_signature'")
        con.execute("INSERT INTO access_meta VALUES ('tables_signature', ?)", [_travel_times_signature(con)])
    progress(f"Indicateurs : {len(acc):,} lignes accessibility, {len(terr):,} lignes territory_indicators", 1.0)


def check_travel_times(con: duckdb.DuckDBPyConnection) -> None:
    """Raise :class:`AccessError` if ``travel_times`` has duplicate (origin, location, mode)."""
    dup = con.execute(
        """SELECT origin_kind, origin_id, loc_id, mode, count(*) AS n FROM travel_times
           GROUP BY ALL HAVING count(*) > 1 LIMIT 1"""
    ).fetchone()
    if dup:
        raise AccessError(
            f"travel_times : couple en double {dup[:4]} ({dup[4]} lignes) ; une seule durée "
            "par origine, lieu et mode est attendue."
        )


def sectors(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Distinct offer sectors, sorted (for filter widgets)."""
    return [
        r[0] for r in con.execute("SELECT DISTINCT sector FROM offers WHERE sector IS NOT NULL ORDER BY 1").fetchall()
    ]


# --------------------------------------------------------------------------------------------
# command line
# --------------------------------------------------------------------------------------------


def add_filter_arguments(p: argparse.ArgumentParser) -> None:
    """Add the indicator filters (mode, budget, sectors, grade, hosts, origins) to a parser.

    Shared by the ``analysis.access`` and ``analysis.report`` commands; read them back with
    :func:`filters_from_args`.
    """
    p.add_argument(
        "--mode",
        choices=MODES,
        default="transit",
        help="mode de déplacement (transit = transports en commun des réseaux "
        "chargés, hors ligne TER seulement, ou marche)",
    )
    p.add_argument("--minutes", type=int, default=45, help="budget-temps en minutes")
    p.add_argument("--sector", action="append", default=[], help="secteur d'activité (répétable)")
    p.add_argument("--grade", choices=GRADES, default=None, help="niveau visé : seconde ou 3e")
    grp = p.add_mutually_exclusive_group()
    grp.add_argument(
        "--public", dest="public", action="store_const", const=True, default=None, help="accueils publics seulement"
    )
    grp.add_argument("--private", dest="public", action="store_const", const=False, help="accueils privés seulement")
    p.add_argument(
        "--origin",
        choices=ORIGIN_KINDS,
        default="commune",
        help="origine : commune de résidence (estimation) ou lycée (effectifs réels)",
    )
    p.add_argument("--db", default=None, help="base DuckDB (défaut : data/observatoire.duckdb)")


def filters_from_args(args: argparse.Namespace) -> Filters:
    """The :class:`Filters` of arguments added by :func:`add_filter_arguments`."""
    return Filters(
        mode=args.mode,
        minutes=args.minutes,
        sectors=tuple(args.sector),
        grade=args.grade,
        public=args.public,
        origin_kind=args.origin,
    )


def checked_filters_from_args(con: duckdb.DuckDBPyConnection, args: argparse.Namespace) -> Filters:
    """:func:`filters_from_args` after checking the budget against the computed horizon and
    the sectors against the database (:mod:`analysis.validate_args`: a sector given in
    another case or without its accents is matched to the canonical sector).

    Raises
    ------
    analysis.validate_args.ArgumentError
        Budget out of range or unknown sector (one French line).
    """
    from analysis import validate_args as va

    minutes = va.check_budget(args.minutes, horizon=max_minutes_of(con))
    sectors_ = tuple(args.sector)
    if sectors_ and has_relation(con, "offers"):
        sectors_ = va.check_sectors(sectors_, sectors(con))
    return Filters(
        mode=args.mode, minutes=minutes, sectors=sectors_, grade=args.grade, public=args.public, origin_kind=args.origin
    )


def check_territory_arguments(
    con: duckdb.DuckDBPyConnection, level: str, code: str | None, within: str | None
) -> tuple[str | None, str | None]:
    """``--code`` (a territory of ``level``) and ``--within`` (an EPCI or a département)
    checked against the database; raises :class:`analysis.validate_args.ArgumentError`."""
    from analysis import validate_args as va

    tables = {"commune": "communes", "epci": "epci", "departement": "departements"}
    if code is not None:
        if level in tables:
            _require(con, tables[level])
        code = va.check_territory(code, level, va.known_territories(con, [level]))[1]
    if within is not None:
        if level not in ("commune", "epci"):
            raise va.ArgumentError(f"--within ne s'applique qu'aux niveaux commune et epci (niveau demandé : {level})")
        levels = ["epci", "departement"] if level == "commune" else ["departement"]
        _require(con, *(tables[lv] for lv in levels))
        within = va.check_territory(within, None, va.known_territories(con, levels))[1]
    return code, within


def _parser() -> argparse.ArgumentParser:
    from analysis.validate_args import ArgParser

    p = ArgParser(
        prog="python -m analysis.access", description="Indicateurs d'accessibilité aux offres de stage par territoire."
    )
    p.add_argument("--level", choices=LEVELS, default="region", help="niveau territorial")
    add_filter_arguments(p)
    p.add_argument("--code", default=None, help="un seul territoire (code INSEE, SIREN…)")
    p.add_argument("--within", default=None, help="territoires compris dans cet EPCI ou ce département")
    p.add_argument(
        "--per-origin", action="store_true", help="une ligne par origine (commune ou lycée) au lieu des territoires"
    )
    p.add_argument("--format", choices=("csv", "json"), default="csv")
    return p


def main(argv: Iterable[str] | None = None) -> int:
    """Command-line entry point; prints the indicator table on stdout."""
    from analysis import db as dbmod
    from analysis.validate_args import ArgumentError, fail

    args = _parser().parse_args(list(argv) if argv is not None else None)
    try:
        con = dbmod.connect(args.db or config.default_db_path(), read_only=True)
        try:
            filters = checked_filters_from_args(con, args)
            if args.per_origin:
                df = origin_accessibility(con, filters)
            else:
                code, within = check_territory_arguments(con, args.level, args.code, args.within)
                df = territory_indicators(con, args.level, filters, code, within=within)
            networks = catalogue.transit_networks(con)
        finally:
            con.close()
    except (AccessError, ArgumentError, FileNotFoundError) as exc:
        return fail(exc)
    if args.format == "csv":
        df.to_csv(sys.stdout, index=False)
    else:
        sys.stdout.write(df.to_json(orient="records", force_ascii=False, indent=1))
        sys.stdout.write("\n")
    print(transit_note(networks), file=sys.stderr)
    return 0


def transit_note(networks: Sequence[str]) -> str:
    """The line the CLI prints on stderr: what « transit » and the ``*_transit`` columns mean
    with the networks loaded (« transports en commun (TER seulement) ou marche »)."""
    return (
        "Note : mode « transit » et colonnes « *_transit » = "
        + catalogue.mode_label("transit", networks, "lower").replace(" + ", " ou ")
        + "."
    )


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
