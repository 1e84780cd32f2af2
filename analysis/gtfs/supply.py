"""Public-transport supply: the morning departures of each stop, defined once.

A *morning departure* is a row of ``transit_stop_times`` (schema of :mod:`analysis.gtfs`) where
a passenger can board a vehicle that goes on:

- its trip's service runs on the service date (``transit_calendar`` weekday and date range, plus
  ``transit_calendar_dates`` additions, minus its removals); trips of the previous day's services
  count with their times past 24:00 brought back by 24 h;
- it is not the last stop of its trip (nobody boards a terminating vehicle) and its
  ``pickup_type`` is not 1 (no pick-up);
- it leaves within the window (``07:00``-``08:30`` by default), bounds included.

:func:`stop_departures_sql` is the only SQL of this definition; the commune totals of
:func:`analysis.access.transit_supply_sql` (table ``transit_supply``), the stops layer of the maps
(:func:`analysis.outputs.maps.stops_layer`) and :func:`analysis.transit.morning_departures` all read it.
"""

from __future__ import annotations

import datetime as dt

#: Morning window of the school day, bounds included.
MORNING_WINDOW: tuple[str, str] = ("07:00", "08:30")
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def hhmm_seconds(text: str) -> int:
    """``'HH:MM'`` (or ``'HH:MM:SS'``) -> seconds after midnight."""
    parts = [int(p) for p in text.split(":")]
    return parts[0] * 3600 + parts[1] * 60 + (parts[2] if len(parts) > 2 else 0)


def active_services_sql(day: dt.date) -> str:
    """SQL selecting ``feed_id, service_id`` of the services running on ``day``."""
    d = f"DATE '{day.isoformat()}'"
    return f"""
        (SELECT feed_id, service_id FROM transit_calendar
          WHERE {_WEEKDAYS[day.weekday()]} AND {d} BETWEEN start_date AND end_date
         UNION
         SELECT feed_id, service_id FROM transit_calendar_dates WHERE date = {d} AND exception_type = 1)
        EXCEPT
        SELECT feed_id, service_id FROM transit_calendar_dates WHERE date = {d} AND exception_type = 2"""


def stop_departures_sql(day: dt.date, window: tuple[str, str] = MORNING_WINDOW) -> str:
    """SQL giving ``feed_id, stop_id, morning_departures`` (stops with at least one) on ``day``.

    Parameters
    ----------
    day : datetime.date
        The service date.
    window : (str, str)
        Departure window ``('HH:MM', 'HH:MM')``, bounds included.
    """
    t0, t1 = (hhmm_seconds(w) for w in window)
    before = day - dt.timedelta(days=1)
    return f"""
        WITH days AS (
            SELECT feed_id, service_id, 0 AS off FROM ({active_services_sql(day)})
            UNION ALL
            SELECT feed_id, service_id, -86400 AS off FROM ({active_services_sql(before)})
        ),
        st AS (
            SELECT st.feed_id, st.stop_id, st.departure_s + d.off AS t, st.pickup_type,
                   lead(st.stop_sequence) OVER (PARTITION BY st.feed_id, st.trip_id, d.off
                                                ORDER BY st.stop_sequence) AS next_seq
            FROM transit_stop_times st
            JOIN transit_trips tr ON tr.feed_id = st.feed_id AND tr.trip_id = st.trip_id
            JOIN days d ON d.feed_id = tr.feed_id AND d.service_id = tr.service_id
        )
        SELECT feed_id, stop_id, count(*)::BIGINT AS morning_departures
        FROM st
        WHERE next_seq IS NOT NULL AND coalesce(pickup_type, 0) <> 1 AND t BETWEEN {t0} AND {t1}
        GROUP BY feed_id, stop_id"""


def window_note(day: dt.date, window: tuple[str, str] = MORNING_WINDOW) -> str:
    """French sentence saying what the morning departures count."""
    return (
        f"Départs du matin : départs d'un arrêt (hors terminus et arrêts sans montée) "
        f"entre {window[0]} et {window[1]} inclus, le {day.isoformat()}."
    )
