"""Cached calls of :mod:`analysis.planning` for the Planification page (plain arguments only)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analysis.planning import demand as dm
from analysis.planning import sites as st_sites
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
    from analysis.planning import programme as pg

    return pg.structure_minutes(con(), structures, reach_mode)


def programme_pdf(prog, site_label: str, site_lonlat: tuple[float, float]) -> bytes:
    """The programme PDF (:func:`analysis.planning.export.programme_pdf`)."""
    from analysis.planning import export

    return export.programme_pdf(con(), prog, site_label, site_lonlat)
