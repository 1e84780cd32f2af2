"""Contraction hierarchy with a core, and bucket-based many-to-many searches on it.

Why: on a regional street network a 90-minute drive reaches most of the region, so each
one-to-all search of :func:`analysis.dijkstra.bounded_dijkstra` settles millions of nodes, one
per offer location (``docs/performance.md``). A contraction hierarchy (Geisberger et al., 2008)
adds shortcuts so that every shortest path is an *upward* path then a *downward* one; the
many-to-many query of Knopp et al. (2007) meets small upward searches in *buckets*.

Contraction stops when ``core_nodes`` nodes are left (a *core*: the last nodes are the costly
ones to contract). A query (kernels in :mod:`analysis.contraction_query`) is then:

1. from each node of the *many* side (more distinct nodes), an upward search that stops at
   core nodes; every node it settles gets a bucket entry ``(point, seconds)``;
2. from each node of the *few* side, a search upward then through the whole core (bounded
   Dijkstra); each node it settles scans its bucket: ``seconds here + seconds in the bucket``
   is a candidate for that pair, the smallest candidate is the time.

Exact: a shortcut ``u -> w`` is added when contracting ``v`` unless a *witness* path avoiding
``v`` and no longer than ``u -> v -> w`` is found, so every pair keeps a shortest path of the
form up -> core -> down, met at its highest node by both searches. The seconds are sums of the
same edge weights in another order: equal to the kernel's to the last bits of a float64, and
the stored ``REAL`` minutes are identical (tests).

:func:`cached_hierarchy` keeps the hierarchy on disk keyed by the SHA-256 of the graph's arrays
and of this module's code (``<cache>/contraction/<key>.npz``).
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numba import njit
from scipy import sparse

from .contraction_query import _upward, _with_buckets
from .dijkstra import _grown, _heap_pop, _heap_push

#: Graphs with fewer nodes are searched with the plain kernel (a hierarchy does not pay there).
MIN_NODES = 200_000
#: Nodes left uncontracted, as a share of the graph (bounded below by ``MIN_CORE``).
CORE_SHARE = 0.10
MIN_CORE = 2_000
#: Largest number of nodes a witness search settles before giving up (a shortcut is then added).
WITNESS_SETTLE = 20
#: The same for the witness searches that estimate a node's priority (cheaper, less exact).
SIM_SETTLE = 12


# --------------------------------------------------------------------------- preprocessing


@njit(cache=True, nogil=True)
def _witness(
    out_head, e_node, e_w, e_next, alive, u, skip, max_d, settle_limit, dist, touched, heap
):  # pragma: no cover
    """Dijkstra from ``u`` over alive nodes other than ``skip``, up to ``max_d`` and
    ``settle_limit`` settled nodes; fills ``dist`` (caller resets the ``touched`` nodes)."""
    dist[u] = 0.0
    touched[0] = u
    n_touched = 1
    size = _heap_push(heap, 0, 0.0, u)
    settled = 0
    cap = len(heap) // 2 - 1
    while size > 0:
        d, x, size = _heap_pop(heap, size)
        if d > dist[x]:
            continue
        settled += 1
        if settled > settle_limit or d > max_d:
            break
        e = out_head[x]
        while e >= 0:
            y = e_node[e]
            if alive[y] and y != skip:
                nd = d + e_w[e]
                if nd <= max_d and nd < dist[y]:
                    if dist[y] == np.inf:
                        if n_touched == len(touched):
                            break
                        touched[n_touched] = y
                        n_touched += 1
                    dist[y] = nd
                    if size < cap:
                        size = _heap_push(heap, size, nd, y)
            e = e_next[e]
    return n_touched


@njit(cache=True, nogil=True)
def _find(head, e_node, e_next, alive, target):  # pragma: no cover - compiled
    e = head
    while e >= 0:
        if e_node[e] == target:
            return e
        e = e_next[e]
    return -1


@njit(cache=True, nogil=True)
def _lists(indptr, indices, data):  # pragma: no cover - compiled
    """Linked out- and in-lists of a CSR graph in one growable pool (room for shortcuts)."""
    n = len(indptr) - 1
    cap = 4 * len(indices) + 16
    e_node = np.empty(cap, np.int64)
    e_w = np.empty(cap, np.float64)
    e_next = np.empty(cap, np.int64)
    out_head = np.full(n, -1, np.int64)
    in_head = np.full(n, -1, np.int64)
    used = 0
    for u in range(n):
        for k in range(indptr[u], indptr[u + 1]):
            v = np.int64(indices[k])
            if v != u:
                used = _link(out_head, in_head, e_node, e_w, e_next, used, u, v, data[k])
    return out_head, in_head, e_node, e_w, e_next, used


@njit(cache=True, nogil=True, inline="always")
def _link(out_head, in_head, e_node, e_w, e_next, used, u, x, w):  # pragma: no cover - compiled
    """Append edge ``u -> x`` to u's out-list and x's in-list (room checked by the caller)."""
    e_node[used] = x
    e_w[used] = w
    e_next[used] = out_head[u]
    out_head[u] = used
    e_node[used + 1] = u
    e_w[used + 1] = w
    e_next[used + 1] = in_head[x]
    in_head[x] = used + 1
    return used + 2


@njit(cache=True, nogil=True)
def _shortcuts(
    v, out_head, in_head, e_node, e_w, e_next, alive, settle_limit, dist, touched, wheap, sc
):  # pragma: no cover
    """Shortcuts ``(u, x, seconds)`` that contracting ``v`` needs (no witness path found);
    written to ``sc`` (3 rows, grown when full). Returns ``sc`` and their count."""
    n_sc = 0
    e_in = in_head[v]
    while e_in >= 0:
        u = e_node[e_in]
        w_uv = e_w[e_in]
        e_in = e_next[e_in]
        if not alive[u]:
            continue
        max_d = -1.0
        e = out_head[v]
        while e >= 0:
            x = e_node[e]
            if alive[x] and x != u and w_uv + e_w[e] > max_d:
                max_d = w_uv + e_w[e]
            e = e_next[e]
        if max_d < 0:
            continue
        nt = _witness(out_head, e_node, e_w, e_next, alive, u, v, max_d, settle_limit, dist, touched, wheap)
        e = out_head[v]
        while e >= 0:
            x = e_node[e]
            if alive[x] and x != u and dist[x] > w_uv + e_w[e]:
                if n_sc == sc.shape[1]:
                    grown = np.empty((3, 2 * n_sc), np.float64)
                    grown[:, :n_sc] = sc
                    sc = grown
                sc[0, n_sc] = u
                sc[1, n_sc] = x
                sc[2, n_sc] = w_uv + e_w[e]
                n_sc += 1
            e = e_next[e]
        for t in range(nt):
            dist[touched[t]] = np.inf
    return sc, n_sc


@njit(cache=True, nogil=True)
def _record_up(v, out_head, in_head, e_node, e_w, e_next, alive, up, n_up):  # pragma: no cover - compiled
    """Append v's edges to alive (higher) nodes to ``up`` (rows tail, head, seconds, direction
    0 forward / 1 backward). Returns ``up`` (grown when full) and the new count."""
    for side in range(2):
        e = out_head[v] if side == 0 else in_head[v]
        while e >= 0:
            x = e_node[e]
            if alive[x]:
                if n_up == up.shape[1]:
                    grown = np.empty((4, 2 * n_up), np.float64)
                    grown[:, :n_up] = up
                    up = grown
                up[0, n_up] = v
                up[1, n_up] = x
                up[2, n_up] = e_w[e]
                up[3, n_up] = side
                n_up += 1
            e = e_next[e]
    return up, n_up


@njit(cache=True, nogil=True)
def _add_shortcuts(sc, n_sc, out_head, in_head, e_node, e_w, e_next, alive, used):  # pragma: no cover - compiled
    """Add shortcuts, or lower an existing edge between the same nodes. Returns the pool."""
    for s in range(n_sc):
        u, x, w = np.int64(sc[0, s]), np.int64(sc[1, s]), sc[2, s]
        e = _find(out_head[u], e_node, e_next, alive, x)
        if e >= 0:
            if w < e_w[e]:
                e_w[e] = w
                e_w[_find(in_head[x], e_node, e_next, alive, u)] = w
            continue
        if used + 2 > len(e_node):
            e_node, e_w, e_next = _grown(e_node, used), _grown(e_w, used), _grown(e_next, used)
        used = _link(out_head, in_head, e_node, e_w, e_next, used, u, x, w)
    return e_node, e_w, e_next, used


@njit(cache=True, nogil=True)
def _core_edges(out_head, e_node, e_w, e_next, alive):  # pragma: no cover - compiled
    """Edges between alive nodes: rows tail, head, seconds."""
    n_e = 0
    for u in range(len(out_head)):
        if alive[u]:
            e = out_head[u]
            while e >= 0:
                n_e += alive[e_node[e]]
                e = e_next[e]
    core = np.empty((3, n_e), np.float64)
    k = 0
    for u in range(len(out_head)):
        if alive[u]:
            e = out_head[u]
            while e >= 0:
                if alive[e_node[e]]:
                    core[0, k] = u
                    core[1, k] = e_node[e]
                    core[2, k] = e_w[e]
                    k += 1
                e = e_next[e]
    return core


@njit(cache=True, nogil=True)
def _contract_core(indptr, indices, data, n_core, settle_limit, sim_limit):  # pragma: no cover - compiled
    """Contract nodes by edge difference (lazy updates) until ``n_core`` are left.

    Returns the contraction rank of each node (``-1`` for core nodes), the upward edges (rows
    tail, head, seconds, direction: 0 ``tail -> head`` forward, 1 the edge ``head -> tail``
    seen backward from the lower node ``tail``) and the core edges (tail, head, seconds).
    Node indices are held exactly in float64 rows (fewer than 2**53 nodes).
    """
    n = len(indptr) - 1
    out_head, in_head, e_node, e_w, e_next, used = _lists(indptr, indices, data)
    alive = np.ones(n, np.bool_)
    rank = np.full(n, -1, np.int64)
    prio = np.empty(n, np.float64)
    dist = np.full(n, np.inf)
    touched = np.empty(4 * settle_limit + 64, np.int64)
    wheap = np.empty(2 * (8 * settle_limit + 64), np.float64)
    up = np.empty((4, len(indices) + 16), np.float64)
    n_up = 0
    sc = np.empty((3, 1024), np.float64)
    oheap = np.empty(2 * (4 * n + 16), np.float64)
    osize = 0
    for v in range(n):
        prio[v] = _priority(v, out_head, in_head, e_node, e_w, e_next, alive, sim_limit, dist, touched, wheap)
        osize = _heap_push(oheap, osize, prio[v], v)
    deleted = np.zeros(n, np.float64)
    left = n
    while left > n_core and osize > 0:
        p, v, osize = _heap_pop(oheap, osize)
        if not alive[v] or p != prio[v]:
            continue
        # lazy update: recompute, contract only if still the smallest
        p2 = deleted[v] + _priority(v, out_head, in_head, e_node, e_w, e_next, alive, sim_limit, dist, touched, wheap)
        while osize > 0 and not (alive[np.int64(oheap[1])] and oheap[0] == prio[np.int64(oheap[1])]):
            _, _, osize = _heap_pop(oheap, osize)  # stale entries off the top before comparing
        if osize > 0 and p2 > oheap[0]:
            prio[v] = p2
            if osize + 2 >= len(oheap) // 2:
                oheap = _grown(oheap, len(oheap))
            osize = _heap_push(oheap, osize, p2, v)
            continue
        sc, n_sc = _shortcuts(v, out_head, in_head, e_node, e_w, e_next, alive, settle_limit, dist, touched, wheap, sc)
        up, n_up = _record_up(v, out_head, in_head, e_node, e_w, e_next, alive, up, n_up)
        alive[v] = False
        rank[v] = n - left
        left -= 1
        e_node, e_w, e_next, used = _add_shortcuts(sc, n_sc, out_head, in_head, e_node, e_w, e_next, alive, used)
        # neighbours: one more contracted neighbour (edge difference recomputed lazily, when popped)
        for side in range(2):
            e = out_head[v] if side == 0 else in_head[v]
            while e >= 0:
                x = e_node[e]
                if alive[x]:
                    deleted[x] += 1.0
                    prio[x] += 1.0
                    if osize + 2 >= len(oheap) // 2:
                        oheap = _grown(oheap, len(oheap))
                    osize = _heap_push(oheap, osize, prio[x], x)
                e = e_next[e]
        _prune(out_head, in_head, e_node, e_next, alive, v)
    return rank, up[:, :n_up], _core_edges(out_head, e_node, e_w, e_next, alive)


@njit(cache=True, nogil=True)
def _prune(out_head, in_head, e_node, e_next, alive, v):  # pragma: no cover - compiled
    """Unlink the entries of dead nodes from the lists of ``v``'s alive neighbours."""
    for side in range(2):
        e = out_head[v] if side == 0 else in_head[v]
        while e >= 0:
            x = e_node[e]
            if alive[x]:
                for lst in range(2):
                    head = out_head if lst == 0 else in_head
                    prev = -1
                    f = head[x]
                    while f >= 0:
                        nf = e_next[f]
                        if not alive[e_node[f]]:
                            if prev < 0:
                                head[x] = nf
                            else:
                                e_next[prev] = nf
                        else:
                            prev = f
                        f = nf
            e = e_next[e]


@njit(cache=True, nogil=True)
def _priority(v, out_head, in_head, e_node, e_w, e_next, alive, settle_limit, dist, touched, wheap):  # pragma: no cover
    """Edge difference of contracting ``v``: shortcuts it needs minus edges it removes (the
    caller adds its contracted neighbours: the classic ordering heuristic)."""
    removed = 0
    shortcuts = 0
    e_in = in_head[v]
    while e_in >= 0:
        u = e_node[e_in]
        w_uv = e_w[e_in]
        e_in = e_next[e_in]
        if not alive[u]:
            continue
        removed += 1
        max_d = -1.0
        e = out_head[v]
        while e >= 0:
            x = e_node[e]
            if alive[x] and x != u and w_uv + e_w[e] > max_d:
                max_d = w_uv + e_w[e]
            e = e_next[e]
        if max_d < 0:
            continue
        nt = _witness(out_head, e_node, e_w, e_next, alive, u, v, max_d, settle_limit, dist, touched, wheap)
        e = out_head[v]
        while e >= 0:
            x = e_node[e]
            if alive[x] and x != u and dist[x] > w_uv + e_w[e]:
                shortcuts += 1
            e = e_next[e]
        for t in range(nt):
            dist[touched[t]] = np.inf
    e = out_head[v]
    while e >= 0:
        if alive[e_node[e]]:
            removed += 1
        e = e_next[e]
    return float(shortcuts - removed)


# --------------------------------------------------------------------------- queries


def _csr(n: int, tail, head, weight) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR arrays (int64 pointers, int64 heads, float64 weights) of an edge list, tails sorted."""
    order = np.argsort(tail, kind="stable")
    indptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(tail, minlength=n), out=indptr[1:])
    return indptr, np.ascontiguousarray(head[order], dtype=np.int64), np.ascontiguousarray(weight[order], dtype=float)


@dataclass(frozen=True, eq=False)
class Hierarchy:
    """A core-based contraction hierarchy of a directed graph (see the module docstring).

    Attributes
    ----------
    rank : numpy.ndarray
        Contraction position of each node, ``-1`` for core nodes.
    fwd_indptr, fwd_indices, fwd_data : numpy.ndarray
        Forward search graph: upward edges of contracted nodes, core edges of core nodes.
    bwd_indptr, bwd_indices, bwd_data : numpy.ndarray
        Backward search graph (edges reversed) built the same way.
    """

    rank: np.ndarray
    fwd_indptr: np.ndarray
    fwd_indices: np.ndarray
    fwd_data: np.ndarray
    bwd_indptr: np.ndarray
    bwd_indices: np.ndarray
    bwd_data: np.ndarray

    @property
    def n_nodes(self) -> int:
        return len(self.rank)

    @property
    def is_core(self) -> np.ndarray:
        return self.rank < 0

    @property
    def n_core(self) -> int:
        return int((self.rank < 0).sum())

    @property
    def n_edges(self) -> int:
        return len(self.fwd_indices) + len(self.bwd_indices)

    @classmethod
    def build(
        cls, matrix, core_nodes: int | None = None, settle_limit: int = WITNESS_SETTLE, sim_limit: int = SIM_SETTLE
    ) -> Hierarchy:
        """Contract a square sparse matrix of non-negative seconds (row -> column edges).

        Parameters
        ----------
        matrix : scipy.sparse matrix
        core_nodes : int, optional
            Nodes left uncontracted (default ``max(MIN_CORE, CORE_SHARE x n)``, at most n).
        settle_limit : int
            Nodes a witness search may settle (more shortcuts when smaller, never a wrong time).
        """
        matrix = sparse.csr_matrix(matrix)
        n = matrix.shape[0]
        if matrix.shape != (n, n):
            raise ValueError("matrix must be square")
        if matrix.nnz and matrix.data.min() < 0:
            raise ValueError("negative edge weight")
        matrix.sum_duplicates()
        if core_nodes is None:
            core_nodes = max(MIN_CORE, int(CORE_SHARE * n))
        core_nodes = int(min(max(core_nodes, 1), n)) if n else 0
        rank, up, core = _contract_core(
            matrix.indptr.astype(np.int64),
            matrix.indices.astype(np.int64),
            matrix.data.astype(np.float64) + 0.0,
            core_nodes,
            int(settle_limit),
            int(min(sim_limit, settle_limit)),
        )
        up_t, up_h, up_w = up[0].astype(np.int64), up[1].astype(np.int64), up[2]
        core_t, core_h, core_w = core[0].astype(np.int64), core[1].astype(np.int64), core[2]
        fwd = up[3] == 0
        bwd = ~fwd
        f = _csr(n, np.r_[up_t[fwd], core_t], np.r_[up_h[fwd], core_h], np.r_[up_w[fwd], core_w])
        b = _csr(n, np.r_[up_t[bwd], core_h], np.r_[up_h[bwd], core_t], np.r_[up_w[bwd], core_w])
        return cls(rank, *f, *b)

    def pairs(
        self, sources, targets, limit: float = np.inf, workers: int | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Shortest seconds from each source node to each target node, pairs within ``limit``.

        Parameters
        ----------
        sources, targets : array-like of int
            Distinct node indices.
        limit : float
            Largest time kept (inclusive).
        workers : int, optional
            Threads for the searches of the smaller side (default: number of CPUs).

        Returns
        -------
        (numpy.ndarray, numpy.ndarray, numpy.ndarray)
            Position in ``sources``, position in ``targets``, seconds.
        """
        sources = np.asarray(sources, dtype=np.int64).ravel()
        targets = np.asarray(targets, dtype=np.int64).ravel()
        n = self.n_nodes
        for side in (sources, targets):
            if len(side) and (side.min() < 0 or side.max() >= n):
                raise ValueError("node index out of range")
        if len(sources) == 0 or len(targets) == 0:
            empty = np.zeros(0, np.int64)
            return empty, empty.copy(), np.zeros(0)
        fwd = (self.fwd_indptr, self.fwd_indices, self.fwd_data)
        bwd = (self.bwd_indptr, self.bwd_indices, self.bwd_data)
        few_is_target = len(targets) < len(sources)
        # the many side searches upward only; the few side goes through the core
        many, few = (sources, targets) if few_is_target else (targets, sources)
        many_graph, few_graph = (fwd, bwd) if few_is_target else (bwd, fwd)
        limit = float(limit)
        node, j, d = _upward(*many_graph, self.is_core, many, limit)
        order = np.argsort(node, kind="stable")
        b_ptr = np.zeros(n + 1, np.int64)
        np.cumsum(np.bincount(node, minlength=n), out=b_ptr[1:])
        b_many, b_d = j[order], d[order]
        workers = max(1, int(workers or os.cpu_count() or 1))
        step = max(1, -(-len(few) // workers))
        starts = range(0, len(few), step)

        def run(start: int):
            k, jj, dd = _with_buckets(*few_graph, few[start : start + step], limit, b_ptr, b_many, b_d, len(many))
            return k + start, jj, dd

        if workers > 1 and len(starts) > 1:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                parts = list(pool.map(run, starts))
        else:
            parts = [run(s) for s in starts]
        k, jj, dd = (np.concatenate(p) for p in zip(*parts))
        return (jj, k, dd) if few_is_target else (k, jj, dd)


# --------------------------------------------------------------------------- cache and hook


def _code_fingerprint() -> str:
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]


def graph_key(matrix, core_nodes: int | None = None, settle_limit: int = WITNESS_SETTLE) -> str:
    """Cache key of a graph's hierarchy: SHA-256 of its CSR arrays, the parameters and this code."""
    m = sparse.csr_matrix(matrix)
    h = hashlib.sha256()
    h.update(repr((m.shape, core_nodes, settle_limit, _code_fingerprint())).encode())
    for a in (m.indptr.astype(np.int64), m.indices.astype(np.int64), m.data.astype(np.float64)):
        h.update(np.ascontiguousarray(a).data)
    return h.hexdigest()[:32]


def cache_dir() -> Path:
    """``<cache>/contraction`` beside :func:`analysis.graphcache.cache_dir`'s ``graphs``."""
    from . import graphcache

    return graphcache.cache_dir().parent / "contraction"


_FIELDS = ("rank", "fwd_indptr", "fwd_indices", "fwd_data", "bwd_indptr", "bwd_indices", "bwd_data")


def save(hierarchy: Hierarchy, path: Path) -> Path | None:
    """Write a hierarchy (atomic rename); None when the directory is not writable."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
        with open(tmp, "wb") as f:
            np.savez(f, **{name: getattr(hierarchy, name) for name in _FIELDS})
        os.replace(tmp, path)
        return path
    except OSError:
        return None


def load(path: Path, n_nodes: int) -> Hierarchy | None:
    """A saved hierarchy, or None (absent, unreadable or not of ``n_nodes`` nodes)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            h = Hierarchy(*(z[name] for name in _FIELDS))
    except (OSError, ValueError, KeyError):
        return None
    return h if h.n_nodes == n_nodes else None


def cached_hierarchy(matrix, directory: Path | None = None, **params) -> tuple[Hierarchy, bool]:
    """The hierarchy of ``matrix`` from the on-disk cache, built and saved when absent.

    Returns
    -------
    (Hierarchy, bool)
        The hierarchy and whether it came from the cache.
    """
    path = (directory or cache_dir()) / f"{graph_key(matrix, **params)}.npz"
    n = sparse.csr_matrix(matrix).shape[0]
    found = load(path, n) if path.exists() else None
    if found is not None:
        return found, True
    h = Hierarchy.build(matrix, **params)
    save(h, path)
    return h, False


def wants_hierarchy(arrays, mode: str | None) -> bool:
    """Whether a mode's searches should use a hierarchy: the car (its 90-minute searches reach
    most of a region) on graphs of at least :data:`MIN_NODES` nodes."""
    return mode == "car" and arrays.n_nodes >= MIN_NODES


def attach(arrays, mode: str | None = None, force: bool = False) -> bool:
    """Give ``arrays`` (an :class:`analysis.paths.GraphArrays`) its cached hierarchy when
    :func:`wants_hierarchy` (or ``force``): its ``node_pairs`` then searches with it.
    Returns whether a hierarchy is attached."""
    if "hierarchy" in arrays.meta:
        return True
    if not (force or wants_hierarchy(arrays, mode if mode is not None else arrays.meta.get("mode"))):
        return False
    arrays.meta["hierarchy"], _ = cached_hierarchy(arrays.matrix)
    return True
