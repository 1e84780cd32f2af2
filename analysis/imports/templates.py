"""The expected columns of each import kind, and the empty templates offered for download.

Owns :class:`Column`, :data:`OFFER_TEMPLATE`, :data:`COLLECTIVE_TEMPLATE`,
:data:`MOBILITY_TEMPLATE`, :data:`PLATFORM_REQUIRED`, the header normalisation used to find the
header line, :data:`TEMPLATE_FILES` and :func:`write_templates` (CSV and XLSX).
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from pathlib import Path

from analysis.imports.schema import MOBILITY_TYPES
from analysis.sources import offers, validation
from analysis.sources.collective import KINDS as COLLECTIVE_KINDS
from analysis.text import strip_accents

# --------------------------------------------------------------------------- column specs


def header_key(name: str) -> str:
    """A column name as compared with the expected ones: accents dropped, lower case, runs of other
    characters as one ``_`` (« Code postal » and « code-postal » are both ``code_postal``)."""
    return re.sub(r"[^a-z0-9]+", "_", strip_accents(name).lower()).strip("_")


@dataclass(frozen=True)
class Column:
    """A template column.

    Parameters
    ----------
    key : str
        Canonical key (column of the loaded table).
    header : str
        French header written in the template.
    required : bool
        Whether a file must have the column.
    others : tuple of str
        Headers accepted besides the key and the template header.
    doc : str
        What the column must hold (XLSX notice).
    """

    key: str
    header: str
    required: bool
    others: tuple[str, ...]
    doc: str

    @property
    def aliases(self) -> tuple[str, ...]:
        """Every accepted header: the key, the template header, then :attr:`others`."""
        return tuple(dict.fromkeys((self.key, self.header, *self.others)))


OFFER_TEMPLATE = (
    Column(
        "offer_id",
        "identifiant",
        False,
        ("id", "reference"),
        "Identifiant de l'offre, unique (facultatif : sinon « <source>:<ligne> »).",
    ),
    Column(
        "employer",
        "employeur",
        True,
        ("raison_sociale", "entreprise", "structure"),
        "Nom de l'employeur ou de la structure d'accueil.",
    ),
    Column("siret", "siret", False, (), "SIRET (14 chiffres, clé de Luhn ; La Poste : somme multiple de 5)."),
    Column("sector", "secteur", True, ("secteur_d_activite",), "Secteur d'activité."),
    Column("is_public", "public", False, ("employeur_public",), "Employeur public : oui / non (vide = non précisé)."),
    Column("street", "adresse", False, ("address", "rue"), "Numéro et voie du lieu de stage."),
    Column("postcode", "code_postal", True, ("cp",), "Code postal (Normandie : 14, 27, 50, 61, 76)."),
    Column("town", "commune", True, ("ville",), "Commune (cohérente avec le code postal)."),
    Column(
        "capacity",
        "places",
        False,
        ("capacite", "nombre_de_places", "nb_places"),
        f"Nombre de places, entier de 1 à {validation.MAX_CAPACITY} (vide = inconnu).",
    ),
    Column("start_date", "date_debut", False, ("debut",), "Début : AAAA-MM-JJ ou JJ/MM/AAAA."),
    Column("end_date", "date_fin", False, ("fin",), "Fin (pas avant le début)."),
    Column("weeks", "semaines", False, ("semaine",), "Semaines ISO, ex. « 25 », « S25-S26 », « 24, 26 »."),
    Column(
        "grades", "niveaux", True, ("niveau", "filiere", "classes"), "Niveaux accueillis : seconde, 3e ou seconde,3e."
    ),
    Column(
        "disability_access",
        "accessible_handicap",
        False,
        ("accessibilite_handicap", "handicap", "accessibilite"),
        "Accueil possible d'un élève en situation de handicap : oui / non.",
    ),
    Column("lon", "longitude", False, ("lng", "x"), "Longitude WGS84 (facultatif, avec la latitude)."),
    Column("lat", "latitude", False, ("y",), "Latitude WGS84 (facultatif, avec la longitude)."),
)

COLLECTIVE_TEMPLATE = (
    Column("project_id", "project_id", True, ("identifiant", "id"), "Identifiant unique du projet."),
    Column("name", "name", True, ("nom", "projet"), "Nom du projet."),
    Column("kind", "kind", True, ("type",), "Type : " + " | ".join(COLLECTIVE_KINDS) + "."),
    Column("kind_basis", "kind_basis", False, (), "Sur quoi repose le type (facultatif)."),
    Column("town", "town", True, ("commune", "ville"), "Commune du projet (nom)."),
    Column(
        "commune_code",
        "commune_code",
        True,
        ("code_commune", "code_insee", "insee"),
        "Code INSEE de la commune (COG 2025).",
    ),
    Column("location_basis", "location_basis", False, (), "Sur quoi repose la localisation (facultatif)."),
    Column("sectors", "sectors", False, ("secteurs",), "Secteurs, séparés par « ; »."),
    Column("pupils", "pupils", False, ("eleves", "stagiaires"), "Nombre d'élèves accueillis (entier, vide = inconnu)."),
    Column("period", "period", False, ("periode", "dates"), "Période (texte)."),
    Column("status", "status", False, ("statut",), "État du projet (texte)."),
    Column("source", "source", True, (), "Document ou organisme d'origine."),
    Column("note", "note", False, ("remarque",), "Remarque (facultatif)."),
)

MOBILITY_TEMPLATE = (
    Column(
        "service_id", "identifiant", False, ("id",), "Identifiant unique (facultatif : sinon « <source>:<ligne> »)."
    ),
    Column("epci_siren", "siren_epci", True, ("siren", "epci"), "SIREN de l'EPCI (9 chiffres)."),
    Column("service_type", "type_service", True, ("type",), "Type : " + " | ".join(MOBILITY_TYPES) + "."),
    Column("name", "nom", True, ("service",), "Nom du service."),
    Column("description", "description", False, (), "Description (à qui, où, quand)."),
    Column(
        "conditions",
        "conditions",
        False,
        ("conditions_d_acces",),
        "Conditions d'accès pour un élève stagiaire (réservation, coût…).",
    ),
    Column("contact", "contact", False, ("url", "site", "telephone"), "Site web ou téléphone."),
    Column("source", "source", True, (), "Organisme qui a transmis l'information."),
)

PLATFORM_REQUIRED = tuple(offers.PLATFORM_COLUMNS)


@functools.lru_cache(maxsize=1)
def known_headers() -> frozenset[str]:
    """Normalised column names of every format (3 characters or more), to find the header row."""
    names = {
        header_key(a)
        for spec in (OFFER_TEMPLATE, COLLECTIVE_TEMPLATE, MOBILITY_TEMPLATE)
        for c in spec
        for a in (c.header, *c.aliases)
    }
    names |= {header_key(c) for c in offers.PLATFORM_COLUMNS}
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
    import pandas as pd
    from openpyxl.styles import Font

    from analysis.outputs import export  # the one writer of CSV and XLSX files

    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    for stem, spec, title in TEMPLATE_FILES.values():
        csv_path = dest / f"{stem}.csv"
        csv_path.write_bytes(export.csv_bytes(pd.DataFrame(columns=[c.header for c in spec])))
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
        xlsx_path.write_bytes(export.workbook_bytes(wb))
        written += [csv_path, xlsx_path]
    return written
