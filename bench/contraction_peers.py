"""Benchmark: the car's many-to-many on a SYNTHETIC road grid, kernel vs hierarchies (issue 15).

Usage::

    .venv/bin/python bench/contraction_peers.py [--nodes 500000] [--origins 2934] [--destinations 632]
                                                [--kernel-sample 16]

Same graph (``bench/regional.py``'s SYNTHETIC grid, car speeds), same origin and destination
nodes (random, fixed seed), 90-minute limit, searches from the destinations' side as the build
does. Engines, each timed in CPU seconds of this process (all threads):

- ``analysis.network.dijkstra`` one-to-all kernel on ``--kernel-sample`` destinations, extrapolated;
- ``analysis.network.contraction`` (hand-written core-based CH + buckets): preprocessing, then all pairs;
- ``routingkit-cch`` (RoutingKit's customizable CH, PyPI; bench-only, not in requirements.txt:
  ``pip install 'routingkit-cch>=0.1.4,<0.2'``), skipped when absent: inertial nested-dissection
  order, customization, then ``CCHManyToOne`` (pinned origins, one sweep per destination). Its
  weights are unsigned 32-bit integers: seconds are given in milliseconds, rounded, so its
  times differ slightly from the kernel's (printed: largest difference, and how many stored
  ``REAL`` minutes would change).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from analysis.network import paths  # noqa: E402
from analysis.network.contraction import Hierarchy  # noqa: E402
from analysis.network.dijkstra import bounded_dijkstra  # noqa: E402

LIMIT_S = 90 * 60.0


def _cpu() -> float:
    return time.process_time()


def car_graph(n_nodes: int) -> paths.GraphArrays:
    """The SYNTHETIC regional grid of ``bench/regional.py`` with car speeds."""
    import regional

    lon, lat, u, v, length, cls = regional.synthetic_roads(n_nodes)
    sec = length / (np.choose(cls, [40.0, 80.0, 120.0]) / 3.6)
    return paths.GraphArrays.from_edges(lon, lat, np.r_[u, v], np.r_[v, u], np.r_[sec, sec], mode="car")


def run_kernel(g, origins, dests, sample: int) -> tuple[float, dict]:
    kg = g.kernel_graph(True)
    bounded_dijkstra(kg, dests[:1], origins, limit=LIMIT_S)  # compile / read numba's cache
    c0 = _cpu()
    k, node, sec = bounded_dijkstra(kg, dests[:sample], origins, limit=LIMIT_S)
    cpu = (_cpu() - c0) * len(dests) / sample
    pos = {int(x): i for i, x in enumerate(origins)}
    return cpu, {(pos[int(a)], int(b)): s for b, a, s in zip(k, node, sec)}


def run_hierarchy(g, origins, dests) -> tuple[float, float, dict]:
    Hierarchy.build(g.matrix[:50, :50])  # compile / read numba's cache
    c0 = _cpu()
    h = Hierarchy.build(g.matrix)
    prep = _cpu() - c0
    h.pairs(origins[:10], dests[:2], limit=LIMIT_S)
    c0 = _cpu()
    i, j, sec = h.pairs(origins, dests, limit=LIMIT_S)
    return prep, _cpu() - c0, {(int(a), int(b)): s for a, b, s in zip(i, j, sec)}


def run_routingkit(g, origins, dests) -> tuple[float, float, dict] | None:
    try:
        import routingkit_cch as rk
    except ImportError:
        return None
    m = g.matrix.tocoo()
    tail, head = m.row.astype(np.int64).tolist(), m.col.astype(np.int64).tolist()
    weights = np.rint(m.data * 1000.0).astype(np.int64).tolist()  # milliseconds
    c0 = _cpu()
    order = rk.compute_order_inertial(g.n_nodes, tail, head, g.lat.tolist(), g.lon.tolist())
    cch = rk.CCH(order, tail, head, False)
    metric = rk.CCHMetric(cch, weights)
    prep = _cpu() - c0
    c0 = _cpu()
    query = rk.CCHManyToOne(metric, origins.tolist())
    out = {}
    for j, d in enumerate(dests.tolist()):
        for i, ms in enumerate(query.distances_to(d)):
            if ms is not None and ms / 1000.0 <= LIMIT_S:
                out[(i, j)] = ms / 1000.0
    return prep, _cpu() - c0, out


def compare(ref: dict, got: dict, sample: int) -> str:
    sub = {k: v for k, v in got.items() if k[1] < sample}
    if sub.keys() != ref.keys():
        return f"pairs differ ({len(sub.keys() ^ ref.keys())} of {len(ref)})"
    diff = max(abs(sub[k] - ref[k]) for k in ref)
    changed = sum(np.float32(sub[k] / 60) != np.float32(ref[k] / 60) for k in ref)
    return f"same {len(ref)} pairs, largest difference {diff:.2g} s, stored minutes changed: {changed}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=500_000)
    ap.add_argument("--origins", type=int, default=2934)
    ap.add_argument("--destinations", type=int, default=632)
    ap.add_argument("--kernel-sample", type=int, default=16)
    args = ap.parse_args(argv)
    g = car_graph(args.nodes)
    rng = np.random.default_rng(0)
    origins = rng.choice(g.snappable, args.origins, replace=False)
    dests = rng.choice(g.snappable, args.destinations, replace=False)
    print(f"Réseau SYNTHÉTIQUE : {g.n_nodes:,} noeuds, {g.matrix.nnz:,} arcs (voiture) ; ".replace(",", " "), end="")
    print(f"{len(origins)} origines x {len(dests)} destinations, limite 90 min ; secondes CPU du processus")
    sample = min(args.kernel_sample, len(dests))
    k_cpu, ref = run_kernel(g, origins, dests, sample)
    print(f"  noyau un-vers-tous        requêtes {k_cpu:8.1f} s  (EXTRAPOLÉ de {sample} destinations)")
    prep, q_cpu, got = run_hierarchy(g, origins, dests)
    print(
        f"  analysis.network.contraction      requêtes {q_cpu:8.1f} s  x{k_cpu / q_cpu:5.1f}  prétraitement {prep:7.1f} s"
        f"   {compare(ref, got, sample)}"
    )
    rk = run_routingkit(g, origins, dests)
    if rk is None:
        print("  routingkit-cch            absent (pip install 'routingkit-cch>=0.1.4,<0.2')")
    else:
        prep, q_cpu, got = rk
        print(
            f"  routingkit-cch (ms)       requêtes {q_cpu:8.1f} s  x{k_cpu / q_cpu:5.1f}  prétraitement {prep:7.1f} s"
            f"   {compare(ref, got, sample)}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
