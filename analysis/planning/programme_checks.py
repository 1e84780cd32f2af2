"""Why a programme cannot exist, and whether a programme keeps the rules.

- :func:`check_necessary`: the reasons that need no solver (no structure, unknown capacities,
  too few sectors, structures or days for the type, missing places on a day, no structure large
  enough for ``mono-site``), raised as :class:`~analysis.planning.programme_types.ProgrammeInfeasible`
  in French with what would make the programme possible;
- :func:`missing_places_error`: the explanation drawn from the elastic model (day, sector and
  number of missing places) when the solver proves that no programme exists;
- :func:`check_programme`: an independent check of a designed programme.

Re-exported by :mod:`analysis.planning.programme`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from analysis.planning.programme_types import (
    DEFAULT_VARIETY,
    KINDS,
    Programme,
    ProgrammeInfeasible,
    ProgrammeSpec,
    Structure,
    day_label,
    places,
)
from analysis.text import count as count_of


def choose_structures(structures: Sequence[Structure], spec: ProgrammeSpec) -> tuple[list[Structure], str | None]:
    """Apply the type's sector rule to the candidate list (mono-secteur keeps one sector)."""
    if spec.kind != KINDS["mono-secteur"]:
        return list(structures), None
    if spec.sector:
        kept = [s for s in structures if s.sector == spec.sector]
        return kept, spec.sector
    by_sector: dict[str, int] = {}
    for s in structures:
        by_sector[s.sector] = by_sector.get(s.sector, 0) + int(s.capacity or 0)
    if not by_sector:
        return [], None
    sector = sorted(by_sector.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
    return [s for s in structures if s.sector == sector], sector


def variety_of(spec: ProgrammeSpec, structures: Sequence[Structure]) -> int:
    if spec.kind == KINDS["multisectoriel"]:
        available = len({s.sector for s in structures})
    elif spec.kind == KINDS["mono-secteur"]:
        available = len(structures)
    else:
        return 1
    want = spec.variety if spec.variety is not None else min(DEFAULT_VARIETY, len(spec.days), available)
    return max(1, int(want))


def check_necessary(
    structures: Sequence[Structure], spec: ProgrammeSpec, sector: str | None = None, radius_text: str = ""
) -> None:
    """Raise :class:`ProgrammeInfeasible` for the reasons that need no solver.

    Checks: no structure, unknown capacities, too few sectors/structures for the type, too few
    days, missing places on a day (in the programme's sector for ``mono-secteur``), no structure
    large enough for ``mono-site``.
    """
    where = f" dans le secteur {sector}" if sector else ""
    _check_candidates(structures, where, radius_text)
    variety = variety_of(spec, structures)
    if spec.kind == KINDS["multisectoriel"]:
        _check_multisectoriel(structures, spec, variety, radius_text)
    if spec.kind == KINDS["mono-secteur"]:
        _check_mono_secteur(structures, spec, variety, where)
    if spec.kind == KINDS["bi-entreprises"]:
        _check_bi_entreprises(structures, spec, where, radius_text)
    _check_daily_places(structures, spec, where)
    if spec.kind == KINDS["mono-site"]:
        _check_mono_site(structures, spec)


def _check_candidates(structures: Sequence[Structure], where: str, radius_text: str) -> None:
    """At least one structure, every capacity known."""
    if not structures:
        raise ProgrammeInfeasible(
            [f"aucune structure d'accueil candidate{where}{radius_text}"],
            ["élargir le rayon autour du site", "choisir un autre site ou un autre secteur"],
        )
    unknown = [s for s in structures if s.capacity is None]
    if unknown:
        names = ", ".join(s.label for s in unknown[:5]) + (", etc." if len(unknown) > 5 else "")
        raise ProgrammeInfeasible(
            [f"capacité d'accueil inconnue pour {count_of(len(unknown), 'structure')} : {names}"],
            [
                "renseigner la capacité journalière de chaque structure (tableau des structures ou fichier "
                "de capacités), ou retirer ces structures"
            ],
        )


def _check_multisectoriel(structures: Sequence[Structure], spec: ProgrammeSpec, variety: int, radius_text: str) -> None:
    """Enough sectors and days for ``variety`` sectors per subgroup."""
    D = len(spec.days)
    sectors = sorted({s.sector for s in structures})
    if len(sectors) < variety:
        raise ProgrammeInfeasible(
            [
                f"seulement {count_of(len(sectors), 'secteur')} parmi les structures candidates{radius_text}, "
                f"le programme en demande {variety} par sous-groupe"
            ],
            ["élargir le rayon", f"demander au plus {len(sectors)} secteurs", "ajouter des structures"],
        )
    if D < variety:
        raise ProgrammeInfeasible(
            [f"{count_of(D, 'jour')} ne {'suffit' if D < 2 else 'suffisent'} pas pour découvrir {variety} secteurs"],
            [f"allonger la période à {variety} jours", f"demander {D} secteurs"],
        )


def _check_mono_secteur(structures: Sequence[Structure], spec: ProgrammeSpec, variety: int, where: str) -> None:
    """Enough structures and days for ``variety`` structures per subgroup."""
    D = len(spec.days)
    if len(structures) < variety:
        raise ProgrammeInfeasible(
            [f"seulement {count_of(len(structures), 'structure')}{where}, le programme en demande {variety}"],
            ["élargir le rayon", "ajouter des structures de ce secteur", f"demander {len(structures)} structures"],
        )
    if D < variety:
        raise ProgrammeInfeasible(
            [f"{count_of(D, 'jour')} ne {'suffit' if D < 2 else 'suffisent'} pas pour découvrir {variety} structures"],
            [f"allonger la période à {variety} jours"],
        )


def _check_bi_entreprises(structures: Sequence[Structure], spec: ProgrammeSpec, where: str, radius_text: str) -> None:
    """Two structures, two days, and the two largest structures hold the group every day."""
    P, D = int(spec.pupils), len(spec.days)
    if len(structures) < 2:
        raise ProgrammeInfeasible(
            [f"une seule structure candidate{where}{radius_text}, le type bi-entreprises en demande deux"],
            ["élargir le rayon", "ajouter une structure"],
        )
    if D < 2:
        raise ProgrammeInfeasible(["un seul jour ne permet pas de découvrir deux structures"], ["allonger la période"])
    for d in spec.days:
        two = sum(sorted((s.capacity_on(d) for s in structures), reverse=True)[:2])
        if two < P:
            raise ProgrammeInfeasible(
                [f"les deux plus grandes structures n'offrent que {places(two)} le {day_label(d)} pour {P} élèves"],
                [
                    f"trouver deux structures totalisant {P} places",
                    f"réduire le groupe à {two} élèves",
                    "choisir le type multisectoriel",
                ],
            )


def _check_daily_places(structures: Sequence[Structure], spec: ProgrammeSpec, where: str) -> None:
    """Enough places every day for the whole group."""
    P = int(spec.pupils)
    for d in spec.days:
        total = sum(s.capacity_on(d) for s in structures)
        if total < P:
            miss = P - total
            raise ProgrammeInfeasible(
                [f"il manque {places(miss)} le {day_label(d)}{where} ({places(total)} pour {P} élèves)"],
                [
                    f"ajouter {places(miss)} le {day_label(d)}{where}",
                    f"réduire le groupe à {total} élèves",
                    "élargir le rayon pour trouver d'autres structures",
                ],
            )


def _check_mono_site(structures: Sequence[Structure], spec: ProgrammeSpec) -> None:
    """One structure holds the whole group every day."""
    P = int(spec.pupils)
    best = max(min(s.capacity_on(d) for d in spec.days) for s in structures)
    if best < P:
        raise ProgrammeInfeasible(
            [f"aucune structure ne peut accueillir les {P} élèves chaque jour (au plus {places(best)})"],
            [
                f"trouver une structure de {P} places",
                f"réduire le groupe à {best} élèves",
                "choisir le type multisectoriel ou mono-secteur",
            ],
        )


def missing_places_error(
    missing: Mapping[tuple[int, str], int],
    spec: ProgrammeSpec,
    structures: Sequence[Structure],
    sizes: Sequence[int],
    sector: str | None = None,
) -> ProgrammeInfeasible:
    """The explanation of an infeasible programme from the elastic model's capacity slack.

    Parameters
    ----------
    missing : mapping
        Missing places per (day index, sector), from the minimised slack.
    spec : ProgrammeSpec
    structures : sequence of Structure
        The structures considered (after the type's sector filter).
    sizes : sequence of int
        Subgroup sizes of the elastic model.
    sector : str, optional
        The sector of a ``mono-secteur`` programme.
    """
    where = f" dans le secteur {sector}" if sector else ""
    reasons, fixes = [], []
    for (d, sec), n in sorted(missing.items()):
        reasons.append(f"il manque {places(n)} le {day_label(spec.days[d])} dans le secteur {sec}")
        fixes.append(f"ajouter {places(n)} le {day_label(spec.days[d])} dans le secteur {sec}")
    if len(reasons) > 4:
        total = sum(missing.values())
        n_days = len({d for d, _ in missing})
        reasons = [f"il manque {places(total)} au total sur {count_of(n_days, 'jour')}"] + reasons[:3] + ["…"]
        fixes = fixes[:3]
    if not reasons:  # capacity is not the issue (should not happen: the rules were checked above)
        reasons.append(
            f"les règles du type « {spec.kind} » ne peuvent pas être tenues avec {count_of(len(sizes), 'sous-groupe')}{where}"
        )
    biggest = max(s.capacity for s in structures)
    fixes += [
        f"former des sous-groupes plus petits (au plus {biggest} élèves, la plus grande capacité)"
        if sizes[0] > biggest
        else "réduire le nombre d'élèves",
        "élargir le rayon pour trouver d'autres structures",
    ]
    return ProgrammeInfeasible(reasons, fixes)


def check_programme(prog: Programme) -> list[str]:
    """Independent check of a programme (capacities, days, type rules); returns the violations."""
    spec, out = prog.spec, []
    G, D = prog.assignment.shape
    if D != len(spec.days):
        out.append("nombre de jours")
    if sum(prog.sizes) != spec.pupils or max(prog.sizes) - min(prog.sizes) > 1:
        out.append("tailles des sous-groupes")
    for d, day in enumerate(spec.days):
        for s, st in enumerate(prog.structures):
            if prog.load(d, s) > st.capacity_on(day):
                out.append(f"capacité {st.key} {day}")
    used = prog.used()
    if spec.kind == KINDS["mono-site"] and len(used) != 1:
        out.append("mono-site")
    if spec.kind == KINDS["bi-entreprises"]:
        if len(used) != 2 or any(len(set(prog.assignment[g])) != 2 for g in range(G)):
            out.append("bi-entreprises")
    if spec.kind == KINDS["mono-secteur"] and len({prog.structures[s].sector for s in used}) != 1:
        out.append("mono-secteur")
    return out
