"""The app's pages: files, French titles, URL paths and icons (read by app.py's navigation and
by the Accueil page's « Aller plus loin » links)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: The Accueil page (default page, at "/"): file, French title and icon.
HOME: tuple[str, str, str] = ("pages/0_Accueil.py", "Accueil", ":material/home:")

#: Page files and their French titles / URL paths (pages absent from disk are skipped).
PAGES: list[tuple[str, str, str, str]] = [
    ("pages/1_Couverture.py", "Couverture", "couverture", ":material/map:"),
    ("pages/2_Mobilite_rurale.py", "Mobilité rurale", "mobilite_rurale", ":material/directions_bus:"),
    ("pages/3_Stages_collectifs.py", "Stages collectifs", "stages_collectifs", ":material/groups:"),
    ("pages/8_Planification.py", "Planification", "planification", ":material/event_note:"),
    ("pages/11_Scenarios.py", "Scénarios", "scenarios", ":material/alt_route:"),
    ("pages/4_Territoire.py", "Territoire", "territoire", ":material/location_on:"),
    ("pages/10_Eleves.py", "Élèves", "eleves", ":material/school:"),
    ("pages/5_Rapports.py", "Rapports", "rapports", ":material/description:"),
    ("pages/6_Import.py", "Import", "import", ":material/upload_file:"),
    ("pages/7_Donnees.py", "Données", "donnees", ":material/dataset:"),
    ("pages/9_Accessibilite.py", "Accessibilité", "accessibilite", ":material/accessibility_new:"),
]


def existing_pages() -> list[tuple[str, str, str, str]]:
    """The entries of :data:`PAGES` whose file is on disk."""
    return [p for p in PAGES if (ROOT / p[0]).exists()]
