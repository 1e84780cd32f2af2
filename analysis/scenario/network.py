"""New lines of a scenario laid onto the timetable: a :class:`~analysis.transit.TransitNetwork`
with the scenario's trips added (the baseline network is left untouched).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from analysis.network import paths
from analysis.scenario.spec import Line, Scenario, ScenarioError
from analysis.transit import TransitNetwork, haversine_m

#: Seconds a shuttle stands at an intermediate stop (boarding), added to the running time.
DWELL_S = 30


def stop_points(scenario: Scenario, communes: pd.DataFrame) -> list[np.ndarray]:
    """The (n_stops, 2) lon/lat of each line's stops (commune stops at the commune's origin point).

    Raises
    ------
    ScenarioError
        For a commune code that is not in the database.
    """
    where = communes.set_index("code")[["lon", "lat"]]
    out = []
    for k, line in enumerate(scenario.lines):
        pts = []
        for j, stop in enumerate(line.stops):
            if stop.commune is not None:
                if stop.commune not in where.index:
                    raise ScenarioError(f"lines[{k}].stops[{j}].commune", f"commune inconnue : « {stop.commune} »")
                pts.append(where.loc[stop.commune].to_numpy(float))
            else:
                pts.append(np.array([stop.lon, stop.lat], dtype=float))
        out.append(np.vstack(pts))
    return out


def leg_seconds(
    line: Line, points: np.ndarray, road: paths.GraphArrays | None, walk_kph: float, detour: float
) -> np.ndarray:
    """Running seconds between consecutive stops.

    With ``minutes`` given, those. With ``speed_kph``: the road distance between the stops at that
    speed, the distance being the walking network's time x walking speed (the road network of
    the build; a stop pair the network cannot join falls back to straight line x ``detour``).
    """
    if line.minutes is not None:
        return np.asarray(line.minutes, dtype=float) * 60.0
    a, b = points[:-1], points[1:]
    straight_m = haversine_m(a, b) * detour
    dist_m = straight_m.copy()
    if road is not None:
        res = paths.door_to_door(road, a, b, access_kph=walk_kph, detour=detour, direct_cap=True)
        walked = np.diag(res.minutes) if len(a) else np.zeros(0)
        ok = np.isfinite(walked)
        dist_m[ok] = walked[ok] / 60.0 * walk_kph * 1000.0
    return np.maximum(dist_m / (line.speed_kph / 3.6), 60.0)


def runs_on(line: Line, service_date) -> bool:
    """Whether the line runs on the evaluated service date: no ``days`` (default: the weekdays of
    the June fortnight, for which the service date stands), the date itself, or a listed day of the
    same weekday (the service date is a typical day)."""
    if not line.days:
        return service_date.weekday() < 5
    return service_date in line.days or service_date.weekday() in {d.weekday() for d in line.days}


def with_lines(
    net: TransitNetwork, scenario: Scenario, points: list[np.ndarray], seconds: list[np.ndarray]
) -> tuple[TransitNetwork, np.ndarray]:
    """The network with the scenario's trips added, and the indices of the new stops in it.

    Each line adds one stop per scenario stop (id ``scenario:<line>:<stop>``), one trip per
    departure (and per return departure, stops reversed), each trip's connections timed by
    ``seconds`` plus :data:`DWELL_S` at intermediate stops.
    """
    n0 = net.n_stops
    stop_ids, stop_names, stop_ll = [], [], []
    dep_s, arr_s, dep_t, arr_t, trip, trip_ids, trip_route = [], [], [], [], [], [], []
    n_trips = len(net.trip_ids)
    for k, (line, pts, sec) in enumerate(zip(scenario.lines, points, seconds, strict=True)):
        first = n0 + len(stop_ids)
        for j in range(len(pts)):
            stop_ids.append(f"scenario:{k}:{j}")
            stop_names.append(f"{line.name} — arrêt {j + 1}")
            stop_ll.append(pts[j])
        if not runs_on(line, net.service_date):
            continue
        idx = np.arange(first, first + len(pts))
        patterns = [(idx, sec, line.departures), (idx[::-1], sec[::-1], line.return_departures)]
        for stops, legs, departures in patterns:
            offsets = np.concatenate([[0.0], np.cumsum(legs + DWELL_S)])  # departure offset at each stop
            for t in departures:
                for j in range(len(stops) - 1):
                    dep_s.append(stops[j])
                    arr_s.append(stops[j + 1])
                    dep_t.append(int(round(t + offsets[j])))
                    arr_t.append(int(round(t + offsets[j] + legs[j])))
                    trip.append(n_trips + len(trip_ids))
                trip_ids.append(f"scenario:{k}:{t}:{len(trip_ids)}")
                trip_route.append(line.name)
    new_stops = np.arange(n0, n0 + len(stop_ids))
    if not stop_ids:
        return net, new_stops
    cat = np.concatenate
    dep_time = cat([net.dep_time, np.asarray(dep_t, dtype=np.int32)])
    arr_time = cat([net.arr_time, np.asarray(arr_t, dtype=np.int32)])
    trips = cat([net.trip, np.asarray(trip, dtype=np.int32)])
    order = np.lexsort((trips, arr_time, dep_time))
    new = replace(
        net,
        stop_ids=cat([net.stop_ids, np.asarray(stop_ids, dtype=str)]).astype(str),
        stop_names=cat([net.stop_names, np.asarray(stop_names, dtype=str)]).astype(str),
        stop_lonlat=np.vstack([net.stop_lonlat, np.asarray(stop_ll, dtype=float).reshape(-1, 2)]),
        dep_stop=cat([net.dep_stop, np.asarray(dep_s, dtype=np.int32)])[order],
        arr_stop=cat([net.arr_stop, np.asarray(arr_s, dtype=np.int32)])[order],
        dep_time=dep_time[order],
        arr_time=arr_time[order],
        trip=trips[order],
        can_board=cat([net.can_board, np.ones(len(dep_t), dtype=bool)])[order],
        can_alight=cat([net.can_alight, np.ones(len(dep_t), dtype=bool)])[order],
        trip_ids=cat([net.trip_ids, np.asarray(trip_ids, dtype=str)]).astype(str),
        trip_route=cat([net.trip_route, np.asarray(trip_route, dtype=str)]).astype(str),
        trip_headsign=cat([net.trip_headsign, np.asarray(trip_route, dtype=str)]).astype(str),
        _xyz=None,
        _transfers={},
    )
    return new, new_stops


def check_stops_served(
    scenario: Scenario, points: list[np.ndarray], road: paths.GraphArrays | None, max_snap_m: float
) -> None:
    """Refuse a stop farther than ``max_snap_m`` from the road network (in the sea, out of the region)."""
    if road is None:
        return
    for k, pts in enumerate(points):
        _, dist = road.snap(pts[:, 0], pts[:, 1])
        for j in np.flatnonzero(np.asarray(dist) > max_snap_m):
            raise ScenarioError(
                f"lines[{k}].stops[{j}]",
                f"arrêt hors du réseau : à {dist[j] / 1000:.1f} km de la route la plus proche "
                f"(au plus {max_snap_m / 1000:.1f} km)",
            )
