"""Gap reports to download: CSV, XLSX and a PDF territory portrait (issue 6).

One query path feeds the screen and every file: :func:`collect` gathers a :class:`ReportData`
(the territory, its reference territories and sub-territories from
``analysis.access`` in one query, the lycées, offers by sector, pupils without a reachable
offer, collective projects, sources) and the renderers only format it. The figures are
therefore exactly those of :func:`analysis.access.territory_indicators` and
:func:`analysis.access.origin_accessibility` for the same :class:`analysis.access.Filters`.

Main objects
------------
- :class:`Territory`: a resolved territory (level, code, name, reference territories).
- :class:`ReportData`: everything a report shows.
- :func:`report_table`: the main table (one row per territory), also the CSV content.
- :func:`build_report`: ``(bytes, filename, mime)`` for ``'csv'``, ``'xlsx'`` or ``'pdf'``.
- :class:`ReportError`: unknown level/code/sector, empty territory, bad parameters (French
  message); nothing is written when it is raised.

Command line::

    python -m analysis.report --level epci --code 200067205 --format pdf --out portrait.pdf

The columns of each format are documented in French in ``docs/reports.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from analysis import access, catalogue, config, export
from analysis.access import AccessError, Filters
from analysis.text import MISSING, count, format_number, format_percent, in_territory, lower_first, strip_accents

#: Territory levels of a report, from the largest.
LEVELS: tuple[str, ...] = ("region", "departement", "epci", "commune")
#: Output formats and their MIME types.
FORMATS: dict[str, str] = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}
#: Sub-levels listed as components of a territory of each level.
COMPONENT_LEVELS: dict[str, tuple[str, ...]] = {
    "region": ("departement", "epci", "commune"),
    "departement": ("epci", "commune"),
    "epci": ("commune",),
    "commune": (),
}
LEVEL_LABELS: dict[str, str] = {
    "region": "Région", "departement": "Département", "epci": "EPCI", "commune": "Commune",
}
ORIGIN_LABELS: dict[str, str] = {
    "commune": "communes de résidence (élèves estimés)",
    "school": "lycées (effectifs de seconde déclarés)",
}
#: Role of a row of the main table.
ROLE_TERRITORY, ROLE_REFERENCE, ROLE_COMPONENT = "territoire", "reference", "composante"
ROLE_LABELS: dict[str, str] = {ROLE_TERRITORY: "Territoire", ROLE_REFERENCE: "Référence",
                               ROLE_COMPONENT: "Composante"}
ORIGIN_KIND_LABELS: dict[str, str] = {"commune": "Commune de résidence", "school": "Lycée"}


def mode_phrase(mode: str, networks: Sequence[str] | None = None) -> str:
    """« en transports en commun (TER seulement) ou à pied », « à vélo »… (catalogue)."""
    return catalogue.mode_label(mode, networks, "phrase")


def display_value(key: str, value: Any, networks: Sequence[str] | None = None) -> Any:
    """The French text shown for a code stored in a text column (mode, level, role, origin
    kind, density class); other values unchanged."""
    if key in NOT_DECLARED_KEYS and _is_missing(value):
        return NOT_DECLARED
    if not isinstance(value, str):
        return value
    if key == "mode" and value in catalogue.MODES:
        return catalogue.mode_label(value, networks)
    table = {"level": LEVEL_LABELS, "role": ROLE_LABELS, "origin_kind": ORIGIN_KIND_LABELS,
             "density_class": access.DENSITY_LABELS}.get(key)
    return table.get(value, value) if table else value

ProgressFn = Callable[[str, "float | None"], None]


class ReportError(ValueError):
    """A report cannot be produced (unknown level or code, empty territory, bad filters).

    The message is in French and meant for the user.
    """


# --------------------------------------------------------------------------------------------
# column specifications (stable: documented in docs/reports.md)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """A column of a report table.

    Parameters
    ----------
    key : str
        Stable technical name (CSV header).
    label : str
        French label (XLSX header, PDF).
    unit : str
        Unit shown next to the label ('' for none).
    kind : str
        ``'text'``, ``'int'``, ``'dec1'``, ``'dec2'``, ``'dec4'``, ``'pct'`` (share 0-1) or
        ``'bool'``.
    """

    key: str
    label: str
    unit: str = ""
    kind: str = "text"

    @property
    def header(self) -> str:
        """The header with the generic transit wording (see :meth:`header_for`)."""
        return self.header_for(None)

    def label_for(self, networks: Sequence[str] | None) -> str:
        """The label naming the loaded public-transport networks (``{tc}`` filled)."""
        return catalogue.fill_labels(self.label, networks)

    def header_for(self, networks: Sequence[str] | None) -> str:
        """XLSX / CSV header: label and unit, naming the loaded networks."""
        label = self.label_for(networks)
        return f"{label} ({self.unit})" if self.unit else label


def _c(key: str, label: str, unit: str = "", kind: str = "text") -> Column:
    return Column(key, label, unit, kind)


#: Descriptive columns of the main table, before the indicators of the catalogue.
TABLE_HEAD_COLUMNS: tuple[Column, ...] = (
    _c("role", "Rôle de la ligne"),
    _c("level", "Niveau"),
    _c("code", "Code"),
    _c("name", "Nom"),
    _c("origin_kind", "Origines"),
    _c("mode", "Mode"),
    _c("budget_min", "Budget-temps", "min", "int"),
    _c("sectors_filter", "Secteurs retenus"),
    _c("grade_filter", "Niveau visé"),
    _c("hosts_filter", "Accueil"),
)


def indicator_column(col: str, ind: catalogue.Indicator, mode: str | None) -> Column:
    """The report column of a catalogue indicator (label with ``{tc}`` left for rendering)."""
    label = ind.label if mode is None else ind.label.replace(
        "{mode}", catalogue.Mode(mode).info.phrase)
    return Column(col, label, ind.unit, ind.kind)


def table_columns() -> tuple[Column, ...]:
    """Columns of the main table (CSV and XLSX sheet « Territoires »), in this order: the
    descriptive columns then every indicator of :data:`analysis.catalogue.INDICATORS`
    (per-mode indicators expanded, in :data:`analysis.catalogue.MODES` order)."""
    return TABLE_HEAD_COLUMNS + tuple(indicator_column(col, ind, mode)
                                      for col, ind, mode in catalogue.indicator_columns())


def _nearest_columns(label: str = "Temps jusqu'à l'offre la plus proche {mode}",
                     modes: Sequence[str] = catalogue.MODES) -> tuple[Column, ...]:
    return tuple(_c(f"nearest_{m}", label.replace("{mode}", catalogue.Mode(m).info.phrase),
                    "min", "dec1") for m in modes)


#: Columns of the lycées table.
SCHOOL_COLUMNS: tuple[Column, ...] = (
    _c("uai", "UAI"),
    _c("name", "Lycée"),
    _c("commune_code", "Code commune"),
    _c("commune_name", "Commune"),
    _c("sector_label", "Statut"),
    _c("seconde_pupils", "Élèves de seconde (déclarés)", "élèves", "int"),
    _c("offers_reachable", "Offres accessibles", "offres", "int"),
    _c("sectors_reachable", "Secteurs accessibles", "secteurs", "int"),
    _c("places_per_pupil_2sfca", "Places par élève avec concurrence (2SFCA)", "places/élève",
       "dec4"),
    _c("minutes_nearest", "Temps jusqu'à l'offre la plus proche (mode choisi)", "min", "dec1"),
    *_nearest_columns(modes=("transit", "car")),
    _c("offers_reachable_car", "Offres accessibles en voiture", "offres", "int"),
    _c("offers_reachable_transit", "Offres accessibles en {tc} ou à pied", "offres",
       "int"),
    _c("reach_uses_estimates", "Temps estimés à vol d'oiseau", "", "bool"),
)

#: Columns of the offers-by-sector table.
SECTOR_COLUMNS: tuple[Column, ...] = (
    _c("sector", "Secteur d'activité"),
    _c("offers", "Offres situées", "offres", "int"),
    _c("share", "Part des offres", "%", "pct"),
    _c("public", "Accueils publics", "offres", "int"),
    _c("private", "Accueils privés", "offres", "int"),
    _c("for_seconde", "Ouvertes aux secondes", "offres", "int"),
    _c("for_troisieme", "Ouvertes aux 3e", "offres", "int"),
    _c("places", "Places", "places", "dec1"),
    _c("places_default_capacity", "Offres comptées 1 place", "offres", "int"),
)

#: Columns of the « pupils without a reachable offer » table (one row per origin).
NO_OFFER_COLUMNS: tuple[Column, ...] = (
    _c("origin_kind", "Type d'origine"),
    _c("origin_id", "Code de l'origine"),
    _c("origin_name", "Origine"),
    _c("commune_code", "Code commune"),
    _c("pupils", "Élèves de seconde", "élèves", "dec0"),
    _c("pupils_is_estimate", "Élèves estimés", "", "bool"),
    _c("minutes_nearest", "Temps jusqu'à l'offre la plus proche (mode choisi, vide > horizon)",
       "min", "dec1"),
    *_nearest_columns(modes=("car",)),
    _c("offers_reachable_car", "Offres accessibles en voiture dans le budget", "offres", "int"),
)

#: Columns of the per-origin table (CSV with ``rows='origines'``, XLSX sheet « Origines »):
#: the columns of :func:`analysis.access.origin_accessibility`, unchanged.
ORIGIN_COLUMNS: tuple[Column, ...] = (
    _c("origin_kind", "Type d'origine"),
    _c("origin_id", "Code de l'origine"),
    _c("origin_name", "Origine"),
    _c("commune_code", "Code commune"),
    _c("mode", "Mode"),
    _c("budget_min", "Budget-temps", "min", "int"),
    _c("sectors_filter", "Secteurs retenus"),
    _c("grade_filter", "Niveau visé"),
    _c("hosts_filter", "Accueil"),
    _c("pupils", "Élèves de seconde", "élèves", "dec0"),
    _c("pupils_is_estimate", "Élèves estimés", "", "bool"),
    _c("offers_reachable", "Offres accessibles", "offres", "int"),
    _c("sectors_reachable", "Secteurs accessibles", "secteurs", "int"),
    _c("places_reachable", "Places accessibles", "places", "dec1"),
    _c("places_default_capacity", "Offres accessibles comptées 1 place", "offres", "int"),
    _c("places_per_pupil_2sfca", "Places par élève avec concurrence (2SFCA)", "places/élève",
       "dec4"),
    _c("minutes_nearest", "Temps jusqu'à l'offre la plus proche (mode choisi)", "min", "dec1"),
    _c("nearest_is_estimate", "Temps le plus proche estimé à vol d'oiseau", "", "bool"),
    _c("reach_uses_estimates", "Temps estimés à vol d'oiseau parmi les offres accessibles", "",
       "bool"),
    *_nearest_columns(),
    _c("offers_reachable_car", "Offres accessibles en voiture", "offres", "int"),
    _c("offers_reachable_transit", "Offres accessibles en {tc} ou à pied", "offres",
       "int"),
)

def __getattr__(name: str) -> Any:
    """``TABLE_COLUMNS``: :func:`table_columns` now (follows the catalogue's registry)."""
    if name == "TABLE_COLUMNS":
        return table_columns()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: Row kinds of the CSV: one row per territory (default) or per origin.
CSV_ROWS: tuple[str, ...] = ("territoires", "origines")

#: Columns of the collective projects table.
PROJECT_COLUMNS: tuple[Column, ...] = (
    _c("project_id", "Identifiant"),
    _c("name", "Projet"),
    _c("kind", "Type"),
    _c("town", "Commune"),
    _c("sectors", "Secteurs"),
    _c("pupils", "Élèves prévus", "élèves", "int"),
    _c("period", "Période"),
    _c("status", "Statut"),
)

#: Columns of the sources table.
SOURCE_COLUMNS: tuple[Column, ...] = (
    _c("dataset", "Jeu de données"),
    _c("description", "Contenu"),
    _c("publisher", "Producteur"),
    _c("licence", "Licence"),
    _c("vintage", "Millésime"),
    _c("rows", "Lignes", "lignes", "int"),
    _c("path", "Fichier"),
    _c("url", "Adresse"),
    _c("sha256", "Empreinte SHA-256"),
    _c("loaded_at", "Chargé le"),
)


# --------------------------------------------------------------------------------------------
# territory
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Territory:
    """A resolved territory.

    Attributes
    ----------
    level, code, name : str
        Level (``region``, ``departement``, ``epci``, ``commune``), code and name.
    references : tuple of (level, code, name)
        Reference territories shown beside it, nearest first (e.g. département then region).
    n_communes : int
        Number of communes it contains.
    """

    level: str
    code: str
    name: str
    references: tuple[tuple[str, str, str], ...]
    n_communes: int

    @property
    def label(self) -> str:
        """« EPCI CC de la Hague (200067205) »-style label."""
        if self.level == "region":
            return f"Région {self.name}"
        return f"{LEVEL_LABELS[self.level]} {self.name} ({self.code})"

    def commune_filter_sql(self, alias: str = "c") -> str:
        """SQL condition on the communes table alias selecting the territory's communes."""
        code = access._sql_literal(self.code)
        if self.level == "region":
            return "TRUE"
        col = {"departement": "dep", "epci": "epci_siren", "commune": "code"}[self.level]
        return f"{alias}.{col} = {code}"


def resolve_territory(con: duckdb.DuckDBPyConnection, level: str,
                      code: str | int | None) -> Territory:
    """Find a territory and its reference territories.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
    level : str
        ``'region'``, ``'departement'``, ``'epci'`` or ``'commune'``.
    code : str
        Département code, EPCI SIREN, commune INSEE code (COG 2025); for the region ``'28'``
        or None.

    Raises
    ------
    ReportError
        Unknown level or code, or a territory without any commune.
    """
    if level not in LEVELS:
        raise ReportError(f"Niveau territorial inconnu : {level!r} "
                          f"(attendu : {', '.join(LEVELS)})")
    for table in ("communes", "departements", "epci"):
        if not access.has_relation(con, table):
            raise ReportError(f"Table {table} absente de la base : lancez "
                              "« python -m analysis.build ».")
    code = None if code is None else str(code).strip()
    region = ("region", config.REGION_CODE, config.REGION_NAME)
    if level == "region":
        if code not in (None, "", config.REGION_CODE):
            raise ReportError(f"Code de région inconnu : {code!r} (la seule région est "
                              f"{config.REGION_CODE}, {config.REGION_NAME})")
        n = con.execute("SELECT count(*) FROM communes").fetchone()[0]
        terr = Territory("region", config.REGION_CODE, config.REGION_NAME, (), n)
    elif not code:
        raise ReportError(f"Code de territoire manquant pour le niveau {LEVEL_LABELS[level]}")
    elif level == "departement":
        row = con.execute("SELECT code, name FROM departements WHERE code = ?", [code]).fetchone()
        if row is None:
            raise ReportError(f"Département inconnu : {code!r} (attendu : "
                              f"{', '.join(config.DEPARTEMENTS)})")
        n = con.execute("SELECT count(*) FROM communes WHERE dep = ?", [code]).fetchone()[0]
        terr = Territory("departement", row[0], row[1], (region,), n)
    elif level == "epci":
        row = con.execute("SELECT siren, name FROM epci WHERE siren = ?", [code]).fetchone()
        if row is None:
            raise ReportError(f"EPCI inconnu : {code!r} (attendu : un numéro SIREN d'EPCI "
                              "normand à 9 chiffres)")
        dep = con.execute(
            """SELECT c.dep, d.name, sum(c.population) AS pop, count(*) AS n
               FROM communes c JOIN departements d ON d.code = c.dep
               WHERE c.epci_siren = ? GROUP BY ALL ORDER BY pop DESC NULLS LAST, n DESC, c.dep
            """, [code]).fetchall()
        n = sum(r[3] for r in dep)
        refs = ((("departement", dep[0][0], dep[0][1]),) if dep else ()) + (region,)
        terr = Territory("epci", row[0], row[1], refs, n)
    else:
        row = con.execute(
            """SELECT c.code, c.name, c.epci_siren, e.name, c.dep, d.name FROM communes c
               LEFT JOIN epci e ON e.siren = c.epci_siren
               LEFT JOIN departements d ON d.code = c.dep WHERE c.code = ?""",
            [code]).fetchone()
        if row is None:
            raise ReportError(f"Commune inconnue : {code!r} (attendu : un code INSEE du COG 2025 "
                              "d'une commune normande)")
        refs: tuple[tuple[str, str, str], ...] = ()
        if row[2] is not None and row[3] is not None:
            refs += (("epci", row[2], row[3]),)
        if row[4] is not None and row[5] is not None:
            refs += (("departement", row[4], row[5]),)
        terr = Territory("commune", row[0], row[1], refs + (region,), 1)
    if terr.n_communes == 0:
        raise ReportError(f"Territoire vide : {terr.label} ne contient aucune commune dans la "
                          "base ; aucun rapport produit.")
    return terr


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
            r = self.table[(self.table["role"] == ROLE_REFERENCE) & (self.table["level"] == lv)
                           & (self.table["code"] == code)]
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


def parameters_text(filters: Filters,
                    networks: Sequence[str] | None = None) -> list[tuple[str, str]]:
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
                raise ArgumentError(f"Secteur d'activité mal orthographié : « {s} » "
                                    f"(secteur connu : « {check_sector(s, known)} »)")
        except ArgumentError as exc:
            raise ReportError(str(exc)) from None


def _indicator_rows(con: duckdb.DuckDBPyConnection, terr: Territory,
                    filters: Filters) -> pd.DataFrame:
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
        conds.append(f"(t.level = '{lv}' AND t.code IN (SELECT cc.{col} FROM communes cc "
                     f"WHERE {inside}))")
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
    role = np.where((df["level"] == terr.level) & (df["code"] == terr.code), ROLE_TERRITORY,
                    np.where(df["level"].isin(COMPONENT_LEVELS[terr.level]), ROLE_COMPONENT,
                             ROLE_REFERENCE))
    df.insert(0, "role", role)
    return df


def _combined_query(con: duckdb.DuckDBPyConnection, levels: list[str], filters: Filters,
                    where: str, params: dict[str, Any]) -> pd.DataFrame:
    """Territory rows of several levels in one query (the SQL of ``territory_indicators``)."""
    return access._territory_query(con, levels, filters, None, None, where, params)


def _indicator_rows_public(con: duckdb.DuckDBPyConnection, terr: Territory,
                           filters: Filters) -> pd.DataFrame:
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
    key = pd.DataFrame({
        "r": df["role"].map({ROLE_TERRITORY: 0, ROLE_REFERENCE: 1, ROLE_COMPONENT: 2}),
        "ref": [ref_rank.get((lv, c), 0) for lv, c in zip(df["level"], df["code"])],
        "lv": df["level"].map(lv_rank),
        "name": df["name"].map(lambda s: strip_accents(str(s)).lower()),
        "code": df["code"],
    }, index=df.index)
    order = key.sort_values(["r", "ref", "lv", "name", "code"]).index
    return df.loc[order].reset_index(drop=True)


def _table_from_rows(rows: pd.DataFrame, terr: Territory, filters: Filters) -> pd.DataFrame:
    df = rows.copy()
    for k, v in _filters_text(filters).items():
        df[k] = v
    df = _order_table(catalogue.add_derived(df), terr)
    return df[[c.key for c in table_columns()]]


def report_table(con: duckdb.DuckDBPyConnection, level: str, code: str | None,
                 filters: Filters | None = None) -> pd.DataFrame:
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
    return _table_from_rows(_indicator_rows(con, terr, filters), terr, filters)


def _territory_communes_sql(terr: Territory) -> str:
    return f"SELECT c.code FROM communes c WHERE {terr.commune_filter_sql('c')}"


def _sector_table(con: duckdb.DuckDBPyConnection, terr: Territory,
                  filters: Filters) -> pd.DataFrame:
    where, params = access._offer_filter(filters)
    df = con.execute(f"""
        SELECT o.sector, count(*) AS offers,
               count(*) FILTER (WHERE o.is_public) AS public,
               count(*) FILTER (WHERE NOT o.is_public) AS private,
               count(*) FILTER (WHERE o.for_seconde) AS for_seconde,
               count(*) FILTER (WHERE o.for_troisieme) AS for_troisieme,
               sum(coalesce(o.capacity, 1))::DOUBLE AS places,
               count(*) FILTER (WHERE o.capacity IS NULL) AS places_default_capacity
        FROM offers o JOIN communes g ON g.code = o.commune_code
        WHERE {where} AND g.code IN ({_territory_communes_sql(terr)})
        GROUP BY o.sector ORDER BY offers DESC, o.sector
    """, params).df()
    total = df["offers"].sum()
    df.insert(2, "share", df["offers"] / total if total else np.nan)
    df["sector"] = df["sector"].fillna("(non renseigné)")
    return df[[c.key for c in SECTOR_COLUMNS]]


def _school_table(con: duckdb.DuckDBPyConnection, terr: Territory,
                  school_acc: pd.DataFrame) -> pd.DataFrame:
    sch = con.execute(f"""
        SELECT s.uai, s.name, s.commune_code, c.name AS commune_name,
               CASE WHEN s.is_public THEN 'public' WHEN NOT s.is_public THEN 'privé' END
                   AS sector_label,
               s.seconde_pupils
        FROM schools s JOIN communes c ON c.code = s.commune_code
        WHERE s.commune_code IN ({_territory_communes_sql(terr)})
    """).df()
    acc = school_acc.drop(columns=["commune_code"]).rename(columns={"origin_id": "uai"})
    df = sch.merge(acc, on="uai", how="left")
    df = df.sort_values(["seconde_pupils", "name"], ascending=[False, True],
                        na_position="last").reset_index(drop=True)
    return df[[c.key for c in SCHOOL_COLUMNS]]


def _project_table(con: duckdb.DuckDBPyConnection, terr: Territory) -> pd.DataFrame:
    cols = [c.key for c in PROJECT_COLUMNS]
    if not access.has_relation(con, "collective_projects"):
        return pd.DataFrame(columns=cols)
    have = set(access.columns_of(con, "collective_projects"))
    sel = ", ".join(f"p.{c}" if c in have else f"NULL AS {c}" for c in cols)
    return con.execute(f"""
        SELECT {sel} FROM collective_projects p
        WHERE p.commune_code IN ({_territory_communes_sql(terr)}) ORDER BY p.project_id
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
    cols = [c for c in ("mode", "network_source", "precision", "computed_at", "n_pairs",
                        "n_estimates", "status", "params") if c in have]
    df = con.execute(f"SELECT {', '.join(cols)} FROM travel_time_runs ORDER BY mode").df()
    if "computed_at" in df:
        df["computed_at"] = df["computed_at"].astype(str)
    return df


def collect(con: duckdb.DuckDBPyConnection, level: str, code: str | None,
            filters: Filters | None = None, *, generated_at: dt.datetime | None = None,
            progress: ProgressFn | None = None) -> ReportData:
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

    progress = progress or access._noop_progress
    filters = filters or Filters()
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    terr = resolve_territory(con, level, code)
    _validate(con, filters)
    progress(f"Rapport : {terr.label}", 0.0)
    rows = _indicator_rows(con, terr, filters)
    table = _table_from_rows(rows, terr, filters)
    timings["territoires"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    try:
        origins = access.origin_accessibility(con, filters)
        if filters.origin_kind == "school":
            school_acc, commune_acc = origins, access.origin_accessibility(
                con, replace(filters, origin_kind="commune"))
        else:
            commune_acc = origins
            school_acc = (access.origin_accessibility(con, replace(filters, origin_kind="school"))
                          if access.has_relation(con, "schools") else origins.iloc[0:0])
    except AccessError as exc:
        raise ReportError(str(exc)) from exc
    timings["origines"] = time.perf_counter() - t1
    progress("Rapport : indicateurs par origine", 0.5)
    t2 = time.perf_counter()
    inside = set(r[0] for r in con.execute(_territory_communes_sql(terr)).fetchall())
    no_offer = origins[origins["commune_code"].isin(inside) & (origins["offers_reachable"] == 0)
                       & (origins["pupils"].fillna(0) > 0)]
    no_offer = no_offer.sort_values(["pupils", "origin_name"], ascending=[False, True])
    no_offer = no_offer[[c.key for c in NO_OFFER_COLUMNS]].reset_index(drop=True)
    own = origins[origins["commune_code"].isin(inside)].copy()
    for k, val in _filters_text(filters).items():
        own[k] = val
    own = own.sort_values(["commune_code", "origin_id"])[[c.key for c in ORIGIN_COLUMNS]]
    schools = (_school_table(con, terr, school_acc) if access.has_relation(con, "schools")
               else pd.DataFrame(columns=[c.key for c in SCHOOL_COLUMNS]))
    data = ReportData(
        territory=terr, filters=filters,
        generated_at=generated_at or dt.datetime.now().replace(microsecond=0),
        table=table, schools=schools, sectors=_sector_table(con, terr, filters),
        no_offer=no_offer, origins=own.reset_index(drop=True),
        projects=_project_table(con, terr), sources=_sources(con),
        runs=_runs(con),
        commune_values=commune_acc[["commune_code", "origin_name", "pupils", "offers_reachable",
                                    "minutes_nearest"]].reset_index(drop=True),
        horizon=access.max_minutes_of(con), timings=timings,
        networks=catalogue.transit_networks(con))
    timings["tables"] = time.perf_counter() - t2
    progress("Rapport : données réunies", 1.0)
    return data


# --------------------------------------------------------------------------------------------
# formatting helpers
# --------------------------------------------------------------------------------------------

def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    try:
        return bool(np.isnan(value))
    except (TypeError, ValueError):
        return False


#: Columns whose missing value means « not declared » (lycée headcounts), said in words.
NOT_DECLARED_KEYS = frozenset({"seconde_pupils"})
NOT_DECLARED = "non déclaré"


def format_value(value: Any, kind: str) -> str:
    """A value as French text for the PDF, according to the column kind."""
    if _is_missing(value):
        return MISSING
    if isinstance(value, str) and kind != "text":  # words for a missing figure (« non déclaré »)
        return value
    if kind in ("int", "dec0"):
        return format_number(value, 0)
    if kind == "dec1":
        return format_number(value, 1)
    if kind == "dec2":
        return format_number(value, 2)
    if kind == "dec4":
        return format_number(value, 4)
    if kind == "pct":
        return format_percent(value, 1)
    if kind == "bool":
        return "oui" if bool(value) else "non"
    if isinstance(value, str) and value in access.DENSITY_LABELS:  # density-class codes
        return access.DENSITY_LABELS[value]
    return str(value)


def _slug(text: str) -> str:
    s = strip_accents(str(text)).lower()
    out = "".join(ch if ch.isalnum() else "-" for ch in s)
    while "--" in out:
        out = out.replace("--", "-")
    return out.strip("-")[:60] or "territoire"


def report_filename(terr: Territory, filters: Filters, fmt: str) -> str:
    """File name of a report, e.g. ``rapport_epci_200067205_cc-de-la-hague_transit_45min.pdf``."""
    sec = "_" + _slug("-".join(filters.sectors))[:30] if filters.sectors else ""
    orig = "_lycees" if filters.origin_kind == "school" else ""
    return (f"rapport_{terr.level}_{terr.code}_{_slug(terr.name)}_{filters.mode}_"
            f"{format_number(filters.minutes, 0)}min{sec}{orig}.{fmt}")


# --------------------------------------------------------------------------------------------
# CSV
# --------------------------------------------------------------------------------------------


def _csv_frame(df: pd.DataFrame, columns: Sequence[Column], header: str = "fr",
               networks: Sequence[str] | None = None) -> pd.DataFrame:
    out = df[[c.key for c in columns]].copy()
    for c in columns:
        if c.kind == "text" and header == "fr":
            out[c.key] = out[c.key].map(lambda v, k=c.key: display_value(k, v, networks))
        if c.kind == "bool":
            out[c.key] = out[c.key].map(lambda v: "" if _is_missing(v) else
                                        ("oui" if bool(v) else "non"))
        elif c.kind == "int":
            out[c.key] = out[c.key].map(lambda v: "" if _is_missing(v) else str(int(round(v))))
        elif c.kind != "text":
            out[c.key] = pd.to_numeric(out[c.key], errors="coerce").astype(float)
    if header == "fr":
        out.columns = [c.header_for(networks) for c in columns]
    return out


#: Header rows of the CSV: French labels (default) or the stable technical keys.
CSV_HEADERS: tuple[str, ...] = ("fr", "cles")


def to_csv(data: ReportData, rows: str = "territoires", header: str = "fr") -> bytes:
    """The main table as CSV: UTF-8 with BOM, ``;`` separator, decimal comma (French Excel).

    ``rows='territoires'``: one row per territory (:data:`TABLE_COLUMNS`);
    ``rows='origines'``: one row per origin of the territory (:data:`ORIGIN_COLUMNS`).
    ``header='fr'`` (default): the header row holds the French labels with units (those of
    the XLSX) and the codes of the text columns (mode, level, role, origin kind, density
    class) are written in French; ``header='cles'``: technical keys and codes, for scripts
    (both documented in ``docs/reports.md``). Decimal numbers are written at full precision
    (``repr``), so that reading them back gives exactly the values of ``analysis.access``;
    booleans are ``oui``/``non``; missing values are empty.
    """
    if rows not in CSV_ROWS:
        raise ReportError(f"Lignes du CSV inconnues : {rows!r} (attendu : {', '.join(CSV_ROWS)})")
    if header not in CSV_HEADERS:
        raise ReportError(f"En-tête du CSV inconnu : {header!r} (attendu : "
                          f"{', '.join(CSV_HEADERS)})")
    out = (_csv_frame(data.table, table_columns(), header, data.networks)
           if rows == "territoires"
           else _csv_frame(data.origins, ORIGIN_COLUMNS, header, data.networks))
    return export.csv_bytes(out)  # text cells neutralised (no formula from the data)


# --------------------------------------------------------------------------------------------
# XLSX
# --------------------------------------------------------------------------------------------

#: Excel number formats (codes are locale-independent: French Excel shows "1 234,5").
_XLSX_FORMATS = {"int": "#,##0", "dec0": "#,##0", "dec1": "#,##0.0", "dec2": "#,##0.00", "dec4": "0.0000",
                 "pct": "0.0%"}


def _xlsx_value(value: Any, kind: str) -> Any:
    if _is_missing(value):
        return None
    if isinstance(value, str) and kind != "text":  # words for a missing figure (« non déclaré »)
        return value
    if kind == "bool":
        return "oui" if bool(value) else "non"
    if kind in ("int",):
        return int(round(float(value)))
    if kind in ("dec0", "dec1", "dec2", "dec4", "pct"):
        return float(value)
    if isinstance(value, (np.generic,)):
        return value.item()
    return value if isinstance(value, (int, float)) else export.xlsx_value(str(value))


def _xlsx_sheet(wb: Any, title: str, df: pd.DataFrame, columns: Sequence[Column],
                note: str | None = None, networks: Sequence[str] | None = None) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    ws = wb.create_sheet(title)
    start = 1
    if note:
        ws.cell(row=1, column=1, value=note).font = Font(italic=True)
        start = 3
    header_fill = PatternFill("solid", fgColor="DDDDDD")
    for j, c in enumerate(columns, start=1):
        cell = ws.cell(row=start, column=j, value=c.header_for(networks))
        cell.font = Font(bold=True)
        cell.fill = header_fill
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for i, rec in enumerate(df[[c.key for c in columns]].itertuples(index=False), start=start + 1):
        for j, (c, v) in enumerate(zip(columns, rec), start=1):
            cell = ws.cell(row=i, column=j,
                           value=_xlsx_value(display_value(c.key, v, networks), c.kind))
            if c.kind in _XLSX_FORMATS:
                cell.number_format = _XLSX_FORMATS[c.kind]
    ws.freeze_panes = ws.cell(row=start + 1, column=1)
    ws.row_dimensions[start].height = 45
    for j, c in enumerate(columns, start=1):
        values = [len(str(x)) for x in df[c.key].head(200) if not _is_missing(x)] \
            if c.kind == "text" else [10]
        width = max([min(max(values, default=8), 60), 10 if c.kind != "text" else 8])
        if c.kind != "text":
            width = 14
        ws.column_dimensions[get_column_letter(j)].width = width + 2
    if len(df):
        ws.auto_filter.ref = (f"A{start}:{get_column_letter(len(columns))}"
                              f"{start + len(df)}")


#: Key figures shown in the summary (XLSX « Synthèse » and PDF page 1), by column key.
KEY_FIGURES: tuple[str, ...] = (
    "pupils", "offers_located", "offers_per_100_pupils", "offers_reachable_mean",
    "sectors_reachable_mean", "places_per_pupil_2sfca", "pupils_no_offer", "share_no_offer",
    "pupils_no_offer_transit", "share_no_offer_transit", "median_minutes_{mode}",
    "car_transit_ratio", "n_stops", "morning_departures", "population", "density_per_km2",
    "density_class", "pupils_low_density_share",
)


def key_figure_columns(filters: Filters) -> list[Column]:
    """The :data:`TABLE_COLUMNS` entries of the key figures, for the chosen mode."""
    by_key = {c.key: c for c in table_columns()}
    return [by_key[k.format(mode=filters.mode)] for k in KEY_FIGURES]


def to_xlsx(data: ReportData) -> bytes:
    """The report as an Excel workbook (openpyxl).

    Sheets: « Synthèse » (parameters, key figures beside the references, data vintages),
    « Territoires » (:data:`TABLE_COLUMNS`), « Lycées », « Offres par secteur », « Élèves sans
    offre », « Projets collectifs », « Sources ». Frozen headers, column widths, number formats.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    wb = Workbook()
    ws = wb.active
    ws.title = "Synthèse"
    terr, f = data.territory, data.filters
    bold = Font(bold=True)
    ws["A1"] = f"Observatoire des stages — Normandie : rapport {terr.label}"
    ws["A1"].font = Font(bold=True, size=14)
    ws["A2"] = f"Édité le {data.generated_at:%d/%m/%Y à %H:%M}"
    r = 4
    ws.cell(row=r, column=1, value="Paramètres").font = bold
    r += 1
    nets = data.networks
    for label, value in parameters_text(f, nets):
        ws.cell(row=r, column=1, value=label)
        ws.cell(row=r, column=2, value=export.xlsx_value(value))
        r += 1
    r += 1
    ws.cell(row=r, column=1, value="Chiffres clés").font = bold
    r += 1
    key_rows = data.key_rows
    head = ["Indicateur", "Unité"] + [export.xlsx_value(str(x["name"])) for x in key_rows]
    fill = PatternFill("solid", fgColor="DDDDDD")
    for j, h in enumerate(head, start=1):
        cell = ws.cell(row=r, column=j, value=h)
        cell.font = bold
        cell.fill = fill
    r += 1
    for c in key_figure_columns(f):
        ws.cell(row=r, column=1, value=c.label_for(nets))
        ws.cell(row=r, column=2, value=c.unit)
        for j, row in enumerate(key_rows, start=3):
            cell = ws.cell(row=r, column=j,
                           value=_xlsx_value(display_value(c.key, row[c.key], nets), c.kind))
            if c.kind in _XLSX_FORMATS:
                cell.number_format = _XLSX_FORMATS[c.kind]
        r += 1
    r += 1
    ws.cell(row=r, column=1, value="Millésimes des données").font = bold
    r += 1
    for rec in data.sources.itertuples(index=False):
        ws.cell(row=r, column=1, value=export.xlsx_value(
            str(rec.description if not _is_missing(rec.description) else rec.dataset)))
        ws.cell(row=r, column=2,
                value=None if _is_missing(rec.vintage) else export.xlsx_value(str(rec.vintage)))
        ws.cell(row=r, column=3,
                value=None if _is_missing(rec.publisher) else export.xlsx_value(str(rec.publisher)))
        r += 1
    for rec in data.runs.itertuples(index=False):
        ws.cell(row=r, column=1, value="temps de trajet : "
                + lower_first(str(display_value("mode", rec.mode, nets))))
        ws.cell(row=r, column=2, value=export.xlsx_value(str(getattr(rec, "computed_at", ""))))
        ws.cell(row=r, column=3, value=export.xlsx_value(str(getattr(rec, "network_source", ""))))
        r += 1
    r += 1
    for line in _caveats(data):
        ws.cell(row=r, column=1, value=line).alignment = Alignment(wrap_text=False)
        r += 1
    ws.column_dimensions["A"].width = 52
    ws.column_dimensions["B"].width = 40
    for letter in "CDEF":
        ws.column_dimensions[letter].width = 24

    _xlsx_sheet(wb, "Territoires", data.table, table_columns(), networks=nets)
    _xlsx_sheet(wb, "Lycées", data.schools, SCHOOL_COLUMNS,
                "Lycées situés dans le territoire ; origine = le lycée, effectifs de seconde "
                "déclarés ; même mode, budget et filtres d'offres.", nets)
    _xlsx_sheet(wb, "Offres par secteur", data.sectors, SECTOR_COLUMNS,
                "Offres situées dans le territoire (filtres appliqués), à la mairie de leur commune.",
                nets)
    _xlsx_sheet(wb, "Élèves sans offre", data.no_offer, NO_OFFER_COLUMNS,
                f"Origines du territoire ayant des élèves et aucune offre accessible "
                f"{mode_phrase(f.mode, nets)} en {format_number(f.minutes)} min.", nets)
    _xlsx_sheet(wb, "Projets collectifs", data.projects, PROJECT_COLUMNS,
                "Projets de stages collectifs situés dans le territoire (carte du 15/12/2025).",
                nets)
    _xlsx_sheet(wb, "Origines", data.origins, ORIGIN_COLUMNS,
                "Une ligne par origine du territoire (" + ORIGIN_LABELS[f.origin_kind] + ").",
                nets)
    _xlsx_sheet(wb, "Sources", data.sources, SOURCE_COLUMNS, networks=nets)
    return export.workbook_bytes(wb)  # any formula cell left becomes neutralised text


def _transit_caveat(networks: Sequence[str]) -> str:
    """The caveat on the public-transport networks loaded."""
    return "- " + catalogue.transit_caveat(networks)


def _caveats(data: ReportData) -> list[str]:
    f = data.filters
    lines = [
        "Avertissements :",
        "- Élèves par commune de résidence : estimation (total régional réparti au prorata de "
        "la population)." if f.origin_kind == "commune" else
        "- Origines = lycées : effectifs de seconde déclarés (lycées sans effectif comptés 0).",
        "- Offres placées à la mairie de leur commune ; capacité inconnue : 1 place par offre.",
        f"- Temps de trajet calculés jusqu'à {format_number(data.horizon)} min ; au-delà, hors d'atteinte.",
        _transit_caveat(data.networks),
        "- Classe de densité : approximation communale de la grille de densité INSEE.",
    ]
    row = data.row()
    if row is not None and bool(row["uses_estimated_times"]):
        lines.append("- Une partie des temps de ce territoire sont des estimations à vol d'oiseau.")
    return lines


# --------------------------------------------------------------------------------------------
# map (static PNG, matplotlib; no tiles)
# --------------------------------------------------------------------------------------------

#: Classes of the map indicator (offers reachable): (lower bound, label, face grey, hatch).
MAP_CLASSES: tuple[tuple[float, str, str, str | None], ...] = (
    (0, "aucune offre", "white", "////"),
    (1, "1 à 4 offres", "0.85", None),
    (5, "5 à 19 offres", "0.65", None),
    (20, "20 à 99 offres", "0.42", None),
    (100, "100 offres ou plus", "0.2", None),
)


def map_class(n: float | None) -> int:
    """Index in :data:`MAP_CLASSES` of a number of offers reachable (NULL counts as 0)."""
    v = 0.0 if _is_missing(n) else float(n)
    k = 0
    for i, (lo, *_rest) in enumerate(MAP_CLASSES):
        if v >= lo:
            k = i
    return k


def _territory_outline(con: duckdb.DuckDBPyConnection, terr: Territory, gcol: str) -> Any:
    """Outline of the territory (shapely geometry, WGS84) from its own table, or None.

    The region has no row of its own: the union of the départements, each slightly buffered
    so that the simplified borders leave no slivers inside.
    """
    import shapely

    table = {"departement": ("departements", "code"), "epci": ("epci", "siren"),
             "commune": ("communes", "code")}.get(terr.level)
    if table is not None and gcol in access.columns_of(con, table[0]):
        row = con.execute(f"SELECT ST_AsWKB({gcol}) FROM {table[0]} WHERE {table[1]} = ?",
                          [terr.code]).fetchone()
        return shapely.from_wkb(bytes(row[0])) if row and row[0] is not None else None
    src = "departements" if gcol in access.columns_of(con, "departements") else "communes"
    row = con.execute(f"SELECT ST_AsWKB(ST_Buffer(ST_Union_Agg(ST_Buffer({gcol}, 0.002)), "
                      f"-0.002)) FROM {src}").fetchone()
    return shapely.from_wkb(bytes(row[0])) if row and row[0] is not None else None


def render_map(con: duckdb.DuckDBPyConnection, data: ReportData, *, dpi: int = 150,
               width_in: float = 7.0, height_in: float = 6.6) -> tuple[bytes, str]:
    """Static map of the territory as PNG bytes and a one-line French summary.

    Communes (the territory's and those around it in the frame) are filled by class of
    offers reachable (commune origins, the report's mode, budget and offer filters); grey
    levels plus hatching for « aucune offre », so it prints in black and white. Lycées are
    black triangles, offer locations white circles sized by their number of offers; the
    territory boundary is drawn thick.
    """
    import geopandas as gpd
    import shapely
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    terr, f = data.territory, data.filters
    gcol = "geom_simple" if "geom_simple" in access.columns_of(con, "communes") else "geom"
    bbox = con.execute(f"""
        SELECT min(ST_XMin({gcol})), min(ST_YMin({gcol})), max(ST_XMax({gcol})),
               max(ST_YMax({gcol})) FROM communes c WHERE {terr.commune_filter_sql('c')}
    """).fetchone()
    if bbox is None or bbox[0] is None:
        raise ReportError(f"Pas de contour de commune pour {terr.label}")
    dx, dy = (bbox[2] - bbox[0]) * 0.08 + 0.01, (bbox[3] - bbox[1]) * 0.08 + 0.01
    env = (bbox[0] - dx, bbox[1] - dy, bbox[2] + dx, bbox[3] + dy)
    env_sql = f"ST_MakeEnvelope({env[0]!r}, {env[1]!r}, {env[2]!r}, {env[3]!r})"
    com = con.execute(f"""
        SELECT c.code, ST_AsWKB({gcol}) AS wkb, ({terr.commune_filter_sql('c')}) AS inside
        FROM communes c WHERE ST_Intersects({gcol}, {env_sql})
    """).df()
    com = com.merge(data.commune_values[["commune_code", "offers_reachable"]],
                    left_on="code", right_on="commune_code", how="left")
    geoms = shapely.from_wkb([bytes(b) for b in com["wkb"]])
    gdf = gpd.GeoDataFrame(com.drop(columns=["wkb"]), geometry=geoms, crs="EPSG:4326")
    gdf = gdf.to_crs(2154)
    gdf["cls"] = gdf["offers_reachable"].map(map_class)

    where, params = access._offer_filter(f)
    pts = con.execute(f"""
        SELECT l.lon, l.lat, count(*) AS n FROM offers o
        JOIN offer_locations l ON l.loc_id = o.loc_id
        WHERE {where} AND l.lon BETWEEN {env[0]!r} AND {env[2]!r}
              AND l.lat BETWEEN {env[1]!r} AND {env[3]!r}
        GROUP BY l.loc_id, l.lon, l.lat
    """, params).df()
    sch = con.execute(f"""
        SELECT lon, lat FROM schools WHERE lon BETWEEN {env[0]!r} AND {env[2]!r}
               AND lat BETWEEN {env[1]!r} AND {env[3]!r}
    """).df() if access.has_relation(con, "schools") else pd.DataFrame(columns=["lon", "lat"])

    def _proj(df: pd.DataFrame) -> gpd.GeoDataFrame:
        return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df["lon"], df["lat"]),
                                crs="EPSG:4326").to_crs(2154)

    # No Agg canvas attached while plotting: GeoPandas calls draw_idle() after each layer,
    # which redraws everything on an Agg canvas; savefig() picks the PNG backend itself.
    fig = Figure(figsize=(width_in, height_in), dpi=dpi)
    ax = fig.add_axes((0.0, 0.2, 1.0, 0.8))
    lw = 0.15 if len(gdf) > 800 else 0.3
    for k, (_lo, _label, face, hatch) in enumerate(MAP_CLASSES):
        part = gdf[gdf["cls"] == k]
        if part.empty:
            continue
        part.plot(ax=ax, facecolor=face, edgecolor="0.35", linewidth=lw)
        if hatch:
            # hatching drawn once over the merged polygons (hatching thousands of separate
            # polygons is what makes a regional map slow to render)
            merged = part.geometry.buffer(30).union_all()
            gpd.GeoSeries([merged], crs=gdf.crs).plot(ax=ax, facecolor="none", edgecolor="0.35",
                                                      linewidth=0, hatch=hatch)
    outline = _territory_outline(con, terr, gcol)
    if outline is not None:
        gpd.GeoSeries([outline], crs="EPSG:4326").to_crs(2154).boundary.plot(
            ax=ax, color="black", linewidth=1.6)
    outside = gdf[~gdf["inside"]]
    if not outside.empty:  # veil the surroundings so the territory stands out
        outside.plot(ax=ax, facecolor="white", edgecolor="none", alpha=0.45)
    if len(pts):
        p = _proj(pts)
        sizes = 8 + 10 * np.sqrt(p["n"].to_numpy(dtype=float))
        ax.scatter(p.geometry.x, p.geometry.y, s=sizes, facecolor="white", edgecolor="black",
                   linewidth=0.7, zorder=4)
    if len(sch):
        s = _proj(sch)
        ax.scatter(s.geometry.x, s.geometry.y, s=26, marker="^", facecolor="black",
                   edgecolor="white", linewidth=0.6, zorder=5)
    ax.set_axis_off()
    ax.set_aspect("equal")
    counts = gdf[gdf["inside"]]["cls"].value_counts()
    handles = []
    for k, (_lo, label, face, hatch) in enumerate(MAP_CLASSES):
        n = int(counts.get(k, 0))
        handles.append(Patch(facecolor=face, edgecolor="0.35", hatch=hatch,
                             label=f"{label} ({n} commune{'s' if n > 1 else ''})"))
    handles.append(Line2D([], [], marker="^", linestyle="none", markerfacecolor="black",
                          markeredgecolor="white", markersize=7, label="lycée"))
    handles.append(Line2D([], [], marker="o", linestyle="none", markerfacecolor="white",
                          markeredgecolor="black", markersize=6,
                          label="lieu d'offres (taille : nombre d'offres)"))
    handles.append(Line2D([], [], color="black", linewidth=1.6, label="limite du territoire"))
    fig.legend(handles=handles, loc="lower center", ncol=2, fontsize=7.5, frameon=False,
               title=f"Offres accessibles {mode_phrase(f.mode, data.networks)} en {format_number(f.minutes)} min "
                     "depuis le centre de chaque commune", title_fontsize=8)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    n_in = int(gdf["inside"].sum())
    n_zero = int(counts.get(0, 0))
    summary = (f"{n_zero} commune{'s' if n_zero > 1 else ''} sur {n_in} du territoire "
               f"n'{'ont' if n_zero > 1 else 'a'} aucune offre accessible {mode_phrase(f.mode, data.networks)} "
               f"en {format_number(f.minutes)} min (hachures).")
    return buf.getvalue(), summary


# --------------------------------------------------------------------------------------------
# PDF
# --------------------------------------------------------------------------------------------


def font_paths() -> tuple[Path, Path]:
    """Regular and bold DejaVu Sans TTF files (system fonts, else matplotlib's copies)."""
    system = Path("/usr/share/fonts/truetype/dejavu")
    if (system / "DejaVuSans.ttf").exists() and (system / "DejaVuSans-Bold.ttf").exists():
        return system / "DejaVuSans.ttf", system / "DejaVuSans-Bold.ttf"
    import matplotlib

    mpl = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    return mpl / "DejaVuSans.ttf", mpl / "DejaVuSans-Bold.ttf"


def _pdf_class():
    from fpdf import FPDF

    class _Portrait(FPDF):
        footer_text = ""

        def footer(self) -> None:
            self.set_y(-12)
            self.set_font("DejaVu", "", 7)
            self.set_text_color(90)
            self.cell(0, 5, f"{self.footer_text} — page {self.page_no()}/{{nb}}", align="C")
            self.set_text_color(0)

    return _Portrait


#: Shorter headers for the narrow PDF columns of the other tables (by column key); the
#: indicators use their catalogue short label (:func:`pdf_label`).
PDF_LABELS: dict[str, str] = {
    "seconde_pupils": "Élèves de seconde", "offers_reachable": "Offres access.",
    "sectors_reachable": "Secteurs access.", "minutes_nearest": "Plus proche (mode choisi)",
    **{f"nearest_{m}": "Plus proche " + catalogue.Mode(m).info.short for m in catalogue.MODES},
    "sector_label": "Statut", "commune_name": "Commune",
    "origin_name": "Origine", "offers_reachable_car": "Offres access. en voiture",
    "for_seconde": "Pour secondes", "for_troisieme": "Pour 3e", "public": "Publics",
    "private": "Privés", "share": "Part", "offers": "Offres",
}


def pdf_label(c: Column, networks: Sequence[str] | None = None) -> str:
    """Short header of a PDF column: the catalogue's short label for an indicator column,
    else :data:`PDF_LABELS`, else the column label; with the loaded networks."""
    for col, ind, mode in catalogue.indicator_columns():
        if col == c.key:
            return ind.short_text(networks, mode)
    return catalogue.fill_labels(PDF_LABELS.get(c.key, c.label), networks)


def _pdf_table(pdf: Any, df: pd.DataFrame, columns: Sequence[Column],
               widths: Sequence[float], max_rows: int | None = None,
               font_size: float = 7.5, networks: Sequence[str] | None = None) -> None:
    from fpdf.fonts import FontFace

    shown = df if max_rows is None else df.head(max_rows)
    pdf.set_font("DejaVu", "", font_size)
    head_style = FontFace(emphasis="BOLD", fill_color=(225, 225, 225))
    align = tuple("LEFT" if c.kind == "text" else "RIGHT" for c in columns)
    with pdf.table(col_widths=tuple(widths), width=sum(widths), align="LEFT",
                   text_align=align, headings_style=head_style, line_height=font_size * 0.5,
                   first_row_as_headings=True, repeat_headings=1) as table:
        hr = table.row()
        for c in columns:
            label = pdf_label(c, networks)
            unit = {"offres": "", "élèves": "", "secteurs": "", "%": ""}.get(c.unit, c.unit)
            hr.cell(label + (f" ({unit})" if unit else ""))
        for rec in shown[[c.key for c in columns]].itertuples(index=False):
            row = table.row()
            for c, v in zip(columns, rec):
                row.cell(format_value(display_value(c.key, v, networks), c.kind))
    if max_rows is not None and len(df) > max_rows:
        pdf.set_font("DejaVu", "", 7)
        pdf.multi_cell(0, 4, f"… {len(df) - max_rows} ligne(s) de plus dans le fichier XLSX.",
                       new_x="LMARGIN", new_y="NEXT")


def _heading(pdf: Any, text: str, size: float = 12) -> None:
    pdf.ln(2)
    pdf.set_font("DejaVu", "B", size)
    pdf.multi_cell(0, size * 0.55, text, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)
    pdf.set_font("DejaVu", "", 9)


def _para(pdf: Any, text: str, size: float = 9) -> None:
    pdf.set_font("DejaVu", "", size)
    pdf.multi_cell(0, size * 0.5, text, new_x="LMARGIN", new_y="NEXT")


DEFINITIONS: tuple[tuple[str, str], ...] = (
    ("Offre accessible", "offre dont le temps de trajet depuis l'origine (mairie de la commune "
     "de résidence, ou lycée) est inférieur ou égal au budget-temps, avec le mode choisi. Mode "
     "« transports en commun + marche » : le plus court entre transports en commun (réseaux "
     "chargés : voir « À savoir » ; accès et correspondances à pied) et marche."),
    ("Élèves sans offre accessible", "élèves des origines du territoire n'ayant aucune offre "
     "accessible ; la part rapporte ce nombre aux élèves du territoire. La variante « en "
     "transports ou à pied » vaut quel que soit le mode choisi."),
    ("Offres pour 100 élèves", "offres situées dans le territoire (après filtres) / élèves × 100 "
     "(indicateur de la circulaire de 2015)."),
    ("Offres accessibles, moyenne par élève", "nombre d'offres accessibles depuis chaque "
     "origine, moyenne pondérée par les élèves."),
    ("Places par élève avec concurrence (2SFCA)", "chaque lieu d'offres partage ses places "
     "entre tous les élèves qui l'atteignent ; somme, pour une origine, des parts des lieux "
     "qu'elle atteint ; moyenne pondérée par les élèves. 0,05 = une place pour 20 élèves."),
    ("Temps médian jusqu'à l'offre la plus proche", "la moitié au moins des élèves ont une "
     "offre à ce temps ou moins ; 0 = offre dans la commune même ; vide si plus de la moitié "
     "n'en ont aucune dans l'horizon de calcul."),
    ("Écart voiture / transports", "offres accessibles en voiture ÷ offres accessibles en "
     "transports ou à pied (moyennes par élève)."),
    ("Départs du matin", "départs de véhicules depuis les arrêts du territoire entre 07:00 et "
     "08:30 le jour de service des calculs."),
    ("Classe de densité", "approximation communale de la grille de densité INSEE : dense ≥ "
     "1 500 hab./km², intermédiaire 300-1 500, peu dense 25-300, très peu dense < 25."),
)


def to_pdf(data: ReportData, con: duckdb.DuckDBPyConnection) -> bytes:
    """The A4 French territory portrait (fpdf2, DejaVu Sans).

    Page 1: title, parameters, date, key figures beside the reference territories, summary.
    Page 2: map (PNG) with legend and summary. Then tables of sub-territories, lycées,
    sectors, pupils without offer, collective projects; definitions; sources with vintages.
    """
    regular, bold = font_paths()
    pdf = _pdf_class()(orientation="P", unit="mm", format="A4")
    pdf.set_margins(15, 15, 15)
    pdf.set_auto_page_break(True, margin=16)
    pdf.add_font("DejaVu", "", str(regular))
    pdf.add_font("DejaVu", "B", str(bold))
    terr, f = data.territory, data.filters
    pdf.footer_text = (f"Observatoire des stages — Normandie · {terr.label} · édité le "
                       f"{data.generated_at:%d/%m/%Y}")
    pdf.set_title(f"Portrait de territoire : {terr.name}")
    pdf.set_author("Observatoire des stages — Normandie")
    pdf.set_creation_date(data.generated_at.astimezone())
    epw = pdf.epw

    # --- page 1: title, parameters, key figures
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 18)
    pdf.multi_cell(0, 9, f"Portrait de territoire : {terr.name}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 10)
    pdf.multi_cell(0, 5, f"{LEVEL_LABELS[terr.level]} · code {terr.code} · "
                   f"{terr.n_communes} commune{'s' if terr.n_communes > 1 else ''} · "
                   f"accès des élèves de seconde aux offres de stage",
                   new_x="LMARGIN", new_y="NEXT")
    pdf.multi_cell(0, 5, f"Édité le {data.generated_at:%d/%m/%Y à %H:%M} par l'Observatoire des "
                   "stages — Normandie", new_x="LMARGIN", new_y="NEXT")
    _heading(pdf, "Paramètres")
    pdf.set_font("DejaVu", "", 8.5)
    with pdf.table(col_widths=(50, epw - 50), text_align=("LEFT", "LEFT"),
                   first_row_as_headings=False, line_height=4.2) as table:
        for label, value in parameters_text(f, data.networks):
            row = table.row()
            row.cell(label)
            row.cell(value)
    key_rows = data.key_rows
    _heading(pdf, "Chiffres clés")
    cols = key_figure_columns(f)
    names = [str(r["name"]) for r in key_rows]
    w0 = 84 if len(names) <= 3 else 70
    wk = (epw - w0) / max(len(names), 1)
    from fpdf.fonts import FontFace

    pdf.set_font("DejaVu", "", 8)
    with pdf.table(col_widths=(w0,) + (wk,) * len(names),
                   text_align=("LEFT",) + ("RIGHT",) * len(names), line_height=4,
                   headings_style=FontFace(emphasis="BOLD", fill_color=(225, 225, 225))) as table:
        hr = table.row()
        hr.cell("Indicateur")
        for k, n in enumerate(names):
            hr.cell(n + (" (territoire)" if k == 0 else ""))
        for c in cols:
            row = table.row()
            row.cell(c.label_for(data.networks)
                     + (f" ({c.unit})" if c.unit and c.unit != "%" else ""))
            for r in key_rows:
                row.cell(format_value(display_value(c.key, r[c.key], data.networks), c.kind))
    pdf.ln(2)
    _para(pdf, _summary_sentence(data))
    pdf.ln(1)
    pdf.ln(1)
    pdf.set_font("DejaVu", "B", 8)
    pdf.multi_cell(0, 4, "À savoir", new_x="LMARGIN", new_y="NEXT")
    for line in _caveats(data)[1:]:
        _para(pdf, "• " + line.removeprefix("- "), size=7.5)

    # --- page 2: map
    pdf.add_page()
    _heading(pdf, f"Carte : offres accessibles {mode_phrase(f.mode, data.networks)} en {format_number(f.minutes)} min")
    png, summary = render_map(con, data)
    pdf.image(io.BytesIO(png), x=pdf.l_margin, w=epw)
    pdf.ln(2)
    _para(pdf, summary)
    _para(pdf, "Lecture : chaque commune est colorée selon le nombre d'offres accessibles depuis "
          "son centre (origine commune, mêmes filtres) ; hachures = aucune offre. Les communes "
          "voisines sont éclaircies. Fond de carte : contours IGN ADMIN EXPRESS simplifiés, sans "
          "tuiles en ligne.", size=7.5)

    # --- tables
    pdf.add_page()
    comp = data.table[data.table["role"] == ROLE_COMPONENT]
    if not comp.empty:
        first = COMPONENT_LEVELS[terr.level][0]
        comp = comp[comp["level"] == first].sort_values(
            ["pupils", "name"], ascending=[False, True])
        _heading(pdf, f"{LEVEL_LABELS[first]}s du territoire, par nombre d'élèves "
                      f"({len(comp)})".replace("EPCIs", "EPCI"))
        by_key = {c.key: c for c in table_columns()}
        ccols = [by_key[k] for k in ("name", "pupils", "offers_located", "offers_per_100_pupils",
                                     "offers_reachable_mean", "share_no_offer",
                                     "share_no_offer_transit", f"median_minutes_{f.mode}")]
        _pdf_table(pdf, comp, ccols, (50, 17, 17, 19, 19, 20, 20, 18), max_rows=30, networks=data.networks)
    _heading(pdf, f"Lycées du territoire ({len(data.schools)})")
    if data.schools.empty:
        _para(pdf, "Aucun lycée dans le territoire.")
    else:
        by_key = {c.key: c for c in SCHOOL_COLUMNS}
        scols = [by_key[k] for k in ("name", "commune_name", "sector_label", "seconde_pupils",
                                     "offers_reachable", "sectors_reachable", "minutes_nearest",
                                     "nearest_car")]
        _pdf_table(pdf, data.schools, scols, (48, 30, 14, 18, 18, 18, 17, 17), max_rows=40, networks=data.networks)
    _heading(pdf, f"Offres situées dans le territoire par secteur ({int(data.sectors['offers'].sum())} "
                  "offres)")
    if data.sectors.empty:
        _para(pdf, "Aucune offre située dans le territoire avec ces filtres.")
    else:
        _pdf_table(pdf, data.sectors, SECTOR_COLUMNS[:7], (62, 18, 18, 18, 18, 23, 23),
                   max_rows=25, networks=data.networks)
    _heading(pdf, f"Élèves sans offre accessible ({len(data.no_offer)} origines)")
    if data.no_offer.empty:
        _para(pdf, "Toutes les origines ayant des élèves ont au moins une offre accessible.")
    else:
        by_key = {c.key: c for c in NO_OFFER_COLUMNS}
        ncols = [by_key[k] for k in ("origin_name", "commune_code", "pupils", "minutes_nearest",
                                     "nearest_car", "offers_reachable_car")]
        _pdf_table(pdf, data.no_offer, ncols, (55, 20, 20, 30, 30, 25), max_rows=25, networks=data.networks)
    _heading(pdf, f"Projets de stages collectifs ({len(data.projects)})")
    if data.projects.empty:
        _para(pdf, "Aucun projet de stage collectif recensé dans le territoire.")
    else:
        _pdf_table(pdf, data.projects, [c for c in PROJECT_COLUMNS if c.key != "project_id"],
                   (38, 30, 25, 27, 15, 22, 23), networks=data.networks)

    # --- definitions and sources
    pdf.add_page()
    _heading(pdf, "Définitions des indicateurs")
    for term, text in DEFINITIONS:
        pdf.set_font("DejaVu", "B", 8.5)
        pdf.multi_cell(0, 4.3, term, new_x="LMARGIN", new_y="NEXT")
        _para(pdf, text, size=8.5)
        pdf.ln(0.8)
    _heading(pdf, "Sources et millésimes")
    src_cols = [c for c in SOURCE_COLUMNS if c.key in ("description", "publisher", "licence",
                                                       "vintage")]
    src = data.sources.copy()
    src["description"] = src["description"].fillna(src["dataset"])
    _pdf_table(pdf, src, src_cols, (55, 55, 35, 35), font_size=7, networks=data.networks)
    if not data.runs.empty:
        pdf.ln(2)
        run_cols = [_c("mode", "Mode"), _c("network_source", "Réseau"),
                    _c("precision", "Précision"), _c("computed_at", "Calculé le")]
        _pdf_table(pdf, data.runs, [c for c in run_cols if c.key in data.runs],
                   (20, 65, 60, 35), font_size=7, networks=data.networks)
    return bytes(pdf.output())


def _summary_sentence(data: ReportData) -> str:
    """« CA du Cotentin : 12,3 % des élèves … n'ont aucune offre …, contre 20,1 % dans la
    Manche et 23,8 % en Normandie. … » (territory names with their preposition, plurals
    agreeing: :mod:`analysis.text`)."""
    f = data.filters
    rows = data.key_rows
    parts = [f"{format_value(r['share_no_offer'], 'pct')} "
             f"{in_territory(str(r['name']), str(r['level']), str(r['code']))}"
             for r in rows[1:]]
    main = rows[0]
    who = "des élèves (estimation par commune de résidence)" if f.origin_kind == "commune" \
        else "des élèves des lycées"
    text = (f"{main['name']} : {format_value(main['share_no_offer'], 'pct')} {who} "
            f"n'ont aucune offre de stage accessible {mode_phrase(f.mode, data.networks)} en "
            f"{format_number(f.minutes)} min")
    if parts:
        text += ", contre " + " et ".join(parts)
    mean = main["offers_reachable_mean"]
    located = 0 if _is_missing(main["offers_located"]) else int(main["offers_located"])
    text += (f". Un élève atteint en moyenne {format_value(mean, 'dec1')} "
             f"{'offre' if _is_missing(mean) or float(mean) < 2 else 'offres'} ; le territoire "
             f"compte {count(located, 'offre située')}, soit "
             f"{format_value(main['offers_per_100_pupils'], 'dec2')} pour 100 élèves.")
    return text


# --------------------------------------------------------------------------------------------
# entry points
# --------------------------------------------------------------------------------------------


def render(data: ReportData, fmt: str, con: duckdb.DuckDBPyConnection,
           rows: str = "territoires", header: str = "fr") -> bytes:
    """Render collected data in ``fmt`` (``'csv'``, ``'xlsx'`` or ``'pdf'``); ``rows`` and
    ``header`` are for the CSV (:func:`to_csv`)."""
    if fmt == "csv":
        return to_csv(data, rows, header)
    if fmt == "xlsx":
        return to_xlsx(data)
    if fmt == "pdf":
        return to_pdf(data, con)
    raise ReportError(f"Format inconnu : {fmt!r} (attendu : {', '.join(FORMATS)})")


def build_report(con: duckdb.DuckDBPyConnection, level: str, code: str | None, fmt: str,
                 filters: Filters | None = None, *, rows: str = "territoires",
                 header: str = "fr", generated_at: dt.datetime | None = None,
                 progress: ProgressFn | None = None) -> tuple[bytes, str, str]:
    """Produce a report file in memory.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Database (read-only is enough).
    level : str
        ``'region'``, ``'departement'``, ``'epci'`` or ``'commune'``.
    code : str or None
        Territory code (None for the region).
    fmt : str
        ``'csv'``, ``'xlsx'`` or ``'pdf'``.
    filters : analysis.access.Filters, optional
        Same filters as the screen (default ``Filters()``).
    rows : str
        CSV only: ``'territoires'`` (one row per territory, default) or ``'origines'`` (one
        row per commune of residence or lycée of the territory).
    header : str
        CSV only: ``'fr'`` (French header row and labels, default) or ``'cles'`` (technical
        keys and codes).
    generated_at : datetime.datetime, optional
        Date printed in the report (default: now).

    Returns
    -------
    (bytes, str, str)
        File content, file name, MIME type.

    Raises
    ------
    ReportError
        Unknown level, code, format or sector, empty territory, missing tables.
    """
    if fmt not in FORMATS:
        raise ReportError(f"Format inconnu : {fmt!r} (attendu : {', '.join(FORMATS)})")
    if rows not in CSV_ROWS:
        raise ReportError(f"Lignes du CSV inconnues : {rows!r} (attendu : {', '.join(CSV_ROWS)})")
    if header not in CSV_HEADERS:
        raise ReportError(f"En-tête du CSV inconnu : {header!r} (attendu : "
                          f"{', '.join(CSV_HEADERS)})")
    data = collect(con, level, code, filters, generated_at=generated_at, progress=progress)
    content = render(data, fmt, con, rows, header)
    name = report_filename(data.territory, data.filters, fmt)
    if fmt == "csv" and rows == "origines":
        name = name.replace("rapport_", "origines_", 1)
    return content, name, FORMATS[fmt]


def write_report(path: str | os.PathLike, content: bytes) -> Path:
    """Write ``content`` to ``path`` atomically (temporary file then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        tmp.write_bytes(content)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def _parser() -> argparse.ArgumentParser:
    from analysis.validate_args import ArgParser

    p = ArgParser(
        prog="python -m analysis.report",
        description="Rapport d'écarts d'accès aux stages d'un territoire (CSV, XLSX ou PDF).")
    # level and format are checked by build_report (French message, exit code 2, no file)
    p.add_argument("--level", required=True,
                   help="niveau territorial : " + ", ".join(LEVELS))
    p.add_argument("--code", default=None,
                   help="code du territoire : code INSEE de commune, SIREN d'EPCI, code de "
                        "département ; facultatif pour la région (28)")
    p.add_argument("--format", required=True, dest="fmt",
                   help="format du fichier : " + ", ".join(FORMATS))
    access.add_filter_arguments(p)
    p.add_argument("--rows", default="territoires",
                   help="CSV : une ligne par territoire (territoires, défaut) ou par origine "
                        "(origines : communes de résidence ou lycées du territoire)")
    p.add_argument("--entetes", default="fr", dest="header",
                   help="CSV : ligne d'en-tête en français (fr, défaut) ou noms techniques des "
                        "colonnes et codes (cles), voir docs/reports.md")
    p.add_argument("--out", required=True, help="fichier à écrire")
    return p


def main(argv: Iterable[str] | None = None) -> int:
    """Command-line entry point: write one report file; exit code 2 and no file on error."""
    from analysis import db as dbmod
    from analysis.progress import Progress
    from analysis.validate_args import ArgumentError, fail

    args = _parser().parse_args(list(argv) if argv is not None else None)
    try:
        con = dbmod.connect(args.db or config.default_db_path(), read_only=True)
        try:
            filters = access.checked_filters_from_args(con, args)
            content, _name, _mime = build_report(con, args.level, args.code, args.fmt, filters,
                                                 rows=args.rows, header=args.header,
                                                 progress=Progress())
        finally:
            con.close()
    except (ReportError, AccessError, ArgumentError, FileNotFoundError) as exc:
        return fail(exc)
    path = write_report(args.out, content)
    print(f"Rapport écrit : {path} ({format_number(len(content))} octets)",
          file=sys.stderr)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
