"""The Connection Scan itself, vectorised: forward over many starts, backward as a profile.

Owns :func:`earliest_arrivals` (one forward scan for a batch of (stop, time) starts, labels
``(stops, starts)``), :func:`profile_arrive` (one backward profile scan for all destinations at
once), the per-stop lists of transfer walks and the access/egress pairs between points and
stops. Both scans implement the same model and give identical results.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

import numpy as np

from analysis.transit.model import (
    DETOUR_FACTOR,
    MAX_TRANSFER_M,
    UNREACHED,
    WALK_KMH,
    lonlat_to_xyz,
    pairs_within,
    walk_seconds,
)
from analysis.transit.network import TransitNetwork


def footpath_lists(net: TransitNetwork, max_transfer_m, walk_kmh, detour):
    """Transfer walks of every stop: a list, per stop, of (neighbour stops, walk seconds) arrays."""
    a, b, w = net.transfers(max_transfer_m, walk_kmh, detour)
    starts = np.searchsorted(a, np.arange(net.n_stops + 1))
    return [(b[starts[s] : starts[s + 1]], w[starts[s] : starts[s + 1]]) for s in range(net.n_stops)]


@dataclass(frozen=True)
class _Connections:
    """The connections of a scan window as Python lists (fast scalar reads in the scan loops).

    ``trip`` holds local trip indices ``0 .. n_trips - 1`` (trips of the window only).
    """

    dep_stop: list[int]
    arr_stop: list[int]
    dep_time: list[int]
    arr_time: list[int]
    can_board: list[bool]
    can_alight: list[bool]
    trip: list[int]
    n_trips: int


def _scan_bounds(net: TransitNetwork, t_from: int, until: int) -> tuple[int, int]:
    """Index range ``[lo, hi)`` of the connections departing between ``t_from`` and ``until`` (included)."""
    lo = int(np.searchsorted(net.dep_time, t_from, side="left"))
    hi = int(np.searchsorted(net.dep_time, until, side="right"))
    return lo, hi


def _window_connections(net: TransitNetwork, lo: int, hi: int) -> _Connections:
    """The connections ``lo .. hi - 1`` of ``net`` as lists, with trips renumbered locally."""
    trips_local, trip_idx = np.unique(net.trip[lo:hi], return_inverse=True)
    return _Connections(
        dep_stop=net.dep_stop[lo:hi].tolist(),
        arr_stop=net.arr_stop[lo:hi].tolist(),
        dep_time=net.dep_time[lo:hi].tolist(),
        arr_time=net.arr_time[lo:hi].tolist(),
        can_board=net.can_board[lo:hi].tolist(),
        can_alight=net.can_alight[lo:hi].tolist(),
        trip=trip_idx.tolist(),
        n_trips=len(trips_local),
    )


def _forward_scan(conns: _Connections, ea: np.ndarray, ride: np.ndarray, fp) -> None:
    """Scan ``conns`` forward once, lowering the labels ``ea`` and ``ride`` (stops, starts) in place."""
    nb = ea.shape[1]
    reached = np.zeros((conns.n_trips, nb), dtype=bool)
    # scalar bookkeeping lets the loop skip connections no start can use: min_ea[s] is the
    # minimum of ea[s] over starts, live[t] says whether any start is on board trip t
    min_ea = ea.min(axis=1).tolist()
    live = [False] * conns.n_trips
    ds, as_ = conns.dep_stop, conns.arr_stop
    dt, at = conns.dep_time, conns.arr_time
    board, alight = conns.can_board, conns.can_alight
    tix = conns.trip
    cand = np.empty(nb, dtype=np.int32)
    tmp = np.empty(nb, dtype=np.int32)
    for c in range(len(tix)):
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
        np.copyto(cand, UNREACHED)
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
    ea = np.full((net.n_stops, nb), UNREACHED, dtype=np.int32)
    ride = np.full((net.n_stops, nb), UNREACHED, dtype=np.int32)
    if nb == 0:
        return ea, ride
    ea[start_stop, np.arange(nb)] = start_time
    fp = footpaths if footpaths is not None else footpath_lists(net, max_transfer_m, walk_kmh, detour)
    lo, hi = _scan_bounds(net, start_time.min(), until)
    if hi <= lo:
        return ea, ride
    _forward_scan(_window_connections(net, lo, hi), ea, ride, fp)
    return ea, ride


def _egress_lists(n: int, e_s: np.ndarray, e_d: np.ndarray, e_w: np.ndarray) -> list:
    """Egress walks of every stop: per stop, (destinations, walk seconds as float32) or None."""
    order = np.argsort(e_s, kind="stable")
    es_s, es_d, es_w = e_s[order], e_d[order], e_w[order].astype(np.float32)
    bounds = np.searchsorted(es_s, np.arange(n + 1))
    return [
        (es_d[bounds[s] : bounds[s + 1]], es_w[bounds[s] : bounds[s + 1]]) if bounds[s + 1] > bounds[s] else None
        for s in range(n)
    ]


def _profile_at(neg_tau: list[int], vecs: list[np.ndarray], t: float) -> np.ndarray | None:
    """The profile entry of one stop for someone there at ``t``: the one with the smallest
    departure >= ``t`` (``neg_tau`` holds ``-tau`` ascending), or None when no departure is left."""
    i = bisect_right(neg_tau, -t) - 1
    return vecs[i] if i >= 0 else None


def _backward_scan(conns: _Connections, egress: list, fp, n: int, m: int, t_end: int):
    """Scan ``conns`` backward once; returns the stop profiles ``(neg_tau, vecs)``, per stop.

    Connections arriving after ``t_end`` are skipped.
    """
    neg_tau: list[list[int]] = [[] for _ in range(n)]  # -tau, ascending (tau descending)
    vecs: list[list[np.ndarray]] = [[] for _ in range(n)]
    trip_best = np.full((conns.n_trips, m), np.inf, dtype=np.float32)
    live = [False] * conns.n_trips
    ds, as_ = conns.dep_stop, conns.arr_stop
    dt, at = conns.dep_time, conns.arr_time
    board, alight = conns.can_board, conns.can_alight
    tix = conns.trip
    in_time = [c for c in range(len(tix) - 1, -1, -1) if at[c] <= t_end]
    for c in in_time:
        a = at[c]
        t = tix[c]
        row = trip_best[t]
        if alight[c]:
            s2 = as_[c]
            eg = egress[s2]
            if eg is not None:
                np.minimum.at(row, eg[0], eg[1] + a)
                live[t] = True
            v = _profile_at(neg_tau[s2], vecs[s2], a)
            if v is not None:
                np.minimum(row, v, out=row)
                live[t] = True
            nbrs, ws = fp[s2]
            for k in range(len(nbrs)):
                q = int(nbrs[k])
                v = _profile_at(neg_tau[q], vecs[q], a + int(ws[k]))
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
    return neg_tau, vecs


def _read_profiles(neg_tau, vecs, k_stop: np.ndarray, k_time: np.ndarray, m: int, t_end: int) -> np.ndarray:
    """Arrival at every destination for each start ``(k_stop[k], k_time[k])``, read from the profiles."""
    out = np.full((len(k_stop), m), np.inf, dtype=np.float32)
    for k, (s, tau) in enumerate(zip(k_stop.tolist(), k_time.tolist())):
        v = _profile_at(neg_tau[s], vecs[s], tau)
        if v is not None:
            out[k] = v
    out[out > t_end] = np.inf
    return out


def profile_arrive(
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
    n = net.n_stops
    lo, hi = _scan_bounds(net, int(k_time.min()), t_end)
    egress = _egress_lists(n, e_s, e_d, e_w)
    neg_tau, vecs = _backward_scan(_window_connections(net, lo, hi), egress, fp, n, m, t_end)
    return _read_profiles(neg_tau, vecs, k_stop, k_time, m, t_end)


def prepare_endpoints(net, points, max_access_m, walk_kmh, detour):
    """Pairs (point, stop, walk seconds) within ``max_access_m``, sorted by point."""
    p, s, d = pairs_within(lonlat_to_xyz(points), net.stop_xyz, max_access_m)
    order = np.lexsort((s, p))
    return p[order], s[order], np.ceil(walk_seconds(d[order], walk_kmh, detour)).astype(np.int64)
