"""Recompute the straight-line detour factors of walking and cycling on the mirror's real streets.

Usage::

    .venv/bin/python bench/detour_calibration.py [--source ../shared/data] [--pairs 3000] [--seeds 3]

For central Rouen (OSM 2013, urban) and Luneray (OSM-derived shapefile, rural), walk and bike:
random node pairs of the largest strongly connected component (seed ``analysis.network.detour.SEED``),
network distance (Dijkstra on the mode's edges) over straight-line distance. Prints per network
and mode: pairs, the factor (median ratio), the ratio of sums, P10/P90 of the ratio, and the error
of ``straight x factor`` against the network distance (median and P90 of the absolute relative
error), next to the same error for the former uniform factor 1.3 (the baseline, same pairs).
Then the spread of the factor over other seeds, the constants recorded in ``analysis.network.detour``
and whether the fresh figures reproduce them, and the settled density of Luneray
(``analysis.network.intracommune.SETTLED_DENSITY_PER_KM2``). Figures are copied in ``docs/traveltime.md``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analysis import config  # noqa: E402
from analysis.network import detour, intracommune  # noqa: E402
from analysis.sources import registry as sources  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=config.default_source_dir())
    parser.add_argument("--pairs", type=int, default=detour.N_PAIRS)
    parser.add_argument("--seeds", type=int, default=3, help="extra seeds for the spread of the factor")
    args = parser.parse_args(argv)
    if args.source is None or not Path(args.source).is_dir():
        print("Erreur : miroir de données introuvable (--source)", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    fits = detour.calibrate(args.source, n_pairs=args.pairs)
    rows = []
    for f in fits:
        rows.append(
            {
                "réseau": f.group,
                "mode": f.mode,
                "paires": f.n_pairs,
                "facteur": round(f.factor, 3),
                "ratio des sommes": round(f.ratio_of_sums, 3),
                "P10": round(f.p10, 3),
                "P90": round(f.p90, 3),
                "erreur médiane": f"{f.err_median:.1%}",
                "erreur P90": f"{f.err_p90:.1%}",
                "1,3 : médiane": f"{f.err13_median:.1%}",
                "1,3 : P90": f"{f.err13_p90:.1%}",
                "distance médiane (m)": round(f.straight_median_m),
                "constante": detour.CALIBRATED[(f.group, f.mode)],
                "reproduite": round(f.factor, 2) == detour.CALIBRATED[(f.group, f.mode)],
            }
        )
    print(f"Facteurs de détour mesurés (graine {detour.SEED}, {time.perf_counter() - t0:.1f} s)")
    print(pd.DataFrame(rows).to_string(index=False))
    spread = []
    for k in range(1, args.seeds + 1):
        for f in detour.calibrate(args.source, n_pairs=args.pairs, seed=detour.SEED + k):
            spread.append({"réseau": f.group, "mode": f.mode, "facteur": f.factor})
    if spread:
        s = pd.DataFrame(spread).groupby(["réseau", "mode"])["facteur"].agg(["min", "max"]).round(3)
        print(f"\nFacteur sur {args.seeds} autres graines (min, max) :")
        print(s.to_string())
    print(
        "\nFacteurs utilisés (regroupés, pour les trajets hors densité connue) : "
        + ", ".join(f"{m} {detour.factor(m)}" for m in detour.MODES)
        + f", voiture {detour.factor('car')}"
    )
    comp = pd.read_csv(sources.resolve("communes_centres", args.source), dtype=str)
    pop = float(comp.loc[(comp["insee_com"] == "76400") & (comp["commune_type"] == "COM"), "population_2021"].iloc[0])
    dens = intracommune.measure_settled_density(Path(args.source) / "osm/luneray_76_gama/buildings.shp", pop)
    print(
        f"\nZone bâtie de Luneray ({pop:,.0f} hab., INSEE 2021 ; {dens['n_buildings']:.0f} bâtiments) : "
        f"{dens['buffered_km2']:.2f} km² (bâtiments + 50 m) -> {dens['density_buffered']:,.0f} hab./km² ; "
        f"enveloppe convexe {dens['hull_km2']:.2f} km² -> {dens['density_hull']:,.0f} hab./km². "
        f"Constante : {intracommune.SETTLED_DENSITY_PER_KM2:,.0f} hab./km²."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
