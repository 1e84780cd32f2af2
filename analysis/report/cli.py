"""Command line of the reports: ``python -m analysis.report --level ... --format ... --out ...``.

Owns the argument parser and :func:`main` (exit code 2 and no file on error).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable

from analysis import access, config
from analysis.access import AccessError
from analysis.report.columns import FORMATS, LEVELS
from analysis.report.errors import ReportError
from analysis.report.render import build_report, write_report
from analysis.text import format_number


def _parser() -> argparse.ArgumentParser:
    from analysis.validate_args import ArgParser

    p = ArgParser(
        prog="python -m analysis.report",
        description="Rapport d'écarts d'accès aux stages d'un territoire (CSV, XLSX ou PDF).",
    )
    # level and format are checked by build_report (French message, exit code 2, no file)
    p.add_argument(
        "--level", required=True, help="niveau territorial : " + ", ".join(LEVELS) + ", ou lycee (fiche d'un lycée)"
    )
    p.add_argument(
        "--code",
        default=None,
        help="code du territoire : code INSEE de commune, SIREN d'EPCI, code de "
        "département, UAI d'un lycée ; facultatif pour la région (28)",
    )
    p.add_argument("--format", required=True, dest="fmt", help="format du fichier : " + ", ".join(FORMATS))
    access.add_filter_arguments(p)
    p.add_argument(
        "--rows",
        default="territoires",
        help="CSV : une ligne par territoire (territoires, défaut) ou par origine "
        "(origines : communes de résidence ou lycées du territoire)",
    )
    p.add_argument(
        "--entetes",
        default="fr",
        dest="header",
        help="CSV : ligne d'en-tête en français (fr, défaut) ou noms techniques des "
        "colonnes et codes (cles), voir docs/reports.md",
    )
    p.add_argument("--out", required=True, help="fichier à écrire")
    return p


def main(argv: Iterable[str] | None = None) -> int:
    """Command-line entry point: write one report file; exit code 2 and no file on error."""
    from analysis import db as dbmod
    from analysis.progress import Progress
    from analysis.validate_args import ArgumentError, fail

    args = _parser().parse_args(list(argv) if argv is not None else None)
    try:
        con = dbmod.connect(args.db or config.default_db_path(), read_only=True)
        try:
            filters = access.checked_filters_from_args(con, args)
            if args.level == "lycee":
                from analysis.report.lycee import build_lycee_report

                content, _name, _mime = build_lycee_report(con, args.code, args.fmt, filters)
            else:
                content, _name, _mime = build_report(
                    con,
                    args.level,
                    args.code,
                    args.fmt,
                    filters,
                    rows=args.rows,
                    header=args.header,
                    progress=Progress(),
                )
        finally:
            con.close()
    except (ReportError, AccessError, ArgumentError, FileNotFoundError) as exc:
        return fail(exc)
    path = write_report(args.out, content)
    print(f"Rapport écrit : {path} ({format_number(len(content))} octets)", file=sys.stderr)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
