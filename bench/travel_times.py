"""Benchmark of the travel-time engine (issue 3). Not a test: prints figures and ratios.

Usage::

    python bench/travel_times.py [--db PATH] [--naive-sample 60] [--synthetic-nodes 500000]
                                 [--skip-synthetic] [--skip-transit] [--json OUT]

1. Regional matrix on the mirror data: every commune centre and lycée -> every offer
   location, for each mode, with the default regional network (Travel Mapping skeleton) and the
   transit engine on the TER timetable. Origins and destinations come from the built database
   when it exists, else from the base build stages run in memory on the raw mirror files.
2. In the same run, on the same graph and the same origins, the naive loop most OSMnx users
   write: ``networkx.single_source_dijkstra_path_length`` per origin with the same cutoff, on a
   random sample of origins, extrapolated to all origins (said so in the output), as a ratio.
3. A SYNTHETIC road-like network of about 500,000 nodes (a jittered grid with road classes),
   each road mode in a child process so that its peak memory is its own, with (``--engine-sample``)
   the single-thread kernel against scipy on a sample of the searches.
4. With ``--regional``: the whole build at regional scale (``bench/regional.py``).

Per road mode, the kernel and scipy's ``csgraph.dijkstra`` run the same searches on ONE thread
each; the ratio (>= 1: kernel faster) is on CPU time of the calling thread, less sensitive than
wall time to a machine shared with other work.

Figures go to docs/performance.md by hand.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from analysis import config, traveltime  # noqa: E402
from analysis.network import paths, roads  # noqa: E402


def rss_mib() -> float:
    """Peak resident memory of this process so far (MiB).

    ``VmHWM`` from /proc (reset by exec, unlike ``ru_maxrss`` which a child inherits from the
    parent it was forked from); ``ru_maxrss`` elsewhere.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def say(msg: str) -> None:
    print(msg, flush=True)


# --------------------------------------------------------------------------- inputs


def load_points(db_path: Path | None, source_dir: Path):
    """Origins and destinations from the database, else from the base stages run in memory."""
    from analysis import db

    if db_path and Path(db_path).exists():
        con = db.connect(db_path, read_only=True)
        try:
            con.execute("SELECT 1 FROM offer_locations LIMIT 1")
            return traveltime.read_origins(con), traveltime.read_destinations(con), con, f"base {db_path}"
        except Exception:
            con.close()
    from analysis.build import BuildSettings, build_into
    from analysis.progress import silent

    con = db.connect()
    build_into(con, BuildSettings(source_dir=source_dir, db_path=Path(":memory:"), gtfs=[], travel_times=False), silent)
    return (
        traveltime.read_origins(con),
        traveltime.read_destinations(con),
        con,
        "fichiers bruts (étapes de base en mémoire)",
    )


# --------------------------------------------------------------------------- regional


def best_of(repeat: int, fn):
    """Best wall time of ``repeat`` calls of ``fn`` (the same for both sides of every ratio) and
    the last result."""
    best, result = np.inf, None
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def warm_up_kernel() -> None:
    """Compile the numba kernel (or load it from its on-disk cache) on a 2-node graph."""
    from scipy import sparse

    from analysis.network.dijkstra import bounded_dijkstra

    bounded_dijkstra(sparse.csr_matrix(([1.0], ([0], [1])), shape=(2, 2)), [0], [1])


def compare_engines(arrays, origin_nodes, dest_nodes, limit: float, repeat: int = 3) -> dict:
    """The same searches (from the distinct offer nodes, on the reversed graph, with the cutoff)
    by scipy's csgraph.dijkstra and by the bounded kernel, **one thread each**.

    Times are the best of ``repeat`` of the CPU time of the calling thread
    (``time.thread_time``), which other processes on a shared machine inflate far less than wall
    time; wall times of the same runs are kept too. The kernel runs on the graph laid out once
    by :meth:`analysis.network.paths.GraphArrays.kernel_graph` (layout time reported apart) with
    ``workers=1``; the 2-thread wall time is the build's setting.
    """
    from scipy.sparse import csgraph

    from analysis.network.dijkstra import bounded_dijkstra

    run, keep = np.unique(dest_nodes), np.unique(origin_nodes)
    t0 = time.perf_counter()
    arrays.__dict__.pop("_kernel_graphs", None)
    kg = arrays.kernel_graph(True)
    layout = time.perf_counter() - t0
    best = {
        "scipy_cpu": np.inf,
        "kernel_cpu": np.inf,
        "scipy_wall": np.inf,
        "kernel_wall": np.inf,
        "kernel_2threads_wall": np.inf,
    }
    for _ in range(repeat):
        c0, w0 = time.thread_time(), time.perf_counter()
        dense = csgraph.dijkstra(arrays.transposed, directed=True, indices=run, limit=limit)[:, keep]
        best["scipy_cpu"] = min(best["scipy_cpu"], time.thread_time() - c0)
        best["scipy_wall"] = min(best["scipy_wall"], time.perf_counter() - w0)
        c0, w0 = time.thread_time(), time.perf_counter()
        k, node, sec = bounded_dijkstra(kg, run, keep, limit=limit, workers=1)
        best["kernel_cpu"] = min(best["kernel_cpu"], time.thread_time() - c0)
        best["kernel_wall"] = min(best["kernel_wall"], time.perf_counter() - w0)
        w0 = time.perf_counter()
        bounded_dijkstra(kg, run, keep, limit=limit, workers=2)
        best["kernel_2threads_wall"] = min(best["kernel_2threads_wall"], time.perf_counter() - w0)
    pos = np.full(arrays.n_nodes, -1)
    pos[keep] = np.arange(len(keep))
    sparse_as_dense = np.full(dense.shape, np.inf)
    sparse_as_dense[k, pos[node]] = sec
    best["layout_s"] = layout
    best["same"] = bool(np.array_equal(sparse_as_dense, dense))
    best["ratio_1thread"] = best["scipy_cpu"] / best["kernel_cpu"]
    return best


def bench_road_mode(G, mode: str, cfg, orig, dest, sample, repeat: int) -> dict:
    """One road mode: the engine's matrix, the naive networkx loop, and both Dijkstra engines."""
    import networkx as nx

    t0 = time.perf_counter()
    arrays = paths.GraphArrays.from_graph(G, mode, cfg.speeds())
    _ = arrays.transposed  # part of the conversion: searches run from the offers on the reversed graph
    conv = time.perf_counter() - t0
    cap = traveltime.needs_direct_cap(arrays)  # as in the build
    fast, res = best_of(
        repeat,
        lambda: paths.door_to_door(
            arrays,
            orig,
            dest,
            access_kph=cfg.access_kph(mode),
            fallback_kph=cfg.fallback_kph(mode),
            detour=cfg.detour,
            max_snap_m=cfg.max_snap_m,
            max_minutes=cfg.max_minutes,
            direct_cap=cap,
        ),
    )
    n_pairs = int(np.isfinite(res.minutes).sum())

    # naive loop on the same graph (networkx), same snapped origins, same cutoff
    H = roads.mode_graph(G, mode, cfg.speeds())
    no, _ = arrays.snap(orig[sample, 0], orig[sample, 1])
    nd, _ = arrays.snap(dest[:, 0], dest[:, 1])
    dest_ids = arrays.node_ids[nd]

    def naive_loop():
        rows = []
        for s in arrays.node_ids[no]:
            reach = nx.single_source_dijkstra_path_length(H, s, cutoff=cfg.max_minutes * 60, weight="travel_time")
            rows.append([reach.get(d, np.inf) for d in dest_ids])
        return rows

    naive_sample, check = best_of(repeat, naive_loop)
    naive_all = naive_sample / len(sample) * len(orig)
    # same node-to-node seconds as the array engine (sanity)
    ref = arrays.node_times(no, nd, limit=cfg.max_minutes * 60)
    no_all, _ = arrays.snap(orig[:, 0], orig[:, 1])
    core, _ = best_of(repeat, lambda: arrays.node_pairs(no_all, nd, limit=cfg.max_minutes * 60))
    same = np.allclose(np.asarray(check), ref, rtol=1e-9, atol=1e-6, equal_nan=False)
    # the hand-written kernel against scipy's csgraph.dijkstra (dense rows), same searches
    eng = compare_engines(arrays, no_all, nd, cfg.max_minutes * 60, repeat=max(repeat, 3))
    scipy_s, kernel_s, same_engine = eng["scipy_cpu"], eng["kernel_cpu"], eng["same"]
    result = {
        "convert_s": conv,
        "matrix_s": fast,
        "pairs_le_90": n_pairs,
        "direct_cap": cap,
        "naive_sample_s": naive_sample,
        "naive_sample_n": len(sample),
        "naive_extrapolated_s": naive_all,
        "ratio": naive_all / fast,
        "node_times_s": core,
        "ratio_node_times": naive_all / core,
        "same_result": bool(same),
        "scipy_searches_s": scipy_s,
        "kernel_searches_s": kernel_s,
        "same_as_scipy": bool(same_engine),
        "engines": eng,
        "peak_rss_mib": rss_mib(),
    }
    say(
        f"  {mode:5} conversion {conv:5.2f} s | matrice {fast:6.3f} s, {n_pairs} couples <= 90 min | "
        f"boucle naïve networkx : {naive_sample:.2f} s pour {len(sample)} origines -> "
        f"{naive_all:.2f} s extrapolé à {len(orig)} -> x{naive_all / fast:.0f} (noeud à noeud seul "
        f"{core:.3f} s : x{naive_all / core:.0f}) | mêmes temps : {same} | "
        f"pic mémoire {rss_mib():.0f} Mio"
    )
    say(
        f"        recherches depuis les {len(np.unique(nd))} noeuds d'offres, UN fil chacun (temps CPU) : "
        f"scipy csgraph.dijkstra {scipy_s:.3f} s, noyau {kernel_s:.3f} s -> ratio {eng['ratio_1thread']:.2f} "
        f"(>= 1 : noyau plus rapide) | murales : scipy {eng['scipy_wall']:.3f} s, noyau 1 fil "
        f"{eng['kernel_wall']:.3f} s, 2 fils {eng['kernel_2threads_wall']:.3f} s | disposition du graphe "
        f"{eng['layout_s']:.2f} s (une fois) | mêmes temps : {same_engine}"
    )
    return result


def bench_region(args) -> dict:
    source_dir = config.default_source_dir()
    if source_dir is None:
        raise SystemExit("miroir ../shared/data absent")
    cfg = traveltime.TravelTimeSettings(source_dir=source_dir)
    t0 = time.perf_counter()
    origins, dests, con, where = load_points(args.db, source_dir)
    say(
        f"Points : {len(origins)} origines ({(origins.origin_kind == 'commune').sum()} communes, "
        f"{(origins.origin_kind == 'school').sum()} lycées) x {len(dests)} lieux d'offres — {where} "
        f"({time.perf_counter() - t0:.1f} s)"
    )
    out: dict = {"n_origins": len(origins), "n_destinations": len(dests), "modes": {}}

    t0 = time.perf_counter()
    G = roads.load_road_graph(cfg.network_for("car"))
    out["graph_load_s"] = time.perf_counter() - t0
    say(
        f"Graphe {G.graph['network_source']} : {len(G)} noeuds, {G.number_of_edges()} arcs, "
        f"chargé en {out['graph_load_s']:.1f} s (non compté ci-dessous)"
    )

    orig = origins[["lon", "lat"]].to_numpy(float)
    dest = dests[["lon", "lat"]].to_numpy(float)
    rng = np.random.default_rng(42)
    sample = rng.choice(len(orig), min(args.naive_sample, len(orig)), replace=False)
    total_fast = 0.0
    t0 = time.perf_counter()
    warm_up_kernel()
    out["kernel_load_s"] = time.perf_counter() - t0
    say(
        f"Noyau Dijkstra borné (numba) : compilé ou relu du cache en {out['kernel_load_s']:.1f} s "
        "(une fois par processus, non compté)"
    )
    for mode in roads.ROAD_MODES:
        out["modes"][mode] = bench_road_mode(G, mode, cfg, orig, dest, sample, args.repeat)
        total_fast += out["modes"][mode]["matrix_s"]

    road = out["modes"]
    if not args.skip_transit:
        try:
            total_fast += bench_transit(con, orig, dest, cfg, out)
        except Exception as exc:  # the transit engine is another module: report, don't die
            say(f"  transit : non mesuré ({type(exc).__name__}: {exc})")
    road = out["modes"]
    naive_tot = sum(road[m]["naive_extrapolated_s"] for m in roads.ROAD_MODES)
    fast_tot = sum(road[m]["matrix_s"] for m in roads.ROAD_MODES)
    say(
        f"Modes routiers : matrices {fast_tot:.1f} s contre {naive_tot:.0f} s pour la boucle naïve "
        f"(extrapolée) : x{naive_tot / fast_tot:.0f}"
    )
    out["road_ratio"] = naive_tot / fast_tot
    out["all_modes_s"] = total_fast
    say(f"Tous modes (après construction des graphes) : {total_fast:.1f} s ; pic mémoire {rss_mib():.0f} Mio")
    return out


def bench_transit(con, orig, dest, cfg, out) -> float:
    from analysis import gtfs, transit

    has = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'transit_stop_times'"
    ).fetchone()[0]
    if not has:
        from analysis import db
        from analysis.build import default_gtfs

        feeds = default_gtfs(Path(cfg.source_dir))
        if not feeds:
            say("  transit : aucun GTFS")
            return 0.0
        con = db.connect()
        t0 = time.perf_counter()
        for feed in feeds:
            gtfs.load_into(con, feed, feed_id=None, progress=None)
        say(f"  transit : GTFS chargé en mémoire en {time.perf_counter() - t0:.1f} s (non compté)")
    t0 = time.perf_counter()
    net = transit.TransitNetwork.from_duckdb(con, service_date=cfg.service_date)
    build = time.perf_counter() - t0
    t0 = time.perf_counter()
    m = transit.transit_matrix(
        net, orig, dest, depart_from=cfg.depart_from, depart_to=cfg.depart_to, arrive_by=cfg.arrive_by
    )
    fast = time.perf_counter() - t0
    n_pairs = int((m <= cfg.max_minutes).sum())
    out["modes"]["transit"] = {
        "network_s": build,
        "matrix_s": fast,
        "pairs_le_90": n_pairs,
        "service_date": str(net.service_date),
        "peak_rss_mib": rss_mib(),
    }
    say(
        f"  transit réseau {net.service_date} ({build:.1f} s, non compté) | matrice {fast:6.2f} s, "
        f"{n_pairs} couples <= 90 min | pic mémoire {rss_mib():.0f} Mio"
    )
    return fast


# --------------------------------------------------------------------------- synthetic


def synthetic_network(n_nodes: int, seed: int = 0):
    """SYNTHETIC road-like network: a jittered square grid over ~Normandie's extent.

    About 8 % of links are removed at random; every 25th row/column is a 'primary' road
    (80 km/h), every 150th a 'motorway' (120 km/h, closed to walking and cycling), the rest
    'residential' (40 km/h). Edge length = geodesic chord x 1.1.

    Returns
    -------
    lon, lat, u, v, length_m, highway_class (0 residential, 1 primary, 2 motorway)
    """
    rng = np.random.default_rng(seed)
    side = int(round(np.sqrt(n_nodes)))
    spacing_deg_lat = 0.0025  # ~280 m
    lat0, lon0 = 48.3, -1.9
    ii, jj = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    lat = lat0 + ii.ravel() * spacing_deg_lat + rng.normal(0, spacing_deg_lat * 0.15, side * side)
    lon = lon0 + jj.ravel() * spacing_deg_lat * 1.5 + rng.normal(0, spacing_deg_lat * 0.2, side * side)
    idx = np.arange(side * side).reshape(side, side)
    u = np.r_[idx[:, :-1].ravel(), idx[:-1, :].ravel()]
    v = np.r_[idx[:, 1:].ravel(), idx[1:, :].ravel()]
    line = np.r_[np.repeat(np.arange(side), side - 1), np.tile(np.arange(side), side - 1)]
    cls = np.where(line % 150 == 0, 2, np.where(line % 25 == 0, 1, 0))
    keep = (rng.random(len(u)) > 0.08) | (cls > 0)
    u, v, cls = u[keep], v[keep], cls[keep]
    length = paths.haversine_m(lon[u], lat[u], lon[v], lat[v]) * 1.1
    return lon, lat, u, v, length, cls


def synthetic_child(mode: str, n_nodes: int, n_origins: int, n_dest: int, engine_sample: int = 0) -> dict:
    t0 = time.perf_counter()
    lon, lat, u, v, length, cls = synthetic_network(n_nodes)
    if mode == "car":
        speed = np.choose(cls, [40.0, 80.0, 120.0])
        keep = np.ones(len(u), dtype=bool)
    else:
        speed = np.full(len(u), roads.WALK_KPH if mode == "walk" else roads.BIKE_KPH)
        keep = cls < 2
    sec = length[keep] / (speed[keep] / 3.6)
    uu, vv = u[keep], v[keep]
    g = paths.GraphArrays.from_edges(lon, lat, np.r_[uu, vv], np.r_[vv, uu], np.r_[sec, sec])
    _ = g.transposed
    build = time.perf_counter() - t0
    warm_up_kernel()  # compiled or read from the cache, not counted
    rng = np.random.default_rng(1)
    box = (lon.min(), lat.min(), lon.max(), lat.max())
    orig = np.column_stack([rng.uniform(box[0], box[2], n_origins), rng.uniform(box[1], box[3], n_origins)])
    dest = np.column_stack([rng.uniform(box[0], box[2], n_dest), rng.uniform(box[1], box[3], n_dest)])
    access = {"walk": roads.WALK_KPH, "bike": roads.BIKE_KPH, "car": roads.CAR_ACCESS_KPH}[mode]
    t0 = time.perf_counter()
    res = paths.door_to_door(g, orig, dest, access_kph=access, max_minutes=90)
    fast = time.perf_counter() - t0
    out = {
        "mode": mode,
        "nodes": g.n_nodes,
        "edges": int(g.matrix.nnz),
        "build_s": build,
        "matrix_s": fast,
        "pairs_le_90": int(np.isfinite(res.minutes).sum()),
        "peak_rss_mib": rss_mib(),
    }
    if engine_sample:  # one thread each, on a sample of the searches (scipy's dense rows are slow here)
        no, _ = g.snap(orig[:, 0], orig[:, 1])
        nd, _ = g.snap(dest[:engine_sample, 0], dest[:engine_sample, 1])
        out["engines"] = compare_engines(g, no, nd, 90 * 60.0, repeat=2)
        out["engine_sample"] = int(len(np.unique(nd)))
    return out


def bench_synthetic(args) -> dict:
    out = {}
    say(
        f"Réseau SYNTHÉTIQUE ~{args.synthetic_nodes} noeuds (grille routière simulée), "
        f"{args.synthetic_origins} origines x {args.synthetic_dest} destinations, un processus par mode :"
    )
    for mode in roads.ROAD_MODES:
        cmd = [
            sys.executable,
            __file__,
            "--synthetic-child",
            mode,
            "--synthetic-nodes",
            str(args.synthetic_nodes),
            "--synthetic-origins",
            str(args.synthetic_origins),
            "--synthetic-dest",
            str(args.synthetic_dest),
            "--engine-sample",
            str(args.engine_sample),
        ]
        r = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
        out[mode] = r
        say(
            f"  {mode:5} {r['nodes']} noeuds, {r['edges']} arcs | construction {r['build_s']:.1f} s | "
            f"matrice {r['matrix_s']:.1f} s | {r['pairs_le_90']} couples <= 90 min | pic mémoire {r['peak_rss_mib']:.0f} Mio"
        )
        if "engines" in r:
            e = r["engines"]
            say(
                f"        {r['engine_sample']} recherches, UN fil chacun (temps CPU) : scipy {e['scipy_cpu']:.2f} s, "
                f"noyau {e['kernel_cpu']:.2f} s -> ratio {e['ratio_1thread']:.2f} (>= 1 : noyau plus rapide) | "
                f"mêmes temps : {e['same']}"
            )
    return out


def bench_pbf_reader(side: int) -> dict:
    """Time :func:`analysis.network.roads.graph_from_osm_pbf` on a SYNTHETIC OSM PBF street grid.

    ``side`` x ``side`` nodes ~280 m apart; every row and column is a street cut into ways of 10
    segments (OSM-like), every 10th column a 'secondary' road, the rest 'residential'.
    """
    import tempfile

    import osmium

    with tempfile.TemporaryDirectory(prefix="bench-pbf-") as tmp:
        path = Path(tmp) / "synthetic_grid.osm.pbf"
        n_ways = 0
        with osmium.SimpleWriter(str(path)) as w:
            lat0, lon0, d = 48.5, -1.5, 0.0025
            for i in range(side):
                for j in range(side):
                    w.add_node(
                        osmium.osm.mutable.Node(
                            id=i * side + j + 1, location=osmium.osm.Location(lon0 + j * d * 1.5, lat0 + i * d)
                        )
                    )
            for horizontal in (True, False):
                for a in range(side):
                    for b0 in range(0, side - 1, 10):
                        ids = [
                            (a * side + b + 1) if horizontal else (b * side + a + 1)
                            for b in range(b0, min(b0 + 11, side))
                        ]
                        hwy = "secondary" if (not horizontal and a % 10 == 0) else "residential"
                        n_ways += 1
                        w.add_way(osmium.osm.mutable.Way(id=n_ways, nodes=ids, tags={"highway": hwy}))
        t0 = time.perf_counter()
        G = roads.load_road_graph(path)
        secs = time.perf_counter() - t0
    r = {
        "osm_nodes": side * side,
        "ways": n_ways,
        "graph_nodes": len(G),
        "graph_edges": G.number_of_edges(),
        "read_s": secs,
        "peak_rss_mib": rss_mib(),
    }
    say(
        f"Lecture PBF SYNTHÉTIQUE ({side}x{side} noeuds, {n_ways} voies) : {secs:.1f} s -> {len(G)} noeuds, "
        f"{G.number_of_edges()} arcs ; pic mémoire {rss_mib():.0f} Mio"
    )
    return r


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, default=config.default_db_path())
    ap.add_argument("--naive-sample", type=int, default=60)
    ap.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="each timing is the best of this many runs, for the engine and the naive loop alike",
    )
    ap.add_argument("--synthetic-nodes", type=int, default=500_000)
    ap.add_argument("--synthetic-origins", type=int, default=2934)
    ap.add_argument("--synthetic-dest", type=int, default=632)
    ap.add_argument(
        "--engine-sample",
        type=int,
        default=40,
        help="synthetic network: searches compared one thread each against scipy (0: no)",
    )
    ap.add_argument("--skip-synthetic", action="store_true")
    ap.add_argument("--skip-transit", action="store_true")
    ap.add_argument("--skip-region", action="store_true")
    ap.add_argument(
        "--pbf-side",
        type=int,
        default=0,
        help="also time the PBF reader on a synthetic side x side street grid (0: no)",
    )
    ap.add_argument(
        "--regional",
        action="store_true",
        help="also the whole build at regional scale (bench/regional.py: 2.5 M SYNTHETIC nodes, "
        "SYNTHETIC bus feed of 25,000 stops and 5 M stop times), time and peak memory",
    )
    ap.add_argument(
        "--regional-car-sample",
        type=int,
        default=0,
        help="with --regional: car matrix on this many offer locations, extrapolated (0: all)",
    )
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--synthetic-child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.synthetic_child:
        print(
            json.dumps(
                synthetic_child(
                    args.synthetic_child,
                    args.synthetic_nodes,
                    args.synthetic_origins,
                    args.synthetic_dest,
                    args.engine_sample,
                )
            )
        )
        return 0
    say(f"Machine : {platform.processor() or platform.machine()}, Python {platform.python_version()}")
    result = {}
    if not args.skip_region:
        result["region"] = bench_region(args)
    if not args.skip_synthetic:
        result["synthetic"] = bench_synthetic(args)
    if args.pbf_side:
        result["pbf_reader"] = bench_pbf_reader(args.pbf_side)
    if args.regional:
        sys.path.insert(0, str(ROOT / "bench"))
        import regional

        result["regional"] = regional.run(
            argparse.Namespace(
                nodes=2_500_000, stops=25_000, stop_times=5_000_000, db=args.db, car_sample=args.regional_car_sample
            )
        )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
