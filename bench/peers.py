"""Benchmark: the Dijkstra kernel against peer libraries on the same searches (issue 15).

Usage::

    .venv/bin/python bench/peers.py [--synthetic-sources 16] [--skip-synthetic] [--pandana-synthetic]

Peers (bench only, not product dependencies; a peer that is not installed is skipped with a
message): scipy ``csgraph.dijkstra``, igraph ``Graph.distances``, networkit ``distance.SPSP``,
pandana (contraction hierarchies; its preprocessing is timed apart).

Searches, as the build runs them: from the distinct offer-location nodes (a random sample of
``--skeleton-sources``) on the reversed graph, to the origin nodes, 90-minute cutoff where the
library has one (scipy, the kernel), on

1. the regional skeleton (Travel Mapping, mirror), car and bike;
2. the SYNTHETIC 500k-node grid of ``bench/travel_times.py`` (car), ``--synthetic-sources``
   searches only.

Every library's seconds are compared with scipy's (largest absolute difference printed; pairs
beyond 90 minutes ignored). Times are wall times, best of ``--repeat``; the kernel is given one
thread (its default uses every core: that time is printed too). The machine is shared: ratios
measured in the same run are the figures to keep.
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

from analysis import config, db, traveltime  # noqa: E402
from analysis.network import paths, roads  # noqa: E402

LIMIT = 90 * 60.0


def best(fn, repeat: int):
    out, t = None, np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        t = min(t, time.perf_counter() - t0)
    return t, out


def peers(g: paths.GraphArrays, run: np.ndarray, keep: np.ndarray, repeat: int, pandana_ok: bool = True) -> list:
    """Rows (name, seconds, extra seconds, max |diff| vs scipy in s) for the same searches."""
    from scipy.sparse import csgraph

    from analysis.network.dijkstra import bounded_dijkstra

    T = g.transposed
    rows = []
    t_scipy, ref = best(lambda: csgraph.dijkstra(T, directed=True, indices=run, limit=LIMIT)[:, keep], repeat)
    ref = np.where(ref <= LIMIT, ref, np.inf)
    rows.append(("scipy csgraph.dijkstra", t_scipy, None, 0.0))
    t0 = time.perf_counter()
    kg = g.kernel_graph(True)
    layout = time.perf_counter() - t0
    pos = np.full(g.n_nodes, -1)
    pos[keep] = np.arange(len(keep))

    def kernel(workers):
        k, node, sec = bounded_dijkstra(kg, run, keep, limit=LIMIT, workers=workers)
        out = np.full((len(run), len(keep)), np.inf)
        out[k, pos[node]] = sec
        return out

    kernel(1)  # compiled or read from the cache
    for w in (1, 2):
        t, got = best(lambda w=w: kernel(w), repeat)
        rows.append((f"noyau (analysis.network.dijkstra), {w} fil{'s' if w > 1 else ''}", t, layout, diff(got, ref)))

    Tc = T.tocoo()
    try:
        import igraph as ig

        t0 = time.perf_counter()
        G = ig.Graph(n=g.n_nodes, edges=np.column_stack([Tc.row, Tc.col]).tolist(), directed=True)
        G.es["w"] = Tc.data.tolist()
        build = time.perf_counter() - t0
        t, got = best(
            lambda: np.array(G.distances(source=run.tolist(), target=keep.tolist(), weights="w", mode="out")), repeat
        )
        rows.append(
            (f"igraph {ig.__version__} Graph.distances", t, build, diff(np.where(got <= LIMIT, got, np.inf), ref))
        )
    except ImportError:
        rows.append(("igraph (non installé)", None, None, None))
    try:
        import networkit as nk

        nk.engineering.setNumberOfThreads(1)
        t0 = time.perf_counter()
        G = nk.Graph(g.n_nodes, weighted=True, directed=True)
        G.addEdges((Tc.data, (Tc.row, Tc.col)))
        build = time.perf_counter() - t0

        def nk_run():
            algo = nk.distance.SPSP(G, run.tolist(), keep.tolist())
            algo.run()
            return np.array(algo.getDistances())

        t, got = best(nk_run, repeat)
        got = np.where((got <= LIMIT) & (got < 1e300), got, np.inf)
        rows.append((f"networkit {nk.__version__} SPSP, 1 fil", t, build, diff(got, ref)))
    except ImportError:
        rows.append(("networkit (non installé)", None, None, None))
    if not pandana_ok:
        rows.append(("pandana (non mesuré ici : --pandana-synthetic)", None, None, None))
        return rows
    try:
        import pandana
        import pandas as pd

        t0 = time.perf_counter()
        net = pandana.Network(
            pd.Series(g.lon),
            pd.Series(g.lat),
            pd.Series(Tc.row),
            pd.Series(Tc.col),
            pd.DataFrame({"s": Tc.data}),
            twoway=False,
        )
        build = time.perf_counter() - t0
        a = np.repeat(run, len(keep))
        b = np.tile(keep, len(run))
        t, got = best(
            lambda: np.asarray(net.shortest_path_lengths(a, b, imp_name="s"), dtype=float).reshape(len(run), len(keep)),
            repeat,
        )
        got = np.where((got <= LIMIT) & (got < 4e6), got, np.inf)
        rows.append((f"pandana {pandana.__version__} (hiérarchies de contraction)", t, build, diff(got, ref)))
    except ImportError:
        rows.append(("pandana (non installé)", None, None, None))
    return rows


def diff(a: np.ndarray, b: np.ndarray) -> float:
    both = np.isfinite(a) & np.isfinite(b)
    if (np.isfinite(a) != np.isfinite(b)).any():
        return float("inf")
    return float(np.abs(a[both] - b[both]).max()) if both.any() else 0.0


def show(title: str, rows: list) -> None:
    print(title, flush=True)
    base = rows[0][1]
    for name, t, extra, d in rows:
        if t is None:
            print(f"  {name}")
            continue
        ex = "" if extra is None else f" (+ préparation {extra:.2f} s, une fois)"
        print(f"  {name:50} {t:8.3f} s   scipy/lui x{base / t:5.2f}   écart max {d:.2g} s{ex}", flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, default=config.default_db_path())
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument(
        "--skeleton-sources",
        type=int,
        default=128,
        help="searches on the skeleton (a random sample of the offer nodes; 0: all 628)",
    )
    ap.add_argument("--synthetic-sources", type=int, default=16)
    ap.add_argument("--skip-synthetic", action="store_true")
    ap.add_argument(
        "--pandana-synthetic",
        action="store_true",
        help="also pandana on the 500k grid (its preprocessing takes minutes)",
    )
    args = ap.parse_args(argv)
    src = config.default_source_dir()
    cfg = traveltime.TravelTimeSettings(source_dir=src)
    con = db.connect(args.db, read_only=True)
    orig, dest = traveltime.read_origins(con), traveltime.read_destinations(con)
    con.close()
    load = open("/proc/loadavg").read().split()[:3]
    print(f"Charge de la machine au départ (loadavg) : {' '.join(load)}", flush=True)
    G = roads.load_road_graph(cfg.network_for("car"))
    for mode in ("car", "bike"):
        g = paths.GraphArrays.from_graph(G, mode, cfg.speeds())
        no, _ = g.snap(orig.lon.to_numpy(), orig.lat.to_numpy())
        nd, _ = g.snap(dest.lon.to_numpy(), dest.lat.to_numpy())
        run, keep = np.unique(nd), np.unique(no)
        if 0 < args.skeleton_sources < len(run):
            run = np.sort(np.random.default_rng(0).choice(run, args.skeleton_sources, replace=False))
        show(
            f"Squelette régional, {mode} : {len(run)} recherches x {len(keep)} noeuds d'origine, {g.n_nodes} noeuds",
            peers(g, run, keep, args.repeat),
        )
    if not args.skip_synthetic:
        sys.path.insert(0, str(ROOT / "bench"))
        from travel_times import synthetic_network

        lon, lat, u, v, length, cls = synthetic_network(500_000)
        sec = length / (np.choose(cls, [40.0, 80.0, 120.0]) / 3.6)
        g = paths.GraphArrays.from_edges(lon, lat, np.r_[u, v], np.r_[v, u], np.r_[sec, sec])
        rng = np.random.default_rng(1)
        run = np.unique(rng.integers(0, g.n_nodes, args.synthetic_sources))
        keep = np.unique(rng.integers(0, g.n_nodes, 2934))
        show(
            f"Grille SYNTHÉTIQUE de {g.n_nodes} noeuds, voiture : {len(run)} recherches x {len(keep)} noeuds",
            peers(g, run, keep, args.repeat, pandana_ok=args.pandana_synthetic),
        )
    print(f"Charge de la machine à la fin (loadavg) : {' '.join(open('/proc/loadavg').read().split()[:3])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
