"""Command line of the imports: ``python -m analysis.imports offers|collective|mobility PATH ...``.

Owns the argument parser and :func:`main` (exit codes: 0 written, 2 bad input, 3 refused).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from analysis import settings
from analysis.errors import DataError
from analysis.imports.auth import AuthError, WriteDisabled
from analysis.imports.schema import IMPORT_KINDS, OFFER_FORMATS, OFFER_MODES, OTHER_MODES, ImportRequest
from analysis.imports.transaction import import_file

# --------------------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    import logging

    from analysis.progress import Progress

    # a refused file is said in one French line below; the bounded check's diagnostics (child's
    # error stream) belong to a server log, not to this terminal
    logging.getLogger("observatoire.sandbox").addHandler(logging.NullHandler())

    parser = argparse.ArgumentParser(
        prog="python -m analysis.imports",
        description="Importe des offres de stage, des projets de stages collectifs ou des services de mobilité "
        "des EPCI (écriture réservée à l'administrateur : variable OBSERVATOIRE_ADMIN_SECRET).",
    )
    parser.add_argument("kind", choices=IMPORT_KINDS, help="offers | collective | mobility")
    parser.add_argument("path", type=Path, help="fichier CSV (UTF-8 ou Windows-1252, ; ou ,) ou XLSX")
    parser.add_argument(
        "--format",
        dest="fmt",
        choices=OFFER_FORMATS,
        default=None,
        help="format des offres (détecté d'après l'en-tête par défaut)",
    )
    parser.add_argument(
        "--mode",
        choices=sorted(set(OFFER_MODES) | set(OTHER_MODES)),
        default=None,
        help="offres : replace-source (défaut), append, replace-all ; autres : append (défaut), replace-all",
    )
    parser.add_argument(
        "--source", default=None, help="nom de la source (défaut : offers_platform ou import:<fichier>)"
    )
    parser.add_argument("--dry-run", action="store_true", help="contrôler sans rien écrire (pas de secret requis)")
    parser.add_argument("--db", type=Path, default=None, help="base DuckDB (défaut : data/observatoire.duckdb)")
    parser.add_argument("--strict-siret", action="store_true", help="format plateforme : rejeter les SIRET invalides")
    parser.add_argument("--geocode", action="store_true", help="géocoder les adresses avec la BAN (en ligne)")
    parser.add_argument(
        "--geocoder-url", default=None, help="racine du service BAN (défaut : api-adresse.data.gouv.fr)"
    )
    parser.add_argument("--user", default=settings.current().user, help="nom enregistré dans le journal des imports")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    if args.mode and args.kind != "offers" and args.mode not in OTHER_MODES:
        parser.error(f"mode {args.mode} impossible pour {args.kind} (append ou replace-all)")
    try:
        res = import_file(
            ImportRequest(
                args.path,
                args.kind,
                db_path=args.db,
                fmt=args.fmt,
                mode=args.mode,
                source=args.source,
                dry_run=args.dry_run,
                strict_siret=args.strict_siret,
                geocode=args.geocode,
                geocoder_url=args.geocoder_url,
                user=args.user,
            ),
            secret=settings.current().admin_secret,
            secret_from_environment=True,
            progress=Progress(quiet=args.quiet),
        )
    except (WriteDisabled, AuthError) as exc:
        print(f"Refusé : {exc}", file=sys.stderr)
        print("Astuce : --dry-run contrôle un fichier sans secret.", file=sys.stderr)
        return 3
    except (DataError, ValueError) as exc:
        print(f"Erreur : {exc}", file=sys.stderr)
        return 1
    print(res.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
