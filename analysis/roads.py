"""Road graphs for the walk, bike and car modes, in OSMnx's model.

Every loader returns a :class:`networkx.MultiDiGraph` as OSMnx builds them: nodes carry ``x``
(longitude) and ``y`` (latitude), edges carry ``length`` (metres), ``highway``, ``speed_kph``
and ``travel_time`` (seconds, for a car). Walking and cycling times are derived per mode by
:func:`mode_edge_table` / :func:`mode_graph` from the edge lengths and the mode's speed, with
OSMnx's own ``network_type`` filters deciding which ways each mode may use.

Sources, chosen by file name (see :func:`load_road_graph`):

- OpenStreetMap XML (``.osm``, ``.osm.xml``, ``.osm.bz2``), read with
  :func:`osmnx.graph_from_xml` after keeping only ``highway`` ways (osmium does the filtering);
- OpenStreetMap PBF (``.osm.pbf``), filtered and converted to XML with osmium first;
- a road-line layer (GeoPackage, GeoJSON, shapefile) through :func:`osmnx.graph_from_gdfs`,
  with speeds by road class; the Travel Mapping skeleton of Normandie's numbered roads
  (layer ``segments``) has a dedicated reader (:func:`graph_from_skeleton`);
- OSMnx's online download for a polygon (:func:`graph_from_polygon_online`, only when asked).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import osmnx as ox
import pandas as pd

from . import catalogue
from .errors import DataError
from .geodesy import haversine_m

#: Road modes computed on road graphs (``transit`` is handled by ``analysis.transit``).
ROAD_MODES: tuple[str, ...] = catalogue.ROAD_MODES

#: Default mode speeds (km/h) on the network and for the access legs.
WALK_KPH = float(catalogue.Mode.WALK.speed_kmh)
BIKE_KPH = float(catalogue.Mode.BIKE.speed_kmh)
#: Speed of a car on the leg between a point and its snapped node (local streets).
CAR_ACCESS_KPH = 30.0
#: Speed used for a car when no network covers a pair (straight line x detour).
CAR_FALLBACK_KPH = 40.0
#: Straight-line detour factor applied to access legs and to straight-line estimates.
DETOUR_FACTOR = 1.3

#: Free-flow car speeds (km/h) by OSM ``highway`` class where no ``maxspeed`` tag is set
#: (French rural/urban limits, close to OSRM's car profile). Used with ox.add_edge_speeds.
CAR_HWY_SPEEDS: dict[str, float] = {
    "motorway": 120.0,
    "motorway_link": 60.0,
    "trunk": 100.0,
    "trunk_link": 50.0,
    "primary": 75.0,
    "primary_link": 40.0,
    "secondary": 65.0,
    "secondary_link": 35.0,
    "tertiary": 50.0,
    "tertiary_link": 30.0,
    "unclassified": 40.0,
    "residential": 30.0,
    "living_street": 15.0,
    "service": 20.0,
    "road": 30.0,
}
CAR_FALLBACK_HWY_KPH = 30.0

#: Car speeds (km/h) on the Travel Mapping skeleton, by the ``highway`` class given to each
#: system (autoroutes ``fraa`` and named freeways ``frasf`` -> motorway; routes nationales
#: ``fran`` and E-roads not concurrent with another route -> primary; routes départementales
#: -> secondary). Segments shorter than ``SKELETON_URBAN_SEGMENT_M`` (waypoints are dense in
#: towns, where junctions are) get the urban speed instead. Calibrated against OSRM, see
#: docs/traveltime.md.
SKELETON_SPEEDS: dict[str, float] = {"motorway": 115.0, "primary": 80.0, "secondary": 72.0}
SKELETON_URBAN_KPH = 40.0
SKELETON_URBAN_SEGMENT_M = 400.0

#: Highway values each mode may not use, from OSMnx's ``network_type`` filters
#: (``walk``, ``bike``, ``drive``), applied to the loaded graph.
EXCLUDED_HIGHWAY: dict[str, frozenset[str]] = {
    "walk": frozenset(
        "abandoned bus_guideway construction cycleway motor motorway motorway_link no planned "
        "platform proposed raceway razed".split()
    ),
    "bike": frozenset(
        "abandoned bus_guideway construction corridor elevator escalator footway motor motorway "
        "motorway_link no planned platform proposed raceway razed steps".split()
    ),
    "car": frozenset(
        "abandoned bridleway bus_guideway construction corridor cycleway elevator escalator "
        "footway no path pedestrian planned platform proposed raceway razed steps track".split()
    ),
}
#: ``access`` values closing a way to a mode.
EXCLUDED_ACCESS = frozenset({"private", "no"})

_SKELETON_CLASS = {"fraa": "motorway", "frasf": "motorway", "fran": "primary", "eure": "primary"}
_CLASS_RANK = {"motorway": 0, "primary": 1, "secondary": 2}


def mode_speed_kph(mode: str, speeds: Mapping[str, float] | None = None) -> float:
    """Network speed of a non-motorised mode (``walk``/``bike``) or the access speed of ``car``."""
    base = {"walk": WALK_KPH, "bike": BIKE_KPH, "car": CAR_ACCESS_KPH}
    if speeds:
        base.update({k: float(v) for k, v in speeds.items() if k in base})
    if mode not in base:
        raise ValueError(f"mode inconnu : {mode!r} (attendu : {', '.join(ROAD_MODES)})")
    return base[mode]


def _add_car_speeds(G: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """``ox.add_edge_speeds`` with :data:`CAR_HWY_SPEEDS` (silencing a pandas FutureWarning it raises)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return ox.add_edge_speeds(G, hwy_speeds=CAR_HWY_SPEEDS, fallback=CAR_FALLBACK_HWY_KPH)


# --------------------------------------------------------------------------- OSM files


def filter_highways(src: str | os.PathLike, dst: str | os.PathLike) -> Path:
    """Write the ``highway`` ways of an OSM file, and only the nodes they use, to ``dst``.

    Parameters
    ----------
    src : path-like
        ``.osm``, ``.osm.bz2``, ``.osm.gz`` or ``.osm.pbf`` file (any format osmium reads).
    dst : path-like
        Output file; its suffix chooses the format (``.osm`` for XML).

    Returns
    -------
    pathlib.Path
        ``dst``.
    """
    try:
        import osmium
    except ImportError as exc:  # pragma: no cover - install problem
        raise DataError(
            str(src),
            "lecture impossible sans le paquet « osmium » (pip install osmium), ou convertissez "
            "le fichier en XML : « osmium cat fichier.osm.pbf -o fichier.osm » (paquet Debian "
            "osmium-tool) puis utilisez le .osm",
        ) from exc
    src, dst = Path(src), Path(dst)
    if not src.exists():
        raise DataError(str(src), "fichier OpenStreetMap introuvable")
    try:
        with osmium.BackReferenceWriter(str(dst), ref_src=str(src), overwrite=True) as writer:
            proc = osmium.FileProcessor(str(src), osmium.osm.WAY).with_filter(osmium.filter.KeyFilter("highway"))
            for way in proc:
                writer.add_way(way)
    except RuntimeError as exc:
        raise DataError(str(src), f"fichier OpenStreetMap illisible : {exc}") from exc
    return dst


def graph_from_osm_file(path: str | os.PathLike, simplify: bool = True) -> nx.MultiDiGraph:
    """Build a road graph from an OpenStreetMap XML or PBF file.

    Only ways with a ``highway`` tag are kept (``osmnx.graph_from_xml`` alone keeps every
    way, buildings included). One-way streets follow OSMnx's model (one directed edge); the
    walking mode ignores them later. Car speeds and times come from
    :func:`osmnx.add_edge_speeds` (``maxspeed`` tags, else :data:`CAR_HWY_SPEEDS`) and
    :func:`osmnx.add_edge_travel_times`.

    Parameters
    ----------
    path : path-like
        ``.osm``, ``.osm.xml``, ``.osm.bz2`` or ``.osm.pbf``.
    simplify : bool
        Simplify the topology (never merging edges whose ``highway``, ``access`` or ``maxspeed`` differ).

    Returns
    -------
    networkx.MultiDiGraph
    """
    path = Path(path)
    if not path.exists():
        raise DataError(str(path), "fichier OpenStreetMap introuvable")
    with tempfile.TemporaryDirectory(prefix="roads-") as tmp:
        xml = filter_highways(path, Path(tmp) / "highways.osm")
        try:
            G = ox.graph_from_xml(xml, bidirectional=False, simplify=False, retain_all=True)
        except Exception as exc:  # osmnx raises various errors on empty/bad XML
            raise DataError(str(path), f"aucune voie « highway » exploitable : {exc}") from exc
    G.remove_edges_from([(u, v, k) for u, v, k, d in G.edges(keys=True, data=True) if "highway" not in d])
    G.remove_nodes_from(list(nx.isolates(G)))
    if G.number_of_edges() == 0:
        raise DataError(str(path), "aucune voie « highway » dans le fichier")
    if simplify:
        G = ox.simplify_graph(G, edge_attrs_differ=["highway", "access", "maxspeed"])
    G = _add_car_speeds(G)
    G = ox.add_edge_travel_times(G)
    G.graph["network_source"] = f"osm:{path.name}"
    G.graph["precision"] = "rues OpenStreetMap"
    return G


_WAY_TAGS = ("highway", "name", "ref", "maxspeed", "access", "oneway", "junction", "service")
_ONEWAY_FWD = {"yes", "true", "1"}
_ONEWAY_REV = {"-1", "reverse"}


def graph_from_osm_pbf(path: str | os.PathLike) -> nx.MultiDiGraph:
    """Build a road graph straight from an OSM file with osmium, without an XML round trip.

    Meant for regional ``.osm.pbf`` extracts (Geofabrik, OSM France), too large for
    :func:`osmnx.graph_from_xml`. The graph follows OSMnx's model and its simplified topology:
    nodes are the way ends and the nodes shared by several ``highway`` ways; each edge follows
    one way between two such nodes, ``length`` is the sum of its segments' great-circle lengths;
    ``oneway`` / ``junction=roundabout`` make one directed edge (``oneway=-1`` reversed), other
    ways two (``reversed`` marks the backward one). Edges carry ``osmid``, ``highway``, ``name``,
    ``ref``, ``maxspeed``, ``access``, ``oneway``, ``reversed``, ``length``; no ``geometry``.
    Car speeds as in :func:`graph_from_osm_file` (``ox.add_edge_speeds``); ``travel_time`` with
    ``ox.add_edge_travel_times``'s formula, computed directly.

    Parameters
    ----------
    path : path-like
        Any file osmium reads (``.osm.pbf``, ``.osm``, ``.osm.bz2``).

    Returns
    -------
    networkx.MultiDiGraph
    """
    try:
        import osmium
    except ImportError as exc:  # pragma: no cover - install problem
        raise DataError(
            str(path),
            "lecture impossible sans le paquet « osmium » (pip install osmium), ou convertissez "
            "le fichier en XML : « osmium cat fichier.osm.pbf -o fichier.osm » (paquet Debian "
            "osmium-tool) puis utilisez le .osm",
        ) from exc
    path = Path(path)
    if not path.exists():
        raise DataError(str(path), "fichier OpenStreetMap introuvable")
    way_ids: list[int] = []
    tags: list[tuple] = []
    refs: list[np.ndarray] = []
    lons: list[np.ndarray] = []
    lats: list[np.ndarray] = []
    skipped = 0
    try:
        proc = (
            osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
            .with_locations()
            .with_filter(osmium.filter.KeyFilter("highway"))
        )
        for obj in proc:
            if not obj.is_way() or len(obj.nodes) < 2:
                continue
            try:
                coords = [(nd.ref, nd.lon, nd.lat) for nd in obj.nodes]
            except osmium.InvalidLocationError:
                skipped += 1  # a way whose nodes are outside the extract
                continue
            arr = np.array(coords, dtype=float)
            way_ids.append(obj.id)
            tags.append(tuple(obj.tags.get(k) for k in _WAY_TAGS))
            refs.append(np.array([c[0] for c in coords], dtype=np.int64))
            lons.append(arr[:, 1])
            lats.append(arr[:, 2])
    except RuntimeError as exc:
        raise DataError(str(path), f"fichier OpenStreetMap illisible : {exc}") from exc
    if not way_ids:
        raise DataError(str(path), "aucune voie « highway » dans le fichier")

    lens = np.array([len(r) for r in refs])
    ref = np.concatenate(refs)
    lon = np.concatenate(lons)
    lat = np.concatenate(lats)
    way = np.repeat(np.arange(len(lens)), lens)
    start = np.r_[0, np.cumsum(lens)[:-1]]
    end = start + lens - 1
    _, inv, cnt = np.unique(ref, return_inverse=True, return_counts=True)
    split = cnt[inv] > 1
    split[start] = True
    split[end] = True
    seg = np.zeros(len(ref))
    seg[1:] = haversine_m(lon[:-1], lat[:-1], lon[1:], lat[1:])
    seg[start] = 0.0  # no segment across two ways
    cum = np.cumsum(seg)
    pos = np.flatnonzero(split)
    same_way = way[pos[:-1]] == way[pos[1:]]
    a, b = pos[:-1][same_way], pos[1:][same_way]
    length = cum[b] - cum[a]
    wi = way[a]
    keep_nodes = np.unique(np.r_[a, b])

    G = nx.MultiDiGraph(crs="epsg:4326")
    G.add_nodes_from((int(ref[i]), {"x": float(lon[i]), "y": float(lat[i])}) for i in keep_nodes)
    edges = []
    for u_i, v_i, w_i, ln in zip(ref[a].tolist(), ref[b].tolist(), wi.tolist(), length.tolist()):
        hwy, name, rref, maxspeed, access, oneway, junction, service = tags[w_i]
        attrs = {"osmid": way_ids[w_i], "highway": hwy, "length": max(ln, 0.0)}
        for key, val in (
            ("name", name),
            ("ref", rref),
            ("maxspeed", maxspeed),
            ("access", access),
            ("service", service),
        ):
            if val is not None:
                attrs[key] = val
        ow = (oneway or "").lower()
        if ow in _ONEWAY_REV:
            edges.append((v_i, u_i, {**attrs, "oneway": True, "reversed": True}))
        elif ow in _ONEWAY_FWD or (junction == "roundabout" and ow != "no"):
            edges.append((u_i, v_i, {**attrs, "oneway": True, "reversed": False}))
        else:
            edges.append((u_i, v_i, {**attrs, "oneway": False, "reversed": False}))
            edges.append((v_i, u_i, {**attrs, "oneway": False, "reversed": True}))
    G.add_edges_from(edges)
    G = _add_car_speeds(G)
    # ox.add_edge_travel_times's formula, without its conversion to GeoDataFrames (which builds a
    # LineString per edge and dominates the load time of large graphs)
    for _, _, d in G.edges(data=True):
        d["travel_time"] = d["length"] / (d["speed_kph"] * 1000.0 / 3600.0)
    G.graph["network_source"] = f"osm:{path.name}"
    G.graph["precision"] = "rues OpenStreetMap"
    G.graph["skipped_ways"] = skipped
    return G


def graph_from_polygon_online(
    polygon, network_type: str = "all"
) -> nx.MultiDiGraph:  # pragma: no cover - needs internet
    """Download the OSM road network inside ``polygon`` with OSMnx (internet required).

    Parameters
    ----------
    polygon : shapely Polygon or MultiPolygon (WGS84)
    network_type : str
        OSMnx network type; ``"all"`` keeps every mode's ways, filtered per mode afterwards.
    """
    G = ox.graph_from_polygon(polygon, network_type=network_type, simplify=True, retain_all=False)
    G = _add_car_speeds(G)
    G = ox.add_edge_travel_times(G)
    G.graph["network_source"] = "osmnx:online"
    G.graph["precision"] = "rues OpenStreetMap (téléchargement OSMnx)"
    return G


# --------------------------------------------------------------------------- line layers


def _edges_both_ways(edges: pd.DataFrame) -> pd.DataFrame:
    rev = edges.copy()
    rev["u"], rev["v"] = edges["v"].to_numpy(), edges["u"].to_numpy()
    if "geometry" in rev:
        rev["geometry"] = gpd.GeoSeries(edges["geometry"]).reverse().to_numpy()
    out = pd.concat([edges, rev], ignore_index=True)
    out["key"] = out.groupby(["u", "v"]).cumcount()
    return out


def _finish_graph(nodes: pd.DataFrame, edges: pd.DataFrame, source: str, precision: str) -> nx.MultiDiGraph:
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
    Car speeds: :data:`SKELETON_SPEEDS`, or :data:`SKELETON_URBAN_KPH` on segments shorter than
    :data:`SKELETON_URBAN_SEGMENT_M`.

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
    speed = highway.map(SKELETON_SPEEDS).astype(float)
    speed = speed.where(length >= SKELETON_URBAN_SEGMENT_M, np.minimum(speed, SKELETON_URBAN_KPH))
    edges = pd.DataFrame(
        {
            "u": u,
            "v": v,
            "highway": highway.to_numpy(),
            "ref": seg["route"].astype(str).to_numpy(),
            "tier": seg.get("tier", pd.Series(np.nan, index=seg.index)).to_numpy(),
            "system": seg["system"].to_numpy(),
            "length": length.to_numpy(),
            "speed_kph": speed.to_numpy(),
            "oneway": False,
            "geometry": seg.geometry.to_numpy(),
        }
    )
    edges["travel_time"] = edges["length"] / (edges["speed_kph"] * 1000.0 / 3600.0)
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
    if mode not in ROAD_MODES:
        raise ValueError(f"mode routier inconnu : {mode!r} (attendu : {', '.join(ROAD_MODES)})")
    rows = list(G.edges(keys=True, data=True))
    u = [r[0] for r in rows]
    v = [r[1] for r in rows]
    key = [r[2] for r in rows]
    hwy = [r[3].get("highway") for r in rows]
    access = [r[3].get("access") for r in rows]
    length = np.array([float(r[3].get("length", 0.0)) for r in rows], dtype=float)
    keep = ~_closed(hwy, EXCLUDED_HIGHWAY[mode]) & ~_closed(access, EXCLUDED_ACCESS)
    if mode == "car":
        seconds = np.array([float(r[3].get("travel_time", np.nan)) for r in rows], dtype=float)
    else:
        seconds = length / (mode_speed_kph(mode, speeds) / 3.6)
    keep &= np.isfinite(seconds)
    df = pd.DataFrame({"u": u, "v": v, "key": key, "seconds": seconds})[keep]
    if mode == "walk":
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
