"""Road graphs for the walk, bike and car modes, in OSMnx's model.

Every loader returns a :class:`networkx.MultiDiGraph` as OSMnx builds them: nodes carry ``x``
(longitude) and ``y`` (latitude), edges carry ``length`` (metres), ``highway``, ``speed_kph``
and ``travel_time`` (seconds, for a car). Walking and cycling times are derived per mode by
:func:`mode_edge_table` / :func:`mode_graph` from the edge lengths and the mode's speed, with
OSMnx's own ``network_type`` filters deciding which ways each mode may use.

This module owns the road modes, their speeds and the ways closed to each, the choice of a
reader by file name (:func:`load_road_graph`) and the per-mode edges. The readers live in
:mod:`analysis.network.roads_osm` and :mod:`analysis.network.roads_layers`; their public names are re-exported
here (``roads.graph_from_lines`` ...).

Sources, chosen by file name (see :func:`load_road_graph`):

- OpenStreetMap XML (``.osm``, ``.osm.xml``, ``.osm.bz2``), read with
  :func:`osmnx.graph_from_xml` after keeping only ``highway`` ways (osmium does the filtering);
- OpenStreetMap PBF (``.osm.pbf``), read directly with osmium (:func:`graph_from_osm_pbf`);
- a road-line layer (GeoPackage, GeoJSON, shapefile) through :func:`osmnx.graph_from_gdfs`,
  with speeds by road class; the Travel Mapping skeleton of Normandie's numbered roads
  (layer ``segments``) has a dedicated reader (:func:`graph_from_skeleton`);
- OSMnx's online download for a polygon (:func:`graph_from_polygon_online`, only when asked).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd

from analysis import catalogue
from analysis.errors import DataError
from analysis.network.roads_layers import (
    SKELETON_CAR_ACCESS_KPH,
    SKELETON_JUNCTION_S,
    SKELETON_SPEEDS,
    SKELETON_URBAN_KPH,
    SKELETON_URBAN_SEGMENT_M,
    graph_from_lines,
    graph_from_skeleton,
    skeleton_car_seconds,
)
from analysis.network.roads_osm import (
    CAR_FALLBACK_HWY_KPH,
    CAR_HWY_SPEEDS,
    filter_highways,
    graph_from_osm_file,
    graph_from_osm_pbf,
    graph_from_polygon_online,
)

__all__ = [
    "BIKE_KPH",
    "CAR_ACCESS_KPH",
    "CAR_FALLBACK_HWY_KPH",
    "CAR_FALLBACK_KPH",
    "CAR_HWY_SPEEDS",
    "DETOUR_FACTOR",
    "EXCLUDED_ACCESS",
    "EXCLUDED_HIGHWAY",
    "ROAD_MODES",
    "SKELETON_CAR_ACCESS_KPH",
    "SKELETON_JUNCTION_S",
    "SKELETON_SPEEDS",
    "SKELETON_URBAN_KPH",
    "SKELETON_URBAN_SEGMENT_M",
    "WALK_KPH",
    "filter_highways",
    "graph_from_lines",
    "graph_from_osm_file",
    "graph_from_osm_pbf",
    "graph_from_polygon_online",
    "graph_from_skeleton",
    "load_road_graph",
    "mode_edge_table",
    "mode_graph",
    "mode_speed_kph",
    "skeleton_car_seconds",
]

#: Road modes computed on road graphs (``transit`` is handled by ``analysis.transit``).
ROAD_MODES: tuple[str, ...] = catalogue.ROAD_MODES

#: Default mode speeds (km/h) on the network and for the access legs (:data:`analysis.catalogue.MODE_INFO`).
WALK_KPH = float(catalogue.Mode.WALK.speed_kmh)
BIKE_KPH = float(catalogue.Mode.BIKE.speed_kmh)
#: Speed of a car on the leg between a point and its snapped node (local streets), calibrated
#: with the skeleton's car model against OSRM (``roads_layers.SKELETON_CAR_ACCESS_KPH``, the catalogue's value).
CAR_ACCESS_KPH = float(catalogue.Mode.CAR.info.access_speed)
#: Speed used for a car when no network covers a pair (straight line x detour).
CAR_FALLBACK_KPH = float(catalogue.Mode.CAR.info.fallback_speed)
#: Straight-line detour factor applied to access legs and to straight-line estimates.
DETOUR_FACTOR = float(catalogue.Mode.CAR.info.detour)

#: Highway values each mode may not use (:attr:`analysis.catalogue.ModeInfo.closed_highway`).
EXCLUDED_HIGHWAY: dict[str, frozenset[str]] = {m: catalogue.MODE_INFO[m].closed_highway for m in ROAD_MODES}
#: ``access`` values closing a way to a mode.
EXCLUDED_ACCESS = frozenset({"private", "no"})


def road_mode_info(mode: str) -> catalogue.ModeInfo:
    """The catalogue entry of a road mode; ``ValueError`` for a mode not computed on roads."""
    if mode not in catalogue.ROAD_MODES:
        raise ValueError(f"mode routier inconnu : {mode!r} (attendu : {', '.join(catalogue.ROAD_MODES)})")
    return catalogue.MODE_INFO[mode]


def mode_speed_kph(mode: str, speeds: Mapping[str, float] | None = None) -> float:
    """Network speed of a mode timed by ``length / speed`` (``walk``/``bike``) or the access
    speed of a mode timed by its edges' speeds (``car``), from the catalogue unless ``speeds``
    overrides it."""
    if speeds and mode in speeds and mode in catalogue.ROAD_MODES:
        return float(speeds[mode])
    if mode not in catalogue.ROAD_MODES:
        raise ValueError(f"mode inconnu : {mode!r} (attendu : {', '.join(catalogue.ROAD_MODES)})")
    return float(catalogue.MODE_INFO[mode].access_speed)


def load_road_graph(source: str | os.PathLike, layer: str | None = None) -> nx.MultiDiGraph:
    """Load a road graph from a file, choosing the reader by its name.

    Parameters
    ----------
    source : path-like
        ``*.osm``, ``*.osm.xml``, ``*.osm.bz2``, ``*.osm.gz``, ``*.osm.pbf`` (OpenStreetMap), or a
        vector line layer (``.gpkg``, ``.geojson``, ``.json``, ``.shp``...).
    layer : str, optional
        Layer of a GeoPackage.

    Returns
    -------
    networkx.MultiDiGraph
    """
    path = Path(source)
    name = path.name.lower()
    if not path.exists():
        raise DataError(str(path), "réseau routier introuvable")
    if name.endswith(".pbf"):
        return graph_from_osm_pbf(path)
    if name.endswith((".osm", ".osm.xml", ".osm.bz2", ".osm.gz", ".osm.xml.bz2")):
        return graph_from_osm_file(path)
    if name.endswith(".gpkg") and layer is None:
        import pyogrio

        layers = [row[0] for row in pyogrio.list_layers(path)]
        if "segments" in layers:
            return graph_from_skeleton(path, "segments")
    return graph_from_lines(path, layer=layer)


# --------------------------------------------------------------------------- modes


def _first(value):
    if isinstance(value, list):
        return value[0] if value else None
    return value


def _closed(values, excluded: frozenset[str]) -> np.ndarray:
    out = np.zeros(len(values), dtype=bool)
    for i, val in enumerate(values):
        if isinstance(val, list):
            out[i] = any(str(x) in excluded for x in val)
        elif val is not None and not (isinstance(val, float) and np.isnan(val)):
            out[i] = str(val) in excluded
    return out


def mode_edge_table(G: nx.MultiDiGraph, mode: str, speeds: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Directed edges a mode may use, with their travel time in seconds for that mode.

    Parameters
    ----------
    G : networkx.MultiDiGraph
        A graph from this module (edges with ``length``, ``highway``, ``travel_time``).
    mode : {"walk", "bike", "car"}
    speeds : mapping, optional
        ``{"walk": km/h, "bike": km/h}`` overriding :data:`WALK_KPH` / :data:`BIKE_KPH`.

    Returns
    -------
    pandas.DataFrame
        Columns ``u``, ``v``, ``key``, ``seconds``. Walking ignores one-way restrictions (the
        reverse of every one-way edge is added); cycling and driving follow them. Car seconds are
        the edge's ``travel_time``; walk and bike are ``length / speed``.
    """
    info = road_mode_info(mode)
    rows = list(G.edges(keys=True, data=True))
    u = [r[0] for r in rows]
    v = [r[1] for r in rows]
    key = [r[2] for r in rows]
    hwy = [r[3].get("highway") for r in rows]
    access = [r[3].get("access") for r in rows]
    length = np.array([float(r[3].get("length", 0.0)) for r in rows], dtype=float)
    keep = ~_closed(hwy, info.closed_highway) & ~_closed(access, EXCLUDED_ACCESS)
    if info.edge_speeds:
        seconds = np.array([float(r[3].get("travel_time", np.nan)) for r in rows], dtype=float)
    else:
        seconds = length / (mode_speed_kph(mode, speeds) / 3.6)
    keep &= np.isfinite(seconds)
    df = pd.DataFrame({"u": u, "v": v, "key": key, "seconds": seconds})[keep]
    if info.both_ways:
        oneway = np.array([bool(_first(r[3].get("oneway", False))) for r in rows])[keep]
        rev = df[oneway].rename(columns={"u": "v", "v": "u"})
        rev["key"] = -1 - np.arange(len(rev))  # reverse walking edges get their own keys
        df = pd.concat([df, rev[["u", "v", "key", "seconds"]]], ignore_index=True)
    return df.reset_index(drop=True)


def mode_graph(G: nx.MultiDiGraph, mode: str, speeds: Mapping[str, float] | None = None) -> nx.MultiDiGraph:
    """The graph a mode uses, with ``travel_time`` set to that mode's seconds.

    Same edges and weights as :func:`mode_edge_table` (so the array engine and networkx can be
    compared on the very same graph).
    """
    table = mode_edge_table(G, mode, speeds)
    H = nx.MultiDiGraph()
    H.graph.update(G.graph)
    H.add_nodes_from(G.nodes(data=True))
    H.add_edges_from(
        (u, v, k, {"travel_time": s}) for u, v, k, s in zip(table["u"], table["v"], table["key"], table["seconds"])
    )
    H.remove_nodes_from(list(nx.isolates(H)))
    return H
