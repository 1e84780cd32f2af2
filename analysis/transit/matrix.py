"""Door-to-door public-transport minutes for every origin x destination: :func:`transit_matrix`.

Owns the definition of the ``minutes`` figure of a morning window (``docs/transit.md``): walking
the whole way, the starts worth scanning (exact pruning), the choice between the forward and
the profile scan, and the combination of access walks with the scan results.
"""

from __future__ import annotations

import numpy as np

from analysis.text import count
from analysis.transit.model import (
    ARRIVE_BY,
    DEPART_FROM,
    DEPART_TO,
    DETOUR_FACTOR,
    MAX_ACCESS_MIN,
    MAX_TRANSFER_M,
    WALK_KMH,
    Progress,
    access_radius_m,
    lonlat_to_xyz,
    pairs_within,
    parse_hhmm,
    walk_seconds,
)
from analysis.transit.network import TransitNetwork
from analysis.transit.scan import earliest_arrivals, footpath_lists, prepare_endpoints, profile_arrive


def window_seconds(depart_from: str, depart_to: str, arrive_by: str) -> tuple[int, int, int]:
    """The morning window in seconds: ``(t0, t1, t_end)`` for ``"HH:MM"`` texts, the latest door
    departure ``t1`` clamped to the arrival limit ``t_end`` (leaving later cannot arrive in time).
    The window is coherent when ``t0 <= t1`` (departure min before departure max and before the
    arrival limit)."""
    t0, t1, t_end = parse_hhmm(depart_from), parse_hhmm(depart_to), parse_hhmm(arrive_by)
    return t0, min(t1, t_end), t_end


def window_starts(network: TransitNetwork, stops: np.ndarray, t0: int, t_end: int) -> tuple[np.ndarray, np.ndarray]:
    """The starts of the window: distinct (stop, departure time) of the boardable connections
    leaving one of ``stops`` between ``t0`` and ``t_end`` (included), as two int64 arrays sorted
    by stop then time."""
    ok = network.can_board & (network.dep_time >= t0) & (network.dep_time <= t_end) & np.isin(network.dep_stop, stops)
    starts = np.unique(np.column_stack([network.dep_stop[ok], network.dep_time[ok]]), axis=0)
    return starts[:, 0].astype(np.int64), starts[:, 1].astype(np.int64)


def transit_matrix(
    network: TransitNetwork,
    origins: np.ndarray,
    destinations: np.ndarray,
    depart_from: str = DEPART_FROM,
    depart_to: str = DEPART_TO,
    arrive_by: str = ARRIVE_BY,
    walk_kmh: float = WALK_KMH,
    max_access_min: float = MAX_ACCESS_MIN,
    max_transfer_m: float = MAX_TRANSFER_M,
    progress: Progress | None = None,
    detour: float = DETOUR_FACTOR,
    walk_only: bool = True,
    batch_size: int = 2048,
    method: str = "auto",
    access_kmh: float | None = None,
    access_detour: float | None = None,
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
    max_access_min : float
        Longest access (origin -> first stop) and egress (last stop -> destination) walk, in
        minutes (a time cap; straight-line radius :func:`~analysis.transit.model.access_radius_m`).
        The walk's minutes count in the door-to-door figure.
    max_transfer_m : float
        Straight-line limit of a transfer walk.
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
    access_kmh, access_detour : float, optional
        Speed and detour factor of the access leg (origin -> first stop), by default those of
        walking. A cycling speed gives the « rabattement vélo » option: cycling to the station
        (at most ``max_access_min`` minutes), the bike left there; transfers, egress and the
        walking-only option stay on foot. Not used by the build (the ``transit`` mode walks).

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
    t0, t1, t_end = window_seconds(depart_from, depart_to, arrive_by)
    if t0 > t1:  # t1 is min(departure max, arrival limit)
        raise ValueError(
            "fenêtre horaire incohérente : il faut départ min <= départ max et départ min <= arrivée au plus tard"
        )
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
            max_access_min=max_access_min,
            max_transfer_m=max_transfer_m,
            progress=progress,
            detour=detour,
            walk_only=walk_only,
            batch_size=batch_size,
            method=method,
            access_kmh=access_kmh,
            access_detour=access_detour,
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
    a_kmh, a_det = access_kmh or walk_kmh, access_detour or detour
    a_o, a_s, a_w = prepare_endpoints(network, origins, access_radius_m(max_access_min, a_kmh, a_det), a_kmh, a_det)
    e_d, e_s, e_w = prepare_endpoints(
        network, destinations, access_radius_m(max_access_min, walk_kmh, detour), walk_kmh, detour
    )
    if len(a_o) == 0 or len(e_d) == 0:
        return best
    # starts: (stop, departure time) of boardable connections in the window, at stops that
    # some origin can walk to
    k_stop, k_time = window_starts(network, a_s, t0, t_end)  # sorted by stop, time
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
    say(f"Transport en commun : {count(n_k, 'départ possible')}, {count(network.n_connections, 'connexion')}", 0.05)
    if n_k == 0:
        return best
    # egress pairs sorted by destination for a segmented minimum
    e_order = np.argsort(e_d, kind="stable")
    e_d, e_s, e_w = e_d[e_order], e_s[e_order], e_w[e_order]
    e_dest, e_first = np.unique(e_d, return_index=True)

    fp = footpath_lists(network, max_transfer_m, walk_kmh, detour)
    if method not in ("auto", "starts", "profile"):
        raise ValueError(f"méthode inconnue : {method!r}")
    if method == "profile" or (method == "auto" and n_k > batch_size):
        say(f"Transport en commun : balayage à rebours ({count(m, 'destination')})", 0.1)
        arrive = profile_arrive(network, k_stop, k_time, e_s, e_d, e_w, m, t_end, fp)
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
