"""Benchmark of analysis.report: time to produce each report format for several EPCI.

Prints, for each EPCI, the time of ``build_report`` for CSV, XLSX and PDF against the 5 s
target, and the collection step against a baseline measured in the same run: the same rows
obtained with one public ``analysis.access.territory_indicators`` call per level (territory,
département, region, communes) instead of the single combined query.

Usage::

    .venv/bin/python bench/report.py [--db PATH] [--n 6] [--repeat 1]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analysis import access, config, db, report  # noqa: E402
from analysis.access import Filters  # noqa: E402

TARGET_S = 5.0


def _baseline_rows(con, terr, filters) -> int:
    """The report's indicator rows with one public access call per level (the baseline)."""
    n = len(access.territory_indicators(con, terr.level, filters, terr.code))
    for lv, code, _name in terr.references:
        n += len(access.territory_indicators(con, lv, filters, code))
    n += len(access.territory_indicators(con, "commune", filters, within=terr.code))
    return n


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Temps de production des rapports par EPCI.")
    p.add_argument("--db", default=None)
    p.add_argument("--n", type=int, default=6, help="nombre d'EPCI mesurés")
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--siren", action="append", default=[], help="mesurer ces EPCI (répétable) au lieu d'un échantillon")
    args = p.parse_args(argv)
    con = db.connect(args.db or config.default_db_path(), read_only=True)
    # EPCI spread over sizes: the largest, the smallest and some in between
    epcis = con.execute("SELECT siren, name, n_communes FROM epci ORDER BY population DESC").fetchall()
    step = max(1, (len(epcis) - 1) // max(1, args.n - 1))
    chosen = [epcis[i] for i in range(0, len(epcis), step)][: args.n - 1] + [epcis[-1]]
    if args.siren:
        chosen = [e for e in epcis if e[0] in set(args.siren)]
    filters = Filters()
    t = time.perf_counter()
    report.build_report(con, "epci", chosen[0][0], "pdf", filters)  # warm-up (imports, fonts)
    print(f"préchauffage (imports, polices, première requête) : {time.perf_counter() - t:.2f} s")
    print(f"charge de la machine (1 min) : {os.getloadavg()[0]:.1f} sur {os.cpu_count()} cœurs")
    print(f"{'EPCI':45} {'communes':>8} {'CSV':>6} {'XLSX':>6} {'PDF':>6} {'collecte':>9} {'référence':>9} {'gain':>5}")
    worst = 0.0
    for siren, name, n_com in chosen:
        times = {}
        for fmt in ("csv", "xlsx", "pdf"):
            runs = []
            for _ in range(args.repeat):
                t = time.perf_counter()
                content, _fname, _mime = report.build_report(con, "epci", siren, fmt, filters)
                runs.append(time.perf_counter() - t)
                assert content
            times[fmt] = statistics.median(runs)
        terr = report.resolve_territory(con, "epci", siren)
        t = time.perf_counter()
        report.data._indicator_rows(con, terr, filters)
        combined = time.perf_counter() - t
        t = time.perf_counter()
        _baseline_rows(con, terr, filters)
        base = time.perf_counter() - t
        worst = max(worst, *times.values())
        print(
            f"{name[:45]:45} {n_com:>8} {times['csv']:>5.2f}s {times['xlsx']:>5.2f}s "
            f"{times['pdf']:>5.2f}s {combined:>8.2f}s {base:>8.2f}s {base / combined:>4.1f}x"
        )
    verdict = "OK" if worst < TARGET_S else "AU-DESSUS DE LA CIBLE"
    print(f"pire temps : {worst:.2f} s (cible < {TARGET_S:.0f} s par rapport) : {verdict}")
    t = time.perf_counter()
    report.build_report(con, "region", None, "pdf", filters)
    print(f"portrait PDF de la région (2 644 communes sur la carte) : {time.perf_counter() - t:.2f} s")
    con.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
