"""Benchmark: evaluating a mobility scenario (issue 23) against a full build, in the same run.

Usage::

    .venv/bin/python bench/scenario.py [--db data/observatoire.duckdb] [--no-build]

Prints, measured in the same run:

- the acceptance shuttle (07:00, 07:30, 08:00 at 40 km/h from the commune without any reachable
  offer that has the most pupils — transit, 45 min — to the nearest commune with at least 5
  offers): in-process, warm (median of 3 runs after one warm-up), and from the command line
  including start-up (``python -m analysis.scenario run``);
- a scenario of bikes for that commune and one new host there;
- the baseline: the whole build (``analysis.build.build``: graphs, four modes, indicators) into a
  temporary file, which is what recomputing everything would cost (``--no-build`` skips it);

with the ratios to the build. Targets: < 5 s in process, < 30 s from the command line.
The real database is only read.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analysis import db  # noqa: E402
from analysis.config import default_db_path  # noqa: E402
from analysis.scenario import evaluate as ev  # noqa: E402
from analysis.scenario.spec import parse  # noqa: E402


def shuttle_doc(con) -> dict:
    base = ev.evaluate(con, parse({})).origins
    worst = base[base["offers_before"] == 0].sort_values("pupils", ascending=False).iloc[0]
    lon, lat = con.execute("SELECT lon, lat FROM communes WHERE code = ?", [worst["code"]]).fetchone()
    target = con.execute(
        """SELECT c.code FROM offers f JOIN communes c ON c.code = f.commune_code
            GROUP BY c.code, c.lon, c.lat HAVING count(*) >= 5
            ORDER BY (c.lon - $lon) ^ 2 * cos(radians($lat)) ^ 2 + (c.lat - $lat) ^ 2 LIMIT 1""",
        {"lon": lon, "lat": lat},
    ).fetchone()[0]
    return {
        "name": f"navette {worst['name']}",
        "lines": [
            {
                "stops": [{"commune": worst["code"]}, {"commune": target}],
                "departures": ["07:00", "07:30", "08:00"],
                "speed_kph": 40,
            }
        ],
    }


def timed(con, doc: dict, runs: int = 3) -> tuple[float, ev.ScenarioResult]:
    ev.evaluate(con, parse(doc))  # warm-up: graph cache, numba, timetable
    times, res = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        res = ev.evaluate(con, parse(doc))
        times.append(time.perf_counter() - t0)
    return statistics.median(times), res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", type=Path, default=default_db_path())
    ap.add_argument("--no-build", action="store_true")
    args = ap.parse_args()
    with db.connect(args.db, read_only=True, spatial=False) as con:
        doc = shuttle_doc(con)
        t_line, res = timed(con, doc)
        code = doc["lines"][0]["stops"][0]["commune"]
        other = {"name": "vélos et accueil", "bike": {"communes": [code], "kph": 20}, "hosts": [{"commune": code}]}
        t_other, res2 = timed(con, other)
    print(f"Navette « {doc['name']} » : gain {res.gain_pupils:.0f} élèves, en processus (chaud) {t_line:.2f} s")
    print(f"Vélos + un accueil : gain {res2.gain_pupils:.0f} élèves, en processus (chaud) {t_other:.2f} s")
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "navette.json"
        spec.write_text(json.dumps(doc), encoding="utf-8")
        t0 = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-m", "analysis.scenario", "run", str(spec), "--db", str(args.db)],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        t_cli = time.perf_counter() - t0
        print(f"Ligne de commande (démarrage compris) : {t_cli:.2f} s (code {out.returncode})")
        if args.no_build:
            return
        from analysis.build import BuildSettings, build
        from analysis.config import default_source_dir
        from analysis.progress import silent

        info = None
        with db.connect(args.db, read_only=True, spatial=False) as con:
            info = json.loads(con.execute("SELECT value FROM build_info WHERE key = 'settings'").fetchone()[0])
        t0 = time.perf_counter()
        build(
            BuildSettings(
                source_dir=default_source_dir(),
                db_path=Path(tmp) / "build.duckdb",
                gtfs=[Path(p) for p in info.get("gtfs", [])],
                replay_imports=False,
            ),
            silent,
        )
        t_build = time.perf_counter() - t0
    print(f"Référence : construction complète {t_build:.1f} s")
    print(
        f"Rapports : navette / construction = {t_line / t_build:.3f} ; ligne de commande / construction = {t_cli / t_build:.3f}"
    )


if __name__ == "__main__":
    main()
