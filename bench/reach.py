"""Benchmark of analysis.reach (issue 22 item 5): a class of 35 pupils by transit, 45 min.

Prints the computation time on warm networks (the page's case: networks loaded once per
server) against the 3 s target, the whole command line including start-up against the 20 s
target, and a baseline measured in the same run: one ``analysis.traveltime.route`` call per
pupil (35 calls, each to a single offer), what a per-pupil loop over the existing command would
cost before it had even listed the offers.

The class is SYNTHETIC: the 35 commune origin points nearest to Lycée Marie Curie (Vire), half
given as coordinates (100 m off the town hall), half as commune names. Nothing is written in the
project tree (the file for the command line goes to a temporary directory, removed after).

Usage::

    .venv/bin/python bench/reach.py [--db PATH] [--pupils 35] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analysis import config, db, reach, traveltime  # noqa: E402

WARM_TARGET_S, CLI_TARGET_S = 3.0, 20.0
#: Synthetic classes around these lycées: rural (Vire), urban (Caen), a TER town (Lisieux).
LYCEES = {
    "Lycée Marie Curie, Vire Normandie (0141555P)": (-0.8981404631402438, 48.83928524050605),
    "Lycée Malherbe, Caen (0140013N)": (-0.3730897302617749, 49.17474566925929),
    "Lycée Marcel Gambier, Lisieux (0140061R)": (0.2244798750584394, 49.14974290623892),
}


def class_file(con, n: int, lycee: tuple[float, float]) -> bytes:
    """``n`` synthetic pupils around the lycée (coordinates for odd rows, INSEE codes for even ones)."""
    df = con.execute(
        "SELECT code, name, lon, lat FROM communes ORDER BY (lon - ?) ^ 2 + ((lat - ?) * 1.5) ^ 2 LIMIT ?",
        [lycee[0], lycee[1], n],
    ).df()
    lines = ["eleve;longitude;latitude;commune"]
    for k, r in enumerate(df.itertuples(), start=1):
        if k % 2:
            lines.append(f"E{k:02d};{r.lon + 0.001:.6f};{r.lat + 0.0005:.6f};")
        else:
            lines.append(f"E{k:02d};;;{r.code}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def measure(con, db_path: Path, nets, data: bytes, lycee: tuple[float, float], repeat: int) -> dict:
    """Cold and warm computation times, the result's counts, and the route() baseline."""
    t0 = time.perf_counter()
    res = reach.reach_from_bytes(data, "classe.csv", con, reach.ReachRequest("transit", 45), networks=nets)
    cold = time.perf_counter() - t0
    warm = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        res = reach.reach_from_bytes(data, "classe.csv", con, reach.ReachRequest("transit", 45), networks=nets)
        warm.append(time.perf_counter() - t0)
    ok = [x for x in res.pupils if x.origin.ok]
    t0 = time.perf_counter()
    for x in ok:  # baseline: one route() call per pupil, to the lycée
        traveltime.route("transit", (x.origin.lon, x.origin.lat), lycee, db_path=db_path)
    return {
        "pupils": len(res.pupils),
        "ok": len(ok),
        "offers": sum(len(x.offers) for x in ok),
        "departures": sum(1 for x in ok for o in x.offers if o.get("departure")),
        "cold": cold,
        "warm": min(warm),
        "baseline": time.perf_counter() - t0,
    }


def command_line(db_path: Path, data: bytes) -> tuple[float, int]:
    """Seconds of the whole command (start-up included) and its exit code."""
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "classe.csv"
        f.write_bytes(data)
        t0 = time.perf_counter()
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "analysis.reach",
                str(f),
                "--mode",
                "transit",
                "--minutes",
                "45",
                "--db",
                str(db_path),
            ],
            cwd=ROOT,
            capture_output=True,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        )
        return time.perf_counter() - t0, proc.returncode


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Temps du calcul des offres accessibles par élève.")
    p.add_argument("--db", type=Path, default=None)
    p.add_argument("--pupils", type=int, default=35)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args(argv)
    db_path = Path(args.db or config.default_db_path())
    con = db.connect(db_path, read_only=True)
    nets = reach.ReachNetworks()
    good = True
    for name, lycee in LYCEES.items():
        data = class_file(con, args.pupils, lycee)
        m = measure(con, db_path, nets, data, lycee, args.repeat)
        cli, code = command_line(db_path, data)
        good &= m["warm"] < WARM_TARGET_S and cli < CLI_TARGET_S and code == 0
        print(f"Classe synthétique autour du {name} : {m['pupils']} élèves, {m['ok']} calculés, transports 45 min")
        print(
            f"  offres accessibles listées : {m['offers']} (dont {m['departures']} avec un premier départ en transport)"
        )
        print(f"  calcul, premier appel (chargement compris) : {m['cold']:6.2f} s")
        print(
            f"  calcul à chaud (meilleur de {args.repeat})            : {m['warm']:6.2f} s (objectif < {WARM_TARGET_S:g} s)"
        )
        print(
            f"  ligne de commande, démarrage compris        : {cli:6.2f} s (objectif < {CLI_TARGET_S:g} s) [code {code}]"
        )
        print(f"  référence : route() x {m['ok']} (un seul trajet par élève) : {m['baseline']:6.2f} s")
    con.close()
    return 0 if good else 1


if __name__ == "__main__":
    raise SystemExit(main())
