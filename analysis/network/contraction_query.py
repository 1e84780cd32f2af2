"""Search kernels of the contraction hierarchy's many-to-many queries (compiled with numba).

Used by :meth:`analysis.network.contraction.Hierarchy.pairs` (see :mod:`analysis.network.contraction` for the
algorithm): :func:`_upward` fills the buckets of the many side, :func:`_with_buckets` searches
from the few side and scans them.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from analysis.network.dijkstra import _grown, _heap_pop, _heap_push


@njit(cache=True, nogil=True)
def _upward(indptr, indices, data, is_core, sources, limit):  # pragma: no cover - compiled
    """Searches from each source that never leave a core node; every settled node within
    ``limit`` is returned as ``(node, source position, seconds)`` (the buckets)."""
    n = len(indptr) - 1
    dist = np.full(n, np.inf)
    touched = np.empty(1024, np.int64)
    heap = np.empty(2048, np.float64)
    out_node = np.empty(1024, np.int64)
    out_src = np.empty(1024, np.int64)
    out_d = np.empty(1024, np.float64)
    n_out = 0
    for k in range(len(sources)):
        s = sources[k]
        dist[s] = 0.0
        touched[0] = s
        n_touched = 1
        size = _heap_push(heap, 0, 0.0, s)
        while size > 0:
            d, u, size = _heap_pop(heap, size)
            if d > dist[u]:
                continue
            if n_out == len(out_node):
                out_node, out_src, out_d = (
                    _grown(out_node, len(out_node)),
                    _grown(out_src, len(out_src)),
                    _grown(out_d, len(out_d)),
                )
            out_node[n_out] = u
            out_src[n_out] = k
            out_d[n_out] = d
            n_out += 1
            if is_core[u]:
                continue
            for e in range(indptr[u], indptr[u + 1]):
                v = indices[e]
                nd = d + data[e]
                if nd <= limit and nd < dist[v]:
                    if dist[v] == np.inf:
                        if n_touched == len(touched):
                            touched = _grown(touched, len(touched))
                        touched[n_touched] = v
                        n_touched += 1
                    dist[v] = nd
                    if size + 1 >= len(heap) // 2:
                        heap = _grown(heap, len(heap))
                    size = _heap_push(heap, size, nd, v)
        for t in range(n_touched):
            dist[touched[t]] = np.inf
    return out_node[:n_out], out_src[:n_out], out_d[:n_out]


@njit(cache=True, nogil=True)
def _with_buckets(indptr, indices, data, sources, limit, b_ptr, b_many, b_d, n_many):  # pragma: no cover - compiled
    """Upward-then-core Dijkstra from each source; each settled node's bucket gives candidate
    times to the many side. Returns ``(source position, many position, seconds)`` triples."""
    n = len(indptr) - 1
    dist = np.full(n, np.inf)
    touched = np.empty(1024, np.int64)
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
        size = _heap_push(heap, 0, 0.0, s)
        while size > 0:
            d, u, size = _heap_pop(heap, size)
            if d > dist[u]:
                continue
            for b in range(b_ptr[u], b_ptr[u + 1]):
                c = d + b_d[b]
                j = b_many[b]
                if c <= limit and c < best[j]:
                    if best[j] == np.inf:
                        hit[n_hit] = j
                        n_hit += 1
                    best[j] = c
            for e in range(indptr[u], indptr[u + 1]):
                v = indices[e]
                nd = d + data[e]
                if nd <= limit and nd < dist[v]:
                    if dist[v] == np.inf:
                        if n_touched == len(touched):
                            touched = _grown(touched, len(touched))
                        touched[n_touched] = v
                        n_touched += 1
                    dist[v] = nd
                    size = _heap_push(heap, size, nd, v)
        for t in range(n_touched):
            dist[touched[t]] = np.inf
        for h in range(n_hit):
            j = hit[h]
            if n_out == len(out_src):
                out_src, out_j, out_d = (
                    _grown(out_src, len(out_src)),
                    _grown(out_j, len(out_j)),
                    _grown(out_d, len(out_d)),
                )
            out_src[n_out] = k
            out_j[n_out] = j
            out_d[n_out] = best[j]
            n_out += 1
            best[j] = np.inf
    return out_src[:n_out], out_j[:n_out], out_d[:n_out]
