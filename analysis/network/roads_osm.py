"""Road graphs read from OpenStreetMap: XML and PBF files, or OSMnx's online download.

Owns the free-flow car speeds by OSM ``highway`` class (:data:`CAR_HWY_SPEEDS`, applied with
:func:`osmnx.add_edge_speeds`), the osmium filter keeping only ``highway`` ways
(:func:`filter_highways`), the XML reader through :func:`osmnx.graph_from_xml`
(:func:`graph_from_osm_file`), the direct osmium reader for regional extracts
(:func:`graph_from_osm_pbf`) and :func:`graph_from_polygon_online`. Graphs follow OSMnx's model
(see :mod:`analysis.network.roads`, which picks the reader by file name).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import networkx as nx

from analysis.errors import DataError
from analysis.network import osm_ways

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


def _add_car_speeds(G: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """``ox.add_edge_speeds`` with :data:`CAR_HWY_SPEEDS` (silencing a pandas FutureWarning it raises)."""
    import warnings

    import osmnx as ox  # lazy: 1.4 s of imports, only for the networkx readers

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return ox.add_edge_speeds(G, hwy_speeds=CAR_HWY_SPEEDS, fallback=CAR_FALLBACK_HWY_KPH)


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
    osmium = osm_ways.import_osmium(src)
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
    import osmnx as ox  # lazy: 1.4 s of imports, only for the networkx readers

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
    ``ox.add_edge_travel_times``'s formula, computed directly. The file is read and cut into
    edges by :func:`analysis.network.osm_ways.read_ways` and :func:`analysis.network.osm_ways.split_ways`;
    the build's travel times skip this graph and take :mod:`analysis.network.roads_pbf`'s arrays.

    Parameters
    ----------
    path : path-like
        Any file osmium reads (``.osm.pbf``, ``.osm``, ``.osm.bz2``).

    Returns
    -------
    networkx.MultiDiGraph
    """
    path = Path(path)
    ways = osm_ways.read_ways(path, _WAY_TAGS)
    seg = osm_ways.split_ways(ways)
    tags = list(zip(*(ways.tag(k).tolist() for k in _WAY_TAGS)))
    way_ids = ways.way_id.tolist()
    node_ids = seg.node_id.tolist()
    u_ids = seg.node_id[seg.u].tolist()
    v_ids = seg.node_id[seg.v].tolist()

    G = nx.MultiDiGraph(crs="epsg:4326")
    G.add_nodes_from((n, {"x": x, "y": y}) for n, x, y in zip(node_ids, seg.lon.tolist(), seg.lat.tolist()))
    edges = []
    for u_i, v_i, w_i, ln in zip(u_ids, v_ids, seg.way.tolist(), seg.length.tolist()):
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
    G.graph["skipped_ways"] = ways.skipped
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
    import osmnx as ox  # lazy: 1.4 s of imports, only for the networkx readers

    G = ox.graph_from_polygon(polygon, network_type=network_type, simplify=True, retain_all=False)
    G = _add_car_speeds(G)
    G = ox.add_edge_travel_times(G)
    G.graph["network_source"] = "osmnx:online"
    G.graph["precision"] = "rues OpenStreetMap (téléchargement OSMnx)"
    return G
