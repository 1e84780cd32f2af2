"""Benchmark: the whole travel-time and indicator build at the size of the real region (issue 15).

Usage::

    .venv/bin/python bench/regional.py [--nodes 2500000] [--stops 25000] [--stop-times 5000000]
                                       [--pbf-nodes 2500000] [--db data/observatoire.duckdb] [--json OUT]

Everything network-like here is SYNTHETIC, generated at run time (nothing is committed):

- a road network of ``--nodes`` nodes (default 2.5 M, the order of a simplified OSM walk + car
  network of Normandie) over the region's bounding box: a jittered grid ~150 m apart, road
  classes residential 40 / primary 80 / motorway 120 km/h (motorways closed to walking and
  cycling), 8 % of local links removed;
- a bus feed of ``--stops`` stops (default 25,000) and ``--stop-times`` stop times (default
  5 M, all running on the bench's service date: the worst case): 1,000 routes across the
  region, each a line of 25 stops, 200 trips a day from 05:00 to 22:00 at 25 km/h + 30 s dwell.

The points are the real ones of the built database (2,934 commune centres and lycées, the offer
locations) and so are the indicator stage's inputs (communes, EPCI, lycées, offers, headcounts):
the build writes ``travel_times`` into an in-memory copy of the base tables and runs
:func:`analysis.access.build_tables` on it, as ``analysis.build`` does.

With ``--pbf-nodes N`` the road network is instead a SYNTHETIC OSM street grid of about N
intersections written to a ``.osm.pbf`` file beforehand (``bench/osm_reader.py``, not counted)
and read in stage 1 by :mod:`analysis.network.roads_pbf`, as the build reads a real regional extract.

Stages timed, in one child process whose peak memory (``VmHWM``) is the figure reported:

1. graph arrays for walk, bike and car from the edge list (``GraphArrays.from_edges``), or read
   from the PBF file with ``--pbf-nodes``, and the kernel's spatial layout for walk and bike;
2. the car matrix of a **first build on a new network** (hierarchy not in the cache): what
   ``contraction.attach`` does on a cache miss, the one-to-all kernel on both cores (its layout
   included; ``--car-sample`` N: on N offer locations, time extrapolated, said so) and writing
   the graph for the background worker (``analysis.network.contraction_background``);
3. what that detached worker then does once per network, timed apart (not part of any build):
   building the car's contraction hierarchy and saving it in an empty cache directory; then
   reading it back (every later build);
4. the walk, bike and car matrices (``analysis.network.paths.door_to_door`` through
   ``TravelTimeMatrix.for_road``, as the build calls it; the car on the cached hierarchy);
5. the transit network from the connection arrays and its matrix (``analysis.transit``);
6. writing ``travel_times`` and the indicator tables.

It prints the build's wall and CPU seconds with the hierarchy in the cache and on a first
build (car on the kernel), the background hierarchy's cost, the car kernel/hierarchy CPU ratio,
whether their pairs have identical minutes, the load average and the peak memory. Target
(issue 15): < 3 min and < 6 GiB on 2 cores.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from analysis import config  # noqa: E402
from analysis.network import paths, roads  # noqa: E402

#: Normandie's bounding box (lon_min, lat_min, lon_max, lat_max), WGS84.
BBOX = (-1.97, 48.17, 1.81, 50.08)
SERVICE_DATE = dt.date(2025, 4, 22)


def peak_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def synthetic_roads(n_nodes: int, seed: int = 0):
    """SYNTHETIC road grid over the region: lon, lat, u, v, length (m), class (0/1/2)."""
    rng = np.random.default_rng(seed)
    aspect = (BBOX[2] - BBOX[0]) * np.cos(np.radians(49.1)) / (BBOX[3] - BBOX[1])
    rows = int(round(np.sqrt(n_nodes / aspect)))
    cols = int(round(n_nodes / rows))
    dlat = (BBOX[3] - BBOX[1]) / (rows - 1)
    dlon = (BBOX[2] - BBOX[0]) / (cols - 1)
    ii, jj = np.divmod(np.arange(rows * cols, dtype=np.int64), cols)
    lat = BBOX[1] + ii * dlat + rng.normal(0, dlat * 0.15, rows * cols)
    lon = BBOX[0] + jj * dlon + rng.normal(0, dlon * 0.15, rows * cols)
    idx = np.arange(rows * cols, dtype=np.int64).reshape(rows, cols)
    u = np.r_[idx[:, :-1].ravel(), idx[:-1, :].ravel()]
    v = np.r_[idx[:, 1:].ravel(), idx[1:, :].ravel()]
    line = np.r_[np.repeat(np.arange(rows), cols - 1), np.tile(np.arange(cols), rows - 1)]
    cls = np.where(line % 300 == 0, 2, np.where(line % 40 == 0, 1, 0)).astype(np.int8)
    keep = (rng.random(len(u)) > 0.08) | (cls > 0)
    u, v, cls = u[keep], v[keep], cls[keep]
    length = paths.haversine_m(lon[u], lat[u], lon[v], lat[v]) * 1.1
    return lon, lat, u, v, length, cls


def synthetic_bus_network(n_stops: int, n_stop_times: int, seed: int = 1):
    """A SYNTHETIC bus network as :class:`analysis.transit.TransitNetwork` (all trips run)."""
    from scipy.spatial import cKDTree

    from analysis.transit import TransitNetwork

    rng = np.random.default_rng(seed)
    stops = np.column_stack([rng.uniform(BBOX[0], BBOX[2], n_stops), rng.uniform(BBOX[1], BBOX[3], n_stops)])
    per_route, trips_per_route = 25, 200
    n_routes = max(1, n_stop_times // (per_route * trips_per_route))
    tree = cKDTree(stops * [np.cos(np.radians(49.1)), 1.0])
    a = stops[rng.integers(0, n_stops, n_routes)]
    b = a + rng.normal(0, 0.25, (n_routes, 2))  # lines of ~20-40 km
    t = np.linspace(0, 1, per_route)
    pts = a[:, None, :] + (b - a)[:, None, :] * t[None, :, None]  # (routes, 25, 2)
    _, seq = tree.query((pts * [np.cos(np.radians(49.1)), 1.0]).reshape(-1, 2))
    seq = seq.reshape(n_routes, per_route)
    hop_m = paths.haversine_m(stops[seq[:, :-1], 0], stops[seq[:, :-1], 1], stops[seq[:, 1:], 0], stops[seq[:, 1:], 1])
    hop_s = (hop_m * 1.3 / (25 / 3.6) + 30).astype(np.int32)  # (routes, 24)
    starts = rng.integers(5 * 3600, 22 * 3600, (n_routes, trips_per_route)).astype(np.int32)
    offs = np.concatenate([np.zeros((n_routes, 1), np.int32), np.cumsum(hop_s, axis=1)], axis=1)  # (routes, 25)
    times = starts[:, :, None] + offs[:, None, :]  # (routes, trips, 25)
    dep_time = times[:, :, :-1].ravel()
    arr_time = (times[:, :, 1:] - 0).ravel()
    dep_stop = np.broadcast_to(seq[:, None, :-1], times[:, :, :-1].shape).ravel().astype(np.int32)
    arr_stop = np.broadcast_to(seq[:, None, 1:], times[:, :, 1:].shape).ravel().astype(np.int32)
    trip = np.broadcast_to(
        np.arange(n_routes * trips_per_route, dtype=np.int32).reshape(n_routes, trips_per_route)[:, :, None],
        times[:, :, :-1].shape,
    ).ravel()
    real = dep_stop != arr_stop  # two line points may snap to the same stop
    order = np.argsort(dep_time[real], kind="stable")
    sel = np.flatnonzero(real)[order]
    n_trips = n_routes * trips_per_route
    net = TransitNetwork(
        service_date=SERVICE_DATE,
        stop_ids=np.array([f"S{i}" for i in range(n_stops)]),
        stop_names=np.array([f"Arrêt synthétique {i}" for i in range(n_stops)]),
        stop_lonlat=stops,
        dep_stop=dep_stop[sel],
        arr_stop=arr_stop[sel],
        dep_time=dep_time[sel].astype(np.int32),
        arr_time=arr_time[sel].astype(np.int32),
        trip=trip[sel],
        can_board=np.ones(len(sel), bool),
        can_alight=np.ones(len(sel), bool),
        trip_ids=np.array([f"T{i}" for i in range(n_trips)]),
        trip_route=np.array([f"R{i // trips_per_route}" for i in range(n_trips)]),
        trip_headsign=np.array(["synthétique"] * n_trips),
        feeds=["SYNTHETIQUE"],
    )
    return net, n_routes * trips_per_route * per_route


def base_tables(db_path: Path):
    """In-memory database with the base tables of the built database (no travel times)."""
    from analysis import db

    con = db.connect()
    con.execute(f"ATTACH '{db_path}' AS src (READ_ONLY)")
    keep = (
        "communes",
        "epci",
        "departements",
        "schools",
        "offers",
        "offer_locations",
        "commune_postcodes",
        "commune_names",
    )
    have = {
        r[0]
        for r in con.execute("SELECT table_name FROM information_schema.tables WHERE table_catalog = 'src'").fetchall()
    }
    for t in keep:
        if t in have:
            con.execute(f"CREATE TABLE {t} AS SELECT * FROM src.{t}")
    con.execute("DETACH src")
    return con


def car_first_build(arrays, origins, dests, cfg, args) -> dict:
    """The car matrix of a first build on a new network (hierarchy not in the cache): what
    ``contraction.attach`` does on a miss, i.e. the one-to-all kernel on both cores (its layout
    included) plus writing the graph for the background worker (``--car-sample``: on that many
    offer locations, time extrapolated, said so)."""
    from analysis import traveltime
    from analysis.network import contraction, contraction_jobs

    part = dests if not args.car_sample else dests.sample(min(args.car_sample, len(dests)), random_state=0)
    part = part.sort_values("loc_id")
    arrays.meta["hierarchy"] = None  # the kernel, as attach() leaves it on a cache miss
    t0, c0 = time.perf_counter(), time.process_time()
    arrays.kernel_graph(True)
    layout = (time.perf_counter() - t0, time.process_time() - c0)
    t0, c0 = time.perf_counter(), time.process_time()
    m = traveltime.TravelTimeMatrix.for_road(arrays, "car", origins, part, cfg)
    scale = len(dests) / len(part)
    out = {
        "seconds": (time.perf_counter() - t0) * scale + layout[0],
        "cpu_s": (time.process_time() - c0) * scale + layout[1],
        "layout_s": layout[0],
        "layout_cpu_s": layout[1],
        "sample": len(part),
        "matrix": m,
    }
    t0, c0 = time.perf_counter(), time.process_time()
    key = contraction.graph_key(arrays.matrix)
    out["matrix_file"] = str(contraction_jobs.schedule(arrays.matrix, Path(args.cache), key, spawn=False))
    out["schedule_s"], out["schedule_cpu_s"] = time.perf_counter() - t0, time.process_time() - c0
    out["seconds"] += out["schedule_s"]
    out["cpu_s"] += out["schedule_cpu_s"]
    arrays.meta.pop("hierarchy")
    arrays.__dict__.pop("_kernel_graphs", None)  # free the layout
    print(f"  voiture, noyau (premier calcul) {out['seconds']:6.1f} s", file=sys.stderr, flush=True)
    return out


def car_hierarchy(arrays, args, matrix_file: str) -> dict:
    """What the background worker does after a first build (build and save the hierarchy),
    then what every later build does: read it from the cache and attach it to ``arrays``."""
    from analysis.network import contraction, contraction_background

    contraction.Hierarchy.build(arrays.matrix[:50, :50])  # compile or read numba's cache: not counted
    out: dict = {}
    t0, c0 = time.perf_counter(), time.process_time()
    saved = contraction_background.build_from_file(Path(matrix_file))
    out.update(build_s=time.perf_counter() - t0, build_cpu_s=time.process_time() - c0)
    t0, c0 = time.perf_counter(), time.process_time()
    h, hit = contraction.cached_hierarchy(arrays.matrix, Path(args.cache))
    out.update(load_s=time.perf_counter() - t0, load_cpu_s=time.process_time() - c0, warm_hit=hit)
    assert saved is not None and hit, "the worker's hierarchy was not found in the cache"
    arrays.meta["hierarchy"] = h
    out.update(core=h.n_core, edges=h.n_edges)
    print(
        f"  hiérarchie {out['build_s']:6.1f} s (arrière-plan), {out['load_s']:.1f} s (cache)",
        file=sys.stderr,
        flush=True,
    )
    return out


def same_minutes(full, sample) -> dict:
    """Compare the hierarchy's car matrix with the kernel's on the sampled locations (stored
    ``REAL`` minutes, estimate flags)."""
    cols = full.destinations.reset_index(drop=True).reset_index().set_index("loc_id")["index"]
    j = cols.loc[sample.destinations["loc_id"]].to_numpy()
    a, b = full.minutes[:, j].astype(np.float32), sample.minutes.astype(np.float32)
    fin = np.isfinite(b)
    return {
        "compared_pairs": int(fin.sum()),
        "identical": bool(np.array_equal(a, b) and np.array_equal(full.is_estimate[:, j], sample.is_estimate)),
        "max_abs_diff_min": float(np.abs(full.minutes[:, j][fin] - sample.minutes[fin]).max()) if fin.any() else 0.0,
    }


def graphs_from_pbf(pbf: Path, cfg) -> dict:
    """The three road modes' arrays of an OSM PBF file, as the build reads one
    (:mod:`analysis.network.roads_pbf`: read once, converted per mode; kernel layout for walk and bike)."""
    from analysis.network import roads_pbf

    net = roads_pbf.read_network(pbf)
    graphs = {}
    for mode in roads.ROAD_MODES:
        g = net.mode_arrays(mode, cfg.speeds())
        if mode != "car":  # the car searches run on the contraction hierarchy (stage 2)
            g.kernel_graph(True)
        graphs[mode] = g
    return graphs


def child(args) -> dict:
    from analysis import access, traveltime

    out: dict = {}
    con = base_tables(args.db)
    origins = traveltime.read_origins(con)
    dests = traveltime.read_destinations(con)
    cfg = traveltime.TravelTimeSettings(source_dir=None)
    if args.pbf:
        out["generate_roads_s"] = 0.0  # the file was written by the parent: not counted
        t0, c0 = time.perf_counter(), time.process_time()
        graphs = graphs_from_pbf(Path(args.pbf), cfg)
        lon = graphs["car"].lon
    else:
        t0 = time.perf_counter()
        lon, lat, u, v, length, cls = synthetic_roads(args.nodes)
        out["generate_roads_s"] = time.perf_counter() - t0  # generation: not part of the build
        graphs = {}
        t0, c0 = time.perf_counter(), time.process_time()
        for mode in roads.ROAD_MODES:
            if mode == "car":
                speed, keep = np.choose(cls, [40.0, 80.0, 120.0]), np.ones(len(u), bool)
            else:
                speed = np.full(len(u), cfg.walk_kph if mode == "walk" else cfg.bike_kph)
                keep = cls < 2
            sec = length[keep] / (speed[keep] / 3.6)
            uu, vv = u[keep], v[keep]
            g = paths.GraphArrays.from_edges(
                lon,
                lat,
                np.r_[uu, vv],
                np.r_[vv, uu],
                np.r_[sec, sec],
                mode=mode,
                source="SYNTHETIQUE",
                precision="rues (synthétique)",
            )
            if mode != "car":  # the car searches run on the contraction hierarchy (stage 2)
                g.kernel_graph(True)
            graphs[mode] = g
        del u, v, length, cls
    out["graphs_s"] = time.perf_counter() - t0
    out["graphs_cpu_s"] = time.process_time() - c0
    out["nodes"] = int(len(lon))
    out["n_destinations"] = int(len(dests))
    out["edges"] = {m: int(g.matrix.nnz) for m, g in graphs.items()}
    from scipy import sparse

    from analysis.network.dijkstra import bounded_dijkstra  # compile or read the numba cache: not counted

    bounded_dijkstra(sparse.csr_matrix(([1.0], ([0], [1])), shape=(2, 2)), [0], [1])
    con.execute(traveltime.TRAVEL_TIMES_DDL)
    out["car_before"] = car_first_build(graphs["car"], origins, dests, cfg, args)
    out["hierarchy"] = car_hierarchy(graphs["car"], args, out["car_before"]["matrix_file"])
    out["modes"] = {}
    for mode in roads.ROAD_MODES:
        t0, c0 = time.perf_counter(), time.process_time()
        m = traveltime.TravelTimeMatrix.for_road(graphs[mode], mode, origins, dests, cfg)
        n = m.write(con)
        out["modes"][mode] = {
            "seconds": time.perf_counter() - t0,
            "pairs": n,
            "cpu_s": time.process_time() - c0,
            "sample": len(dests),
        }
        if mode == "car":  # same pairs, same minutes as the kernel on the sampled locations?
            out["car_before"].update(same_minutes(m, out["car_before"].pop("matrix")))
        print(f"  {mode:7} {out['modes'][mode]['seconds']:6.1f} s, {n} couples", file=sys.stderr, flush=True)
    graphs.clear()
    t0 = time.perf_counter()
    net, n_stop_times = synthetic_bus_network(args.stops, args.stop_times)
    out["generate_bus_s"] = time.perf_counter() - t0
    out["bus"] = {"stops": args.stops, "stop_times": int(n_stop_times), "connections": int(net.n_connections)}
    t0, c0 = time.perf_counter(), time.process_time()
    tm = traveltime.TravelTimeMatrix.for_transit(net, origins, dests, cfg)
    n = tm.write(con)
    out["modes"]["transit"] = {
        "seconds": time.perf_counter() - t0,
        "pairs": n,
        "cpu_s": time.process_time() - c0,
        "sample": len(dests),
    }
    print(f"  transit {out['modes']['transit']['seconds']:6.1f} s, {n} couples", file=sys.stderr, flush=True)
    del net
    t0, c0 = time.perf_counter(), time.process_time()
    access.build_tables(con, {"service_date": SERVICE_DATE})
    out["indicators_s"] = time.perf_counter() - t0
    out["indicators_cpu_s"] = time.process_time() - c0
    out["build_s"] = out["graphs_s"] + sum(m["seconds"] for m in out["modes"].values()) + out["indicators_s"]
    out["build_cpu_s"] = out["graphs_cpu_s"] + sum(m["cpu_s"] for m in out["modes"].values()) + out["indicators_cpu_s"]
    h, before = out["hierarchy"], out["car_before"]
    out["build_s"] += h["load_s"]  # every build after the first on a network: hierarchy in the cache
    out["build_cpu_s"] += h["load_cpu_s"]
    car = out["modes"]["car"]  # first build: the kernel instead of the cached hierarchy
    out["build_cold_s"] = out["build_s"] - h["load_s"] - car["seconds"] + before["seconds"]
    out["build_cold_cpu_s"] = out["build_cpu_s"] - h["load_cpu_s"] - car["cpu_s"] + before["cpu_s"]
    out["peak_mib"] = peak_mib()
    out["loadavg"] = Path("/proc/loadavg").read_text().split()[:3]
    return out


def run(args) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--child",
        "--nodes",
        str(args.nodes),
        "--stops",
        str(args.stops),
        "--stop-times",
        str(args.stop_times),
        "--db",
        str(args.db),
        "--car-sample",
        str(args.car_sample),
    ]
    with tempfile.TemporaryDirectory(prefix="regional-ch-") as cache:  # an empty hierarchy cache
        pbf_note = ""
        if args.pbf_nodes:  # the road network read from a SYNTHETIC OSM PBF file, as a real extract would be
            import osm_reader

            pbf = Path(cache) / "synthetic_region.osm.pbf"
            t0 = time.perf_counter()
            counts = osm_reader.write_synthetic_pbf(pbf, args.pbf_nodes)
            pbf_note = (
                f" lu d'un fichier OSM PBF SYNTHÉTIQUE ({counts['intersections']:_} intersections ; "
                f"{pbf.stat().st_size / 2**20:.0f} Mio ; écrit en {time.perf_counter() - t0:.0f} s ; non compté)"
            ).replace("_", " ")
            cmd += ["--pbf", str(pbf)]
        t0 = time.perf_counter()
        proc = subprocess.run([*cmd, "--cache", cache], check=True, stdout=subprocess.PIPE, text=True)
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    r["child_wall_s"] = time.perf_counter() - t0
    r["pbf_nodes"] = args.pbf_nodes
    say = print
    say(
        f"Construction à l'échelle régionale, réseau SYNTHÉTIQUE de {r['nodes']:,} noeuds{pbf_note} "
        f"(arcs : {', '.join(f'{m} {e:,}' for m, e in r['edges'].items())}) et réseau de bus SYNTHÉTIQUE "
        f"({r['bus']['stops']:,} arrêts, {r['bus']['stop_times']:,} horaires, {r['bus']['connections']:,} connexions) :".replace(
            ",", " "
        )
    )
    h, before = r["hierarchy"], r["car_before"]
    say("  étape                                       murale      CPU (les 2 coeurs)")
    say(f"  graphes (tableaux + disposition, 3 modes)   {r['graphs_s']:7.1f} s  {r['graphs_cpu_s']:7.1f} s")
    say(
        f"  hiérarchie voiture, lue du cache            {h['load_s']:7.1f} s  {h['load_cpu_s']:7.1f} s"
        f"   ({h['core']:,} noeuds au coeur, {h['edges']:,} arcs)".replace(",", " ")
    )
    for mode, m in r["modes"].items():
        say(
            f"  matrice {mode:8}                          {m['seconds']:7.1f} s  {m['cpu_s']:7.1f} s"
            f"   {m['pairs']:>9} couples"
        )
    say(f"  indicateurs (access.build_tables)           {r['indicators_s']:7.1f} s  {r['indicators_cpu_s']:7.1f} s")
    car = r["modes"]["car"]
    sampled = "" if before["sample"] == r["n_destinations"] else f", EXTRAPOLÉ de {before['sample']} lieux"
    say(
        f"  TOTAL construction (hiérarchie en cache)    {r['build_s']:7.1f} s  {r['build_cpu_s']:7.1f} s"
        "   (cible < 180 s murales sur 2 coeurs)"
    )
    say(
        f"  TOTAL premier calcul sur un nouveau réseau  {r['build_cold_s']:7.1f} s  {r['build_cold_cpu_s']:7.1f} s"
        f"   (voiture au noyau : {before['seconds']:.1f} s, {before['cpu_s']:.1f} s CPU{sampled},"
        f" dont disposition {before['layout_cpu_s']:.1f} s et graphe écrit pour l'arrière-plan"
        f" {before['schedule_cpu_s']:.1f} s CPU)"
    )
    say(
        f"  hiérarchie construite en arrière-plan       {h['build_s']:7.1f} s  {h['build_cpu_s']:7.1f} s"
        "   (processus détaché, une fois par réseau, hors construction)"
    )
    say(
        f"  voiture : noyau {before['cpu_s']:.1f} s CPU, hiérarchie en cache {car['cpu_s']:.1f} s CPU,"
        f" rapport x{before['cpu_s'] / max(car['cpu_s'], 1e-9):.1f} ; minutes identiques sur"
        f" {before['compared_pairs']} couples : {before['identical']} (écart max {before['max_abs_diff_min']:.2g} min)"
    )
    say(f"  charge de la machine en fin de mesure (loadavg 1/5/15 min) : {' '.join(r['loadavg'])}")
    say(f"  pic mémoire du processus                    {r['peak_mib'] / 1024:7.2f} Gio (cible < 6 Gio)")
    say(
        f"  (génération des données synthétiques, non comptée : routes {r['generate_roads_s']:.1f} s, "
        f"bus {r['generate_bus_s']:.1f} s)"
    )
    return r


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=2_500_000)
    ap.add_argument("--stops", type=int, default=25_000)
    ap.add_argument("--stop-times", type=int, default=5_000_000)
    ap.add_argument("--db", type=Path, default=config.default_db_path())
    ap.add_argument(
        "--car-sample",
        type=int,
        default=0,
        help="car on the first build (one-to-all kernel): this many offer locations, time extrapolated (0: all)",
    )
    ap.add_argument(
        "--pbf-nodes",
        type=int,
        default=0,
        help="read the road network from a SYNTHETIC OSM PBF of about this many intersections "
        "(bench/osm_reader.py writes it; analysis.network.roads_pbf reads it, as the build reads a real extract)",
    )
    ap.add_argument("--pbf", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--cache", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(args), default=float))
        return 0
    if not Path(args.db).exists():
        print("base absente : lancez d'abord python -m analysis.build")
        return 2
    r = run(args)
    if args.json:
        args.json.write_text(json.dumps(r, indent=2, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
