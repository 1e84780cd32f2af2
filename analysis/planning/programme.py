"""Design one collective-internship programme: subgroups × days × host structures (OR-Tools CP-SAT).

Input: a number of pupils, one of the four types of the typology (seed document 003), the
candidate host structures (offers within reach of the site) with their **daily capacity** (from
the data when known, otherwise given by the user — never invented), and the working days of the
fortnight (default 15–26 June 2026).

Model (:func:`design_programme`), for a number of subgroups ``G`` of balanced sizes (they differ
by at most one pupil)::

    x[g, d, s] = 1  when subgroup g spends day d at structure s
    sum_s x[g, d, s] = 1                                   one structure a day
    sum_g size_g x[g, d, s] <= capacity[s, d]              capacities every day (0 when closed)
    type rules (see :data:`KINDS`)
    minimise sum_{g, d} minutes(structure of day d -> structure of day d + 1)

``G`` is the smallest number of subgroups (from ``ceil(pupils / largest capacity)``) giving a
feasible programme. When no programme exists, :class:`ProgrammeInfeasible` says why in French,
naming the day, sector and number of missing places (from an elastic version of the model whose
capacity slack is minimised) and what would make it possible.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from analysis.planning.demand import PlanningError

#: The four types of the typology (ids as in ``collective_projects.kind``) and their short CLI names.
KINDS: dict[str, str] = {
    "mono-site": "mono-site mono-entreprise",
    "multisectoriel": "multisectoriel multi-entreprises",
    "mono-secteur": "mono-secteur multi-entreprises",
    "bi-entreprises": "bi-entreprises",
}
#: What each type asks, in French (shown on the page and in the PDF).
KIND_RULES: dict[str, str] = {
    "mono-site mono-entreprise": "tous les élèves dans une seule structure, tous les jours",
    "multisectoriel multi-entreprises": "chaque sous-groupe découvre au moins N secteurs différents, "
    "sans passer plus de ⌈jours / N⌉ jours dans un même secteur",
    "mono-secteur multi-entreprises": "un seul secteur ; chaque sous-groupe découvre au moins N structures",
    "bi-entreprises": "deux structures seulement sur la quinzaine ; chaque sous-groupe découvre les deux",
}
#: Default fortnight of the seed document: 15–26 June 2026.
DEFAULT_START = dt.date(2026, 6, 15)
#: Default number of distinct sectors (multisectoriel) or structures (mono-secteur) per subgroup:
#: the MEDEF Pont-Audemer programme showed one sector a day over a five-day week.
DEFAULT_VARIETY = 5
#: Minutes counted for a move between two structures with no stored time (more than 90 min).
UNREACHABLE_MINUTES = 120

_DAYS_FR = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
_MONTHS_FR = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)


def rule_text(kind: str, variety: int | None = None) -> str:
    """The rule of a type in French, with its number of sectors/structures when known."""
    text = KIND_RULES[kind_id(kind)]
    if variety is None:
        return text
    return text.replace("⌈jours / N⌉", f"⌈jours / {variety}⌉").replace(" N ", f" {variety} ")


def day_label(d: dt.date) -> str:
    """French day label: ``jeudi 18 juin``."""
    return f"{_DAYS_FR[d.weekday()]} {d.day} {_MONTHS_FR[d.month - 1]}"


def working_days(start: dt.date = DEFAULT_START, n: int = 10) -> list[dt.date]:
    """The first ``n`` weekdays from ``start`` (public holidays are not removed)."""
    if n < 1:
        raise PlanningError(f"nombre de jours invalide : {n}")
    out, d = [], start
    while len(out) < n:
        if d.weekday() < 5:
            out.append(d)
        d += dt.timedelta(days=1)
    return out


def kind_id(name: str) -> str:
    """Map a short name (``multisectoriel``) or a full type id to the full type id."""
    if name in KINDS:
        return KINDS[name]
    if name in KINDS.values():
        return name
    raise PlanningError(f"type de stage collectif inconnu : {name!r} (attendu : {', '.join(KINDS)})")


@dataclass(frozen=True)
class Structure:
    """A candidate host structure (one offer of the platform, or one the user adds).

    Attributes
    ----------
    key : str
        Offer id (or user key).
    label : str
        Display label.
    sector : str
    capacity : int or None
        Pupils it can take per day; None = unknown (the programme cannot be designed until given).
    capacity_source : str
        ``données`` (from ``offers.capacity``), ``saisie`` (typed by the user) or ``hypothèse``
        (a default the user asked for, flagged as an assumption).
    siret, address : str
    commune_code : str
    loc_id : int or None
    closed : frozenset of datetime.date
        Days the structure cannot host.
    """

    key: str
    label: str
    sector: str
    capacity: int | None
    capacity_source: str = "saisie"
    siret: str = ""
    address: str = ""
    commune_code: str = ""
    loc_id: int | None = None
    lon: float | None = None
    lat: float | None = None
    closed: frozenset = frozenset()

    def capacity_on(self, day: dt.date) -> int:
        return 0 if day in self.closed else int(self.capacity or 0)


@dataclass(frozen=True)
class ProgrammeSpec:
    """What programme to design.

    Parameters
    ----------
    pupils : int
    kind : str
        Type id or short name (:data:`KINDS`).
    days : tuple of datetime.date
        Working days (default :func:`working_days`).
    sector : str, optional
        The sector of a ``mono-secteur`` programme (default: the sector with the most places).
    variety : int, optional
        Distinct sectors (multisectoriel) or structures (mono-secteur) each subgroup sees
        (default ``min(5, days, available)``).
    groups : int, optional
        Force the number of subgroups.
    time_limit : float
        CP-SAT seconds per solve (the best programme found is kept, with the solver's bound).
    """

    pupils: int
    kind: str = "multisectoriel multi-entreprises"
    days: tuple = field(default_factory=lambda: tuple(working_days()))
    sector: str | None = None
    variety: int | None = None
    groups: int | None = None
    time_limit: float = 8.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", kind_id(self.kind))
        object.__setattr__(self, "days", tuple(self.days))
        if int(self.pupils) < 1:
            raise PlanningError(f"nombre d'élèves invalide : {self.pupils}")
        if not self.days:
            raise PlanningError("aucun jour dans la période")
        if self.groups is not None and not 1 <= int(self.groups) <= int(self.pupils):
            raise PlanningError(f"nombre de sous-groupes invalide : {self.groups}")


@dataclass
class Programme:
    """A feasible programme.

    Attributes
    ----------
    spec : ProgrammeSpec
    structures : list of Structure
        The structures considered (after the type's sector filter).
    sizes : list of int
        Pupils per subgroup.
    assignment : numpy.ndarray
        (groups, days) index into ``structures``.
    minutes : numpy.ndarray
        (S, S) minutes between structures (walking, or transit-or-walking).
    total_minutes : float
        Sum over subgroups of the minutes between consecutive days' structures.
    status : str
        ``optimal`` or ``feasible`` (time limit).
    seconds : float
    notes : list of str
    """

    spec: ProgrammeSpec
    structures: list[Structure]
    sizes: list[int]
    assignment: np.ndarray
    minutes: np.ndarray
    total_minutes: float
    status: str
    seconds: float
    notes: list[str] = field(default_factory=list)
    bound: float = 0.0
    variety: int | None = None

    def load(self, day_index: int, s: int) -> int:
        """Pupils at structure ``s`` on day ``day_index``."""
        return int(sum(size for g, size in enumerate(self.sizes) if self.assignment[g, day_index] == s))

    def used(self) -> list[int]:
        return sorted({int(v) for v in self.assignment.ravel()})


class ProgrammeInfeasible(PlanningError):
    """No programme exists; ``reasons`` and ``fixes`` are French sentences."""

    def __init__(self, reasons: Sequence[str], fixes: Sequence[str]):
        self.reasons = list(reasons)
        self.fixes = list(fixes)
        text = "Programme impossible : " + " ; ".join(self.reasons)
        if self.fixes:
            text += ". Pour le rendre possible : " + " ; ".join(self.fixes)
        super().__init__(text)


def balanced_sizes(pupils: int, groups: int) -> list[int]:
    """Subgroup sizes differing by at most one, largest first."""
    base, extra = divmod(int(pupils), int(groups))
    return [base + 1] * extra + [base] * (groups - extra)


def _places(n: int) -> str:
    return f"{n} place{'s' if n > 1 else ''}"


def _choose_structures(structures: Sequence[Structure], spec: ProgrammeSpec) -> tuple[list[Structure], str | None]:
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


def _variety(spec: ProgrammeSpec, structures: Sequence[Structure]) -> int:
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
    if not structures:
        raise ProgrammeInfeasible(
            [f"aucune structure d'accueil candidate{where}{radius_text}"],
            ["élargir le rayon autour du site", "choisir un autre site ou un autre secteur"],
        )
    unknown = [s for s in structures if s.capacity is None]
    if unknown:
        names = ", ".join(s.label for s in unknown[:5]) + (", etc." if len(unknown) > 5 else "")
        raise ProgrammeInfeasible(
            [f"capacité d'accueil inconnue pour {len(unknown)} structure(s) : {names}"],
            [
                "renseigner la capacité journalière de chaque structure (tableau des structures ou fichier "
                "de capacités), ou retirer ces structures"
            ],
        )
    P, D = int(spec.pupils), len(spec.days)
    variety = _variety(spec, structures)
    if spec.kind == KINDS["multisectoriel"]:
        sectors = sorted({s.sector for s in structures})
        if len(sectors) < variety:
            raise ProgrammeInfeasible(
                [
                    f"seulement {len(sectors)} secteur(s) parmi les structures candidates{radius_text}, "
                    f"le programme en demande {variety} par sous-groupe"
                ],
                ["élargir le rayon", f"demander au plus {len(sectors)} secteurs", "ajouter des structures"],
            )
        if D < variety:
            raise ProgrammeInfeasible(
                [f"{D} jour(s) ne suffisent pas pour découvrir {variety} secteurs"],
                [f"allonger la période à {variety} jours", f"demander {D} secteurs"],
            )
    if spec.kind == KINDS["mono-secteur"]:
        if len(structures) < variety:
            raise ProgrammeInfeasible(
                [f"seulement {len(structures)} structure(s){where}, le programme en demande {variety}"],
                ["élargir le rayon", "ajouter des structures de ce secteur", f"demander {len(structures)} structures"],
            )
        if D < variety:
            raise ProgrammeInfeasible(
                [f"{D} jour(s) ne suffisent pas pour découvrir {variety} structures"],
                [f"allonger la période à {variety} jours"],
            )
    if spec.kind == KINDS["bi-entreprises"]:
        if len(structures) < 2:
            raise ProgrammeInfeasible(
                [f"une seule structure candidate{where}{radius_text}, le type bi-entreprises en demande deux"],
                ["élargir le rayon", "ajouter une structure"],
            )
        if D < 2:
            raise ProgrammeInfeasible(
                ["un seul jour ne permet pas de découvrir deux structures"], ["allonger la période"]
            )
    if spec.kind == KINDS["bi-entreprises"]:
        for d in spec.days:
            two = sum(sorted((s.capacity_on(d) for s in structures), reverse=True)[:2])
            if two < P:
                raise ProgrammeInfeasible(
                    [
                        f"les deux plus grandes structures n'offrent que {_places(two)} le {day_label(d)} "
                        f"pour {P} élèves"
                    ],
                    [
                        f"trouver deux structures totalisant {P} places",
                        f"réduire le groupe à {two} élèves",
                        "choisir le type multisectoriel",
                    ],
                )
    for d in spec.days:
        total = sum(s.capacity_on(d) for s in structures)
        if total < P:
            miss = P - total
            raise ProgrammeInfeasible(
                [f"il manque {_places(miss)} le {day_label(d)}{where} ({_places(total)} pour {P} élèves)"],
                [
                    f"ajouter {_places(miss)} le {day_label(d)}{where}",
                    f"réduire le groupe à {total} élèves",
                    "élargir le rayon pour trouver d'autres structures",
                ],
            )
    if spec.kind == KINDS["mono-site"]:
        best = max(min(s.capacity_on(d) for d in spec.days) for s in structures)
        if best < P:
            raise ProgrammeInfeasible(
                [f"aucune structure ne peut accueillir les {P} élèves chaque jour (au plus {_places(best)})"],
                [
                    f"trouver une structure de {P} places",
                    f"réduire le groupe à {best} élèves",
                    "choisir le type multisectoriel ou mono-secteur",
                ],
            )


def _locations(structures: Sequence[Structure], minutes: np.ndarray) -> tuple[list[int], list[list[int]]]:
    """Group structures that are 0 min apart both ways and share a location id."""
    loc_of: list[int] = []
    groups: list[list[int]] = []
    for s, st in enumerate(structures):
        for k, members in enumerate(groups):
            first = members[0]
            if (
                st.loc_id is not None
                and structures[first].loc_id == st.loc_id
                and minutes[s, first] == 0
                and minutes[first, s] == 0
            ):
                members.append(s)
                loc_of.append(k)
                break
        else:
            groups.append([s])
            loc_of.append(len(groups) - 1)
    return loc_of, groups


def _build_model(
    structures: Sequence[Structure],
    spec: ProgrammeSpec,
    sizes: Sequence[int],
    minutes: np.ndarray,
    elastic: bool,
    variety: int,
    objective: bool = True,
):
    from ortools.sat.python import cp_model

    G, D, S = len(sizes), len(spec.days), len(structures)
    model = cp_model.CpModel()
    x = {(g, d, s): model.NewBoolVar(f"x{g}_{d}_{s}") for g in range(G) for d in range(D) for s in range(S)}
    for g in range(G):
        for d in range(D):
            model.AddExactlyOne(x[g, d, s] for s in range(S))
    slack = {}
    for d, day in enumerate(spec.days):
        for s, st in enumerate(structures):
            load = sum(sizes[g] * x[g, d, s] for g in range(G))
            if elastic:
                slack[d, s] = model.NewIntVar(0, int(spec.pupils), f"slack{d}_{s}")
                model.Add(load <= st.capacity_on(day) + slack[d, s])
            else:
                model.Add(load <= st.capacity_on(day))
    kind = spec.kind
    if kind in (KINDS["mono-site"], KINDS["bi-entreprises"]):
        u = [model.NewBoolVar(f"u{s}") for s in range(S)]
        model.Add(sum(u) == (1 if kind == KINDS["mono-site"] else 2))
        for (_g, _d, s), v in x.items():
            model.AddImplication(v, u[s])
        if kind == KINDS["bi-entreprises"]:
            for g in range(G):
                for s in range(S):
                    model.Add(sum(x[g, d, s] for d in range(D)) >= 1).OnlyEnforceIf(u[s])
    elif kind == KINDS["multisectoriel"]:
        sectors = sorted({st.sector for st in structures})
        cap_days = math.ceil(D / variety)
        for g in range(G):
            seen = []
            for sec in sectors:
                members = [s for s, st in enumerate(structures) if st.sector == sec]
                days_in = sum(x[g, d, s] for d in range(D) for s in members)
                v = model.NewBoolVar(f"v{g}_{sec}")
                model.Add(days_in >= 1).OnlyEnforceIf(v)
                model.Add(days_in <= cap_days)
                seen.append(v)
            model.Add(sum(seen) >= variety)
    elif kind == KINDS["mono-secteur"]:
        cap_days = math.ceil(D / variety)
        for g in range(G):
            seen = []
            for s in range(S):
                days_in = sum(x[g, d, s] for d in range(D))
                v = model.NewBoolVar(f"v{g}_{s}")
                model.Add(days_in >= 1).OnlyEnforceIf(v)
                model.Add(days_in <= cap_days)
                seen.append(v)
            model.Add(sum(seen) >= variety)
    # minutes between the structures of consecutive days, at the level of their locations
    # (offers of a commune share its centre: most moves are 0 min); hop >= row of the next day's
    # location, enforced by a big-M on the current day's location (exact: one location a day)
    loc_of, groups_of = _locations(structures, minutes)
    L = len(groups_of)
    lt = np.array([[minutes[groups_of[a][0], groups_of[b][0]] for b in range(L)] for a in range(L)])
    lt = np.rint(lt).astype(int)
    hop_terms = []
    if objective and L > 1 and lt.max() > 0:
        for g in range(G):
            at = [[sum(x[g, d, s] for s in groups_of[a]) for a in range(L)] for d in range(D)]
            for d in range(D - 1):
                hop = model.NewIntVar(0, int(lt.max()), f"hop{g}_{d}")
                for a in range(L):
                    row_max = int(lt[a].max())
                    if row_max <= 0:
                        continue
                    model.Add(
                        hop
                        >= sum(int(lt[a, b]) * at[d + 1][b] for b in range(L) if lt[a, b] > 0)
                        - row_max * (1 - at[d][a])
                    )
                hop_terms.append(hop)
    # symmetry: subgroups of equal size are interchangeable; order them by their first-day structure
    for g in range(G - 1):
        if sizes[g] == sizes[g + 1]:
            model.Add(sum(s * x[g, 0, s] for s in range(S)) <= sum(s * x[g + 1, 0, s] for s in range(S)))
    if elastic:
        model.Minimize(sum(slack.values()))
    elif objective:
        model.Minimize(sum(hop_terms))
    return model, x, slack, hop_terms


def _total(minutes: np.ndarray, assign: np.ndarray) -> float:
    G, D = assign.shape
    return float(sum(minutes[assign[g, d], assign[g, d + 1]] for g in range(G) for d in range(D - 1)))


def _solve(model, time_limit: float, first_solution: bool = False):
    from ortools.sat.python import cp_model

    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = float(time_limit)
    solver.parameters.num_workers = 8
    if first_solution:
        solver.parameters.stop_after_first_solution = True
    status = solver.Solve(model)
    return solver, status


def design_programme(
    structures: Sequence[Structure],
    spec: ProgrammeSpec,
    minutes: np.ndarray | None = None,
    radius_text: str = "",
    first_solution: bool = False,
) -> Programme:
    """Design the programme, or raise :class:`ProgrammeInfeasible` naming why.

    Parameters
    ----------
    structures : sequence of Structure
        Candidate host structures, each with a known daily capacity.
    spec : ProgrammeSpec
    minutes : numpy.ndarray, optional
        (S, S) minutes between the structures (same order); default all 0.
    radius_text : str
        Words on the search radius for the messages (`` à moins de 20 min à pied du site``).
    first_solution : bool
        Stop at the first feasible programme (the benchmark's baseline).

    Returns
    -------
    Programme
    """
    from ortools.sat.python import cp_model

    t0 = time.perf_counter()
    full = np.zeros((len(structures), len(structures))) if minutes is None else np.asarray(minutes, float)
    chosen, sector = _choose_structures(structures, spec)
    keep = [i for i, s in enumerate(structures) if s in chosen]
    full = np.where(np.isfinite(full), full, UNREACHABLE_MINUTES)
    sub = full[np.ix_(keep, keep)] if keep else np.zeros((0, 0))
    check_necessary(chosen, spec, sector, radius_text)
    variety = _variety(spec, chosen)
    P = int(spec.pupils)
    if spec.kind == KINDS["mono-site"]:
        candidates = [spec.groups or 1]
    elif spec.groups:
        candidates = [int(spec.groups)]
    else:
        biggest = max(s.capacity for s in chosen)
        g0 = max(1, math.ceil(P / max(biggest, 1)))
        candidates = list(range(g0, min(P, g0 + 5) + 1))
    D, S = len(spec.days), len(chosen)
    notes = []
    if sector:
        notes.append(f"secteur retenu : {sector}")
    if any(s.capacity_source == "hypothèse" for s in chosen):
        notes.append("capacités en partie supposées (hypothèse saisie par l'utilisateur)")
    timed_out = False
    for G in candidates:
        sizes = balanced_sizes(P, G)
        # 1. feasibility only (no objective): fast, and tells infeasible from "not found yet"
        fmodel, fx, _, _ = _build_model(chosen, spec, sizes, sub, elastic=False, variety=variety, objective=False)
        fsolver, fstatus = _solve(fmodel, spec.time_limit, first_solution=True)
        if fstatus == cp_model.INFEASIBLE:
            continue
        if fstatus not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            timed_out = True
            continue
        first = np.array(
            [[next(s for s in range(S) if fsolver.Value(fx[g, d, s])) for d in range(D)] for g in range(G)], dtype=int
        )
        assign, status, bound = first, "feasible", 0.0
        if not first_solution:
            # 2. minimise the minutes between structures, starting from that programme
            model, x, _, _ = _build_model(chosen, spec, sizes, sub, elastic=False, variety=variety)
            for (g, d, s), v in x.items():
                model.AddHint(v, bool(first[g, d] == s))
            left = max(1.0, float(spec.time_limit) - (time.perf_counter() - t0))
            solver, st = _solve(model, left)
            if st in (cp_model.OPTIMAL, cp_model.FEASIBLE):
                assign = np.array(
                    [[next(s for s in range(S) if solver.Value(x[g, d, s])) for d in range(D)] for g in range(G)],
                    dtype=int,
                )
                status = "optimal" if st == cp_model.OPTIMAL else "feasible"
                bound = float(solver.BestObjectiveBound())
                if _total(sub, assign) > _total(sub, first):  # never return worse than the start
                    assign = first
        total = _total(sub, assign)
        return Programme(
            spec,
            chosen,
            sizes,
            assign,
            sub,
            total,
            status,
            time.perf_counter() - t0,
            notes,
            bound,
            variety if spec.kind in (KINDS["multisectoriel"], KINDS["mono-secteur"]) else None,
        )
    if timed_out:
        raise ProgrammeInfeasible(
            [f"aucun programme trouvé en {spec.time_limit:g} s (sans preuve qu'il n'en existe pas)"],
            ["retenir moins de structures", "réduire le nombre de jours ou d'élèves"],
        )
    # no programme: the elastic model locates the missing places
    G = candidates[0]
    sizes = balanced_sizes(P, G)
    model, x, slack, _ = _build_model(chosen, spec, sizes, sub, elastic=True, variety=variety, objective=False)
    solver, status = _solve(model, spec.time_limit)
    where = f" dans le secteur {sector}" if sector else ""
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        raise ProgrammeInfeasible(
            [f"aucun programme trouvé en {spec.time_limit:g} s"],
            ["réduire le nombre d'élèves", "ajouter des structures", "élargir le rayon"],
        )
    missing: dict[tuple[int, str], int] = {}
    for (d, s), v in slack.items():
        val = int(solver.Value(v))
        if val:
            key = (d, chosen[s].sector)
            missing[key] = missing.get(key, 0) + val
    reasons, fixes = [], []
    for (d, sec), n in sorted(missing.items()):
        reasons.append(f"il manque {_places(n)} le {day_label(spec.days[d])} dans le secteur {sec}")
        fixes.append(f"ajouter {_places(n)} le {day_label(spec.days[d])} dans le secteur {sec}")
    if len(reasons) > 4:
        total = sum(missing.values())
        n_days = len({d for d, _ in missing})
        reasons = [f"il manque {_places(total)} au total sur {n_days} jour(s)"] + reasons[:3] + ["…"]
        fixes = fixes[:3]
    if not reasons:  # capacity is not the issue (should not happen: the rules were checked above)
        reasons.append(f"les règles du type « {spec.kind} » ne peuvent pas être tenues avec {G} sous-groupe(s){where}")
    biggest = max(s.capacity for s in chosen)
    fixes += [
        f"former des sous-groupes plus petits (au plus {biggest} élèves, la plus grande capacité)"
        if sizes[0] > biggest
        else "réduire le nombre d'élèves",
        "élargir le rayon pour trouver d'autres structures",
    ]
    raise ProgrammeInfeasible(reasons, fixes)


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


def _missing(value) -> bool:
    import pandas as pd

    return value is None or bool(pd.isna(value))


def structures_from_offers(
    offers,
    capacities: Mapping[str, int] | None = None,
    default_capacity: int | None = None,
    closed: Mapping[str, Sequence[dt.date]] | None = None,
) -> list[Structure]:
    """Structures from an offers table (:func:`analysis.planning.sites.site_offers`).

    Capacity precedence: ``offers.capacity`` (source ``données``), then ``capacities`` (``saisie``),
    then ``default_capacity`` (``hypothèse``, flagged), else unknown (None).
    """
    capacities = capacities or {}
    closed = closed or {}
    out = []
    for rec in offers.itertuples(index=False):
        cap, src = None, "inconnue"
        data_cap = getattr(rec, "capacity", None)
        if not _missing(data_cap):
            cap, src = int(data_cap), "données"
        elif str(rec.offer_id) in capacities:
            cap, src = int(capacities[str(rec.offer_id)]), "saisie"
        elif default_capacity is not None:
            cap, src = int(default_capacity), "hypothèse"
        siret = "" if _missing(rec.siret) else str(rec.siret)
        street = "" if _missing(rec.street) else str(rec.street)
        town = " ".join(str(v) for v in (rec.postcode, rec.town) if not _missing(v))
        address = ", ".join(p for p in (street, town) if p)
        out.append(
            Structure(
                key=str(rec.offer_id),
                label=f"{rec.sector} — {rec.town} ({rec.offer_id})",
                sector=str(rec.sector),
                capacity=cap,
                capacity_source=src,
                siret=siret,
                address=address,
                commune_code=str(rec.commune_code),
                loc_id=int(rec.loc_id),
                lon=float(rec.lon),
                lat=float(rec.lat),
                closed=frozenset(closed.get(str(rec.offer_id), ())),
            )
        )
    return out


# --------------------------------------------------------------------------- database side


def structure_minutes(con, structures: Sequence[Structure], mode: str = "walk") -> np.ndarray:
    """(S, S) minutes between structures from ``travel_times`` (commune centre -> offer location).

    Offers are placed at their commune's centre: two structures of the same location are 0 min
    apart; a pair with no stored time (more than 90 min) is ``inf``.
    """
    locs = sorted({s.loc_id for s in structures if s.loc_id is not None})
    S = len(structures)
    out = np.full((S, S), np.inf)
    if not locs:
        return np.zeros((S, S))
    rows = con.execute(
        """SELECT l.loc_id AS a, t.loc_id AS b, min(t.minutes) AS minutes
           FROM offer_locations l JOIN travel_times t
             ON t.origin_kind = 'commune' AND t.origin_id = l.commune_code
          WHERE l.loc_id IN (SELECT unnest($locs)) AND t.loc_id IN (SELECT unnest($locs))
            AND (t.mode = $mode OR ($mode = 'transit' AND t.mode = 'walk'))
          GROUP BY ALL""",
        {"locs": locs, "mode": mode},
    ).fetchall()
    pair = {(a, b): m for a, b, m in rows}
    for i, si in enumerate(structures):
        for j, sj in enumerate(structures):
            if si.loc_id == sj.loc_id:
                out[i, j] = 0.0
            else:
                out[i, j] = pair.get((si.loc_id, sj.loc_id), np.inf)
    return out


def pick_structures(offers, kind: str, max_structures: int = 12, sector: str | None = None):
    """Keep at most ``max_structures`` offers, nearest first, alternating sectors for variety.

    ``offers`` is sorted by minutes (:func:`analysis.planning.sites.site_offers`). For a
    ``mono-secteur`` programme with a sector, only that sector is kept.
    """
    kind = kind_id(kind)
    df = offers
    if sector and kind == KINDS["mono-secteur"]:
        df = df[df["sector"] == sector]
    if kind in (KINDS["mono-secteur"], KINDS["mono-site"], KINDS["bi-entreprises"]):
        return df.head(max_structures).reset_index(drop=True)
    df = df.assign(_r=df.groupby("sector").cumcount())
    return (
        df.sort_values(["_r", "minutes", "sector", "offer_id"])
        .head(max_structures)
        .drop(columns="_r")
        .sort_values(["minutes", "sector", "offer_id"])
        .reset_index(drop=True)
    )
