"""Dump what the project produces, to compare two versions of the code on the same mirror.

Usage::

    python bench/compare_outputs.py [--repo DIR] [--db FILE | --build [--keep-db FILE]] --out outputs.json
    python bench/compare_outputs.py --compare before.json after.json
    python bench/compare_outputs.py --diff-db before.duckdb after.duckdb

The first form writes one JSON file holding, for the code of ``--repo`` (default: this checkout):

- ``tables``: every DuckDB table and view of the database, its row count, an order-independent
  checksum per column (each value cast to text, hashed, summed) and of the whole table; a
  floating-point column is summarised by its sum, sum of absolute values, extremes and missing
  values instead, compared within a relative 1e-9 (DuckDB's parallel sums of doubles differ in
  their last bits from one run to the next, same code and data);
- ``cli``: the standard output of ``python -m analysis.access`` for a few fixed arguments and
  the content of CSV reports of ``python -m analysis.report`` (both run with ``cwd=--repo``);
- ``dashboard``: the data functions the pages read (``ui.data``), called with fixed filters,
  checksummed like the tables.

With ``--build`` a fresh database is built from the mirror (``$OBSERVATOIRE_SOURCE`` or
``../shared/data``) into a temporary directory with the code of ``--repo``; tables that hold the
build's time or paths (``build_info``, ``build_meta``, ``provenance``, ``travel_time_runs``)
are listed with their row counts but their time/path columns are left out of the checksum.

The second form prints the differences between two such files (exit code 1 when any). The third
compares two database files table by table: text and integer columns exactly, floating-point
columns within a relative 1e-9 (DuckDB's parallel sums of doubles differ in their last bits from
one build to the next, same code and data: ~1e-15 relative).
Figures only: nothing here is timed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

#: Columns holding a time, a path or a duration: they differ between any two builds.
VOLATILE_COLUMNS = {
    "built_at",
    "value",
    "loaded_at",
    "computed_at",
    "written_at",
    "path",
    "source_dir",
    "seconds",
    "elapsed_s",
    "started_at",
    "finished_at",
    "imported_at",
    "stamp",
    "duration_s",
    "file_mtime",
    "retrieved_at",
}
#: Tables where every column named in VOLATILE_COLUMNS is skipped.
VOLATILE_TABLES = {
    "build_info",
    "build_meta",
    "provenance",
    "travel_time_runs",
    "imports",
    "transit_feeds",
    "access_meta",
}
#: Significant digits kept of a floating-point value: DuckDB's parallel sums of doubles differ in
#: their last bits from one run to the next (same code, same data).
FLOAT_DIGITS = 10
#: Relative tolerance of the floating-point columns of the dashboard reads (stored as values).
FLOAT_REL_TOL = 1e-9

ACCESS_ARGS = [
    ["--level", "epci", "--mode", "transit", "--minutes", "45"],
    ["--level", "departement", "--mode", "car", "--minutes", "30", "--format", "json"],
    ["--level", "commune", "--mode", "walk", "--minutes", "30", "--within", "200067205"],
    ["--level", "epci", "--mode", "bike", "--minutes", "45", "--sector", "Commerce", "--grade", "seconde"],
    ["--per-origin", "--origin", "school", "--mode", "transit", "--minutes", "60"],
]
REPORT_ARGS = [
    ["--level", "epci", "--code", "200067205", "--format", "csv"],
    [
        "--level",
        "departement",
        "--code",
        "14",
        "--format",
        "csv",
        "--rows",
        "origines",
        "--mode",
        "car",
        "--minutes",
        "30",
    ],
]


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _float_stats(con, table: str, column: str) -> dict:
    """Sum, sum of absolute values, extremes and missing count of a floating-point column,
    compared within FLOAT_REL_TOL (a digest of rounded values flips when DuckDB's parallel sums
    cross a rounding boundary, same code and data)."""
    c = f'"{column}"'
    finite = f"CASE WHEN NOT isnan({c}) THEN {c} END"  # NaN kept out of sums and extremes, counted apart
    row = con.execute(
        f"SELECT coalesce(sum({finite}), 0), coalesce(sum(abs({finite})), 0), min({finite}), max({finite}), "
        f'count(*) - count({c}), count(*) FILTER (WHERE isnan({c})) FROM "{table}"'
    ).fetchone()
    return {"floatstats": [float(row[0]), float(row[1]), row[2], row[3], int(row[4]), int(row[5])]}


def table_checksums(db_path: Path) -> dict:
    import duckdb

    sys.path.insert(0, str(Path.cwd()))
    from analysis import db as dbmod  # the code under test (cwd = --repo)

    con = dbmod.connect(db_path, read_only=True)
    out: dict[str, dict] = {}
    rels = con.execute(
        "SELECT table_name, 'table' FROM duckdb_tables() UNION ALL "
        "SELECT view_name, 'view' FROM duckdb_views() WHERE NOT internal ORDER BY 1"
    ).fetchall()
    for name, kind in rels:
        cols = con.execute(
            "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ? ORDER BY column_index", [name]
        ).fetchall()
        n = con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
        per_col = {}
        for c, dtype in cols:
            if name in VOLATILE_TABLES and c in VOLATILE_COLUMNS:
                continue
            if dtype in ("DOUBLE", "FLOAT", "REAL"):
                per_col[c] = _float_stats(con, name, c)
                continue
            text = f'CAST("{c}" AS VARCHAR)'
            try:
                s = con.execute(
                    f"SELECT coalesce(sum(hash(coalesce({text}, '<null>'))::HUGEINT), 0) FROM \"{name}\""
                ).fetchone()[0]
            except duckdb.Error as exc:  # a type without a text cast
                s = f"error: {type(exc).__name__}"
            per_col[c] = str(s)
        out[name] = {
            "kind": kind,
            "rows": int(n),
            "columns": per_col,
            # the digest of the exact columns; floating-point ones are compared by their statistics
            "checksum": _digest(json.dumps({k: v for k, v in per_col.items() if isinstance(v, str)}, sort_keys=True)),
        }
    con.close()
    return out


def _table_text_sum(text: str, fmt: str) -> dict:
    """Checksums of a CSV/JSON table printed by a CLI, floats rounded (see FLOAT_DIGITS)."""
    import io

    import pandas as pd

    if not text.strip():
        return {"rows": 0}
    if fmt == "json":
        df = pd.read_json(io.StringIO(text), orient="records", dtype=False)
    else:
        sep = ";" if text.split("\n", 1)[0].count(";") > text.split("\n", 1)[0].count(",") else ","
        df = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False)
    return _frame_sum(df)


def _run(repo: Path, args: list[str], env: dict) -> dict:
    p = subprocess.run([sys.executable, *args], cwd=repo, env=env, capture_output=True, text=True, timeout=900)
    fmt = "json" if "json" in args else "csv"
    return {
        "rc": p.returncode,
        "table": _table_text_sum(p.stdout, fmt),
        "stderr_tail": p.stderr.strip().splitlines()[-1:] if p.returncode else [],
    }


def cli_outputs(repo: Path, db_path: Path) -> dict:
    env = dict(os.environ, OBSERVATOIRE_DB=str(db_path), PYTHONPATH=str(repo))
    out: dict[str, dict] = {}
    for a in ACCESS_ARGS:
        out["access " + " ".join(a)] = _run(repo, ["-m", "analysis.access", *a, "--db", str(db_path)], env)
    with tempfile.TemporaryDirectory() as tmp:
        for i, a in enumerate(REPORT_ARGS):
            dest = Path(tmp) / f"r{i}.csv"
            r = _run(repo, ["-m", "analysis.report", *a, "--db", str(db_path), "--out", str(dest)], env)
            r.pop("table")
            if dest.exists():
                r["file"] = _table_text_sum(dest.read_bytes().decode("utf-8-sig"), "csv")
            out["report " + " ".join(a)] = r
    return out


_DECIMAL = re.compile(r"-?\d+[.,]\d+(?:[eE][-+]?\d+)?")


def _value_text(v) -> str:
    """A cell as text for a checksum: floats (and numeric strings with a fraction) rounded to
    FLOAT_DIGITS significant digits, missing values as <null>."""
    if v is None or (isinstance(v, float) and v != v):
        return "<null>"
    if isinstance(v, float):
        return f"{v:.{FLOAT_DIGITS}g}"
    if isinstance(v, str) and _DECIMAL.fullmatch(v):  # "12.5" or the reports' "12,5"
        return f"{float(v.replace(',', '.')):.{FLOAT_DIGITS}g}"
    return repr(v)


def _frame_sum(df) -> dict:
    import pandas as pd

    if isinstance(df, tuple):  # (frame, service date)
        return {"frame": _frame_sum(df[0]), "extra": str(df[1])}
    if isinstance(df, (dict, list, set)):
        return {"value": _digest(json.dumps(sorted(df) if isinstance(df, set) else df, sort_keys=True, default=str))}
    assert isinstance(df, pd.DataFrame), type(df)
    cols = {}
    for c in df.columns:
        if pd.api.types.is_float_dtype(df[c]):
            # the values themselves (sorted, missing last), compared within FLOAT_REL_TOL: a digest of
            # rounded values flips when a parallel sum's last bits cross a rounding boundary
            values = df[c].dropna().astype(float).sort_values().tolist()
            cols[str(c)] = {"floats": values, "missing": int(df[c].isna().sum())}
            continue
        s = df[c].map(_value_text)
        cols[str(c)] = _digest("\n".join(sorted(s)))
    return {"rows": len(df), "columns": cols}


def dashboard_outputs(repo: Path, db_path: Path) -> dict:
    """The ``ui.data`` functions the pages call, run in a child process with the code of ``repo``."""
    code = r"""
import inspect, json, logging, sys, warnings
warnings.filterwarnings("ignore")
logging.disable(logging.WARNING)
sys.path.insert(0, ".")
sys.path.insert(0, sys.argv[1])
from compare_outputs import _frame_sum
from ui import data
from ui.core import db_version
from analysis.access import Filters
v = db_version()
if "filters" not in inspect.signature(data.territory_table).parameters:  # code before issue 21 (item 3)
    HOSTS = {None: "", True: "public", False: "prive"}
    _old = data.territory_table, data.origin_table, data.offer_points
    def _args(f):
        return (f.mode, f.minutes, f.sectors, f.grade or "", HOSTS[f.public], f.origin_kind, v)
    data.territory_table = lambda level, f, v, **kw: _old[0](level, *_args(f), **kw)
    data.origin_table = lambda f, v: _old[1](*_args(f))
    data.offer_points = lambda f, v: _old[2](f.sectors, f.grade or "", HOSTS[f.public], v)
calls = {
  "modes_available": lambda: data.modes_available(v),
  "territory epci transit 45": lambda: data.territory_table("epci", Filters(mode="transit", minutes=45), v),
  "territory commune car 30 within 14": lambda: data.territory_table("commune", Filters(mode="car", minutes=30), v, within="14"),
  "territory epci bike 45 seconde public": lambda: data.territory_table("epci", Filters(mode="bike", minutes=45, grade="seconde", public=True), v),
  "origin school transit 45": lambda: data.origin_table(Filters(mode="transit", minutes=45, origin_kind="school"), v),
  "sector_list": lambda: data.sector_list(v),
  "offer_points all": lambda: data.offer_points(Filters(), v),
  "offer_points seconde prive": lambda: data.offer_points(Filters(grade="seconde", public=False), v),
  "school_points": lambda: data.school_points(v),
  "communes_list": lambda: data.communes_list(v),
  "epci_list": lambda: data.epci_list(v),
  "departements_list": lambda: data.departements_list(v),
  "collective": lambda: data.collective(v),
  "stops": lambda: data.stops(v),
  "stop_coverage": lambda: data.stop_coverage(v),
  "times_from_origin commune 14118 transit": lambda: data.times_from_origin("commune", "14118", "transit", v),
  "times_from_origin commune 76540 car": lambda: data.times_from_origin("commune", "76540", "car", v),
  "offers_summary": lambda: data.offers_summary(v),
  "estimate_counts": lambda: data.estimate_counts(v),
}
out = {}
for k, fn in calls.items():
    try:
        out[k] = _frame_sum(fn())
    except Exception as exc:
        out[k] = {"error": f"{type(exc).__name__}: {exc}"}
print(json.dumps(out))
"""
    env = dict(os.environ, OBSERVATOIRE_DB=str(db_path), PYTHONPATH=str(repo))
    p = subprocess.run(
        [sys.executable, "-c", code, str(Path(__file__).resolve().parent)],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    if p.returncode:
        return {"error": p.stderr.strip().splitlines()[-3:]}
    return json.loads(p.stdout.strip().splitlines()[-1])


def build_db(repo: Path, dest: Path) -> float:
    import time

    t0 = time.perf_counter()
    env = dict(os.environ, PYTHONPATH=str(repo))
    p = subprocess.run(
        [sys.executable, "-m", "analysis.build", "--db", str(dest), "--quiet", "--no-replay-imports"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
    )
    if p.returncode:
        raise SystemExit(f"build failed:\n{p.stdout}\n{p.stderr}")
    return time.perf_counter() - t0


def diff_databases(path_a: Path, path_b: Path, rel_tol: float = 1e-9) -> list[str]:
    """Table-by-table differences of two database files: row counts, text/integer columns
    exactly (as multisets), floating-point columns sorted and compared with ``rel_tol``."""
    import numpy as np

    sys.path.insert(0, str(Path.cwd()))
    from analysis import db as dbmod

    ca, cb = dbmod.connect(path_a, read_only=True), dbmod.connect(path_b, read_only=True)
    out = []
    ta, tb = dbmod.relations(ca), dbmod.relations(cb)
    out += [f"- {t} (only in first)" for t in sorted(ta - tb)] + [f"+ {t} (only in second)" for t in sorted(tb - ta)]
    for t in sorted(ta & tb):
        cols_a = dict(
            ca.execute(
                "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ? "
                "AND database_name = current_database()",
                [t],
            ).fetchall()
        )
        cols_b = dict(
            cb.execute(
                "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ? "
                "AND database_name = current_database()",
                [t],
            ).fetchall()
        )
        if cols_a != cols_b:
            out.append(f"~ {t}: columns {sorted(set(cols_a) ^ set(cols_b))} or types differ")
            continue
        keys = [
            c
            for c, ty in cols_a.items()
            if ty not in ("DOUBLE", "FLOAT", "REAL")
            and not (t in VOLATILE_TABLES and c in VOLATILE_COLUMNS)
            and not ty.startswith("GEOMETRY")
            and ty not in ("BLOB",)
        ]
        floats = [
            c
            for c, ty in cols_a.items()
            if ty in ("DOUBLE", "FLOAT", "REAL") and not (t in VOLATILE_TABLES and c in VOLATILE_COLUMNS)
        ]
        order = ", ".join(f'"{c}"' for c in keys) or "1"
        sel = ", ".join([f'CAST("{c}" AS VARCHAR)' for c in keys] + [f'"{c}"::DOUBLE' for c in floats]) or "1"
        ra = ca.execute(f'SELECT {sel} FROM "{t}" ORDER BY {order}').fetchall()
        rb = cb.execute(f'SELECT {sel} FROM "{t}" ORDER BY {order}').fetchall()
        if len(ra) != len(rb):
            out.append(f"~ {t}: {len(ra)} -> {len(rb)} rows")
            continue
        k = len(keys)
        if [r[:k] for r in ra] != [r[:k] for r in rb]:
            bad = [c for i, c in enumerate(keys) if [r[i] for r in ra] != [r[i] for r in rb]]
            out.append(f"~ {t}: values differ in {bad}")
            continue
        for j, c in enumerate(floats):
            x = np.array([np.nan if r[k + j] is None else r[k + j] for r in ra], dtype=float)
            y = np.array([np.nan if r[k + j] is None else r[k + j] for r in rb], dtype=float)
            if not np.array_equal(np.isnan(x), np.isnan(y)):
                out.append(f"~ {t}.{c}: missing values differ")
                continue
            m = ~np.isnan(x)
            rel = np.abs(x[m] - y[m]) / np.maximum(np.abs(x[m]), 1e-300)
            worst = float(rel.max()) if rel.size else 0.0
            if worst > rel_tol:
                out.append(f"~ {t}.{c}: max relative difference {worst:.2e}")
    return out


def _same_stats(a: list, b: list) -> bool:
    """Equal float-column statistics: sums within FLOAT_REL_TOL of the sum of absolute values,
    extremes within FLOAT_REL_TOL, same counts of missing values and NaN."""
    if a[4:] != b[4:]:
        return False
    scale = max(abs(a[1]), abs(b[1]), 1e-300)
    if abs(a[0] - b[0]) > FLOAT_REL_TOL * scale or abs(a[1] - b[1]) > FLOAT_REL_TOL * scale:
        return False
    for x, y in zip(a[2:4], b[2:4], strict=True):
        if (x is None) != (y is None):
            return False
        if x is not None and abs(x - y) > FLOAT_REL_TOL * max(abs(x), abs(y), 1e-300):
            return False
    return True


def _worst_relative_gap(a: list[float], b: list[float]) -> float:
    """Largest relative difference between two sorted value lists (infinite when their lengths differ)."""
    if len(a) != len(b):
        return float("inf")
    return max((abs(x - y) / max(abs(x), abs(y), 1e-300) for x, y in zip(a, b, strict=True)), default=0.0)


def compare(a: dict, b: dict, path: str = "") -> list[str]:
    """Differences between two dumps, as readable lines."""
    diffs: list[str] = []
    for k in sorted(set(a) | set(b)):
        p = f"{path}/{k}" if path else k
        if k not in a:
            diffs.append(f"+ {p} (only in second)")
        elif k not in b:
            diffs.append(f"- {p} (only in first)")
        elif isinstance(a[k], dict) and isinstance(b[k], dict):
            diffs.extend(compare(a[k], b[k], p))
        elif k == "floatstats" and isinstance(a[k], list) and isinstance(b[k], list):
            if not _same_stats(a[k], b[k]):
                diffs.append(f"~ {p}: {a[k]!r} -> {b[k]!r}")
        elif k == "floats" and isinstance(a[k], list) and isinstance(b[k], list):
            worst = _worst_relative_gap(a[k], b[k])
            if worst > FLOAT_REL_TOL:
                diffs.append(f"~ {p}: {len(a[k])} -> {len(b[k])} values, max relative difference {worst:.2e}")
        elif a[k] != b[k]:
            diffs.append(f"~ {p}: {a[k]!r} -> {b[k]!r}")
    return diffs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repo", type=Path, default=Path(__file__).resolve().parent.parent)
    ap.add_argument("--db", type=Path, default=None)
    ap.add_argument("--build", action="store_true", help="build a fresh database from the mirror first")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--compare", nargs=2, type=Path, metavar=("BEFORE", "AFTER"))
    ap.add_argument("--keep-db", type=Path, default=None, help="with --build: copy the built database here")
    ap.add_argument(
        "--diff-db",
        nargs=2,
        type=Path,
        metavar=("A", "B"),
        help="compare two database files (floats with a relative tolerance of 1e-9)",
    )
    args = ap.parse_args(argv)
    if args.diff_db:
        diffs = diff_databases(*args.diff_db)
        print("\n".join(diffs) if diffs else "identical (floats within 1e-9)")
        return 1 if diffs else 0
    if args.compare:
        a, b = (json.loads(p.read_text()) for p in args.compare)
        diffs = [d for d in compare(a, b) if not d.startswith("~ meta/")]
        print("\n".join(diffs) if diffs else "identical")
        print(f"{len(diffs)} difference(s)")
        return 1 if diffs else 0
    repo = args.repo.resolve()
    os.chdir(repo)
    with tempfile.TemporaryDirectory() as tmp:
        meta: dict = {"repo": str(repo)}
        try:
            meta["commit"] = subprocess.run(
                ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True
            ).stdout.strip()
        except OSError:
            pass
        if args.build:
            db_path = Path(tmp) / "observatoire.duckdb"
            meta["build_seconds"] = round(build_db(repo, db_path), 1)
            if args.keep_db:
                import shutil

                shutil.copyfile(db_path, args.keep_db)
        else:
            db_path = (args.db or repo / "data" / "observatoire.duckdb").resolve()
        meta["db"] = str(db_path) if not args.build else "(fresh build)"
        result = {
            "meta": meta,
            "tables": table_checksums(db_path),
            "cli": cli_outputs(repo, db_path),
            "dashboard": dashboard_outputs(repo, db_path),
        }
    text = json.dumps(result, indent=1, sort_keys=True, ensure_ascii=False)
    if args.out:
        args.out.write_text(text + "\n")
        print(
            f"written: {args.out} ({len(result['tables'])} tables, {len(result['cli'])} CLI runs, "
            f"{len(result['dashboard'])} dashboard reads)"
        )
    else:
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
