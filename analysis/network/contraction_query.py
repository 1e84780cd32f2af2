"""Search kernels of the contraction hierarchy's many-to-many queries (compiled with numba).

Used by :meth:`analysis.network.contraction.Hierarchy.pairs` (see :mod:`analysis.network.contraction` for the
algorithm): :func:`upward_buckets` fills the buckets of the many side, :func:`bucket_search` searches
from the few side and scans them.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from analysis.network.dijkstra import grown, heap_pop, heap_push


@njit(cache=True, nogil=True, inline="always")
def _relax(indptr, indices, data, u, d, limit, dist, touched, n_touched, heap, size):  # pragma: no cover - compiled
    """Relax the edges of ``u`` settled at ``d`` seconds: improve ``dist`` within ``limit``,
    note first-reached nodes in ``touched`` and push improved ones on ``heap``. Both are sized
    for a whole search (``touched`` one row per node, ``heap`` one entry per edge plus the
    source: each edge is relaxed at most once). Returns the new counts of ``touched`` and ``heap``."""
    for e in range(indptr[u], indptr[u + 1]):
        v = indices[e]
        nd = d + data[e]
        if nd <= limit and nd < dist[v]:
            if dist[v] == np.inf:
                touched[n_touched] = v
                n_touched += 1
            dist[v] = nd
            size = heap_push(heap, size, nd, v)
    return n_touched, size


@njit(cache=True, nogil=True)
def upward_buckets(indptr, indices, data, is_core, sources, limit):  # pragma: no cover - compiled
    """Searches from each source that never leave a core node; every settled node within
    ``limit`` is returned as ``(node, source position, seconds)`` (the buckets)."""
    n = len(indptr) - 1
    dist = np.full(n, np.inf)
    touched = np.empty(n, np.int64)  # pages are committed as written: a search's own size
    heap = np.empty(2 * (len(data) + 1), np.float64)
    out_node = np.empty(1024, np.int64)
    out_src = np.empty(1024, np.int64)
    out_d = np.empty(1024, np.float64)
    n_out = 0
    for k in range(len(sources)):
        s = sources[k]
        dist[s] = 0.0
        touched[0] = s
        n_touched = 1
        size = heap_push(heap, 0, 0.0, s)
        while size > 0:
            d, u, size = heap_pop(heap, size)
            if d > dist[u]:
                continue
            if n_out == len(out_node):
                out_node, out_src, out_d = grown(out_node, n_out), grown(out_src, n_out), grown(out_d, n_out)
            out_node[n_out] = u
            out_src[n_out] = k
            out_d[n_out] = d
            n_out += 1
            if not is_core[u]:
                n_touched, size = _relax(indptr, indices, data, u, d, limit, dist, touched, n_touched, heap, size)
        for t in range(n_touched):
            dist[touched[t]] = np.inf
    return out_node[:n_out], out_src[:n_out], out_d[:n_out]


@njit(cache=True, nogil=True, inline="always")
def _scan_bucket(b_ptr, b_many, b_d, u, d, limit, best, hit, n_hit):  # pragma: no cover - compiled
    """Candidate times through ``u`` (settled at ``d``) to the many side in its bucket: lower
    ``best`` within ``limit``, note first-reached many positions in ``hit``. Returns their count."""
    for b in range(b_ptr[u], b_ptr[u + 1]):
        c = d + b_d[b]
        j = b_many[b]
        if c <= limit and c < best[j]:
            if best[j] == np.inf:
                hit[n_hit] = j
                n_hit += 1
            best[j] = c
    return n_hit


@njit(cache=True, nogil=True, inline="always")
def _emit(k, best, hit, n_hit, out_src, out_j, out_d, n_out):  # pragma: no cover - compiled
    """Append source ``k``'s hits to the output (grown when full) and reset their ``best``.
    Returns the three output arrays and their new count."""
    for h in range(n_hit):
        j = hit[h]
        if n_out == len(out_src):
            out_src, out_j, out_d = grown(out_src, n_out), grown(out_j, n_out), grown(out_d, n_out)
        out_src[n_out] = k
        out_j[n_out] = j
        out_d[n_out] = best[j]
        n_out += 1
        best[j] = np.inf
    return out_src, out_j, out_d, n_out


@njit(cache=True, nogil=True)
def bucket_search(indptr, indices, data, sources, limit, b_ptr, b_many, b_d, n_many):  # pragma: no cover - compiled
    """Upward-then-core Dijkstra from each source; each settled node's bucket gives candidate
    times to the many side. Returns ``(source position, many position, seconds)`` triples."""
    n = len(indptr) - 1
    dist = np.full(n, np.inf)
    touched = np.empty(n, np.int64)  # pages are committed as written: a search's own size
    heap = np.empty(2 * (len(data) + 1), np.float64)
    best = np.full(n_many, np.inf)
    hit = np.empty(n_many, np.int64)
    out_src = np.empty(1024, np.int64)
    out_j = np.empty(1024, np.int64)
    out_d = np.empty(1024, np.float64)
    n_out = 0
    for k in range(len(sources)):
        s = sources[k]
        dist[s] = 0.0
        touched[0] = s
        n_touched = 1
        n_hit = 0
        size = heap_push(heap, 0, 0.0, s)
        while size > 0:
            d, u, size = heap_pop(heap, size)
            if d > dist[u]:
                continue
            n_hit = _scan_bucket(b_ptr, b_many, b_d, u, d, limit, best, hit, n_hit)
            n_touched, size = _relax(indptr, indices, data, u, d, limit, dist, touched, n_touched, heap, size)
        for t in range(n_touched):
            dist[touched[t]] = np.inf
        out_src, out_j, out_d, n_out = _emit(k, best, hit, n_hit, out_src, out_j, out_d, n_out)
    return out_src[:n_out], out_j[:n_out], out_d[:n_out]
