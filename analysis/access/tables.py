"""Build stage of the indicators: writing the precomputed tables.

:func:`build_tables` writes ``commune_pupils``, ``transit_supply``, the pair tables
(:func:`analysis.access.pairs.build_pairs`), ``accessibility`` and ``territory_indicators`` for
the default parameters, after :func:`check_travel_times` has checked its input.
"""

from __future__ import annotations

from collections.abc import Mapping

import duckdb
import pandas as pd

from analysis import catalogue, config
from analysis.access.filters import LEVELS, ORIGIN_KINDS, AccessError, Filters, require_tables
from analysis.access.indicators import origin_accessibility
from analysis.access.pairs import build_pairs, travel_times_signature
from analysis.access.sql import sql_literal
from analysis.access.territory_sql import territory_query
from analysis.access.transit_supply import transit_supply_sql
from analysis.db import has_relation
from analysis.progress import ProgressFn, silent
from analysis.sources import pupils
from analysis.text import count as count_of


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
    progress = progress or silent
    require_tables(con, "communes", "epci", "departements", "schools", "offers")
    opts = config.IndicatorSettings.of(settings)
    total = opts.regional_pupils_total
    modes = opts.modes if opts.modes is not None else catalogue.MODES
    if has_relation(con, "access_meta"):  # the precomputed tables are being replaced
        con.execute("DELETE FROM access_meta WHERE key = 'tables_signature'")
    progress("Indicateurs : élèves par commune (estimation)", 0.0)
    used = pupils.build_commune_pupils(con, total)
    progress(f"Indicateurs : total régional de {count_of(used, 'élève')} de seconde réparti", None)

    sql, note = transit_supply_sql(con, opts.service_date)
    if sql is None:
        con.execute(
            "CREATE OR REPLACE TABLE transit_supply (commune_code VARCHAR, "
            "n_stops BIGINT, morning_departures BIGINT, note VARCHAR)"
        )
    else:
        con.execute(f"CREATE OR REPLACE TABLE transit_supply AS SELECT *, {sql_literal(note)} AS note FROM ({sql})")
    progress("Indicateurs : " + note, None)

    if not has_relation(con, "travel_times"):
        progress("Indicateurs : table travel_times absente, accessibilité non calculée", None)
        for table in ("accessibility", "territory_indicators", "access_pairs", "access_origins", "access_meta"):
            con.execute(f"DROP TABLE IF EXISTS {table}")
        return
    check_travel_times(con)
    n_pairs = build_pairs(con)
    progress(f"Indicateurs : {count_of(n_pairs, 'couple')} origine-lieu-mode (access_pairs)", None)
    views = {kind: precomputed_views(con, opts, kind) for kind in ORIGIN_KINDS}
    scenarios = views[ORIGIN_KINDS[0]]
    missing = [m for m in modes if not any(v.mode == m for v in scenarios)]
    if missing:
        progress("Indicateurs : modes absents de travel_times : " + ", ".join(missing), None)
    acc_parts: list[pd.DataFrame] = []
    terr_parts: list[pd.DataFrame] = []
    if scenarios:
        for n, kind in enumerate(ORIGIN_KINDS):
            f = Filters(origin_kind=kind)
            acc_parts.append(origin_accessibility(con, f, scenarios=views[kind]))
            terr_parts.append(territory_query(con, LEVELS, f, None, views[kind]))
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
        con.execute("INSERT INTO access_meta VALUES ('tables_signature', ?)", [travel_times_signature(con)])
    progress(
        f"Indicateurs : {count_of(len(acc), 'ligne')} accessibility, "
        f"{count_of(len(terr), 'ligne')} territory_indicators",
        1.0,
    )


def precomputed_views(
    con: duckdb.DuckDBPyConnection,
    settings: config.IndicatorSettings | config.BuildSettings | Mapping[str, object] | None = None,
    origin_kind: str = "commune",
) -> list[Filters]:
    """The views :func:`build_tables` precomputes for the origins of ``origin_kind``.

    Every mode of ``settings`` (default: every mode) present in ``travel_times`` (transit: or
    walking, its fallback) times every budget, in that order, without offer filter.
    """
    opts = config.IndicatorSettings.of(settings)
    modes = opts.modes if opts.modes is not None else catalogue.MODES
    present = {m for (m,) in con.execute("SELECT DISTINCT mode FROM travel_times").fetchall()}
    return [
        Filters(mode=m, minutes=b, origin_kind=origin_kind)
        for m in modes
        for b in opts.budgets
        if m in present or (m == "transit" and "walk" in present)
    ]


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
