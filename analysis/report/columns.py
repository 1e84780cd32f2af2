"""Report columns: what each table shows and how a value is displayed.

Owns the :class:`Column` specification, the column lists of every table (main table from
the catalogue of indicators, lycées, sectors, pupils without an offer, origins, projects,
sources), the level/role/origin labels, :func:`display_value` and :func:`mode_phrase`.
A new report column belongs here (and in ``docs/reports.md``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis import access, catalogue

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
    "region": "Région",
    "departement": "Département",
    "epci": "EPCI",
    "commune": "Commune",
}
ORIGIN_LABELS: dict[str, str] = {
    "commune": "communes de résidence (élèves estimés)",
    "school": "lycées (effectifs de seconde déclarés)",
}
#: Role of a row of the main table.
ROLE_TERRITORY, ROLE_REFERENCE, ROLE_COMPONENT = "territoire", "reference", "composante"
ROLE_LABELS: dict[str, str] = {ROLE_TERRITORY: "Territoire", ROLE_REFERENCE: "Référence", ROLE_COMPONENT: "Composante"}
ORIGIN_KIND_LABELS: dict[str, str] = {"commune": "Commune de résidence", "school": "Lycée"}


def mode_phrase(mode: str, networks: Sequence[str] | None = None) -> str:
    """« en transports en commun (TER seulement) ou à pied », « à vélo »… (catalogue)."""
    return catalogue.mode_label(mode, networks, "phrase")


def display_value(key: str, value: Any, networks: Sequence[str] | None = None) -> Any:
    """The French text shown for a code stored in a text column (mode, level, role, origin
    kind, density class); other values unchanged."""
    if key in NOT_DECLARED_KEYS and is_missing(value):
        return NOT_DECLARED
    if not isinstance(value, str):
        return value
    if key == "mode" and value in catalogue.MODES:
        return catalogue.mode_label(value, networks)
    table = {
        "level": LEVEL_LABELS,
        "role": ROLE_LABELS,
        "origin_kind": ORIGIN_KIND_LABELS,
        "density_class": access.DENSITY_LABELS,
    }.get(key)
    return table.get(value, value) if table else value


ProgressFn = Callable[[str, "float | None"], None]


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

    def compact_header(self, networks: Sequence[str] | None = None, label: str | None = None) -> str:
        """Header of a narrow table (PDF, scenario exports): ``label`` (default: the column's,
        naming the loaded networks) with its unit, unless the unit is a count the label
        already says (:data:`COUNT_UNITS`): « Offres accessibles », « Offre la plus proche (min) »."""
        label = self.label_for(networks) if label is None else label
        return f"{label} ({self.unit})" if self.unit and self.unit not in COUNT_UNITS else label


#: Units a compact header leaves out (:meth:`Column.compact_header`): the label names what is counted.
COUNT_UNITS = frozenset({"offres", "élèves", "secteurs", "%"})


def compact_frame(df: pd.DataFrame, columns: Sequence[Column]) -> pd.DataFrame:
    """The columns of ``df`` as a narrow table shows them: compact headers
    (:meth:`Column.compact_header`), ``'int'`` columns rounded to whole numbers (nullable
    integers: pupils are estimates), ``'dec1'`` to a tenth, other values unchanged."""
    out = df[[c.key for c in columns]].copy()
    for c in columns:
        if c.kind == "int":
            out[c.key] = out[c.key].round().astype("Int64")
        elif c.kind == "dec1":
            out[c.key] = out[c.key].round(1)
    out.columns = [c.compact_header() for c in columns]
    return out


def _c(key: str, label: str, unit: str = "", kind: str = "text") -> Column:
    return Column(key, label, unit, kind)


#: The filters of the view a row was computed for (main and per-origin tables).
FILTER_COLUMNS: tuple[Column, ...] = (
    _c("mode", "Mode"),
    _c("budget_min", "Budget-temps", "min", "int"),
    _c("sectors_filter", "Secteurs retenus"),
    _c("grade_filter", "Niveau visé"),
    _c("hosts_filter", "Accueil"),
)
#: Columns shared, with the same meaning, by several tables.
COMMUNE_CODE = _c("commune_code", "Code commune")
PLACES_PER_PUPIL_2SFCA = _c(
    "places_per_pupil_2sfca", "Places par élève avec concurrence (2SFCA)", "places/élève", "dec4"
)
MINUTES_NEAREST = _c("minutes_nearest", "Temps jusqu'à l'offre la plus proche (mode choisi)", "min", "dec1")
#: Offers and sectors reachable in the view's mode and budget (lycées and per-origin tables).
REACH_COLUMNS: tuple[Column, ...] = (
    _c("offers_reachable", "Offres accessibles", "offres", "int"),
    _c("sectors_reachable", "Secteurs accessibles", "secteurs", "int"),
)
#: « origine unique : la mairie (…) » for a large commune whose pupils all start at its town
#: hall (``communes.single_origin_large``, docs/indicators.md); empty otherwise.
ORIGIN_NOTE = _c("origin_note", "Point de départ des élèves")
#: What identifies an origin (per-origin and « no offer » tables).
ORIGIN_ID_COLUMNS: tuple[Column, ...] = (
    _c("origin_kind", "Type d'origine"),
    _c("origin_id", "Code de l'origine"),
    _c("origin_name", "Origine"),
    ORIGIN_NOTE,
    COMMUNE_CODE,
)
#: The seconde pupils of an origin and whether they are estimated.
PUPIL_COLUMNS: tuple[Column, ...] = (
    _c("pupils", "Élèves de seconde", "élèves", "dec0"),
    _c("pupils_is_estimate", "Élèves estimés", "", "bool"),
)
#: Offers reachable by car and by public transport (lycées and per-origin tables).
REACH_BY_MODE_COLUMNS: tuple[Column, ...] = (
    _c("offers_reachable_car", "Offres accessibles en voiture", "offres", "int"),
    _c("offers_reachable_transit", "Offres accessibles en {tc} ou à pied", "offres", "int"),
)

#: Descriptive columns of the main table, before the indicators of the catalogue.
TABLE_HEAD_COLUMNS: tuple[Column, ...] = (
    _c("role", "Rôle de la ligne"),
    _c("level", "Niveau"),
    _c("code", "Code"),
    _c("name", "Nom"),
    _c("origin_kind", "Origines"),
    ORIGIN_NOTE,
    *FILTER_COLUMNS,
)


def indicator_column(col: str, ind: catalogue.Indicator, mode: str | None) -> Column:
    """The report column of a catalogue indicator (label with ``{tc}`` left for rendering)."""
    label = ind.label if mode is None else ind.label.replace("{mode}", catalogue.Mode(mode).info.phrase)
    return Column(col, label, ind.unit, ind.kind)


def pick_columns(columns: Sequence[Column], *keys: str) -> tuple[Column, ...]:
    """The columns of ``columns`` with these keys, in the order of ``keys`` (KeyError if absent)."""
    by_key = {c.key: c for c in columns}
    return tuple(by_key[k] for k in keys)


def table_columns() -> tuple[Column, ...]:
    """Columns of the main table (CSV and XLSX sheet « Territoires »), in this order: the
    descriptive columns then every indicator of :data:`analysis.catalogue.INDICATORS`
    (per-mode indicators expanded, in :data:`analysis.catalogue.MODES` order)."""
    return TABLE_HEAD_COLUMNS + tuple(
        indicator_column(col, ind, mode) for col, ind, mode in catalogue.indicator_columns()
    )


def _nearest_columns(
    label: str = "Temps jusqu'à l'offre la plus proche {mode}", modes: Sequence[str] = catalogue.MODES
) -> tuple[Column, ...]:
    return tuple(
        _c(f"nearest_{m}", label.replace("{mode}", catalogue.Mode(m).info.phrase), "min", "dec1") for m in modes
    )


#: Columns of the lycées table.
SCHOOL_COLUMNS: tuple[Column, ...] = (
    _c("uai", "UAI"),
    _c("name", "Lycée"),
    COMMUNE_CODE,
    _c("commune_name", "Commune"),
    _c("sector_label", "Statut"),
    _c("seconde_pupils", "Élèves de seconde (déclarés)", "élèves", "int"),
    *REACH_COLUMNS,
    PLACES_PER_PUPIL_2SFCA,
    MINUTES_NEAREST,
    *_nearest_columns(modes=("transit", "car")),
    *REACH_BY_MODE_COLUMNS,
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
    *ORIGIN_ID_COLUMNS,
    *PUPIL_COLUMNS,
    _c("minutes_nearest", "Temps jusqu'à l'offre la plus proche (mode choisi, vide > horizon)", "min", "dec1"),
    *_nearest_columns(modes=("car",)),
    _c("offers_reachable_car", "Offres accessibles en voiture dans le budget", "offres", "int"),
)

#: Columns of the per-origin table (CSV with ``rows='origines'``, XLSX sheet « Origines »):
#: the columns of :func:`analysis.access.origin_accessibility`, unchanged.
ORIGIN_COLUMNS: tuple[Column, ...] = (
    *ORIGIN_ID_COLUMNS,
    *FILTER_COLUMNS,
    *PUPIL_COLUMNS,
    *REACH_COLUMNS,
    _c("places_reachable", "Places accessibles", "places", "dec1"),
    _c("places_default_capacity", "Offres accessibles comptées 1 place", "offres", "int"),
    PLACES_PER_PUPIL_2SFCA,
    MINUTES_NEAREST,
    _c("nearest_is_estimate", "Temps le plus proche estimé à vol d'oiseau", "", "bool"),
    _c("reach_uses_estimates", "Temps estimés à vol d'oiseau parmi les offres accessibles", "", "bool"),
    *_nearest_columns(),
    *REACH_BY_MODE_COLUMNS,
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
# formatting helpers
# --------------------------------------------------------------------------------------------


def is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    try:
        return bool(np.isnan(value))
    except (TypeError, ValueError):
        return False


#: Columns whose missing value means « not declared » (lycée headcounts), said in words.
NOT_DECLARED_KEYS = frozenset({"seconde_pupils"})
NOT_DECLARED = "non déclaré"
