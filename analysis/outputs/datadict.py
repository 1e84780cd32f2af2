"""French data dictionary for the users: what each table of the database holds, the build facts
and the column types in words (the Données page shows it; ``docs/schema.md`` is the detailed
technical reference, in English, for developers).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import pandas as pd

#: One French sentence per table or view (order: the pipeline's).
TABLE_TITLES: dict[str, str] = {
    "communes": "Les 2 644 communes de Normandie (COG 2025) : code, nom, population, surface, centre, contour",
    "epci": "Les intercommunalités (EPCI) ayant au moins une commune normande",
    "departements": "Les cinq départements",
    "commune_names": "Noms des communes (anciens et actuels) pour situer les adresses",
    "commune_postcodes": "Codes postaux des communes pour situer les adresses",
    "schools": "Lycées (Annuaire de l'éducation) et effectifs de seconde déclarés",
    "offers": "Offres de stage (plateforme « 1 élève, 1 stage »)",
    "offer_locations": "Lieux distincts des offres (destinations des temps de trajet)",
    "offer_rejects": "Lignes d'offres non chargées ou non situées, avec le motif",
    "collective_projects": "Projets de stages collectifs (carte du 15/12/2025)",
    "provenance": "Un enregistrement par fichier source chargé (producteur, licence, millésime)",
    "build_info": "Faits sur la construction de la base (version, date, répertoire source)",
    "commune_pupils": "Élèves de seconde estimés par commune de résidence (ESTIMATION)",
    "transit_supply": "Offre de transport en commun par commune (arrêts, départs du matin)",
    "access_origins": "Origines des calculs d'accessibilité (table technique)",
    "access_pairs": "Couples origine–lieu d'offre compactés pour les indicateurs (table technique)",
    "access_meta": "Empreinte des tables d'indicateurs précalculées (table technique)",
    "accessibility": "Indicateurs par origine (commune ou lycée), paramètres par défaut",
    "territory_indicators": "Indicateurs par territoire, paramètres par défaut",
    "transit_feeds": "Flux d'horaires de transport en commun chargés (GTFS)",
    "transit_stops": "Arrêts et gares",
    "transit_routes": "Lignes de transport en commun",
    "transit_trips": "Courses (services) des lignes",
    "transit_stop_times": "Horaires de passage de chaque course à chaque arrêt",
    "transit_calendar": "Calendrier de circulation des services",
    "transit_calendar_dates": "Exceptions au calendrier de circulation",
    "travel_times": "Temps de trajet porte à porte, origine → lieu d'offre, par mode (≤ 90 min)",
    "offer_travel_times": "Vue : temps de trajet joints aux offres",
    "travel_time_runs": "Un enregistrement par calcul de temps de trajet (mode, réseau, date)",
    "imports": "Journal des imports (un par import)",
    "import_quarantine": "Lignes refusées lors des imports, avec le motif",
    "import_warnings": "Lignes acceptées avec une remarque",
    "import_files": "Fichiers importés",
    "offer_details": "Attributs complémentaires des offres importées",
    "mobility_services": "Services de mobilité des EPCI pour les stagiaires",
    "geocode_cache": "Réponses du géocodeur de la Base Adresse Nationale (cache)",
    "scenarios": "Scénarios de mobilité enregistrés (navettes, vélos, nouveaux accueils) et leur gain en élèves",
}

#: French words for DuckDB column types.
_TYPES: tuple[tuple[str, str], ...] = (
    ("VARCHAR", "texte"),
    ("BOOLEAN", "oui / non"),
    ("TIMESTAMP", "date et heure"),
    ("DATE", "date"),
    ("TIME", "heure"),
    ("GEOMETRY", "géométrie"),
    ("BLOB", "données binaires"),
    ("DOUBLE", "nombre décimal"),
    ("FLOAT", "nombre décimal"),
    ("DECIMAL", "nombre décimal"),
    ("HUGEINT", "nombre entier"),
    ("BIGINT", "nombre entier"),
    ("INTEGER", "nombre entier"),
    ("SMALLINT", "nombre entier"),
    ("TINYINT", "nombre entier"),
    ("UBIGINT", "nombre entier"),
    ("UINTEGER", "nombre entier"),
    ("USMALLINT", "nombre entier"),
    ("UTINYINT", "nombre entier"),
    ("STRUCT", "structure"),
    ("MAP", "correspondance"),
)

#: French labels of the ``build_info`` keys shown on the Données page.
BUILD_INFO_LABELS: dict[str, str] = {
    "version": "version",
    "built_at": "construite le",
    "source_dir": "répertoire des données sources",
}


def type_label(duckdb_type: str) -> str:
    """« texte », « nombre entier », « liste de texte »… for a DuckDB type name."""
    t = str(duckdb_type).upper().strip()
    if t.endswith("[]"):
        return "liste de " + type_label(t[:-2])
    for prefix, label in _TYPES:
        if t.startswith(prefix):
            return label
    return t.lower()


def table_title(name: str) -> str:
    """The French description of a table (« Table technique » when not listed)."""
    return TABLE_TITLES.get(name, "Table technique (voir docs/schema.md)")


def schema_overview(con: Any) -> pd.DataFrame:
    """Tables and views of the database in French: ``Table``, ``Contenu``, ``Colonnes`` (each
    column with its type in words), in the order of :data:`TABLE_TITLES` then by name."""
    cols = con.execute(
        "SELECT table_name, column_name, data_type FROM duckdb_columns() "
        "WHERE NOT internal ORDER BY table_name, column_index"
    ).df()
    order = {t: i for i, t in enumerate(TABLE_TITLES)}
    rows = []
    for table, grp in cols.groupby("table_name", sort=False):
        rows.append(
            {
                "Table": table,
                "Contenu": table_title(table),
                "Colonnes": " ; ".join(f"{c} ({type_label(t)})" for c, t in zip(grp["column_name"], grp["data_type"])),
                "_o": order.get(table, len(order)),
            }
        )
    out = pd.DataFrame(rows, columns=["Table", "Contenu", "Colonnes", "_o"])
    return out.sort_values(["_o", "Table"]).drop(columns="_o").reset_index(drop=True)


def build_info_text(info: Mapping[str, Any]) -> str:
    """« Construction de la base : version 0.1.0 · construite le 01/12/2026 à 20:01 ·
    répertoire des données sources : /work/shared/data » (settings left out)."""
    parts = []
    for key, label in BUILD_INFO_LABELS.items():
        if key not in info or info[key] in (None, ""):
            continue
        value = str(info[key])
        if key == "built_at":
            try:
                value = dt.datetime.fromisoformat(value).strftime("%d/%m/%Y à %H:%M")
            except ValueError:
                pass
        parts.append(
            f"{label} {value}"
            if key == "version"
            else f"{label} : {value}"
            if key == "source_dir"
            else f"{label} {value}"
        )
    return "Construction de la base : " + " · ".join(parts) if parts else ""
