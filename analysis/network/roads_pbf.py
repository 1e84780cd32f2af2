"""OpenStreetMap files read with osmium straight to per-mode graph arrays (no networkx).

The regional street network (a Normandie ``.osm.pbf``: millions of nodes) is too large for a
networkx graph: :func:`analysis.network.roads_osm.graph_from_osm_pbf` then
:func:`analysis.network.roads.mode_edge_table` cost minutes and gigabytes. :func:`read_network` reads the
``highway`` ways once (:func:`analysis.network.osm_ways.read_ways`: osmium, no coordinate crossing Python
one by one), cuts them into edges between the nodes the graph keeps
(:func:`analysis.network.osm_ways.split_ways`), gives every directed edge its car time, and
:meth:`OsmNetwork.mode_arrays` gives each road mode its :class:`analysis.network.paths.GraphArrays`.

The semantics are those of the networkx path, which :func:`analysis.network.roads_osm.graph_from_osm_pbf`
shares through :mod:`analysis.network.osm_ways`: same nodes in the same order, same
one-way rules, same ways closed to each mode (:data:`analysis.network.roads.EXCLUDED_HIGHWAY`,
:data:`analysis.network.roads.EXCLUDED_ACCESS`), car speeds as :func:`osmnx.add_edge_speeds` sets them
with :data:`analysis.network.roads_osm.CAR_HWY_SPEEDS` (``maxspeed`` parsed by OSMnx's own cleaner,
highway classes outside the table get the mean ``maxspeed`` of their edges, else the fallback),
walking and cycling at the mode's speed. One deliberate difference: an edge whose ``maxspeed``
reads as 0 km/h makes the networkx path fail (division by zero); here it is closed to cars.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from analysis.network import paths, roads
from analysis.network.osm_ways import MODE_TAGS, Segments, WayTable, read_ways, split_ways

_ONEWAY_FWD = frozenset({"yes", "true", "1"})
_ONEWAY_REV = frozenset({"-1", "reverse"})


def way_directions(ways: WayTable) -> np.ndarray:
    """Direction of each way: 0 both ways, 1 one-way forward, -1 one-way against its nodes.

    ``oneway=yes/true/1`` or ``junction=roundabout`` (unless ``oneway=no``) are one-way forward,
    ``oneway=-1/reverse`` backward, as in :func:`analysis.network.roads_osm.graph_from_osm_pbf`.
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

    @property
    def n_nodes(self) -> int:
        """Number of graph nodes."""
        return len(self.node_id)

    def mode_arrays(self, mode: str, speeds: Mapping[str, float] | None = None) -> paths.GraphArrays:
        """The :class:`analysis.network.paths.GraphArrays` of a road mode.

        Same result as ``GraphArrays.from_graph(graph_from_osm_pbf(path), mode, speeds)``: the
        graph's nodes (all of them, in the same order), the edges :func:`analysis.network.roads.mode_edge_table`
        keeps (walking both ways on one-way streets), the minimum over parallel edges.

        Parameters
        ----------
        mode : {"walk", "bike", "car"}
        speeds : mapping, optional
            ``{"walk": km/h, "bike": km/h}`` overriding the default speeds.

        Returns
        -------
        analysis.network.paths.GraphArrays
            With ``node_ids`` (OSM ids) and ``meta`` ``mode``, ``source``, ``precision``.
        """
        info = roads.road_mode_info(mode)
        closed_hwy = np.array([v is not None and str(v) in info.closed_highway for v in self.highway_values])
        closed_acc = np.array([v is not None and str(v) in roads.EXCLUDED_ACCESS for v in self.access_values])
        keep = ~closed_hwy[self.highway] & ~closed_acc[self.access]
        if info.edge_speeds:
            seconds = self.car_seconds
        else:
            seconds = self.length / (roads.mode_speed_kph(mode, speeds) / 3.6)
        keep &= np.isfinite(seconds)
        u, v, w = self.u[keep], self.v[keep], seconds[keep]
        if info.both_ways:
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
        Speeds of highway classes without ``maxspeed`` (:data:`analysis.network.roads_osm.CAR_HWY_SPEEDS`).
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
        roads.CAR_HWY_SPEEDS,
        roads.CAR_FALLBACK_HWY_KPH,
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
