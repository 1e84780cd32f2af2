"""The CP-SAT model of a programme (see :mod:`analysis.planning.programme` for its statement).

:func:`build_model` adds, in this order: the assignment variables ``x[g, d, s]`` and "one
structure a day", the daily capacities (with a slack per day and structure in the elastic
version), the rules of the type, the minutes between consecutive days' locations (objective),
the symmetry breaking between subgroups of equal size, and the objective.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from analysis.planning.programme_types import KINDS, ProgrammeSpec, Structure


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


def build_model(
    structures: Sequence[Structure],
    spec: ProgrammeSpec,
    sizes: Sequence[int],
    minutes: np.ndarray,
    elastic: bool,
    variety: int,
    objective: bool = True,
):
    """The model, its ``x`` variables, the capacity slack (elastic) and the hop terms (objective)."""
    from ortools.sat.python import cp_model

    G, D, S = len(sizes), len(spec.days), len(structures)
    model = cp_model.CpModel()
    x = {(g, d, s): model.NewBoolVar(f"x{g}_{d}_{s}") for g in range(G) for d in range(D) for s in range(S)}
    for g in range(G):
        for d in range(D):
            model.AddExactlyOne(x[g, d, s] for s in range(S))
    slack = _add_capacities(model, x, structures, spec, sizes, elastic)
    _add_type_rules(model, x, structures, spec.kind, G, D, variety)
    hop_terms = _add_hops(model, x, structures, minutes, G, D) if objective else []
    # symmetry: subgroups of equal size are interchangeable; order them by their first-day structure
    for g in range(G - 1):
        if sizes[g] == sizes[g + 1]:
            model.Add(sum(s * x[g, 0, s] for s in range(S)) <= sum(s * x[g + 1, 0, s] for s in range(S)))
    if elastic:
        model.Minimize(sum(slack.values()))
    elif objective:
        model.Minimize(sum(hop_terms))
    return model, x, slack, hop_terms


def _add_capacities(model, x: dict, structures: Sequence[Structure], spec: ProgrammeSpec, sizes, elastic: bool) -> dict:
    """Pupils at a structure on a day within its capacity (plus a slack variable when ``elastic``)."""
    G = len(sizes)
    slack = {}
    for d, day in enumerate(spec.days):
        for s, st in enumerate(structures):
            load = sum(sizes[g] * x[g, d, s] for g in range(G))
            if elastic:
                slack[d, s] = model.NewIntVar(0, int(spec.pupils), f"slack{d}_{s}")
                model.Add(load <= st.capacity_on(day) + slack[d, s])
            else:
                model.Add(load <= st.capacity_on(day))
    return slack


def _add_type_rules(model, x: dict, structures: Sequence[Structure], kind: str, G: int, D: int, variety: int) -> None:
    """The rules of the programme's type (:data:`~analysis.planning.programme_types.KIND_RULES`)."""
    S = len(structures)
    if kind in (KINDS["mono-site"], KINDS["bi-entreprises"]):
        _add_used_structures(model, x, kind, G, D, S)
    elif kind == KINDS["multisectoriel"]:
        sectors = sorted({st.sector for st in structures})
        classes = [(sec, [s for s, st in enumerate(structures) if st.sector == sec]) for sec in sectors]
        _add_variety(model, x, classes, G, D, variety)
    elif kind == KINDS["mono-secteur"]:
        _add_variety(model, x, [(s, [s]) for s in range(S)], G, D, variety)


def _add_used_structures(model, x: dict, kind: str, G: int, D: int, S: int) -> None:
    """``mono-site``: one structure used; ``bi-entreprises``: two, each seen by every subgroup."""
    u = [model.NewBoolVar(f"u{s}") for s in range(S)]
    model.Add(sum(u) == (1 if kind == KINDS["mono-site"] else 2))
    for (_g, _d, s), v in x.items():
        model.AddImplication(v, u[s])
    if kind == KINDS["bi-entreprises"]:
        for g in range(G):
            for s in range(S):
                model.Add(sum(x[g, d, s] for d in range(D)) >= 1).OnlyEnforceIf(u[s])


def _add_variety(model, x: dict, classes: Sequence[tuple], G: int, D: int, variety: int) -> None:
    """Each subgroup sees at least ``variety`` classes (sectors, or structures), at most
    ``ceil(D / variety)`` days in each; ``classes`` holds (name, member structures)."""
    cap_days = math.ceil(D / variety)
    for g in range(G):
        seen = []
        for name, members in classes:
            days_in = sum(x[g, d, s] for d in range(D) for s in members)
            v = model.NewBoolVar(f"v{g}_{name}")
            model.Add(days_in >= 1).OnlyEnforceIf(v)
            model.Add(days_in <= cap_days)
            seen.append(v)
        model.Add(sum(seen) >= variety)


def _add_hops(model, x: dict, structures: Sequence[Structure], minutes: np.ndarray, G: int, D: int) -> list:
    """Minutes between the structures of consecutive days, one variable per subgroup and day.

    At the level of the structures' locations (offers of a commune share its centre: most moves
    are 0 min); hop >= row of the next day's location, enforced by a big-M on the current day's
    location (exact: one location a day).
    """
    _loc_of, groups_of = _locations(structures, minutes)
    L = len(groups_of)
    lt = np.array([[minutes[groups_of[a][0], groups_of[b][0]] for b in range(L)] for a in range(L)])
    lt = np.rint(lt).astype(int)
    hop_terms = []
    if L > 1 and lt.max() > 0:
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
    return hop_terms
