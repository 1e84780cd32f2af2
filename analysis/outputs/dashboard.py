"""The reads behind the dashboard pages: every query the pages show, as plain functions.

Each function takes an open (read-only) connection and plain values or the frozen
:class:`analysis.access.Filters`, and returns a DataFrame (or a small dict/list). The pages never
talk to the database: ``ui.data`` wraps these functions in ``st.cache_data``. The precomputed
indicator tables are read by :func:`analysis.access.territory_indicators` and
:func:`analysis.access.origin_accessibility` only (with their freshness and horizon checks).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb
import pandas as pd

from analysis import catalogue
from analysis.access import Filters
from analysis.db import columns_of, has_relation, relations
from analysis.outputs import maps

#: Modes in the order the pages offer them.


def travel_times_ready(con: duckdb.DuckDBPyConnection) -> bool:
    """True when travel times (and hence indicators) can be computed."""
    return {"travel_times", "offers", "communes"} <= relations(con)


def modes_available(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Modes present in ``travel_times`` (transit counts when walk or transit exists); all
    modes when travel times are not computed yet (the pages then show a notice)."""
    if not has_relation(con, "travel_times"):
        return list(catalogue.DISPLAY_ORDER)
    present = {r[0] for r in con.execute("SELECT DISTINCT mode FROM travel_times").fetchall()}
    out = [m for m in catalogue.Mode if m in present or (m.info.falls_back_to and m.info.falls_back_to in present)]
    return catalogue.modes_in_display_order(m.value for m in out)


def offer_points(con: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """Offer locations (one row per location) with the count of the offers kept by the offer
    filters of ``filters`` (sectors, grade, public/private) and popup text."""
    conds, params = ["o.loc_id IS NOT NULL"], {}
    if filters.sectors:
        conds.append("o.sector IN (SELECT unnest($sectors::VARCHAR[]))")
        params["sectors"] = list(filters.sectors)
    if filters.grade == "seconde":
        conds.append("o.for_seconde")
    elif filters.grade == "3e":
        conds.append("o.for_troisieme")
    if filters.public is not None:
        conds.append("o.is_public = $pub")
        params["pub"] = filters.public
    return con.execute(
        f"""
        WITH f AS (SELECT * FROM offers o WHERE {" AND ".join(conds)}),
        bysec AS (SELECT loc_id, sector, count(*) AS n FROM f GROUP BY ALL)
        SELECT l.loc_id, l.lon, l.lat, l.commune_code, l.location_precision,
               any_value(f.town) AS town, count(*) AS n_offers,
               (SELECT string_agg(b.sector || ' (' || b.n || ')', ', ' ORDER BY b.n DESC, b.sector)
                FROM bysec b WHERE b.loc_id = l.loc_id) AS sectors,
               string_agg(DISTINCT f.source, ', ') AS sources
        FROM f JOIN offer_locations l ON l.loc_id = f.loc_id
        GROUP BY l.loc_id, l.lon, l.lat, l.commune_code, l.location_precision
        ORDER BY l.loc_id
        """,
        params,
    ).df()


def school_points(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Lycées with coordinates and seconde headcounts."""
    return con.execute(
        """SELECT s.uai, s.name, s.kind, s.is_public, s.commune_code, c.name AS commune,
                  c.epci_siren, c.dep, s.lon, s.lat, s.seconde_pupils, s.headcount_source
           FROM schools s LEFT JOIN communes c ON c.code = s.commune_code
           WHERE s.lon IS NOT NULL ORDER BY s.name"""
    ).df()


def communes_list(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Communes (code, name, EPCI, département, population)."""
    return con.execute(
        "SELECT c.code, c.name, c.dep, c.epci_siren, e.name AS epci_name, c.population, "
        "c.density_per_km2, c.lon, c.lat FROM communes c LEFT JOIN epci e ON e.siren = c.epci_siren "
        "ORDER BY c.name, c.code"
    ).df()


def epci_list(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """EPCI (siren, name, kind, population, départements)."""
    return con.execute(
        "SELECT siren, name, kind, population, n_communes, (SELECT mode(dep) FROM communes c "
        "WHERE c.epci_siren = e.siren) AS dep FROM epci e ORDER BY name"
    ).df()


def departements_list(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Départements (code, name, population)."""
    return con.execute("SELECT code, name, population FROM departements ORDER BY code").df()


def collective_projects(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Collective-internship projects (seed 003) with their EPCI and commune names."""
    return con.execute(
        """SELECT p.* EXCLUDE (geom), e.name AS epci_name, c.name AS commune_name
           FROM collective_projects p LEFT JOIN epci e ON e.siren = p.epci_siren
           LEFT JOIN communes c ON c.code = p.commune_code ORDER BY p.project_id"""
    ).df()


def times_from_origin(con: duckdb.DuckDBPyConnection, origin_kind: str, origin_id: str, mode: str) -> pd.DataFrame:
    """Minutes from one origin to every offer location (transit = min of transit and walk)."""
    fallback = catalogue.Mode(mode).info.falls_back_to
    modes = [mode] + ([fallback] if fallback else [])
    return con.execute(
        """SELECT t.loc_id, min(t.minutes) AS minutes, bool_or(t.is_estimate) AS is_estimate,
                  l.lon, l.lat, l.commune_code, c.name AS commune, l.n_offers
           FROM travel_times t JOIN offer_locations l ON l.loc_id = t.loc_id
           LEFT JOIN communes c ON c.code = l.commune_code
           WHERE t.origin_kind = ? AND t.origin_id = ? AND t.mode IN (SELECT unnest(?::VARCHAR[]))
           GROUP BY ALL ORDER BY minutes""",
        [origin_kind, origin_id, modes],
    ).df()


def provenance(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The provenance table (one row per loaded file)."""
    return con.execute("SELECT * FROM provenance ORDER BY dataset").df()


def offers_summary(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Counts used by the headlines and the estimate flags: offers, located at commune centre,
    default capacity, open to seconde pupils (``for_seconde``) and open to 3e pupils only."""
    cols = set(columns_of(con, "offers"))
    seconde = "count(*) FILTER (WHERE for_seconde)" if "for_seconde" in cols else "count(*)"
    third_only = (
        "count(*) FILTER (WHERE for_troisieme AND NOT coalesce(for_seconde, FALSE))"
        if {"for_seconde", "for_troisieme"} <= cols
        else "0"
    )
    r = con.execute(
        f"""SELECT count(*), count(*) FILTER (WHERE loc_id IS NOT NULL),
                  count(*) FILTER (WHERE location_precision = 'commune'),
                  count(*) FILTER (WHERE capacity IS NULL), {seconde}, {third_only} FROM offers"""
    ).fetchone()
    return {
        "offers": r[0],
        "located": r[1],
        "at_commune_centre": r[2],
        "default_capacity": r[3],
        "for_seconde": r[4],
        "troisieme_only": r[5],
    }


def estimate_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Number of straight-line (estimated) travel times per mode."""
    if not has_relation(con, "travel_times"):
        return {}
    rows = con.execute("SELECT mode, count(*) FILTER (WHERE is_estimate) FROM travel_times GROUP BY 1").fetchall()
    return {m: int(n) for m, n in rows}


def stops(con: duckdb.DuckDBPyConnection) -> tuple[pd.DataFrame, str | None]:
    """Public-transport stops with morning departures, and the service date (ISO) used."""
    df, day = maps.stops_layer(con)
    return df, (day.isoformat() if day is not None else None)


# --------------------------------------------------------------------------- territory page


def sector_counts(con: duckdb.DuckDBPyConnection, commune_codes: Sequence[str]) -> pd.DataFrame:
    """Located offers per sector in these communes (``sector, n``), most offers first."""
    return con.execute(
        "SELECT sector, count(*) AS n FROM offers WHERE commune_code IN "
        "(SELECT unnest(?::VARCHAR[])) GROUP BY 1 ORDER BY 2 DESC",
        [list(commune_codes)],
    ).df()


def mobility_services(con: duckdb.DuckDBPyConnection, epci_siren: str) -> list[pd.DataFrame]:
    """Rows of each imported mobility-service table (``mobility*``) for one EPCI (one frame per
    table that has them; an empty frame when the table holds none for this EPCI)."""
    out = []
    for name in sorted(n for n in relations(con) if n.startswith("mobility")):
        try:
            out.append(con.execute(f'SELECT * FROM "{name}" WHERE epci_siren = ?', [str(epci_siren)]).df())
        except duckdb.Error:  # a table without an EPCI column
            continue
    return out


# --------------------------------------------------------------------------- data and import pages


def build_info(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """The ``build_info`` key/value pairs (empty when the table is absent)."""
    if not has_relation(con, "build_info"):
        return {}
    return dict(con.execute("SELECT key, value FROM build_info").fetchall())


def offer_rejects(con: duckdb.DuckDBPyConnection) -> pd.DataFrame | None:
    """Offer rows rejected at load time (None when the table is absent)."""
    if not has_relation(con, "offer_rejects"):
        return None
    return con.execute("SELECT * FROM offer_rejects ORDER BY source, row_number").df()


def offer_count(con: duckdb.DuckDBPyConnection) -> int:
    """Number of loaded offers."""
    return int(con.execute("SELECT count(*) FROM offers").fetchone()[0])


def location_precision_counts(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Offers per location precision (``location_precision, n``)."""
    return con.execute("SELECT location_precision, count(*) AS n FROM offers GROUP BY 1").df()


def import_quarantine(con: duckdb.DuckDBPyConnection, import_id: str | None = None) -> pd.DataFrame | None:
    """Rows quarantined by the imports (all, or one import's, renamed for display), or None when
    no import was ever made."""
    if not has_relation(con, "import_quarantine"):
        return None
    if import_id is None:
        return con.execute("SELECT * FROM import_quarantine").df()
    return con.execute(
        "SELECT row_number AS ligne, field AS colonne, reason AS motif, raw AS contenu "
        "FROM import_quarantine WHERE import_id = ? ORDER BY row_number",
        [import_id],
    ).df()


def import_log(con: duckdb.DuckDBPyConnection, full: bool = False) -> pd.DataFrame | None:
    """The imports log, latest first (None when no import was ever made); ``full``: every column
    in table order, else the columns the Import page shows."""
    if not has_relation(con, "imports"):
        return None
    if full:
        return con.execute("SELECT * FROM imports").df()
    return con.execute(
        "SELECT imported_at, file, kind, format, source, mode, rows_in, accepted, quarantined, warnings, "
        "user_name, import_id FROM imports ORDER BY imported_at DESC"
    ).df()


def table_counts(con: duckdb.DuckDBPyConnection) -> list[tuple[str, int | None]]:
    """Rows per table and view, by name (None for a view that cannot be counted)."""
    out: list[tuple[str, int | None]] = []
    for n in sorted(relations(con)):
        try:
            out.append((n, con.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0]))
        except duckdb.Error:
            out.append((n, None))
    return out
