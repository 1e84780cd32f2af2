"""The Planification page's logic that is not widgets: cached calls of :mod:`analysis.planning`
(plain arguments only), the view's choices as requests (:class:`SitesRequest`,
:class:`ProgrammeRequest`) with their URL parameters, the texts and tables shown, and the map of
the sites view."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import folium
import pandas as pd
import streamlit as st

from analysis import text
from analysis.planning import demand as dm
from analysis.planning import export
from analysis.planning import programme as pg
from analysis.planning import sites as st_sites
from analysis.sanitize import html_text, markdown_text
from analysis.text import count as count_of
from ui import core, mapping
from ui.database import con


@st.cache_data(show_spinner=False, max_entries=16)
def site_plan(
    mode: str,
    minutes: int,
    origin: str,
    measure: str,
    target: float,
    k: int,
    include_existing: bool,
    version: int,
    min_hosts: int = st_sites.DEFAULT_MIN_HOSTS,
) -> dict:
    """The plan as plain tables (cacheable): sites (exact, described), greedy sites, projects,
    figures, and the notes saying why fewer sites than ``k`` are proposed."""
    c = con()
    spec = dm.DemandSpec(mode=mode, minutes=minutes, origin_kind=origin, measure=measure, target=target)
    problem = st_sites.load_problem(c, spec)
    plan = st_sites.plan_sites(c, spec, k, exclude_existing=not include_existing, problem=problem, min_hosts=min_hosts)
    described = st_sites.describe_sites(c, plan.sites, origin)
    pos = problem.sites[problem.sites["site_kind"] == origin][["site_id", "lon", "lat"]]
    demand = problem.demand.merge(pos, left_on="origin_id", right_on="site_id", how="left").drop(columns="site_id")
    return {
        "sites": described,
        "greedy": plan.greedy_sites,
        "projects": plan.projects,
        "demand": demand,
        "exact_value": plan.exact.value,
        "exact_status": plan.exact.status,
        "exact_bound": plan.exact.bound,
        "exact_seconds": plan.exact.seconds,
        "greedy_value": plan.greedy.value,
        "gap": plan.gap,
        "demand_total": plan.demand_total,
        "already": plan.already_covered,
        "unit": spec.unit,
        "notes": list(plan.notes),
        "min_hosts": plan.min_hosts,
    }


@st.cache_data(show_spinner=False, max_entries=32)
def site_offers(commune: str, reach_mode: str, radius: float, version: int) -> pd.DataFrame:
    return st_sites.site_offers(con(), "commune", commune, reach_mode, radius)


@st.cache_data(show_spinner=False, max_entries=8)
def communes_with_epci(version: int) -> pd.DataFrame:
    return st_sites.communes_with_epci(con())


@st.cache_data(show_spinner=False, max_entries=8)
def has_site_times(version: int) -> bool:
    from analysis import access

    return access.has_relation(con(), "site_travel_times")


@st.cache_data(show_spinner=False, max_entries=8)
def projects(version: int) -> pd.DataFrame:
    """Existing collective projects (id, name, commune) for the programme view."""
    return st_sites.project_list(con())


def structure_minutes(structures, reach_mode: str):
    """Minutes between the chosen structures (:func:`analysis.planning.programme.structure_minutes`)."""
    return pg.structure_minutes(con(), structures, reach_mode)


def programme_pdf(prog, site_label: str, site_lonlat: tuple[float, float]) -> bytes:
    """The programme PDF (:func:`analysis.planning.export.programme_pdf`)."""
    return export.programme_pdf(con(), prog, site_label, site_lonlat)


# --------------------------------------------------------------------------- the page's choices

#: Demand measures of the sites view (URL ``mesure``).
MEASURES = {
    "unserved": "Élèves sans aucune offre accessible",
    "shortfall": "Places manquantes (2SFCA, par rapport à une cible)",
}
#: Pupils counted (URL ``origine``).
ORIGINS = {"school": core.ORIGIN_LABELS["school"], "commune": core.ORIGIN_LABELS["commune"]}
#: Travel between structures of a programme (URL ``acces``).
REACH = {m: core.mode_label(m, "short") for m in st_sites.REACH_MODES}
#: Pupils (estimated or declared) and missing places (2SFCA) are shown whole on the page; the
#: files keep the exact values.
DECIMALS = 0


@dataclass(frozen=True)
class SitesRequest:
    """The choices of the sites view (sidebar widgets, kept in the page's URL).

    Attributes
    ----------
    mode : str
        Pupils' travel mode.
    minutes : int
        Time budget.
    origin : str
        ``school`` or ``commune`` (key of :data:`ORIGINS`).
    measure : str
        ``unserved`` or ``shortfall`` (key of :data:`MEASURES`).
    target : float
        2SFCA target (places per pupil), used with ``shortfall`` only.
    k : int
        Number of new sites.
    include_existing : bool
        Count also the pupils already covered by existing projects.
    min_hosts : int
        Minimum of known host structures near a site.
    """

    mode: str
    minutes: int
    origin: str
    measure: str
    target: float
    k: int
    include_existing: bool
    min_hosts: int

    def query(self) -> dict[str, Any]:
        """The URL parameters of this view (:func:`ui.core.sync_query`; None removes a parameter)."""
        return {
            "vue": "sites",
            "mode": self.mode,
            "minutes": self.minutes,
            "origine": self.origin,
            "mesure": self.measure,
            "cible": self.target if self.measure == "shortfall" else None,
            "k": self.k,
            "existants": "inclus" if self.include_existing else None,
            "structures": self.min_hosts if self.min_hosts != st_sites.DEFAULT_MIN_HOSTS else None,
            "commune": None,
        }

    def plan(self, version: int) -> dict:
        """The cached plan of :func:`site_plan` for these choices."""
        return site_plan(
            self.mode,
            self.minutes,
            self.origin,
            self.measure,
            self.target,
            self.k,
            self.include_existing,
            version,
            self.min_hosts,
        )


@dataclass(frozen=True)
class ProgrammeRequest:
    """The choices of the programme view (sidebar widgets, kept in the page's URL).

    Attributes
    ----------
    commune : str
        INSEE code of the site's commune.
    pupils : int
    kind : str
        Type of collective internship (key of :data:`analysis.planning.programme.KINDS`).
    days : int
        Working days from :data:`analysis.planning.programme.DEFAULT_START`.
    reach : str
        Travel between structures (key of :data:`REACH`).
    radius : int
        Minutes around the site.
    """

    commune: str
    pupils: int
    kind: str
    days: int
    reach: str
    radius: int

    def query(self) -> dict[str, Any]:
        """The URL parameters of this view; those of the sites view are removed."""
        return {
            "vue": "programme",
            "commune": self.commune,
            "eleves": self.pupils,
            "type": self.kind,
            "jours": self.days,
            "acces": self.reach,
            "rayon": self.radius,
            "mode": None,
            "minutes": None,
            "origine": None,
            "mesure": None,
            "k": None,
            "epci": None,
        }

    def around(self, name: str) -> str:
        """« à moins de 20 min à pied de Pont-Audemer » without the leading « à moins de »."""
        return f"{self.radius} min {REACH[self.reach]} de {name}"


def default_commune(communes: pd.DataFrame) -> str:
    """The site's commune of a first visit: the URL's ``commune`` (Pont-Audemer by default), else,
    with ``epci`` alone, the commune of that EPCI with the most offers."""
    codes = list(communes["code"])
    commune = core.qp_get("commune", "27467", codes)
    epci = core.qp_get("epci", "", [""] + list(communes["epci_siren"].dropna().unique()))
    if epci and "commune" not in st.query_params:
        inside = communes[communes["epci_siren"] == epci].sort_values("n_offers", ascending=False)
        commune = inside["code"].iloc[0]
    return commune


# --------------------------------------------------------------------------- sites view texts and tables


def solver_status(res: dict) -> str:
    """How the exact answer ended: proven optimum, best solution with its bound, or greedy kept."""
    if res["exact_status"] == "optimal":
        return "optimum prouvé"
    if res["exact_bound"] != float("inf"):
        return f"meilleure solution trouvée, borne {core.fnum(res['exact_bound'], DECIMALS)}"
    return "limite de temps atteinte : solution gloutonne gardée"


def sites_summary(res: dict, request: SitesRequest) -> str:
    """The « En bref » paragraph of the sites view (Markdown)."""
    unit, n = res["unit"], len(res["sites"])
    if n > 1:
        proposed = f"Les {n} sites proposés en couvrent "
    elif n == 1:
        proposed = "Le site proposé en couvre "
    else:
        proposed = "Aucun site n'est proposé (raisons ci-dessous) : demande couverte "
    return (
        f"**En bref :** {core.mode_label(request.mode, 'phrase')} en {request.minutes} min au plus, la demande "
        f"totale est de **{core.fnum(res['demand_total'], DECIMALS, unit)}** "
        f"({text.lower_first(MEASURES[request.measure])}, {text.lower_first(ORIGINS[request.origin])}). "
        + proposed
        + f"**{core.fnum(res['exact_value'], DECIMALS, unit)}** (solveur exact : {solver_status(res)}) ; la méthode "
        f"gloutonne en couvre {core.fnum(res['greedy_value'], DECIMALS, unit)} (écart {core.fpct(res['gap'], 1)}). "
        f"Les 26 projets existants couvrent déjà {core.fnum(res['already'], DECIMALS, unit)}"
        + (" (laissés de côté)." if not request.include_existing else ".")
    )


def shown_sites(table: pd.DataFrame) -> pd.DataFrame:
    """The sites table as shown: without the code columns, whole pupils or places on screen, as on
    every page (the files keep the decimals)."""
    shown = table.drop(columns=["Origines couvertes (codes)", "Code", "Code commune"], errors="ignore")
    return shown.round({c: 0 for c in ("Demande couverte", "Gain marginal") if c in shown})


def greedy_comparison(res: dict) -> pd.DataFrame | None:
    """The greedy sites (rank, site, commune, marginal gain) when they differ from the exact ones."""
    greedy = res["greedy"]
    if not len(greedy) or list(greedy["site_key"]) == list(res["sites"]["site_key"]):
        return None
    columns = {"rank": "Rang", "site_name": "Site", "commune_name": "Commune", "pupils_new": "Gain marginal"}
    return greedy[list(columns)].rename(columns=columns).round({"Gain marginal": 0})


def projects_shown(projects: pd.DataFrame, unit: str) -> pd.DataFrame:
    """The existing projects as shown (labels of the XLSX sheet « Projets existants », whole numbers)."""
    labels = export.project_columns(unit)  # one vocabulary with the XLSX sheet « Projets existants »
    pt = export.projects_table(projects, unit)
    for key in ("covered", "epci_demand"):
        pt[labels[key]] = pt[labels[key]].map(lambda x: core.fnum(x, DECIMALS))
    keys = ("name", "commune_name", "epci_name", "covered", "rank_text", "epci_demand", "epci_rank_text")
    return pt[[labels[k] for k in keys]]


def best_epci_caption(projects: pd.DataFrame, unit: str, dec: int = DECIMALS) -> str:
    """The EPCI in most need among those hosting a project, ties said as such."""
    b = projects.sort_values(["epci_rank", "epci_rank_max"]).iloc[0]
    rank = export.rank_text(b["epci_rank"], b["epci_rank_max"], b["n_epci"])
    if not b["epci_demand"] > 0:
        return (
            "Aucun EPCI qui accueille un projet n'a de demande à couvrir : tous sont ex æquo avec les EPCI "
            f"sans demande (rang {rank})."
        )
    return (
        f"L'EPCI le plus en manque qui accueille un projet, {markdown_text(str(b['epci_name']))} "
        f"({core.fnum(b['epci_demand'], dec, unit)}), est classé {rank}."
    )


# --------------------------------------------------------------------------- sites view map


def demand_layer(demand: pd.DataFrame, covered: set, unit: str) -> folium.FeatureGroup:
    """Demand origins as circles (area ~ demand), blue when a proposed site covers them."""
    group = mapping.group("Demande (origines)")
    vmax = float(demand["demand"].max()) if len(demand) else 1.0
    for r in demand.dropna(subset=["lat"]).itertuples():
        is_cov = r.origin_id in covered
        folium.CircleMarker(
            [r.lat, r.lon],
            radius=3 + 9 * (r.demand / vmax) ** 0.5,
            color="#1a1a1a" if is_cov else "#7a4b00",
            weight=1,
            fill=True,
            fill_color="#2b8cbe" if is_cov else "#fdae6b",
            fill_opacity=0.75,
            tooltip=f"{html_text(r.origin_name)} : {core.fnum(r.demand, DECIMALS, unit)}"
            + (" (couverte)" if is_cov else ""),
        ).add_to(group)
    return group


def projects_layer(projects: pd.DataFrame, communes: pd.DataFrame) -> folium.FeatureGroup:
    """Existing projects at their commune's town hall."""
    group = mapping.group("Projets existants")
    for r in projects.itertuples():
        row = communes[communes["code"] == r.commune_code]
        if row.empty:
            continue
        folium.CircleMarker(
            [row["lat"].iloc[0], row["lon"].iloc[0]],
            radius=6,
            color="#000000",
            weight=2,
            fill=True,
            fill_color="#7b3294",
            fill_opacity=0.9,
            tooltip=f"Projet existant : {html_text(r.name)}",
        ).add_to(group)
    return group


def sites_layer(sites: pd.DataFrame) -> folium.FeatureGroup:
    """Proposed sites as numbered discs (their rank), with the map's legend."""
    group = mapping.group("Sites proposés")
    for r in sites.itertuples():
        folium.Marker(
            [r.lat, r.lon],
            tooltip=f"Site n° {r.rank} : {html_text(r.site_name)}",
            icon=folium.DivIcon(
                html=(
                    '<div style="background:#08306b;color:#fff;border:2px solid #fff;border-radius:50%;'
                    'width:24px;height:24px;text-align:center;font:bold 13px/20px sans-serif">'
                    f"{int(r.rank)}</div>"
                )
            ),
        ).add_to(group)
    mapping.add_legend(
        group,
        "Planification",
        [
            ("#08306b", "site proposé (rang)"),
            ("#2b8cbe", "origine couverte"),
            ("#fdae6b", "origine non couverte"),
            ("#7b3294", "projet existant"),
        ],
        shape="circle",
    )
    return group


def sites_map(res: dict, communes: pd.DataFrame) -> tuple[folium.Map, list[folium.FeatureGroup]]:
    """The map of the sites view and its layers: demand, existing projects, proposed sites."""
    m = mapping.base_map()
    sites = res["sites"]
    covered = {o for ids in sites["covered_origin_ids"] for o in ids}
    layers = [
        demand_layer(res["demand"], covered, res["unit"]),
        projects_layer(res["projects"], communes),
        sites_layer(sites),
    ]
    return m, layers


# --------------------------------------------------------------------------- programme view texts and tables


def site_heading(name: str, commune: str, kind: str) -> str:
    """« Site : Pont-Audemer (27467) — type : its rule » (Markdown)."""
    rule = pg.KIND_RULES[pg.KINDS[kind]]
    return f"**Site : {markdown_text(name)} ({commune})** — {pg.KINDS[kind]} : {rule}" + (
        f" (N = {pg.DEFAULT_VARIETY} par défaut, moins si la période ou les structures ne le permettent pas)."
        if " N " in rule
        else "."
    )


def capacity_table(offers: pd.DataFrame) -> pd.DataFrame:
    """The editable table of candidate structures (kept, capacity a day to fill in)."""
    return pd.DataFrame(
        {
            "retenir": True,
            "offer_id": offers["offer_id"].astype(str),
            "structure": offers["sector"] + " — " + offers["town"].astype(str),
            "secteur": offers["sector"],
            "siret": offers["siret"].fillna(""),
            "minutes": offers["minutes"].round(0),
            "capacite": offers["capacity"].astype("Int64"),
        }
    )


def chosen_structures(offers: pd.DataFrame, edited: pd.DataFrame, default_cap: int | None) -> list:
    """The structures kept in the edited :func:`capacity_table`, with the capacities given (and
    the assumed one for the others when ``default_cap`` is set)."""
    kept = edited[edited["retenir"]]
    caps = {r.offer_id: int(r.capacite) for r in kept.itertuples() if pd.notna(r.capacite)}
    chosen = offers[offers["offer_id"].astype(str).isin(kept["offer_id"])]
    return pg.structures_from_offers(chosen, caps, default_cap)


def programme_found(prog: pg.Programme) -> str:
    """The sentence announcing a programme: subgroups, minutes of travel, proven or not."""
    return (
        f"Programme trouvé : {count_of(len(prog.sizes), 'sous-groupe')} de {' + '.join(map(str, prog.sizes))} élèves, "
        f"{prog.total_minutes:.0f} min de déplacement entre structures au total "
        f"({'optimum prouvé' if prog.status == 'optimal' else 'meilleur trouvé'})."
    )
