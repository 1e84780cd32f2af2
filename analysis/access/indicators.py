"""The two indicator reads.

:func:`origin_accessibility` (one row per origin) and :func:`territory_indicators` (one row per
territory) answer from the precomputed tables ``accessibility`` / ``territory_indicators`` when
these hold the parameters and are fresh (:func:`analysis.access.pairs.tables_fresh`), else run
the query of :mod:`analysis.access.sql` / :mod:`analysis.access.territory_sql`.
"""

from __future__ import annotations

from collections.abc import Iterable

import duckdb
import pandas as pd

from analysis.access.filters import LEVELS, AccessError, Filters, check_inputs, views_of
from analysis.access.pairs import tables_fresh
from analysis.access.sql import origin_columns, origin_ctes
from analysis.access.territory_sql import territory_query


def origin_accessibility(
    con: duckdb.DuckDBPyConnection,
    filters: Filters | None = None,
    *,
    total_pupils: float | None = None,
    scenarios: Iterable[Filters] | None = None,
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
    scenarios : iterable of Filters, optional
        Compute several views at once (rows for each, in order), differing from ``filters``
        only by mode and budget (:meth:`Filters.with_budget`); default ``[filters]``.
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
    check_inputs(con, filters)
    if precomputed and scenarios is None and total_pupils is None and tables_fresh(con, filters):
        df = con.execute(
            """SELECT * FROM accessibility WHERE origin_kind = $k AND mode = $m
               AND budget_min = $b ORDER BY origin_id""",
            {"k": filters.origin_kind, "m": filters.mode, "b": float(filters.minutes)},
        ).df()
        if len(df):
            return df
    ctes, params = origin_ctes(con, views_of(filters, scenarios), total_pupils)
    sql = (
        ctes
        + f"""
        SELECT {origin_columns()}
        FROM po ORDER BY s_mode, budget, origin_id
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
        check_inputs(con, filters)
        if tables_fresh(con, filters):
            df = con.execute(
                f"""SELECT * FROM territory_indicators t WHERE t.level = $level
                    AND t.origin_kind = $k AND t.mode = $m AND t.budget_min = $b
                    {"AND " + " AND ".join(conds) if conds else ""} ORDER BY t.code""",
                {**params, "level": level, "k": filters.origin_kind, "m": filters.mode, "b": float(filters.minutes)},
            ).df()
            if len(df):
                return df
    return territory_query(con, [level], filters, total_pupils, None, where, params)
