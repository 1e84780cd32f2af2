"""Benchmark: the collective-internship planner on the whole region (issue 14).

Usage::

    .venv/bin/python bench/planning.py [--db data/observatoire.duckdb] [--kmax 10]

1. Sites (maximal covering): for several demand views, loading the instance from DuckDB, then for
   K = 1..kmax the greedy heuristic (baseline) and the exact CP-SAT model, timed in the same run,
   with values, gap and the exact/greedy time ratio. Target: K = 10 in < 5 s (load + greedy + exact).
2. Programme: 20 pupils × 12 structures × 10 days, CP-SAT optimised solve against the first
   feasible solution (baseline: ``stop_after_first_solution``), on (a) one offer in each of the 12 communes
   nearest Rouen by TER or walking (60 min) (capacities ASSUMED: 4 places a day each — the platform publishes none) and (b) a SYNTHETIC
   instance with 12 distinct locations and random walking minutes (seeded). Target: < 10 s.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analysis import config, db  # noqa: E402
from analysis.planning import programme as pg  # noqa: E402
from analysis.planning import sites as ps  # noqa: E402
from analysis.planning.demand import DemandSpec  # noqa: E402

VIEWS = (
    DemandSpec("transit", 45, "school"),
    DemandSpec("transit", 45, "commune"),
    DemandSpec("bike", 30, "commune"),
    DemandSpec("transit", 45, "commune", measure="shortfall", target=1.0),
)


def bench_sites(con, kmax: int) -> list[str]:
    lines = []
    print("== Sites : couverture maximale, région entière ==")
    for spec in VIEWS:
        t0 = time.perf_counter()
        problem = ps.load_problem(con, spec)
        t_load = time.perf_counter() - t0
        n_pairs = sum(len(c) for c in problem.cover)
        print(
            f"\n{spec.mode} {spec.minutes} min, origine {spec.origin_kind}, mesure {spec.measure} : "
            f"{len(problem.demand)} origines en demande ({problem.weights.sum():.1f} {spec.unit}), "
            f"{sum(len(c) > 0 for c in problem.cover)} sites utiles / {len(problem.sites)}, {n_pairs} couples ; "
            f"chargement {t_load:.2f} s"
        )
        print(
            f"{'K':>3} {'glouton':>10} {'t_glouton':>9} {'exact':>10} {'t_exact':>8} {'statut':>9} {'écart':>7} "
            f"{'ratio t':>8} {'total':>7}"
        )
        for k in range(1, kmax + 1):
            g = ps.greedy_cover(problem.cover, problem.weights, k)
            e = ps.exact_cover(problem.cover, problem.weights, k, hint=g.chosen)
            gap = (e.value - g.value) / e.value if e.value else 0.0
            total = t_load + g.seconds + e.seconds
            print(
                f"{k:>3} {g.value:>10.1f} {g.seconds:>8.3f}s {e.value:>10.1f} {e.seconds:>7.3f}s {e.status:>9} "
                f"{gap:>6.2%} {e.seconds / max(g.seconds, 1e-6):>7.1f}x {total:>6.2f}s"
            )
            if k == kmax:
                ok = "OK" if total < 5 else "DÉPASSÉ"
                lines.append(
                    f"sites {spec.mode}/{spec.minutes}/{spec.origin_kind}/{spec.measure} K={k}: "
                    f"{total:.2f} s (cible < 5 s : {ok}), écart glouton {gap:.2%}"
                )
    return lines


def _real_instance(con):
    for code, reach, radius in (("76540", "transit", 60), ("76540", "transit", 90)):
        offers = ps.site_offers(con, "commune", code, reach, radius)
        offers = offers.drop_duplicates("loc_id").head(12).reset_index(drop=True)  # one offer per commune
        if len(offers) == 12:
            structures = pg.structures_from_offers(offers, default_capacity=4)
            minutes = pg.structure_minutes(con, structures, reach)
            return code, structures, minutes
    raise SystemExit("aucun site réel avec 12 structures")


def _synthetic_instance(seed: int = 7):
    rng = np.random.default_rng(seed)
    sectors = ("santé", "industrie", "commerce", "culture", "bâtiment", "transport")
    structures = [pg.Structure(f"S{i}", f"Synthétique {i}", sectors[i % 6], 3, loc_id=i) for i in range(12)]
    xy = rng.uniform(0, 2.0, (12, 2))  # km
    minutes = np.rint(np.linalg.norm(xy[:, None] - xy[None], axis=2) * 1.3 / 4.5 * 60)
    return structures, minutes


def bench_programme(con) -> list[str]:
    lines = []
    print("\n== Programme : 20 élèves × 12 structures × 10 jours (multisectoriel) ==")
    code, structures, minutes = _real_instance(con)
    cases = [
        (f"réel (commune {code}, capacités SUPPOSÉES 4/jour)", structures, minutes),
        ("SYNTHÉTIQUE (12 lieux distincts)", *_synthetic_instance()),
    ]
    spec = pg.ProgrammeSpec(20, "multisectoriel", tuple(pg.working_days()))
    for name, sts, mins in cases:
        t0 = time.perf_counter()
        base = pg.design_programme(sts, spec, mins, first_solution=True)
        t_base = time.perf_counter() - t0
        t0 = time.perf_counter()
        best = pg.design_programme(sts, spec, mins)
        t_best = time.perf_counter() - t0
        assert not pg.check_programme(best) and not pg.check_programme(base)
        n_locs = len({s.loc_id for s in sts})
        print(
            f"{name} : {n_locs} lieux ; première solution {base.total_minutes:g} min en {t_base:.2f} s ; "
            f"optimisé {best.total_minutes:g} min en {t_best:.2f} s ({best.status}, borne {best.bound:g}) ; "
            f"ratio temps {t_best / max(t_base, 1e-6):.1f}x ; sous-groupes {best.sizes}"
        )
        ok = "OK" if t_best < 10 else "DÉPASSÉ"
        lines.append(
            f"programme {name}: {t_best:.2f} s (cible < 10 s : {ok}), {best.total_minutes:g} min "
            f"contre {base.total_minutes:g} min à la première solution"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--db", type=Path, default=None)
    p.add_argument("--kmax", type=int, default=10)
    args = p.parse_args(argv)
    con = db.connect(args.db or config.default_db_path(), read_only=True)
    lines = bench_sites(con, args.kmax) + bench_programme(con)
    print("\n== Résumé ==")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
