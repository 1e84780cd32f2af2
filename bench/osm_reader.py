"""Bench: reading an OSM PBF into the engine's per-mode arrays, networkx path against osmium arrays.

Usage::

    python bench/osm_reader.py [--nodes 250000] [--shape 1] [--old-nodes 360000] [--keep DIR]

Writes a **SYNTHETIC** ``.osm.pbf`` street grid with osmium (``--nodes`` intersections over
Normandie's bounding box, ~150 m apart, ``--shape`` intermediate shape nodes per link, ways of
10 links, highway classes from motorway to footway, ``maxspeed`` tags, one-way and reversed
one-way streets, private ways, 8 % of ways left out) and reads it, each reader in its own child
process so that its peak memory (``VmHWM``) is its own:

- **old**: :func:`analysis.network.roads_osm.graph_from_osm_pbf` (networkx graph) then
  ``GraphArrays.from_graph(G, mode)`` for walk, bike and car (what the build did);
- **new**: :func:`analysis.network.roads_pbf.read_network` then ``OsmNetwork.mode_arrays(mode)``.

The old reader is run only on a file of at most ``--old-nodes`` intersections (a second, smaller
synthetic file when ``--nodes`` is larger; the new reader is also run on it, for a same-run
ratio and an equality check of the CSR matrices) and **extrapolated** linearly in directed
edges (the size of its networkx graph) to the large file: the output says so. Prints wall and CPU seconds (user + system
of the child) and peak memory per reader, the load average, and the ratios.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

MODES = ("walk", "bike", "car")


#: (modulus, remainder, highway class) of a grid line by its index, first match wins; else residential
_LINE_CLASSES = (
    (100, 0, "motorway-or-primary"),
    (20, 0, "secondary"),
    (10, 0, "tertiary"),
    (17, 3, "footway"),
    (23, 5, "cycleway"),
    (29, 7, "busway"),  # not in CAR_HWY_SPEEDS: speed from the mean maxspeed of its edges
    (31, 9, "track"),
)


def _residential_tags(way_no: int) -> dict[str, str]:
    tags = {}
    if way_no % 10 == 0:
        tags["oneway"] = "yes"
    elif way_no % 37 == 0:
        tags["oneway"] = "-1"
    if way_no % 53 == 0:
        tags["access"] = "private"
    if way_no % 11 == 0:
        tags["maxspeed"] = "30"
    if way_no % 7 == 0:
        tags["name"] = f"Rue synthétique {way_no}"
    return tags


def _line_tags(kind: str, index: int, way_no: int) -> dict[str, str]:
    """Tags of one synthetic way: class by line index, attributes by way number."""
    hwy = next((c for m, r, c in _LINE_CLASSES if index % m == r), "residential")
    if hwy == "motorway-or-primary":
        hwy = "motorway" if kind == "col" else "primary"
    tags = {"highway": hwy}
    if hwy == "residential":
        tags.update(_residential_tags(way_no))
    elif hwy in ("primary", "secondary") and way_no % 3 == 0:
        tags["maxspeed"] = ("80", "FR:urban", "50 mph")[way_no % 9 // 3]
    elif hwy == "busway" and way_no % 2 == 0:
        tags["maxspeed"] = "50"
    elif hwy == "motorway" and way_no % 5 == 0:
        tags["maxspeed"] = "110"
    return tags


@dataclass(frozen=True)
class SyntheticGrid:
    """A SYNTHETIC square street grid over Normandie: ``side`` x ``side`` intersections ~150 m
    apart, ``shape`` shape points on each link (jittered across the line), ways of 10 links."""

    side: int
    shape: int
    lat0: float = 48.18
    lon0: float = -1.95
    dlat: float = 0.00135
    dlon: float = 0.002  # ~150 m; 1,581 x 1,581 spans Normandie

    @property
    def n_row_links(self) -> int:
        return self.side * (self.side - 1)

    @property
    def base(self) -> int:
        """First shape node id (shape node ids: base + link * shape + k)."""
        return self.side * self.side + 1

    def location(self, i: float, j: float) -> tuple[float, float]:
        return self.lon0 + j * self.dlon, self.lat0 + i * self.dlat

    def link(self, kind: str, a: int, b: int) -> int:
        """Number of link ``b`` of row (or column) ``a``."""
        return (0 if kind == "row" else self.n_row_links) + a * (self.side - 1) + b

    def intersection(self, kind: str, a: int, b: int) -> int:
        """Node id of intersection ``b`` along row (or column) ``a``."""
        return (a * self.side + b + 1) if kind == "row" else (b * self.side + a + 1)

    def intersections(self):
        """(id, location) of every intersection."""
        for i in range(self.side):
            for j in range(self.side):
                yield i * self.side + j + 1, self.location(i, j)

    def shape_points(self, rng: np.random.Generator):
        """(id, location) of every shape point, rows then columns (the jitter drawn in that order)."""
        for kind in ("row", "col"):
            for a in range(self.side):
                jitter = rng.uniform(-0.2, 0.2, size=(self.side - 1, self.shape))
                for b in range(self.side - 1):
                    for k in range(self.shape):
                        along, across = b + (k + 1) / (self.shape + 1), a + jitter[b, k]
                        i, j = (across, along) if kind == "row" else (along, across)
                        yield self.base + self.link(kind, a, b) * self.shape + k, self.location(i, j)

    def way_nodes(self, kind: str, a: int, b0: int, b1: int) -> list[int]:
        """Node ids of the way over links ``b0``..``b1 - 1`` of row (or column) ``a``."""
        ids = []
        for b in range(b0, b1):
            ids.append(self.intersection(kind, a, b))
            first = self.base + self.link(kind, a, b) * self.shape
            ids.extend(range(first, first + self.shape))
        ids.append(self.intersection(kind, a, b1))
        return ids

    def ways(self):
        """(way number, kind, row/column, node ids) of every way, 8 % left out (dead ends, gaps)."""
        way_no = 0
        for kind in ("row", "col"):
            for a in range(self.side):
                for b0 in range(0, self.side - 1, 10):
                    way_no += 1
                    if (way_no * 2654435761) % 100 < 8:
                        continue
                    yield way_no, kind, a, self.way_nodes(kind, a, b0, min(b0 + 10, self.side - 1))


def write_synthetic_pbf(path: Path, nodes: int, shape: int = 1) -> dict:
    """Write a SYNTHETIC OSM street grid of about ``nodes`` intersections to ``path``.

    Returns
    -------
    dict
        Counts: intersections, OSM nodes, ways, node references.
    """
    import osmium

    grid = SyntheticGrid(max(int(math.isqrt(nodes)), 2), shape)
    counts = {
        "intersections": grid.side**2,
        "osm_nodes": grid.side**2 + 2 * grid.n_row_links * shape,
        "ways": 0,
        "node_refs": 0,
    }
    rng = np.random.default_rng(15)
    with osmium.SimpleWriter(str(path), overwrite=True) as w:
        for points in (grid.intersections(), grid.shape_points(rng)):
            for node_id, loc in points:
                w.add_node(osmium.osm.mutable.Node(id=node_id, location=loc))
        for way_no, kind, a, ids in grid.ways():
            w.add_way(osmium.osm.mutable.Way(id=way_no, nodes=ids, tags=_line_tags(kind, a, way_no)))
            counts["ways"] += 1
            counts["node_refs"] += len(ids)
    return counts


def _status_mib(field: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _vmhwm_mib() -> float:
    """Peak resident memory of this process."""
    return _status_mib("VmHWM")


def _rss_mib() -> float:
    """Resident memory of this process now."""
    return _status_mib("VmRSS")


def child(reader: str, pbf: str, out: str) -> None:
    """Read ``pbf`` with one reader, save each mode's CSR arrays and print the figures as JSON."""
    from analysis.network import paths, roads, roads_pbf

    start_mib = _rss_mib()
    t_wall, t_cpu = time.perf_counter(), time.process_time()
    if reader == "old":
        G = roads.graph_from_osm_pbf(pbf)
        n_osm = G.number_of_edges()
    else:
        net = roads_pbf.read_network(pbf)
        n_osm = len(net.u)
    read = (time.perf_counter() - t_wall, time.process_time() - t_cpu)
    arrays = {}
    for mode in MODES:
        a = paths.GraphArrays.from_graph(G, mode) if reader == "old" else net.mode_arrays(mode)
        arrays[mode] = a
    total = (time.perf_counter() - t_wall, time.process_time() - t_cpu)
    np.savez(
        out,
        **{f"{m}_{k}": getattr(a.matrix, k) for m, a in arrays.items() for k in ("indptr", "indices", "data")},
        **{f"{m}_{k}": getattr(a, k) for m, a in arrays.items() for k in ("lon", "lat")},
    )
    ru = resource.getrusage(resource.RUSAGE_SELF)
    print(
        json.dumps(
            {
                "reader": reader,
                "read_wall_s": read[0],
                "read_cpu_s": read[1],
                "wall_s": total[0],
                "cpu_s": ru.ru_utime + ru.ru_stime,
                "arrays_cpu_s": total[1] - read[1],
                "peak_mib": _vmhwm_mib(),
                "start_mib": start_mib,
                "directed_edges": n_osm,
                "nodes": {m: a.n_nodes for m, a in arrays.items()},
                "edges": {m: int(a.matrix.nnz) for m, a in arrays.items()},
            }
        )
    )


def run_child(reader: str, pbf: Path, out: Path) -> dict:
    cmd = [sys.executable, __file__, "--child", reader, "--pbf", str(pbf), "--out", str(out)]
    res = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def same_arrays(a: Path, b: Path) -> dict:
    """Compare the CSR matrices two readers saved: same structure, largest weight difference."""
    za, zb = np.load(a), np.load(b)
    out = {}
    for m in MODES:
        same = all(np.array_equal(za[f"{m}_{k}"], zb[f"{m}_{k}"]) for k in ("indptr", "indices", "lon", "lat"))
        diff = float(np.abs(za[f"{m}_data"] - zb[f"{m}_data"]).max()) if same else float("nan")
        out[m] = {"same_nodes_and_edges": same, "max_abs_diff_s": diff}
    return out


def _work(r: dict) -> float:
    """CPU seconds of reading and converting (the child's imports and start-up excluded)."""
    return r["read_cpu_s"] + r["arrays_cpu_s"]


def _say(label: str, r: dict) -> None:
    print(
        f"  {label:<44} read {r['read_wall_s']:7.1f} s wall / {r['read_cpu_s']:7.1f} s CPU ; "
        f"+ arrays (3 modes) {r['arrays_cpu_s']:6.1f} s CPU ; process {r['cpu_s']:7.1f} s CPU ; "
        f"peak {r['peak_mib']:7.0f} MiB ; {r['nodes']['car']:,} nodes, {r['edges']['car']:,} car edges"
    )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=250_000, help="intersections of the large SYNTHETIC grid")
    ap.add_argument("--shape", type=int, default=1, help="shape nodes per link")
    ap.add_argument("--old-nodes", type=int, default=360_000, help="largest grid the networkx reader is run on")
    ap.add_argument("--keep", type=Path, help="directory where the synthetic PBF files are written and kept")
    ap.add_argument("--json", type=Path, help="write the figures to this file")
    ap.add_argument("--child", choices=["old", "new"], help=argparse.SUPPRESS)
    ap.add_argument("--pbf", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(args.child, args.pbf, args.out)
        return 0
    tmp = tempfile.TemporaryDirectory(prefix="bench-osm-")
    work = args.keep or Path(tmp.name)
    work.mkdir(parents=True, exist_ok=True)
    result: dict = {"load_average_start": os.getloadavg()}
    print(f"SYNTHETIC OSM street grids (not real data); load average at start {os.getloadavg()}")
    files = {}
    for size in sorted({min(args.nodes, args.old_nodes), args.nodes}):
        pbf = work / f"synthetic_grid_{size}_{args.shape}.osm.pbf"
        t0 = time.process_time()
        if not pbf.exists():
            counts = write_synthetic_pbf(pbf, size, args.shape)
            (work / (pbf.name + ".json")).write_text(json.dumps(counts))
        counts = json.loads((work / (pbf.name + ".json")).read_text())
        counts["write_cpu_s"] = time.process_time() - t0
        counts["bytes"] = pbf.stat().st_size
        files[size] = (pbf, counts)
        print(
            f"SYNTHETIC PBF {pbf.name}: {counts['intersections']:,} intersections, {counts['osm_nodes']:,} OSM nodes, "
            f"{counts['ways']:,} ways, {counts['node_refs']:,} node references, {counts['bytes'] / 2**20:.0f} MiB"
        )
    small, big = min(files), max(files)
    runs = {}
    print(f"Same file ({small:,} intersections), one child process per reader:")
    for reader in ("old", "new"):
        runs[(small, reader)] = run_child(reader, files[small][0], work / f"{reader}_{small}.npz")
        _say(f"{reader} ({'networkx' if reader == 'old' else 'osmium -> arrays'})", runs[(small, reader)])
    eq = same_arrays(work / f"old_{small}.npz", work / f"new_{small}.npz")
    print(f"  identical arrays: {eq}")
    old, new = runs[(small, "old")], runs[(small, "new")]
    print(
        f"  ratio old/new: read + arrays CPU x{_work(old) / _work(new):.1f}, wall x{old['wall_s'] / new['wall_s']:.1f}, "
        f"peak memory x{old['peak_mib'] / new['peak_mib']:.1f} (after imports: {old['start_mib']:.0f} / {new['start_mib']:.0f} MiB)"
    )
    result["small"] = {"counts": files[small][1], "old": old, "new": new, "equal": eq}
    if big != small:
        print(f"Large file ({big:,} intersections):")
        runs[(big, "new")] = run_child("new", files[big][0], work / f"new_{big}.npz")
        _say("new (osmium -> arrays)", runs[(big, "new")])
        # the networkx path's cost and memory grow with the graph (same directed edges for both readers)
        scale = runs[(big, "new")]["directed_edges"] / new["directed_edges"]
        est_cpu = _work(old) * scale
        est_mem = old["start_mib"] + (old["peak_mib"] - old["start_mib"]) * scale
        print(
            f"  old (networkx) EXTRAPOLATED x{scale:.2f} in directed edges from {small:,} (not run at this size): "
            f"read + arrays ~{est_cpu:.0f} s CPU, peak ~{est_mem / 1024:.1f} GiB; "
            f"ratio old/new CPU ~x{est_cpu / _work(runs[(big, 'new')]):.1f}"
        )
        result["large"] = {
            "counts": files[big][1],
            "new": runs[(big, "new")],
            "old_extrapolated": {"cpu_s": est_cpu, "peak_mib": est_mem, "scale": scale},
        }
    result["load_average_end"] = os.getloadavg()
    print(f"load average at end {os.getloadavg()}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
