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

Then the bounded check of the anonymous simulation (issue 12, :mod:`analysis.imports.sandbox`): peak
memory of the check process and wall time for the mirror's file (reference), for the largest
files accepted by :mod:`analysis.imports.limits` (SYNTHETIC: the mirror's rows repeated with new ids up
to the row and size limits, CSV and XLSX) and for refused bombs (an XLSX whose shared string
inflates to 1 GB, an XLSX of 1 million rows, a CSV over the size limit, a CSV of 1 million
short lines). Issue 12 target: any accepted file checked in < 1 GB and < 60 s; larger ones
refused before being parsed. ``--no-limits`` skips this part, ``--only-limits`` runs it alone.

Then (issue 15, ``--skip-new-communes`` to leave it out), in the same run: a SYNTHETIC file of
10 offers in 10 communes that had none (new locations) imported end to end with the
incremental recompute (:mod:`analysis.incremental.times`), into copies of a database the whole build
(``analysis.build.build``: graphs, four modes, indicators) has just written — the baseline —
first with an empty graph cache (the road network is loaded once and cached), then with the
cache the build filled; wall and CPU seconds and their ratios to the build, then the CPU
seconds of each step of the warm import (:data:`IMPORT_STEPS`, from its progress messages).
Target: < 3 s and <= 15 % of the full build.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import shutil
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analysis import config, db, imports  # noqa: E402
from analysis.imports import limits  # noqa: E402
from analysis.sources import offers  # noqa: E402

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
               GROUP BY 1, 2 ORDER BY hash(c.code) LIMIT ?""",
            [n],
        ).fetchall()
    finally:
        con.close()
    header = [c.header for c in imports.OFFER_TEMPLATE]
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=";", lineterminator="\r\n")
    w.writerow(header)
    for code, name, pc in picked:
        row = {
            "identifiant": f"SYN-BENCH-{code}",
            "employeur": "Employeur synthétique",
            "siret": "73282932000074",
            "secteur": "Commerce et distribution",
            "public": "non",
            "code_postal": pc,
            "commune": name,
            "places": "2",
            "niveaux": "seconde",
        }
        w.writerow([row.get(h, "") for h in header])
    return buf.getvalue().encode()


#: Steps of an import with the incremental recompute: (name, words of the progress message that
#: ends the step).
IMPORT_STEPS = (
    ("lecture et contrôles du fichier", "acceptée"),
    ("écriture des offres, appariement des lieux", "Mise à jour incrémentale"),
    ("recherches vers les lieux nouveaux (4 modes)", "Temps de trajet transit"),
    ("travel_times mis à jour sur place", "Mise à jour des indicateurs"),
    ("indicateurs (paires, accessibilité, territoires)", "Remplacement atomique"),
    ("point de contrôle et échange atomique", "Import terminé"),
)


def import_steps(marks: list[tuple[float, str]]) -> list[tuple[str, float]]:
    """CPU seconds of each step of :data:`IMPORT_STEPS`, from the (CPU time, message) marks of
    an import's progress (the first mark is its start)."""
    out: list[tuple[str, float]] = []
    if not marks:
        return out
    start, i = marks[0][0], 0
    for name, words in IMPORT_STEPS:
        j = next((k for k in range(i, len(marks)) if words in marks[k][1]), None)
        if j is None:
            continue
        out.append((name, marks[j][0] - start))
        start, i = marks[j][0], j
    return out


def bench_new_communes(src: Path, secret: str, gate) -> list[tuple[str, float, float]]:
    """Incremental import of 10 offers in new communes against the full build, same run.

    The full build (the baseline, which also fills its graph cache) writes a temporary
    database; the file is imported into copies of it, once with an empty graph cache and once
    with the build's. Wall and CPU seconds (``time.process_time``: every thread of this
    process, DuckDB's included; less sensitive to other work on the machine) of each.
    """
    from analysis.build import BuildSettings, build, default_gtfs
    from analysis.network import graphcache
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
            full, full_cpu, _ = timed(
                lambda: build(BuildSettings(source_dir=src, db_path=full_db, gtfs=default_gtfs(src)), silent)
            )
            f = tmp / "offres_synthetiques_10_communes.csv"
            f.write_bytes(new_commune_offers(full_db))
            work = tmp / "inc.duckdb"
            runs = {}
            marks: list[tuple[float, str]] = []
            for label, cache in (("cold", "cache-empty"), ("warm", "cache-build")):
                os.environ[graphcache.ENV_CACHE] = str(tmp / cache)
                shutil.copyfile(full_db, work)
                marks.clear()
                runs[label] = timed(
                    lambda: imports.import_file(
                        imports.ImportRequest(f, "offers", db_path=work, mode="append"),
                        secret=secret,
                        gate=gate,
                        progress=lambda m, x=None: marks.append((time.process_time(), m)),
                    )
                )
        finally:
            if old_cache is None:
                os.environ.pop(graphcache.ENV_CACHE, None)
            else:
                os.environ[graphcache.ENV_CACHE] = old_cache
    r = runs["warm"][2]
    load = open("/proc/loadavg").read().split()[:3]
    print(
        f"10 offres SYNTHÉTIQUES dans 10 communes sans offre ({r.accepted} acceptées, recalculé : "
        f"{'oui' if r.recomputed else 'non'}), même exécution, charge {' '.join(load)} :"
    )
    print(f"  {'':62} {'murale':>9} {'part':>7} {'CPU':>9} {'part':>7}")
    print(f"  {'construction complète (graphes, 4 modes, indicateurs)':62} {full:8.2f}s {'':>7} {full_cpu:8.2f}s")
    for label, name in (
        ("cold", "import + recalcul incrémental, cache de graphes vide"),
        ("warm", "import + recalcul incrémental, graphes en cache (normal)"),
    ):
        wall, cpu, _ = runs[label]
        print(f"  {name:62} {wall:8.2f}s {wall / full:7.1%} {cpu:8.2f}s {cpu / full_cpu:7.1%}")
    print("  cible : < 3 s et <= 15 % de la construction complète")
    print("  étapes de l'import (graphes en cache), CPU :")
    for name, cpu in import_steps(marks):
        print(f"    {name:60} {cpu:8.2f}s {cpu / full_cpu:7.1%}")
    return [("full_build", full, full_cpu)] + [(k, v[0], v[1]) for k, v in runs.items()]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, default=config.default_db_path())
    ap.add_argument("--no-recompute", action="store_true")
    ap.add_argument("--no-limits", action="store_true")
    ap.add_argument("--only-limits", action="store_true")
    ap.add_argument("--skip-new-communes", action="store_true")
    ap.add_argument("--skip-mirror-file", action="store_true")
    args = ap.parse_args()
    src = config.default_source_dir()
    if src is None or (not args.skip_mirror_file and not args.db.exists()):
        print("miroir ../shared/data ou base absente : lancez d'abord python -m analysis.build")
        return 2
    path = src / MIRROR_OFFERS
    if args.only_limits:
        return bench_limits(path, args.db)
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
        res = imports.import_file(imports.ImportRequest(path, "offers", db_path=work, dry_run=True))
        dry = time.perf_counter() - t

        t = time.perf_counter()
        imports.import_file(
            imports.ImportRequest(path, "offers", db_path=work, recompute=False), secret=secret, gate=gate
        )
        full = time.perf_counter() - t

        rows = [
            ("étape des offres de la construction (référence)", base),
            ("contrôles seuls (simulation)", dry),
            (f"import complet sans recalcul (copie de {size_mb:.0f} Mo + échange)", full),
        ]
        if not args.no_recompute:
            t = time.perf_counter()
            r = imports.import_file(imports.ImportRequest(path, "offers", db_path=work), secret=secret, gate=gate)
            rows.append(
                (
                    f"import complet avec recalcul (recalculé : {'oui' if r.recomputed else 'non'})",
                    time.perf_counter() - t,
                )
            )
    print(
        f"Fichier : {path.name} — {res.rows_in} lignes, {res.accepted} acceptées, "
        f"{res.quarantined} en quarantaine, {len(res.warnings)} avertissements"
    )
    for label, sec in rows:
        print(f"  {label:70} {sec:7.2f} s   x{sec / base:6.1f}")
    return 0 if args.no_limits else bench_limits(path, args.db)


# --------------------------------------------------------------------------- issue 12: limits


def _largest_csv(path: Path) -> bytes:
    """SYNTHETIC: the mirror's rows with new ids, up to MAX_ROWS rows and just under the size limit
    (the street field is padded)."""
    rows = list(csv.reader(path.read_bytes().decode("utf-8-sig").splitlines(), delimiter=";"))
    header, body = rows[0], [r for r in rows[1:] if r]
    street = header.index("Rue")

    def render(pad: int) -> bytes:
        buf = io.StringIO()
        w = csv.writer(buf, delimiter=";", lineterminator="\n")
        w.writerow(header)
        for i in range(limits.MAX_ROWS):
            r = list(body[i % len(body)])
            r[0] = f"SYN{i:07d}"
            r[street] = (r[street] + " " + "x" * pad)[:1990] if pad else r[street]
            w.writerow(r)
        return buf.getvalue().encode("utf-8")

    plain = len(render(0))
    data = render(max(0, (limits.MAX_UPLOAD_BYTES - 64 * 1024 - plain) // limits.MAX_ROWS))
    assert len(data) <= limits.MAX_UPLOAD_BYTES, len(data)
    return data


def _largest_xlsx(path: Path) -> bytes:
    """SYNTHETIC: the same rows as an XLSX (no padding: the row limit binds first)."""
    import openpyxl

    rows = list(csv.reader(path.read_bytes().decode("utf-8-sig").splitlines(), delimiter=";"))
    header, body = rows[0], [r for r in rows[1:] if r]
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("donnees")
    ws.append(header)
    for i in range(limits.MAX_ROWS):
        ws.append([f"SYN{i:07d}"] + body[i % len(body)][1:])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _xlsx_with_sheet(sheet_xml_chunks, shared: bytes | None = None) -> bytes:
    """An XLSX made from a one-row workbook whose sheet (and shared strings) are replaced."""
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.append(["id", "Ville"])
    base = io.BytesIO()
    wb.save(base)
    out = io.BytesIO()
    with zipfile.ZipFile(base) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            if info.filename == "xl/worksheets/sheet1.xml":
                with zout.open(info.filename, "w") as fh:
                    for chunk in sheet_xml_chunks():
                        fh.write(chunk)
            else:
                zout.writestr(info, zin.read(info.filename))
        if shared is not None:
            with zout.open("xl/sharedStrings.xml", "w") as fh:
                fh.write(b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>')
                chunk = b"A" * (1 << 20)
                for _ in range(len(shared) and 1024):  # 1 GB once inflated
                    fh.write(chunk)
                fh.write(b"</t></si></sst>")
    return out.getvalue()


def _rows_sheet(n: int):
    def chunks():
        ns = b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        yield ns
        block = []
        for i in range(1, n + 1):
            block.append(
                f'<row r="{i}"><c r="A{i}" t="inlineStr"><is><t>{i}</t></is></c>'
                f'<c r="B{i}" t="inlineStr"><is><t>Caen</t></is></c></row>'
            )
            if len(block) == 10_000:
                yield "".join(block).encode()
                block = []
        yield "".join(block).encode() + b"</sheetData></worksheet>"

    return chunks


def bench_limits(path: Path, db_path: Path) -> int:
    from analysis.errors import DataError
    from analysis.imports import sandbox

    cases = [("fichier du miroir (référence)", path.name, path.read_bytes())]
    cases.append(("plus grand CSV accepté (synthétique)", "max.csv", _largest_csv(path)))
    cases.append(("plus grand XLSX accepté (synthétique)", "max.xlsx", _largest_xlsx(path)))
    cases.append(("bombe XLSX : une chaîne partagée de 1 Go", "bombe.xlsx", _xlsx_with_sheet(_rows_sheet(1), b"x")))
    cases.append(("XLSX d'un million de lignes", "million.xlsx", _xlsx_with_sheet(_rows_sheet(1_000_000))))
    cases.append(("XLSX de 200 000 lignes (lecture arrêtée)", "200k.xlsx", _xlsx_with_sheet(_rows_sheet(200_000))))
    cases.append(
        (
            "CSV au-dessus de la taille maximale",
            "gros.csv",
            b"id;Ville\n" + b"1;Caen\n" * (limits.MAX_UPLOAD_BYTES // 7 + 10),
        )
    )
    cases.append(("CSV d'un million de lignes courtes", "lignes.csv", b"id;Ville\n" + b"1;C\n" * 1_000_000))
    print(
        f"\nContrôle borné (simulation anonyme) : limites {limits.MAX_UPLOAD_MB} Mo, {limits.MAX_ROWS} lignes, "
        f"{limits.CHECK_MEMORY_BYTES // 2**20} Mo, {limits.CHECK_SECONDS} s de CPU, {limits.CHECK_WALL_SECONDS} s "
        "de temps réel"
    )
    base = None
    for label, name, data in cases:
        t = time.perf_counter()
        try:
            res, stats = sandbox.run_check(data, name, "offers", db_path=db_path)
            outcome = f"accepté : {res.rows_in} lignes lues, {res.accepted} acceptées"
            sec, peak, cpu = stats.seconds, stats.peak_mb, stats.cpu_seconds
        except DataError as exc:
            stats = getattr(exc, "stats", None)
            sec = stats.seconds if stats else time.perf_counter() - t
            peak, cpu = (stats.peak_mb, stats.cpu_seconds) if stats else (None, None)
            where = (
                "interrompu"
                if isinstance(exc, sandbox.CheckRefused)
                else "refusé dans le processus de contrôle"
                if stats
                else "refusé avant le processus de contrôle"
            )
            outcome = f"{where} : {exc.message}"
        base = base or sec
        peak_txt = f"{peak:6.0f} Mo" if peak is not None else "     — "
        cpu_txt = f"{cpu:6.1f} s" if cpu is not None else "     — "
        print(
            f"  {label:42} {len(data) / 2**20:6.1f} Mo  mur {sec:6.1f} s  x{sec / base:5.1f}  CPU {cpu_txt}  "
            f"pic {peak_txt}  {outcome}"
        )
    print(
        f"  (charge de la machine : {os.getloadavg()[0]:.0f} sur {os.cpu_count()} cœurs ; le temps CPU est la "
        f"mesure qui ne dépend pas des autres processus)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
