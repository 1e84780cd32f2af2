"""One public-transport journey with its legs: :func:`transit_route`.

Owns the scalar Connection Scan that keeps journey pointers, the rebuilding of the legs (walks
and vehicles, with stops, times, routes and headsigns), and the choice of the door departure
that gives the shortest journey of the morning window, so that a journey's ``minutes`` equals
the :func:`analysis.transit.transit_matrix` cell.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from analysis.transit.matrix import window_seconds, window_starts
from analysis.transit.model import (
    ARRIVE_BY,
    DEPART_FROM,
    DEPART_TO,
    DETOUR_FACTOR,
    MAX_ACCESS_MIN,
    MAX_TRANSFER_M,
    UNREACHED,
    WALK_KMH,
    access_radius_m,
    format_hhmm,
    haversine_m,
    parse_hhmm,
    walk_seconds,
)
from analysis.transit.network import TransitNetwork
from analysis.transit.scan import earliest_arrivals, footpath_lists, prepare_endpoints


def _seeded_labels(n: int, init: dict[int, int]):
    """Labels of a scalar scan before any connection: ``(ea, ride, ptr_ea, ptr_ride)``.

    ``ptr_ea[s] = (kind, enter_c, exit_c, from_stop)``: kind 0 start, 1 vehicle, 2 transfer walk.
    """
    ea = np.full(n, UNREACHED, dtype=np.int64)
    ride = np.full(n, UNREACHED, dtype=np.int64)
    ptr_ea: dict[int, tuple] = {}
    ptr_ride: dict[int, tuple] = {}
    for s, t in init.items():
        ea[s] = t
        ptr_ea[s] = (0, -1, -1, -1)
    return ea, ride, ptr_ea, ptr_ride


def _scan_single(net: TransitNetwork, init: dict[int, int], until: int, fp):
    """Scalar CSA from several stops with start times; returns ride labels and journey pointers."""
    ea, ride, ptr_ea, ptr_ride = _seeded_labels(net.n_stops, init)
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
        init[s] = min(init.get(s, UNREACHED), door + w)
    ride, ptr_ride, ptr_ea = _scan_single(net, init, t_end, fp)
    best, best_s, best_w = math.inf, -1, 0
    for s, w in zip(egr[0].tolist(), egr[1].tolist()):
        if ride[s] < UNREACHED and ride[s] + w < best:
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
    k_stop, k_time = window_starts(net, a_s, t0, t_end)
    if len(k_stop) == 0 or len(e_s) == 0:
        return []
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


@dataclass(frozen=True)
class _DoorPlan:
    """When to leave home: the door times to try, the arrival limit, and the walk-only option.

    Attributes
    ----------
    doors : list of int
        Door departure times (s) whose earliest-arrival journeys compete.
    t_end : int
        Arrival limit (s).
    walk_ok : bool
        Whether walking the whole way competes.
    start : int
        Door departure (s) of the walking-only journey.
    """

    doors: list[int]
    t_end: int
    walk_ok: bool
    start: int


def _door_plan(net, depart, window: tuple[str, str, str], walk_only: bool, walk_s: float, scan_args) -> _DoorPlan:
    """The door times of a fixed departure ``depart``, else the best door time of the morning window.

    ``window`` is ``(depart_from, depart_to, arrive_by)``; ``scan_args`` is ``(a_s, a_w, e_s, e_w,
    fp)`` for :func:`_best_doors`.
    """
    if depart is not None:
        t = parse_hhmm(depart)
        t_end = int(net.arr_time.max()) if net.n_connections else t
        return _DoorPlan([t], t_end, walk_only, t)
    t0, t1, t_end = window_seconds(*window)
    a_s, a_w, e_s, e_w, fp = scan_args
    doors = _best_doors(net, a_s, a_w, e_s, e_w, t0, t1, t_end, fp)
    return _DoorPlan(doors, t_end, walk_only and walk_s <= t_end - t0, t0)


def _fastest_journey(net, o, d, plan: _DoorPlan, acc, egr, fp, walk_kmh, detour):
    """The shortest of the journeys leaving at ``plan.doors``: ``(duration, door, arrival, legs)`` or None."""
    best = None
    for door in plan.doors:
        arr, legs = _journey(net, o, d, door, plan.t_end, acc, egr, fp, walk_kmh, detour)
        if legs is not None:
            dur = arr - door
            if best is None or dur < best[0] - 1e-9:
                best = (dur, door, arr, legs)
    return best


def _walking_journey(start: int, walk_s: float, walk_dist: float, detour: float):
    """Walking the whole way, leaving at ``start``: ``(duration, door, arrival, legs)``."""
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
    return (walk_s, start, start + walk_s, legs)


def _as_bike_access(net, o, legs: list[dict], a_det: float) -> None:
    """Turn the first (access) leg into a cycled one, its metres with the access detour (in place)."""
    first_stop = int(np.flatnonzero(net.stop_ids == legs[1]["from_stop_id"])[0])
    legs[0]["mode"] = "bike"
    legs[0]["meters"] = round(float(haversine_m(o, net.stop_lonlat[first_stop])) * a_det)


def transit_route(
    network: TransitNetwork,
    from_lonlat,
    to_lonlat,
    depart: str | None = None,
    depart_from: str = DEPART_FROM,
    depart_to: str = DEPART_TO,
    arrive_by: str = ARRIVE_BY,
    walk_kmh: float = WALK_KMH,
    max_access_min: float = MAX_ACCESS_MIN,
    max_transfer_m: float = MAX_TRANSFER_M,
    detour: float = DETOUR_FACTOR,
    walk_only: bool = True,
    access_kmh: float | None = None,
    access_detour: float | None = None,
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
    access_kmh, access_detour : float, optional
        The access leg's speed and detour (default: walking); a cycling speed gives the
        « rabattement vélo » option of :func:`transit_matrix` (first leg ``mode`` ``"bike"``).

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
    fp = footpath_lists(net, max_transfer_m, walk_kmh, detour)
    a_kmh, a_det = access_kmh or walk_kmh, access_detour or detour
    _, a_s, a_w = prepare_endpoints(net, o[None, :], access_radius_m(max_access_min, a_kmh, a_det), a_kmh, a_det)
    max_egress_m = access_radius_m(max_access_min, walk_kmh, detour)
    _, e_s, e_w = prepare_endpoints(net, d[None, :], max_egress_m, walk_kmh, detour)
    walk_dist = float(haversine_m(o, d))
    walk_s = float(walk_seconds(walk_dist, walk_kmh, detour))
    base = {"service_date": net.service_date.isoformat(), "from": list(map(float, o)), "to": list(map(float, d))}
    window = (depart_from, depart_to, arrive_by)
    plan = _door_plan(net, depart, window, walk_only, walk_s, (a_s, a_w, e_s, e_w, fp))
    best = _fastest_journey(net, o, d, plan, (a_s, a_w), (e_s, e_w), fp, walk_kmh, detour)
    if plan.walk_ok and (best is None or walk_s < best[0]):
        best = _walking_journey(plan.start, walk_s, walk_dist, detour)
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
    if access_kmh is not None and legs[0]["to"] != "destination":  # cycled to the first stop
        _as_bike_access(net, o, legs, a_det)
    if depart is not None:
        dur = arr - parse_hhmm(depart)
    return {
        **base,
        "minutes": round(dur / 60.0, 4),
        "depart": format_hhmm(door),
        "arrive": format_hhmm(arr),
        "legs": legs,
    }
