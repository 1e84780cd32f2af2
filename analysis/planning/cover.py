"""Maximal covering solvers: the greedy and the exact (OR-Tools CP-SAT) answers.

Pure functions on the covering instance (``cover[j]`` = indices of the origins site ``j``
covers, ``weights[i]`` = demand of origin ``i``); :mod:`analysis.planning.sites` reads the
instance from the database and re-exports them.

- :func:`exact_cover`: integer program solved by OR-Tools CP-SAT (model built by
  ``_cover_model``, solution read by ``_read_cover_solution``)::

      max  sum_i w_i y_i   s.t.  y_i <= sum_{j covers i} x_j,   sum_j x_j <= K,   x, y in {0, 1}

- :func:`greedy_cover`: the classic greedy (best marginal gain first), a (1 - 1/e) approximation;
  it seeds CP-SAT with a hint.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from analysis.planning.demand import PlanningError

#: Integer scale of the weights given to CP-SAT (weights are rounded to 1/100).
WEIGHT_SCALE = 100


@dataclass
class CoverSolution:
    """A set of chosen sites and the demand they cover.

    Attributes
    ----------
    chosen : list of int
        Indices of the chosen sites, in order of marginal gain.
    value : float
        Demand covered (sum of the weights of the covered origins).
    status : str
        ``optimal``, ``feasible`` (time limit hit: ``bound`` is the solver's upper bound) or
        ``greedy``.
    bound : float
        Upper bound on the optimum (equals ``value`` when optimal).
    seconds : float
    """

    chosen: list[int]
    value: float
    status: str
    bound: float
    seconds: float


def _covered_value(cover: Sequence[np.ndarray], weights: np.ndarray, chosen: Sequence[int]) -> float:
    mask = np.zeros(len(weights), dtype=bool)
    for j in chosen:
        mask[cover[j]] = True
    return float(weights[mask].sum())


def order_by_gain(cover: Sequence[np.ndarray], weights: np.ndarray, chosen: Sequence[int]) -> list[int]:
    """Order chosen sites by marginal gain (largest first; ties by index)."""
    left = list(chosen)
    mask = np.zeros(len(weights), dtype=bool)
    out: list[int] = []
    while left:
        gains = [float(weights[cover[j][~mask[cover[j]]]].sum()) for j in left]
        best = int(np.argmax(gains))
        j = left.pop(best)
        out.append(j)
        mask[cover[j]] = True
    return out


def greedy_cover(cover: Sequence[np.ndarray], weights: np.ndarray, k: int) -> CoverSolution:
    """Greedy maximal covering: repeatedly take the site with the largest newly covered weight.

    Parameters
    ----------
    cover : sequence of numpy.ndarray
        ``cover[j]`` = indices of the origins site ``j`` covers.
    weights : numpy.ndarray
        Demand of each origin (>= 0).
    k : int
        Number of sites (stops early when no site adds demand).

    Returns
    -------
    CoverSolution
        ``status='greedy'``, ``bound`` = ``value`` (no bound claimed).
    """
    t0 = time.perf_counter()
    weights = np.asarray(weights, dtype=float)
    mask = np.zeros(len(weights), dtype=bool)
    chosen: list[int] = []
    for _ in range(k):
        best, best_gain = -1, 0.0
        for j, idx in enumerate(cover):
            if j in chosen or not len(idx):
                continue
            gain = float(weights[idx[~mask[idx]]].sum())
            if gain > best_gain + 1e-12:
                best, best_gain = j, gain
        if best < 0:
            break
        chosen.append(best)
        mask[cover[best]] = True
    value = float(weights[mask].sum())
    return CoverSolution(chosen, value, "greedy", value, time.perf_counter() - t0)


def exact_cover(
    cover: Sequence[np.ndarray],
    weights: np.ndarray,
    k: int,
    time_limit: float = 10.0,
    hint: Sequence[int] | None = None,
    workers: int = 8,
) -> CoverSolution:
    """Maximal covering solved exactly by OR-Tools CP-SAT.

    Weights are scaled to integers (1/100 units) for the solver; the value reported is recomputed
    from the real weights. Sites covering nothing, and duplicates of a site's coverage, are not
    given to the solver. ``k = 1`` is solved by enumeration (the best single site), exactly.

    Parameters
    ----------
    cover, weights, k
        As :func:`greedy_cover`.
    time_limit : float
        Seconds; when hit, ``status='feasible'`` and ``bound`` is the proven upper bound.
    hint : sequence of int, optional
        A starting solution (e.g. the greedy one).
    workers : int
        CP-SAT search workers (8: the default portfolio, whose LP-based workers prove optimality
        in about a second on the regional instances; with 2 the bound stays weak).
    """
    from ortools.sat.python import cp_model

    t0 = time.perf_counter()
    weights = np.asarray(weights, dtype=float)
    w_int = np.rint(weights * WEIGHT_SCALE).astype(np.int64)
    useful = [j for j, idx in enumerate(cover) if len(idx) and w_int[idx].sum() > 0]
    if not useful or k <= 0:
        return CoverSolution([], 0.0, "optimal", 0.0, time.perf_counter() - t0)
    if k == 1:  # one site: the optimum is the best single site (exact by enumeration)
        best = max(useful, key=lambda j: (float(weights[cover[j]].sum()), -j))
        value = float(weights[cover[best]].sum())
        return CoverSolution([best], value, "optimal", value, time.perf_counter() - t0)
    model, x = _cover_model(cover, w_int, _distinct_coverage(cover, useful), k, hint)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = float(time_limit)
    solver.parameters.num_workers = int(workers)
    status = solver.Solve(model)
    return _read_cover_solution(solver, status, x, cover, weights, hint, t0)


def _distinct_coverage(cover: Sequence[np.ndarray], useful: Sequence[int]) -> list[int]:
    """The sites of ``useful`` with distinct coverage: among sites covering the same origins, the
    first is kept (same value, smaller model)."""
    seen: dict[bytes, int] = {}
    for j in useful:
        key = np.sort(cover[j]).tobytes()
        seen.setdefault(key, j)
    return sorted(seen.values())


def _cover_model(
    cover: Sequence[np.ndarray], w_int: np.ndarray, sites: Sequence[int], k: int, hint: Sequence[int] | None
) -> tuple[Any, dict[int, Any]]:
    """The CP-SAT model of the maximal covering and its site variables ``x[j]``.

    One boolean ``x[j]`` per site of ``sites``, one ``y[i]`` per origin of positive integer weight
    covered by some site, ``y[i] <= sum of the x[j] covering i``, at most ``k`` sites, maximise the
    covered integer weight; the hint, when given, is set on every variable."""
    from ortools.sat.python import cp_model

    model = cp_model.CpModel()
    x = {j: model.NewBoolVar(f"x{j}") for j in sites}
    by_origin: dict[int, list[int]] = {}
    for j in sites:
        for i in cover[j]:
            by_origin.setdefault(int(i), []).append(j)
    y = {}
    for i, covering in by_origin.items():
        if w_int[i] <= 0:
            continue
        y[i] = model.NewBoolVar(f"y{i}")
        model.Add(y[i] <= sum(x[j] for j in covering))  # linear form: CP-SAT's LP workers bound it
    model.Add(sum(x.values()) <= int(k))
    model.Maximize(sum(int(w_int[i]) * v for i, v in y.items()))
    _add_cover_hint(model, cover, x, y, hint)
    return model, x


def _add_cover_hint(model: Any, cover: Sequence[np.ndarray], x: dict, y: dict, hint: Sequence[int] | None) -> None:
    """A complete hint (the hinted sites and the origins they cover): CP-SAT starts from it."""
    hinted = set(hint or ()) & set(x)
    if not hinted:
        return
    covered = {int(i) for j in hinted for i in cover[j]}
    for j, v in x.items():
        model.AddHint(v, j in hinted)
    for i, v in y.items():
        model.AddHint(v, i in covered)


def _read_cover_solution(
    solver: Any,
    status: int,
    x: dict[int, Any],
    cover: Sequence[np.ndarray],
    weights: np.ndarray,
    hint: Sequence[int] | None,
    t0: float,
) -> CoverSolution:
    """The chosen sites (ordered by marginal gain), their real covered value and the proven bound;
    when the solver found nothing in time, the hint stands with no proven bound."""
    from ortools.sat.python import cp_model

    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        if hint:  # time limit without a solution: the hint stands, with no proven bound
            chosen = order_by_gain(cover, weights, [j for j in hint])
            value = _covered_value(cover, weights, chosen)
            return CoverSolution(chosen, value, "feasible", float("inf"), time.perf_counter() - t0)
        raise PlanningError(f"le solveur CP-SAT n'a pas trouvé de solution ({solver.StatusName(status)})")
    chosen = [j for j, v in x.items() if solver.Value(v)]
    chosen = order_by_gain(cover, weights, chosen)
    value = _covered_value(cover, weights, chosen)
    optimal = status == cp_model.OPTIMAL
    bound = value if optimal else float(solver.BestObjectiveBound()) / WEIGHT_SCALE
    return CoverSolution(chosen, value, "optimal" if optimal else "feasible", bound, time.perf_counter() - t0)
