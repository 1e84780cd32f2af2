"""Contraction hierarchy with a core, and bucket-based many-to-many searches on it.

Why: on a regional street network a 90-minute drive reaches most of the region, so each
one-to-all search of :func:`analysis.network.dijkstra.bounded_dijkstra` settles millions of nodes, one
per offer location (``docs/performance.md``). A contraction hierarchy (Geisberger et al., 2008)
adds shortcuts so that every shortest path is an *upward* path then a *downward* one; the
many-to-many query of Knopp et al. (2007) meets small upward searches in *buckets*.

Contraction stops when ``core_nodes`` nodes are left (a *core*: the last nodes are the costly
ones to contract). A query (kernels in :mod:`analysis.network.contraction_query`) is then:

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
and of the code that builds it (``<cache>/contraction/<key>.npz``). Its preprocessing costs more
than it saves on one build, so :func:`attach` uses it only once cached: a build that misses it
runs the one-to-all kernel and leaves the hierarchy to a background worker
(:mod:`analysis.network.contraction_background`) for the builds after it.
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse

from analysis import settings
from analysis.network import contraction_jobs
from analysis.network.contraction_prep import contract_core
from analysis.network.contraction_query import bucket_search, upward_buckets

#: Graphs with fewer nodes are searched with the plain kernel (a hierarchy does not pay there).
MIN_NODES = 200_000
#: Nodes left uncontracted, as a share of the graph (bounded below by ``MIN_CORE``).
CORE_SHARE = 0.10
MIN_CORE = 2_000
#: Largest number of nodes a witness search settles before giving up (a shortcut is then added).
WITNESS_SETTLE = 40
#: The same for the witness searches that estimate a node's priority (cheaper, less exact).
SIM_SETTLE = 12


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
        rank, up, core = contract_core(
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
        node, j, d = upward_buckets(*many_graph, self.is_core, many, limit)
        order = np.argsort(node, kind="stable")
        b_ptr = np.zeros(n + 1, np.int64)
        np.cumsum(np.bincount(node, minlength=n), out=b_ptr[1:])
        b_many, b_d = j[order], d[order]
        workers = max(1, int(workers or os.cpu_count() or 1))
        step = max(1, -(-len(few) // workers))
        starts = range(0, len(few), step)

        def run(start: int):
            k, jj, dd = bucket_search(*few_graph, few[start : start + step], limit, b_ptr, b_many, b_d, len(many))
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
    h = hashlib.sha256()
    for name in ("contraction.py", "contraction_prep.py"):  # the code that builds a hierarchy
        h.update((Path(__file__).parent / name).read_bytes())
    return h.hexdigest()[:16]


def graph_key(matrix, core_nodes: int | None = None, settle_limit: int = WITNESS_SETTLE) -> str:
    """Cache key of a graph's hierarchy: SHA-256 of its CSR arrays, the parameters and this code."""
    m = sparse.csr_matrix(matrix)
    h = hashlib.sha256()
    h.update(repr((m.shape, core_nodes, settle_limit, _code_fingerprint())).encode())
    for a in (m.indptr.astype(np.int64), m.indices.astype(np.int64), m.data.astype(np.float64)):
        h.update(np.ascontiguousarray(a).data)
    return h.hexdigest()[:32]


def cache_dir() -> Path:
    """``<cache>/contraction`` beside :func:`analysis.network.graphcache.cache_dir`'s ``graphs``."""
    from analysis.network import graphcache

    return graphcache.cache_dir().parent / "contraction"


#: Environment variable overriding :func:`attach`'s ``build`` (background, now, off).
ENV_BUILD = "OBSERVATOIRE_HIERARCHY"

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


def attach(arrays, mode: str | None = None, force: bool = False, build: str | None = None) -> bool:
    """Give ``arrays`` (an :class:`analysis.network.paths.GraphArrays`) its cached hierarchy when
    :func:`wants_hierarchy` (or ``force``): its ``node_pairs`` then searches with it.

    Parameters
    ----------
    build : {"background", "now", "off"}, optional
        What a cache miss does: ``"background"`` (default, or ``$OBSERVATOIRE_HIERARCHY``)
        leaves this build to the kernel and has the hierarchy built by a background worker for
        the next build (:mod:`analysis.network.contraction_jobs`: on a new network it costs more
        than it saves once); ``"now"`` (the default with ``force``) builds and saves it here;
        ``"off"`` leaves the kernel in charge.

    Returns
    -------
    bool
        Whether a hierarchy is attached.
    """
    if "hierarchy" in arrays.meta:
        return True
    if not (force or wants_hierarchy(arrays, mode if mode is not None else arrays.meta.get("mode"))):
        return False
    build = build or ("now" if force else (settings.current().hierarchy or "background"))
    if build not in ("background", "now", "off"):
        raise ValueError(f"{ENV_BUILD} must be background, now or off, not {build!r}")
    directory, key = cache_dir(), graph_key(arrays.matrix)
    path = directory / f"{key}.npz"
    found = load(path, arrays.n_nodes) if path.exists() else None
    if found is None and build == "now":
        found, _ = cached_hierarchy(arrays.matrix, directory)
    if found is None:
        if build == "background":
            contraction_jobs.schedule(arrays.matrix, directory, key)
        return False
    arrays.meta["hierarchy"] = found
    return True
