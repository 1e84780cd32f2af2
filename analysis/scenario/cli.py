"""Command line: ``python -m analysis.scenario run|list|show|delete``.

``run SPEC.json`` evaluates a scenario and prints (or writes with ``--out``) its result; it writes
nothing to the database unless ``--save`` (administrator secret in ``OBSERVATOIRE_ADMIN_SECRET``,
as for imports). A bad scenario gets a French message naming the field and exit status 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from analysis import config, db, settings
from analysis.config import default_db_path
from analysis.errors import DataError
from analysis.scenario import evaluate as ev
from analysis.scenario import output, store
from analysis.scenario.spec import ScenarioError, loads

#: Exit statuses: a refused scenario or argument, a refused secret.
EXIT_BAD, EXIT_DENIED = 2, 3


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", type=Path, default=None, help="base DuckDB (défaut : data/observatoire.duckdb)")
    p = argparse.ArgumentParser(
        prog="python -m analysis.scenario",
        description="Scénarios de mobilité : une navette, des vélos, un nouvel accueil — combien d'élèves de plus atteignent une offre ?",
        parents=[common],
    )
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", parents=[common], help="évaluer un scénario (JSON) sans rien écrire")
    run.add_argument("spec", type=Path, help="fichier JSON du scénario")
    run.add_argument("--mode", choices=ev.MODES, default=config.DEFAULT_MODE)
    run.add_argument("--minutes", type=float, default=config.DEFAULT_BUDGET_MIN)
    run.add_argument("--origin", choices=ev.ORIGIN_KINDS, default="commune")
    run.add_argument("--format", choices=output.FORMATS, default="json")
    run.add_argument(
        "--out", type=Path, default=None, help="fichier de sortie (défaut : la sortie standard, JSON et CSV)"
    )
    run.add_argument("--all", action="store_true", help="JSON : toutes les origines, pas seulement celles qui changent")
    run.add_argument("--save", action="store_true", help="enregistrer le scénario (administrateurs)")
    sub.add_parser("list", parents=[common], help="scénarios enregistrés")
    show = sub.add_parser("show", parents=[common], help="un scénario enregistré (JSON)")
    show.add_argument("name")
    delete = sub.add_parser("delete", parents=[common], help="supprimer un scénario enregistré (administrateurs)")
    delete.add_argument("name")
    return p


def _read_spec(path: Path):
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ScenarioError("(fichier)", f"{path} : lecture impossible ({exc.strerror or exc})") from None
    if len(data) > 1_000_000:
        raise ScenarioError("(fichier)", f"{path} : fichier trop gros ({len(data)} octets, au plus 1 Mo)")
    return loads(data, source=str(path.name))


def _emit(data: bytes, fmt: str, out: Path | None) -> None:
    if out is not None:
        tmp = out.with_name(out.name + ".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, out)
        print(f"Écrit : {out}", file=sys.stderr)
    elif fmt in ("json", "csv"):
        sys.stdout.write(data.decode("utf-8-sig"))
        sys.stdout.write("\n")
    else:
        raise ScenarioError("--out", f"le format {fmt} s'écrit dans un fichier : ajoutez --out FICHIER")


def _run(args, db_path: Path) -> int:
    scenario = _read_spec(args.spec)
    if args.format not in ("json", "csv") and args.out is None:
        raise ScenarioError("--out", f"le format {args.format} s'écrit dans un fichier : ajoutez --out FICHIER")
    with db.connect(db_path, read_only=True, spatial=False) as con:
        result = ev.evaluate(con, scenario, args.mode, args.minutes, args.origin)
    _emit(output.render(result, args.format, args.all), args.format, args.out)
    if args.save:
        store.save(
            db_path,
            scenario,
            result,
            secret=settings.current().admin_secret,
            user=settings.current().user,
            secret_from_environment=True,
        )
        print(f"Scénario « {scenario.name} » enregistré.", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    db_path = Path(args.db or default_db_path())
    try:
        if not db_path.exists():
            raise DataError(str(db_path), "base de données introuvable : lancez d'abord « python -m analysis.build »")
        if args.command == "run":
            return _run(args, db_path)
        if args.command == "delete":
            store.delete(db_path, args.name, secret=settings.current().admin_secret, secret_from_environment=True)
            print(f"Scénario « {args.name} » supprimé.", file=sys.stderr)
            return 0
        with db.connect(db_path, read_only=True, spatial=False) as con:
            if args.command == "list":
                saved = store.list_saved(con)
                if saved.empty:
                    print("Aucun scénario enregistré.")
                else:
                    print(saved.to_string(index=False))
            else:
                import json

                print(json.dumps(store.load(con, args.name), ensure_ascii=False, indent=2, default=str))
        return 0
    except ScenarioError as exc:
        print(f"Erreur : {exc}", file=sys.stderr)
        return EXIT_BAD
    except PermissionError as exc:  # WriteDisabled, AuthError
        print(f"Refusé : {exc}", file=sys.stderr)
        return EXIT_DENIED
    except DataError as exc:
        print(f"Erreur : {exc}", file=sys.stderr)
        return EXIT_BAD
