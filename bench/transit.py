"""Benchmark of the public-transport engine (analysis.transit). Prints figures, asserts nothing.

Usage::

    python bench/transit.py [--db data/observatoire.duckdb] [--naive-sample 12]

1. Regional matrix on the real TER feed of the mirror: origins = every commune centre and lycée,
   destinations = every offer location (read from the built database when it exists; otherwise
   commune centres and lycées from the raw mirror files, and 632 commune centres drawn at random
   as stand-in destinations — said in the output).
2. In the same run, on the same network and origins, the naive approach: for each origin, one
   scalar earliest-arrival Connection Scan per departure minute of the window (91 scans), the
   result being the minimum over minutes (a per-minute sample, so >= the exact figure). Run on
   a sample of origins that have a stop within walking distance, extrapolated to all of them.
3. Scale: the whole-France TER feed (9,196 stops, 33,280 trips) with SYNTHETIC origins and
   destinations (points drawn around real stops), to show how the cost grows.
4. Scale: a SYNTHETIC urban-bus-like network (random lines, one bus every 10 min, a stop every
   500 m) standing in for a dense feed such as the Atoumod aggregate, which is not in the mirror.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analysis import config, db, gtfs, transit  # noqa: E402
from analysis.transit import route, scan  # noqa: E402


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load_points(db_path: Path, src: Path, rng) -> tuple[np.ndarray, np.ndarray, str]:
    if db_path.exists():
        con = db.connect(db_path, read_only=True)
        o = con.execute(
            "SELECT lon, lat FROM communes UNION ALL SELECT lon, lat FROM schools WHERE lon IS NOT NULL"
        ).fetchnumpy()
        d = con.execute("SELECT lon, lat FROM offer_locations WHERE lon IS NOT NULL").fetchnumpy()
        con.close()
        return (
            np.column_stack([o["lon"], o["lat"]]),
            np.column_stack([d["lon"], d["lat"]]),
            f"base {db_path.name} (communes + lycées -> offer_locations)",
        )
    c = pd.read_csv(
        src / "communes/datas-fun-comparateur-2024/communes_normandie.csv", dtype={"insee_com": str}
    ).drop_duplicates("insee_com")
    s = pd.read_csv(
        src / "schools/monstagedeseconde/fr-en-annuaire-education_lycees_normandie_2024-03-19.csv", sep=";", dtype=str
    )
    pos = s.iloc[:, -2].dropna().str.split(",", expand=True).astype(float)
    o = np.vstack([c[["lng", "lat"]].to_numpy(), pos[[1, 0]].to_numpy()])
    d = c[["lng", "lat"]].to_numpy()[rng.choice(len(c), 632, replace=False)]
    return o, d, "fichiers bruts (communes + lycées -> 632 centres de communes tirés au hasard)"


def naive_matrix(net, origins, destinations, t0=7 * 3600, t1=8 * 3600 + 1800, t_end=9 * 3600):
    """Per origin, one scalar CSA per departure minute; min over minutes of (arrival - t)."""
    fp = scan.footpath_lists(net, transit.MAX_TRANSFER_M, transit.WALK_KMH, transit.DETOUR_FACTOR)
    e_d, e_s, e_w = scan.prepare_endpoints(
        net, destinations, transit.MAX_ACCESS_M, transit.WALK_KMH, transit.DETOUR_FACTOR
    )
    out = np.full((len(origins), len(destinations)), np.inf)
    for i, o in enumerate(origins):
        _, a_s, a_w = scan.prepare_endpoints(
            net, o[None, :], transit.MAX_ACCESS_M, transit.WALK_KMH, transit.DETOUR_FACTOR
        )
        for t in range(t0, t1 + 1, 60):
            init = {}
            for s, w in zip(a_s.tolist(), a_w.tolist()):
                init[s] = min(init.get(s, 2**30), t + w)
            ride, _, _ = route._scan_single(net, init, t_end, fp)
            arr = np.full(len(destinations), np.inf)
            np.minimum.at(arr, e_d, ride[e_s] + e_w)
            ok = arr <= t_end
            out[i, ok] = np.minimum(out[i, ok], (arr[ok] - t) / 60)
        walk = transit.walk_seconds(transit.haversine_m(o[None, :], destinations))
        ok = walk <= t_end - t0
        out[i, ok] = np.minimum(out[i, ok], walk[ok] / 60)
    return out


def synthetic_bus_network(
    n_lines: int, n_stops_line: int = 30, headway: int = 600, spacing: float = 500.0, seed: int = 0
) -> transit.TransitNetwork:
    """SYNTHETIC network: random-walk lines over 60 x 40 km near Caen, buses 05:00-10:00."""
    from datetime import date

    rng = np.random.default_rng(seed)
    lon0, lat0 = -0.6, 49.0
    stop_ll, conns, trip = [], [], 0
    for _ in range(n_lines):
        x, y, ang = rng.uniform(0, 60000), rng.uniform(0, 40000), rng.uniform(0, 2 * np.pi)
        ids = []
        for _k in range(n_stops_line):
            ang += rng.normal(0, 0.3)
            x, y = x + spacing * np.cos(ang), y + spacing * np.sin(ang)
            stop_ll.append((lon0 + x / 73000, lat0 + y / 111200))
            ids.append(len(stop_ll) - 1)
        seg = rng.integers(60, 150, size=n_stops_line - 1)
        for t0 in range(5 * 3600 + int(rng.integers(0, headway)), 10 * 3600, headway):
            t = t0
            for k in range(n_stops_line - 1):
                conns.append((ids[k], ids[k + 1], t, t + seg[k], trip))
                t += seg[k]
            trip += 1
    c = np.array(conns)
    c = c[np.lexsort((c[:, 3], c[:, 2]))]
    n = len(stop_ll)
    ones = np.ones(len(c), dtype=bool)
    return transit.TransitNetwork(
        date(2025, 6, 17),
        np.array([f"syn:{i}" for i in range(n)]),
        np.array([f"arrêt synthétique {i}" for i in range(n)]),
        np.array(stop_ll),
        c[:, 0].astype(np.int32),
        c[:, 1].astype(np.int32),
        c[:, 2].astype(np.int32),
        c[:, 3].astype(np.int32),
        c[:, 4].astype(np.int32),
        ones,
        ones,
        np.array([f"syn:T{i}" for i in range(trip)]),
        np.array(["L"] * trip),
        np.array([""] * trip),
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, default=config.default_db_path())
    ap.add_argument("--naive-sample", type=int, default=12)
    ap.add_argument("--no-france", action="store_true", help="skip the whole-France run")
    args = ap.parse_args()
    src = config.default_source_dir()
    if src is None:
        sys.exit("Données sources introuvables (../shared/data).")
    ter = src / "gtfs/sncf_ter_france_2025-01-22/export-ter-gtfs-last.zip"
    rng = np.random.default_rng(0)

    print("== 1. Matrice régionale, TER Normandie ==")
    con = db.connect()
    t = time.perf_counter()
    gtfs.load_into(con, ter, feed_id="ter")
    print(f"chargement GTFS (Normandie + marge) : {time.perf_counter() - t:.2f} s")
    t = time.perf_counter()
    net = transit.TransitNetwork.from_duckdb(con)
    print(
        f"réseau du {net.service_date} : {net.n_stops} arrêts, {net.n_connections} connexions, "
        f"{len(net.trip_ids)} trajets — {time.perf_counter() - t:.2f} s"
    )
    origins, dests, how = load_points(args.db, src, rng)
    print(f"points : {len(origins)} origines x {len(dests)} destinations, {how}")
    t = time.perf_counter()
    m = transit.transit_matrix(net, origins, dests)  # method "auto" (here: "starts")
    fast = time.perf_counter() - t
    fin = np.isfinite(m)
    print(
        f"transit_matrix : {fast:.3f} s ; paires atteintes {fin.sum()} "
        f"(<= 90 min : {(m <= 90).sum()}) ; pic mémoire {peak_mib():.0f} Mio"
    )

    # naive baseline on a sample of origins with a stop within 1.5 km
    a_o, _, _ = scan.prepare_endpoints(net, origins, transit.MAX_ACCESS_M, transit.WALK_KMH, transit.DETOUR_FACTOR)
    with_stop = np.unique(a_o)
    sample = rng.choice(with_stop, size=min(args.naive_sample, len(with_stop)), replace=False)
    t = time.perf_counter()
    nm = naive_matrix(net, origins[sample], dests)
    naive = time.perf_counter() - t
    per_origin = naive / len(sample)
    # origins without any stop need only the walking part: count them at zero cost (favours naive)
    naive_total = per_origin * len(with_stop)
    with np.errstate(invalid="ignore"):
        diff = nm - m[sample]
    both = np.isfinite(nm) & np.isfinite(m[sample])
    print(
        f"approche naïve (CSA scalaire par minute de départ) : {naive:.2f} s pour {len(sample)} "
        f"origines -> {naive_total:.1f} s extrapolé aux {len(with_stop)} origines ayant un arrêt "
        f"à moins de 1,5 km (les autres comptées à 0 s)"
    )
    print(f"rapport naïf / moteur : x{naive_total / fast:.0f}")
    print(
        f"écart naïf - exact sur l'échantillon : min {diff[both].min() if both.any() else 0:.3f} "
        f"max {diff[both].max() if both.any() else 0:.3f} min "
        f"(>= 0 attendu : l'échantillonnage par minute surestime de moins d'une minute) ; "
        f"paires atteintes par l'un et pas l'autre : {(np.isfinite(nm) != np.isfinite(m[sample])).sum()}"
    )
    con.close()

    if not args.no_france:
        france(ter, net, rng)

    print("\n== 3. Passage à l'échelle : réseau de bus SYNTHÉTIQUE dense (bus toutes les 10 min) ==")
    for n_lines in (50, 100):
        bus = synthetic_bus_network(n_lines)
        o = np.column_stack([rng.uniform(-0.6, 0.22, 3000), rng.uniform(49.0, 49.36, 3000)])
        d = o[rng.choice(3000, 600, replace=False)]
        res = {}
        for method in ("profile", "starts"):
            t = time.perf_counter()
            res[method] = transit.transit_matrix(bus, o, d, method=method)
            print(
                f"{n_lines} lignes, {bus.n_stops} arrêts, {bus.n_connections} connexions/jour ; "
                f"3000 x 600 points, méthode {method} : {time.perf_counter() - t:.1f} s, "
                f"{np.isfinite(res[method]).sum()} paires atteintes, pic mémoire {peak_mib():.0f} Mio"
            )
        print(f"résultats identiques : {np.array_equal(res['profile'], res['starts'])}")


def france(ter: Path, net, rng) -> None:
    print("\n== 2. Passage à l'échelle : TER France entière, points SYNTHÉTIQUES autour des arrêts ==")
    t = time.perf_counter()
    fr = transit.TransitNetwork.from_gtfs(ter, service_date=net.service_date)
    print(
        f"réseau France du {fr.service_date} : {fr.n_stops} arrêts, {fr.n_connections} connexions "
        f"— {time.perf_counter() - t:.2f} s (lecture + chargement)"
    )
    for n_o, n_d in ((3000, 600), (12000, 2400)):
        base = fr.stop_lonlat[rng.choice(fr.n_stops, n_o)]
        o = base + rng.normal(0, 0.008, base.shape)
        d = fr.stop_lonlat[rng.choice(fr.n_stops, n_d)] + rng.normal(0, 0.008, (n_d, 2))
        t = time.perf_counter()
        mm = transit.transit_matrix(fr, o, d)
        print(
            f"{n_o} origines x {n_d} destinations : {time.perf_counter() - t:.2f} s, "
            f"{np.isfinite(mm).sum()} paires atteintes, pic mémoire {peak_mib():.0f} Mio"
        )


if __name__ == "__main__":
    main()
