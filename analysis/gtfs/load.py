"""Loading a GTFS feed into the ``transit_*`` tables of DuckDB: :func:`load_into`.

Owns the feed ids (``<feed_id>:`` prefixes), the area kept (Normandie plus a margin), the
tables' DDL and the one-transaction replacement of a feed's rows (see ``docs/schema.md``,
section ``analysis.gtfs``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import config
from analysis.db import has_relation
from analysis.gtfs.feed import TABLES, WEEKDAYS, GTFSError, Progress
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
    pre = f"{feed_id}:"

    stops = feed.tables["stops.txt"]
    lon = pd.to_numeric(stops["stop_lon"].str.strip(), errors="coerce")
    lat = pd.to_numeric(stops["stop_lat"].str.strip(), errors="coerce")
    inside = (lon >= box[0]) & (lon <= box[2]) & (lat >= box[1]) & (lat <= box[3])
    keep_ids = set(stops.loc[inside, "stop_id"])
    # keep the parents of kept stops (stations) even when slightly outside
    parents = set(stops.loc[inside, "parent_station"]) - {""}
    keep = stops["stop_id"].isin(keep_ids | parents)
    if not keep.any():
        raise GTFSError(feed.where("stops.txt"), f"aucun arrêt dans la zone {box}", field="stop_lat")

    say(f"GTFS {feed_id} : horaires", 0.2)
    trips = feed.tables["trips.txt"]
    if feed.has_stop_times:
        st = stop_times_frame(feed, feed.where("stop_times.txt"))
        if feed.has("frequencies.txt"):
            st, trips = expand_frequencies(feed.tables["frequencies.txt"], st, trips)
        st = st[st["stop_id"].isin(keep_ids)]
        trip_keep = set(st["trip_id"])
    else:
        st = None
        trip_keep = set()
    if feed.has_stop_times:
        trips = trips[trips["trip_id"].isin(trip_keep)]
    else:
        # no timetable: keep the routes/trips whose... nothing links trips to stops, keep all
        trips = trips.copy()
    routes = feed.tables["routes.txt"]
    routes = routes[routes["route_id"].isin(set(trips["route_id"]))]
    services = set(trips["service_id"])

    con.execute("BEGIN TRANSACTION")
    try:
        _ensure_tables(con)
        for name in TABLES:
            con.execute(f"DELETE FROM {name} WHERE feed_id = ?", [feed_id])
        counts: dict[str, int] = {}

        s = stops[keep]
        sdf = pd.DataFrame(
            {
                "feed_id": feed_id,
                "stop_id": pre + s["stop_id"],
                "gtfs_stop_id": s["stop_id"],
                "name": s["stop_name"].str.strip(),
                "lon": lon[keep].astype(float),
                "lat": lat[keep].astype(float),
                "location_type": pd.to_numeric(s["location_type"].replace("", "0")).astype("int32"),
                "parent_station": np.where(s["parent_station"] != "", pre + s["parent_station"], None),
            }
        )
        _insert(con, "transit_stops", sdf)
        con.execute(
            "UPDATE transit_stops SET geom = ST_Point(lon, lat) WHERE feed_id = ? "
            "AND lon IS NOT NULL AND lat IS NOT NULL",
            [feed_id],
        )
        if has_relation(con, "communes"):
            say(f"GTFS {feed_id} : communes des arrêts", 0.5)
            con.execute(
                """UPDATE transit_stops AS s SET commune_code = c.code FROM communes AS c
                   WHERE s.feed_id = ? AND s.geom IS NOT NULL AND ST_Contains(c.geom, s.geom)""",
                [feed_id],
            )
        counts["transit_stops"] = len(sdf)

        _insert(
            con,
            "transit_routes",
            pd.DataFrame(
                {
                    "feed_id": feed_id,
                    "route_id": pre + routes["route_id"],
                    "gtfs_route_id": routes["route_id"],
                    "agency_id": _col(routes, "agency_id"),
                    "short_name": _col(routes, "route_short_name").str.strip(),
                    "long_name": _col(routes, "route_long_name").str.strip(),
                    "route_type": pd.to_numeric(routes["route_type"]).astype("int32"),
                }
            ),
        )
        counts["transit_routes"] = len(routes)

        _insert(
            con,
            "transit_trips",
            pd.DataFrame(
                {
                    "feed_id": feed_id,
                    "trip_id": pre + trips["trip_id"],
                    "gtfs_trip_id": trips["trip_id"],
                    "route_id": pre + trips["route_id"],
                    "service_id": pre + trips["service_id"],
                    "headsign": _col(trips, "trip_headsign").str.strip(),
                    "direction_id": _col(trips, "direction_id"),
                }
            ),
        )
        counts["transit_trips"] = len(trips)

        if st is not None:
            n_times = count_of(len(st), "horaire d'arrêt", "horaires d'arrêt")
            say(f"GTFS {feed_id} : {n_times}", 0.7)
            _insert(
                con,
                "transit_stop_times",
                pd.DataFrame(
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
                ),
            )
        counts["transit_stop_times"] = 0 if st is None else len(st)

        if feed.has("calendar.txt"):
            cal = feed.tables["calendar.txt"]
            cal = cal[cal["service_id"].isin(services)]
            cdf = pd.DataFrame({"feed_id": feed_id, "service_id": pre + cal["service_id"]})
            for d in WEEKDAYS:
                cdf[d] = cal[d].str.strip() == "1"
            cdf["start_date"] = pd.to_datetime(cal["start_date"].str.strip(), format="%Y%m%d").dt.date
            cdf["end_date"] = pd.to_datetime(cal["end_date"].str.strip(), format="%Y%m%d").dt.date
            _insert(con, "transit_calendar", cdf)
            counts["transit_calendar"] = len(cdf)
        else:
            counts["transit_calendar"] = 0
        if feed.has("calendar_dates.txt"):
            cd = feed.tables["calendar_dates.txt"]
            cd = cd[cd["service_id"].isin(services)]
            _insert(
                con,
                "transit_calendar_dates",
                pd.DataFrame(
                    {
                        "feed_id": feed_id,
                        "service_id": pre + cd["service_id"],
                        "date": pd.to_datetime(cd["date"].str.strip(), format="%Y%m%d").dt.date,
                        "exception_type": pd.to_numeric(cd["exception_type"]).astype("int32"),
                    }
                ),
            )
            counts["transit_calendar_dates"] = len(cd)
        else:
            counts["transit_calendar_dates"] = 0

        start, end = con.execute(
            """SELECT min(d), max(d) FROM (
                 SELECT start_date AS d FROM transit_calendar WHERE feed_id = $1
                 UNION ALL SELECT end_date FROM transit_calendar WHERE feed_id = $1
                 UNION ALL SELECT date FROM transit_calendar_dates
                           WHERE feed_id = $1 AND exception_type = 1)""",
            [feed_id],
        ).fetchone()
        info = feed.tables.get("feed_info.txt")
        publisher = version = None
        if info is not None and len(info):
            publisher = str(_col(info, "feed_publisher_name").iat[0]) or None
            version = str(_col(info, "feed_version").iat[0]) or None
        if publisher is None and feed.has("agency.txt") and len(feed.tables["agency.txt"]):
            publisher = ", ".join(sorted(set(_col(feed.tables["agency.txt"], "agency_name")) - {""}))
        _insert(
            con,
            "transit_feeds",
            pd.DataFrame(
                [
                    {
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
                ]
            ),
        )
        counts["transit_feeds"] = 1
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    say(
        f"GTFS {feed_id} : {count_of(counts['transit_stops'], 'arrêt')}, "
        f"{count_of(counts['transit_trips'], 'trajet')}, {count_of(counts['transit_stop_times'], 'horaire')}",
        1.0,
    )
    return counts
