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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, default=config.default_db_path())
    ap.add_argument("--no-recompute", action="store_true")
    args = ap.parse_args()
    src = config.default_source_dir()
    if src is None or not args.db.exists():
        print("miroir ../shared/data ou base absente : lancez d'abord python -m analysis.build")
        return 2
    path = src / MIRROR_OFFERS
    os.environ.setdefault(imports.ENV_SECRET, "bench-secret")
    secret = os.environ[imports.ENV_SECRET]
    gate = imports.AdminGate(sleep=lambda s: None)
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
