"""Service days of the loaded GTFS feeds: which services run on a date, the default date.

Owns the reading of the ``transit_calendar`` / ``transit_calendar_dates`` tables (services
running on a date, the routable feeds, the default service date: a Tuesday closest to the June
internship fortnight) and the vehicle departures per stop in the morning window
(:func:`morning_departures`, defined in :mod:`analysis.gtfs.supply`).
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

from analysis.gtfs import GTFSError
from analysis.gtfs.supply import stop_departures_sql
from analysis.transit.model import DEPART_FROM, DEPART_TO, INTERNSHIP_FORTNIGHT

_WEEKDAY_COLS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def active_service_ids(con, service_date: date, feed_ids: list[str] | None = None) -> list[str]:
    """Service ids running on ``service_date`` (calendar + calendar_dates exceptions).

    A service runs when its ``calendar`` row covers the date and its weekday flag is set, or a
    ``calendar_dates`` row adds it (exception_type 1); a ``calendar_dates`` row with
    exception_type 2 removes it.
    """
    wd = _WEEKDAY_COLS[service_date.weekday()]
    feeds = ""
    if feed_ids:
        feeds = " AND feed_id IN (SELECT unnest($feeds))"
    rows = con.execute(
        f"""SELECT service_id FROM (
              SELECT service_id FROM transit_calendar
               WHERE $d BETWEEN start_date AND end_date AND {wd}{feeds}
              UNION
              SELECT service_id FROM transit_calendar_dates
               WHERE date = $d AND exception_type = 1{feeds})
            EXCEPT
            SELECT service_id FROM transit_calendar_dates
             WHERE date = $d AND exception_type = 2{feeds}""",
        {"d": service_date, **({"feeds": list(feed_ids)} if feed_ids else {})},
    ).fetchall()
    return sorted(r[0] for r in rows)


def routable_feeds(con) -> pd.DataFrame:
    """The loaded feeds that have stop times (``transit_feeds`` rows).

    Raises
    ------
    GTFSError
        When no feed is loaded, or when no loaded feed has a ``stop_times.txt``.
    """
    try:
        feeds = con.execute("SELECT feed_id, path, start_date, end_date, has_stop_times FROM transit_feeds").df()
    except Exception as exc:  # table absent
        raise GTFSError("transit_feeds", "aucun flux GTFS chargé dans la base (analysis.gtfs.load_into)") from exc
    if feeds.empty:
        raise GTFSError("transit_feeds", "aucun flux GTFS chargé dans la base")
    ok = feeds[feeds["has_stop_times"]]
    if ok.empty:
        p = feeds["path"].iat[0]
        raise GTFSError(
            f"{p}/stop_times.txt",
            "fichier absent : ce flux GTFS ne contient aucun "
            "horaire, le calcul d'itinéraires en transport en commun est impossible",
        )
    return ok


def _trip_count(con, service_date: date, feed_ids: list[str]) -> int:
    sids = active_service_ids(con, service_date, feed_ids)
    if not sids:
        return 0
    return int(
        con.execute("SELECT count(*) FROM transit_trips WHERE service_id IN (SELECT unnest(?))", [sids]).fetchone()[0]
    )


def trip_counts(con, days: list[date], feed_ids: list[str]) -> dict[date, int]:
    """Trips running on each of ``days``, in one query: for every day, the number of
    ``transit_trips`` rows whose ``service_id`` is among :func:`active_service_ids` of that day
    (what :func:`_trip_count` counts one day at a time, 2 queries a day)."""
    if not days:
        return {}
    rows = con.execute(
        """WITH days AS (SELECT unnest($days)::DATE AS d),
           active AS (
               (SELECT days.d, c.service_id FROM days JOIN transit_calendar c
                   ON days.d BETWEEN c.start_date AND c.end_date
                  WHERE c.feed_id IN (SELECT unnest($feeds))
                    AND CASE isodow(days.d) WHEN 1 THEN c.monday WHEN 2 THEN c.tuesday WHEN 3 THEN c.wednesday
                        WHEN 4 THEN c.thursday WHEN 5 THEN c.friday WHEN 6 THEN c.saturday ELSE c.sunday END
                UNION
                SELECT days.d, x.service_id FROM days JOIN transit_calendar_dates x ON x.date = days.d
                 WHERE x.exception_type = 1 AND x.feed_id IN (SELECT unnest($feeds)))
               EXCEPT
               SELECT days.d, x.service_id FROM days JOIN transit_calendar_dates x ON x.date = days.d
                WHERE x.exception_type = 2 AND x.feed_id IN (SELECT unnest($feeds)))
           SELECT a.d, count(*) FROM active a JOIN transit_trips t USING (service_id) GROUP BY a.d""",
        {"days": [pd.Timestamp(d).date() for d in days], "feeds": list(feed_ids)},
    ).fetchall()
    found = {d: int(n) for d, n in rows}
    return {d: found.get(pd.Timestamp(d).date(), 0) for d in days}


def _fortnight_distance(d: date) -> int:
    month, first, last = INTERNSHIP_FORTNIGHT
    best = 10**6
    for y in (d.year - 1, d.year, d.year + 1):
        a, b = date(y, month, first), date(y, month, last)
        dist = 0 if a <= d <= b else min(abs((d - a).days), abs((d - b).days))
        best = min(best, dist)
    return best


def default_service_date(con, feed_ids: list[str] | None = None, min_share: float = 0.5) -> date:
    """The service date used by default: a Tuesday of the feed's validity closest to June 15-26.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Database holding the ``transit_*`` tables.
    feed_ids : list of str, optional
        Feeds considered (default: every loaded feed with stop times).
    min_share : float
        Tuesdays running fewer trips than ``min_share`` x the busiest Tuesday of the validity
        (public holidays, strikes, works) are skipped.

    Returns
    -------
    datetime.date
        Among the Tuesdays between the first and last service day of the feeds (union of
        ``calendar`` ranges and added ``calendar_dates``), the one closest in days to the
        internship fortnight (June 15-26 of the same, previous or next year); a Tuesday inside
        the fortnight has distance 0; ties go to the earlier date.

    Raises
    ------
    GTFSError
        No routable feed, or no Tuesday with service in the validity.
    """
    feeds = routable_feeds(con)
    if feed_ids:
        feeds = feeds[feeds["feed_id"].isin(feed_ids)]
    ids = feeds["feed_id"].tolist()
    start, end = feeds["start_date"].min(), feeds["end_date"].max()
    if pd.isna(start) or pd.isna(end):
        raise GTFSError(f"{feeds['path'].iat[0]}/calendar.txt", "aucune date de service")
    start, end = pd.Timestamp(start).date(), pd.Timestamp(end).date()
    first = start + timedelta(days=(1 - start.weekday()) % 7)
    tuesdays = []
    d = first
    while d <= end:
        tuesdays.append(d)
        d += timedelta(days=7)
    counts = trip_counts(con, tuesdays, ids)
    busiest = max(counts.values(), default=0)
    if busiest == 0:
        raise GTFSError(
            f"{feeds['path'].iat[0]}/calendar_dates.txt", f"aucun mardi avec des trajets entre le {start} et le {end}"
        )
    ok = [t for t in tuesdays if counts[t] >= min_share * busiest]
    return min(ok, key=lambda t: (_fortnight_distance(t), t))


def morning_departures(
    con, service_date: date | None = None, depart_from: str = DEPART_FROM, depart_to: str = DEPART_TO
) -> pd.DataFrame:
    """Vehicle departures per stop in a time window of the service date (transport supply,
    defined in :mod:`analysis.gtfs.supply`).

    Returns
    -------
    pandas.DataFrame
        ``stop_id, name, commune_code, departures`` for stops with at least one departure
        (``pickup_type != 1``, last stop of a trip excluded) between ``depart_from`` and
        ``depart_to`` inclusive, trips of the previous day past midnight included.
    """
    if service_date is None:
        service_date = default_service_date(con)
    deps = stop_departures_sql(service_date, (depart_from, depart_to))
    return con.execute(
        f"""SELECT s.stop_id, s.name, s.commune_code, d.morning_departures AS departures
              FROM ({deps}) d JOIN transit_stops s USING (feed_id, stop_id)
             ORDER BY departures DESC"""
    ).df()
