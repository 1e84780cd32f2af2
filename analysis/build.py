"""Build the DuckDB database from a source directory, atomically.

Usage::

    python -m analysis.build [--source DIR] [--db PATH] [--gtfs PATH ...] [--no-travel-times]

The new database is written beside the target and swapped in only when every stage succeeded:
a failed build leaves the previous database intact and readable.

Stages: base data (communes, EPCI, départements, lycées, offers, collective projects) ->
GTFS timetables -> travel times (walk, bike, car, transit) -> travel times to the candidate sites of
collective internships (analysis.planning.sitetimes) -> accessibility indicators.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path

import duckdb

from analysis import __version__, db, gtfs
from analysis.config import BuildSettings, default_db_path, default_source_dir
from analysis.errors import DataError
from analysis.progress import Progress, ProgressFn
from analysis.sources import collective, geography, offers, schools
from analysis.sources import registry as sources
from analysis.text import plural

#: Tables whose row counts the summary prints.
SUMMARY_TABLES = (
    "communes",
    "epci",
    "departements",
    "schools",
    "offers",
    "offer_locations",
    "offer_rejects",
    "collective_projects",
    "transit_stops",
    "transit_trips",
    "transit_stop_times",
    "travel_times",
    "travel_time_runs",
    "site_travel_times",
    "commune_pupils",
    "access_pairs",
    "accessibility",
    "territory_indicators",
    "imports",
    "import_quarantine",
    "mobility_services",
    "provenance",
)


def default_gtfs(source_dir: Path) -> list[Path]:
    """GTFS feeds found in the source directory (TER, then the Atoumod aggregate if present)."""
    feeds = []
    for ds in ("gtfs_ter", "gtfs_atoumod"):
        try:
            p = sources.resolve(ds, source_dir)
        except DataError:
            p = None
        if p is not None:
            feeds.append(p)
    return feeds


def _gtfs_dataset(feed: Path, source_dir: Path) -> tuple[str, str | None]:
    """Registry dataset and short feed id of a GTFS feed (``ter``, ``atoumod`` or from its name)."""
    for dataset, feed_id in (("gtfs_ter", "ter"), ("gtfs_atoumod", "atoumod")):
        try:
            if sources.resolve(dataset, source_dir) == feed:
                return dataset, feed_id
        except DataError:
            pass
    return "gtfs_autre", None


def build_into(con: duckdb.DuckDBPyConnection, settings: BuildSettings, progress: ProgressFn) -> None:
    """Run every stage into an open (new) database connection."""
    src = settings.source_dir
    con.execute(sources.PROVENANCE_DDL)
    progress("Communes, EPCI et départements (COG 2025)…", 0.02)
    geography.load(con, src, progress)
    progress("Lycées et effectifs de seconde…", 0.10)
    schools.load(con, src, progress)
    progress("Offres de stage et rapprochement des communes…", 0.15)
    offers.load(con, src, progress)
    progress("Projets de stages collectifs…", 0.18)
    collective.load(con, src, progress)

    from analysis import imports  # imports are replayed so that a rebuild keeps them

    if settings.replay_imports:
        progress("Imports enregistrés dans la base précédente…", 0.19)
        imports.build_stage(con, settings, progress)
    else:
        imports.create_tables(con)
    from analysis.scenario import store as scenario_store  # saved scenarios survive a rebuild

    scenario_store.carry_over(con, settings.db_path if settings.replay_imports else None)

    for i, feed in enumerate(settings.gtfs):
        progress(f"Horaires GTFS : {feed.name}…", 0.20 + 0.05 * i)
        dataset, feed_id = _gtfs_dataset(feed, src)
        counts = gtfs.load_into(con, feed, feed_id=feed_id, progress=progress)
        sources.record_provenance(con, dataset, feed, int(counts.get("transit_stop_times", 0)), src)

    if settings.travel_times:
        from analysis import access, traveltime

        progress("Temps de trajet (marche, vélo, voiture, transports en commun)…", 0.35)
        traveltime.build_travel_times(con, settings, progress)
        from analysis.planning import sitetimes  # collective-internship planner (issue 14)

        progress("Temps de trajet vers les sites candidats de stages collectifs…", 0.80)
        sitetimes.build_site_times(con, settings, progress)
        progress("Indicateurs d'accessibilité…", 0.85)
        access.build_tables(con, settings, progress)

    con.execute(
        "CREATE OR REPLACE TABLE build_info AS SELECT * FROM (VALUES "
        "('version', ?), ('built_at', ?), ('source_dir', ?), ('settings', ?)) t(key, value)",
        [
            __version__,
            dt.datetime.now().isoformat(timespec="seconds"),
            str(settings.source_dir),
            json.dumps({"gtfs": [str(p) for p in settings.gtfs], "travel_times": settings.travel_times}),
        ],
    )


def build(settings: BuildSettings, progress: ProgressFn | None = None) -> dict[str, int]:
    """Build the database atomically and return the row count of each table.

    Raises
    ------
    DataError
        When an input file is missing, truncated or malformed (the previous database is kept).
    """
    progress = progress or Progress()
    # every required source present and readable before anything is written (issue 12 item 5)
    check = sources.preflight(settings.source_dir)
    if check.problems:
        raise DataError(
            str(settings.source_dir),
            plural(
                len(check.problems), "source requise absente ou illisible", "sources requises absentes ou illisibles"
            )
            + " : "
            + " ; ".join(check.problems),
        )
    if check.optional_missing:
        progress("Sources facultatives absentes : " + ", ".join(check.optional_missing), None)
    for why in check.optional_unreadable:
        progress(f"Source facultative illisible, construite sans elle : {why}", None)
    Path(settings.db_path).parent.mkdir(parents=True, exist_ok=True)
    with db.write_lock(Path(settings.db_path)), db.atomic_database(settings.db_path) as con:
        build_into(con, settings, progress)
        con.execute("INSERT INTO build_info VALUES ('optional_missing', ?)", [json.dumps(check.optional_missing)])
        existing = db.relations(con)
        counts = {t: con.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in SUMMARY_TABLES if t in existing}
    return counts


def _french(exc: Exception) -> str:
    """A build failure in French: an ``OSError`` names its file and says why, without ``[Errno n]``."""
    if isinstance(exc, OSError):
        why = "droits insuffisants" if isinstance(exc, PermissionError) else (exc.strerror or str(exc))
        return f"{exc.filename or 'fichier'} : illisible ({why})"
    return str(exc)


def ensure_database(db_path: Path | None = None, source_dir: Path | None = None) -> Path:
    """Build the database when it does not exist yet; return its path."""
    db_path = Path(db_path or default_db_path())
    if not db_path.exists():
        src = source_dir or default_source_dir()
        if src is None:
            raise DataError("../shared/data", "aucun répertoire source : utilisez --source ou OBSERVATOIRE_SOURCE")
        build(BuildSettings(source_dir=Path(src), db_path=db_path, gtfs=default_gtfs(Path(src))))
    return db_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m analysis.build",
        description="Construit la base DuckDB de l'observatoire à partir des données sources.",
    )
    parser.add_argument("--source", type=Path, default=None, help="répertoire source (défaut : ../shared/data)")
    parser.add_argument("--db", type=Path, default=None, help="base à écrire (défaut : data/observatoire.duckdb)")
    parser.add_argument("--gtfs", type=Path, nargs="*", default=None, help="flux GTFS (zip ou dossier)")
    parser.add_argument("--no-travel-times", action="store_true", help="ne pas calculer les temps de trajet")
    parser.add_argument(
        "--no-replay-imports",
        action="store_true",
        help="ne pas rejouer les imports enregistrés dans la base précédente (base issue des seules sources)",
    )
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)

    src = args.source or default_source_dir()
    if src is None or not Path(src).is_dir():
        print(
            f"Erreur : répertoire source introuvable ({src or '../shared/data'}). "
            "Indiquez --source DIR, ou téléchargez les sources : python -m analysis.sources fetch --dest DIR",
            file=sys.stderr,
        )
        return 2
    src = Path(src).resolve()
    settings = BuildSettings(
        source_dir=src,
        db_path=(args.db or default_db_path()).resolve(),
        gtfs=args.gtfs if args.gtfs is not None else default_gtfs(src),
        travel_times=not args.no_travel_times,
        replay_imports=not args.no_replay_imports,
    )
    progress = Progress(quiet=args.quiet)
    t0 = time.perf_counter()
    try:
        counts = build(settings, progress)
    except (DataError, OSError) as exc:  # OSError: a file unreadable after the pre-check
        print(f"Échec de la construction : {_french(exc)}", file=sys.stderr)
        print(f"La base existante ({settings.db_path}) n'a pas été modifiée.", file=sys.stderr)
        return 1
    elapsed = time.perf_counter() - t0
    print(f"Base construite : {settings.db_path}")
    for table, n in counts.items():
        print(f"  {table:24} {n:>10,} lignes".replace(",", " "))
    check = sources.preflight(src)
    missing = check.optional_missing
    print("Sources facultatives absentes : " + (", ".join(missing) if missing else "aucune"))
    for why in check.optional_unreadable:
        print(f"  dont illisible : {why}")
    print(f"Durée : {elapsed:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
