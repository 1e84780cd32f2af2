"""Cached data access for the pages: thin ``st.cache_data`` wrappers around :mod:`analysis`
(:mod:`analysis.outputs.dashboard`, :mod:`analysis.access`, :mod:`analysis.outputs.maps`); no SQL here.

Every function is cached (``st.cache_data``; ``st.cache_resource`` for the shared outlines)
on plain values (strings, ints, tuples, the frozen :class:`analysis.access.Filters` of the view,
passed whole from the widgets to the SQL) plus the database version
(:func:`ui.database.db_version`), never on DataFrames or GeoDataFrames.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from analysis import access, catalogue, db
from analysis.outputs import dashboard, maps
from analysis.sources import geography
from ui.database import con, db_version


@st.cache_data(show_spinner=False, max_entries=8)
def relations(version: int) -> set[str]:
    """Names of the tables and views of the database."""
    return db.relations(con())


def has(name: str) -> bool:
    """True when table/view ``name`` exists in the current database."""
    return name in relations(db_version())


def travel_times_ready() -> bool:
    """True when travel times (and hence indicators) can be computed."""
    return {"travel_times", "offers", "communes"} <= relations(db_version())


@st.cache_data(show_spinner=False, max_entries=8)
def modes_available(version: int) -> list[str]:
    """Modes present in ``travel_times`` (transit counts when walk or transit exists); all
    modes when travel times are not computed yet (the pages then show a notice)."""
    return dashboard.modes_available(con())


@st.cache_data(show_spinner=False, max_entries=8)
def transit_networks(version: int) -> tuple[str, ...]:
    """Public-transport networks loaded (:func:`analysis.catalogue.transit_networks`)."""
    return catalogue.transit_networks(con())


def territory_table(
    level: str, filters: access.Filters, version: int, code: str | None = None, within: str | None = None
) -> pd.DataFrame:
    """Territory indicators for the view ``filters`` (:func:`analysis.access.territory_indicators`:
    the precomputed table when it answers these filters and is fresh, else computed live), with
    the catalogue's derived indicators (:func:`analysis.catalogue.add_derived`, applied after the
    cache so that an indicator registered later shows at once)."""
    return catalogue.add_derived(_territory_indicators(level, filters, version, code, within))


@st.cache_data(show_spinner=False, max_entries=128)
def _territory_indicators(
    level: str, filters: access.Filters, version: int, code: str | None = None, within: str | None = None
) -> pd.DataFrame:
    return access.territory_indicators(con(), level, filters, code, within=within)


@st.cache_data(show_spinner=False, max_entries=64)
def origin_table(filters: access.Filters, version: int) -> pd.DataFrame:
    """Per-origin accessibility (communes or lycées; :func:`analysis.access.origin_accessibility`)."""
    return access.origin_accessibility(con(), filters)


@st.cache_resource(show_spinner=False, max_entries=16)
def geojson(level: str, version: int, codes: tuple[str, ...] | None = None, within: str | None = None) -> dict:
    """Simplified outlines of a territory level as GeoJSON (cached).

    Shared, not copied (``cache_resource``): the commune outlines weigh ~1 MB, and unpickling
    a ``cache_data`` copy at every run cost ~50 ms. Callers must not modify it
    (:func:`analysis.outputs.maps.attach_properties` returns a copy)."""
    return maps.territory_geojson(con(), level, codes, within=within)


@st.cache_data(show_spinner=False, max_entries=8)
def sector_list(version: int) -> list[str]:
    """Distinct offer sectors."""
    return access.sectors(con())


def offer_points(filters: access.Filters, version: int) -> pd.DataFrame:
    """Offer locations with the count of the offers kept by the offer filters of ``filters``
    (sectors, grade, host: :func:`analysis.outputs.dashboard.offer_points`); the mode, budget and
    origin kind do not change them, so they are left out of the cache key."""
    return _offer_points(offer_filters(filters), version)


def offer_filters(filters: access.Filters) -> access.Filters:
    """The offer filters of ``filters`` (sectors, grade, host), with the default view's mode, budget
    and origin kind."""
    return access.Filters(sectors=filters.sectors, grade=filters.grade, public=filters.public)


@st.cache_data(show_spinner=False, max_entries=8)
def _offer_points(filters: access.Filters, version: int) -> pd.DataFrame:
    return dashboard.offer_points(con(), filters)


@st.cache_data(show_spinner=False, max_entries=4)
def school_points(version: int) -> pd.DataFrame:
    """Lycées with coordinates and seconde headcounts."""
    return dashboard.school_points(con())


@st.cache_data(show_spinner=False, max_entries=4)
def communes_list(version: int) -> pd.DataFrame:
    """Communes (code, name, EPCI, département, population)."""
    return dashboard.communes_list(con())


@st.cache_data(show_spinner=False, max_entries=4)
def epci_list(version: int) -> pd.DataFrame:
    """EPCI (siren, name, kind, population, départements)."""
    return dashboard.epci_list(con())


@st.cache_data(show_spinner=False, max_entries=4)
def single_origin_notes(version: int) -> dict[str, str]:
    """Commune code -> « origine unique : la mairie (…) » for the large communes
    (:func:`analysis.sources.geography.single_origin_notes`)."""
    return geography.single_origin_notes(con())


@st.cache_data(show_spinner=False, max_entries=4)
def epci_region_share(version: int) -> pd.DataFrame:
    """Share of each EPCI's population in Normandie (:func:`analysis.outputs.ranking.epci_region_share`)."""
    from analysis.outputs import ranking

    return ranking.epci_region_share(con())


@st.cache_data(show_spinner=False, max_entries=4)
def departements_list(version: int) -> pd.DataFrame:
    """Départements (code, name, population)."""
    return dashboard.departements_list(con())


@st.cache_data(show_spinner=False, max_entries=4)
def collective(version: int) -> pd.DataFrame:
    """Collective-internship projects (seed 003) with their EPCI name."""
    return dashboard.collective_projects(con())


@st.cache_data(show_spinner=False, max_entries=4)
def stops(version: int) -> tuple[pd.DataFrame, str | None]:
    """Public-transport stops with morning departures, and the service date (ISO) used."""
    return dashboard.stops(con())


@st.cache_data(show_spinner=False, max_entries=4)
def stop_coverage(version: int) -> pd.DataFrame:
    """Per commune: distance to the nearest stop served in the morning window."""
    df, _ = stops(version)
    return maps.communes_without_served_stop(con(), df)


@st.cache_data(show_spinner=False, max_entries=32)
def times_from_origin(origin_kind: str, origin_id: str, mode: str, version: int) -> pd.DataFrame:
    """Minutes from one origin to every offer location (transit = min of transit and walk)."""
    return dashboard.times_from_origin(con(), origin_kind, origin_id, mode)


@st.cache_data(show_spinner=False, max_entries=4)
def provenance(version: int) -> pd.DataFrame:
    """The provenance table (one row per loaded file)."""
    return dashboard.provenance(con())


@st.cache_data(show_spinner=False, max_entries=4)
def offers_summary(version: int) -> dict[str, Any]:
    """Counts used by the estimate flags: offers, located at commune centre, default capacity."""
    return dashboard.offers_summary(con())


@st.cache_data(show_spinner=False, max_entries=4)
def estimate_counts(version: int) -> dict[str, int]:
    """Number of straight-line (estimated) travel times per mode."""
    return dashboard.estimate_counts(con())


@st.cache_data(show_spinner=False, max_entries=32)
def sector_counts(commune_codes: tuple[str, ...], version: int) -> pd.DataFrame:
    """Located offers per sector in these communes."""
    return dashboard.sector_counts(con(), commune_codes)


@st.cache_data(show_spinner=False, max_entries=32)
def mobility_services(epci_siren: str, version: int) -> list[pd.DataFrame]:
    """Imported mobility services of one EPCI (one frame per ``mobility*`` table)."""
    return dashboard.mobility_services(con(), epci_siren)


@st.cache_data(show_spinner=False, max_entries=4)
def build_info(version: int) -> dict[str, str]:
    """The ``build_info`` key/value pairs."""
    return dashboard.build_info(con())


@st.cache_data(show_spinner=False, max_entries=4)
def offer_rejects(version: int) -> pd.DataFrame | None:
    """Offer rows rejected at load time (None when the table is absent)."""
    return dashboard.offer_rejects(con())


@st.cache_data(show_spinner=False, max_entries=4)
def offer_count(version: int) -> int:
    """Number of loaded offers."""
    return dashboard.offer_count(con())


@st.cache_data(show_spinner=False, max_entries=4)
def location_precision_counts(version: int) -> pd.DataFrame:
    """Offers per location precision."""
    return dashboard.location_precision_counts(con())


@st.cache_data(show_spinner=False, max_entries=16)
def import_quarantine(version: int, import_id: str | None = None) -> pd.DataFrame | None:
    """Rows quarantined by the imports (all, or one import's); None before any import."""
    return dashboard.import_quarantine(con(), import_id)


@st.cache_data(show_spinner=False, max_entries=8)
def import_log(version: int, full: bool = False) -> pd.DataFrame | None:
    """The imports log (None before any import)."""
    return dashboard.import_log(con(), full)


@st.cache_data(show_spinner=False, max_entries=4)
def table_counts(version: int) -> list[tuple[str, int | None]]:
    """Rows per table and view (cached: the views over travel times are large)."""
    return dashboard.table_counts(con())


@st.cache_data(show_spinner=False, max_entries=4)
def origin_basis(version: int) -> pd.DataFrame:
    """Communes, inhabitants and offers per origin point kind (town hall or centre)."""
    return geography.origin_basis_counts(con())
