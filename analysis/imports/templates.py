"""The expected columns of each import kind, and the empty templates offered for download.

Owns :class:`Column`, :data:`OFFER_TEMPLATE`, :data:`COLLECTIVE_TEMPLATE`,
:data:`MOBILITY_TEMPLATE`, :data:`PLATFORM_REQUIRED`, the header normalisation used to find the
header line, :data:`TEMPLATE_FILES` and :func:`write_templates` (CSV and XLSX).
"""

from __future__ import annotations

import csv
import functools
import os
import re
from dataclasses import dataclass
from pathlib import Path

from analysis import offers, validation
from analysis.collective import KINDS as COLLECTIVE_KINDS
from analysis.imports.schema import MOBILITY_TYPES
from analysis.text import strip_accents

# --------------------------------------------------------------------------- column specs


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", strip_accents(name).lower()).strip("_")


@dataclass(frozen=True)
class Column:
    """A template column: canonical key, French header, required or not, accepted aliases."""

    key: str
    header: str
    required: bool
    aliases: tuple[str, ...]
    doc: str


OFFER_TEMPLATE = (
    Column(
        "offer_id",
        "identifiant",
        False,
        ("id", "offer_id", "identifiant", "reference"),
        "Identifiant de l'offre, unique (facultatif : sinon « <source>:<ligne> »).",
    ),
    Column(
        "employer",
        "employeur",
        True,
        ("employer", "employeur", "raison_sociale", "entreprise", "structure"),
        "Nom de l'employeur ou de la structure d'accueil.",
    ),
    Column("siret", "siret", False, ("siret",), "SIRET (14 chiffres, clé de Luhn ; La Poste : somme multiple de 5)."),
    Column("sector", "secteur", True, ("sector", "secteur", "secteur_d_activite"), "Secteur d'activité."),
    Column(
        "is_public",
        "public",
        False,
        ("public", "is_public", "employeur_public"),
        "Employeur public : oui / non (vide = non précisé).",
    ),
    Column("street", "adresse", False, ("address", "adresse", "rue", "street"), "Numéro et voie du lieu de stage."),
    Column(
        "postcode",
        "code_postal",
        True,
        ("postcode", "code_postal", "cp"),
        "Code postal (Normandie : 14, 27, 50, 61, 76).",
    ),
    Column("town", "commune", True, ("town", "commune", "ville"), "Commune (cohérente avec le code postal)."),
    Column(
        "capacity",
        "places",
        False,
        ("capacity", "capacite", "places", "nombre_de_places", "nb_places"),
        f"Nombre de places, entier de 1 à {validation.MAX_CAPACITY} (vide = inconnu).",
    ),
    Column(
        "start_date", "date_debut", False, ("start_date", "date_debut", "debut"), "Début : AAAA-MM-JJ ou JJ/MM/AAAA."
    ),
    Column("end_date", "date_fin", False, ("end_date", "date_fin", "fin"), "Fin (pas avant le début)."),
    Column(
        "weeks",
        "semaines",
        False,
        ("weeks", "semaines", "semaine"),
        "Semaines ISO, ex. « 25 », « S25-S26 », « 24, 26 ».",
    ),
    Column(
        "grades",
        "niveaux",
        True,
        ("grades", "niveaux", "niveau", "filiere", "classes"),
        "Niveaux accueillis : seconde, 3e ou seconde,3e.",
    ),
    Column(
        "disability_access",
        "accessible_handicap",
        False,
        ("disability_access", "accessible_handicap", "accessibilite_handicap", "handicap", "accessibilite"),
        "Accueil possible d'un élève en situation de handicap : oui / non.",
    ),
    Column(
        "lon", "longitude", False, ("lon", "longitude", "lng", "x"), "Longitude WGS84 (facultatif, avec la latitude)."
    ),
    Column("lat", "latitude", False, ("lat", "latitude", "y"), "Latitude WGS84 (facultatif, avec la longitude)."),
)

COLLECTIVE_TEMPLATE = (
    Column("project_id", "project_id", True, ("project_id", "identifiant", "id"), "Identifiant unique du projet."),
    Column("name", "name", True, ("name", "nom", "projet"), "Nom du projet."),
    Column("kind", "kind", True, ("kind", "type"), "Type : " + " | ".join(COLLECTIVE_KINDS) + "."),
    Column("kind_basis", "kind_basis", False, ("kind_basis",), "Sur quoi repose le type (facultatif)."),
    Column("town", "town", True, ("town", "commune", "ville"), "Commune du projet (nom)."),
    Column(
        "commune_code",
        "commune_code",
        True,
        ("commune_code", "code_commune", "code_insee", "insee"),
        "Code INSEE de la commune (COG 2025).",
    ),
    Column(
        "location_basis", "location_basis", False, ("location_basis",), "Sur quoi repose la localisation (facultatif)."
    ),
    Column("sectors", "sectors", False, ("sectors", "secteurs"), "Secteurs, séparés par « ; »."),
    Column(
        "pupils",
        "pupils",
        False,
        ("pupils", "eleves", "stagiaires"),
        "Nombre d'élèves accueillis (entier, vide = inconnu).",
    ),
    Column("period", "period", False, ("period", "periode", "dates"), "Période (texte)."),
    Column("status", "status", False, ("status", "statut"), "État du projet (texte)."),
    Column("source", "source", True, ("source",), "Document ou organisme d'origine."),
    Column("note", "note", False, ("note", "remarque"), "Remarque (facultatif)."),
)

MOBILITY_TEMPLATE = (
    Column(
        "service_id",
        "identifiant",
        False,
        ("service_id", "identifiant", "id"),
        "Identifiant unique (facultatif : sinon « <source>:<ligne> »).",
    ),
    Column(
        "epci_siren", "siren_epci", True, ("epci_siren", "siren_epci", "siren", "epci"), "SIREN de l'EPCI (9 chiffres)."
    ),
    Column(
        "service_type",
        "type_service",
        True,
        ("service_type", "type_service", "type"),
        "Type : " + " | ".join(MOBILITY_TYPES) + ".",
    ),
    Column("name", "nom", True, ("name", "nom", "service"), "Nom du service."),
    Column("description", "description", False, ("description",), "Description (à qui, où, quand)."),
    Column(
        "conditions",
        "conditions",
        False,
        ("conditions", "conditions_d_acces"),
        "Conditions d'accès pour un élève stagiaire (réservation, coût…).",
    ),
    Column("contact", "contact", False, ("contact", "url", "site", "telephone"), "Site web ou téléphone."),
    Column("source", "source", True, ("source",), "Organisme qui a transmis l'information."),
)

PLATFORM_REQUIRED = tuple(offers.PLATFORM_COLUMNS)


@functools.lru_cache(maxsize=1)
def _known_headers() -> frozenset[str]:
    """Normalised column names of every format (3 characters or more), to find the header row."""
    names = {
        _key(a)
        for spec in (OFFER_TEMPLATE, COLLECTIVE_TEMPLATE, MOBILITY_TEMPLATE)
        for c in spec
        for a in (c.header, *c.aliases)
    }
    names |= {_key(c) for c in offers.PLATFORM_COLUMNS}
    return frozenset(n for n in names if len(n) >= 3)


# --------------------------------------------------------------------------- templates

TEMPLATE_FILES = {
    "offers": ("offres_modele", OFFER_TEMPLATE, "Offres de stage (modèle générique)"),
    "collective": ("projets_collectifs_modele", COLLECTIVE_TEMPLATE, "Projets de stages collectifs"),
    "mobility": ("services_mobilite_epci_modele", MOBILITY_TEMPLATE, "Services de mobilité des EPCI"),
}


def write_templates(dest: str | os.PathLike) -> list[Path]:
    """Write the empty import templates (CSV ``;`` UTF-8 with BOM, and XLSX with a notice sheet).

    The templates hold only the header row: no example data is invented. The XLSX notice
    sheet lists each column, whether it is required, and what it must contain.
    """
    import openpyxl
    from openpyxl.styles import Font

    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    for stem, spec, title in TEMPLATE_FILES.values():
        csv_path = dest / f"{stem}.csv"
        with open(csv_path, "w", encoding="utf-8-sig", newline="") as fh:
            csv.writer(fh, delimiter=";", lineterminator="\r\n").writerow([c.header for c in spec])
        wb = openpyxl.Workbook()
        ws = wb.active
        ws.title = "donnees"
        ws.append([c.header for c in spec])
        for cell in ws[1]:
            cell.font = Font(bold=True)
        notice = wb.create_sheet("notice")
        notice.append([title])
        notice.append(
            [
                "Remplir la feuille « donnees » (une ligne par élément, sans ligne vide), "
                "ou le fichier CSV du même nom (séparateur ; ou , ; UTF-8 ou Windows-1252)."
            ]
        )
        notice.append([])
        notice.append(["colonne", "obligatoire", "contenu", "autres en-têtes acceptés"])
        for cell in notice[4]:
            cell.font = Font(bold=True)
        for c in spec:
            notice.append(
                [c.header, "oui" if c.required else "non", c.doc, ", ".join(a for a in c.aliases if a != c.header)]
            )
        notice.column_dimensions["A"].width = 22
        notice.column_dimensions["C"].width = 80
        xlsx_path = dest / f"{stem}.xlsx"
        wb.properties.creator = "Observatoire des stages — Normandie"
        wb.save(xlsx_path)
        written += [csv_path, xlsx_path]
    return written
