"""The travel-time tables and the points they join.

Owns the DDL of ``travel_times`` / ``travel_time_runs`` and the view ``offer_travel_times``,
:func:`record_run`, and the reads of the points: origins (town halls and lycées), destinations
(offer locations) and the communes of the intra-commune model.
"""

from __future__ import annotations

import datetime as dt
import json

import duckdb
import numpy as np
import pandas as pd

from analysis.db import columns_of, has_relation

TRAVEL_TIMES_DDL = """
CREATE OR REPLACE TABLE travel_times (
    origin_kind VARCHAR NOT NULL,
    origin_id VARCHAR NOT NULL,
    loc_id INTEGER NOT NULL,
    mode VARCHAR NOT NULL,
    minutes REAL NOT NULL,
    is_estimate BOOLEAN NOT NULL
);
CREATE OR REPLACE TABLE travel_time_runs (
    mode VARCHAR,
    network_source VARCHAR,
    precision VARCHAR,
    params VARCHAR,
    computed_at TIMESTAMP,
    seconds DOUBLE,
    n_origins INTEGER,
    n_destinations INTEGER,
    n_pairs INTEGER,
    n_estimates INTEGER,
    status VARCHAR
);
"""


OFFER_VIEW_SQL = """
CREATE OR REPLACE VIEW offer_travel_times AS
SELECT t.origin_kind, t.origin_id, o.offer_id, t.mode, t.minutes, t.is_estimate
FROM travel_times t JOIN offers o ON o.loc_id = t.loc_id
"""


def record_run(
    con, mode, network_source, precision, params, seconds, n_origins, n_destinations, n_pairs, n_estimates, status
) -> None:
    """Insert one row into ``travel_time_runs``."""
    con.execute(
        "INSERT INTO travel_time_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            mode,
            network_source,
            precision,
            json.dumps(params, default=str, ensure_ascii=False),
            dt.datetime.now().replace(microsecond=0),
            float(seconds),
            n_origins,
            n_destinations,
            n_pairs,
            n_estimates,
            status,
        ],
    )


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    return set(columns_of(con, table))


def read_origins(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Commune origin points (town halls) and lycées with coordinates.

    Returns
    -------
    pandas.DataFrame
        ``origin_kind``, ``origin_id``, ``lon``, ``lat``, ``commune_code`` (NULL for a lycée
        when the ``schools`` table has no commune).
    """
    school_commune = "commune_code" if "commune_code" in _columns(con, "schools") else "NULL::VARCHAR"
    return con.execute(
        f"""SELECT 'commune' AS origin_kind, code AS origin_id, lon, lat, code AS commune_code FROM communes
           WHERE lon IS NOT NULL AND lat IS NOT NULL
           UNION ALL
           SELECT 'school', uai, lon, lat, {school_commune} FROM schools WHERE lon IS NOT NULL AND lat IS NOT NULL
           ORDER BY 1, 2"""
    ).df()


def read_destinations(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Offer locations: ``loc_id``, ``lon``, ``lat``, ``commune_code``, ``location_precision``, ``n_offers``.

    The last two are NULL when ``offer_locations`` lacks them (the intra-commune model is then not applied).
    """
    cols = _columns(con, "offer_locations")
    extra = ", ".join(c if c in cols else f"NULL::VARCHAR AS {c}" for c in ("commune_code", "location_precision"))
    extra += ", n_offers" if "n_offers" in cols else ", 1 AS n_offers"
    return con.execute(
        f"SELECT loc_id, lon, lat, {extra} FROM offer_locations "
        "WHERE lon IS NOT NULL AND lat IS NOT NULL ORDER BY loc_id"
    ).df()


def read_communes(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Communes for the intra-commune model: ``code``, ``lon``, ``lat``, ``population``, ``area_km2``.

    Empty when ``communes`` lacks population or area (the intra-commune model is then not applied).
    """
    if not {"population", "area_km2"} <= _columns(con, "communes"):
        return pd.DataFrame(columns=["code", "lon", "lat", "population", "area_km2"])
    return con.execute("SELECT code, lon, lat, population, area_km2 FROM communes ORDER BY code").df()


def points_area(*frames: pd.DataFrame, margin_deg: float = 0.05):
    """Convex hull of the points of the frames (``lon``/``lat``), widened by ``margin_deg``."""
    import shapely

    pts = np.vstack([f[["lon", "lat"]].to_numpy(float) for f in frames if len(f)] or [np.zeros((0, 2))])
    if not len(pts):
        return None
    return shapely.convex_hull(shapely.multipoints(pts)).buffer(margin_deg)


def has_offers(con) -> bool:
    return has_relation(con, "offers")
