"""Command line ``python -m analysis.access`` and the indicator-filter arguments.

:func:`add_filter_arguments`, :func:`filters_from_args` and :func:`checked_filters_from_args` are
shared with ``python -m analysis.report``; :func:`main` prints an indicator table (CSV or JSON) on
stdout and :func:`transit_note` on stderr.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence

import duckdb

from analysis import catalogue, config
from analysis.access.filters import (
    GRADES,
    LEVELS,
    MODES,
    ORIGIN_KINDS,
    AccessError,
    Filters,
    max_minutes_of,
    require_tables,
    sectors,
)
from analysis.access.indicators import origin_accessibility, territory_indicators
from analysis.db import has_relation
from analysis.outputs import export


def add_filter_arguments(p: argparse.ArgumentParser) -> None:
    """Add the indicator filters (mode, budget, sectors, grade, hosts, origins) to a parser.

    Shared by the ``analysis.access`` and ``analysis.report`` commands; read them back with
    :func:`filters_from_args`.
    """
    p.add_argument(
        "--mode",
        choices=MODES,
        default=config.DEFAULT_MODE,
        help="mode de déplacement (transit = transports en commun des réseaux "
        "chargés, hors ligne TER seulement, ou marche)",
    )
    p.add_argument("--minutes", type=int, default=config.DEFAULT_BUDGET_MIN, help="budget-temps en minutes")
    p.add_argument("--sector", action="append", default=[], help="secteur d'activité (répétable)")
    p.add_argument("--grade", choices=GRADES, default=None, help="niveau visé : seconde ou 3e")
    grp = p.add_mutually_exclusive_group()
    grp.add_argument(
        "--public", dest="public", action="store_const", const=True, default=None, help="accueils publics seulement"
    )
    grp.add_argument("--private", dest="public", action="store_const", const=False, help="accueils privés seulement")
    p.add_argument(
        "--origin",
        choices=ORIGIN_KINDS,
        default="commune",
        help="origine : commune de résidence (estimation) ou lycée (effectifs réels)",
    )
    p.add_argument("--db", default=None, help="base DuckDB (défaut : data/observatoire.duckdb)")


def filters_from_args(args: argparse.Namespace) -> Filters:
    """The :class:`Filters` of arguments added by :func:`add_filter_arguments`."""
    return Filters(
        mode=args.mode,
        minutes=args.minutes,
        sectors=tuple(args.sector),
        grade=args.grade,
        public=args.public,
        origin_kind=args.origin,
    )


def checked_filters_from_args(con: duckdb.DuckDBPyConnection, args: argparse.Namespace) -> Filters:
    """:func:`filters_from_args` after checking the budget against the computed horizon and
    the sectors against the database (:mod:`analysis.validate_args`: a sector given in
    another case or without its accents is matched to the canonical sector).

    Raises
    ------
    analysis.validate_args.ArgumentError
        Budget out of range or unknown sector (one French line).
    """
    from analysis import validate_args as va

    minutes = va.check_budget(args.minutes, horizon=max_minutes_of(con))
    sectors_ = tuple(args.sector)
    if sectors_ and has_relation(con, "offers"):
        sectors_ = va.check_sectors(sectors_, sectors(con))
    return Filters(
        mode=args.mode, minutes=minutes, sectors=sectors_, grade=args.grade, public=args.public, origin_kind=args.origin
    )


def check_territory_arguments(
    con: duckdb.DuckDBPyConnection, level: str, code: str | None, within: str | None
) -> tuple[str | None, str | None]:
    """``--code`` (a territory of ``level``) and ``--within`` (an EPCI or a département)
    checked against the database; raises :class:`analysis.validate_args.ArgumentError`."""
    from analysis import validate_args as va

    tables = {"commune": "communes", "epci": "epci", "departement": "departements"}
    if code is not None:
        if level in tables:
            require_tables(con, tables[level])
        code = va.check_territory(code, level, va.known_territories(con, [level]))[1]
    if within is not None:
        if level not in ("commune", "epci"):
            raise va.ArgumentError(f"--within ne s'applique qu'aux niveaux commune et epci (niveau demandé : {level})")
        levels = ["epci", "departement"] if level == "commune" else ["departement"]
        require_tables(con, *(tables[lv] for lv in levels))
        within = va.check_territory(within, None, va.known_territories(con, levels))[1]
    return code, within


def _parser() -> argparse.ArgumentParser:
    from analysis.validate_args import ArgParser

    p = ArgParser(
        prog="python -m analysis.access", description="Indicateurs d'accessibilité aux offres de stage par territoire."
    )
    p.add_argument("--level", choices=LEVELS, default="region", help="niveau territorial")
    add_filter_arguments(p)
    p.add_argument("--code", default=None, help="un seul territoire (code INSEE, SIREN…)")
    p.add_argument("--within", default=None, help="territoires compris dans cet EPCI ou ce département")
    p.add_argument(
        "--per-origin", action="store_true", help="une ligne par origine (commune ou lycée) au lieu des territoires"
    )
    p.add_argument("--format", choices=("csv", "json"), default="csv")
    return p


def main(argv: Iterable[str] | None = None) -> int:
    """Command-line entry point; prints the indicator table on stdout."""
    from analysis import db as dbmod
    from analysis.validate_args import ArgumentError, fail

    args = _parser().parse_args(list(argv) if argv is not None else None)
    try:
        con = dbmod.connect(args.db or config.default_db_path(), read_only=True)
        try:
            filters = checked_filters_from_args(con, args)
            if args.per_origin:
                df = origin_accessibility(con, filters)
            else:
                code, within = check_territory_arguments(con, args.level, args.code, args.within)
                df = territory_indicators(con, args.level, filters, code, within=within)
            networks = catalogue.transit_networks(con)
        finally:
            con.close()
    except (AccessError, ArgumentError, FileNotFoundError) as exc:
        return fail(exc)
    if args.format == "csv":
        # the one CSV writer (text cells neutralised), in the plain format scripts read
        sys.stdout.write(export.csv_bytes(df, decimal=".", sep=",", bom=False).decode("utf-8"))
    else:
        sys.stdout.write(df.to_json(orient="records", force_ascii=False, indent=1))
        sys.stdout.write("\n")
    print(transit_note(networks), file=sys.stderr)
    return 0


def transit_note(networks: Sequence[str]) -> str:
    """The line the CLI prints on stderr: what « transit » and the ``*_transit`` columns mean
    with the networks loaded (« transports en commun (TER seulement) ou marche »)."""
    return (
        "Note : mode « transit » et colonnes « *_transit » = "
        + catalogue.mode_label("transit", networks, "lower").replace(" + ", " ou ")
        + "."
    )
