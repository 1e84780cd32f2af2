"""What a collective-internship programme is: the four types, the days, the structures, the request and the result.

Pure data (no solver, no database): :data:`KINDS` and their rules in French, the working days of
the fortnight and their French labels, :class:`Structure` (a candidate host with its daily
capacity), :class:`ProgrammeSpec` (what to design), :class:`Programme` (a feasible rotation) and
:class:`ProgrammeInfeasible` (why none exists). Re-exported by :mod:`analysis.planning.programme`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
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


def places(n: int) -> str:
    return f"{n} place{'s' if n > 1 else ''}"
