"""Loading a GTFS feed into the ``transit_*`` tables of DuckDB: :func:`load_into`.

Owns the feed ids (``<feed_id>:`` prefixes), the area kept (Normandie plus a margin), the
tables' DDL and the one-transaction replacement of a feed's rows (see ``docs/schema.md``,
section ``analysis.gtfs``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import config
from analysis.db import has_relation
from analysis.gtfs.feed import TABLES, WEEKDAYS, Feed, GTFSError, Progress
from analysis.gtfs.reading import read_feed
from analysis.gtfs.timetable import expand_frequencies, stop_times_frame
from analysis.text import count as count_of


def _slug(text: str) -> str:
    s = re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_").lower()
    return s or "gtfs"


def default_feed_id(path: str | Path) -> str:
    """Feed id derived from the file or folder name (``export-ter-gtfs-last.zip`` -> ``export-ter-gtfs-last``)."""
    p = Path(path)
    return _slug(p.stem if p.suffix.lower() == ".zip" else p.name)


def _bbox_or_default(bbox):
    if bbox is None:
        lon0, lat0, lon1, lat1 = config.NORMANDIE_BBOX
        m = config.BBOX_MARGIN_DEG
        return (lon0 - m, lat0 - m, lon1 + m, lat1 + m)
    return tuple(float(x) for x in bbox)


_DDL = {
    "transit_feeds": """feed_id VARCHAR, path VARCHAR, publisher VARCHAR, feed_version VARCHAR,
        start_date DATE, end_date DATE, has_stop_times BOOLEAN, bbox VARCHAR, note VARCHAR,
        loaded_at TIMESTAMP""",
    "transit_stops": """feed_id VARCHAR, stop_id VARCHAR, gtfs_stop_id VARCHAR, name VARCHAR,
        lon DOUBLE, lat DOUBLE, location_type INTEGER, parent_station VARCHAR,
        commune_code VARCHAR, geom GEOMETRY""",
    "transit_routes": """feed_id VARCHAR, route_id VARCHAR, gtfs_route_id VARCHAR,
        agency_id VARCHAR, short_name VARCHAR, long_name VARCHAR, route_type INTEGER""",
    "transit_trips": """feed_id VARCHAR, trip_id VARCHAR, gtfs_trip_id VARCHAR, route_id VARCHAR,
        service_id VARCHAR, headsign VARCHAR, direction_id VARCHAR""",
    "transit_stop_times": """feed_id VARCHAR, trip_id VARCHAR, stop_sequence INTEGER,
        stop_id VARCHAR, arrival_s INTEGER, departure_s INTEGER, pickup_type INTEGER,
        drop_off_type INTEGER, interpolated BOOLEAN""",
    "transit_calendar": """feed_id VARCHAR, service_id VARCHAR, monday BOOLEAN, tuesday BOOLEAN,
        wednesday BOOLEAN, thursday BOOLEAN, friday BOOLEAN, saturday BOOLEAN, sunday BOOLEAN,
        start_date DATE, end_date DATE""",
    "transit_calendar_dates": """feed_id VARCHAR, service_id VARCHAR, date DATE,
        exception_type INTEGER""",
}


def _ensure_tables(con) -> None:
    for name in TABLES:
        con.execute(f"CREATE TABLE IF NOT EXISTS {name} ({_DDL[name]})")


def _insert(con, table: str, df: pd.DataFrame) -> None:
    con.register("_gtfs_df", df)
    try:
        cols = ", ".join(df.columns)
        con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _gtfs_df")
    finally:
        con.unregister("_gtfs_df")


def _col(df: pd.DataFrame, name: str) -> pd.Series:
    return df[name] if name in df.columns else pd.Series([""] * len(df), index=df.index)


@dataclass(frozen=True)
class FeedSelection:
    """The part of a read feed kept inside the area: what :func:`load_into` writes.

    Attributes
    ----------
    stops : pandas.DataFrame
        Stops inside the area, and the parent stations of those (``stops.txt`` rows).
    lon, lat : pandas.Series
        Coordinates of ``stops`` (floats, NaN when unreadable), same index.
    stop_times : pandas.DataFrame or None
        Stop times at stops inside the area (frequencies expanded); None without ``stop_times.txt``.
    trips, routes : pandas.DataFrame
        Trips with a stop time left (all of them without ``stop_times.txt``), and their routes.
    services : set of str
        Service ids of the kept trips.
    """

    stops: pd.DataFrame
    lon: pd.Series
    lat: pd.Series
    stop_times: pd.DataFrame | None
    trips: pd.DataFrame
    routes: pd.DataFrame
    services: set[str]


def _kept_stops(feed: Feed, box) -> tuple[pd.Series, pd.Series, pd.Series, set[str]]:
    """Stops kept: ``(keep mask, lon, lat, ids of the stops inside box)``.

    The parents of kept stops (stations) are kept even when slightly outside.
    """
    stops = feed.tables["stops.txt"]
    lon = pd.to_numeric(stops["stop_lon"].str.strip(), errors="coerce")
    lat = pd.to_numeric(stops["stop_lat"].str.strip(), errors="coerce")
    inside = (lon >= box[0]) & (lon <= box[2]) & (lat >= box[1]) & (lat <= box[3])
    keep_ids = set(stops.loc[inside, "stop_id"])
    parents = set(stops.loc[inside, "parent_station"]) - {""}
    keep = stops["stop_id"].isin(keep_ids | parents)
    if not keep.any():
        raise GTFSError(feed.where("stops.txt"), f"aucun arrêt dans la zone {box}", field="stop_lat")
    return keep, lon, lat, keep_ids


def _kept_timetable(feed: Feed, keep_ids: set[str]) -> tuple[pd.DataFrame | None, pd.DataFrame]:
    """Stop times at kept stops (frequencies expanded) and the trips that still have one.

    Without ``stop_times.txt`` nothing links trips to stops: no stop times, every trip kept.
    """
    trips = feed.tables["trips.txt"]
    if not feed.has_stop_times:
        return None, trips.copy()
    st = stop_times_frame(feed, feed.where("stop_times.txt"))
    if feed.has("frequencies.txt"):
        st, trips = expand_frequencies(feed.tables["frequencies.txt"], st, trips)
    st = st[st["stop_id"].isin(keep_ids)]
    return st, trips[trips["trip_id"].isin(set(st["trip_id"]))]


def select_feed(feed: Feed, box, say: Progress, feed_id: str) -> FeedSelection:
    """The stops, stop times, trips, routes and services of ``feed`` kept inside ``box``.

    Raises
    ------
    GTFSError
        When no stop of the feed lies inside ``box``.
    """
    keep, lon, lat, keep_ids = _kept_stops(feed, box)
    say(f"GTFS {feed_id} : horaires", 0.2)
    st, trips = _kept_timetable(feed, keep_ids)
    routes = feed.tables["routes.txt"]
    return FeedSelection(
        stops=feed.tables["stops.txt"][keep],
        lon=lon[keep],
        lat=lat[keep],
        stop_times=st,
        trips=trips,
        routes=routes[routes["route_id"].isin(set(trips["route_id"]))],
        services=set(trips["service_id"]),
    )


def _write_stops(con, feed_id: str, sel: FeedSelection, say: Progress) -> int:
    """Insert the kept stops, their point geometry and (when ``communes`` exists) their commune."""
    pre = f"{feed_id}:"
    s = sel.stops
    sdf = pd.DataFrame(
        {
            "feed_id": feed_id,
            "stop_id": pre + s["stop_id"],
            "gtfs_stop_id": s["stop_id"],
            "name": s["stop_name"].str.strip(),
            "lon": sel.lon.astype(float),
            "lat": sel.lat.astype(float),
            "location_type": pd.to_numeric(s["location_type"].replace("", "0")).astype("int32"),
            "parent_station": np.where(s["parent_station"] != "", pre + s["parent_station"], None),
        }
    )
    _insert(con, "transit_stops", sdf)
    con.execute(
        "UPDATE transit_stops SET geom = ST_Point(lon, lat) WHERE feed_id = ? AND lon IS NOT NULL AND lat IS NOT NULL",
        [feed_id],
    )
    if has_relation(con, "communes"):
        say(f"GTFS {feed_id} : communes des arrêts", 0.5)
        con.execute(
            """UPDATE transit_stops AS s SET commune_code = c.code FROM communes AS c
               WHERE s.feed_id = ? AND s.geom IS NOT NULL AND ST_Contains(c.geom, s.geom)""",
            [feed_id],
        )
    return len(sdf)


def _write_routes(con, feed_id: str, routes: pd.DataFrame) -> int:
    """Insert the routes of the kept trips."""
    pre = f"{feed_id}:"
    frame = pd.DataFrame(
        {
            "feed_id": feed_id,
            "route_id": pre + routes["route_id"],
            "gtfs_route_id": routes["route_id"],
            "agency_id": _col(routes, "agency_id"),
            "short_name": _col(routes, "route_short_name").str.strip(),
            "long_name": _col(routes, "route_long_name").str.strip(),
            "route_type": pd.to_numeric(routes["route_type"]).astype("int32"),
        }
    )
    _insert(con, "transit_routes", frame)
    return len(routes)


def _write_trips(con, feed_id: str, trips: pd.DataFrame) -> int:
    """Insert the kept trips."""
    pre = f"{feed_id}:"
    frame = pd.DataFrame(
        {
            "feed_id": feed_id,
            "trip_id": pre + trips["trip_id"],
            "gtfs_trip_id": trips["trip_id"],
            "route_id": pre + trips["route_id"],
            "service_id": pre + trips["service_id"],
            "headsign": _col(trips, "trip_headsign").str.strip(),
            "direction_id": _col(trips, "direction_id"),
        }
    )
    _insert(con, "transit_trips", frame)
    return len(trips)


def _write_stop_times(con, feed_id: str, st: pd.DataFrame | None, say: Progress) -> int:
    """Insert the kept stop times (none without ``stop_times.txt``)."""
    if st is None:
        return 0
    pre = f"{feed_id}:"
    n_times = count_of(len(st), "horaire d'arrêt", "horaires d'arrêt")
    say(f"GTFS {feed_id} : {n_times}", 0.7)
    frame = pd.DataFrame(
        {
            "feed_id": feed_id,
            "trip_id": pre + st["trip_id"],
            "stop_sequence": st["stop_sequence"].astype("int64"),
            "stop_id": pre + st["stop_id"],
            "arrival_s": st["arrival_s"].astype("int64"),
            "departure_s": st["departure_s"].astype("int64"),
            "pickup_type": st["pickup_type"].astype("int32"),
            "drop_off_type": st["drop_off_type"].astype("int32"),
            "interpolated": st["interpolated"],
        }
    )
    _insert(con, "transit_stop_times", frame)
    return len(st)


def _gtfs_dates(values: pd.Series) -> pd.Series:
    """``YYYYMMDD`` texts as dates."""
    return pd.to_datetime(values.str.strip(), format="%Y%m%d").dt.date


def _write_calendar(con, feed_id: str, feed: Feed, services: set[str]) -> int:
    """Insert the ``calendar.txt`` rows of the kept services (0 rows without the file)."""
    if not feed.has("calendar.txt"):
        return 0
    cal = feed.tables["calendar.txt"]
    cal = cal[cal["service_id"].isin(services)]
    cdf = pd.DataFrame({"feed_id": feed_id, "service_id": f"{feed_id}:" + cal["service_id"]})
    for d in WEEKDAYS:
        cdf[d] = cal[d].str.strip() == "1"
    cdf["start_date"] = _gtfs_dates(cal["start_date"])
    cdf["end_date"] = _gtfs_dates(cal["end_date"])
    _insert(con, "transit_calendar", cdf)
    return len(cdf)


def _write_calendar_dates(con, feed_id: str, feed: Feed, services: set[str]) -> int:
    """Insert the ``calendar_dates.txt`` rows of the kept services (0 rows without the file)."""
    if not feed.has("calendar_dates.txt"):
        return 0
    cd = feed.tables["calendar_dates.txt"]
    cd = cd[cd["service_id"].isin(services)]
    frame = pd.DataFrame(
        {
            "feed_id": feed_id,
            "service_id": f"{feed_id}:" + cd["service_id"],
            "date": _gtfs_dates(cd["date"]),
            "exception_type": pd.to_numeric(cd["exception_type"]).astype("int32"),
        }
    )
    _insert(con, "transit_calendar_dates", frame)
    return len(cd)


def _publisher_and_version(feed: Feed) -> tuple[str | None, str | None]:
    """Publisher and version from ``feed_info.txt``; publisher else the agency names."""
    info = feed.tables.get("feed_info.txt")
    publisher = version = None
    if info is not None and len(info):
        publisher = str(_col(info, "feed_publisher_name").iat[0]) or None
        version = str(_col(info, "feed_version").iat[0]) or None
    if publisher is None and feed.has("agency.txt") and len(feed.tables["agency.txt"]):
        publisher = ", ".join(sorted(set(_col(feed.tables["agency.txt"], "agency_name")) - {""}))
    return publisher, version


def _write_provenance(con, feed_id: str, feed: Feed, path: Path, box) -> int:
    """Insert the ``transit_feeds`` row: source, publisher, validity (from the calendars written), area."""
    start, end = con.execute(
        """SELECT min(d), max(d) FROM (
             SELECT start_date AS d FROM transit_calendar WHERE feed_id = $1
             UNION ALL SELECT end_date FROM transit_calendar WHERE feed_id = $1
             UNION ALL SELECT date FROM transit_calendar_dates
                       WHERE feed_id = $1 AND exception_type = 1)""",
        [feed_id],
    ).fetchone()
    publisher, version = _publisher_and_version(feed)
    row = {
        "feed_id": feed_id,
        "path": str(path),
        "publisher": publisher,
        "feed_version": version,
        "start_date": start,
        "end_date": end,
        "has_stop_times": bool(feed.has_stop_times),
        "bbox": ",".join(f"{v:g}" for v in box),
        "note": "; ".join(feed.warnings) or None,
        "loaded_at": datetime.now(UTC).replace(tzinfo=None),
    }
    _insert(con, "transit_feeds", pd.DataFrame([row]))
    return 1


def _replace_feed_rows(
    con, feed_id: str, feed: Feed, sel: FeedSelection, path: Path, box, say: Progress
) -> dict[str, int]:
    """Replace the rows of ``feed_id`` in every ``transit_*`` table, in one transaction."""
    con.execute("BEGIN TRANSACTION")
    try:
        _ensure_tables(con)
        for name in TABLES:
            con.execute(f"DELETE FROM {name} WHERE feed_id = ?", [feed_id])
        counts = {
            "transit_stops": _write_stops(con, feed_id, sel, say),
            "transit_routes": _write_routes(con, feed_id, sel.routes),
            "transit_trips": _write_trips(con, feed_id, sel.trips),
            "transit_stop_times": _write_stop_times(con, feed_id, sel.stop_times, say),
            "transit_calendar": _write_calendar(con, feed_id, feed, sel.services),
            "transit_calendar_dates": _write_calendar_dates(con, feed_id, feed, sel.services),
        }
        counts["transit_feeds"] = _write_provenance(con, feed_id, feed, path, box)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return counts


def load_into(
    con, path: str | Path, feed_id: str | None = None, bbox=None, progress: Progress | None = None
) -> dict[str, int]:
    """Load a GTFS feed into the ``transit_*`` tables of a DuckDB connection.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Target database (spatial extension loaded, see :func:`analysis.db.connect`).
    path : str or pathlib.Path
        GTFS zip or folder.
    feed_id : str, optional
        Short id of the feed; default derived from the file name. Rows of a previous load of the
        same ``feed_id`` are replaced; other feeds are kept.
    bbox : tuple (lon_min, lat_min, lon_max, lat_max), optional
        Area kept. Default: :data:`analysis.config.NORMANDIE_BBOX` widened by
        :data:`analysis.config.BBOX_MARGIN_DEG`. Stops outside are dropped, and so are the
        stop times at those stops, trips with no stop time left, and unused routes/services.
    progress : callable, optional
        ``progress(message, fraction)``.

    Returns
    -------
    dict of str to int
        Rows loaded per table for this feed.

    Raises
    ------
    GTFSError
        See :func:`read_feed`; also when no stop of the feed lies inside ``bbox``.
    """
    say = progress or (lambda msg, frac=None: None)
    path = Path(path)
    feed_id = _slug(feed_id) if feed_id else default_feed_id(path)
    box = _bbox_or_default(bbox)
    say(f"GTFS {feed_id} : lecture de {path}", 0.0)
    feed = read_feed(path)
    for w in feed.warnings:
        say(f"Attention : {w}", None)
    sel = select_feed(feed, box, say, feed_id)
    counts = _replace_feed_rows(con, feed_id, feed, sel, path, box, say)
    say(
        f"GTFS {feed_id} : {count_of(counts['transit_stops'], 'arrêt')}, "
        f"{count_of(counts['transit_trips'], 'trajet')}, {count_of(counts['transit_stop_times'], 'horaire')}",
        1.0,
    )
    return counts
