"""Demand of the collective-internship planner: which pupils the next projects should reach.

Two measures, for a mode, a time budget and an origin view (lycées with their declared seconde
headcounts by default, or communes of residence with estimated pupils — never mixed):

- ``unserved`` (default): the pupils of the origins that reach **no** offer within the budget
  (``offers_reachable = 0`` in :func:`analysis.access.origin_accessibility`);
- ``shortfall``: the 2SFCA shortfall, ``pupils × max(0, target − A_i)`` where ``A_i`` is the
  2SFCA places per pupil of the origin and ``target`` the places per pupil the user aims at
  (unit: missing places).

Coverage of an origin by a candidate site (a commune centre or a lycée) uses
``site_travel_times`` (:mod:`analysis.planning.sitetimes`); for ``transit`` a pair's time is the
smaller of the transit and walk times, as in the indicators.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from analysis import access, config

#: Demand measures.
MEASURES: tuple[str, ...] = ("unserved", "shortfall")
#: Default 2SFCA target (places per pupil): one place for every pupil.
DEFAULT_TARGET = 1.0


class PlanningError(ValueError):
    """Invalid planner parameters or a database without the planner's tables (French message)."""


@dataclass(frozen=True)
class DemandSpec:
    """What demand to cover.

    Parameters
    ----------
    mode : str
        ``walk``, ``bike``, ``transit`` (public transport or walking) or ``car``.
    minutes : int
        Time budget (minutes, inclusive), at most 60 (the horizon of ``site_travel_times``).
    origin_kind : str
        ``school`` (lycées, declared headcounts) or ``commune`` (communes of residence, estimates).
    measure : str
        ``unserved`` or ``shortfall``.
    target : float
        2SFCA target in places per pupil (``shortfall`` only).
    """

    mode: str = config.DEFAULT_MODE
    minutes: int = config.DEFAULT_BUDGET_MIN
    origin_kind: str = "school"
    measure: str = "unserved"
    target: float = DEFAULT_TARGET

    def __post_init__(self) -> None:
        if self.mode not in access.MODES:
            raise PlanningError(f"mode inconnu : {self.mode!r} (attendu : {', '.join(access.MODES)})")
        if self.origin_kind not in access.ORIGIN_KINDS:
            raise PlanningError(f"origine inconnue : {self.origin_kind!r} (attendu : school ou commune)")
        if self.measure not in MEASURES:
            raise PlanningError(f"mesure inconnue : {self.measure!r} (attendu : unserved ou shortfall)")
        try:
            m = float(self.minutes)
        except (TypeError, ValueError):
            raise PlanningError(f"budget-temps invalide : {self.minutes!r}") from None
        from analysis.planning.sitetimes import SITE_MAX_MINUTES

        if not 0 < m <= SITE_MAX_MINUTES:
            raise PlanningError(f"budget-temps {self.minutes} min hors de l'intervalle ]0 ; {SITE_MAX_MINUTES:g}]")
        if not (self.target > 0):
            raise PlanningError(f"cible 2SFCA invalide : {self.target!r} (places par élève > 0)")

    def filters(self) -> access.Filters:
        return access.Filters(mode=self.mode, minutes=self.minutes, origin_kind=self.origin_kind)

    @property
    def unit(self) -> str:
        return "élèves" if self.measure == "unserved" else "places manquantes"


def require_site_times(con: duckdb.DuckDBPyConnection) -> None:
    """Raise :class:`PlanningError` when the database has no ``site_travel_times``."""
    if not access.has_relation(con, "site_travel_times"):
        raise PlanningError(
            "table « site_travel_times » absente : la base a été construite sans les temps vers les sites "
            "candidats ; relancez « python -m analysis.build »"
        )


def origin_demand(con: duckdb.DuckDBPyConnection, spec: DemandSpec) -> pd.DataFrame:
    """Demand per origin (only origins with a positive demand).

    Returns
    -------
    pandas.DataFrame
        ``origin_kind, origin_id, origin_name, commune_code, epci_siren, pupils, pupils_is_estimate,
        offers_reachable, places_per_pupil_2sfca, demand`` sorted by decreasing demand; ``demand``
        is in pupils (``unserved``) or missing places (``shortfall``).
    """
    acc = access.origin_accessibility(con, spec.filters())
    con.register("_plan_acc", acc)
    try:
        if spec.measure == "unserved":
            demand = "CASE WHEN a.offers_reachable = 0 THEN a.pupils ELSE 0 END"
        else:
            demand = f"a.pupils * greatest(0, {float(spec.target)!r} - coalesce(a.places_per_pupil_2sfca, 0))"
        return con.execute(
            f"""SELECT a.origin_kind, a.origin_id, a.origin_name, a.commune_code, c.epci_siren,
                       a.pupils, a.pupils_is_estimate, a.offers_reachable, a.places_per_pupil_2sfca,
                       {demand} AS demand
                FROM _plan_acc a JOIN communes c ON c.code = a.commune_code
                WHERE a.pupils > 0 AND {demand} > 0
                ORDER BY demand DESC, a.origin_id"""
        ).df()
    finally:
        con.unregister("_plan_acc")


#: ``site_travel_times`` for a mode, ``transit`` being the smaller of transit and walk.
SITE_PAIRS_SQL = """
    SELECT origin_kind, origin_id, site_kind, site_id, min(minutes) AS minutes
    FROM site_travel_times
    WHERE origin_kind = $origin_kind
      AND (mode = $mode OR ($mode = 'transit' AND mode = 'walk'))
    GROUP BY ALL
"""


def coverage_pairs(con: duckdb.DuckDBPyConnection, spec: DemandSpec, demand: pd.DataFrame) -> pd.DataFrame:
    """(site, origin) pairs where a demand origin reaches the site within the budget.

    Returns
    -------
    pandas.DataFrame
        ``site_kind, site_id, origin_id, minutes``.
    """
    require_site_times(con)
    con.register("_plan_dem", demand[["origin_id"]])
    try:
        return con.execute(
            f"""SELECT p.site_kind, p.site_id, p.origin_id, p.minutes
                FROM ({SITE_PAIRS_SQL}) p JOIN _plan_dem d USING (origin_id)
                WHERE p.minutes <= $minutes
                ORDER BY p.site_kind, p.site_id, p.origin_id""",
            {"origin_kind": spec.origin_kind, "mode": spec.mode, "minutes": float(spec.minutes)},
        ).df()
    finally:
        con.unregister("_plan_dem")


def candidate_sites(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every candidate site with its name, commune, EPCI and position.

    Returns
    -------
    pandas.DataFrame
        ``site_kind, site_id, site_name, commune_code, commune_name, epci_siren, epci_name, lon, lat``.
    """
    return con.execute(
        """SELECT 'commune' AS site_kind, c.code AS site_id, c.name AS site_name, c.code AS commune_code,
                  c.name AS commune_name, c.epci_siren, e.name AS epci_name, c.lon, c.lat
           FROM communes c LEFT JOIN epci e ON e.siren = c.epci_siren
           UNION ALL
           SELECT 'school', s.uai, s.name, s.commune_code, c.name, c.epci_siren, e.name, s.lon, s.lat
           FROM schools s JOIN communes c ON c.code = s.commune_code LEFT JOIN epci e ON e.siren = c.epci_siren
           ORDER BY 1, 2"""
    ).df()
