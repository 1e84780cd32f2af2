"""The parameters of every indicator and their checks.

Owns the vocabulary of the indicators (modes, origin kinds, territory levels, grades, density
classes), :class:`Filters`, :class:`AccessError`, and the checks of a request against the
database: required tables (:func:`require_tables`), the travel-time horizon (:func:`max_minutes_of`,
:func:`check_inputs`) and the known sectors (:func:`sectors`). A list of :class:`Filters` that
differ only by mode and budget (:func:`same_population`) is what a computation of several budgets
at once receives.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import duckdb

from analysis import catalogue, config
from analysis.db import has_relation
from analysis.gtfs import supply
from analysis.progress import silent
from analysis.text import plural

#: Travel modes known to the indicators (:data:`analysis.catalogue.MODES`).
MODES: tuple[str, ...] = catalogue.MODES


#: Origin kinds: communes of residence (estimated pupils) or lycées (real headcounts).
ORIGIN_KINDS: tuple[str, ...] = ("commune", "school")


#: Territory levels.
LEVELS: tuple[str, ...] = ("commune", "epci", "departement", "region")


#: Target grades of the offers.
GRADES: tuple[str, ...] = ("seconde", "3e")


#: Morning window for the transport-supply indicator (departures counted in [start, end]).
MORNING_WINDOW: tuple[str, str] = supply.MORNING_WINDOW


#: Population-density thresholds (inhabitants per km²) of the density-class PROXY. The INSEE
#: "grille communale de densité" is built on 1 km² grid cells, which are not in the mirror;
#: these commune-level thresholds only approximate it (documented in docs/indicators.md).
DENSITY_CLASSES: tuple[tuple[str, float], ...] = (
    ("dense", 1500.0),
    ("intermediaire", 300.0),
    ("peu_dense", 25.0),
    ("tres_peu_dense", 0.0),
)


#: French labels of the density classes, for display.
DENSITY_LABELS: dict[str, str] = {
    "dense": "Dense",
    "intermediaire": "Intermédiaire",
    "peu_dense": "Peu dense",
    "tres_peu_dense": "Très peu dense",
}


#: The progress callback that reports nothing (:func:`analysis.progress.silent`).
noop_progress = silent


class AccessError(ValueError):
    """Invalid indicator parameters or missing input tables."""


@dataclass(frozen=True)
class Filters:
    """Filters shared by every indicator.

    Parameters
    ----------
    mode : str
        ``'walk'``, ``'bike'``, ``'transit'`` (public transport or walking) or ``'car'``.
    minutes : int
        Time budget in minutes (an offer is reachable when its time is ``<= minutes``).
    sectors : tuple of str
        Keep only offers of these sectors (empty: all sectors).
    grade : str, optional
        ``'seconde'`` or ``'3e'``: keep only offers open to that grade (None: all offers).
    public : bool, optional
        True: public hosts only; False: private hosts only; None: both.
    origin_kind : str
        ``'commune'`` (communes of residence, estimated pupils) or ``'school'`` (lycées, real
        seconde headcounts). The two views are never mixed.
    """

    mode: str = config.DEFAULT_MODE
    minutes: int = config.DEFAULT_BUDGET_MIN
    sectors: tuple[str, ...] = ()
    grade: str | None = None
    public: bool | None = None
    origin_kind: str = "commune"

    def __post_init__(self) -> None:
        if self.mode not in catalogue.MODES:  # read at call time: registered modes included
            raise AccessError(f"Mode inconnu : {self.mode!r} (attendu : {', '.join(catalogue.MODES)})")
        if self.origin_kind not in ORIGIN_KINDS:
            raise AccessError(f"Type d'origine inconnu : {self.origin_kind!r} (attendu : commune ou school)")
        if self.grade is not None and self.grade not in GRADES:
            raise AccessError(f"Niveau inconnu : {self.grade!r} (attendu : seconde ou 3e)")
        try:
            minutes = float(self.minutes)
        except (TypeError, ValueError):
            raise AccessError(f"Budget-temps invalide : {self.minutes!r}") from None
        if not 0 <= minutes <= 24 * 60:
            raise AccessError(f"Budget-temps hors limites : {self.minutes!r} minutes")
        if isinstance(self.sectors, str):  # a single sector passed as a string
            object.__setattr__(self, "sectors", (self.sectors,))
        else:
            object.__setattr__(self, "sectors", tuple(self.sectors))

    @property
    def is_default_offer_set(self) -> bool:
        """True when no offer filter (sector, grade, public) is applied."""
        return not self.sectors and self.grade is None and self.public is None

    def with_budget(self, mode: str, minutes: float) -> Filters:
        """The same offers and origins seen with another mode and time budget."""
        return replace(self, mode=mode, minutes=minutes)


def same_population(views: Sequence[Filters]) -> list[Filters]:
    """``views`` as a list, checked to differ only by mode and budget.

    A computation of several budgets at once (one row per view) shares one offer filter and
    one origin kind: those of the first view.

    Raises
    ------
    AccessError
        When ``views`` is empty or two views differ by their offer filters or origin kind.
    """
    views = list(views)
    if not views:
        raise AccessError("Aucun couple (mode, budget) demandé")
    first = views[0]
    for view in views[1:]:
        if view.with_budget(first.mode, first.minutes) != first:
            raise AccessError("Les scénarios d'un même calcul ne diffèrent que par le mode et le budget-temps")
    return views


def views_of(filters: Filters, scenarios: Iterable[Filters] | None) -> list[Filters]:
    """The views a computation returns rows for: ``scenarios`` (checked to differ from
    ``filters`` only by mode and budget, :func:`same_population`), else ``[filters]``."""
    if scenarios is None:
        return [filters]
    return same_population([filters, *scenarios])[1:]


def require_tables(con: duckdb.DuckDBPyConnection, *names: str) -> None:
    """Raise :class:`AccessError` naming the relations of ``names`` absent from the database."""
    missing = [n for n in names if not has_relation(con, n)]
    if missing:
        raise AccessError(
            plural(len(missing), "Table absente", "Tables absentes")
            + " de la base : "
            + ", ".join(missing)
            + ". Lancez « python -m analysis.build »."
        )


def max_minutes_of(con: duckdb.DuckDBPyConnection) -> float:
    """Horizon of ``travel_times`` (minutes): ``max_minutes`` of ``travel_time_runs`` params,
    else ``config.DEFAULT_MAX_MINUTES``."""
    import json

    horizon = None
    if has_relation(con, "travel_time_runs"):
        for (params,) in con.execute("SELECT params FROM travel_time_runs").fetchall():
            try:
                value = float(json.loads(params).get("max_minutes"))
            except (TypeError, ValueError, AttributeError):
                continue
            horizon = value if horizon is None else min(horizon, value)
    return float(horizon if horizon is not None else config.DEFAULT_MAX_MINUTES)


def check_inputs(con: duckdb.DuckDBPyConnection, filters: Filters) -> None:
    """Raise :class:`AccessError` when the tables ``filters`` needs are missing or its budget
    exceeds the horizon of ``travel_times`` (:func:`max_minutes_of`)."""
    require_tables(con, "communes", "offers", "travel_times")
    if filters.origin_kind == "school":
        require_tables(con, "schools")
    horizon = max_minutes_of(con)
    if float(filters.minutes) > horizon:
        raise AccessError(
            f"Budget-temps de {filters.minutes} min supérieur à l'horizon des temps de trajet "
            f"calculés ({horizon:g} min)"
        )


def sectors(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Distinct offer sectors, sorted (for filter widgets)."""
    return [
        r[0] for r in con.execute("SELECT DISTINCT sector FROM offers WHERE sector IS NOT NULL ORDER BY 1").fetchall()
    ]
