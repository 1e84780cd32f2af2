"""Public-transport travel times: a Connection Scan (CSA) engine on numpy arrays.

The timetable of ONE service date is turned into a sorted array of *connections* (a vehicle
going from one stop to the next stop of its trip). Earliest arrivals are found by scanning
these connections once (Dibbelt, Pajor, Strasser & Wagner, "Connection Scan Algorithm",
2013/2018), either forward for many starting points at once (labels are a 2-D array
``(stops, starts)``, :func:`earliest_arrivals`) or backward as a profile scan for all
destinations at once (:func:`_profile_arrive`), so that each connection costs a handful of
numpy operations on vectors. Both give identical results; ``transit_matrix(method="auto")``
picks the cheaper one.

Model (see ``docs/transit.md`` for the full definition of the ``minutes`` figure):

- walking: straight-line (great-circle) distance x :data:`DETOUR_FACTOR` at ``walk_kmh``;
- access (home -> first stop) and egress (last stop -> destination): one walk each, at most
  ``max_access_m`` straight-line metres;
- transfers: after alighting, at most one walk to another stop at most ``max_transfer_m``
  straight-line metres away (0 s to change vehicles at the same stop; GTFS ``transfers.txt``
  is not used);
- a trip is boarded only where ``pickup_type != 1`` and left only where ``drop_off_type != 1``;
- service days follow ``calendar`` and ``calendar_dates``; trips of the day before whose times
  run past 24:00 are included, shifted by -24 h;
- walking the whole way (no vehicle) is also an option of the mode, when it arrives in time.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from analysis.gtfs import GTFSError
from analysis.supply import stop_departures_sql

Progress = Callable[[str, "float | None"], None]

EARTH_RADIUS_M = 6_371_008.8
#: Straight-line distance is multiplied by this factor to estimate walked distance.
DETOUR_FACTOR = 1.3
WALK_KMH = 4.5
MAX_ACCESS_M = 1500.0
MAX_TRANSFER_M = 400.0
DEPART_FROM = "07:00"
DEPART_TO = "08:30"
ARRIVE_BY = "09:00"
#: The June internship fortnight (month, first day, last day) used to pick the service date.
INTERNSHIP_FORTNIGHT = (6, 15, 26)
_INF = np.int32(2**30)
_DAY = 86400


# ----------------------------------------------------------------------------------------------
# small helpers
# ----------------------------------------------------------------------------------------------


def parse_hhmm(value: str | int | float) -> int:
    """``"07:30"`` (or ``"07:30:00"``, or seconds) -> seconds since midnight."""
    if isinstance(value, (int, float, np.integer, np.floating)):
        return int(value)
    parts = str(value).strip().split(":")
    if len(parts) not in (2, 3) or not all(p.isdigit() for p in parts):
        raise ValueError(f"heure invalide « {value} » (format HH:MM attendu)")
    h, m = int(parts[0]), int(parts[1])
    s = int(parts[2]) if len(parts) == 3 else 0
    return h * 3600 + m * 60 + s


def format_hhmm(seconds: float) -> str:
    """Seconds since midnight -> ``"HH:MM"`` (hours past 24 kept, seconds rounded down)."""
    s = int(math.floor(seconds))
    return f"{s // 3600:02d}:{(s % 3600) // 60:02d}"


def lonlat_to_xyz(lonlat: np.ndarray) -> np.ndarray:
    """Points (n, 2) lon/lat in degrees -> (n, 3) metres on a sphere (chord = straight line)."""
    ll = np.radians(np.asarray(lonlat, dtype=float).reshape(-1, 2))
    lon, lat = ll[:, 0], ll[:, 1]
    c = np.cos(lat)
    return EARTH_RADIUS_M * np.column_stack([c * np.cos(lon), c * np.sin(lon), np.sin(lat)])


def _chord_for(dist_m: float) -> float:
    return 2 * EARTH_RADIUS_M * math.sin(min(dist_m, 1e7) / (2 * EARTH_RADIUS_M))


def _arc(chord: np.ndarray) -> np.ndarray:
    return 2 * EARTH_RADIUS_M * np.arcsin(np.clip(np.asarray(chord) / (2 * EARTH_RADIUS_M), 0, 1))


def haversine_m(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Great-circle distance in metres between lon/lat arrays ``a`` (..., 2) and ``b`` (..., 2)."""
    a = np.radians(np.asarray(a, dtype=float))
    b = np.radians(np.asarray(b, dtype=float))
    dlon = b[..., 0] - a[..., 0]
    dlat = b[..., 1] - a[..., 1]
    h = np.sin(dlat / 2) ** 2 + np.cos(a[..., 1]) * np.cos(b[..., 1]) * np.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0, 1)))


def walk_seconds(dist_m, walk_kmh: float = WALK_KMH, detour: float = DETOUR_FACTOR):
    """Walking time (s) for a straight-line distance: ``dist x detour / speed``."""
    return np.asarray(dist_m, dtype=float) * detour / (walk_kmh / 3.6)


def pairs_within(a_xyz: np.ndarray, b_xyz: np.ndarray, max_m: float):
    """All pairs (i in a, j in b) closer than ``max_m`` metres: (i, j, distance_m) arrays."""
    if len(a_xyz) == 0 or len(b_xyz) == 0:
        e = np.zeros(0, dtype=np.int64)
        return e, e, np.zeros(0)
    ta, tb = cKDTree(a_xyz), cKDTree(b_xyz)
    sdm = ta.sparse_distance_matrix(tb, _chord_for(max_m), output_type="coo_matrix")
    i, j, d = sdm.row.astype(np.int64), sdm.col.astype(np.int64), _arc(sdm.data)
    # sparse_distance_matrix drops exact zeros: add the coincident pairs back
    zi, zj = _coincident(ta, tb)
    if len(zi):
        have = set(zip(i.tolist(), j.tolist()))
        extra = [(x, y) for x, y in zip(zi.tolist(), zj.tolist()) if (x, y) not in have]
        if extra:
            ex = np.array(extra, dtype=np.int64)
            i = np.concatenate([i, ex[:, 0]])
            j = np.concatenate([j, ex[:, 1]])
            d = np.concatenate([d, np.zeros(len(ex))])
    keep = d <= max_m
    return i[keep], j[keep], d[keep]


def _coincident(ta: cKDTree, tb: cKDTree):
    lists = ta.query_ball_tree(tb, 1e-6)
    ii = [k for k, lst in enumerate(lists) for _ in lst]
    jj = [x for lst in lists for x in lst]
    return np.array(ii, dtype=np.int64), np.array(jj, dtype=np.int64)


# ----------------------------------------------------------------------------------------------
# service days
# ----------------------------------------------------------------------------------------------

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


def _routable_feeds(con) -> pd.DataFrame:
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
    feeds = _routable_feeds(con)
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
    counts = {t: _trip_count(con, t, ids) for t in tuesdays}
    busiest = max(counts.values(), default=0)
    if busiest == 0:
        raise GTFSError(
            f"{feeds['path'].iat[0]}/calendar_dates.txt", f"aucun mardi avec des trajets entre le {start} et le {end}"
        )
    ok = [t for t in tuesdays if counts[t] >= min_share * busiest]
    return min(ok, key=lambda t: (_fortnight_distance(t), t))


# ----------------------------------------------------------------------------------------------
# the network of one service date
# ----------------------------------------------------------------------------------------------


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
        feeds = _routable_feeds(con)
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
        shift = st["day_offset"].to_numpy(dtype=np.int64) * _DAY
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


# ----------------------------------------------------------------------------------------------
# the vectorised scan
# ----------------------------------------------------------------------------------------------


def _footpath_lists(net: TransitNetwork, max_transfer_m, walk_kmh, detour):
    a, b, w = net.transfers(max_transfer_m, walk_kmh, detour)
    starts = np.searchsorted(a, np.arange(net.n_stops + 1))
    return [(b[starts[s] : starts[s + 1]], w[starts[s] : starts[s + 1]]) for s in range(net.n_stops)]


def earliest_arrivals(
    net: TransitNetwork,
    start_stop: np.ndarray,
    start_time: np.ndarray,
    until: int,
    max_transfer_m: float = MAX_TRANSFER_M,
    walk_kmh: float = WALK_KMH,
    detour: float = DETOUR_FACTOR,
    footpaths=None,
) -> tuple[np.ndarray, np.ndarray]:
    """Earliest arrival at every stop for many (stop, time) starts, scanning connections once.

    Parameters
    ----------
    net : TransitNetwork
    start_stop, start_time : numpy.ndarray (B,)
        Start ``b`` is at stop ``start_stop[b]`` at ``start_time[b]`` seconds.
    until : int
        Connections departing after this time are not scanned.

    Returns
    -------
    ea, ride : numpy.ndarray (n_stops, B) of int32
        ``ea``: earliest time one can be at each stop (start, vehicle arrival or one walking
        transfer after a vehicle); ``ride``: earliest arrival *by vehicle* at each stop (what
        an egress walk may start from). Unreached: ``2**30``.
    """
    start_stop = np.asarray(start_stop, dtype=np.int64)
    start_time = np.asarray(start_time, dtype=np.int64)
    nb = len(start_stop)
    ea = np.full((net.n_stops, nb), _INF, dtype=np.int32)
    ride = np.full((net.n_stops, nb), _INF, dtype=np.int32)
    if nb == 0:
        return ea, ride
    ea[start_stop, np.arange(nb)] = start_time
    fp = footpaths if footpaths is not None else _footpath_lists(net, max_transfer_m, walk_kmh, detour)
    lo = int(np.searchsorted(net.dep_time, start_time.min(), side="left"))
    hi = int(np.searchsorted(net.dep_time, until, side="right"))
    if hi <= lo:
        return ea, ride
    trips_local, trip_idx = np.unique(net.trip[lo:hi], return_inverse=True)
    reached = np.zeros((len(trips_local), nb), dtype=bool)
    # scalar bookkeeping lets the loop skip connections no start can use: min_ea[s] is the
    # minimum of ea[s] over starts, live[t] says whether any start is on board trip t
    min_ea = ea.min(axis=1).tolist()
    live = [False] * len(trips_local)
    ds, as_ = net.dep_stop[lo:hi].tolist(), net.arr_stop[lo:hi].tolist()
    dt, at = net.dep_time[lo:hi].tolist(), net.arr_time[lo:hi].tolist()
    board, alight = net.can_board[lo:hi].tolist(), net.can_alight[lo:hi].tolist()
    tix = trip_idx.tolist()
    cand = np.empty(nb, dtype=np.int32)
    tmp = np.empty(nb, dtype=np.int32)
    for c in range(hi - lo):
        t = tix[c]
        boardable = board[c] and min_ea[ds[c]] <= dt[c]
        if not live[t]:
            if not boardable:
                continue
            live[t] = True
        r = reached[t]
        if boardable:
            np.logical_or(r, ea[ds[c]] <= dt[c], out=r)
        if not alight[c]:
            continue
        s, a = as_[c], at[c]
        np.copyto(cand, _INF)
        cand[r] = a
        np.minimum(ea[s], cand, out=ea[s])
        np.minimum(ride[s], cand, out=ride[s])
        if a < min_ea[s]:
            min_ea[s] = a
        nbrs, ws = fp[s]
        for k in range(len(nbrs)):
            q = nbrs[k]
            np.add(cand, ws[k], out=tmp)
            np.minimum(ea[q], tmp, out=ea[q])
            if a + ws[k] < min_ea[q]:
                min_ea[q] = int(a + ws[k])
    return ea, ride


def _profile_arrive(
    net: TransitNetwork,
    k_stop: np.ndarray,
    k_time: np.ndarray,
    e_s: np.ndarray,
    e_d: np.ndarray,
    e_w: np.ndarray,
    m: int,
    t_end: int,
    fp,
) -> np.ndarray:
    """Arrival time at every destination from every start, by one backward (profile) scan.

    Connections are scanned by decreasing departure time. ``trip_best[t]`` is the best arrival
    vector (over destinations) of someone on board trip ``t`` at the current connection; each
    stop keeps a profile: entries (departure time tau, vector of best arrivals when at the
    stop at tau), cumulative over later departures. An alighting passenger may walk to the
    destinations (egress), stay at the stop or walk one transfer (<= ``max_transfer_m``) and
    look up the profile there. The start (s, tau) reads the entry of s with the smallest
    departure >= tau. Same model, hence same numbers, as :func:`earliest_arrivals`.

    Returns
    -------
    numpy.ndarray (n_starts, m) of float32
        Arrival (s) at each destination, ``inf`` when later than ``t_end`` or unreachable.
    """
    from bisect import bisect_right

    n = net.n_stops
    lo = int(np.searchsorted(net.dep_time, int(k_time.min()), side="left"))
    hi = int(np.searchsorted(net.dep_time, t_end, side="right"))
    order = np.argsort(e_s, kind="stable")
    es_s, es_d, es_w = e_s[order], e_d[order], e_w[order].astype(np.float32)
    bounds = np.searchsorted(es_s, np.arange(n + 1))
    egress = [
        (es_d[bounds[s] : bounds[s + 1]], es_w[bounds[s] : bounds[s + 1]]) if bounds[s + 1] > bounds[s] else None
        for s in range(n)
    ]
    neg_tau: list[list[int]] = [[] for _ in range(n)]  # -tau, ascending (tau descending)
    vecs: list[list[np.ndarray]] = [[] for _ in range(n)]
    trips_local, trip_idx = np.unique(net.trip[lo:hi], return_inverse=True)
    trip_best = np.full((len(trips_local), m), np.inf, dtype=np.float32)
    live = [False] * len(trips_local)
    ds, as_ = net.dep_stop[lo:hi].tolist(), net.arr_stop[lo:hi].tolist()
    dt, at = net.dep_time[lo:hi].tolist(), net.arr_time[lo:hi].tolist()
    board, alight = net.can_board[lo:hi].tolist(), net.can_alight[lo:hi].tolist()
    tix = trip_idx.tolist()

    def lookup(s: int, t: float):
        i = bisect_right(neg_tau[s], -t) - 1
        return vecs[s][i] if i >= 0 else None

    for c in range(hi - lo - 1, -1, -1):
        a = at[c]
        if a > t_end:
            continue
        t = tix[c]
        row = trip_best[t]
        if alight[c]:
            s2 = as_[c]
            eg = egress[s2]
            if eg is not None:
                np.minimum.at(row, eg[0], eg[1] + a)
                live[t] = True
            v = lookup(s2, a)
            if v is not None:
                np.minimum(row, v, out=row)
                live[t] = True
            nbrs, ws = fp[s2]
            for k in range(len(nbrs)):
                v = lookup(int(nbrs[k]), a + int(ws[k]))
                if v is not None:
                    np.minimum(row, v, out=row)
                    live[t] = True
        if board[c] and live[t]:
            s = ds[c]
            tau = dt[c]
            if vecs[s]:
                new = np.minimum(row, vecs[s][-1])
                if neg_tau[s][-1] == -tau:
                    vecs[s][-1] = new
                    continue
            else:
                new = row.copy()
            neg_tau[s].append(-tau)
            vecs[s].append(new)
    out = np.full((len(k_stop), m), np.inf, dtype=np.float32)
    for k, (s, tau) in enumerate(zip(k_stop.tolist(), k_time.tolist())):
        v = lookup(s, tau)
        if v is not None:
            out[k] = v
    out[out > t_end] = np.inf
    return out


def _prepare_endpoints(net, points, max_access_m, walk_kmh, detour):
    """Pairs (point, stop, walk seconds) within ``max_access_m``, sorted by point."""
    p, s, d = pairs_within(lonlat_to_xyz(points), net.stop_xyz, max_access_m)
    order = np.lexsort((s, p))
    return p[order], s[order], np.ceil(walk_seconds(d[order], walk_kmh, detour)).astype(np.int64)


def transit_matrix(
    network: TransitNetwork,
    origins: np.ndarray,
    destinations: np.ndarray,
    depart_from: str = DEPART_FROM,
    depart_to: str = DEPART_TO,
    arrive_by: str = ARRIVE_BY,
    walk_kmh: float = WALK_KMH,
    max_access_m: float = MAX_ACCESS_M,
    max_transfer_m: float = MAX_TRANSFER_M,
    progress: Progress | None = None,
    detour: float = DETOUR_FACTOR,
    walk_only: bool = True,
    batch_size: int = 2048,
    method: str = "auto",
) -> np.ndarray:
    """Door-to-door public-transport minutes for every origin x destination in a morning window.

    For each pair, ``minutes = min over door departure times t in [depart_from, depart_to] of
    (A(t) - t)`` where ``A(t)`` is the earliest door arrival leaving at ``t``, counted only when
    ``A(t) <= arrive_by``; walking the whole way is one of the options (``walk_only``). See
    ``docs/transit.md``.

    Parameters
    ----------
    network : TransitNetwork
    origins, destinations : numpy.ndarray (n, 2) and (m, 2)
        lon/lat, WGS84.
    depart_from, depart_to, arrive_by : str
        ``"HH:MM"``.
    walk_kmh, detour : float
        Walking speed and detour factor (walked = straight line x detour).
    max_access_m, max_transfer_m : float
        Straight-line limits of the access/egress walks and of a transfer walk.
    progress : callable, optional
    walk_only : bool
        Consider walking the whole way (straight line x detour, no distance limit other than the
        window).
    batch_size : int
        Starts scanned together (memory ~ 8 x n_stops x batch_size bytes).
    method : {"auto", "starts", "profile"}
        ``"starts"``: forward scans vectorised over (stop, departure) starts, in batches;
        ``"profile"``: one backward profile scan vectorised over destinations (memory ~ 4 x
        boardable connections in the window x destinations bytes); ``"auto"``: ``"profile"``
        when the starts need more than one batch. Both give identical results (tested).

    Returns
    -------
    numpy.ndarray (n, m) of float
        Minutes; ``np.inf`` where nothing arrives in time.

    Notes
    -----
    Exactness: an optimal journey's latest door departure is ``tau - a`` where ``tau`` is the
    departure time of its first vehicle at stop ``s`` and ``a`` the access walk to ``s``. The
    engine therefore scans from every (stop, departure time) pair ``(s, tau)`` with
    ``depart_from <= tau <= arrive_by`` (many starts per scan), then for each origin combines
    the access walks to ``s`` with these results, clamping the door departure to
    ``depart_to`` (a pupil may leave at ``depart_to`` and wait at the stop). The figure is thus
    exact for the model, not sampled per minute.
    """
    say = progress or (lambda msg, frac=None: None)
    origins = np.asarray(origins, dtype=float).reshape(-1, 2)
    destinations = np.asarray(destinations, dtype=float).reshape(-1, 2)
    n, m = len(origins), len(destinations)
    t0, t1, t_end = parse_hhmm(depart_from), parse_hhmm(depart_to), parse_hhmm(arrive_by)
    if not (t0 <= t1 and t0 <= t_end):
        raise ValueError(
            "fenêtre horaire incohérente : il faut départ min <= départ max et départ min <= arrivée au plus tard"
        )
    t1 = min(t1, t_end)
    best = np.full((n, m), np.inf)
    if n == 0 or m == 0:
        return best
    o_ok = np.isfinite(origins).all(axis=1)
    d_ok = np.isfinite(destinations).all(axis=1)
    if not (o_ok.all() and d_ok.all()):  # points without coordinates: unreachable rows/columns
        kw = dict(
            depart_from=depart_from,
            depart_to=depart_to,
            arrive_by=arrive_by,
            walk_kmh=walk_kmh,
            max_access_m=max_access_m,
            max_transfer_m=max_transfer_m,
            progress=progress,
            detour=detour,
            walk_only=walk_only,
            batch_size=batch_size,
        )
        best[np.ix_(o_ok, d_ok)] = transit_matrix(network, origins[o_ok], destinations[d_ok], **kw)
        return best

    # walking the whole way
    if walk_only:
        say("Transport en commun : trajets entièrement à pied", 0.0)
        oxyz = lonlat_to_xyz(origins)
        dxyz = lonlat_to_xyz(destinations)
        limit_s = t_end - t0
        max_walk_m = limit_s * (walk_kmh / 3.6) / detour
        oi, di, dist = pairs_within(oxyz, dxyz, max_walk_m)
        w = walk_seconds(dist, walk_kmh, detour)
        ok = w <= limit_s
        best[oi[ok], di[ok]] = w[ok] / 60.0

    if network.n_connections == 0:
        return best
    # access (origin -> stop) and egress (stop -> destination) walks
    a_o, a_s, a_w = _prepare_endpoints(network, origins, max_access_m, walk_kmh, detour)
    e_d, e_s, e_w = _prepare_endpoints(network, destinations, max_access_m, walk_kmh, detour)
    if len(a_o) == 0 or len(e_d) == 0:
        return best
    # starts: (stop, departure time) of boardable connections in the window, at stops that
    # some origin can walk to
    c_ok = (
        network.can_board
        & (network.dep_time >= t0)
        & (network.dep_time <= t_end)
        & np.isin(network.dep_stop, np.unique(a_s))
    )
    starts = np.unique(np.column_stack([network.dep_stop[c_ok], network.dep_time[c_ok]]), axis=0)
    k_stop, k_time = starts[:, 0].astype(np.int64), starts[:, 1].astype(np.int64)  # sorted by stop, time
    # exact pruning: a start no origin can reach leaving at depart_from or later is useless; a
    # start that every origin reaches only by leaving after depart_to (door clamped to
    # depart_to) is dominated by the earliest such start at the same stop (one can wait there)
    min_a = np.full(network.n_stops, np.inf)
    max_a = np.full(network.n_stops, -np.inf)
    np.minimum.at(min_a, a_s, a_w)
    np.maximum.at(max_a, a_s, a_w)
    clamped = k_time > t1 + max_a[k_stop]
    same_stop_before = np.r_[False, k_stop[1:] == k_stop[:-1]]
    later_clamped = clamped & same_stop_before & np.r_[False, clamped[:-1]]
    keep = (k_time >= t0 + min_a[k_stop]) & ~later_clamped
    k_stop, k_time = k_stop[keep], k_time[keep]
    n_k = len(k_stop)
    say(f"Transport en commun : {n_k} départs possibles, {network.n_connections} connexions", 0.05)
    if n_k == 0:
        return best
    # egress pairs sorted by destination for a segmented minimum
    e_order = np.argsort(e_d, kind="stable")
    e_d, e_s, e_w = e_d[e_order], e_s[e_order], e_w[e_order]
    e_dest, e_first = np.unique(e_d, return_index=True)

    fp = _footpath_lists(network, max_transfer_m, walk_kmh, detour)
    if method not in ("auto", "starts", "profile"):
        raise ValueError(f"méthode inconnue : {method!r}")
    if method == "profile" or (method == "auto" and n_k > batch_size):
        say(f"Transport en commun : balayage à rebours ({m} destinations)", 0.1)
        arrive = _profile_arrive(network, k_stop, k_time, e_s, e_d, e_w, m, t_end, fp)
    else:
        # door arrival time (s) per start; float32 holds these integers exactly and inf
        arrive = np.full((n_k, m), np.inf, dtype=np.float32)
        by_time = np.argsort(k_time, kind="stable")
        for b0 in range(0, n_k, batch_size):
            sel = by_time[b0 : b0 + batch_size]
            _ea, ride = earliest_arrivals(network, k_stop[sel], k_time[sel], t_end, footpaths=fp)
            vals = ride[e_s] + e_w.astype(np.int32)[:, None]  # (pairs, B), < 2**31
            seg = np.minimum.reduceat(vals, e_first, axis=0)  # (dest with stops, B)
            seg = np.where(seg <= t_end, seg, np.inf)
            arrive[np.ix_(sel, e_dest)] = seg.T
            say(
                f"Transport en commun : balayage {min(b0 + batch_size, n_k)}/{n_k}",
                0.05 + 0.75 * min(b0 + batch_size, n_k) / n_k,
            )

    # combine: origin o walks a seconds to stop s, takes start k = (s, tau) leaving home at
    # tau - a (clamped to depart_to), requires tau - a >= depart_from
    k_first = np.searchsorted(k_stop, np.arange(network.n_stops + 1))
    cnt = k_first[a_s + 1] - k_first[a_s]
    rep = np.repeat(np.arange(len(a_o)), cnt)
    offs = np.arange(len(rep)) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    t_k = k_first[a_s][rep] + offs
    t_o = a_o[rep]
    door = k_time[t_k] - a_w[rep]
    ok = door >= t0
    t_k, t_o, door = t_k[ok], t_o[ok], np.minimum(door[ok], t1).astype(np.float32)
    # t_o is sorted (a_o sorted, repeats kept in order)
    chunk = max(1, 4_000_000 // max(m, 1))
    n_t = len(t_o)
    c0 = 0
    while c0 < n_t:
        c1 = min(n_t, c0 + chunk)
        if c1 < n_t:  # end the chunk on an origin boundary
            c1 = int(np.searchsorted(t_o, t_o[c1 - 1], side="right"))
        oo = t_o[c0:c1]
        vals = arrive[t_k[c0:c1]] - door[c0:c1, None]
        u, first = np.unique(oo, return_index=True)
        mins = np.minimum.reduceat(vals, first, axis=0).astype(np.float64) / 60.0
        best[u] = np.minimum(best[u], mins)
        say("Transport en commun : combinaison origines × départs", 0.8 + 0.2 * c1 / n_t)
        c0 = c1
    return best


# ----------------------------------------------------------------------------------------------
# one journey, with its legs
# ----------------------------------------------------------------------------------------------


def _scan_single(net: TransitNetwork, init: dict[int, int], until: int, fp):
    """Scalar CSA from several stops with start times; returns ride labels and journey pointers."""
    n = net.n_stops
    ea = np.full(n, _INF, dtype=np.int64)
    ride = np.full(n, _INF, dtype=np.int64)
    # ptr_ea[s] = (kind, enter_c, exit_c, from_stop): kind 0 start, 1 vehicle, 2 transfer walk
    ptr_ea: dict[int, tuple] = {}
    ptr_ride: dict[int, tuple] = {}
    for s, t in init.items():
        ea[s] = t
        ptr_ea[s] = (0, -1, -1, -1)
    if not init:
        return ride, ptr_ride, ptr_ea
    lo = int(np.searchsorted(net.dep_time, min(init.values()), side="left"))
    hi = int(np.searchsorted(net.dep_time, until, side="right"))
    enter: dict[int, int] = {}
    ds, as_, dt, at, tr = (
        net.dep_stop.tolist(),
        net.arr_stop.tolist(),
        net.dep_time.tolist(),
        net.arr_time.tolist(),
        net.trip.tolist(),
    )
    board, alight = net.can_board.tolist(), net.can_alight.tolist()
    for c in range(lo, hi):
        t = tr[c]
        if t not in enter:
            if board[c] and ea[ds[c]] <= dt[c]:
                enter[t] = c
            else:
                continue
        if not alight[c]:
            continue
        s, a = as_[c], at[c]
        if a < ride[s]:
            ride[s] = a
            ptr_ride[s] = (1, enter[t], c, -1)
        if a < ea[s]:
            ea[s] = a
            ptr_ea[s] = (1, enter[t], c, -1)
        nbrs, ws = fp[s]
        for k in range(len(nbrs)):
            v = a + int(ws[k])
            q = int(nbrs[k])
            if v < ea[q]:
                ea[q] = v
                ptr_ea[q] = (2, enter[t], c, s)
    return ride, ptr_ride, ptr_ea


def _legs_to(net, stop, ptr_ride, ptr_ea, walk_kmh, detour):
    """Vehicle and transfer legs (oldest first) of the journey arriving by vehicle at ``stop``."""
    legs = []
    ptr = ptr_ride[stop]
    while ptr[0] != 0:
        kind, c_in, c_out, from_stop = ptr
        board_stop = int(net.dep_stop[c_in])
        legs.append(
            {
                "mode": "transit",
                "from": str(net.stop_names[board_stop]),
                "to": str(net.stop_names[net.arr_stop[c_out]]),
                "from_stop_id": str(net.stop_ids[board_stop]),
                "to_stop_id": str(net.stop_ids[net.arr_stop[c_out]]),
                "depart": format_hhmm(net.dep_time[c_in]),
                "arrive": format_hhmm(net.arr_time[c_out]),
                "depart_s": int(net.dep_time[c_in]),
                "arrive_s": int(net.arr_time[c_out]),
                "route": str(net.trip_route[net.trip[c_in]]),
                "headsign": str(net.trip_headsign[net.trip[c_in]]),
                "trip_id": str(net.trip_ids[net.trip[c_in]]),
            }
        )
        ptr = ptr_ea[board_stop]
        if ptr[0] == 2:  # reached the boarding stop by a transfer walk
            kind, c_in2, c_out2, from_stop = ptr
            d = haversine_m(net.stop_lonlat[from_stop], net.stop_lonlat[board_stop])
            w = int(np.ceil(walk_seconds(d, walk_kmh, detour)))
            t_from = int(net.arr_time[c_out2])
            legs.append(
                {
                    "mode": "walk",
                    "from": str(net.stop_names[from_stop]),
                    "to": str(net.stop_names[board_stop]),
                    "depart": format_hhmm(t_from),
                    "arrive": format_hhmm(t_from + w),
                    "depart_s": t_from,
                    "arrive_s": t_from + w,
                    "meters": round(float(d * detour)),
                }
            )
            ptr = (1, c_in2, c_out2, -1)
    legs.reverse()
    return legs


def _journey(net, origin, dest, door: int, t_end: int, acc, egr, fp, walk_kmh, detour):
    """Earliest-arrival journey leaving home at ``door``: (arrival, legs) or (inf, None)."""
    init: dict[int, int] = {}
    for s, w in zip(acc[0].tolist(), acc[1].tolist()):
        init[s] = min(init.get(s, _INF), door + w)
    ride, ptr_ride, ptr_ea = _scan_single(net, init, t_end, fp)
    best, best_s, best_w = math.inf, -1, 0
    for s, w in zip(egr[0].tolist(), egr[1].tolist()):
        if ride[s] < _INF and ride[s] + w < best:
            best, best_s, best_w = ride[s] + w, s, w
    if best_s < 0 or best > t_end:
        return math.inf, None
    legs = _legs_to(net, best_s, ptr_ride, ptr_ea, walk_kmh, detour)
    first = legs[0]
    first_stop = int(np.flatnonzero(net.stop_ids == first["from_stop_id"])[0])
    a_w = int(acc[1][acc[0] == first_stop].min())
    d_o = float(haversine_m(origin, net.stop_lonlat[first_stop]))
    d_d = float(haversine_m(net.stop_lonlat[best_s], dest))
    last = legs[-1]
    legs.insert(
        0,
        {
            "mode": "walk",
            "from": "origine",
            "to": first["from"],
            "depart": format_hhmm(door),
            "arrive": format_hhmm(door + a_w),
            "depart_s": door,
            "arrive_s": door + a_w,
            "meters": round(d_o * detour),
        },
    )
    legs.append(
        {
            "mode": "walk",
            "from": last["to"],
            "to": "destination",
            "depart": format_hhmm(last["arrive_s"]),
            "arrive": format_hhmm(last["arrive_s"] + best_w),
            "depart_s": last["arrive_s"],
            "arrive_s": last["arrive_s"] + best_w,
            "meters": round(d_d * detour),
        }
    )
    return float(best), legs


def _best_doors(net, a_s, a_w, e_s, e_w, t0, t1, t_end, fp) -> list[int]:
    """Door departure time(s) of one origin giving the shortest journey of the window.

    Scans from every (access stop, boardable departure) start at once, like
    :func:`transit_matrix`, and returns the door time ``min(tau - a, t1)`` of the best start
    (empty list when no start arrives by ``t_end``).
    """
    walk = dict(zip(a_s.tolist(), a_w.tolist()))
    sel = net.can_board & (net.dep_time >= t0) & (net.dep_time <= t_end) & np.isin(net.dep_stop, a_s)
    starts = np.unique(np.column_stack([net.dep_stop[sel], net.dep_time[sel]]), axis=0)
    if len(starts) == 0 or len(e_s) == 0:
        return []
    k_stop, k_time = starts[:, 0].astype(np.int64), starts[:, 1].astype(np.int64)
    a = np.array([walk[s] for s in k_stop.tolist()], dtype=np.int64)
    door = k_time - a
    ok = door >= t0
    k_stop, k_time, door = k_stop[ok], k_time[ok], np.minimum(door[ok], t1)
    best, best_door = np.inf, None
    for b0 in range(0, len(k_stop), 2048):
        sl = slice(b0, b0 + 2048)
        _ea, ride = earliest_arrivals(net, k_stop[sl], k_time[sl], t_end, footpaths=fp)
        arrive = (ride[e_s].astype(np.int64) + e_w[:, None]).min(axis=0)
        dur = np.where(arrive <= t_end, arrive - door[sl], np.inf)
        i = int(np.argmin(dur)) if len(dur) else 0
        if len(dur) and dur[i] < best:
            best, best_door = float(dur[i]), int(door[sl][i])
    return [] if best_door is None else [best_door]


def transit_route(
    network: TransitNetwork,
    from_lonlat,
    to_lonlat,
    depart: str | None = None,
    depart_from: str = DEPART_FROM,
    depart_to: str = DEPART_TO,
    arrive_by: str = ARRIVE_BY,
    walk_kmh: float = WALK_KMH,
    max_access_m: float = MAX_ACCESS_M,
    max_transfer_m: float = MAX_TRANSFER_M,
    detour: float = DETOUR_FACTOR,
    walk_only: bool = True,
) -> dict:
    """One public-transport journey with its legs (JSON-able).

    Parameters
    ----------
    network : TransitNetwork
    from_lonlat, to_lonlat : (lon, lat)
    depart : str, optional
        ``"HH:MM"``: earliest arrival leaving home at that time (no arrival limit other than
        the end of the service day); ``minutes`` = arrival - ``depart``.
        ``None`` (default): the best journey of the morning window, with exactly the
        definition of :func:`transit_matrix` (its ``minutes`` equals the matrix cell).

    Returns
    -------
    dict
        ``{"minutes", "depart", "arrive", "service_date", "legs": [...]}`` where each leg has
        ``mode`` ("walk" or "transit"), ``from``, ``to``, ``depart``, ``arrive`` and, for
        transit, ``route`` (short name), ``headsign`` and ``trip_id``. ``minutes`` is None and
        ``legs`` empty when nothing arrives in time.
    """
    net = network
    o = np.asarray(from_lonlat, dtype=float).reshape(2)
    d = np.asarray(to_lonlat, dtype=float).reshape(2)
    fp = _footpath_lists(net, max_transfer_m, walk_kmh, detour)
    _, a_s, a_w = _prepare_endpoints(net, o[None, :], max_access_m, walk_kmh, detour)
    _, e_s, e_w = _prepare_endpoints(net, d[None, :], max_access_m, walk_kmh, detour)
    acc, egr = (a_s, a_w), (e_s, e_w)
    walk_dist = float(haversine_m(o, d))
    walk_s = float(walk_seconds(walk_dist, walk_kmh, detour))
    base = {"service_date": net.service_date.isoformat(), "from": list(map(float, o)), "to": list(map(float, d))}
    if depart is not None:
        t = parse_hhmm(depart)
        window = [(t, t)]
        t_end = int(net.arr_time.max()) if net.n_connections else t
        walk_ok = walk_only
    else:
        t0, t1, t_end = parse_hhmm(depart_from), parse_hhmm(depart_to), parse_hhmm(arrive_by)
        t1 = min(t1, t_end)
        window = [(x, x) for x in _best_doors(net, a_s, a_w, e_s, e_w, t0, t1, t_end, fp)]
        walk_ok = walk_only and walk_s <= t_end - t0
        t = t0
    best = None
    for door, _ in window:
        arr, legs = _journey(net, o, d, door, t_end, acc, egr, fp, walk_kmh, detour)
        if legs is not None:
            dur = arr - door
            if best is None or dur < best[0] - 1e-9:
                best = (dur, door, arr, legs)
    if walk_ok and (best is None or walk_s < best[0]):
        start = t if depart is not None else t0
        legs = [
            {
                "mode": "walk",
                "from": "origine",
                "to": "destination",
                "depart": format_hhmm(start),
                "arrive": format_hhmm(start + walk_s),
                "depart_s": start,
                "arrive_s": start + walk_s,
                "meters": round(walk_dist * detour),
            }
        ]
        best = (walk_s, start, start + walk_s, legs)
    if best is None:
        return {
            **base,
            "minutes": None,
            "depart": None,
            "arrive": None,
            "legs": [],
            "message": "aucun trajet en transport en commun dans la fenêtre horaire",
        }
    dur, door, arr, legs = best
    if depart is not None:
        dur = arr - parse_hhmm(depart)
    return {
        **base,
        "minutes": round(dur / 60.0, 4),
        "depart": format_hhmm(door),
        "arrive": format_hhmm(arr),
        "legs": legs,
    }


def morning_departures(
    con, service_date: date | None = None, depart_from: str = DEPART_FROM, depart_to: str = DEPART_TO
) -> pd.DataFrame:
    """Vehicle departures per stop in a time window of the service date (transport supply,
    defined in :mod:`analysis.supply`).

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
