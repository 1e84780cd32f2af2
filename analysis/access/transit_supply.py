"""Transport supply per commune, for the ``transit_supply`` table.

Owns the service date the transit times were computed for (:func:`service_date_of`) and the SQL
giving stops and morning departures per commune (:func:`transit_supply_sql`); a morning departure
is defined once, by :func:`analysis.gtfs.supply.stop_departures_sql`.
"""

from __future__ import annotations

import datetime as dt
import json

import duckdb

from analysis.access.filters import MORNING_WINDOW
from analysis.db import has_relation
from analysis.gtfs import supply


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
