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

This module solves; the rest is split by concern and re-exported here (``from
analysis.planning import programme as pg`` gives the whole API):
:mod:`~analysis.planning.programme_types` (types, days, :class:`Structure`,
:class:`ProgrammeSpec`, :class:`Programme`, :class:`ProgrammeInfeasible`),
:mod:`~analysis.planning.programme_inputs` (structures from the offers, minutes between them),
:mod:`~analysis.planning.programme_checks` (reasons found without a solver, explanation of the
elastic model, :func:`check_programme`) and :mod:`~analysis.planning.programme_model` (the CP-SAT
model).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import numpy as np

from analysis.planning.programme_checks import (
    check_necessary,
    check_programme,
    choose_structures,
    missing_places_error,
    variety_of,
)
from analysis.planning.programme_inputs import pick_structures, structure_minutes, structures_from_offers
from analysis.planning.programme_model import build_model
from analysis.planning.programme_types import (
    DEFAULT_START,
    DEFAULT_VARIETY,
    KIND_RULES,
    KINDS,
    UNREACHABLE_MINUTES,
    Programme,
    ProgrammeInfeasible,
    ProgrammeSpec,
    Structure,
    balanced_sizes,
    day_label,
    kind_id,
    rule_text,
    working_days,
)

__all__ = [
    "DEFAULT_START",
    "DEFAULT_VARIETY",
    "KINDS",
    "KIND_RULES",
    "UNREACHABLE_MINUTES",
    "Programme",
    "ProgrammeInfeasible",
    "ProgrammeSpec",
    "Structure",
    "balanced_sizes",
    "check_necessary",
    "check_programme",
    "day_label",
    "design_programme",
    "kind_id",
    "pick_structures",
    "rule_text",
    "structure_minutes",
    "structures_from_offers",
    "working_days",
]


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
    t0 = time.perf_counter()
    full = np.zeros((len(structures), len(structures))) if minutes is None else np.asarray(minutes, float)
    chosen, sector = choose_structures(structures, spec)
    keep = [i for i, s in enumerate(structures) if s in chosen]
    full = np.where(np.isfinite(full), full, UNREACHABLE_MINUTES)
    sub = full[np.ix_(keep, keep)] if keep else np.zeros((0, 0))
    check_necessary(chosen, spec, sector, radius_text)
    variety = variety_of(spec, chosen)
    P = int(spec.pupils)
    candidates = _group_counts(chosen, spec)
    timed_out = False
    for G in candidates:
        sizes = balanced_sizes(P, G)
        # 1. feasibility only (no objective): fast, and tells infeasible from "not found yet"
        first, status = _first_programme(chosen, spec, sizes, sub, variety)
        if first is None:
            timed_out = timed_out or status == "timeout"
            continue
        assign, status, bound = first, "feasible", 0.0
        if not first_solution:
            # 2. minimise the minutes between structures, starting from that programme
            assign, status, bound = _improve(chosen, spec, sizes, sub, variety, first, t0)
        return Programme(
            spec,
            chosen,
            sizes,
            assign,
            sub,
            _total(sub, assign),
            status,
            time.perf_counter() - t0,
            _notes(chosen, sector),
            bound,
            variety if spec.kind in (KINDS["multisectoriel"], KINDS["mono-secteur"]) else None,
        )
    if timed_out:
        raise ProgrammeInfeasible(
            [f"aucun programme trouvé en {spec.time_limit:g} s (sans preuve qu'il n'en existe pas)"],
            ["retenir moins de structures", "réduire le nombre de jours ou d'élèves"],
        )
    # no programme: the elastic model locates the missing places
    raise _explain_infeasible(chosen, spec, balanced_sizes(P, candidates[0]), sub, variety, sector)


def _group_counts(chosen: Sequence[Structure], spec: ProgrammeSpec) -> list[int]:
    """Numbers of subgroups to try, smallest first: from ``ceil(pupils / largest capacity)``."""
    if spec.kind == KINDS["mono-site"]:
        return [spec.groups or 1]
    if spec.groups:
        return [int(spec.groups)]
    P = int(spec.pupils)
    biggest = max(s.capacity for s in chosen)
    g0 = max(1, math.ceil(P / max(biggest, 1)))
    return list(range(g0, min(P, g0 + 5) + 1))


def _notes(chosen: Sequence[Structure], sector: str | None) -> list[str]:
    """Notes shown with the programme: the sector retained, assumed capacities."""
    notes = []
    if sector:
        notes.append(f"secteur retenu : {sector}")
    if any(s.capacity_source == "hypothèse" for s in chosen):
        notes.append("capacités en partie supposées (hypothèse saisie par l'utilisateur)")
    return notes


def _assignment(solver, x: dict, G: int, D: int, S: int) -> np.ndarray:
    """(groups, days) structure index of a solution."""
    return np.array(
        [[next(s for s in range(S) if solver.Value(x[g, d, s])) for d in range(D)] for g in range(G)], dtype=int
    )


def _first_programme(
    chosen: Sequence[Structure], spec: ProgrammeSpec, sizes: list[int], sub: np.ndarray, variety: int
) -> tuple[np.ndarray | None, str]:
    """A first feasible programme (no objective), or None with ``infeasible`` or ``timeout``."""
    from ortools.sat.python import cp_model

    fmodel, fx, _, _ = build_model(chosen, spec, sizes, sub, elastic=False, variety=variety, objective=False)
    fsolver, fstatus = _solve(fmodel, spec.time_limit, first_solution=True)
    if fstatus == cp_model.INFEASIBLE:
        return None, "infeasible"
    if fstatus not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None, "timeout"
    return _assignment(fsolver, fx, len(sizes), len(spec.days), len(chosen)), "feasible"


def _improve(
    chosen: Sequence[Structure],
    spec: ProgrammeSpec,
    sizes: list[int],
    sub: np.ndarray,
    variety: int,
    first: np.ndarray,
    t0: float,
) -> tuple[np.ndarray, str, float]:
    """The programme minimising the minutes between structures, hinted with ``first``, in the
    time left: (assignment, ``optimal`` or ``feasible``, the solver's bound); never worse than
    ``first``."""
    from ortools.sat.python import cp_model

    assign, status, bound = first, "feasible", 0.0
    model, x, _, _ = build_model(chosen, spec, sizes, sub, elastic=False, variety=variety)
    for (g, d, s), v in x.items():
        model.AddHint(v, bool(first[g, d] == s))
    left = max(1.0, float(spec.time_limit) - (time.perf_counter() - t0))
    solver, st = _solve(model, left)
    if st in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        assign = _assignment(solver, x, len(sizes), len(spec.days), len(chosen))
        status = "optimal" if st == cp_model.OPTIMAL else "feasible"
        bound = float(solver.BestObjectiveBound())
        if _total(sub, assign) > _total(sub, first):  # never return worse than the start
            assign = first
    return assign, status, bound


def _explain_infeasible(
    chosen: Sequence[Structure],
    spec: ProgrammeSpec,
    sizes: list[int],
    sub: np.ndarray,
    variety: int,
    sector: str | None,
) -> ProgrammeInfeasible:
    """Why no programme exists: the missing places per day and sector, from the elastic model
    whose capacity slack is minimised."""
    from ortools.sat.python import cp_model

    model, x, slack, _ = build_model(chosen, spec, sizes, sub, elastic=True, variety=variety, objective=False)
    solver, status = _solve(model, spec.time_limit)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return ProgrammeInfeasible(
            [f"aucun programme trouvé en {spec.time_limit:g} s"],
            ["réduire le nombre d'élèves", "ajouter des structures", "élargir le rayon"],
        )
    missing: dict[tuple[int, str], int] = {}
    for (d, s), v in slack.items():
        val = int(solver.Value(v))
        if val:
            key = (d, chosen[s].sector)
            missing[key] = missing.get(key, 0) + val
    return missing_places_error(missing, spec, chosen, sizes, sector)
