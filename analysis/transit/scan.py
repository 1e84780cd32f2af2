"""The Connection Scan itself, vectorised: forward over many starts, backward as a profile.

Owns :func:`earliest_arrivals` (one forward scan for a batch of (stop, time) starts, labels
``(stops, starts)``), :func:`profile_arrive` (one backward profile scan for all destinations at
once), the per-stop lists of transfer walks and the access/egress pairs between points and
stops. Both scans implement the same model and give identical results.
"""

from __future__ import annotations

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
    return ea, ride


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


def prepare_endpoints(net, points, max_access_m, walk_kmh, detour):
    """Pairs (point, stop, walk seconds) within ``max_access_m``, sorted by point."""
    p, s, d = pairs_within(lonlat_to_xyz(points), net.stop_xyz, max_access_m)
    order = np.lexsort((s, p))
    return p[order], s[order], np.ceil(walk_seconds(d[order], walk_kmh, detour)).astype(np.int64)
