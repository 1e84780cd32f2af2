"""One trip with its legs, for the ``route`` command and the tests.

:func:`road_route` follows a road trip leg by leg (its ``minutes`` equal the matrix cell of
:func:`analysis.network.paths.door_to_door`); :func:`route` also answers for public transport with
:func:`analysis.transit.transit_route`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import catalogue, config
from analysis.network import paths, roads
from analysis.traveltime.matrix import needs_direct_cap
from analysis.traveltime.settings import ROAD_MODES, TravelTimeSettings


def _edge_label(data: dict) -> str:
    for key in ("name", "ref"):
        val = data.get(key)
        if isinstance(val, list):
            val = " / ".join(map(str, val))
        if val is not None and not (isinstance(val, float) and np.isnan(val)) and str(val):
            return str(val)
    hwy = data.get("highway")
    return str(hwy[0] if isinstance(hwy, list) else hwy or "voie")


def road_route(
    G, arrays: paths.GraphArrays, mode: str, from_lonlat, to_lonlat, settings: TravelTimeSettings | None = None
) -> dict:
    """One road trip with its legs; ``minutes`` equals :func:`analysis.network.paths.door_to_door`'s cell.

    Returns
    -------
    dict
        ``{"mode", "minutes", "is_estimate", "network_source", "precision", "distance_m",
        "legs": [{"kind": "access"|"road"|"egress"|"direct"|"estimate", "name", "distance_m",
        "minutes", "from", "to"}...]}``.
    """
    cfg = settings or TravelTimeSettings(source_dir=None)
    det = cfg.detour_for(mode)
    a = np.asarray(from_lonlat, dtype=float).reshape(1, 2)
    b = np.asarray(to_lonlat, dtype=float).reshape(1, 2)
    res = paths.door_to_door(
        arrays,
        a,
        b,
        access_kph=cfg.access_kph(mode),
        fallback_kph=cfg.fallback_kph(mode),
        detour=det,
        max_snap_m=cfg.max_snap_m,
        direct_cap=needs_direct_cap(arrays),
    )
    minutes = float(res.minutes[0, 0])
    out = {
        "mode": mode,
        "minutes": round(minutes, 2) if np.isfinite(minutes) else None,
        "is_estimate": bool(res.is_estimate[0, 0]),
        "network_source": arrays.meta.get("source"),
        "precision": arrays.meta.get("precision"),
    }
    direct = float(paths.haversine_m(a[0, 0], a[0, 1], b[0, 0], b[0, 1]))
    acc_mps = cfg.access_kph(mode) / 3.6
    if res.is_estimate[0, 0]:
        label = _estimate_label(arrays, direct * det / acc_mps / 60.0, minutes)
        leg = _straight_leg("estimate", label, direct * det, out["minutes"], a, b)
        return {**out, "distance_m": round(direct * det), "legs": [leg]}
    (no,), (so,) = arrays.snap(a[:, 0], a[:, 1])
    (nd,), (sd,) = arrays.snap(b[:, 0], b[:, 1])
    direct_min = direct * det / acc_mps / 60.0
    if direct <= so + sd and np.isfinite(minutes) and abs(direct_min - minutes) < 1e-9:
        name = "trajet direct (plus court que l'accès au réseau)"
        leg = _straight_leg("direct", name, direct * det, round(direct_min, 2), a, b)
        return {**out, "distance_m": round(direct * det), "legs": [leg]}
    legs = [
        {
            "kind": "access",
            "name": "accès au réseau",
            "distance_m": round(so * det),
            "minutes": round(so * det / acc_mps / 60.0, 2),
            "from": a[0].tolist(),
            "to": [float(arrays.lon[no]), float(arrays.lat[no])],
        }
    ]
    _, nodes = arrays.path(no, nd)
    total_m = _append_road_legs(legs, G, arrays, mode, cfg, nodes, so * det + sd * det)
    legs.append(
        {
            "kind": "egress",
            "name": "depuis le réseau",
            "distance_m": round(sd * det),
            "minutes": round(sd * det / acc_mps / 60.0, 2),
            "from": [float(arrays.lon[nd]), float(arrays.lat[nd])],
            "to": b[0].tolist(),
        }
    )
    return {**out, "distance_m": round(total_m), "legs": legs}


def _estimate_label(arrays: paths.GraphArrays, capped_minutes: float, minutes: float) -> str:
    """Name of a straight-line estimate: the direct cap of a network without local streets
    (``minutes`` equals the straight line at the access speed, ``capped_minutes``), or an end
    off the network."""
    if needs_direct_cap(arrays) and np.isfinite(minutes) and abs(capped_minutes - minutes) < 1e-6:
        return "à vol d'oiseau x détour (réseau sans rues locales : plus court que par les routes numérotées)"
    return "à vol d'oiseau x détour (hors réseau)"


def _straight_leg(kind: str, name: str, distance_m: float, minutes, a: np.ndarray, b: np.ndarray) -> dict:
    """The single leg of a trip taken in a straight line from ``a[0]`` to ``b[0]``."""
    return {
        "kind": kind,
        "name": name,
        "distance_m": round(distance_m),
        "minutes": minutes,
        "from": a[0].tolist(),
        "to": b[0].tolist(),
    }


def _edge_data(G, u, v, key) -> dict:
    """Attributes of the graph edge ``u -> v`` (``key`` < 0 or None: a one-way street walked
    against its direction, the edge ``v -> u``)."""
    if key is not None and key >= 0:
        return G.get_edge_data(u, v, key) or {}
    return next(iter((G.get_edge_data(v, u) or {None: {}}).values()))


def _append_road_legs(legs: list, G, arrays: paths.GraphArrays, mode: str, cfg, nodes, total_m: float) -> float:
    """Append the road legs along ``nodes`` (a path of ``arrays``' node indices) to ``legs``,
    consecutive edges of the same name merged into one leg. Returns ``total_m`` plus their length."""
    if len(nodes) <= 1:
        return total_m
    table = arrays.meta.get("edge_table")
    if table is None:
        table = roads.mode_edge_table(G, mode, cfg.speeds())
    ids = arrays.node_ids
    pairs = pd.DataFrame({"u": ids[nodes[:-1]], "v": ids[nodes[1:]], "step": np.arange(len(nodes) - 1)})
    best = table.sort_values("seconds").drop_duplicates(["u", "v"])
    steps = pairs.merge(best, on=["u", "v"], how="left").sort_values("step")
    first = len(legs)
    current = None
    for u, v, key, sec in zip(steps["u"], steps["v"], steps["key"], steps["seconds"]):
        data = _edge_data(G, u, v, key)
        label = _edge_label(data)
        length = float(data.get("length", 0.0))
        total_m += length
        if current is not None and current["name"] == label:
            current["distance_m"] += length
            current["minutes"] += sec / 60.0
            current["to"] = [G.nodes[v]["x"], G.nodes[v]["y"]]
        else:
            current = {
                "kind": "road",
                "name": label,
                "distance_m": length,
                "minutes": sec / 60.0,
                "from": [G.nodes[u]["x"], G.nodes[u]["y"]],
                "to": [G.nodes[v]["x"], G.nodes[v]["y"]],
            }
            legs.append(current)
    for leg in legs[first:]:
        leg["distance_m"] = round(leg["distance_m"])
        leg["minutes"] = round(leg["minutes"], 2)
    return total_m


def _check_points(
    mode: str, points, net, cfg: TravelTimeSettings, name: str, own_network: bool, bike_access: bool = False
) -> None:
    """Refuse points outside the area (Normandie, or the extent of a network file given) or
    farther from the mode's network than its snapping limit (:mod:`analysis.traveltime.extent`)."""
    from analysis.traveltime.extent import check_in_extent, mode_network, network_extent, snap_check, snap_limit_m
    from analysis.validate_args import check_point

    limit = snap_limit_m(mode, cfg, bike_access)
    box = network_extent(net, name).widened(limit) if own_network else None
    # on the regional network, « transit » includes walking the whole way (as the matrices): a
    # point far from every stop may still walk, so the walking network decides, not the stops
    walk_net = mode_network("walk", cfg) if mode == "transit" and not own_network else None
    for i, point in enumerate(points):
        if box is not None:
            check_in_extent(point, box)
        else:
            check_point(point[0], point[1])
        if walk_net is not None:
            snap_check(point, "walk", walk_net, cfg, "squelette routier régional")
        else:
            snap_check(point, mode, net, cfg, name, bike_access=bike_access and i == 0)  # egress: on foot


def route(
    mode: str,
    from_lonlat,
    to_lonlat,
    date: str | None = None,
    depart: str | None = None,
    network: str | Path | None = None,
    settings: TravelTimeSettings | None = None,
    db_path: str | Path | None = None,
    bike_access: bool = False,
) -> dict:
    """One trip for the command line (and tests): JSON-able dict with ``minutes`` and ``legs``.

    Parameters
    ----------
    mode : {"walk", "bike", "car", "transit"}
    from_lonlat, to_lonlat : (lon, lat)
    date : str, optional
        Transit service date ``YYYY-MM-DD``.
    depart : str, optional
        Transit departure ``HH:MM`` (default: best of the morning window).
    network : path, optional
        Road network file (road modes) or GTFS (transit); default: the regional skeleton / the
        database's timetables. The points must then lie in that network's extent (its bounding
        box widened by the snapping limit), else in Normandie.
    bike_access : bool
        Transit only: cycle to the first stop (« rabattement vélo », at ``bike_kph`` with the
        bike's detour, at most ``transit_access_min`` minutes); labelled as such in
        ``mode_libelle``. Default: walking, as the matrices.

    Raises
    ------
    analysis.traveltime.extent.OutOfNetworkError
        A point outside the area, or farther from the mode's network than its snapping limit
        (:func:`analysis.traveltime.extent.snap_check`).
    """
    cfg = settings or TravelTimeSettings()
    points = (tuple(from_lonlat), tuple(to_lonlat))
    if bike_access and mode != "transit":
        raise ValueError("le rabattement vélo ne concerne que les transports en commun (--mode transit)")
    if mode == "transit":
        from analysis import transit

        if network is not None:
            net = transit.TransitNetwork.from_gtfs(network, service_date=date)
            networks: tuple[str, ...] = (catalogue.network_name(Path(network).stem, str(network)),)
        else:
            from analysis import db

            con = db.connect(db_path or config.default_db_path(), read_only=True)
            try:
                net = transit.TransitNetwork.from_duckdb(con, service_date=date)
                networks = catalogue.transit_networks(con)
            finally:
                con.close()
        name = Path(network).name if network is not None else ", ".join(networks)
        _check_points(mode, points, net, cfg, name, network is not None, bike_access)
        bike = {"access_kmh": cfg.bike_kph, "access_detour": cfg.detour_for("bike")} if bike_access else {}
        out = transit.transit_route(
            net,
            points[0],
            points[1],
            depart=depart,
            depart_from=cfg.depart_from,
            depart_to=cfg.depart_to,
            arrive_by=cfg.arrive_by,
            walk_kmh=cfg.walk_kph,
            detour=cfg.detour_for("transit"),
            max_access_min=cfg.transit_access_min,
            **bike,
        )
        # which networks the answer knows (offline: « TER seulement »)
        out["reseaux"] = list(networks)
        out["mode_libelle"] = catalogue.mode_label("transit", networks)
        if bike_access:
            out["mode_libelle"] += f" ; {catalogue.BIKE_ACCESS_LABEL}"
        return out
    if mode not in ROAD_MODES:
        raise ValueError(f"mode inconnu : {mode!r}")
    if network is not None:
        cfg = dataclasses.replace(cfg, road_network=Path(network), networks={})
    G = roads.load_road_graph(cfg.network_for(mode))
    arrays = paths.GraphArrays.from_graph(G, mode, cfg.speeds())
    _check_points(mode, points, arrays, cfg, Path(cfg.network_for(mode)).name, network is not None)
    return road_route(G, arrays, mode, points[0], points[1], cfg)
