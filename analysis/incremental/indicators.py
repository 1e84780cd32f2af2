"""Indicator tables brought up to date after an incremental travel-times update (issue 15).

:mod:`analysis.incremental.times` updates ``travel_times`` in place (rows of new locations inserted,
rows of gone locations deleted, ``loc_id`` renumbered). This module then brings the tables
derived from it up to date without rebuilding them whole:

- :func:`update_pairs`: ``access_pairs`` (:func:`analysis.access.build_pairs`) gets the same
  deletions, renumbering and insertions (the pairs of new or changed cells derived with
  :func:`analysis.access.pairs_sql`); ``access_origins`` is kept when the set of origins is
  unchanged (otherwise the numbering would shift: the whole pair table is rebuilt);
- :func:`refresh_indicators`: ``accessibility`` is recomputed with
  :func:`analysis.access.origin_accessibility` (one pass per origin kind, every (mode, budget)
  view of the build, :func:`analysis.access.precomputed_views`) and ``territory_indicators``
  aggregated from those per-origin rows in one query for both origin kinds (:func:`territory_sql`: the aggregation of
  :func:`analysis.access.territory_indicators`, :func:`analysis.access.territory_rows_sql`,
  over the stored rows instead of computing the per-origin rows a second time). After 10 offers in new communes most rows change (the car
  reaches a new location from most origins within 60 minutes), so both tables are rewritten.

``commune_pupils`` and ``transit_supply`` do not depend on offers: they are left as they are.
The result equals :func:`analysis.access.build_tables` (``tests/test_incremental.py`` compares
every table on the mirror).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

import duckdb
import pandas as pd

from analysis import access, catalogue
from analysis.access import LEVELS, ORIGIN_KINDS, Filters
from analysis.db import columns_of, has_relation, read_stamp
from analysis.progress import ProgressFn
from analysis.text import count as count_of

#: Key columns of ``accessibility`` (one row per key).
ACCESSIBILITY_KEYS = ("origin_kind", "origin_id", "mode", "budget_min")


def scenarios_of(con: duckdb.DuckDBPyConnection, settings) -> list[Filters]:
    """The views :func:`analysis.access.build_tables` precomputes for ``settings``
    (:func:`analysis.access.precomputed_views`, commune origins: the lycées get the same modes
    and budgets)."""
    return access.precomputed_views(con, settings)


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
                FROM ({access.pairs_sql()}) p JOIN access_origins o USING (origin_kind, origin_id)
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


def territory_sql(con: duckdb.DuckDBPyConnection, scenarios: Iterable[Filters]) -> str:
    """SQL of the ``territory_indicators`` rows, from ``accessibility``.

    The per-territory aggregation of :func:`analysis.access.territory_indicators`
    (:func:`analysis.access.sql.territory_rows_sql`: every level, every scenario) applied to the
    per-origin rows already stored in ``accessibility`` (the rows that function would compute
    again), for both origin kinds in one query.
    """
    where, _ = access.offer_filter(Filters())
    kinds = ", ".join(f"('{k}')" for k in ORIGIN_KINDS)
    return f"""
    WITH
    scen AS ({access.scenarios_sql(list(scenarios))}),
    kinds AS (SELECT * FROM (VALUES {kinds}) t(origin_kind)),
    f_offers AS (
        SELECT o.commune_code, coalesce(o.capacity, 1)::DOUBLE AS places, (o.capacity IS NULL) AS default_cap
        FROM offers o WHERE {where}
    ),
    po AS (
        SELECT a.mode AS s_mode, a.budget_min AS budget, a.* EXCLUDE (mode, budget_min)
        FROM accessibility a
    )""" + access.territory_rows_sql(con, list(LEVELS), "po", ordered=False)


#: Offers per location as the indicators read them (no offer filter): count, places (capacity,
#: else 1), offers of unknown capacity, sectors.
LOCATION_OFFERS_SQL = """
    SELECT loc_id, count(*) AS n, sum(coalesce(capacity, 1)::DOUBLE) AS places,
           count(*) FILTER (WHERE capacity IS NULL) AS n_default,
           coalesce(string_agg(DISTINCT sector, chr(31) ORDER BY sector), '') AS sectors
    FROM offers WHERE loc_id IS NOT NULL GROUP BY loc_id
"""


def location_offers(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """:data:`LOCATION_OFFERS_SQL` as a frame (``loc_id``, ``n``, ``places``, ``n_default``, ``sectors``)."""
    return con.execute(LOCATION_OFFERS_SQL).df()


def only_additions(before: pd.DataFrame, after: pd.DataFrame, kept: pd.DataFrame, n_before: int) -> bool:
    """True when an import only added locations: every location of before is kept, with the
    same offers as the indicators see them (``before``/``after``: :func:`location_offers`)."""
    if len(kept) != n_before:
        return False
    old = kept.merge(before, left_on="old_loc_id", right_on="loc_id", suffixes=("", "_b"))
    new = kept.merge(after, on="loc_id")
    if len(old) != len(kept) or len(new) != len(kept):
        return False
    old, new = old.sort_values("loc_id").reset_index(drop=True), new.sort_values("loc_id").reset_index(drop=True)
    return all((old[c].to_numpy() == new[c].to_numpy()).all() for c in ("n", "places", "n_default", "sectors"))


#: Columns of ``accessibility`` that do not depend on offers.
_KEPT_COLUMNS = ("origin_kind", "origin_id", "origin_name", "commune_code", "mode", "budget_min", "pupils")


def _merge_expressions() -> dict[str, str]:
    """``accessibility`` column -> expression of old row ``o``, contribution of the added
    locations ``n`` and newly reachable sectors ``a``."""
    add = "o.{0} + n.{0}"
    least = "least(o.{0}, n.{0})"
    exprs = {c: f"o.{c}" for c in (*_KEPT_COLUMNS, "pupils_is_estimate")}
    for c in ("offers_reachable", "places_reachable", "places_default_capacity", "places_per_pupil_2sfca"):
        exprs[c] = add.format(c)
    for c in ("offers_reachable_car", "offers_reachable_transit"):
        exprs[c] = add.format(c)
    for c in ("minutes_nearest", *(f"nearest_{m}" for m in catalogue.MODES)):
        exprs[c] = least.format(c)
    exprs["sectors_reachable"] = "o.sectors_reachable + coalesce(a.added, 0)"
    exprs["reach_uses_estimates"] = "o.reach_uses_estimates OR n.reach_uses_estimates"
    # arg_min(is_estimate, (minutes, is_estimate)): the flag of the nearer; on a tie, FALSE first
    exprs["nearest_is_estimate"] = (
        "CASE WHEN n.minutes_nearest IS NULL OR n.minutes_nearest > o.minutes_nearest THEN o.nearest_is_estimate "
        "WHEN o.minutes_nearest IS NULL OR o.minutes_nearest > n.minutes_nearest THEN n.nearest_is_estimate "
        "ELSE o.nearest_is_estimate AND n.nearest_is_estimate END"
    )
    return exprs


def _contribution_into(
    con: duckdb.DuckDBPyConnection, table: str, kind: str, scenarios: list[Filters], ids: str
) -> None:
    """The per-origin indicators of the offers at locations ``ids`` alone, for the origins of
    ``kind``, into the temporary ``table``: the build's query
    (:func:`analysis.access.origin_accessibility`) with ``offers`` seen through a temporary view
    holding only those offers, kept in DuckDB (no round trip through pandas)."""
    db_name = con.execute("SELECT current_database()").fetchone()[0].replace('"', '""')
    con.execute(f'CREATE OR REPLACE TEMP VIEW offers AS SELECT * FROM "{db_name}".main.offers WHERE loc_id IN ({ids})')
    try:
        ctes, params = access.origin_ctes(con, [replace(s, origin_kind=kind) for s in scenarios])
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {ctes} SELECT {access.origin_columns()} FROM po", params)
    finally:
        con.execute("DROP VIEW IF EXISTS temp.offers")


def added_accessibility(con: duckdb.DuckDBPyConnection, scenarios: list[Filters], added: Sequence[int]) -> int | None:
    """Rewrite ``accessibility`` after locations ``added`` (with their offers) joined an unchanged set.

    Every per-origin indicator is a sum, a minimum or an OR over the locations within reach,
    and 2SFCA's ratio of a location depends only on its places and on the pupils that reach it:
    adding locations leaves the ratios of the others unchanged. So the new rows are the old ones
    combined with the indicators of the added locations alone (:func:`_contribution_into`), and
    ``sectors_reachable`` grows by the sectors of the added offers newly within the budget
    (nearest added location of that sector within it, no old one). The whole update runs in
    DuckDB; each column keeps the type it has in ``accessibility`` (the one the build gave it
    through pandas).

    Returns
    -------
    int or None
        The number of rows written; None when ``accessibility`` has columns this does not know
        (nothing written), or when the combined rows do not match the old ones one to one (rows
        of other origins or scenarios): the table is then written incomplete and the caller
        must recompute it whole (from the pairs, which this does not read).
    """
    cols = con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 'accessibility' "
        "AND database_name = current_database() ORDER BY column_index"
    ).fetchall()
    exprs = _merge_expressions()
    if {c for c, _ in cols} != set(exprs):
        return None
    ids = ", ".join(str(int(i)) for i in added)
    parts = [f"_ia_contrib_{i}" for i in range(len(ORIGIN_KINDS))]
    for table, kind in zip(parts, ORIGIN_KINDS, strict=True):
        _contribution_into(con, table, kind, scenarios, ids)
    # the kinds' columns unified to common types, as pandas.concat did
    contrib = " UNION ALL BY NAME ".join(f"SELECT * FROM temp.{t}" for t in parts)
    budgets = ", ".join(f"({b!r}::DOUBLE)" for b in sorted({float(s.minutes) for s in scenarios}))
    keys = " AND ".join(f"n.{k} = o.{k}" for k in ACCESSIBILITY_KEYS)
    n_old, n_contrib = con.execute(
        f"SELECT (SELECT count(*) FROM accessibility), (SELECT count(*) FROM ({contrib}))"
    ).fetchone()
    try:
        con.execute(f"""
            CREATE OR REPLACE TABLE accessibility AS
            WITH sn AS (SELECT DISTINCT sector FROM offers WHERE loc_id IN ({ids}) AND sector IS NOT NULL),
            ls AS (
                SELECT DISTINCT loc_id, sector, loc_id IN ({ids}) AS is_new FROM offers
                WHERE loc_id IS NOT NULL AND sector IN (SELECT sector FROM sn)
            ),
            t AS (
                SELECT p.origin_kind, p.oid, p.mode, ls.sector,
                       min(p.minutes) FILTER (WHERE ls.is_new) AS t_new,
                       min(p.minutes) FILTER (WHERE NOT ls.is_new) AS t_old
                FROM access_pairs p JOIN ls USING (loc_id) GROUP BY ALL
            ),
            b AS (SELECT * FROM (VALUES {budgets}) v(budget)),
            a AS (
                SELECT t.origin_kind, o.origin_id, t.mode, b.budget AS budget_min, count(*) AS added
                FROM t JOIN access_origins o USING (origin_kind, oid) CROSS JOIN b
                WHERE t.t_new <= b.budget AND (t.t_old IS NULL OR t.t_old > b.budget)
                GROUP BY ALL
            )
            SELECT {", ".join(f'({exprs[c]})::{t} AS "{c}"' for c, t in cols)}
            FROM accessibility o JOIN ({contrib}) n ON {keys}
            LEFT JOIN a ON a.origin_kind = o.origin_kind AND a.origin_id = o.origin_id AND a.mode = o.mode
                       AND a.budget_min = o.budget_min
            ORDER BY o.origin_kind, o.mode, o.budget_min, o.origin_id
        """)
    finally:
        for t in parts:
            con.execute(f"DROP TABLE IF EXISTS temp.{t}")
    # every old row has its contribution row (same origins and scenarios), else recompute whole
    n_new = con.execute("SELECT count(*) FROM accessibility").fetchone()[0]
    return int(n_new) if n_new == n_old == n_contrib else None


def write_table(con: duckdb.DuckDBPyConnection, table: str, new: pd.DataFrame) -> None:
    """Replace ``table`` by ``new`` as :func:`analysis.access.build_tables` writes it."""
    con.register("_wt_new", new)
    try:
        con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM _wt_new")
    finally:
        con.unregister("_wt_new")


def write_query(con: duckdb.DuckDBPyConnection, table: str, sql: str) -> int:
    """Replace ``table`` by the rows of ``sql``, each column cast to the type it has in ``table``
    (the types the build gave it through pandas, e.g. DOUBLE for a HUGEINT sum), without the
    round trip through pandas. Returns the number of rows."""
    cols = con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ? "
        "AND database_name = current_database() ORDER BY column_index",
        [table],
    ).fetchall()
    casts = ", ".join(f'q."{c}"::{t} AS "{c}"' for c, t in cols)
    con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT {casts} FROM ({sql}) q")
    return int(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def can_refresh(con: duckdb.DuckDBPyConnection) -> bool:
    """True when the indicator tables exist and were built from the current pairs."""
    return all(
        has_relation(con, t)
        for t in ("accessibility", "territory_indicators", "access_meta", "access_pairs", "commune_pupils")
    ) and set(ACCESSIBILITY_KEYS) <= set(columns_of(con, "accessibility"))


def refresh_indicators(
    con: duckdb.DuckDBPyConnection, settings, progress: ProgressFn, added: Sequence[int] | None = None
) -> bool:
    """Recompute ``accessibility`` and ``territory_indicators`` after the pairs were updated.

    ``added``: when the import only added locations (:func:`only_additions`) to tables that
    were up to date, their ids: ``accessibility`` is then combined from the old rows and the
    added locations' indicators (:func:`added_accessibility`) instead of recomputed.

    Returns False (nothing written) when the tables cannot be refreshed this way (missing, or
    no scenario): the caller then runs :func:`analysis.access.build_tables`.
    """
    if not can_refresh(con):
        return False
    scenarios = scenarios_of(con, settings)
    if not scenarios:
        return False
    con.execute("DELETE FROM access_meta WHERE key = 'tables_signature'")
    n_acc = added_accessibility(con, scenarios, added) if added else None
    if n_acc is not None:
        progress(f"Indicateurs : {count_of(len(added), 'lieu ajouté', 'lieux ajoutés')}, accessibilité complétée", None)
    else:
        acc = pd.concat(
            [
                access.origin_accessibility(
                    con, Filters(origin_kind=k), scenarios=[replace(s, origin_kind=k) for s in scenarios]
                )
                for k in ORIGIN_KINDS
            ],
            ignore_index=True,
        )
        write_table(con, "accessibility", acc)
        n_acc = len(acc)
    progress(f"Indicateurs : {count_of(n_acc, 'ligne')} d'accessibilité", None)
    n_terr = write_query(con, "territory_indicators", territory_sql(con, scenarios))
    progress(f"Indicateurs : {count_of(n_terr, 'ligne')} de territoires", None)
    con.execute("INSERT INTO access_meta VALUES ('tables_signature', ?)", [read_stamp(con, "travel_times")])
    return True
