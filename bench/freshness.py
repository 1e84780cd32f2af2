"""Benchmark: the freshness check of the precomputed indicator tables.

Usage::

    .venv/bin/python bench/freshness.py [--db data/observatoire.duckdb] [--repeat 5]

Every indicator read asks "were access_pairs / accessibility built from the current
travel_times?". The check used to hash ``travel_times`` (row count, sum of milli-minutes and of
location ids: a full scan of ~1.1 million rows), once or twice per call; it now compares the stamp
written in ``build_meta`` when ``travel_times`` was computed (``analysis.db.read_stamp``).
Measured in the same run on the same database: the old hash (baseline, re-implemented here), the
stamp read, and a default ``territory_indicators`` call (precomputed table) that includes it.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analysis import access, config, db  # noqa: E402
from analysis.access import Filters  # noqa: E402


def old_signature(con) -> str:
    """The check before build_meta: an exact integer hash of travel_times."""
    n, total, locs = con.execute(
        "SELECT count(*), coalesce(sum(round(minutes::DOUBLE * 1000)::BIGINT), 0), "
        "coalesce(sum(loc_id::BIGINT), 0) FROM travel_times"
    ).fetchone()
    return f"{int(n)}:{int(total)}:{int(locs)}"


def timed(fn, repeat: int) -> float:
    fn()  # warm-up
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--db", type=Path, default=config.default_db_path())
    p.add_argument("--repeat", type=int, default=5)
    args = p.parse_args(argv)
    con = db.connect(args.db, read_only=True)
    if db.read_stamp(con, "travel_times") is None:
        print("Base sans tampon build_meta (construite avant ce changement) : reconstruisez-la.")
        return 2
    n = con.execute("SELECT count(*) FROM travel_times").fetchone()[0]
    t_old = timed(lambda: old_signature(con), args.repeat)
    t_new = timed(lambda: db.read_stamp(con, "travel_times"), args.repeat)
    t_call = timed(lambda: access.territory_indicators(con, "epci", Filters()), args.repeat)
    print(f"travel_times : {n:,} lignes".replace(",", " "))
    print(f"ancien contrôle (empreinte de travel_times) : {t_old * 1000:8.1f} ms")
    print(f"nouveau contrôle (tampon build_meta)        : {t_new * 1000:8.1f} ms  -> x{t_old / t_new:.0f}")
    print(
        f"territory_indicators epci, filtres par défaut (table précalculée, contrôle compris) : "
        f"{t_call * 1000:.1f} ms ; l'ancien contrôle y ajoutait 2 x {t_old * 1000:.0f} ms"
    )
    con.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
