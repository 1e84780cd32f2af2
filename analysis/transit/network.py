"""The timetable of one service date as numpy arrays: :class:`TransitNetwork`.

Owns the construction of the sorted connection arrays from the ``transit_*`` tables (or from a
GTFS file loaded into a scratch database), trips of the previous day running past midnight
included, and the walking transfers between stops, cached per setting.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.gtfs import GTFSError
from analysis.transit.model import (
    DAY_S,
    DETOUR_FACTOR,
    MAX_TRANSFER_M,
    WALK_KMH,
    lonlat_to_xyz,
    pairs_within,
    walk_seconds,
)
from analysis.transit.service import active_service_ids, default_service_date, routable_feeds


@dataclass
class TransitNetwork:
    """The connections of one service date, sorted by departure time, as numpy arrays.

    Attributes
    ----------
    service_date : datetime.date
    stop_ids, stop_names : numpy.ndarray of str
        Stops used by at least one connection (index = stop number in the arrays below).
    stop_lonlat : numpy.ndarray (n_stops, 2)
    dep_stop, arr_stop : numpy.ndarray of int32
    dep_time, arr_time : numpy.ndarray of int32
        Seconds since midnight of ``service_date`` (may exceed 86,400; trips of the previous
        service day running past midnight appear shifted by -86,400).
    trip : numpy.ndarray of int32
        Index into ``trip_ids`` / ``trip_route`` / ``trip_headsign``.
    can_board, can_alight : numpy.ndarray of bool
        ``pickup_type != 1`` at the departure stop, ``drop_off_type != 1`` at the arrival stop.
    trip_ids, trip_route, trip_headsign : numpy.ndarray of str
    """

    service_date: date
    stop_ids: np.ndarray
    stop_names: np.ndarray
    stop_lonlat: np.ndarray
    dep_stop: np.ndarray
    arr_stop: np.ndarray
    dep_time: np.ndarray
    arr_time: np.ndarray
    trip: np.ndarray
    can_board: np.ndarray
    can_alight: np.ndarray
    trip_ids: np.ndarray
    trip_route: np.ndarray
    trip_headsign: np.ndarray
    feeds: list[str] = field(default_factory=list)
    _xyz: np.ndarray | None = field(default=None, repr=False)
    _transfers: dict = field(default_factory=dict, repr=False)

    # -- construction ------------------------------------------------------------------------
    @classmethod
    def from_duckdb(cls, con, service_date: date | None = None, feed_ids: list[str] | None = None) -> TransitNetwork:
        """Build the network of ``service_date`` from the ``transit_*`` tables.

        Parameters
        ----------
        con : duckdb.DuckDBPyConnection
        service_date : datetime.date, optional
            Default :func:`default_service_date`.
        feed_ids : list of str, optional
            Restrict to these feeds (default: all feeds with stop times).

        Raises
        ------
        GTFSError
            No feed with stop times; date outside every feed's validity (expired calendar);
            no trip running that day.
        """
        feeds = routable_feeds(con)
        if feed_ids:
            feeds = feeds[feeds["feed_id"].isin(feed_ids)]
            if feeds.empty:
                raise GTFSError("transit_feeds", f"flux inconnus ou sans horaires : {feed_ids}")
        ids = feeds["feed_id"].tolist()
        if service_date is None:
            service_date = default_service_date(con, ids)
        if isinstance(service_date, str):
            service_date = date.fromisoformat(service_date)
        start = pd.to_datetime(feeds["start_date"]).min()
        end = pd.to_datetime(feeds["end_date"]).max()
        cal_file = f"{feeds['path'].iat[0]}/calendar.txt (ou calendar_dates.txt)"
        if pd.isna(start) or not (start.date() <= service_date <= end.date()):
            raise GTFSError(
                cal_file,
                f"la date {service_date.isoformat()} est hors de la validité du "
                f"calendrier ({'?' if pd.isna(start) else start.date()} → "
                f"{'?' if pd.isna(end) else end.date()}) : calendrier expiré ou pas encore en "
                "vigueur ; choisissez une date dans la validité",
                field="date",
            )
        today = active_service_ids(con, service_date, ids)
        yesterday = active_service_ids(con, service_date - timedelta(days=1), ids)
        if not today:
            raise GTFSError(cal_file, f"aucun service ne circule le {service_date.isoformat()}", field="date")
        st = con.execute(
            """WITH days AS (
                   SELECT unnest($today) AS service_id, 0 AS day_offset
                   UNION ALL SELECT unnest($yesterday), -1)
               SELECT t.trip_id, d.day_offset, st.stop_sequence, st.stop_id,
                      st.arrival_s, st.departure_s, st.pickup_type, st.drop_off_type
                 FROM transit_trips t JOIN days d USING (service_id)
                 JOIN transit_stop_times st USING (feed_id, trip_id)
                WHERE t.feed_id IN (SELECT unnest($feeds))
                ORDER BY t.trip_id, d.day_offset, st.stop_sequence""",
            {"today": today, "yesterday": yesterday or [""], "feeds": ids},
        ).df()
        if st.empty:
            raise GTFSError(cal_file, f"aucun trajet ne circule le {service_date.isoformat()}", field="date")
        trips = (
            con.execute(
                """SELECT t.trip_id, coalesce(nullif(r.short_name, ''), r.long_name, '') AS route,
                      coalesce(t.headsign, '') AS headsign
                 FROM transit_trips t LEFT JOIN transit_routes r USING (feed_id, route_id)
                WHERE t.feed_id IN (SELECT unnest(?))""",
                [ids],
            )
            .df()
            .set_index("trip_id")
        )
        stops = (
            con.execute("SELECT stop_id, name, lon, lat FROM transit_stops WHERE feed_id IN (SELECT unnest(?))", [ids])
            .df()
            .set_index("stop_id")
        )
        return cls._from_stop_times(service_date, st, trips, stops, ids)

    @classmethod
    def from_gtfs(
        cls, path: str | Path, service_date: date | None = None, bbox=(-180.0, -90.0, 180.0, 90.0)
    ) -> TransitNetwork:
        """Read a GTFS zip or folder (whole feed by default) and build the network of one date."""
        from analysis import db, gtfs

        con = db.connect()
        try:
            gtfs.load_into(con, path, feed_id="feed", bbox=bbox)
            return cls.from_duckdb(con, service_date)
        finally:
            con.close()

    @classmethod
    def _from_stop_times(
        cls, service_date, st: pd.DataFrame, trips: pd.DataFrame, stops: pd.DataFrame, feed_ids
    ) -> TransitNetwork:
        key = st["trip_id"].astype(str) + "@" + st["day_offset"].astype(str)
        trip_codes, trip_keys = pd.factorize(key, sort=False)
        shift = st["day_offset"].to_numpy(dtype=np.int64) * DAY_S
        arr = st["arrival_s"].to_numpy(dtype=np.int64) + shift
        dep = st["departure_s"].to_numpy(dtype=np.int64) + shift
        stop_codes, stop_keys = pd.factorize(st["stop_id"], sort=True)
        same = trip_codes[1:] == trip_codes[:-1]
        i = np.flatnonzero(same)  # connection from row i to row i + 1
        c_dep = dep[i]
        c_arr = arr[i + 1]
        keep = c_dep >= 0  # previous-day connections still running after midnight
        i, c_dep, c_arr = i[keep], c_dep[keep], c_arr[keep]
        c_trip = trip_codes[i]
        c_seq = st["stop_sequence"].to_numpy()[i]
        order = np.lexsort((c_seq, c_trip, c_arr, c_dep))
        i, c_dep, c_arr, c_trip = i[order], c_dep[order], c_arr[order], c_trip[order]
        pick = st["pickup_type"].to_numpy()
        drop = st["drop_off_type"].to_numpy()
        # renumber stops to those used by connections
        used = np.unique(np.concatenate([stop_codes[i], stop_codes[i + 1]]))
        remap = np.full(len(stop_keys), -1, dtype=np.int64)
        remap[used] = np.arange(len(used))
        sid = np.asarray(stop_keys)[used]
        info = stops.reindex(sid)
        trip_id_of = np.array([k.rsplit("@", 1)[0] for k in trip_keys], dtype=object)
        tinfo = trips.reindex(trip_id_of)
        return cls(
            service_date=service_date,
            stop_ids=sid.astype(str),
            stop_names=info["name"].fillna("").to_numpy(dtype=str),
            stop_lonlat=info[["lon", "lat"]].to_numpy(dtype=float),
            dep_stop=remap[stop_codes[i]].astype(np.int32),
            arr_stop=remap[stop_codes[i + 1]].astype(np.int32),
            dep_time=c_dep.astype(np.int32),
            arr_time=c_arr.astype(np.int32),
            trip=c_trip.astype(np.int32),
            can_board=pick[i] != 1,
            can_alight=drop[i + 1] != 1,
            trip_ids=trip_id_of.astype(str),
            trip_route=tinfo["route"].fillna("").to_numpy(dtype=str),
            trip_headsign=tinfo["headsign"].fillna("").to_numpy(dtype=str),
            feeds=list(feed_ids),
        )

    # -- geometry ------------------------------------------------------------------------------
    @property
    def n_stops(self) -> int:
        return len(self.stop_ids)

    @property
    def n_connections(self) -> int:
        return len(self.dep_time)

    @property
    def stop_xyz(self) -> np.ndarray:
        if self._xyz is None:
            self._xyz = lonlat_to_xyz(self.stop_lonlat)
        return self._xyz

    def transfers(
        self, max_transfer_m: float = MAX_TRANSFER_M, walk_kmh: float = WALK_KMH, detour: float = DETOUR_FACTOR
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Walking transfers between distinct stops: (from, to, seconds), sorted by ``from``."""
        k = (float(max_transfer_m), float(walk_kmh), float(detour))
        if k not in self._transfers:
            a, b, d = pairs_within(self.stop_xyz, self.stop_xyz, max_transfer_m)
            keep = a != b
            a, b, d = a[keep], b[keep], d[keep]
            order = np.lexsort((b, a))
            w = np.ceil(walk_seconds(d[order], walk_kmh, detour)).astype(np.int32)
            self._transfers[k] = (a[order].astype(np.int32), b[order].astype(np.int32), w)
        return self._transfers[k]

    def __repr__(self) -> str:  # pragma: no cover - cosmetic
        return (
            f"TransitNetwork({self.service_date}, {self.n_stops} stops, "
            f"{self.n_connections} connections, {len(self.trip_ids)} trips)"
        )
