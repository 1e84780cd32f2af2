"""Benchmark: importing the mirror's platform offers file through analysis.imports.

Usage::

    .venv/bin/python bench/imports.py [--db data/observatoire.duckdb] [--no-recompute]

Works on a temporary copy of the database (the real one is never touched). Prints, measured in
the same run on the same file:

- baseline: the build's own offer stage (``offers.parse_platform`` + ``locate`` +
  ``write_tables``) into a copy;
- the import's checks alone (dry run, read-only);
- the full import (copy of the database, checks, write, atomic swap), without and with the
  recomputation of travel times and indicators (when the database has them),

with the ratios to the baseline. Issue 7 target: the recomputation after an import < 1 min.

Then (issue 15, ``--skip-new-communes`` to leave it out), in the same run: a SYNTHETIC file of
10 offers in 10 communes that had none (new locations) imported end to end with the
incremental recompute (:mod:`analysis.incremental`), into copies of a database the whole build
(``analysis.build.build``: graphs, four modes, indicators) has just written — the baseline —
first with an empty graph cache (the road network is loaded once and cached), then with the
cache the build filled; wall and CPU seconds and their ratios to the build.
Target: < 3 s and <= 15 % of the full build.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analysis import config, db, imports, offers  # noqa: E402

MIRROR_OFFERS = "internships/monstagedeseconde-offers-2025/07_05_2025_data_bc_normandie.csv"


def new_commune_offers(db_path: Path, n: int = 10) -> bytes:
    """SYNTHETIC template file: one offer in each of ``n`` communes without any offer."""
    import csv
    import io

    import duckdb

    con = duckdb.connect(str(db_path), read_only=True)
    try:
        picked = con.execute(
            """SELECT c.code, c.name, min(p.postcode) FROM communes c JOIN commune_postcodes p ON p.code = c.code
               WHERE c.code NOT IN (SELECT commune_code FROM offers WHERE commune_code IS NOT NULL)
               GROUP BY 1, 2 ORDER BY hash(c.code) LIMIT ?""", [n]).fetchall()
    finally:
        con.close()
    header = [c.header for c in imports.OFFER_TEMPLATE]
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=";", lineterminator="\r\n")
    w.writerow(header)
    for code, name, pc in picked:
        row = {"identifiant": f"SYN-BENCH-{code}", "employeur": "Employeur synthétique", "siret": "73282932000074",
               "secteur": "Commerce et distribution", "public": "non", "code_postal": pc, "commune": name,
               "places": "2", "niveaux": "seconde"}
        w.writerow([row.get(h, "") for h in header])
    return buf.getvalue().encode()


def bench_new_communes(src: Path, secret: str, gate) -> list[tuple[str, float, float]]:
    """Incremental import of 10 offers in new communes against the full build, same run.

    The full build (the baseline, which also fills its graph cache) writes a temporary
    database; the file is imported into copies of it, once with an empty graph cache and once
    with the build's. Wall and CPU seconds (``time.process_time``: every thread of this
    process, DuckDB's included; less sensitive to other work on the machine) of each.
    """
    from analysis import graphcache
    from analysis.build import BuildSettings, build, default_gtfs
    from analysis.progress import silent

    def timed(fn):
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        return time.perf_counter() - t, time.process_time() - c, out

    old_cache = os.environ.get(graphcache.ENV_CACHE)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        try:
            os.environ[graphcache.ENV_CACHE] = str(tmp / "cache-build")
            full_db = tmp / "full.duckdb"
            full, full_cpu, _ = timed(lambda: build(BuildSettings(source_dir=src, db_path=full_db,
                                                                  gtfs=default_gtfs(src)), silent))
            f = tmp / "offres_synthetiques_10_communes.csv"
            f.write_bytes(new_commune_offers(full_db))
            work = tmp / "inc.duckdb"
            runs = {}
            for label, cache in (("cold", "cache-empty"), ("warm", "cache-build")):
                os.environ[graphcache.ENV_CACHE] = str(tmp / cache)
                shutil.copyfile(full_db, work)
                runs[label] = timed(lambda: imports.import_file(f, "offers", secret=secret, db_path=work,
                                                                mode="append", gate=gate))
        finally:
            if old_cache is None:
                os.environ.pop(graphcache.ENV_CACHE, None)
            else:
                os.environ[graphcache.ENV_CACHE] = old_cache
    r = runs["warm"][2]
    load = open("/proc/loadavg").read().split()[:3]
    print(f"10 offres SYNTHÉTIQUES dans 10 communes sans offre ({r.accepted} acceptées, recalculé : "
          f"{'oui' if r.recomputed else 'non'}), même exécution, charge {' '.join(load)} :")
    print(f"  {'':62} {'murale':>9} {'part':>7} {'CPU':>9} {'part':>7}")
    print(f"  {'construction complète (graphes, 4 modes, indicateurs)':62} {full:8.2f}s {'':>7} {full_cpu:8.2f}s")
    for label, name in (("cold", "import + recalcul incrémental, cache de graphes vide"),
                        ("warm", "import + recalcul incrémental, graphes en cache (normal)")):
        wall, cpu, _ = runs[label]
        print(f"  {name:62} {wall:8.2f}s {wall / full:7.1%} {cpu:8.2f}s {cpu / full_cpu:7.1%}")
    print("  cible : < 3 s et <= 15 % de la construction complète")
    return [("full_build", full, full_cpu)] + [(k, v[0], v[1]) for k, v in runs.items()]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, default=config.default_db_path())
    ap.add_argument("--no-recompute", action="store_true")
    ap.add_argument("--skip-new-communes", action="store_true")
    ap.add_argument("--skip-mirror-file", action="store_true")
    args = ap.parse_args()
    src = config.default_source_dir()
    if src is None or (not args.skip_mirror_file and not args.db.exists()):
        print("miroir ../shared/data ou base absente : lancez d'abord python -m analysis.build")
        return 2
    path = src / MIRROR_OFFERS
    os.environ.setdefault(imports.ENV_SECRET, "bench-secret")
    secret = os.environ[imports.ENV_SECRET]
    gate = imports.AdminGate(sleep=lambda s: None)
    if not args.skip_new_communes:
        bench_new_communes(src, secret, gate)
    if args.skip_mirror_file:
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "bench.duckdb"
        shutil.copyfile(args.db, work)
        size_mb = work.stat().st_size / 1e6

        t = time.perf_counter()
        con = db.connect(work)
        parsed, rej1 = offers.parse_platform(path)
        located, rej2 = offers.locate(con, parsed)
        offers.write_tables(con, located, rej1.iloc[0:0])
        con.close()
        base = time.perf_counter() - t

        t = time.perf_counter()
        res = imports.import_file(path, "offers", db_path=work, dry_run=True)
        dry = time.perf_counter() - t

        t = time.perf_counter()
        imports.import_file(path, "offers", secret=secret, db_path=work, recompute=False, gate=gate)
        full = time.perf_counter() - t

        rows = [("étape des offres de la construction (référence)", base),
                ("contrôles seuls (simulation)", dry),
                (f"import complet sans recalcul (copie de {size_mb:.0f} Mo + échange)", full)]
        if not args.no_recompute:
            t = time.perf_counter()
            r = imports.import_file(path, "offers", secret=secret, db_path=work, gate=gate)
            rows.append((f"import complet avec recalcul (recalculé : {'oui' if r.recomputed else 'non'})",
                         time.perf_counter() - t))
    print(f"Fichier : {path.name} — {res.rows_in} lignes, {res.accepted} acceptées, "
          f"{res.quarantined} en quarantaine, {len(res.warnings)} avertissements")
    for label, sec in rows:
        print(f"  {label:70} {sec:7.2f} s   x{sec / base:6.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
