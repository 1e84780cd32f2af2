"""Road graphs read from line layers: the Travel Mapping skeleton and any GIS line layer.

Owns the car speeds of the Travel Mapping skeleton of Normandie's numbered roads
(:data:`SKELETON_SPEEDS`, road classes by route system) and its reader
(:func:`graph_from_skeleton`), and the generic reader of a line layer (GeoPackage, GeoJSON,
shapefile: :func:`graph_from_lines`, speeds by road class from
:data:`analysis.network.roads_osm.CAR_HWY_SPEEDS`). Graphs follow OSMnx's model (see
:mod:`analysis.network.roads`, which picks the reader by file name).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd

from analysis.errors import DataError
from analysis.network.roads_osm import CAR_FALLBACK_HWY_KPH, CAR_HWY_SPEEDS

#: Car model of the Travel Mapping skeleton, the ONE place of its calibrated parameters.
#:
#: - ``SKELETON_SPEEDS``: running speed (km/h) by the ``highway`` class given to each system
#:   (autoroutes ``fraa`` and named freeways ``frasf`` -> motorway; routes nationales ``fran``
#:   and E-roads not concurrent with another route -> primary; routes départementales ->
#:   secondary);
#: - ``SKELETON_URBAN_KPH``: speed cap on segments shorter than ``SKELETON_URBAN_SEGMENT_M``
#:   (waypoints are dense in towns, where junctions are: the built-up crossings);
#: - ``SKELETON_JUNCTION_S``: seconds added to every segment (one junction, roundabout or
#:   village crossing between two waypoints; the skeleton's chords also under-measure winding
#:   roads);
#: - ``SKELETON_CAR_ACCESS_KPH``: car speed of the access leg between a point and its snapped
#:   node (straight line x ``roads.DETOUR_FACTOR``), read by ``roads.CAR_ACCESS_KPH``.
#:
#: Origin: least-squares fit (``analysis.network.car_calibration.fit``, 2026-12-07) of the log ratio
#: project / OSRM of the car time to Paris, Normandie leg, on the 1,314 communes of the fit half
#: (CRC32 of the INSEE code even) against the real OSRM times of July 2021
#: (``roads/osrm_car_time_to_paris_2021``): motorway 109.29, primary 83.38, secondary 66.05,
#: urban 33.10 km/h, junction 8.71 s, access 39.6 km/h, rounded here. ``bench/osrm_car.py``
#: reruns it. Held-out half (1,331 communes): median ratio 1.002, 99.5 % within ±10 %
#: (docs/traveltime.md, « Calibration voiture contre OSRM »). Before this fit: motorway 115,
#: primary 80, secondary 72, urban 40 km/h, no junction time, access 30 km/h (median 0.921,
#: 84.2 % within ±10 %).
SKELETON_SPEEDS: dict[str, float] = {"motorway": 109.0, "primary": 83.0, "secondary": 66.0}
SKELETON_URBAN_KPH = 33.0
SKELETON_URBAN_SEGMENT_M = 400.0
SKELETON_JUNCTION_S = 8.7
SKELETON_CAR_ACCESS_KPH = 40.0


def skeleton_car_seconds(
    highway,
    length,
    speeds: Mapping[str, float] | None = None,
    urban_kph: float = SKELETON_URBAN_KPH,
    urban_segment_m: float = SKELETON_URBAN_SEGMENT_M,
    junction_s: float = SKELETON_JUNCTION_S,
) -> tuple[np.ndarray, np.ndarray]:
    """Car running speed and seconds of skeleton segments (the car model, see the constants).

    Parameters
    ----------
    highway : array-like of str
        ``motorway``, ``primary`` or ``secondary``.
    length : array-like of float
        Segment lengths in metres.
    speeds, urban_kph, urban_segment_m, junction_s
        The model's parameters (default: the calibrated constants of this module).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Speed (km/h) and seconds ``length / speed + junction_s`` of each segment.
    """
    table = dict(SKELETON_SPEEDS if speeds is None else speeds)
    length = np.asarray(length, dtype=float)
    speed = pd.Series(np.asarray(highway)).map(table).to_numpy(dtype=float)
    speed = np.where(length >= urban_segment_m, speed, np.minimum(speed, urban_kph))
    return speed, length / (speed / 3.6) + junction_s


_SKELETON_CLASS = {"fraa": "motorway", "frasf": "motorway", "fran": "primary", "eure": "primary"}
_CLASS_RANK = {"motorway": 0, "primary": 1, "secondary": 2}


def _edges_both_ways(edges: pd.DataFrame) -> pd.DataFrame:
    rev = edges.copy()
    rev["u"], rev["v"] = edges["v"].to_numpy(), edges["u"].to_numpy()
    if "geometry" in rev:
        rev["geometry"] = gpd.GeoSeries(edges["geometry"]).reverse().to_numpy()
    out = pd.concat([edges, rev], ignore_index=True)
    out["key"] = out.groupby(["u", "v"]).cumcount()
    return out


def _finish_graph(nodes: pd.DataFrame, edges: pd.DataFrame, source: str, precision: str) -> nx.MultiDiGraph:
    import osmnx as ox  # lazy: 1.4 s of imports, only for the networkx readers

    gdf_nodes = gpd.GeoDataFrame(nodes, geometry=gpd.points_from_xy(nodes["x"], nodes["y"]), crs="EPSG:4326")
    gdf_edges = gpd.GeoDataFrame(edges, geometry="geometry", crs="EPSG:4326").set_index(["u", "v", "key"])
    G = ox.graph_from_gdfs(gdf_nodes, gdf_edges, graph_attrs={"crs": "EPSG:4326"})
    G.graph["network_source"] = source
    G.graph["precision"] = precision
    return G


def graph_from_skeleton(path: str | os.PathLike, layer: str = "segments") -> nx.MultiDiGraph:
    """Build the regional road graph from the Travel Mapping skeleton (numbered roads).

    Nodes are Travel Mapping's junction rule: waypoints with exactly the same coordinate text
    (``from_coord_key``/``to_coord_key``) are one node. Every segment is a two-way edge whose
    ``length`` is the straight chord (``length_m_straight``). Road class: autoroutes and named
    freeways are ``motorway`` (closed to walking and cycling); an E-road segment takes the class
    of the route it runs with, else ``primary``; N roads ``primary``; D roads ``secondary``.
    Car seconds: :func:`skeleton_car_seconds` (:data:`SKELETON_SPEEDS`, or
    :data:`SKELETON_URBAN_KPH` on segments shorter than :data:`SKELETON_URBAN_SEGMENT_M`, plus
    :data:`SKELETON_JUNCTION_S` per segment); ``speed_kph`` is the running speed.

    Parameters
    ----------
    path : path-like
        ``travelmapping_normandie.gpkg``.
    layer : str
        The segments layer.

    Returns
    -------
    networkx.MultiDiGraph
    """
    path = Path(path)
    if not path.exists():
        raise DataError(str(path), "réseau routier introuvable")
    try:
        seg = gpd.read_file(path, layer=layer)
    except Exception as exc:
        raise DataError(str(path), f"couche « {layer} » illisible : {exc}") from exc
    need = ["from_coord_key", "to_coord_key", "system", "route", "length_m_straight"]
    missing = [c for c in need if c not in seg.columns]
    if missing:
        raise DataError(str(path), "colonne absente de la couche " + layer, field=missing[0])
    for col in ("from_coord_key", "to_coord_key"):
        bad = seg[col].isna() | ~seg[col].astype(str).str.match(r"^-?\d+(\.\d+)?,-?\d+(\.\d+)?$")
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(str(path), f"coordonnée illisible : {seg[col].iloc[i]!r}", row=i + 1, field=col)
    seg = seg[seg["from_coord_key"] != seg["to_coord_key"]].reset_index(drop=True)

    keys = pd.Index(pd.unique(pd.concat([seg["from_coord_key"], seg["to_coord_key"]], ignore_index=True)))
    latlon = keys.str.split(",", expand=True)
    nodes = pd.DataFrame(
        {
            "y": latlon.get_level_values(0).astype(float),
            "x": latlon.get_level_values(1).astype(float),
            "coord_key": np.asarray(keys),
        },
        index=pd.RangeIndex(len(keys), name="osmid"),
    )
    u = keys.get_indexer(seg["from_coord_key"])
    v = keys.get_indexer(seg["to_coord_key"])
    # An E-road segment running on the same junction pair as another route is the same road:
    # drop the duplicate (it would only repeat the edge under another name).
    pair0 = pd.Series(list(zip(np.minimum(u, v), np.maximum(u, v))))
    is_e = (seg["system"] == "eure").to_numpy()
    other = pd.Series(~is_e).groupby(pair0).transform("any").to_numpy()
    keep = ~(is_e & other)
    seg, u, v = seg[keep].reset_index(drop=True), u[keep], v[keep]
    cls = seg["system"].map(_SKELETON_CLASS).fillna("secondary")
    # E-roads run concurrently with A/N routes: give every edge of an unordered node pair the
    # most major class found on that pair (an E-road on an autoroute is an autoroute).
    pair = pd.Series(list(zip(np.minimum(u, v), np.maximum(u, v))))
    rank = cls.map(_CLASS_RANK)
    rank_eure = rank.where(seg["system"] != "eure", 9)  # E-roads alone don't raise the rank
    best = rank_eure.groupby(pair).transform("min")
    best = best.where(best < 9, rank)  # E-road alone on its pair: primary
    inv_rank = {r: c for c, r in _CLASS_RANK.items()}
    highway = best.map(inv_rank)
    length = seg["length_m_straight"].astype(float).clip(lower=1.0)
    speed, seconds = skeleton_car_seconds(highway.to_numpy(), length.to_numpy())
    edges = pd.DataFrame(
        {
            "u": u,
            "v": v,
            "highway": highway.to_numpy(),
            "ref": seg["route"].astype(str).to_numpy(),
            "tier": seg.get("tier", pd.Series(np.nan, index=seg.index)).to_numpy(),
            "system": seg["system"].to_numpy(),
            "length": length.to_numpy(),
            "speed_kph": speed,
            "travel_time": seconds,
            "oneway": False,
            "geometry": seg.geometry.to_numpy(),
        }
    )
    edges = _edges_both_ways(edges)
    return _finish_graph(nodes, edges, f"travelmapping:{path.name}", "routes numérotées (A, N, D) seulement")


def graph_from_lines(
    path: str | os.PathLike,
    layer: str | None = None,
    highway_field: str | None = None,
    speeds: Mapping[str, float] | None = None,
    node_intersections: bool = False,
) -> nx.MultiDiGraph:
    """Build a road graph from a line layer (GeoPackage, GeoJSON, shapefile...).

    Lines become two-way edges between their end points (end points with identical
    coordinates, to 1e-7 degree, are one node). Car speeds come from the road class in
    ``highway_field`` through :data:`CAR_HWY_SPEEDS` (or ``speeds``).

    Parameters
    ----------
    path : path-like
        Any vector file GeoPandas reads.
    layer : str, optional
        Layer name (GeoPackage). A Travel Mapping skeleton (columns ``from_coord_key`` ...) is
        delegated to :func:`graph_from_skeleton`.
    highway_field : str, optional
        Column holding the road class, OSM ``highway`` values (``residential``, ``primary``...).
        Default: ``highway`` if present, else the single text column of the layer.
    speeds : mapping, optional
        Car speed (km/h) by class, overriding :data:`CAR_HWY_SPEEDS`.
    node_intersections : bool
        Split lines where they cross (for layers that are not noded at junctions).

    Returns
    -------
    networkx.MultiDiGraph
    """
    path = Path(path)
    if not path.exists():
        raise DataError(str(path), "couche routière introuvable")
    try:
        gdf = gpd.read_file(path, layer=layer) if layer else gpd.read_file(path)
    except Exception as exc:
        raise DataError(str(path), f"couche routière illisible : {exc}") from exc
    if "from_coord_key" in gdf.columns:
        return graph_from_skeleton(path, layer=layer or "segments")
    if gdf.crs is None:
        raise DataError(str(path), "système de coordonnées absent (fichier .prj ou CRS manquant)")
    gdf = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty]
    gdf = gdf.explode(index_parts=False).reset_index(drop=True)
    gdf = gdf[gdf.geom_type == "LineString"]
    if highway_field is None:
        text_cols = [c for c in gdf.columns if c != "geometry" and gdf[c].dtype == object]
        highway_field = "highway" if "highway" in gdf.columns else (text_cols[0] if len(text_cols) == 1 else None)
    classes = (
        gdf[highway_field].fillna("road").astype(str)
        if highway_field is not None
        else pd.Series("road", index=gdf.index)
    )
    gdf = gpd.GeoDataFrame({"highway": classes.to_numpy()}, geometry=gdf.geometry.to_numpy(), crs=gdf.crs)
    import shapely

    if node_intersections:
        # Split every line where it meets another, then give each piece the class of the
        # original line its midpoint lies on.
        noded = shapely.get_parts(shapely.node(shapely.MultiLineString(list(gdf.geometry))))
        mids = shapely.line_interpolate_point(noded, 0.5, normalized=True)
        tree = shapely.STRtree(gdf.geometry.to_numpy())
        nearest = tree.nearest(mids)
        gdf = gpd.GeoDataFrame({"highway": gdf["highway"].to_numpy()[nearest]}, geometry=noded, crs=gdf.crs)
    metric = gdf.to_crs(gdf.estimate_utm_crs())
    length = metric.length.to_numpy()
    wgs = gdf.to_crs("EPSG:4326")
    coords_start = shapely.get_coordinates(shapely.get_point(wgs.geometry.to_numpy(), 0))
    coords_end = shapely.get_coordinates(shapely.get_point(wgs.geometry.to_numpy(), -1))
    k_start = [f"{y:.7f},{x:.7f}" for x, y in coords_start]
    k_end = [f"{y:.7f},{x:.7f}" for x, y in coords_end]
    keys = pd.Index(pd.unique(pd.Series(k_start + k_end)))
    latlon = keys.str.split(",", expand=True)
    nodes = pd.DataFrame(
        {"y": latlon.get_level_values(0).astype(float), "x": latlon.get_level_values(1).astype(float)},
        index=pd.RangeIndex(len(keys), name="osmid"),
    )
    table = dict(CAR_HWY_SPEEDS)
    if speeds:
        table.update({k: float(v) for k, v in speeds.items()})
    edges = pd.DataFrame(
        {
            "u": keys.get_indexer(k_start),
            "v": keys.get_indexer(k_end),
            "highway": wgs["highway"].to_numpy(),
            "length": np.maximum(length, 0.5),
            "oneway": False,
            "geometry": wgs.geometry.to_numpy(),
        }
    )
    edges = edges[edges["u"] != edges["v"]]
    edges["speed_kph"] = edges["highway"].map(table).fillna(CAR_FALLBACK_HWY_KPH).astype(float)
    edges["travel_time"] = edges["length"] / (edges["speed_kph"] / 3.6)
    edges = _edges_both_ways(edges)
    return _finish_graph(nodes, edges, f"lignes:{path.name}", "couche routière (classes de voies)")
