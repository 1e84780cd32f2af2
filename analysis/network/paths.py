"""Shortest travel times on arrays: a road graph as a sparse matrix, many-to-many Dijkstra.

The graph is converted once to a :class:`scipy.sparse.csr_matrix` of travel seconds (the
minimum over parallel edges). Many-to-many searches then run from the side with fewer distinct
snapped nodes (destinations on the transposed matrix when they are fewer), with a time
``limit``, in :func:`analysis.network.dijkstra.bounded_dijkstra` (compiled; only the pairs within the
limit come back, a group of sources at a time so memory stays bounded). No Python loop touches
nodes. :func:`scipy.sparse.csgraph.dijkstra` gives single routes with their predecessors.

Points (origins, destinations) are snapped to the nearest node of the graph's largest strongly
connected component; the leg from a point to its node is counted as straight-line distance x
detour factor at an access speed. A point farther than ``max_snap_m`` from any node is not
covered by the network: its pairs are a straight-line estimate (flagged).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import networkx as nx
import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse import csgraph
from scipy.spatial import cKDTree

from analysis.network.dijkstra import KernelGraph, bounded_dijkstra, prepare
from analysis.network.geodesy import EARTH_RADIUS_M, haversine_m, unit_vectors

#: Memory budget (bytes) for one chunk of Dijkstra distance rows.
DEFAULT_CHUNK_BYTES = 16 * 1024**2


class _Groups:
    """Positions of an index array grouped by distinct value (for expanding node pairs to points)."""

    def __init__(self, values: np.ndarray):
        self.unique, inverse = np.unique(values, return_inverse=True)
        self.order = np.argsort(inverse, kind="stable")
        self.counts = np.bincount(inverse, minlength=len(self.unique))
        self.starts = np.cumsum(self.counts) - self.counts


def _expand(ga: _Groups, gb: _Groups, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs of distinct values ``(a, b)`` -> every pair of positions holding them.

    Returns positions in the first array, positions in the second, and the index of the
    distinct pair each came from.
    """
    ca, cb = ga.counts[a], gb.counts[b]
    if len(a) == 0 or (ca.max() == 1 and cb.max() == 1):  # the usual case: one point per node
        return ga.order[ga.starts[a]], gb.order[gb.starts[b]], np.arange(len(a))
    rep = ca * cb
    pair = np.repeat(np.arange(len(a)), rep)
    offset = np.arange(int(rep.sum())) - np.repeat(np.cumsum(rep) - rep, rep)
    ka, kb = offset // cb[pair], offset % cb[pair]
    return ga.order[ga.starts[a[pair]] + ka], gb.order[gb.starts[b[pair]] + kb], pair


@dataclass
class GraphArrays:
    """A directed road graph as arrays, ready for many-to-many shortest paths.

    Parameters
    ----------
    lon, lat : numpy.ndarray
        Node coordinates (WGS84), shape (n,).
    matrix : scipy.sparse.csr_matrix
        (n, n) travel seconds from row node to column node.
    node_ids : numpy.ndarray, optional
        The graph's node ids (index -> id).

    Attributes
    ----------
    snappable : numpy.ndarray
        Indices of the nodes points may snap to (the largest strongly connected component).
    """

    lon: np.ndarray
    lat: np.ndarray
    matrix: sparse.csr_matrix
    node_ids: np.ndarray | None = None
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        n = len(self.lon)
        if self.matrix.shape != (n, n):
            raise ValueError("matrix shape does not match the number of nodes")
        self._transposed: sparse.csr_matrix | None = None  # built on first use (searches from targets)
        ncomp, labels = csgraph.connected_components(self.matrix, directed=True, connection="strong")
        if n:
            biggest = np.bincount(labels).argmax()
            self.snappable = np.flatnonzero(labels == biggest)
        else:
            self.snappable = np.zeros(0, dtype=np.int64)
        self.n_components = int(ncomp)
        self._tree = cKDTree(unit_vectors(self.lon[self.snappable], self.lat[self.snappable]))

    @property
    def n_nodes(self) -> int:
        return len(self.lon)

    @property
    def transposed(self) -> sparse.csr_matrix:
        """The reversed graph (cached)."""
        if self._transposed is None:
            self._transposed = self.matrix.T.tocsr()
        return self._transposed

    def kernel_graph(self, reverse: bool = False) -> KernelGraph:
        """The graph (``reverse``: the reversed graph) laid out for the Dijkstra kernel, its
        nodes in spatial order (:func:`analysis.network.dijkstra.prepare`); built once, cached."""
        cache = self.__dict__.setdefault("_kernel_graphs", {})
        if reverse not in cache:
            cache[reverse] = prepare(self.transposed if reverse else self.matrix, self.lon, self.lat)
        return cache[reverse]

    # ----------------------------------------------------------------- constructors
    @classmethod
    def from_edges(cls, lon, lat, u, v, seconds, node_ids=None, **meta) -> GraphArrays:
        """Build from edge arrays (node indices ``u`` -> ``v``); parallel edges keep the minimum.

        Zero-second edges are given 1 ms so that the sparse matrix keeps them as edges.
        """
        u = np.asarray(u, dtype=np.int64)
        v = np.asarray(v, dtype=np.int64)
        w = np.maximum(np.asarray(seconds, dtype=float), 1e-3)
        n = len(lon)
        if len(u):
            order = np.lexsort((w, v, u))
            u, v, w = u[order], v[order], w[order]
            first = np.ones(len(u), dtype=bool)
            first[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
            u, v, w = u[first], v[first], w[first]
        mat = sparse.csr_matrix((w, (u, v)), shape=(n, n))
        return cls(
            np.asarray(lon, dtype=float),
            np.asarray(lat, dtype=float),
            mat,
            None if node_ids is None else np.asarray(node_ids),
            dict(meta),
        )

    @classmethod
    def from_graph(
        cls,
        G: nx.MultiDiGraph,
        mode: str | None = None,
        speeds: Mapping[str, float] | None = None,
        weight: str = "travel_time",
    ) -> GraphArrays:
        """Convert an OSMnx graph once.

        Parameters
        ----------
        G : networkx.MultiDiGraph
            Nodes with ``x``/``y``.
        mode : {"walk", "bike", "car"}, optional
            Use :func:`analysis.network.roads.mode_edge_table` for this mode's edges and seconds;
            when None, every edge with its ``weight`` attribute.
        speeds : mapping, optional
            Walking/cycling speeds passed to ``mode_edge_table``.
        weight : str
            Edge attribute (seconds) used when ``mode`` is None.
        """
        node_ids = np.array(list(G.nodes), dtype=object)
        index = pd.Index(node_ids)
        lon = np.array([G.nodes[n]["x"] for n in node_ids], dtype=float)
        lat = np.array([G.nodes[n]["y"] for n in node_ids], dtype=float)
        if mode is not None:
            from analysis.network.roads import mode_edge_table  # osmnx is heavy: loaded only for graphs

            table = mode_edge_table(G, mode, speeds)
            u, v, w = table["u"].to_numpy(), table["v"].to_numpy(), table["seconds"].to_numpy()
        else:
            rows = [(a, b, d.get(weight)) for a, b, d in G.edges(data=True) if d.get(weight) is not None]
            u = np.array([r[0] for r in rows], dtype=object)
            v = np.array([r[1] for r in rows], dtype=object)
            w = np.array([r[2] for r in rows], dtype=float)
        out = cls.from_edges(
            lon,
            lat,
            index.get_indexer(u),
            index.get_indexer(v),
            w,
            node_ids=node_ids,
            mode=mode,
            source=G.graph.get("network_source"),
            precision=G.graph.get("precision"),
        )
        if mode is not None:
            out.meta["edge_table"] = table  # the mode's edges with their keys, for route legs
        return out

    # ----------------------------------------------------------------- snapping
    def snap(self, lon, lat) -> tuple[np.ndarray, np.ndarray]:
        """Nearest snappable node of each point.

        Returns
        -------
        (numpy.ndarray, numpy.ndarray)
            Node indices (into the full node arrays) and great-circle distances in metres.
        """
        lon = np.asarray(lon, dtype=float)
        lat = np.asarray(lat, dtype=float)
        if len(self.snappable) == 0:
            return np.full(len(lon), -1, dtype=np.int64), np.full(len(lon), np.inf)
        _, j = self._tree.query(unit_vectors(lon, lat))
        nodes = self.snappable[np.asarray(j, dtype=np.int64)]
        return nodes, haversine_m(lon, lat, self.lon[nodes], self.lat[nodes])

    # ----------------------------------------------------------------- node to node
    def node_pairs(
        self, sources, targets, limit: float = np.inf, chunk_bytes: int = DEFAULT_CHUNK_BYTES
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Shortest seconds between node indices, as a sparse list of the pairs within ``limit``.

        Searches (:func:`analysis.network.dijkstra.bounded_dijkstra`) start from the distinct nodes of
        whichever side has fewer of them (on the transposed matrix when that side is
        ``targets``); each search stops at ``limit`` and touches only the nodes it reaches.

        Returns
        -------
        (numpy.ndarray, numpy.ndarray, numpy.ndarray)
            Positions in ``sources``, positions in ``targets`` and seconds of every pair with
            a finite time ``<= limit`` (repeated nodes give one pair per position).
        """
        sources = np.asarray(sources, dtype=np.int64).ravel()
        targets = np.asarray(targets, dtype=np.int64).ravel()
        gs, gt = _Groups(sources), _Groups(targets)
        hierarchy = self.meta.get("hierarchy")  # analysis.network.contraction.attach: many-to-many on a hierarchy
        if hierarchy is not None:
            a, b, sec = hierarchy.pairs(gs.unique, gt.unique, limit=limit)
            pos_s, pos_t, idx = _expand(gs, gt, a, b)
            return pos_s, pos_t, sec[idx]
        reverse = len(gt.unique) < len(gs.unique)
        run, keep = (gt, gs) if reverse else (gs, gt)
        mat = self.kernel_graph(reverse)
        max_pairs = max(1, int(chunk_bytes // 24))
        k, node, sec = bounded_dijkstra(mat, run.unique, keep.unique, limit=limit, max_pairs=max_pairs)
        lookup = np.full(self.n_nodes, -1, dtype=np.int64)
        lookup[keep.unique] = np.arange(len(keep.unique))
        a, b = (lookup[node], k) if reverse else (k, lookup[node])
        pos_s, pos_t, idx = _expand(gs, gt, a, b)
        return pos_s, pos_t, sec[idx]

    def node_times(self, sources, targets, limit: float = np.inf, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> np.ndarray:
        """Shortest seconds between node indices as a dense matrix (``np.inf`` beyond ``limit``).

        See :meth:`node_pairs`; this is its dense form.

        Returns
        -------
        numpy.ndarray
            (len(sources), len(targets)) float64 seconds.
        """
        sources = np.asarray(sources, dtype=np.int64).ravel()
        targets = np.asarray(targets, dtype=np.int64).ravel()
        out = np.full((len(sources), len(targets)), np.inf)
        i, j, sec = self.node_pairs(sources, targets, limit=limit, chunk_bytes=chunk_bytes)
        out[i, j] = sec
        return out

    def path(self, source: int, target: int) -> tuple[float, list[int]]:
        """Seconds and node indices of one shortest path (``(inf, [])`` when unreachable)."""
        dist, pred = csgraph.dijkstra(self.matrix, directed=True, indices=int(source), return_predecessors=True)
        if not np.isfinite(dist[target]):
            return float("inf"), []
        nodes = [int(target)]
        while nodes[-1] != source:
            nodes.append(int(pred[nodes[-1]]))
        return float(dist[target]), nodes[::-1]


@dataclass
class ODResult:
    """Door-to-door times between points.

    Attributes
    ----------
    minutes : numpy.ndarray
        (n_origins, n_destinations) minutes; ``np.inf`` beyond the limit.
    is_estimate : numpy.ndarray
        (n_origins, n_destinations) bool: True where the pair is not covered by the network
        (an end farther than ``max_snap_m`` from it) and the straight-line estimate was used.
    origin_snap_m, destination_snap_m : numpy.ndarray
        Distance from each point to its node.
    """

    minutes: np.ndarray
    is_estimate: np.ndarray
    origin_snap_m: np.ndarray
    destination_snap_m: np.ndarray


def door_to_door(
    graph: GraphArrays,
    origins: np.ndarray,
    destinations: np.ndarray,
    access_kph: float,
    fallback_kph: float | None = None,
    detour: float = 1.3,
    max_snap_m: float = 2500.0,
    max_minutes: float = np.inf,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    direct_cap: bool = False,
) -> ODResult:
    """Door-to-door minutes from every origin to every destination on one mode's graph.

    ``minutes = access(origin) + network(node_o -> node_d) + access(destination)`` where an
    access leg is ``snap distance x detour / access speed``. Two refinements:

    - when the straight line between the two points is no longer than the sum of their snap
      distances (the trip is shorter than the way to the network), the trip is taken straight:
      ``distance x detour / access speed`` (not flagged: it is the access-leg model itself);
    - when either point is farther than ``max_snap_m`` from the network, the pair is
      ``distance x detour / fallback speed`` and flagged ``is_estimate``.

    Parameters
    ----------
    graph : GraphArrays
    origins, destinations : numpy.ndarray
        (n, 2) and (m, 2) lon/lat.
    access_kph : float
        Speed of the access legs (and of short direct trips).
    fallback_kph : float, optional
        Speed of straight-line estimates (default ``access_kph``).
    detour : float
        Straight-line detour factor.
    max_snap_m : float
        Farthest a point may be from its node and still use the network.
    max_minutes : float
        Dijkstra cutoff; pairs above it are ``np.inf``.
    direct_cap : bool
        For a network without local streets (the regional skeleton of numbered roads): no pair
        takes longer than the straight line x ``detour`` at the access speed, which stands for
        the streets the network lacks. Pairs where this cap wins are flagged ``is_estimate``.
    """
    origins = np.asarray(origins, dtype=float).reshape(-1, 2)
    destinations = np.asarray(destinations, dtype=float).reshape(-1, 2)
    n, m = len(origins), len(destinations)
    fallback_kph = access_kph if fallback_kph is None else fallback_kph
    access_mps, fb_mps = access_kph / 3.6, fallback_kph / 3.6
    no, so = graph.snap(origins[:, 0], origins[:, 1])
    nd, sd = graph.snap(destinations[:, 0], destinations[:, 1])
    on_o, on_d = so <= max_snap_m, sd <= max_snap_m
    io, id_ = np.flatnonzero(on_o), np.flatnonzero(on_d)
    limit = max_minutes * 60.0 if np.isfinite(max_minutes) else np.inf
    # dense results, filled sparsely: only pairs within the limit are ever computed
    minutes = np.full((n, m), np.inf)
    estimate = np.zeros((n, m), dtype=bool)

    # 1. access leg + network + access leg
    if len(io) and len(id_):
        # no pair can use more network time than the limit minus the shortest access legs
        net_limit = limit - (so[io].min() + sd[id_].min()) * detour / access_mps
        if net_limit >= 0:
            a, b, net = graph.node_pairs(no[io], nd[id_], limit=net_limit, chunk_bytes=chunk_bytes)
            i, j = io[a], id_[b]
            minutes[i, j] = _within(net + (so[i] + sd[j]) * detour / access_mps, max_minutes)

    # 2. an end off the network: straight line x detour at the fallback speed, flagged
    off_o, off_d = np.flatnonzero(~on_o), np.flatnonzero(~on_d)
    if len(off_o):
        minutes[off_o, :] = _within(_straight_seconds(origins[off_o], destinations, detour, fb_mps), max_minutes)
        estimate[off_o, :] = True
    if len(off_d):
        minutes[:, off_d] = _within(_straight_seconds(origins, destinations[off_d], detour, fb_mps), max_minutes)
        estimate[:, off_d] = True

    # 3. straight trips, only between points close enough for them to count: trips shorter
    #    than the way to the network (both ends on it), and the direct cap (within the limit)
    radius = float(so[io].max() + sd[id_].max()) if len(io) and len(id_) else -1.0
    if direct_cap:
        radius = max(radius, limit * access_mps / detour)
    if radius >= 0 and n and m:
        snapped = (on_o, on_d, so, sd)
        _take_straight_trips(
            minutes, estimate, origins, destinations, snapped, radius, detour, access_mps, max_minutes, direct_cap
        )
    return ODResult(minutes, estimate, so, sd)


def _within(sec: np.ndarray, max_minutes: float) -> np.ndarray:
    """Minutes of ``sec`` seconds, ``np.inf`` above ``max_minutes``."""
    out = sec / 60.0
    out[out > max_minutes] = np.inf
    return out


def _straight_seconds(a: np.ndarray, b: np.ndarray, detour: float, mps: float) -> np.ndarray:
    """(len(a), len(b)) seconds of the straight line x ``detour`` at ``mps`` between lon/lat rows."""
    return haversine_m(a[:, 0][:, None], a[:, 1][:, None], b[:, 0][None, :], b[:, 1][None, :]) * detour / mps


def _take_straight_trips(
    minutes: np.ndarray,
    estimate: np.ndarray,
    origins: np.ndarray,
    destinations: np.ndarray,
    snapped: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    radius: float,
    detour: float,
    access_mps: float,
    max_minutes: float,
    direct_cap: bool,
) -> None:
    """Step 3 of :func:`door_to_door`, in place on ``minutes`` and ``estimate``: between points
    at most ``radius`` apart, a trip shorter than the way to the network (both ends on it,
    ``snapped`` = on-network flags and snap distances of both sides) is taken straight, and with
    ``direct_cap`` no pair takes longer than the straight line (flagged ``is_estimate``)."""
    on_o, on_d, so, sd = snapped
    i, j, dist = _pairs_within(origins, destinations, radius)
    straight = _within(dist * detour / access_mps, max_minutes)
    current = minutes[i, j]
    short = on_o[i] & on_d[j] & (dist <= so[i] + sd[j])
    new = np.where(short, np.minimum(current, straight), current)
    if direct_cap:
        capped = straight < new - 1e-6 / 60
        new = np.where(capped, straight, new)
        estimate[i[capped], j[capped]] = True
    minutes[i, j] = new


def _pairs_within(a: np.ndarray, b: np.ndarray, radius_m: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs of points (lon/lat rows of ``a`` and ``b``) at most ``radius_m`` apart.

    KD-trees on unit vectors (chord distance), so the cost follows the number of pairs found,
    not ``len(a) x len(b)``; every pair when the radius is infinite.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray, numpy.ndarray)
        Row in ``a``, row in ``b``, great-circle distance in metres.
    """
    if not np.isfinite(radius_m) or len(a) * len(b) <= 4096:
        i, j = np.divmod(np.arange(len(a) * len(b)), max(len(b), 1))
    else:
        chord = 2 * np.sin(min(radius_m / EARTH_RADIUS_M, np.pi) / 2) * (1 + 1e-9) + 1e-12
        found = cKDTree(unit_vectors(a[:, 0], a[:, 1])).sparse_distance_matrix(
            cKDTree(unit_vectors(b[:, 0], b[:, 1])), chord, output_type="ndarray"
        )
        i, j = found["i"].astype(np.int64), found["j"].astype(np.int64)
    dist = haversine_m(a[i, 0], a[i, 1], b[j, 0], b[j, 1])
    keep = dist <= radius_m
    return i[keep], j[keep], dist[keep]
