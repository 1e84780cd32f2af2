"""Car times of the project against real OSRM car times to Paris, every Normandie commune (issue 20).

Usage::

    .venv/bin/python bench/osrm_car.py [--source ../shared/data] [--no-fit]

For the 2,651 Normandie communes of ``roads/osrm_car_time_to_paris_2021`` (OSRM, July 2021), the
project's car time from the same centroid to Paris on the regional skeleton, through the gateway
communes of the margin (``analysis.network.car_calibration``: one Dijkstra on the reversed graph from a
virtual Paris node). Prints the distribution of the ratio project / OSRM (median, p10, p90,
share within ±10 %), on all communes, the fit half and the held-out half (CRC32 of the INSEE
code), for:

1. BEFORE: the car model before the OSRM fit (115/80/72 km/h, 40 km/h short segments, access 30 km/h);
2. BUILD: the constants the build uses now (``analysis.network.roads_layers``);
3. FIT: a fresh least-squares fit on the fit half (skipped with ``--no-fit``), to compare with 2.

Then, for the build's model, the ratio by département and by OSRM-time class, and the
« Normandie leg » ratio (the part of the trip that is not OSRM on both sides). Figures are
copied in ``docs/traveltime.md`` (« Calibration voiture contre OSRM »).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import asdict
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analysis import config  # noqa: E402
from analysis.network import car_calibration as cc  # noqa: E402
from analysis.network import roads  # noqa: E402
from analysis.traveltime.settings import SKELETON_RELPATH  # noqa: E402


def line(label: str, part: str, ratio) -> str:
    s = cc.summary(ratio)
    ok = "oui" if cc.accepted(s) else "non"
    return (
        f"{label:<7}{part:<9}n={s['n']:>5}  médiane {s['median']:.3f}  p10 {s['p10']:.3f}  p90 {s['p90']:.3f}"
        f"  ±10 % {100 * s['within10']:5.1f} %  critère {ok}"
    )


def table(label: str, df: pd.DataFrame, column: str = "ratio") -> None:
    fit = df["fit"].to_numpy()
    print(line(label, "toutes", df[column]))
    print(line(label, "ajust.", df[column][fit]))
    print(line(label, "témoin", df[column][~fit]))


def _row(label: str, g: pd.DataFrame) -> str:
    s, leg = cc.summary(g["ratio"]), cc.summary(g["leg_ratio"])
    return (
        f"  {label:<11} n={s['n']:>4}  trajet {s['median']:.3f} [{s['p10']:.3f}-{s['p90']:.3f}] {100 * s['within10']:5.1f} %"
        f"   tronçon {leg['median']:.3f} [{leg['p10']:.3f}-{leg['p90']:.3f}] {100 * leg['within10']:5.1f} %"
    )


def breakdown(df: pd.DataFrame) -> None:
    print("\nModèle du build, par département (médiane [p10-p90] ±10 %) :")
    for dep, g in df.groupby("dep"):
        print(_row(str(dep), g))
    classes = pd.cut(df["osrm_s"] / 60, [0, 90, 120, 150, 180, 210, 300])
    print("Par classe de temps OSRM vers Paris (min) :")
    for cls, g in df.groupby(classes, observed=True):
        print(_row(str(cls), g))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=config.default_source_dir())
    parser.add_argument("--no-fit", action="store_true", help="skip the fresh fit")
    args = parser.parse_args(argv)
    if args.source is None or not (Path(args.source) / cc.OSRM_RELPATH).is_file():
        print("Erreur : miroir de données introuvable (--source) ou référence OSRM absente", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    G = roads.load_road_graph(Path(args.source) / SKELETON_RELPATH)
    reference = cc.read_reference(args.source)
    cmp = cc.prepare(G, reference)
    normandie = reference[reference["in_normandie"].astype(bool)]
    off = sorted(set(normandie["insee"]) - set(cmp.communes["insee"]))
    if off:
        print(
            f"{len(off)} communes à plus de 2,5 km du squelette (estimations à vol d'oiseau), hors comparaison : {', '.join(off)}"
        )
    print(
        f"Squelette chargé, {len(cmp.communes)} communes normandes, {len(cmp.gateways)} portes "
        f"(départements {', '.join(cc.GATEWAY_DEPS)}) en {time.perf_counter() - t0:.1f} s"
    )
    t0 = time.perf_counter()
    before = cc.ratios(cmp, cc.CarParams.before_2026_12())
    print(f"Une évaluation (un Dijkstra, toutes les communes) : {time.perf_counter() - t0:.2f} s\n")
    print("Rapport temps projet / temps OSRM vers Paris")
    table("AVANT", before)
    build = cc.ratios(cmp, None)
    table("BUILD", build)
    print(f"  paramètres du build : {asdict(cc.CarParams.current())}")
    if not args.no_fit:
        t0 = time.perf_counter()
        params, res = cc.fit(cmp)
        print(f"\nAjustement (moitié « ajust. ») : {res.nfev} évaluations, {time.perf_counter() - t0:.1f} s")
        print(f"  paramètres ajustés : { {k: round(v, 2) for k, v in asdict(params).items()} }")
        table("AJUSTÉ", cc.ratios(cmp, params))
    print("\nTronçon normand seul (hors partie OSRM commune aux deux, trajets ≥ 10 min)")
    table("AVANT", before, "leg_ratio")
    table("BUILD", build, "leg_ratio")
    breakdown(build)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
