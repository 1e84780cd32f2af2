"""The compact pair tables and the freshness of the precomputed tables.

Owns ``access_pairs`` / ``access_origins`` / ``access_meta`` (:func:`build_pairs`), the choice
between them and ``travel_times`` itself (:func:`pairs_source`), and the freshness checks: a
precomputed table counts only while the stamp it was built from matches the one ``travel_times``
carries (:func:`analysis.db.read_stamp`).
"""

from __future__ import annotations

import duckdb

from analysis import catalogue
from analysis.access.filters import Filters
from analysis.db import has_relation, read_stamp


def _in_list(modes) -> str:
    """The modes as a comma-separated list of SQL string literals."""
    return ", ".join(f"'{m}'" for m in modes)


def pairs_sql() -> str:
    """Derivation of the indicator pairs from ``travel_times``, for every mode of the catalogue
    (:data:`analysis.catalogue.MODES`, read at call time): one row per (origin, location, mode),
    where a mode with a ``falls_back_to`` mode (transit: walking) takes the smaller of its own
    time and that mode's (on a tie, the non-estimated one)."""
    direct = [m for m in catalogue.MODES if catalogue.MODE_INFO[m].falls_back_to is None]
    parts = [
        f"""
    SELECT origin_kind, origin_id, loc_id, mode, minutes, is_estimate
    FROM travel_times WHERE mode IN ({_in_list(direct)})"""
    ]
    for m in catalogue.MODES:
        fallback = catalogue.MODE_INFO[m].falls_back_to
        if fallback is not None:
            parts.append(f"""
    SELECT origin_kind, origin_id, loc_id, '{m}' AS mode, min(minutes) AS minutes,
           arg_min(is_estimate, (minutes, is_estimate)) AS is_estimate
    FROM travel_times WHERE mode IN ({_in_list((m, fallback))})
    GROUP BY origin_kind, origin_id, loc_id""")
    return "\n    UNION ALL".join(parts) + "\n"


def travel_times_signature(con: duckdb.DuckDBPyConnection) -> str | None:
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
    stamp = travel_times_signature(con)
    return stamp is not None and row is not None and row[0] == stamp


def build_pairs(con: duckdb.DuckDBPyConnection) -> int:
    """Write the compact pair tables used by every indicator query.

    ``access_origins(origin_kind, origin_id, oid INTEGER)`` numbers the origins;
    ``access_pairs(origin_kind, oid, loc_id, mode, minutes, is_estimate)`` is
    :func:`pairs_sql` keyed by ``oid`` and sorted by (origin_kind, mode, oid): integer keys
    and the pre-merged transit/walk times make the grouped queries faster (see
    ``bench/indicators.py``). ``access_meta`` records a signature of ``travel_times`` (see
    :func:`travel_times_signature`) at build time; queries fall back to ``travel_times``
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
        FROM ({pairs_sql()}) p JOIN access_origins o USING (origin_kind, origin_id)
        ORDER BY p.origin_kind, p.mode, o.oid, p.minutes
    """)
    con.execute("CREATE OR REPLACE TABLE access_meta (key VARCHAR, value VARCHAR)")
    con.execute("INSERT INTO access_meta VALUES ('travel_times_signature', ?)", [travel_times_signature(con)])
    return int(con.execute("SELECT count(*) FROM access_pairs").fetchone()[0])


def pairs_source(con: duckdb.DuckDBPyConnection) -> tuple[str, str]:
    """(pairs relation keyed by ``oid``, SQL giving ``oid`` of ``origins`` row ``o``)."""
    if pairs_table_is_fresh(con):
        return (
            "access_pairs",
            "(SELECT a.oid FROM access_origins a WHERE a.origin_kind = $origin_kind AND a.origin_id = o.origin_id)",
        )
    return (
        f"(SELECT origin_kind, origin_id AS oid, loc_id, mode, minutes, is_estimate FROM ({pairs_sql()}))",
        "o.origin_id",
    )


def tables_fresh(con: duckdb.DuckDBPyConnection, filters: Filters) -> bool:
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
    stamp = travel_times_signature(con)
    return stamp is not None and row is not None and row[0] == stamp
