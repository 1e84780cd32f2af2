"""Door-to-door public-transport minutes for every origin x destination: :func:`transit_matrix`.

Owns the definition of the ``minutes`` figure of a morning window (``docs/transit.md``): walking
the whole way, the starts worth scanning (exact pruning), the choice between the forward and
the profile scan, and the combination of access walks with the scan results.
"""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True)
class _MatrixOptions:
    """The options of one :func:`transit_matrix` call, the window in seconds (see its parameters)."""

    t0: int
    t1: int
    t_end: int
    walk_kmh: float
    max_access_min: float
    max_transfer_m: float
    detour: float
    walk_only: bool
    batch_size: int
    method: str
    access_kmh: float | None
    access_detour: float | None


def _add_walking(best: np.ndarray, origins: np.ndarray, destinations: np.ndarray, opts: _MatrixOptions) -> None:
    """Lower ``best`` (minutes) by walking the whole way when it arrives in time (in place)."""
    oxyz = lonlat_to_xyz(origins)
    dxyz = lonlat_to_xyz(destinations)
    limit_s = opts.t_end - opts.t0
    max_walk_m = limit_s * (opts.walk_kmh / 3.6) / opts.detour
    oi, di, dist = pairs_within(oxyz, dxyz, max_walk_m)
    w = walk_seconds(dist, opts.walk_kmh, opts.detour)
    ok = w <= limit_s
    best[oi[ok], di[ok]] = w[ok] / 60.0


def _access_egress(network: TransitNetwork, origins: np.ndarray, destinations: np.ndarray, opts: _MatrixOptions):
    """Access (origin -> stop) and egress (stop -> destination) walks: ``(a_o, a_s, a_w), (e_d, e_s, e_w)``.

    Access pairs are sorted by origin; the access leg uses ``access_kmh``/``access_detour`` when given.
    """
    a_kmh, a_det = opts.access_kmh or opts.walk_kmh, opts.access_detour or opts.detour
    access = prepare_endpoints(network, origins, access_radius_m(opts.max_access_min, a_kmh, a_det), a_kmh, a_det)
    egress = prepare_endpoints(
        network,
        destinations,
        access_radius_m(opts.max_access_min, opts.walk_kmh, opts.detour),
        opts.walk_kmh,
        opts.detour,
    )
    return access, egress


def _useful_starts(network: TransitNetwork, a_s: np.ndarray, a_w: np.ndarray, opts: _MatrixOptions):
    """The starts worth scanning, ``(k_stop, k_time)`` sorted by stop then time.

    Starts are the (stop, departure time) of boardable connections in the window, at stops that
    some origin can walk to. Exact pruning: a start no origin can reach leaving at
    ``depart_from`` or later is useless; a start that every origin reaches only by leaving after
    ``depart_to`` (door clamped to ``depart_to``) is dominated by the earliest such start at the
    same stop (one can wait there).
    """
    k_stop, k_time = window_starts(network, a_s, opts.t0, opts.t_end)  # sorted by stop, time
    min_a = np.full(network.n_stops, np.inf)
    max_a = np.full(network.n_stops, -np.inf)
    np.minimum.at(min_a, a_s, a_w)
    np.maximum.at(max_a, a_s, a_w)
    clamped = k_time > opts.t1 + max_a[k_stop]
    same_stop_before = np.r_[False, k_stop[1:] == k_stop[:-1]]
    later_clamped = clamped & same_stop_before & np.r_[False, clamped[:-1]]
    keep = (k_time >= opts.t0 + min_a[k_stop]) & ~later_clamped
    return k_stop[keep], k_time[keep]


def _forward_arrivals(network, k_stop, k_time, egress, m: int, fp, opts: _MatrixOptions, say) -> np.ndarray:
    """Door arrival (s) at every destination per start, by forward scans over batches of starts.

    ``egress`` is ``(e_d, e_s, e_w)`` sorted by destination. float32 holds these integers
    exactly, and inf (nothing arrives by ``t_end``).
    """
    e_d, e_s, e_w = egress
    e_dest, e_first = np.unique(e_d, return_index=True)
    n_k, batch_size = len(k_stop), opts.batch_size
    arrive = np.full((n_k, m), np.inf, dtype=np.float32)
    by_time = np.argsort(k_time, kind="stable")
    for b0 in range(0, n_k, batch_size):
        sel = by_time[b0 : b0 + batch_size]
        _ea, ride = earliest_arrivals(network, k_stop[sel], k_time[sel], opts.t_end, footpaths=fp)
        vals = ride[e_s] + e_w.astype(np.int32)[:, None]  # (pairs, B), < 2**31
        seg = np.minimum.reduceat(vals, e_first, axis=0)  # (dest with stops, B)
        seg = np.where(seg <= opts.t_end, seg, np.inf)
        arrive[np.ix_(sel, e_dest)] = seg.T
        say(
            f"Transport en commun : balayage {min(b0 + batch_size, n_k)}/{n_k}",
            0.05 + 0.75 * min(b0 + batch_size, n_k) / n_k,
        )
    return arrive


def _start_arrivals(network, k_stop, k_time, egress, m: int, fp, opts: _MatrixOptions, say) -> np.ndarray:
    """Door arrival (s) at every destination per start, by the scan ``opts.method`` chooses.

    ``egress`` is ``(e_d, e_s, e_w)`` sorted by destination.
    """
    if opts.method not in ("auto", "starts", "profile"):
        raise ValueError(f"méthode inconnue : {opts.method!r}")
    if opts.method == "profile" or (opts.method == "auto" and len(k_stop) > opts.batch_size):
        say(f"Transport en commun : balayage à rebours ({count(m, 'destination')})", 0.1)
        e_d, e_s, e_w = egress
        return profile_arrive(network, k_stop, k_time, e_s, e_d, e_w, m, opts.t_end, fp)
    return _forward_arrivals(network, k_stop, k_time, egress, m, fp, opts, say)


def _door_choices(network, access, k_stop, k_time, opts: _MatrixOptions):
    """Every (start, origin) with its door departure: ``(t_k, t_o, door)``, sorted by origin.

    Origin o walks a seconds to stop s and takes start k = (s, tau), leaving home at tau - a
    (clamped to ``depart_to``); tau - a >= ``depart_from`` is required.
    """
    a_o, a_s, a_w = access
    k_first = np.searchsorted(k_stop, np.arange(network.n_stops + 1))
    cnt = k_first[a_s + 1] - k_first[a_s]
    rep = np.repeat(np.arange(len(a_o)), cnt)
    offs = np.arange(len(rep)) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    t_k = k_first[a_s][rep] + offs
    t_o = a_o[rep]
    door = k_time[t_k] - a_w[rep]
    ok = door >= opts.t0
    # t_o stays sorted (a_o sorted, repeats kept in order)
    return t_k[ok], t_o[ok], np.minimum(door[ok], opts.t1).astype(np.float32)


def _combine(best: np.ndarray, arrive: np.ndarray, t_k, t_o, door, m: int, say) -> None:
    """Lower ``best`` (minutes) by the door-to-door time of every (start, origin), in place.

    Works by chunks of whole origins (about 4 million cells each).
    """
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


def _add_transit(best, network, origins, destinations, opts: _MatrixOptions, say) -> None:
    """Lower ``best`` (minutes) by the public-transport journeys (in place)."""
    m = len(destinations)
    access, egress = _access_egress(network, origins, destinations, opts)
    if len(access[0]) == 0 or len(egress[0]) == 0:
        return
    k_stop, k_time = _useful_starts(network, access[1], access[2], opts)
    n_k = len(k_stop)
    say(f"Transport en commun : {count(n_k, 'départ possible')}, {count(network.n_connections, 'connexion')}", 0.05)
    if n_k == 0:
        return
    # egress pairs sorted by destination for a segmented minimum
    e_order = np.argsort(egress[0], kind="stable")
    egress = tuple(x[e_order] for x in egress)
    fp = footpath_lists(network, opts.max_transfer_m, opts.walk_kmh, opts.detour)
    arrive = _start_arrivals(network, k_stop, k_time, egress, m, fp, opts, say)
    t_k, t_o, door = _door_choices(network, access, k_stop, k_time, opts)
    _combine(best, arrive, t_k, t_o, door, m, say)


def _matrix(network: TransitNetwork, origins: np.ndarray, destinations: np.ndarray, opts: _MatrixOptions, say):
    """:func:`transit_matrix` once its window is checked: minutes (n, m)."""
    best = np.full((len(origins), len(destinations)), np.inf)
    if len(origins) == 0 or len(destinations) == 0:
        return best
    o_ok = np.isfinite(origins).all(axis=1)
    d_ok = np.isfinite(destinations).all(axis=1)
    if not (o_ok.all() and d_ok.all()):  # points without coordinates: unreachable rows/columns
        best[np.ix_(o_ok, d_ok)] = _matrix(network, origins[o_ok], destinations[d_ok], opts, say)
        return best
    if opts.walk_only:
        say("Transport en commun : trajets entièrement à pied", 0.0)
        _add_walking(best, origins, destinations, opts)
    if network.n_connections == 0:
        return best
    _add_transit(best, network, origins, destinations, opts, say)
    return best


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
    t0, t1, t_end = window_seconds(depart_from, depart_to, arrive_by)
    if t0 > t1:  # t1 is min(departure max, arrival limit)
        raise ValueError(
            "fenêtre horaire incohérente : il faut départ min <= départ max et départ min <= arrivée au plus tard"
        )
    opts = _MatrixOptions(
        t0=t0,
        t1=t1,
        t_end=t_end,
        walk_kmh=walk_kmh,
        max_access_min=max_access_min,
        max_transfer_m=max_transfer_m,
        detour=detour,
        walk_only=walk_only,
        batch_size=batch_size,
        method=method,
        access_kmh=access_kmh,
        access_detour=access_detour,
    )
    return _matrix(network, origins, destinations, opts, say)
