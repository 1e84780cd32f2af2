"""Where to launch the next collective internships: the maximal covering location problem.

Given the demand of :mod:`analysis.planning.demand` (unserved pupils, or 2SFCA shortfall) per
origin and the coverage relation "origin reaches the site within the budget", choose ``K``
candidate sites that maximise the demand newly covered (origins already covered by an existing
collective project are left out by default). The solvers live in :mod:`analysis.planning.cover`
(re-exported here):

- :func:`exact_cover`: integer program solved by OR-Tools CP-SAT::

      max  sum_i w_i y_i   s.t.  y_i <= sum_{j covers i} x_j,   sum_j x_j <= K,   x, y in {0, 1}

- :func:`greedy_cover`: the classic greedy (best marginal gain first), a (1 - 1/e) approximation;
  it seeds CP-SAT with a hint, and is reported beside the exact answer with the gap.

:func:`plan_sites` ties them to the database and describes each proposed site (pupils covered,
lycées involved, offers and sectors within walking/transit reach with SIRET, EPCI as likely
convention holder, morning transit departures). :func:`existing_projects` scores the projects of
``collective_projects`` on the same demand.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pandas as pd

from analysis.planning.cover import WEIGHT_SCALE as WEIGHT_SCALE  # re-exported (X as X)
from analysis.planning.cover import CoverSolution, exact_cover, greedy_cover
from analysis.planning.cover import order_by_gain as order_by_gain
from analysis.planning.demand import (
    DemandSpec,
    PlanningError,
    candidate_sites,
    coverage_pairs,
    origin_demand,
    require_site_times,
)
from analysis.planning.hosts import DEFAULT_REACH_MINUTES as DEFAULT_REACH_MINUTES  # re-exported (X as X)
from analysis.planning.hosts import DESCRIBE_REACH, host_counts
from analysis.planning.hosts import REACH_MODES as REACH_MODES
from analysis.planning.hosts import describe_sites as describe_sites
from analysis.planning.hosts import site_offers as site_offers
from analysis.text import count, format_number

#: Largest number of sites the planner proposes at once.
MAX_SITES = 10
#: Default minimum of known host structures (offers) within :data:`DESCRIBE_REACH` of a
#: proposed site: a collective internship needs hosts nearby.
DEFAULT_MIN_HOSTS = 1
# --------------------------------------------------------------------------- database side


@dataclass
class CoverageProblem:
    """The covering instance read from the database.

    Attributes
    ----------
    spec : DemandSpec
    demand : pandas.DataFrame
        One row per demand origin (see :func:`analysis.planning.demand.origin_demand`).
    sites : pandas.DataFrame
        Candidate sites (:func:`analysis.planning.demand.candidate_sites`) with ``site_key``.
    cover : list of numpy.ndarray
        Per site (row of ``sites``), the indices (rows of ``demand``) of the origins it covers.
    """

    spec: DemandSpec
    demand: pd.DataFrame
    sites: pd.DataFrame
    cover: list[np.ndarray]

    @property
    def weights(self) -> np.ndarray:
        return self.demand["demand"].to_numpy(float)

    def site_index(self, site_kind: str, site_id: str) -> int:
        hit = np.nonzero(
            (self.sites["site_kind"] == site_kind).to_numpy() & (self.sites["site_id"] == str(site_id)).to_numpy()
        )[0]
        if not len(hit):
            raise PlanningError(f"site inconnu : {site_kind} {site_id}")
        return int(hit[0])


def site_key(kind: str, site_id: str) -> str:
    """Stable text id of a site: ``commune:27467`` or ``school:0271581N``."""
    return f"{kind}:{site_id}"


def load_problem(con: duckdb.DuckDBPyConnection, spec: DemandSpec) -> CoverageProblem:
    """Read the demand, the candidate sites and the coverage relation (DuckDB SQL)."""
    require_site_times(con)
    demand = origin_demand(con, spec).reset_index(drop=True)
    sites = candidate_sites(con).reset_index(drop=True)
    sites["site_key"] = [site_key(k, i) for k, i in zip(sites["site_kind"], sites["site_id"])]
    pairs = coverage_pairs(con, spec, demand)
    o_index = pd.Series(np.arange(len(demand)), index=demand["origin_id"].astype(str))
    s_index = pd.Series(np.arange(len(sites)), index=sites["site_key"])
    keys = pairs["site_kind"] + ":" + pairs["site_id"].astype(str)
    sj = s_index.reindex(keys).to_numpy()
    oi = o_index.reindex(pairs["origin_id"].astype(str)).to_numpy()
    ok = ~(pd.isna(sj) | pd.isna(oi))
    sj, oi = sj[ok].astype(int), oi[ok].astype(int)
    order = np.argsort(sj, kind="stable")
    sj, oi = sj[order], oi[order]
    bounds = np.searchsorted(sj, np.arange(len(sites) + 1))
    cover = [oi[bounds[j] : bounds[j + 1]] for j in range(len(sites))]
    return CoverageProblem(spec, demand, sites, cover)


def tie_ranks(values: np.ndarray, value: float, tol: float = 1e-9) -> tuple[int, int]:
    """First and last rank (1 = the largest) that ``value`` shares among ``values``: ties
    occupy a range of positions (``(5, 71)`` for 67 EPCI without demand after 4 with)."""
    values = np.asarray(values, dtype=float)
    above = int((values > value + tol).sum())
    level = int((np.abs(values - value) <= tol).sum())
    return above + 1, above + max(level, 1)


def _rank_pair(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """:func:`tie_ranks` of every value of ``values`` (first ranks, last ranks)."""
    v = values.to_numpy(float)
    pairs = [tie_ranks(v, x) for x in v]
    return (
        pd.Series([p[0] for p in pairs], index=values.index, dtype=int),
        pd.Series([p[1] for p in pairs], index=values.index, dtype=int),
    )


def existing_projects(con: duckdb.DuckDBPyConnection, problem: CoverageProblem) -> pd.DataFrame:
    """Score the existing collective projects (each at its commune centre) on the demand.

    Returns
    -------
    pandas.DataFrame
        ``project_id, name, kind, commune_code, commune_name, epci_siren, epci_name, covered,
        covered_origins, rank, rank_max, rank_among_sites, rank_among_sites_max, n_sites,
        epci_demand, epci_rank, epci_rank_max, n_epci`` where ``covered`` is the demand of the
        origins reaching the project's commune centre within the budget, ``rank`` its rank among
        the projects (1 = covers the most), ``rank_among_sites`` the rank of that site among all
        candidate sites, ``epci_demand`` the demand of the project's EPCI and ``epci_rank`` the
        EPCI's rank among all EPCI by demand (1 = the largest). Ties are kept as such: a rank
        and its ``*_max`` are the first and last positions shared by equal values (26 projects
        covering nothing are ranked 1 to 26, not all « 1 »).
    """
    projects = con.execute(
        """SELECT p.project_id, p.name, p.kind, p.commune_code, c.name AS commune_name, c.epci_siren,
                  e.name AS epci_name, p.pupils AS project_pupils
           FROM collective_projects p JOIN communes c ON c.code = p.commune_code
           LEFT JOIN epci e ON e.siren = c.epci_siren ORDER BY p.project_id"""
    ).df()
    w = problem.weights
    site_values = np.array([float(w[idx].sum()) for idx in problem.cover])
    covered, ids, rank_sites = [], [], []
    for code in projects["commune_code"]:
        j = problem.site_index("commune", code)
        covered.append(site_values[j])
        ids.append(sorted(problem.demand["origin_id"].iloc[problem.cover[j]].astype(str)))
        rank_sites.append(tie_ranks(site_values, site_values[j]))
    projects["covered"] = covered
    projects["covered_origins"] = ids
    projects["rank"], projects["rank_max"] = _rank_pair(projects["covered"])
    projects["rank_among_sites"] = [r[0] for r in rank_sites]
    projects["rank_among_sites_max"] = [r[1] for r in rank_sites]
    projects["n_sites"] = len(site_values)
    epci = con.execute("SELECT siren AS epci_siren, name FROM epci").df()
    by_epci = problem.demand.groupby("epci_siren")["demand"].sum()
    epci["epci_demand"] = epci["epci_siren"].map(by_epci).fillna(0.0)
    epci["epci_rank"], epci["epci_rank_max"] = _rank_pair(epci["epci_demand"])
    projects = projects.merge(
        epci[["epci_siren", "epci_demand", "epci_rank", "epci_rank_max"]], on="epci_siren", how="left"
    )
    projects["n_epci"] = len(epci)
    return projects.sort_values(["rank", "project_id"]).reset_index(drop=True)


@dataclass
class SitePlan:
    """Answer of :func:`plan_sites`.

    Attributes
    ----------
    spec : DemandSpec
    k : int
    sites : pandas.DataFrame
        The proposed sites of the exact solution, one row each (see :func:`plan_sites`).
    greedy_sites : pandas.DataFrame
        Same columns for the greedy solution.
    exact, greedy : CoverSolution
    gap : float
        ``(exact - greedy) / exact`` (0 when nothing to cover).
    demand_total : float
        Demand of every origin.
    already_covered : float
        Demand covered by the existing projects (left out of the objective when ``exclude_existing``).
    projects : pandas.DataFrame
        :func:`existing_projects`.
    exclude_existing : bool
    min_hosts : int
        Minimum of known host structures near a proposed site (:func:`plan_sites`).
    notes : list of str
        Why fewer sites than ``k`` are proposed (French).
    """

    spec: DemandSpec
    k: int
    sites: pd.DataFrame
    greedy_sites: pd.DataFrame
    exact: CoverSolution
    greedy: CoverSolution
    gap: float
    demand_total: float
    already_covered: float
    projects: pd.DataFrame
    exclude_existing: bool = True
    min_hosts: int = 0
    notes: list[str] = field(default_factory=list)


def _describe(problem: CoverageProblem, chosen: Sequence[int], weights: np.ndarray) -> pd.DataFrame:
    mask = np.zeros(len(weights), dtype=bool)
    rows = []
    dem = problem.demand
    for rank, j in enumerate(chosen, start=1):
        idx = problem.cover[j]
        idx = idx[weights[idx] > 0]
        new = idx[~mask[idx]]
        mask[idx] = True
        site = problem.sites.iloc[j]
        covered = dem.iloc[idx]
        rows.append(
            {
                "rank": rank,
                "site_key": site["site_key"],
                "site_kind": site["site_kind"],
                "site_id": site["site_id"],
                "site_name": site["site_name"],
                "commune_code": site["commune_code"],
                "commune_name": site["commune_name"],
                "epci_siren": site["epci_siren"],
                "epci_name": site["epci_name"],
                "lon": site["lon"],
                "lat": site["lat"],
                "pupils_covered": float(weights[idx].sum()),
                "pupils_new": float(weights[new].sum()),
                "n_origins": len(idx),
                "covered_origin_ids": sorted(covered["origin_id"].astype(str)),
                "covered_origin_names": sorted(covered["origin_name"].astype(str)),
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "rank",
            "site_key",
            "site_kind",
            "site_id",
            "site_name",
            "commune_code",
            "commune_name",
            "epci_siren",
            "epci_name",
            "lon",
            "lat",
            "pupils_covered",
            "pupils_new",
            "n_origins",
            "covered_origin_ids",
            "covered_origin_names",
        ],
    )


def plan_sites(
    con: duckdb.DuckDBPyConnection,
    spec: DemandSpec,
    k: int = 5,
    *,
    exclude_existing: bool = True,
    time_limit: float = 10.0,
    problem: CoverageProblem | None = None,
    min_hosts: int = 1,
) -> SitePlan:
    """Choose ``k`` new sites, exactly (CP-SAT) and greedily.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
    spec : DemandSpec
    k : int
        1 to :data:`MAX_SITES`.
    exclude_existing : bool
        Leave out the origins the existing collective projects already cover.
    time_limit : float
        CP-SAT time limit (seconds).
    problem : CoverageProblem, optional
        Reuse an instance already loaded for ``spec``.
    min_hosts : int
        Only sites with at least this many known offers (potential host structures) within
        :data:`DESCRIBE_REACH` are proposed (:func:`host_counts`); 0 = every site. Default
        :data:`DEFAULT_MIN_HOSTS`: a collective internship needs hosts.

    Returns
    -------
    SitePlan
        ``sites`` columns: ``rank, site_key, site_kind, site_id, site_name, commune_code,
        commune_name, epci_siren, epci_name, lon, lat, pupils_covered`` (demand of the newly
        coverable origins the site reaches), ``pupils_new`` (marginal, in rank order),
        ``n_origins, covered_origin_ids, covered_origin_names``. ``notes`` says, in French, why
        fewer than ``k`` sites are proposed.
    """
    if not 1 <= int(k) <= MAX_SITES:
        raise PlanningError(f"nombre de sites {k} hors de l'intervalle 1 à {MAX_SITES}")
    if int(min_hosts) < 0:
        raise PlanningError(f"nombre minimal de structures {min_hosts} négatif (attendu : 0 ou plus)")
    problem = problem or load_problem(con, spec)
    weights = problem.weights.copy()
    projects = existing_projects(con, problem)
    covered_mask = np.zeros(len(weights), dtype=bool)
    for code in projects["commune_code"]:
        covered_mask[problem.cover[problem.site_index("commune", code)]] = True
    already = float(weights[covered_mask].sum())
    if exclude_existing:
        weights[covered_mask] = 0.0
    cover = problem.cover
    if min_hosts > 0:
        hosts = host_counts(con, problem.sites)
        empty = np.array([], dtype=cover[0].dtype if cover else int)
        cover = [idx if h >= min_hosts else empty for idx, h in zip(cover, hosts)]
    greedy = greedy_cover(cover, weights, int(k))
    exact = exact_cover(cover, weights, int(k), time_limit=time_limit, hint=greedy.chosen)
    if exact.value + 1e-9 < greedy.value:  # cannot happen when optimal; keep the better answer
        exact = CoverSolution(greedy.chosen, greedy.value, exact.status, exact.bound, exact.seconds)
    gap = (exact.value - greedy.value) / exact.value if exact.value > 0 else 0.0
    plan = SitePlan(
        spec,
        int(k),
        _describe(problem, exact.chosen, weights),
        _describe(problem, greedy.chosen, weights),
        exact,
        greedy,
        gap,
        float(problem.weights.sum()),
        already,
        projects,
        exclude_existing,
        min_hosts=int(min_hosts),
    )
    plan.notes = fewer_sites_notes(plan, problem.cover, cover, weights)
    return plan


def _covered_by(cover: Sequence[np.ndarray], n: int, sites: Sequence[int] | None = None) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    for j in range(len(cover)) if sites is None else sites:
        mask[cover[j]] = True
    return mask


def fewer_sites_notes(
    plan: SitePlan, full_cover: Sequence[np.ndarray], cover: Sequence[np.ndarray], weights: np.ndarray
) -> list[str]:
    """Why fewer than ``plan.k`` sites are proposed (French sentences; empty when all ``k`` are).

    ``full_cover`` is the coverage of every candidate site, ``cover`` that of the sites allowed
    (:func:`plan_sites`'s ``min_hosts``), ``weights`` the demand left to cover.
    """
    n_sites = len(plan.exact.chosen)
    if n_sites >= plan.k:
        return []
    unit, n = plan.spec.unit, len(weights)

    def fmt(x: float) -> str:
        return format_number(x, 0 if plan.spec.measure == "unserved" else 1)

    allowed = _covered_by(cover, n)
    left_out = float(weights[allowed & ~_covered_by(cover, n, plan.exact.chosen)].sum())
    without = float(weights[_covered_by(full_cover, n) & ~allowed].sum())
    nowhere = float(weights[~_covered_by(full_cover, n)].sum())
    hosts = count(plan.min_hosts, "structure d'accueil connue", "structures d'accueil connues")
    reach = f"à moins de {DESCRIBE_REACH[1]:g} min (transports en commun ou à pied)"
    near = f"ayant au moins {hosts} {reach}"
    if n_sites == 0:
        head = "Aucun site proposé : " + (
            f"aucun site {near} n'est à portée de la demande à couvrir."
            if without > 1e-9
            else "il ne reste aucune demande qu'un site puisse couvrir."
        )
    elif left_out <= 1e-9:
        they = "il couvre" if n_sites == 1 else "ils couvrent"
        scope = f"un site {near}" if plan.min_hosts > 0 else "un site candidat"
        head = (
            f"{count(n_sites, 'site proposé', 'sites proposés')} au lieu de {plan.k} : {they} toute la demande "
            f"que peut couvrir {scope} ; un site de plus n'ajouterait rien."
        )
    else:
        head = (
            f"{count(n_sites, 'site proposé', 'sites proposés')} au lieu de {plan.k} : {fmt(left_out)} {unit} "
            "restent à couvrir, mais le solveur n'a pas trouvé de site qui en ajoute dans le temps imparti."
        )
    notes = [head]
    if plan.min_hosts > 0 and without > 1e-9:
        notes.append(
            f"{fmt(without)} {unit} ne sont à portée que de sites sans assez de structures d'accueil connues "
            f"(un stage collectif a besoin de structures d'accueil proches) ; le minimum demandé, {hosts} "
            f"{reach}, peut être baissé (0 : tous les sites)."
        )
    if nowhere > 1e-9:
        notes.append(f"{fmt(nowhere)} {unit} ne sont à portée d'aucun site candidat dans le budget-temps.")
    return notes


def communes_with_epci(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Communes (code, name, EPCI, origin point) with the number of offers located there."""
    return con.execute(
        """SELECT c.code, c.name, c.epci_siren, c.lon, c.lat,
                  (SELECT count(*) FROM offers o WHERE o.commune_code = c.code) AS n_offers
           FROM communes c ORDER BY c.name, c.code"""
    ).df()


def project_list(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The existing collective projects: ``project_id, name, commune_code`` (programme view)."""
    return con.execute("SELECT project_id, name, commune_code FROM collective_projects ORDER BY project_id").df()
