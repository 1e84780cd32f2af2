"""Bounded many-source Dijkstra on CSR arrays, with a sparse result.

Why not only :func:`scipy.sparse.csgraph.dijkstra`: scipy returns a dense
``(n_sources, n_nodes)`` distance matrix and initialises every node of the graph for every
source, whatever the ``limit``. With a 90-minute cutoff a walker reaches a few dozen nodes of
a regional graph of 24,000, so that initialisation is nearly all of scipy's time. This kernel
(compiled with numba) resets only the nodes a search touched, and returns only the
``(source, node, seconds)`` triples within the limit on the nodes asked for.

Per thread, on searches that cover most of the graph (a 90-minute drive), the cost is the
cost per relaxed edge. Three measured choices (``bench/travel_times.py``, figures in
``docs/performance.md``) bring it level with scipy's C++ binary heap:

- a **4-ary heap** whose entries interleave key and node (one float64 pair, the node stored
  exactly as a float) so that a sift reads one cache line per level, half as many levels as a
  binary heap;
- **32-bit unsigned node indices** (half the memory traffic of int64 on the edge array, and
  no negative-index wrap-around test in the compiled code);
- **nodes renumbered along a Z-order (Morton) curve** of their coordinates
  (:func:`spatial_order`, done once per graph in :class:`KernelGraph`), so that nodes near
  each other on the map are near each other in memory, and sources searched in that order so
  that consecutive searches find the graph in cache.

The algorithm is textbook Dijkstra with lazy deletion: a node may be pushed more than once,
stale entries are skipped when popped, so the heap never holds more entries than there are
edges (each edge is relaxed at most once per source, when its tail is settled).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from numba import njit
from scipy import sparse

#: Children per heap node (the kernel's heap is 4-ary; kept as a name for the docs and tests).
HEAP_ARITY = 4


@njit(cache=True, nogil=True, inline="always")
def heap_push(heap, size, key, node):  # pragma: no cover - compiled
    """Add ``(key, node)`` to the 4-ary min-heap of ``size`` entries; return the new size.

    ``heap`` is a float64 array of interleaved pairs: ``heap[2 i]`` the key of entry ``i``,
    ``heap[2 i + 1]`` its node (an integer held exactly in a float64).
    """
    i = size
    while i > 0:
        parent = (i - 1) >> 2
        pk = heap[2 * parent]
        if pk <= key:
            break
        heap[2 * i] = pk
        heap[2 * i + 1] = heap[2 * parent + 1]
        i = parent
    heap[2 * i] = key
    heap[2 * i + 1] = node
    return size + 1


@njit(cache=True, nogil=True, inline="always")
def heap_pop(heap, size):  # pragma: no cover - compiled
    """Remove the smallest entry of the 4-ary heap; return its key, its node and the new size."""
    key = heap[0]
    node = heap[1]
    size -= 1
    last_key = heap[2 * size]
    last_node = heap[2 * size + 1]
    i = 0
    while True:
        child = 4 * i + 1
        if child + 3 < size:  # four children: smallest of them without a loop
            best, best_key = child, heap[2 * child]
            k = heap[2 * child + 2]
            if k < best_key:
                best, best_key = child + 1, k
            k = heap[2 * child + 4]
            if k < best_key:
                best, best_key = child + 2, k
            k = heap[2 * child + 6]
            if k < best_key:
                best, best_key = child + 3, k
        elif child < size:
            best, best_key = child, heap[2 * child]
            for j in range(child + 1, size):
                if heap[2 * j] < best_key:
                    best, best_key = j, heap[2 * j]
        else:
            break
        if best_key >= last_key:
            break
        heap[2 * i] = best_key
        heap[2 * i + 1] = heap[2 * best + 1]
        i = best
    heap[2 * i] = last_key
    heap[2 * i + 1] = last_node
    return key, np.int64(node), size


@njit(cache=True, nogil=True)
def heap_sort(keys):  # pragma: no cover - compiled
    """Push every key (with its position as node) into the kernel's heap, then pop them all.

    For tests of the heap alone: returns the keys and positions in popping order, which must
    be the keys sorted (ties in any order).
    """
    heap = np.empty(2 * (len(keys) + 1), np.float64)
    size = 0
    for i in range(len(keys)):
        size = heap_push(heap, size, keys[i], i)
    out_key = np.empty(len(keys), np.float64)
    out_node = np.empty(len(keys), np.int64)
    for i in range(len(keys)):
        k, node, size = heap_pop(heap, size)
        out_key[i] = k
        out_node[i] = node
    return out_key, out_node


@njit(cache=True, nogil=True)
def grown(values, n):  # pragma: no cover - compiled
    """A copy of ``values[:n]`` with twice the room."""
    out = np.empty(2 * len(values), values.dtype)
    out[:n] = values[:n]
    return out


@njit(cache=True, nogil=True)
def _bounded_kernel(indptr, indices, data, sources, limit, wanted):  # pragma: no cover - compiled
    n = len(indptr) - 1
    dist = np.full(n, np.inf)
    touched = np.empty(len(data) + 1, np.uint32)  # nodes whose distance the search lowered
    heap = np.empty(2 * (len(data) + 1), np.float64)
    out_src = np.empty(1024, np.int64)
    out_node = np.empty(1024, np.int64)
    out_sec = np.empty(1024, np.float64)
    n_out = 0
    one = np.uint64(1)
    for k in range(len(sources)):
        s = sources[k]
        dist[s] = 0.0
        touched[0] = s
        n_touched = 1
        size = heap_push(heap, 0, 0.0, s)
        while size > 0:
            d, u, size = heap_pop(heap, size)
            if d > dist[u]:  # stale entry
                continue
            if wanted[u]:
                if n_out == len(out_src):
                    out_src, out_node, out_sec = grown(out_src, n_out), grown(out_node, n_out), grown(out_sec, n_out)
                out_src[n_out] = k
                out_node[n_out] = u
                out_sec[n_out] = d
                n_out += 1
            e = np.uint64(indptr[u])
            end = np.uint64(indptr[u + 1])
            while e < end:  # unsigned loop and indices: no wrap-around test on each access
                v = indices[e]
                nd = d + data[e]
                e += one
                if nd <= limit and nd < dist[v]:
                    dist[v] = nd
                    touched[n_touched] = v
                    n_touched += 1
                    size = heap_push(heap, size, nd, v)
        for t in range(n_touched):
            dist[touched[t]] = np.inf
    return out_src[:n_out], out_node[:n_out], out_sec[:n_out]


# --------------------------------------------------------------------------- graph layout


def _spread_bits(a: np.ndarray) -> np.ndarray:
    """Spread the low 16 bits of ``a`` (uint64) to the even bit positions."""
    a = (a | (a << np.uint64(8))) & np.uint64(0x00FF00FF)
    a = (a | (a << np.uint64(4))) & np.uint64(0x0F0F0F0F)
    a = (a | (a << np.uint64(2))) & np.uint64(0x33333333)
    return (a | (a << np.uint64(1))) & np.uint64(0x55555555)


def spatial_order(x, y) -> np.ndarray:
    """Node order along a Z-order (Morton) curve of the coordinates.

    Parameters
    ----------
    x, y : array-like
        Node coordinates (any planar or lon/lat units).

    Returns
    -------
    numpy.ndarray
        ``order[new] = old``: the node indices sorted by their Morton code on a 65,536 x 65,536
        grid of the bounding box (stable: ties keep their index order).
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if len(x) == 0:
        return np.zeros(0, dtype=np.int64)

    def cells(c):
        span = float(np.ptp(c)) or 1.0
        return np.clip((c - c.min()) / span * 65535.0, 0, 65535).astype(np.uint64)

    code = _spread_bits(cells(x)) | (_spread_bits(cells(y)) << np.uint64(1))
    return np.argsort(code, kind="stable")


@dataclass(frozen=True, eq=False)
class KernelGraph:
    """A CSR graph laid out for the kernel (prepared once per graph, reused by every search).

    Attributes
    ----------
    indptr : numpy.ndarray
        int64 row pointers (in the kernel's node numbering).
    indices : numpy.ndarray
        uint32 column indices.
    data : numpy.ndarray
        float64 edge weights (``-0.0`` made ``0.0``).
    order : numpy.ndarray or None
        ``order[new] = old`` when nodes were renumbered, else None.
    rank : numpy.ndarray or None
        ``rank[old] = new`` (inverse of ``order``).
    """

    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    order: np.ndarray | None = None
    rank: np.ndarray | None = None

    @property
    def n_nodes(self) -> int:
        return len(self.indptr) - 1

    @classmethod
    def from_matrix(cls, matrix, order=None) -> KernelGraph:
        """Lay out a square sparse matrix (row -> column edges), renumbered by ``order`` if given.

        Raises
        ------
        ValueError
            For a non-square matrix, a negative weight, more than 2**32 - 1 nodes or an
            ``order`` that is not a permutation of the nodes.
        """
        matrix = sparse.csr_matrix(matrix)
        n = matrix.shape[0]
        if matrix.shape != (n, n):
            raise ValueError("matrix must be square")
        if n >= 2**32 - 1:
            raise ValueError("too many nodes for 32-bit indices")
        if matrix.nnz and matrix.data.min() < 0:
            raise ValueError("negative edge weight")
        rank = None
        if order is not None:
            order = np.asarray(order, dtype=np.int64)
            rank = np.full(n, -1, dtype=np.int64)
            rank[order] = np.arange(len(order))
            if len(order) != n or (rank < 0).any():
                raise ValueError("order must be a permutation of the nodes")
            matrix = matrix[order][:, order].tocsr()
            matrix.sort_indices()
        return cls(
            matrix.indptr.astype(np.int64),
            matrix.indices.astype(np.uint32),
            matrix.data.astype(np.float64) + 0.0,
            order,
            rank,
        )


def prepare(matrix, x=None, y=None) -> KernelGraph:
    """A :class:`KernelGraph` of ``matrix``, nodes in :func:`spatial_order` when coordinates are given."""
    return KernelGraph.from_matrix(matrix, None if x is None else spatial_order(x, y))


def bounded_dijkstra(
    matrix: sparse.csr_matrix | KernelGraph,
    sources,
    wanted,
    limit: float = np.inf,
    max_pairs: int = 1 << 21,
    workers: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shortest seconds from each source to the wanted nodes reachable within ``limit``.

    Parameters
    ----------
    matrix : scipy.sparse.csr_matrix or KernelGraph
        (n, n) non-negative edge weights, row node -> column node (explicit entries are edges),
        or the same graph already laid out by :func:`prepare` (what repeated callers should
        pass: the layout is then done once). Node indices in and out are always the
        original ones.
    sources : array-like of int
        Source node indices (distinct values are expected; duplicates are searched twice).
    wanted : array-like of int or bool
        Nodes whose distances are returned: indices, or a boolean mask of length n.
    limit : float
        Largest distance kept (inclusive, as in :func:`scipy.sparse.csgraph.dijkstra`).
    max_pairs : int
        Sources are searched in groups of at most ``max_pairs // len(wanted)`` so that the
        triples of one group stay bounded (memory), as scipy's chunks do.
    workers : int, optional
        Threads searching groups at the same time (the kernel releases the GIL); default: the
        number of CPUs. Each thread holds its own arrays (8 bytes per node, 20 bytes per edge).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray, numpy.ndarray)
        ``source`` (position in ``sources``), ``node`` and ``seconds`` of every pair found,
        grouped by source (sources in the graph's layout order), each source's pairs by
        increasing seconds.
    """
    graph = matrix if isinstance(matrix, KernelGraph) else KernelGraph.from_matrix(matrix)
    n = graph.n_nodes
    sources = np.asarray(sources, dtype=np.int64).ravel()
    if len(sources) and (sources.min() < 0 or sources.max() >= n):
        raise ValueError("source index out of range")
    wanted = np.asarray(wanted)
    if wanted.dtype != np.bool_:
        mask = np.zeros(n, dtype=np.bool_)
        mask[wanted.astype(np.int64)] = True
        wanted = mask
    elif wanted.shape != (n,):
        raise ValueError("boolean mask of wanted nodes must have one value per node")
    if graph.order is not None:  # into the kernel's numbering; sources in layout order (locality)
        wanted = wanted[graph.order]
        inner = graph.rank[sources]
        by_layout = np.argsort(inner, kind="stable")
        inner = inner[by_layout]
    else:
        inner, by_layout = sources, None
    limit = float(limit)
    workers = max(1, int(workers or os.cpu_count() or 1))
    step = max(1, int(max_pairs // max(int(wanted.sum()), 1)))
    step = min(step, max(16, -(-len(sources) // workers)))  # at least one group per worker
    starts = range(0, len(sources), step)

    def run(start: int):
        s, node, sec = _bounded_kernel(
            graph.indptr, graph.indices, graph.data, inner[start : start + step], limit, wanted
        )
        return s + start, node, sec

    if workers > 1 and len(starts) > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            parts = list(pool.map(run, starts))
    else:
        parts = [run(start) for start in starts]
    if not parts:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy(), np.zeros(0, dtype=float)
    k, node, sec = parts[0] if len(parts) == 1 else tuple(np.concatenate(p) for p in zip(*parts))
    if graph.order is not None:
        k, node = by_layout[k], graph.order[node]
    return k, node, sec
