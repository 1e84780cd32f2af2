"""Report data: resolve the territory and gather everything a report shows, from one query path.

Owns :class:`ReportData` / :func:`collect` (the territory: :mod:`analysis.report.territory`),
:func:`report_table` (the main table, also the CSV content and the screen table) and the
queries behind them. The figures are exactly those of
:func:`analysis.access.territory_indicators` and :func:`analysis.access.origin_accessibility`
for the same :class:`analysis.access.Filters`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from analysis import access, catalogue
from analysis.access import AccessError, Filters
from analysis.report.columns import (
    COMPONENT_LEVELS,
    LEVELS,
    NO_OFFER_COLUMNS,
    ORIGIN_COLUMNS,
    ORIGIN_LABELS,
    PROJECT_COLUMNS,
    ROLE_COMPONENT,
    ROLE_REFERENCE,
    ROLE_TERRITORY,
    SCHOOL_COLUMNS,
    SECTOR_COLUMNS,
    SOURCE_COLUMNS,
    ProgressFn,
    table_columns,
)
from analysis.report.errors import ReportError
from analysis.report.territory import Territory, resolve_territory
from analysis.sources.geography import single_origin_notes
from analysis.sources.registry import network_title
from analysis.text import format_number, strip_accents

# --------------------------------------------------------------------------------------------
# data collection (the one query path)
# --------------------------------------------------------------------------------------------


@dataclass
class ReportData:
    """Everything a report shows, for one territory and one set of filters.

    Attributes
    ----------
    territory : Territory
    filters : Filters
    generated_at : datetime.datetime
    table : pandas.DataFrame
        Main table, columns :data:`TABLE_COLUMNS` (see :func:`report_table`).
    schools : pandas.DataFrame
        Lycées located in the territory (:data:`SCHOOL_COLUMNS`).
    sectors : pandas.DataFrame
        Offers located in the territory by sector (:data:`SECTOR_COLUMNS`).
    no_offer : pandas.DataFrame
        Origins of the territory with pupils and no reachable offer (:data:`NO_OFFER_COLUMNS`).
    origins : pandas.DataFrame
        Every origin (commune of residence or lycée, per the filters) of the territory
        (:data:`ORIGIN_COLUMNS`), as :func:`analysis.access.origin_accessibility` gives them.
    projects : pandas.DataFrame
        Collective projects in the territory (:data:`PROJECT_COLUMNS`).
    sources : pandas.DataFrame
        The ``provenance`` table (:data:`SOURCE_COLUMNS`).
    runs : pandas.DataFrame
        Travel-time computations (``travel_time_runs``: mode, network, precision, date).
    commune_values : pandas.DataFrame
        Per commune of residence (whole region): ``commune_code, offers_reachable,
        minutes_nearest, pupils`` for the map (commune origins, same mode and offer filters).
    horizon : float
        Horizon of the travel times (minutes).
    """

    territory: Territory
    filters: Filters
    generated_at: dt.datetime
    table: pd.DataFrame
    schools: pd.DataFrame
    sectors: pd.DataFrame
    no_offer: pd.DataFrame
    origins: pd.DataFrame
    projects: pd.DataFrame
    sources: pd.DataFrame
    runs: pd.DataFrame
    commune_values: pd.DataFrame
    horizon: float
    timings: dict[str, float] = field(default_factory=dict)
    #: Public-transport networks loaded (:func:`analysis.catalogue.transit_networks`).
    networks: tuple[str, ...] = ()

    def row(self, role: str = ROLE_TERRITORY, level: str | None = None) -> pd.Series | None:
        """The first row of the main table with this role (and level)."""
        t = self.table[self.table["role"] == role]
        if level is not None:
            t = t[t["level"] == level]
        return None if t.empty else t.iloc[0]

    @property
    def key_rows(self) -> list[pd.Series]:
        """The territory row followed by its reference rows (nearest first)."""
        rows = [self.row()]
        for lv, code, _name in self.territory.references:
            r = self.table[
                (self.table["role"] == ROLE_REFERENCE) & (self.table["level"] == lv) & (self.table["code"] == code)
            ]
            if not r.empty:
                rows.append(r.iloc[0])
        return [r for r in rows if r is not None]


def _filters_text(filters: Filters) -> dict[str, str]:
    grade = {"seconde": "seconde", "3e": "3e", None: "tous"}[filters.grade]
    hosts = {True: "public", False: "privé", None: "public et privé"}[filters.public]
    return {
        "sectors_filter": " | ".join(filters.sectors) if filters.sectors else "tous",
        "grade_filter": grade,
        "hosts_filter": hosts,
    }


def parameters_text(filters: Filters, networks: Sequence[str] | None = None) -> list[tuple[str, str]]:
    """The parameters of a report as French (label, value) pairs."""
    f = _filters_text(filters)
    return [
        ("Mode de déplacement", catalogue.mode_label(filters.mode, networks)),
        ("Budget-temps", f"{format_number(filters.minutes, 0)} min (offre accessible si durée ≤ budget)"),
        ("Origines des élèves", ORIGIN_LABELS[filters.origin_kind]),
        ("Secteurs d'activité", f["sectors_filter"]),
        ("Niveau visé par l'offre", f["grade_filter"]),
        ("Accueil", f["hosts_filter"]),
    ]


def _validate(con: duckdb.DuckDBPyConnection, filters: Filters) -> None:
    if not access.has_relation(con, "offers"):
        raise ReportError("Table offers absente : lancez « python -m analysis.build ».")
    if not access.has_relation(con, "travel_times"):
        raise ReportError("Temps de trajet non calculés : lancez « python -m analysis.build ».")
    from analysis.validate_args import ArgumentError, check_sector

    known = access.sectors(con)
    for s in filters.sectors:
        try:
            if check_sector(s, known) != s:  # canonical spelling expected here (CLI maps it)
                raise ArgumentError(
                    f"Secteur d'activité mal orthographié : « {s} » (secteur connu : « {check_sector(s, known)} »)"
                )
        except ArgumentError as exc:
            raise ReportError(str(exc)) from None


def _indicator_rows(con: duckdb.DuckDBPyConnection, terr: Territory, filters: Filters) -> pd.DataFrame:
    """Territory, reference and component rows in one ``analysis.access`` query."""
    levels = [terr.level] + [r[0] for r in terr.references] + list(COMPONENT_LEVELS[terr.level])
    levels = [lv for lv in access.LEVELS if lv in levels]
    conds = ["(t.level = $t_level AND t.code = $t_code)"]
    params: dict[str, Any] = {"t_level": terr.level, "t_code": terr.code}
    for k, (lv, code, _name) in enumerate(terr.references):
        conds.append(f"(t.level = $r_level{k} AND t.code = $r_code{k})")
        params[f"r_level{k}"], params[f"r_code{k}"] = lv, code
    inside = terr.commune_filter_sql("cc")
    for lv in COMPONENT_LEVELS[terr.level]:
        col = {"departement": "dep", "epci": "epci_siren", "commune": "code"}[lv]
        conds.append(f"(t.level = '{lv}' AND t.code IN (SELECT cc.{col} FROM communes cc WHERE {inside}))")
    where = "WHERE " + " OR ".join(conds)
    try:
        try:
            # one query for all levels (the same SQL as territory_indicators, 2-5x faster
            # than one call per level: bench/report.py)
            df = _combined_query(con, levels, filters, where, params)
        except (AttributeError, TypeError):
            # private helper renamed or changed: same rows through the public API
            df = _indicator_rows_public(con, terr, filters)
    except AccessError as exc:
        raise ReportError(str(exc)) from exc
    role = np.where(
        (df["level"] == terr.level) & (df["code"] == terr.code),
        ROLE_TERRITORY,
        np.where(df["level"].isin(COMPONENT_LEVELS[terr.level]), ROLE_COMPONENT, ROLE_REFERENCE),
    )
    df.insert(0, "role", role)
    return df


def _combined_query(
    con: duckdb.DuckDBPyConnection, levels: list[str], filters: Filters, where: str, params: dict[str, Any]
) -> pd.DataFrame:
    """Territory rows of several levels in one query (the SQL of ``territory_indicators``)."""
    return access.territory_query(con, levels, filters, None, None, where, params)


def _indicator_rows_public(con: duckdb.DuckDBPyConnection, terr: Territory, filters: Filters) -> pd.DataFrame:
    """The rows of :func:`_indicator_rows` with one public ``territory_indicators`` call per
    level (slower fallback)."""
    parts = [access.territory_indicators(con, terr.level, filters, terr.code)]
    for lv, code, _name in terr.references:
        parts.append(access.territory_indicators(con, lv, filters, code))
    for lv in COMPONENT_LEVELS[terr.level]:
        within = None if terr.level == "region" else terr.code
        parts.append(access.territory_indicators(con, lv, filters, within=within))
    return pd.concat(parts, ignore_index=True)


def _order_table(df: pd.DataFrame, terr: Territory) -> pd.DataFrame:
    ref_rank = {(lv, code): k for k, (lv, code, _n) in enumerate(terr.references)}
    lv_rank = {lv: k for k, lv in enumerate(LEVELS)}
    key = pd.DataFrame(
        {
            "r": df["role"].map({ROLE_TERRITORY: 0, ROLE_REFERENCE: 1, ROLE_COMPONENT: 2}),
            "ref": [ref_rank.get((lv, c), 0) for lv, c in zip(df["level"], df["code"])],
            "lv": df["level"].map(lv_rank),
            "name": df["name"].map(lambda s: strip_accents(str(s)).lower()),
            "code": df["code"],
        },
        index=df.index,
    )
    order = key.sort_values(["r", "ref", "lv", "name", "code"]).index
    return df.loc[order].reset_index(drop=True)


def _single_origin_notes(con: duckdb.DuckDBPyConnection, filters: Filters) -> dict[str, str]:
    """Commune code -> « origine unique : la mairie (…) » when pupils start from communes."""
    return single_origin_notes(con) if filters.origin_kind == "commune" else {}


def _with_origin_note(df: pd.DataFrame, notes: dict[str, str], is_commune: pd.Series, code: pd.Series) -> pd.DataFrame:
    """Column ``origin_note``: the caveat of the large communes among the rows (None elsewhere)."""
    df["origin_note"] = [notes.get(str(c)) if ok else None for ok, c in zip(is_commune, code)]
    return df


def _table_from_rows(rows: pd.DataFrame, terr: Territory, filters: Filters, notes: dict[str, str]) -> pd.DataFrame:
    df = rows.copy()
    for k, v in _filters_text(filters).items():
        df[k] = v
    df = _with_origin_note(df, notes, df["level"] == "commune", df["code"])
    df = _order_table(catalogue.add_derived(df), terr)
    return df[[c.key for c in table_columns()]]


def report_table(
    con: duckdb.DuckDBPyConnection, level: str, code: str | None, filters: Filters | None = None
) -> pd.DataFrame:
    """The main table of a report: the territory, its references and its sub-territories.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Database with the core tables and ``travel_times``.
    level : str
        ``'region'``, ``'departement'``, ``'epci'`` or ``'commune'``.
    code : str or None
        Territory code (None or ``'28'`` for the region).
    filters : analysis.access.Filters, optional
        Default ``Filters()`` (transit, 45 min, all offers, commune origins).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`TABLE_COLUMNS`: ``role`` is ``'territoire'`` (first row),
        ``'reference'`` (département / region beside it, nearest first) or ``'composante'``
        (sub-territories: départements, EPCI, communes); the indicator columns are those of
        :func:`analysis.access.territory_indicators` for the same filters, unchanged.

    Raises
    ------
    ReportError
    """
    filters = filters or Filters()
    terr = resolve_territory(con, level, code)
    _validate(con, filters)
    return _table_from_rows(_indicator_rows(con, terr, filters), terr, filters, _single_origin_notes(con, filters))


def territory_communes_sql(terr: Territory) -> str:
    return f"SELECT c.code FROM communes c WHERE {terr.commune_filter_sql('c')}"


def _sector_table(con: duckdb.DuckDBPyConnection, terr: Territory, filters: Filters) -> pd.DataFrame:
    where, params = access.offer_filter(filters)
    df = con.execute(
        f"""
        SELECT o.sector, count(*) AS offers,
               count(*) FILTER (WHERE o.is_public) AS public,
               count(*) FILTER (WHERE NOT o.is_public) AS private,
               count(*) FILTER (WHERE o.for_seconde) AS for_seconde,
               count(*) FILTER (WHERE o.for_troisieme) AS for_troisieme,
               sum(coalesce(o.capacity, 1))::DOUBLE AS places,
               count(*) FILTER (WHERE o.capacity IS NULL) AS places_default_capacity
        FROM offers o JOIN communes g ON g.code = o.commune_code
        WHERE {where} AND g.code IN ({territory_communes_sql(terr)})
        GROUP BY o.sector ORDER BY offers DESC, o.sector
    """,
        params,
    ).df()
    total = df["offers"].sum()
    df.insert(2, "share", df["offers"] / total if total else np.nan)
    df["sector"] = df["sector"].fillna("(non renseigné)")
    return df[[c.key for c in SECTOR_COLUMNS]]


def _school_table(con: duckdb.DuckDBPyConnection, terr: Territory, school_acc: pd.DataFrame) -> pd.DataFrame:
    sch = con.execute(f"""
        SELECT s.uai, s.name, s.commune_code, c.name AS commune_name,
               CASE WHEN s.is_public THEN 'public' WHEN NOT s.is_public THEN 'privé' END
                   AS sector_label,
               s.seconde_pupils
        FROM schools s JOIN communes c ON c.code = s.commune_code
        WHERE s.commune_code IN ({territory_communes_sql(terr)})
    """).df()
    acc = school_acc.drop(columns=["commune_code"]).rename(columns={"origin_id": "uai"})
    df = sch.merge(acc, on="uai", how="left")
    df = df.sort_values(["seconde_pupils", "name"], ascending=[False, True], na_position="last").reset_index(drop=True)
    return df[[c.key for c in SCHOOL_COLUMNS]]


def _project_table(con: duckdb.DuckDBPyConnection, terr: Territory) -> pd.DataFrame:
    cols = [c.key for c in PROJECT_COLUMNS]
    if not access.has_relation(con, "collective_projects"):
        return pd.DataFrame(columns=cols)
    have = set(access.columns_of(con, "collective_projects"))
    sel = ", ".join(f"p.{c}" if c in have else f"NULL AS {c}" for c in cols)
    return con.execute(f"""
        SELECT {sel} FROM collective_projects p
        WHERE p.commune_code IN ({territory_communes_sql(terr)}) ORDER BY p.project_id
    """).df()


def _sources(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    cols = [c.key for c in SOURCE_COLUMNS]
    if not access.has_relation(con, "provenance"):
        return pd.DataFrame(columns=cols)
    have = set(access.columns_of(con, "provenance"))
    sel = ", ".join(c if c in have else f"NULL AS {c}" for c in cols)
    df = con.execute(f"SELECT {sel} FROM provenance ORDER BY dataset").df()
    df["loaded_at"] = df["loaded_at"].astype(str)
    return df


def _runs(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    if not access.has_relation(con, "travel_time_runs"):
        return pd.DataFrame(columns=["mode", "network_source", "precision", "computed_at"])
    have = access.columns_of(con, "travel_time_runs")
    cols = [
        c
        for c in ("mode", "network_source", "precision", "computed_at", "n_pairs", "n_estimates", "status", "params")
        if c in have
    ]
    df = con.execute(f"SELECT {', '.join(cols)} FROM travel_time_runs ORDER BY mode").df()
    if "network_source" in df:  # dataset title, publisher and vintage, not the internal id (« gtfs:ter »)
        df["network_source"] = df["network_source"].map(network_title)
    if "computed_at" in df:
        df["computed_at"] = df["computed_at"].astype(str)
    return df


def collect(
    con: duckdb.DuckDBPyConnection,
    level: str,
    code: str | None,
    filters: Filters | None = None,
    *,
    generated_at: dt.datetime | None = None,
    progress: ProgressFn | None = None,
) -> ReportData:
    """Gather everything a report shows (the one query path of the screen and the files).

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
    level, code : str
        Territory (see :func:`resolve_territory`).
    filters : analysis.access.Filters, optional
    generated_at : datetime.datetime, optional
        Date printed on the report (default: now, local time).
    progress : callable, optional
        ``progress(message, fraction)``.

    Returns
    -------
    ReportData

    Raises
    ------
    ReportError
    """
    import time

    progress = progress or access.noop_progress
    filters = filters or Filters()
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    terr = resolve_territory(con, level, code)
    _validate(con, filters)
    progress(f"Rapport : {terr.label}", 0.0)
    rows = _indicator_rows(con, terr, filters)
    notes = _single_origin_notes(con, filters)
    table = _table_from_rows(rows, terr, filters, notes)
    timings["territoires"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    try:
        origins = access.origin_accessibility(con, filters)
        if filters.origin_kind == "school":
            school_acc, commune_acc = origins, access.origin_accessibility(con, replace(filters, origin_kind="commune"))
        else:
            commune_acc = origins
            school_acc = (
                access.origin_accessibility(con, replace(filters, origin_kind="school"))
                if access.has_relation(con, "schools")
                else origins.iloc[0:0]
            )
    except AccessError as exc:
        raise ReportError(str(exc)) from exc
    timings["origines"] = time.perf_counter() - t1
    progress("Rapport : indicateurs par origine", 0.5)
    t2 = time.perf_counter()
    inside = set(r[0] for r in con.execute(territory_communes_sql(terr)).fetchall())
    origins = _with_origin_note(origins.copy(), notes, origins["origin_kind"] == "commune", origins["origin_id"])
    no_offer = origins[
        origins["commune_code"].isin(inside) & (origins["offers_reachable"] == 0) & (origins["pupils"].fillna(0) > 0)
    ]
    no_offer = no_offer.sort_values(["pupils", "origin_name"], ascending=[False, True])
    no_offer = no_offer[[c.key for c in NO_OFFER_COLUMNS]].reset_index(drop=True)
    own = origins[origins["commune_code"].isin(inside)].copy()
    for k, val in _filters_text(filters).items():
        own[k] = val
    own = own.sort_values(["commune_code", "origin_id"])[[c.key for c in ORIGIN_COLUMNS]]
    schools = (
        _school_table(con, terr, school_acc)
        if access.has_relation(con, "schools")
        else pd.DataFrame(columns=[c.key for c in SCHOOL_COLUMNS])
    )
    data = ReportData(
        territory=terr,
        filters=filters,
        generated_at=generated_at or dt.datetime.now().replace(microsecond=0),
        table=table,
        schools=schools,
        sectors=_sector_table(con, terr, filters),
        no_offer=no_offer,
        origins=own.reset_index(drop=True),
        projects=_project_table(con, terr),
        sources=_sources(con),
        runs=_runs(con),
        commune_values=commune_acc[
            ["commune_code", "origin_name", "pupils", "offers_reachable", "minutes_nearest"]
        ].reset_index(drop=True),
        horizon=access.max_minutes_of(con),
        timings=timings,
        networks=catalogue.transit_networks(con),
    )
    timings["tables"] = time.perf_counter() - t2
    progress("Rapport : données réunies", 1.0)
    return data
