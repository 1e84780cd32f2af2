"""OpenStreetMap files read with osmium straight to per-mode graph arrays (no networkx).

The regional street network (a Normandie ``.osm.pbf``: millions of nodes) is too large for a
networkx graph: :func:`analysis.roads_osm.graph_from_osm_pbf` then
:func:`analysis.roads.mode_edge_table` cost minutes and gigabytes. This module reads the
``highway`` ways once (:func:`read_ways`: osmium's :class:`osmium.FileProcessor` with its node
location cache, way coordinates as WKB from :class:`osmium.geom.WKBFactory`, tags as category
codes), cuts them into edges between the nodes the graph keeps (:func:`split_ways`: way ends and
nodes used more than once) and gives each road mode its
:class:`analysis.paths.GraphArrays` (:meth:`OsmNetwork.mode_arrays`).

The semantics are those of the networkx path, which :func:`analysis.roads_osm.graph_from_osm_pbf`
shares through :func:`read_ways` and :func:`split_ways`: same nodes in the same order, same
one-way rules, same ways closed to each mode (:data:`analysis.roads.EXCLUDED_HIGHWAY`,
:data:`analysis.roads.EXCLUDED_ACCESS`), car speeds as :func:`osmnx.add_edge_speeds` sets them
with :data:`analysis.roads_osm.CAR_HWY_SPEEDS` (``maxspeed`` parsed by OSMnx's own cleaner,
highway classes outside the table get the mean ``maxspeed`` of their edges, else the fallback),
walking and cycling at the mode's speed. One deliberate difference: an edge whose ``maxspeed``
reads as 0 km/h makes the networkx path fail (division by zero); here it is closed to cars.
"""

from __future__ import annotations

import os
from array import array
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import DataError
from .geodesy import haversine_m

#: Tags of a way the array reader needs.
MODE_TAGS: tuple[str, ...] = ("highway", "maxspeed", "access", "oneway", "junction")
_ONEWAY_FWD = frozenset({"yes", "true", "1"})
_ONEWAY_REV = frozenset({"-1", "reverse"})
_WKB_HEADER = 9  # byte order (1) + geometry type (4) + number of points (4)


def _osmium(path: Path):
    try:
        import osmium
    except ImportError as exc:  # pragma: no cover - install problem
        raise DataError(
            str(path),
            "lecture impossible sans le paquet « osmium » (pip install osmium), ou convertissez "
            "le fichier en XML : « osmium cat fichier.osm.pbf -o fichier.osm » (paquet Debian "
            "osmium-tool) puis utilisez le .osm",
        ) from exc
    return osmium


@dataclass
class WayTable:
    """The ``highway`` ways of an OSM file as flat arrays.

    Attributes
    ----------
    way_id : numpy.ndarray
        OSM way ids, shape (w,).
    lens : numpy.ndarray
        Number of node references of each way, shape (w,).
    ref, lon, lat : numpy.ndarray
        The ways' node references and their coordinates, concatenated way after way, shape (r,).
    codes : dict of str to numpy.ndarray
        For each tag key, the code of each way's value, shape (w,).
    values : dict of str to list
        For each tag key, the value of each code (``None``: tag absent).
    skipped : int
        Ways left out because a node is missing from the file (extract boundary).
    """

    way_id: np.ndarray
    lens: np.ndarray
    ref: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    codes: dict[str, np.ndarray]
    values: dict[str, list]
    skipped: int = 0

    def tag(self, key: str) -> np.ndarray:
        """Each way's value of ``key`` (object array, ``None`` where absent)."""
        return np.array(self.values[key], dtype=object)[self.codes[key]]


class _Categories:
    """Codes of the distinct values of one tag, assigned in order of appearance."""

    def __init__(self):
        self.index: dict[str | None, int] = {}
        self.codes = array("i")

    def add(self, value: str | None) -> None:
        code = self.index.get(value)
        if code is None:
            code = self.index[value] = len(self.index)
        self.codes.append(code)

    def values(self) -> list:
        return list(self.index)


def read_ways(path: str | os.PathLike, keys: Sequence[str] = MODE_TAGS) -> WayTable:
    """Read the ``highway`` ways of an OSM file with osmium (PBF, XML, compressed XML).

    Ways with fewer than two node references are ignored; ways with a node missing from the file
    are skipped and counted. Node coordinates come from osmium's node location cache
    (``FileProcessor.with_locations``) through :class:`osmium.geom.WKBFactory` (all nodes, in
    way order), so no coordinate crosses Python one by one.

    Parameters
    ----------
    path : path-like
        Any file osmium reads.
    keys : sequence of str
        Tags to keep (``highway`` always first in :data:`MODE_TAGS`).

    Returns
    -------
    WayTable

    Raises
    ------
    DataError
        Missing or unreadable file, or no usable ``highway`` way.
    """
    path = Path(path)
    osmium = _osmium(path)
    if not path.exists():
        raise DataError(str(path), "fichier OpenStreetMap introuvable")
    cats = {k: _Categories() for k in keys}
    way_ids, lens, refs = array("q"), array("q"), array("q")
    wkb = bytearray()
    factory = osmium.geom.WKBFactory()
    all_nodes = osmium.geom.ALL
    skipped = 0
    try:
        proc = (
            osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
            .with_locations()
            .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
            .with_filter(osmium.filter.KeyFilter("highway"))
        )
        for way in proc:
            nodes = way.nodes
            if len(nodes) < 2:
                continue
            try:
                line = factory.create_linestring(nodes, use_nodes=all_nodes)
            except osmium.InvalidLocationError:
                skipped += 1  # a way whose nodes are outside the extract
                continue
            wkb += bytes.fromhex(line)
            refs.extend([n.ref for n in nodes])
            lens.append(len(nodes))
            way_ids.append(way.id)
            tags = way.tags
            for k, c in cats.items():
                c.add(tags.get(k))
    except RuntimeError as exc:
        raise DataError(str(path), f"fichier OpenStreetMap illisible : {exc}") from exc
    if not way_ids:
        raise DataError(str(path), "aucune voie « highway » dans le fichier")
    n_way = np.frombuffer(lens, dtype=np.int64)
    coords = _wkb_points(np.frombuffer(wkb, dtype=np.uint8), n_way)
    return WayTable(
        way_id=np.frombuffer(way_ids, dtype=np.int64).copy(),
        lens=n_way.copy(),
        ref=np.frombuffer(refs, dtype=np.int64).copy(),
        lon=coords[:, 0].copy(),
        lat=coords[:, 1].copy(),
        codes={k: np.frombuffer(c.codes, dtype=np.int32).copy() for k, c in cats.items()},
        values={k: c.values() for k, c in cats.items()},
        skipped=skipped,
    )


def _wkb_points(buf: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """(lon, lat) of every point of concatenated little-endian WKB line strings of ``lens`` points."""
    block = _WKB_HEADER + 16 * lens
    start = np.cumsum(block) - block + _WKB_HEADER  # first coordinate byte of each line
    first = np.cumsum(lens) - lens
    offset = np.repeat(start - 16 * first, lens) + 16 * np.arange(int(lens.sum()))
    out = np.empty((len(offset), 2), dtype="<f8")
    raw = out.view(np.uint8).reshape(len(offset), 16)
    for b in range(16):  # byte by byte: no (points x 16) index array
        raw[:, b] = buf[offset + b]
    return out.astype(np.float64, copy=False)


@dataclass
class Segments:
    """Ways cut at the nodes the graph keeps, as :func:`split_ways` returns them.

    Attributes
    ----------
    node_id : numpy.ndarray
        OSM ids of the graph's nodes, in order of first appearance in the file's ways.
    lon, lat : numpy.ndarray
        Their coordinates.
    u, v : numpy.ndarray
        Node indices of each segment's first and last node (way order).
    way : numpy.ndarray
        Index of the way (in the :class:`WayTable`) each segment follows.
    length : numpy.ndarray
        Great-circle length of each segment (metres).
    """

    node_id: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    u: np.ndarray
    v: np.ndarray
    way: np.ndarray
    length: np.ndarray


def split_ways(ways: WayTable) -> Segments:
    """Cut ways at their ends and at every node referenced more than once (OSMnx's topology).

    Segment lengths are differences of one running sum of the segments' haversine lengths over
    the whole file, as :func:`analysis.roads_osm.graph_from_osm_pbf` has always computed them.
    """
    ref, lens = ways.ref, ways.lens
    way = np.repeat(np.arange(len(lens)), lens)
    start = np.cumsum(lens) - lens
    end = start + lens - 1
    uniq, inv, cnt = np.unique(ref, return_inverse=True, return_counts=True)
    split = cnt[inv] > 1
    split[start] = True
    split[end] = True
    seg = np.zeros(len(ref))
    seg[1:] = haversine_m(ways.lon[:-1], ways.lat[:-1], ways.lon[1:], ways.lat[1:])
    seg[start] = 0.0  # no segment across two ways
    cum = np.cumsum(seg)
    del seg
    pos = np.flatnonzero(split)
    same_way = way[pos[:-1]] == way[pos[1:]]
    a, b = pos[:-1][same_way], pos[1:][same_way]
    # graph nodes: the referenced ids at split positions, in order of first appearance
    first = np.full(len(uniq), len(ref), dtype=np.int64)
    np.minimum.at(first, inv[pos], pos)
    kept = np.flatnonzero(first < len(ref))
    kept = kept[np.argsort(first[kept], kind="stable")]
    node_of = np.full(len(uniq), -1, dtype=np.int64)
    node_of[kept] = np.arange(len(kept))
    at = first[kept]
    return Segments(
        node_id=ref[at],
        lon=ways.lon[at],
        lat=ways.lat[at],
        u=node_of[inv[a]],
        v=node_of[inv[b]],
        way=way[a],
        length=np.maximum(cum[b] - cum[a], 0.0),
    )


def way_directions(ways: WayTable) -> np.ndarray:
    """Direction of each way: 0 both ways, 1 one-way forward, -1 one-way against its nodes.

    ``oneway=yes/true/1`` or ``junction=roundabout`` (unless ``oneway=no``) are one-way forward,
    ``oneway=-1/reverse`` backward, as in :func:`analysis.roads_osm.graph_from_osm_pbf`.
    """
    ow = np.array([(v or "").lower() for v in ways.values["oneway"]], dtype=object)[ways.codes["oneway"]]
    roundabout = np.array([v == "roundabout" for v in ways.values["junction"]], dtype=bool)[ways.codes["junction"]]
    rev = np.isin(ow, list(_ONEWAY_REV))
    fwd = np.isin(ow, list(_ONEWAY_FWD)) | (roundabout & (ow != "no"))
    return np.where(rev, -1, np.where(fwd, 1, 0)).astype(np.int8)


def maxspeed_kph(values: Sequence[str | None]) -> np.ndarray:
    """Speeds (km/h) of ``maxspeed`` tag values as :func:`osmnx.add_edge_speeds` reads them.

    OSMnx's own cleaner (``osmnx.routing._clean_maxspeed``, osmnx pinned): ``"50"``, ``"50 mph"``
    (converted), ``"50|70"`` (mean), implicit values such as ``"FR:urban"``; NaN when absent or
    unreadable.
    """
    from osmnx.routing import _clean_maxspeed

    out = np.full(len(values), np.nan)
    for i, val in enumerate(values):
        if val is not None:
            kph = _clean_maxspeed(str(val))
            out[i] = np.nan if kph is None else float(kph)
    return out


@dataclass
class OsmNetwork:
    """A road network read from an OSM file: nodes, directed edges and their attributes.

    Attributes
    ----------
    node_id, lon, lat : numpy.ndarray
        Graph nodes (OSM ids, WGS84 coordinates).
    u, v : numpy.ndarray
        Directed edges (node indices), as the networkx graph holds them (two per two-way segment).
    length : numpy.ndarray
        Metres.
    oneway : numpy.ndarray
        True for edges of one-way ways (walking adds their reverse).
    highway, access : numpy.ndarray
        Category codes of each edge's tags; the values are in ``highway_values``/``access_values``.
    car_seconds : numpy.ndarray
        Car travel time (``inf`` where the speed is 0).
    source : str
        ``osm:<file name>``.
    skipped_ways : int
    """

    node_id: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    u: np.ndarray
    v: np.ndarray
    length: np.ndarray
    oneway: np.ndarray
    highway: np.ndarray
    access: np.ndarray
    highway_values: list
    access_values: list
    car_seconds: np.ndarray
    source: str
    skipped_ways: int = 0
    meta: dict = field(default_factory=dict)

    @property
    def n_nodes(self) -> int:
        return len(self.node_id)

    def mode_arrays(self, mode: str, speeds: Mapping[str, float] | None = None):
        """The :class:`analysis.paths.GraphArrays` of a road mode.

        Same result as ``GraphArrays.from_graph(graph_from_osm_pbf(path), mode, speeds)``: the
        graph's nodes (all of them, in the same order), the edges :func:`analysis.roads.mode_edge_table`
        keeps (walking both ways on one-way streets), the minimum over parallel edges.
        """
        from . import paths, roads

        if mode not in roads.ROAD_MODES:
            raise ValueError(f"mode routier inconnu : {mode!r} (attendu : {', '.join(roads.ROAD_MODES)})")
        closed_hwy = np.array([v is not None and str(v) in roads.EXCLUDED_HIGHWAY[mode] for v in self.highway_values])
        closed_acc = np.array([v is not None and str(v) in roads.EXCLUDED_ACCESS for v in self.access_values])
        keep = ~closed_hwy[self.highway] & ~closed_acc[self.access]
        if mode == "car":
            seconds = self.car_seconds
        else:
            seconds = self.length / (roads.mode_speed_kph(mode, speeds) / 3.6)
        keep &= np.isfinite(seconds)
        u, v, w = self.u[keep], self.v[keep], seconds[keep]
        if mode == "walk":
            back = self.oneway[keep]
            u, v, w = np.r_[u, v[back]], np.r_[v, u[back]], np.r_[w, w[back]]
        return paths.GraphArrays.from_edges(
            self.lon,
            self.lat,
            u,
            v,
            w,
            node_ids=self.node_id,
            mode=mode,
            source=self.source,
            precision="rues OpenStreetMap",
        )


def _directed(seg: Segments, direction: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Directed edges of the segments: (u, v, segment index, oneway flag)."""
    d = direction[seg.way]
    both = np.flatnonzero(d == 0)
    fwd = np.flatnonzero(d == 1)
    rev = np.flatnonzero(d == -1)
    index = np.int32 if len(seg.node_id) < 2**31 else np.int64  # half the memory of the edge list
    u = np.concatenate([seg.u[fwd], seg.v[rev], seg.u[both], seg.v[both]]).astype(index)
    v = np.concatenate([seg.v[fwd], seg.u[rev], seg.v[both], seg.u[both]]).astype(index)
    idx = np.concatenate([fwd, rev, both, both])
    oneway = np.zeros(len(idx), dtype=bool)
    oneway[: len(fwd) + len(rev)] = True
    return u, v, idx, oneway


def car_speeds(
    highway: np.ndarray,
    maxspeed: np.ndarray,
    highway_values: Sequence,
    hwy_speeds: Mapping[str, float],
    fallback: float,
) -> np.ndarray:
    """Edge speeds (km/h) with :func:`osmnx.add_edge_speeds`'s rule, on arrays.

    Parameters
    ----------
    highway : numpy.ndarray
        Highway code of each directed edge.
    maxspeed : numpy.ndarray
        Parsed ``maxspeed`` of each directed edge (NaN when none).
    highway_values : sequence
        Highway value of each code.
    hwy_speeds : mapping
        Speeds of highway classes without ``maxspeed`` (:data:`analysis.roads_osm.CAR_HWY_SPEEDS`).
    fallback : float
        Speed of a class neither in ``hwy_speeds`` nor with any ``maxspeed`` in the network.

    Returns
    -------
    numpy.ndarray
        The edge's ``maxspeed`` where readable, else its class's speed.
    """
    n_cat = len(highway_values)
    known = np.isfinite(maxspeed)
    total = np.bincount(highway[known], weights=maxspeed[known], minlength=n_cat)
    count = np.bincount(highway[known], minlength=n_cat)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / count
    default = np.array(
        [
            float(hwy_speeds[h]) if h in hwy_speeds else (mean[i] if count[i] else float(fallback))
            for i, h in enumerate(highway_values)
        ]
    )
    return np.where(known, maxspeed, default[highway])


def read_network(path: str | os.PathLike) -> OsmNetwork:
    """Read an OSM file into an :class:`OsmNetwork` (see the module docstring).

    Parameters
    ----------
    path : path-like
        ``.osm.pbf`` (or any file osmium reads).

    Returns
    -------
    OsmNetwork
    """
    from .roads_osm import CAR_FALLBACK_HWY_KPH, CAR_HWY_SPEEDS

    path = Path(path)
    ways = read_ways(path, MODE_TAGS)
    seg = split_ways(ways)
    u, v, idx, oneway = _directed(seg, way_directions(ways))
    way = seg.way[idx]
    highway = ways.codes["highway"][way]
    speed = car_speeds(
        highway,
        maxspeed_kph(ways.values["maxspeed"])[ways.codes["maxspeed"][way]],
        ways.values["highway"],
        CAR_HWY_SPEEDS,
        CAR_FALLBACK_HWY_KPH,
    )
    length = seg.length[idx]
    with np.errstate(divide="ignore", invalid="ignore"):
        car_seconds = length / (speed * 1000.0 / 3600.0)  # ox.add_edge_travel_times's formula
    return OsmNetwork(
        node_id=seg.node_id,
        lon=seg.lon,
        lat=seg.lat,
        u=u,
        v=v,
        length=length,
        oneway=oneway,
        highway=highway,
        access=ways.codes["access"][way],
        highway_values=ways.values["highway"],
        access_values=ways.values["access"],
        car_seconds=car_seconds,
        source=f"osm:{path.name}",
        skipped_ways=ways.skipped,
    )


def is_osm_pbf(path: str | os.PathLike) -> bool:
    """Whether a network file is read by this module in the build (``*.pbf``)."""
    return str(path).lower().endswith(".pbf")
