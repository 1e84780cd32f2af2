"""Command line of the collective-internship planner.

Examples::

    python -m analysis.planning sites --mode transit --minutes 45 --count 5 [--origin school|commune] \\
        [--min-hosts 1] [--format json|csv|xlsx] [--out sites.xlsx] [--db base.duckdb]
    python -m analysis.planning programme --commune 27467 --pupils 15 --type multisectoriel --days 10 --out prog.xlsx \\
        [--capacity 3 | --capacities capacites.csv]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import math
import sys
from pathlib import Path

import pandas as pd

from analysis import catalogue, config
from analysis.errors import DataError
from analysis.planning import demand as dm
from analysis.planning import programme as pg
from analysis.planning import sites as st
from analysis.validate_args import ArgParser

#: Help of ``--db``, accepted before or after the subcommand.
_DB_HELP = "base DuckDB (défaut : data/observatoire.duckdb)"


def _parser() -> argparse.ArgumentParser:
    p = ArgParser(
        prog="python -m analysis.planning", description="Planification des stages collectifs (sites, programme)."
    )
    p.add_argument("--db", type=Path, default=None, help=_DB_HELP)
    # --db also after the subcommand, like every other command (SUPPRESS: not given = keep the above)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", type=Path, default=argparse.SUPPRESS, help=_DB_HELP)
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser(
        "sites", parents=[common], help="où lancer les prochains stages collectifs (couverture maximale)"
    )
    s.add_argument("--mode", default=config.DEFAULT_MODE, choices=catalogue.MODES)
    s.add_argument("--minutes", type=int, default=config.DEFAULT_BUDGET_MIN)
    s.add_argument("--count", type=int, default=5, help="nombre de sites (1 à 10)")
    s.add_argument("--origin", default="school", choices=("school", "commune"))
    s.add_argument("--measure", default="unserved", choices=dm.MEASURES)
    s.add_argument("--target", type=float, default=dm.DEFAULT_TARGET, help="cible 2SFCA (places par élève)")
    s.add_argument(
        "--include-existing",
        action="store_true",
        help="compter aussi les élèves déjà couverts par les projets existants",
    )
    s.add_argument(
        "--min-hosts",
        type=int,
        default=st.DEFAULT_MIN_HOSTS,
        help=f"structures d'accueil connues (offres) au moins, à moins de {st.DESCRIBE_REACH[1]:g} min d'un site "
        f"en transports en commun ou à pied (défaut : {st.DEFAULT_MIN_HOSTS} ; 0 = tous les sites)",
    )
    s.add_argument(
        "--format",
        default="json",
        choices=("json", "csv", "xlsx"),
        help="json, csv (tableur français : « ; », virgule décimale) ou xlsx (avec --out)",
    )
    s.add_argument("--out", type=Path, default=None, help="fichier de sortie (défaut : sortie standard)")
    g = sub.add_parser("programme", parents=[common], help="concevoir le programme d'un stage collectif")
    g.add_argument("--commune", required=True, help="code INSEE de la commune du site")
    g.add_argument("--pupils", type=int, required=True)
    g.add_argument("--type", default="multisectoriel", choices=tuple(pg.KINDS))
    g.add_argument("--days", type=int, default=10, help="jours ouvrés à partir de --start")
    g.add_argument("--start", default=pg.DEFAULT_START.isoformat(), help="premier jour (AAAA-MM-JJ)")
    g.add_argument("--sector", default=None, help="secteur (type mono-secteur)")
    g.add_argument("--variety", type=int, default=None, help="secteurs (ou structures) distincts par sous-groupe")
    g.add_argument("--groups", type=int, default=None, help="nombre de sous-groupes (défaut : le plus petit possible)")
    g.add_argument("--reach-mode", default="walk", choices=st.REACH_MODES)
    g.add_argument("--radius", type=float, default=st.DEFAULT_REACH_MINUTES, help="minutes autour du site")
    g.add_argument("--max-structures", type=int, default=12)
    g.add_argument(
        "--capacity",
        type=int,
        default=None,
        help="HYPOTHÈSE : capacité journalière des structures sans capacité connue (signalée comme telle)",
    )
    g.add_argument(
        "--capacities",
        type=Path,
        default=None,
        help="CSV offer_id,capacity[,closed] (closed : dates AAAA-MM-JJ séparées par ;)",
    )
    g.add_argument("--out", type=Path, default=None, help="programme.xlsx ou programme.pdf")
    return p


def read_capacities(path: Path) -> tuple[dict[str, int], dict[str, list[dt.date]]]:
    """Read a capacities CSV (``offer_id,capacity[,closed]``); errors name the file, row and field."""
    caps: dict[str, int] = {}
    closed: dict[str, list[dt.date]] = {}
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in ("offer_id", "capacity") if c not in (reader.fieldnames or [])]
        if missing:
            raise DataError(str(path), f"colonne « {missing[0]} » absente", field=missing[0])
        for row_no, row in enumerate(reader, start=1):
            key = (row.get("offer_id") or "").strip()
            if not key:
                raise DataError(str(path), "identifiant d'offre vide", row=row_no, field="offer_id")
            try:
                cap = int(str(row.get("capacity", "")).strip())
                if cap < 0:
                    raise ValueError
            except ValueError:
                raise DataError(
                    str(path), f"capacité « {row.get('capacity')} » invalide (entier ≥ 0)", row=row_no, field="capacity"
                ) from None
            caps[key] = cap
            days = []
            for part in (row.get("closed") or "").split(";"):
                if part.strip():
                    try:
                        days.append(dt.date.fromisoformat(part.strip()))
                    except ValueError:
                        raise DataError(
                            str(path), f"date « {part} » invalide (AAAA-MM-JJ)", row=row_no, field="closed"
                        ) from None
            closed[key] = days
    return caps, closed


def _sites_payload(plan: st.SitePlan, described: pd.DataFrame) -> dict:
    """The JSON answer of ``sites``."""
    spec = plan.spec
    return {
        "mode": spec.mode,
        "minutes": spec.minutes,
        "origin": spec.origin_kind,
        "measure": spec.measure,
        "unit": spec.unit,
        "count": plan.k,
        "min_hosts": plan.min_hosts,
        "notes": plan.notes,
        "demand_total": plan.demand_total,
        "already_covered_by_existing_projects": plan.already_covered,
        "exclude_existing": plan.exclude_existing,
        "exact": {
            "value": plan.exact.value,
            "status": plan.exact.status,
            "bound": plan.exact.bound if math.isfinite(plan.exact.bound) else None,
            "seconds": round(plan.exact.seconds, 3),
        },
        "greedy": {
            "value": plan.greedy.value,
            "seconds": round(plan.greedy.seconds, 3),
            "sites": plan.greedy_sites["site_key"].tolist(),
        },
        "gap": plan.gap,
        "sites": [
            {
                "rank": int(r.rank),
                "site_kind": r.site_kind,
                "site_id": r.site_id,
                "name": r.site_name,
                "commune_code": r.commune_code,
                "commune_name": r.commune_name,
                "epci_siren": r.epci_siren,
                "epci_name": r.epci_name,
                "pupils_covered": r.pupils_covered,
                "pupils_new": r.pupils_new,
                "covered_origin_ids": list(r.covered_origin_ids),
                "lycees": r.lycees,
                "offers_within": int(r.offers_within),
                "sectors_within": int(r.sectors_within),
                "offers": list(r.offers),
                "morning_departures": None if pd.isna(r.morning_departures) else int(r.morning_departures),
            }
            for r in described.itertuples(index=False)
        ],
        "existing_projects": [
            {
                "project_id": r.project_id,
                "name": r.name,
                "commune_code": r.commune_code,
                "covered": r.covered,
                "rank": int(r.rank),
                "rank_max": int(r.rank_max),
                "epci_demand": r.epci_demand,
                "epci_rank": int(r.epci_rank),
                "epci_rank_max": int(r.epci_rank_max),
                "n_epci": int(r.n_epci),
            }
            for r in plan.projects.itertuples(index=False)
        ],
    }


def _sites(con, args) -> int:
    from analysis.outputs import export as writer
    from analysis.planning import export
    from analysis.report import write_report

    if args.format == "xlsx" and not args.out:
        raise ValueError("--format xlsx écrit un fichier : indiquez-le avec --out FICHIER.xlsx")
    spec = dm.DemandSpec(
        mode=args.mode, minutes=args.minutes, origin_kind=args.origin, measure=args.measure, target=args.target
    )
    plan = st.plan_sites(con, spec, args.count, exclude_existing=not args.include_existing, min_hosts=args.min_hosts)
    described = st.describe_sites(con, plan.sites, spec.origin_kind)
    for note in plan.notes:
        print(f"Note : {note}", file=sys.stderr)
    if args.format == "json":
        content = (
            json.dumps(_sites_payload(plan, described), ensure_ascii=False, indent=1, default=float) + "\n"
        ).encode()
    elif args.format == "csv":
        content = writer.csv_bytes(export.sites_table(described))
    else:
        content = export.sites_xlsx(described, plan.projects, spec.unit, plan.notes)
    if args.out:
        write_report(args.out, content)
        print(f"Sites écrits : {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(content.decode("utf-8"))
    return 0


def _programme(con, args) -> int:
    days = pg.working_days(dt.date.fromisoformat(args.start), args.days)
    spec = pg.ProgrammeSpec(
        args.pupils, args.type, tuple(days), sector=args.sector, variety=args.variety, groups=args.groups
    )
    name = con.execute("SELECT name, lon, lat FROM communes WHERE code = ?", [args.commune]).fetchone()
    if name is None:
        raise dm.PlanningError(f"commune {args.commune} inconnue (code INSEE COG 2025)")
    offers = st.site_offers(con, "commune", args.commune, args.reach_mode, args.radius)
    offers = pg.pick_structures(offers, spec.kind, args.max_structures, args.sector)
    caps, closed = read_capacities(args.capacities) if args.capacities else ({}, {})
    structures = pg.structures_from_offers(offers, caps, args.capacity, closed)
    if args.capacity is not None:
        n = sum(s.capacity_source == "hypothèse" for s in structures)
        print(
            f"Attention : HYPOTHÈSE de {args.capacity} place(s) par jour pour {n} structure(s) sans capacité connue.",
            file=sys.stderr,
        )
    minutes = pg.structure_minutes(con, structures, args.reach_mode)
    how = "à pied" if args.reach_mode == "walk" else "en TER ou à pied"
    prog = pg.design_programme(
        structures, spec, minutes, radius_text=f" à moins de {args.radius:g} min {how} de {name[0]}"
    )
    site_label = f"{name[0]} ({args.commune})"
    if args.out:
        from analysis.planning import export
        from analysis.report import write_report

        if args.out.suffix.lower() == ".pdf":
            write_report(args.out, export.programme_pdf(con, prog, site_label, (name[1], name[2])))
        else:
            write_report(args.out, export.programme_xlsx(prog, site_label))
        print(f"Programme écrit : {args.out}")
    rot = {
        f"sous-groupe {g + 1} ({prog.sizes[g]} élèves)": [
            prog.structures[prog.assignment[g, i]].key for i in range(len(days))
        ]
        for g in range(len(prog.sizes))
    }
    print(
        json.dumps(
            {
                "site": site_label,
                "type": spec.kind,
                "sizes": prog.sizes,
                "status": prog.status,
                "total_minutes": prog.total_minutes,
                "seconds": round(prog.seconds, 2),
                "days": [d.isoformat() for d in days],
                "rotation": rot,
                "notes": prog.notes,
            },
            ensure_ascii=False,
            indent=1,
        )
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    from analysis import db

    args = _parser().parse_args(argv)
    try:
        con = db.connect(args.db or config.default_db_path(), read_only=True)
        try:
            return _sites(con, args) if args.command == "sites" else _programme(con, args)
        finally:
            con.close()
    except pg.ProgrammeInfeasible as exc:
        print(str(exc), file=sys.stderr)
        return 3
    except (dm.PlanningError, DataError, FileNotFoundError, ValueError) as exc:
        print(f"Erreur : {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
