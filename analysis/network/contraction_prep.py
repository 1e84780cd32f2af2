"""Preprocessing kernels of the contraction hierarchy (compiled with numba).

Used by :meth:`analysis.network.contraction.Hierarchy.build` (see :mod:`analysis.network.contraction` for the
algorithm): :func:`contract_core` contracts nodes by edge difference with lazy updates and
witness searches of bounded size until the core is left.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from analysis.network.dijkstra import grown, heap_pop, heap_push

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
    size = heap_push(heap, 0, 0.0, u)
    settled = 0
    cap = len(heap) // 2 - 1
    while size > 0:
        d, x, size = heap_pop(heap, size)
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
                        size = heap_push(heap, size, nd, y)
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


@njit(cache=True, nogil=True, inline="always")
def _longest_via(v, u, w_uv, out_head, e_node, e_w, e_next, alive):  # pragma: no cover - compiled
    """Longest ``u -> v -> x`` over the live out-neighbours ``x != u`` of ``v`` (the witness
    search's bound), or -1 when ``v`` has none."""
    max_d = -1.0
    e = out_head[v]
    while e >= 0:
        x = e_node[e]
        if alive[x] and x != u and w_uv + e_w[e] > max_d:
            max_d = w_uv + e_w[e]
        e = e_next[e]
    return max_d


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
        max_d = _longest_via(v, u, w_uv, out_head, e_node, e_w, e_next, alive)
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
            e_node, e_w, e_next = grown(e_node, used), grown(e_w, used), grown(e_next, used)
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


@njit(cache=True, nogil=True, inline="always")
def _requeue(oheap, osize, p, v):  # pragma: no cover - compiled
    """Push ``(p, v)`` on the ordering heap, grown when nearly full. Returns the heap and its size."""
    if osize + 2 >= len(oheap) // 2:
        oheap = grown(oheap, len(oheap))
    return oheap, heap_push(oheap, osize, p, v)


@njit(cache=True, nogil=True)
def _drop_stale(oheap, osize, alive, prio):  # pragma: no cover - compiled
    """Pop stale entries (dead node, or an outdated priority) off the top of the ordering heap,
    so that its top is a live candidate to compare with. Returns the new size."""
    while osize > 0 and not (alive[np.int64(oheap[1])] and oheap[0] == prio[np.int64(oheap[1])]):
        _, _, osize = heap_pop(oheap, osize)
    return osize


@njit(cache=True, nogil=True)
def _bump_neighbours(v, out_head, in_head, e_node, e_next, alive, deleted, prio, oheap, osize):  # pragma: no cover
    """After contracting ``v``: each alive neighbour has one more contracted neighbour (its
    priority +1, requeued; the edge difference is recomputed lazily, when popped). Returns the
    ordering heap and its size."""
    for side in range(2):
        e = out_head[v] if side == 0 else in_head[v]
        while e >= 0:
            x = e_node[e]
            if alive[x]:
                deleted[x] += 1.0
                prio[x] += 1.0
                oheap, osize = _requeue(oheap, osize, prio[x], x)
            e = e_next[e]
    return oheap, osize


@njit(cache=True, nogil=True)
def contract_core(indptr, indices, data, n_core, settle_limit, sim_limit):  # pragma: no cover - compiled
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
        osize = heap_push(oheap, osize, prio[v], v)
    deleted = np.zeros(n, np.float64)
    left = n
    while left > n_core and osize > 0:
        p, v, osize = heap_pop(oheap, osize)
        if not alive[v] or p != prio[v]:
            continue
        # lazy update: recompute, contract only if still the smallest
        p2 = deleted[v] + _priority(v, out_head, in_head, e_node, e_w, e_next, alive, sim_limit, dist, touched, wheap)
        osize = _drop_stale(oheap, osize, alive, prio)
        if osize > 0 and p2 > oheap[0]:
            prio[v] = p2
            oheap, osize = _requeue(oheap, osize, p2, v)
            continue
        sc, n_sc = _shortcuts(v, out_head, in_head, e_node, e_w, e_next, alive, settle_limit, dist, touched, wheap, sc)
        up, n_up = _record_up(v, out_head, in_head, e_node, e_w, e_next, alive, up, n_up)
        alive[v] = False
        rank[v] = n - left
        left -= 1
        e_node, e_w, e_next, used = _add_shortcuts(sc, n_sc, out_head, in_head, e_node, e_w, e_next, alive, used)
        oheap, osize = _bump_neighbours(v, out_head, in_head, e_node, e_next, alive, deleted, prio, oheap, osize)
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
        max_d = _longest_via(v, u, w_uv, out_head, e_node, e_w, e_next, alive)
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
