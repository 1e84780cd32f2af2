"""Bounded many-source Dijkstra on CSR arrays, with a sparse result.

Why not only :func:`scipy.sparse.csgraph.dijkstra`: scipy returns a dense
``(n_sources, n_nodes)`` distance matrix and initialises every node of the graph for every
source, whatever the ``limit``. With a 90-minute cutoff a walker reaches a few dozen nodes of
a regional graph of 24,000, so that initialisation is nearly all of scipy's time. This kernel
(compiled with numba) resets only the nodes a search touched, and returns only the
``(source, node, seconds)`` triples within the limit on the nodes asked for. Measured by
``bench/travel_times.py`` on the regional skeleton (628 searches, same cutoff, identical seconds):
walk ×9, bike ×2, car ×1 against scipy (figures in ``docs/performance.md``); ``tests/test_paths.py``
compares both, and networkx, on random and real graphs.

The algorithm is textbook Dijkstra with a binary heap and lazy deletion: a node may be pushed
more than once, stale entries are skipped when popped, so the heap never holds more entries
than there are edges (each edge is relaxed at most once per source, when its tail is settled).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numba import njit
from scipy import sparse


@njit(cache=True, nogil=True, inline="always")
def _heap_push(keys, nodes, size, key, node):  # pragma: no cover - compiled
    """Add ``(key, node)`` to the binary min-heap of ``size`` entries; return the new size."""
    i = size
    while i > 0:
        parent = (i - 1) // 2
        if keys[parent] <= key:
            break
        keys[i] = keys[parent]
        nodes[i] = nodes[parent]
        i = parent
    keys[i] = key
    nodes[i] = node
    return size + 1


@njit(cache=True, nogil=True, inline="always")
def _heap_pop(keys, nodes, size):  # pragma: no cover - compiled
    """Remove the smallest entry of the heap; return it and the new size."""
    key, node = keys[0], nodes[0]
    size -= 1
    last_key, last_node = keys[size], nodes[size]
    i = 0
    while True:
        child = 2 * i + 1
        if child >= size:
            break
        if child + 1 < size and keys[child + 1] < keys[child]:
            child += 1
        if keys[child] >= last_key:
            break
        keys[i] = keys[child]
        nodes[i] = nodes[child]
        i = child
    if size > 0:
        keys[i] = last_key
        nodes[i] = last_node
    return key, node, size


@njit(cache=True, nogil=True)
def _grown(values, n):  # pragma: no cover - compiled
    """A copy of ``values[:n]`` with twice the room."""
    out = np.empty(2 * len(values), values.dtype)
    out[:n] = values[:n]
    return out


@njit(cache=True, nogil=True)
def _bounded_kernel(indptr, indices, data, sources, limit, wanted):  # pragma: no cover - compiled
    n = len(indptr) - 1
    dist = np.full(n, np.inf)
    touched = np.empty(n, np.int64)  # nodes given a finite distance by the current search
    heap_key = np.empty(len(data) + 1, np.float64)
    heap_node = np.empty(len(data) + 1, np.int64)
    out_src = np.empty(1024, np.int64)
    out_node = np.empty(1024, np.int64)
    out_sec = np.empty(1024, np.float64)
    n_out = 0
    for k in range(len(sources)):
        s = sources[k]
        dist[s] = 0.0
        touched[0] = s
        n_touched = 1
        size = _heap_push(heap_key, heap_node, 0, 0.0, s)
        while size > 0:
            d, u, size = _heap_pop(heap_key, heap_node, size)
            if d > dist[u]:  # stale entry
                continue
            if wanted[u]:
                if n_out == len(out_src):
                    out_src, out_node, out_sec = _grown(out_src, n_out), _grown(out_node, n_out), _grown(out_sec, n_out)
                out_src[n_out] = k
                out_node[n_out] = u
                out_sec[n_out] = d
                n_out += 1
            for e in range(indptr[u], indptr[u + 1]):
                v = indices[e]
                nd = d + data[e]
                if nd <= limit and nd < dist[v]:
                    if dist[v] == np.inf:
                        touched[n_touched] = v
                        n_touched += 1
                    dist[v] = nd
                    size = _heap_push(heap_key, heap_node, size, nd, v)
        for t in range(n_touched):
            dist[touched[t]] = np.inf
    return out_src[:n_out], out_node[:n_out], out_sec[:n_out]


def bounded_dijkstra(matrix: sparse.csr_matrix, sources, wanted, limit: float = np.inf,
                     max_pairs: int = 1 << 21, workers: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shortest seconds from each source to the wanted nodes reachable within ``limit``.

    Parameters
    ----------
    matrix : scipy.sparse.csr_matrix
        (n, n) non-negative edge weights, row node -> column node (explicit entries are edges).
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
        number of CPUs. Each thread holds its own node arrays (about 30 bytes per node and
        16 bytes per edge).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray, numpy.ndarray)
        ``source`` (position in ``sources``), ``node`` and ``seconds`` of every pair found,
        sorted by source position then by distance.
    """
    matrix = sparse.csr_matrix(matrix)
    n = matrix.shape[0]
    if matrix.shape != (n, n):
        raise ValueError("matrix must be square")
    if matrix.nnz and matrix.data.min() < 0:
        raise ValueError("negative edge weight")
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
    indptr = matrix.indptr.astype(np.int64, copy=False)
    indices = matrix.indices.astype(np.int64, copy=False)
    data = matrix.data.astype(np.float64, copy=False)
    limit = float(limit)
    workers = max(1, int(workers or os.cpu_count() or 1))
    step = max(1, int(max_pairs // max(int(wanted.sum()), 1)))
    step = min(step, max(16, -(-len(sources) // workers)))  # at least one group per worker
    starts = range(0, len(sources), step)

    def run(start: int):
        s, node, sec = _bounded_kernel(indptr, indices, data, sources[start:start + step], limit, wanted)
        return s + start, node, sec

    if workers > 1 and len(starts) > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            parts = list(pool.map(run, starts))
    else:
        parts = [run(start) for start in starts]
    if not parts:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy(), np.zeros(0, dtype=float)
    if len(parts) == 1:
        return parts[0]
    return tuple(np.concatenate(p) for p in zip(*parts))
