"""Shortest travel times on arrays: a road graph as a sparse matrix, many-to-many Dijkstra.

The graph is converted once to a :class:`scipy.sparse.csr_matrix` of travel seconds (the
minimum over parallel edges). :func:`scipy.sparse.csgraph.dijkstra` then runs from the side
with fewer distinct snapped nodes (destinations on the transposed matrix when they are
fewer), with a time ``limit``, a chunk of sources at a time so memory stays bounded, and only
the columns of the other side are kept from each chunk. No Python loop touches nodes.

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

EARTH_RADIUS_M = 6_371_008.8
#: Memory budget (bytes) for one chunk of Dijkstra distance rows.
DEFAULT_CHUNK_BYTES = 16 * 1024**2


def haversine_m(lon1, lat1, lon2, lat2) -> np.ndarray:
    """Great-circle distance in metres (numpy broadcasting)."""
    lon1, lat1, lon2, lat2 = (np.radians(np.asarray(a, dtype=float)) for a in (lon1, lat1, lon2, lat2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def _unit_vectors(lon, lat) -> np.ndarray:
    lon, lat = np.radians(np.asarray(lon, dtype=float)), np.radians(np.asarray(lat, dtype=float))
    return np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])


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
        self._transposed: sparse.csr_matrix | None = None
        ncomp, labels = csgraph.connected_components(self.matrix, directed=True, connection="strong")
        if n:
            biggest = np.bincount(labels).argmax()
            self.snappable = np.flatnonzero(labels == biggest)
        else:
            self.snappable = np.zeros(0, dtype=np.int64)
        self.n_components = int(ncomp)
        self._tree = cKDTree(_unit_vectors(self.lon[self.snappable], self.lat[self.snappable]))

    @property
    def n_nodes(self) -> int:
        return len(self.lon)

    @property
    def transposed(self) -> sparse.csr_matrix:
        """The reversed graph (cached)."""
        if self._transposed is None:
            self._transposed = self.matrix.T.tocsr()
        return self._transposed

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
        return cls(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float), mat,
                   None if node_ids is None else np.asarray(node_ids), dict(meta))

    @classmethod
    def from_graph(cls, G: nx.MultiDiGraph, mode: str | None = None,
                   speeds: Mapping[str, float] | None = None, weight: str = "travel_time") -> GraphArrays:
        """Convert an OSMnx graph once.

        Parameters
        ----------
        G : networkx.MultiDiGraph
            Nodes with ``x``/``y``.
        mode : {"walk", "bike", "car"}, optional
            Use :func:`analysis.roads.mode_edge_table` for this mode's edges and seconds;
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
            from .roads import mode_edge_table

            table = mode_edge_table(G, mode, speeds)
            u, v, w = table["u"].to_numpy(), table["v"].to_numpy(), table["seconds"].to_numpy()
        else:
            rows = [(a, b, d.get(weight)) for a, b, d in G.edges(data=True) if d.get(weight) is not None]
            u = np.array([r[0] for r in rows], dtype=object)
            v = np.array([r[1] for r in rows], dtype=object)
            w = np.array([r[2] for r in rows], dtype=float)
        out = cls.from_edges(lon, lat, index.get_indexer(u), index.get_indexer(v), w, node_ids=node_ids,
                             mode=mode, source=G.graph.get("network_source"),
                             precision=G.graph.get("precision"))
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
        _, j = self._tree.query(_unit_vectors(lon, lat))
        nodes = self.snappable[np.asarray(j, dtype=np.int64)]
        return nodes, haversine_m(lon, lat, self.lon[nodes], self.lat[nodes])

    # ----------------------------------------------------------------- node to node
    def node_times(self, sources, targets, limit: float = np.inf,
                   chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> np.ndarray:
        """Shortest seconds between node indices (``np.inf`` beyond ``limit`` or unreachable).

        Runs Dijkstra from the distinct nodes of whichever side has fewer of them (on the
        transposed matrix when that side is ``targets``), ``chunk_bytes`` of distance rows at a
        time.

        Returns
        -------
        numpy.ndarray
            (len(sources), len(targets)) float64 seconds.
        """
        sources = np.asarray(sources, dtype=np.int64)
        targets = np.asarray(targets, dtype=np.int64)
        us, inv_s = np.unique(sources, return_inverse=True)
        ut, inv_t = np.unique(targets, return_inverse=True)
        reverse = len(ut) < len(us)
        run_from, keep, mat = (ut, us, self.transposed) if reverse else (us, ut, self.matrix)
        out = np.empty((len(run_from), len(keep)), dtype=float)
        step = max(1, int(chunk_bytes // (8 * max(self.n_nodes, 1))))
        for start in range(0, len(run_from), step):
            idx = run_from[start:start + step]
            dist = csgraph.dijkstra(mat, directed=True, indices=idx, limit=limit)
            out[start:start + len(idx)] = dist[:, keep]
        if reverse:
            out = out.T
        return out[np.ix_(inv_s, inv_t)]

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
    fallback_kph = access_kph if fallback_kph is None else fallback_kph
    access_mps = access_kph / 3.6
    no, so = graph.snap(origins[:, 0], origins[:, 1])
    nd, sd = graph.snap(destinations[:, 0], destinations[:, 1])
    on_o = so <= max_snap_m
    on_d = sd <= max_snap_m
    limit = max_minutes * 60.0 if np.isfinite(max_minutes) else np.inf
    seconds = np.full((len(origins), len(destinations)), np.inf)
    io, id_ = np.flatnonzero(on_o), np.flatnonzero(on_d)
    if len(io) and len(id_):
        net = graph.node_times(no[io], nd[id_], limit=limit, chunk_bytes=chunk_bytes)
        acc_o = so[io] * detour / access_mps
        acc_d = sd[id_] * detour / access_mps
        seconds[np.ix_(io, id_)] = net + acc_o[:, None] + acc_d[None, :]
    # trips shorter than the way to the network: only pairs closer than the largest possible
    # so + sd can qualify, found with KD-trees instead of a dense distance matrix
    if len(io) and len(id_):
        reach = float(so[io].max() + sd[id_].max())
        tree_o = cKDTree(_unit_vectors(origins[io, 0], origins[io, 1]))
        tree_d = cKDTree(_unit_vectors(destinations[id_, 0], destinations[id_, 1]))
        chord = 2 * np.sin(min(reach / EARTH_RADIUS_M, np.pi) / 2) * (1 + 1e-9) + 1e-12
        near = tree_o.sparse_distance_matrix(tree_d, chord, output_type="ndarray")
        if len(near):
            i, j = io[near["i"]], id_[near["j"]]
            dist = haversine_m(origins[i, 0], origins[i, 1], destinations[j, 0], destinations[j, 1])
            ok = dist <= so[i] + sd[j]
            i, j = i[ok], j[ok]
            seconds[i, j] = np.minimum(seconds[i, j], dist[ok] * detour / access_mps)
        # same point on both sides (distance 0) is not returned by sparse_distance_matrix
        same = tree_o.query_ball_tree(tree_d, 1e-12)
        for a, hits in enumerate(same):
            if hits:
                seconds[io[a], id_[hits]] = 0.0
    # pairs with an end off the network: straight line x detour at the fallback speed
    estimate = ~(on_o[:, None] & on_d[None, :])
    fb_mps = fallback_kph / 3.6
    off_o, off_d = np.flatnonzero(~on_o), np.flatnonzero(~on_d)
    if len(off_o):
        seconds[off_o, :] = haversine_m(origins[off_o, 0][:, None], origins[off_o, 1][:, None],
                                        destinations[:, 0][None, :], destinations[:, 1][None, :]) * detour / fb_mps
    if len(off_d):
        seconds[:, off_d] = haversine_m(origins[:, 0][:, None], origins[:, 1][:, None],
                                        destinations[off_d, 0][None, :], destinations[off_d, 1][None, :]) * detour / fb_mps
    if direct_cap and len(origins) and len(destinations):
        direct = haversine_m(origins[:, 0][:, None], origins[:, 1][:, None],
                             destinations[:, 0][None, :], destinations[:, 1][None, :]) * detour / access_mps
        capped = direct < seconds - 1e-6
        seconds = np.where(capped, direct, seconds)
        estimate = estimate | capped
    minutes = seconds / 60.0
    minutes[minutes > max_minutes] = np.inf
    return ODResult(minutes, estimate, so, sd)
