"""Command line ``python -m analysis.traveltime route ...`` (one trip, JSON on stdout)."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

from analysis.errors import DataError
from analysis.traveltime.route import route
from analysis.traveltime.settings import ALL_MODES


def _lonlat(text: str) -> tuple[float, float]:
    """A ``LON,LAT`` argument: two numbers, a longitude and a latitude. Where it may lie is
    checked once the network is known (:func:`analysis.traveltime.route.route`): in Normandie, or
    in the extent of the ``--network`` file, and within the mode's snapping limit."""
    import argparse

    from analysis.validate_args import ArgumentError, parse_point

    try:
        return parse_point(text, bbox=(-180.0, -90.0, 180.0, 90.0), margin=0.0)
    except ArgumentError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def main(argv: list[str] | None = None) -> int:
    from analysis.validate_args import ArgParser, fail

    parser = ArgParser(prog="python -m analysis.traveltime", description="Temps de trajet de l'observatoire.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("route", help="un trajet, affiché en JSON (minutes et étapes)")
    p.add_argument("--mode", required=True, choices=ALL_MODES)
    p.add_argument("--from", dest="src", required=True, type=_lonlat, metavar="LON,LAT")
    p.add_argument("--to", dest="dst", required=True, type=_lonlat, metavar="LON,LAT")
    p.add_argument("--date", default=None, help="date de service (transports en commun), AAAA-MM-JJ")
    p.add_argument("--depart", default=None, help="heure de départ HH:MM (transports en commun)")
    p.add_argument(
        "--network",
        default=None,
        type=Path,
        help="réseau : fichier OSM/couche routière (route) ou GTFS (transports en commun)",
    )
    p.add_argument("--db", default=None, type=Path, help="base DuckDB (transports en commun)")
    p.add_argument(
        "--rabattement-velo",
        dest="bike_access",
        action="store_true",
        help="transports en commun : aller à vélo jusqu'au premier arrêt (30 min au plus ; à pied par défaut)",
    )
    argv = list(sys.argv[1:] if argv is None else argv)
    # "--from -0.37,49.18": a negative longitude would read as an option; glue it to its flag.
    for i in range(len(argv) - 2, -1, -1):
        if argv[i] in ("--from", "--to") and argv[i + 1].startswith("-"):
            argv[i : i + 2] = [f"{argv[i]}={argv[i + 1]}"]
    args = parser.parse_args(argv)
    if args.date is not None:
        try:
            dt.date.fromisoformat(args.date)
        except ValueError:
            parser.error(f"date invalide : {args.date!r} (attendu AAAA-MM-JJ)")
    if args.network is None:  # the regional network: points in Normandie (fails before loading it)
        from analysis.validate_args import ArgumentError, check_point

        try:
            for point in (args.src, args.dst):
                check_point(*point)
        except ArgumentError as exc:
            return fail(exc)
    try:
        result = route(
            args.mode,
            args.src,
            args.dst,
            date=args.date,
            depart=args.depart,
            network=args.network,
            db_path=args.db,
            bike_access=args.bike_access,
        )
    except (DataError, FileNotFoundError, ValueError) as exc:  # GTFSError is a DataError
        return fail(exc)
    print(json.dumps(result, ensure_ascii=False, indent=2, default=float))
    return 0
