"""Command line ``python -m analysis.reach FILE --mode M --minutes N ...``.

Exit code 0 when the file could be read (refused rows are in the output with their reason),
2 with one French line on stderr otherwise (unreadable file, bad argument). Writes only the
file named by ``--out`` (atomically), else prints JSON or CSV on stdout.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
from pathlib import Path

from analysis import catalogue, config
from analysis.reach.output import FORMATS, render
from analysis.text import count

_HHMM = re.compile(r"^([01]?\d|2[0-3]):[0-5]\d$")


def _parser():
    from analysis.validate_args import ArgParser

    p = ArgParser(
        prog="python -m analysis.reach",
        description="Offres de stage accessibles par élève depuis un fichier de classe (CSV ou XLSX).",
    )
    p.add_argument("file", type=Path, metavar="FICHIER", help="fichier de classe : une ligne par élève")
    p.add_argument("--mode", required=True, help="mode par défaut : " + ", ".join(catalogue.MODES))
    p.add_argument("--minutes", required=True, help="budget-temps par défaut, en minutes (1 à 90)")
    p.add_argument("--date", default=None, help="date de service des transports en commun, AAAA-MM-JJ")
    p.add_argument("--depart", default=None, help="heure de départ HH:MM (transports en commun)")
    p.add_argument("--sector", nargs="+", default=[], metavar="S", help="secteur(s) d'activité à garder")
    p.add_argument("--format", dest="fmt", default="json", help="format : " + ", ".join(FORMATS))
    p.add_argument("--out", type=Path, default=None, help="fichier à écrire (obligatoire en xlsx et pdf)")
    p.add_argument("--db", type=Path, default=None, help="base DuckDB (défaut : data/observatoire.duckdb)")
    p.add_argument(
        "--no-geocode",
        dest="geocode",
        action="store_false",
        help="ne pas envoyer les adresses à la Base Adresse Nationale (élèves placés à la mairie)",
    )
    p.add_argument("--geocoder-url", default=None, help="racine du service BAN (défaut : api-adresse.data.gouv.fr)")
    return p


def _check_args(args, con) -> tuple[str, int, tuple[str, ...]]:
    from analysis.validate_args import ArgumentError, check_budget, check_choice, check_mode, check_sectors

    mode = check_mode(args.mode)
    minutes = check_budget(args.minutes)
    check_choice(args.fmt, tuple(FORMATS), "le format")
    if args.date is not None:
        try:
            dt.date.fromisoformat(args.date)
        except ValueError:
            raise ArgumentError(f"date invalide : « {args.date} » (attendu AAAA-MM-JJ)") from None
    if args.depart is not None and not _HHMM.match(args.depart):
        raise ArgumentError(f"heure de départ invalide : « {args.depart} » (attendu HH:MM, ex. 07:30)")
    if args.fmt in ("xlsx", "pdf") and args.out is None:
        raise ArgumentError(f"le format {args.fmt} s'écrit dans un fichier : donnez --out FICHIER")
    sectors: tuple[str, ...] = ()
    if args.sector:
        known = [r[0] for r in con.execute("SELECT DISTINCT sector FROM offers WHERE sector IS NOT NULL").fetchall()]
        sectors = check_sectors(args.sector, sorted(known))
    return mode, minutes, sectors


def main(argv: list[str] | None = None) -> int:
    """Entry point: exit code 0 when the file was read, 2 otherwise."""
    from analysis import db as dbmod
    from analysis.errors import DataError
    from analysis.gtfs import GTFSError
    from analysis.reach.model import ReachRequest
    from analysis.reach.run import reach_from_bytes
    from analysis.report.render import write_report
    from analysis.validate_args import ArgumentError, fail

    args = _parser().parse_args(argv)
    path: Path = args.file
    try:
        data = path.read_bytes()
    except OSError as exc:
        return fail(f"{path} : fichier illisible ({exc.strerror or exc})", "analysis.reach")
    try:
        con = dbmod.connect(args.db or config.default_db_path(), read_only=True)
    except (OSError, DataError, FileNotFoundError) as exc:
        return fail(exc, "analysis.reach")
    try:
        mode, minutes, sectors = _check_args(args, con)
        request = ReachRequest(
            mode,
            minutes,
            date=args.date,
            depart=args.depart,
            sectors=tuple(sectors),
            geocode=args.geocode,
            geocoder_url=args.geocoder_url,
        )
        result = reach_from_bytes(data, path.name, con, request)
    except (ArgumentError, DataError, GTFSError, ValueError) as exc:
        return fail(exc, "analysis.reach")
    finally:
        con.close()
    content = render(result, args.fmt)
    if args.out is None:
        sys.stdout.buffer.write(content)
        sys.stdout.flush()
    else:
        write_report(args.out, content)
        n_ok = sum(p.origin.ok for p in result.pupils)
        print(
            f"Écrit : {args.out} ({count(n_ok, 'élève calculé', 'élèves calculés')} sur {len(result.pupils)})",
            file=sys.stderr,
        )
    return 0
