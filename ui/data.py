"""Cached data access for the pages.

Every function is cached (``st.cache_data``; ``st.cache_resource`` for the shared outlines)
on plain filter values (strings, ints, tuples) plus the database version (:func:`ui.core.db_version`), never on DataFrames or GeoDataFrames.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from analysis import access, catalogue, maps
from ui.core import con, db_version


def filters_of(mode: str, minutes: int, sectors: tuple[str, ...] = (), grade: str = "",
               host: str = "", origin_kind: str = "commune") -> access.Filters:
    """Build :class:`analysis.access.Filters` from the page's widget values."""
    public = {"public": True, "prive": False}.get(host)
    return access.Filters(mode=mode, minutes=int(minutes), sectors=tuple(sectors),
                          grade=grade or None, public=public, origin_kind=origin_kind)


@st.cache_data(show_spinner=False, max_entries=8)
def relations(version: int) -> set[str]:
    """Names of the tables and views of the database."""
    c = con()
    rows = c.execute("SELECT table_name FROM duckdb_tables() UNION ALL "
                     "SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()
    return {r[0] for r in rows}


def has(name: str) -> bool:
    """True when table/view ``name`` exists in the current database."""
    return name in relations(db_version())


def travel_times_ready() -> bool:
    """True when travel times (and hence indicators) can be computed."""
    return has("travel_times") and has("offers") and has("communes")


@st.cache_data(show_spinner=False, max_entries=8)
def modes_available(version: int) -> list[str]:
    """Modes present in ``travel_times`` (transit counts when walk or transit exists); all
    modes when travel times are not computed yet (the pages then show a notice)."""
    if not has("travel_times"):
        return list(catalogue.DISPLAY_ORDER)
    present = {r[0] for r in con().execute("SELECT DISTINCT mode FROM travel_times").fetchall()}
    out = [m for m in catalogue.Mode
           if m in present or (m.info.falls_back_to and m.info.falls_back_to in present)]
    return catalogue.modes_in_display_order(m.value for m in out)


@st.cache_data(show_spinner=False, max_entries=8)
def transit_networks(version: int) -> tuple[str, ...]:
    """Public-transport networks loaded (:func:`analysis.catalogue.transit_networks`)."""
    return catalogue.transit_networks(con())


def territory_table(level: str, mode: str, minutes: int, sectors: tuple[str, ...], grade: str,
                    host: str, origin_kind: str, version: int,
                    code: str | None = None, within: str | None = None) -> pd.DataFrame:
    """Territory indicators: the precomputed table for default filters, else computed live;
    with the catalogue's derived indicators (:func:`analysis.catalogue.add_derived`, applied
    after the cache so that an indicator registered later shows at once)."""
    return catalogue.add_derived(_territory_table(level, mode, minutes, sectors, grade, host,
                                                  origin_kind, version, code, within))


@st.cache_data(show_spinner=False, max_entries=128)
def _territory_table(level: str, mode: str, minutes: int, sectors: tuple[str, ...], grade: str,
                     host: str, origin_kind: str, version: int,
                     code: str | None = None, within: str | None = None) -> pd.DataFrame:
    f = filters_of(mode, minutes, sectors, grade, host, origin_kind)
    c = con()
    if f.is_default_offer_set and has("territory_indicators"):
        conds = ["level = $level", "origin_kind = $ok", "mode = $mode", "budget_min = $b"]
        params: dict[str, Any] = {"level": level, "ok": origin_kind, "mode": mode,
                                  "b": float(minutes)}
        if code is not None:
            conds.append("code = $code")
            params["code"] = str(code)
        if within is not None:
            if level == "commune":
                conds.append("code IN (SELECT code FROM communes WHERE epci_siren = $w OR dep = $w)")
            else:
                conds.append("code IN (SELECT epci_siren FROM communes WHERE dep = $w)")
            params["w"] = str(within)
        df = c.execute("SELECT * FROM territory_indicators WHERE " + " AND ".join(conds)
                       + " ORDER BY code", params).df()
        if len(df):
            return df
    return access.territory_indicators(c, level, f, code, within=within)


@st.cache_data(show_spinner=False, max_entries=64)
def origin_table(mode: str, minutes: int, sectors: tuple[str, ...], grade: str, host: str,
                 origin_kind: str, version: int) -> pd.DataFrame:
    """Per-origin accessibility (communes or lycées)."""
    f = filters_of(mode, minutes, sectors, grade, host, origin_kind)
    c = con()
    if f.is_default_offer_set and has("accessibility"):
        df = c.execute("SELECT * FROM accessibility WHERE origin_kind = ? AND mode = ? "
                       "AND budget_min = ? ORDER BY origin_id",
                       [origin_kind, mode, float(minutes)]).df()
        if len(df):
            return df
    return access.origin_accessibility(c, f)


@st.cache_resource(show_spinner=False, max_entries=16)
def geojson(level: str, version: int, codes: tuple[str, ...] | None = None,
            within: str | None = None) -> dict:
    """Simplified outlines of a territory level as GeoJSON (cached).

    Shared, not copied (``cache_resource``): the commune outlines weigh ~1 MB, and unpickling
    a ``cache_data`` copy at every run cost ~50 ms. Callers must not modify it
    (:func:`analysis.maps.attach_properties` returns a copy)."""
    return maps.territory_geojson(con(), level, codes, within=within)


@st.cache_data(show_spinner=False, max_entries=8)
def sector_list(version: int) -> list[str]:
    """Distinct offer sectors."""
    return access.sectors(con())


@st.cache_data(show_spinner=False, max_entries=8)
def offer_points(sectors: tuple[str, ...], grade: str, host: str, version: int) -> pd.DataFrame:
    """Offer locations (one row per location) with the filtered offers' count and popup text."""
    conds, params = ["o.loc_id IS NOT NULL"], {}
    if sectors:
        conds.append("o.sector IN (SELECT unnest($sectors::VARCHAR[]))")
        params["sectors"] = list(sectors)
    if grade == "seconde":
        conds.append("o.for_seconde")
    elif grade == "3e":
        conds.append("o.for_troisieme")
    if host:
        conds.append("o.is_public = $pub")
        params["pub"] = host == "public"
    return con().execute(
        f"""
        WITH f AS (SELECT * FROM offers o WHERE {' AND '.join(conds)}),
        bysec AS (SELECT loc_id, sector, count(*) AS n FROM f GROUP BY ALL)
        SELECT l.loc_id, l.lon, l.lat, l.commune_code, l.location_precision,
               any_value(f.town) AS town, count(*) AS n_offers,
               (SELECT string_agg(b.sector || ' (' || b.n || ')', ', ' ORDER BY b.n DESC)
                FROM bysec b WHERE b.loc_id = l.loc_id) AS sectors,
               string_agg(DISTINCT f.source, ', ') AS sources
        FROM f JOIN offer_locations l ON l.loc_id = f.loc_id
        GROUP BY l.loc_id, l.lon, l.lat, l.commune_code, l.location_precision
        ORDER BY l.loc_id
        """, params).df()


@st.cache_data(show_spinner=False, max_entries=4)
def school_points(version: int) -> pd.DataFrame:
    """Lycées with coordinates and seconde headcounts."""
    return con().execute(
        """SELECT s.uai, s.name, s.kind, s.is_public, s.commune_code, c.name AS commune,
                  c.epci_siren, c.dep, s.lon, s.lat, s.seconde_pupils, s.headcount_source
           FROM schools s LEFT JOIN communes c ON c.code = s.commune_code
           WHERE s.lon IS NOT NULL ORDER BY s.name""").df()


@st.cache_data(show_spinner=False, max_entries=4)
def communes_list(version: int) -> pd.DataFrame:
    """Communes (code, name, EPCI, département, population)."""
    return con().execute(
        "SELECT c.code, c.name, c.dep, c.epci_siren, e.name AS epci_name, c.population, "
        "c.density_per_km2, c.lon, c.lat FROM communes c LEFT JOIN epci e ON e.siren = c.epci_siren "
        "ORDER BY c.name, c.code").df()


@st.cache_data(show_spinner=False, max_entries=4)
def epci_list(version: int) -> pd.DataFrame:
    """EPCI (siren, name, kind, population, départements)."""
    cols = "siren, name, kind, population, n_communes"
    return con().execute(f"SELECT {cols}, (SELECT mode(dep) FROM communes c "
                         "WHERE c.epci_siren = e.siren) AS dep FROM epci e ORDER BY name").df()


@st.cache_data(show_spinner=False, max_entries=4)
def epci_region_share(version: int) -> pd.DataFrame:
    """Share of each EPCI's population in Normandie (:func:`analysis.ranking.epci_region_share`)."""
    from analysis import ranking

    return ranking.epci_region_share(con())


@st.cache_data(show_spinner=False, max_entries=4)
def departements_list(version: int) -> pd.DataFrame:
    """Départements (code, name, population)."""
    return con().execute("SELECT code, name, population FROM departements ORDER BY code").df()


@st.cache_data(show_spinner=False, max_entries=4)
def collective(version: int) -> pd.DataFrame:
    """Collective-internship projects (seed 003) with their EPCI name."""
    return con().execute(
        """SELECT p.* EXCLUDE (geom), e.name AS epci_name, c.name AS commune_name
           FROM collective_projects p LEFT JOIN epci e ON e.siren = p.epci_siren
           LEFT JOIN communes c ON c.code = p.commune_code ORDER BY p.project_id""").df()


@st.cache_data(show_spinner=False, max_entries=4)
def stops(version: int) -> tuple[pd.DataFrame, str | None]:
    """Public-transport stops with morning departures, and the service date (ISO) used."""
    df, day = maps.stops_layer(con())
    return df, (day.isoformat() if day is not None else None)


@st.cache_data(show_spinner=False, max_entries=4)
def stop_coverage(version: int) -> pd.DataFrame:
    """Per commune: distance to the nearest stop served in the morning window."""
    df, _ = stops(version)
    return maps.communes_without_served_stop(con(), df)


@st.cache_data(show_spinner=False, max_entries=32)
def times_from_origin(origin_kind: str, origin_id: str, mode: str, version: int) -> pd.DataFrame:
    """Minutes from one origin to every offer location (transit = min of transit and walk)."""
    fallback = catalogue.Mode(mode).info.falls_back_to
    modes = [mode] + ([fallback] if fallback else [])
    return con().execute(
        """SELECT t.loc_id, min(t.minutes) AS minutes, bool_or(t.is_estimate) AS is_estimate,
                  l.lon, l.lat, l.commune_code, c.name AS commune, l.n_offers
           FROM travel_times t JOIN offer_locations l ON l.loc_id = t.loc_id
           LEFT JOIN communes c ON c.code = l.commune_code
           WHERE t.origin_kind = ? AND t.origin_id = ? AND t.mode IN (SELECT unnest(?::VARCHAR[]))
           GROUP BY ALL ORDER BY minutes""",
        [origin_kind, origin_id, modes]).df()


@st.cache_data(show_spinner=False, max_entries=4)
def provenance(version: int) -> pd.DataFrame:
    """The provenance table (one row per loaded file)."""
    return con().execute("SELECT * FROM provenance ORDER BY dataset").df()


@st.cache_data(show_spinner=False, max_entries=4)
def offers_summary(version: int) -> dict[str, Any]:
    """Counts used by the estimate flags: offers, located at commune centre, default capacity."""
    r = con().execute(
        """SELECT count(*), count(*) FILTER (WHERE loc_id IS NOT NULL),
                  count(*) FILTER (WHERE location_precision = 'commune'),
                  count(*) FILTER (WHERE capacity IS NULL) FROM offers""").fetchone()
    return {"offers": r[0], "located": r[1], "at_commune_centre": r[2], "default_capacity": r[3]}


@st.cache_data(show_spinner=False, max_entries=4)
def estimate_counts(version: int) -> dict[str, int]:
    """Number of straight-line (estimated) travel times per mode."""
    if not has("travel_times"):
        return {}
    rows = con().execute("SELECT mode, count(*) FILTER (WHERE is_estimate) FROM travel_times "
                         "GROUP BY 1").fetchall()
    return {m: int(n) for m, n in rows}
