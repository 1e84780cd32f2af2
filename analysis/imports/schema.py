"""The tables, kinds and modes of the imports, and the result of one import.

Owns the import kinds, offer formats and modes, the DDL of the import tables
(:func:`create_tables`, documented in ``docs/schema.md``), the mobility service types and
:class:`ImportResult`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import pandas as pd

ProgressFn = Callable[[str, float | None], None]

IMPORT_KINDS = ("offers", "collective", "mobility")
OFFER_FORMATS = ("platform", "template")
OFFER_MODES = ("replace-source", "append", "replace-all")
OTHER_MODES = ("append", "replace-all")
#: Largest number of pupils of one collective project.
MAX_PROJECT_PUPILS = 2000
#: Field name used when a whole line is malformed.
LINE_FIELD = "(ligne)"

# --------------------------------------------------------------------------- schema

DDL = """
CREATE TABLE IF NOT EXISTS imports (
    import_id VARCHAR PRIMARY KEY, file VARCHAR, sha256 VARCHAR, kind VARCHAR, format VARCHAR,
    source VARCHAR, mode VARCHAR, rows_in INTEGER, accepted INTEGER, quarantined INTEGER,
    warnings INTEGER, user_name VARCHAR, imported_at TIMESTAMP, recomputed BOOLEAN, seconds DOUBLE
);
CREATE TABLE IF NOT EXISTS import_quarantine (
    import_id VARCHAR, file VARCHAR, row_number INTEGER, field VARCHAR, reason VARCHAR, raw VARCHAR,
    imported_at TIMESTAMP
);
CREATE TABLE IF NOT EXISTS import_warnings (
    import_id VARCHAR, file VARCHAR, row_number INTEGER, field VARCHAR, reason VARCHAR, imported_at TIMESTAMP
);
CREATE TABLE IF NOT EXISTS import_files (import_id VARCHAR PRIMARY KEY, file VARCHAR, content BLOB);
CREATE TABLE IF NOT EXISTS offer_details (
    offer_id VARCHAR, source VARCHAR, import_id VARCHAR, employer VARCHAR, start_date DATE, end_date DATE,
    weeks VARCHAR, disability_access BOOLEAN
);
CREATE TABLE IF NOT EXISTS mobility_services (
    service_id VARCHAR, epci_siren VARCHAR, epci_name VARCHAR, service_type VARCHAR, name VARCHAR,
    description VARCHAR, conditions VARCHAR, contact VARCHAR, source VARCHAR, import_id VARCHAR,
    imported_at TIMESTAMP
);
"""

#: Kinds of mobility services (code -> French label).
MOBILITY_TYPES = {
    "transport_a_la_demande": "Transport à la demande",
    "bus_scolaire": "Bus scolaire ouvert aux stagiaires",
    "pret_velo": "Prêt de vélos",
    "aide_mobilite": "Aide à la mobilité",
    "autre": "Autre service de mobilité",
}


def create_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the (empty) import tables if absent: the build may call it so that the app finds them."""
    con.execute(DDL)


# --------------------------------------------------------------------------- the import


@dataclass
class ImportResult:
    """What an import did (or, with ``dry_run``, would do)."""

    import_id: str
    kind: str
    file: str
    sha256: str
    format: str | None
    source: str | None
    mode: str
    rows_in: int
    accepted: int
    quarantined: int
    quarantine: pd.DataFrame
    warnings: pd.DataFrame
    dry_run: bool
    note: str | None = None
    encoding: str | None = None
    separator: str | None = None
    recomputed: bool = False
    seconds: float = 0.0

    def summary(self, n_reasons: int = 10) -> str:
        """French multi-line summary: counts and the first reasons."""
        head = "Simulation (rien n'est écrit)" if self.dry_run else "Import effectué"
        lines = [
            f"{head} : {self.file} ({self.kind}"
            + (f", format {self.format}" if self.format else "")
            + (f", source « {self.source} », mode {self.mode}" if self.source else f", mode {self.mode}")
            + ")",
            f"  lignes lues : {self.rows_in} ; acceptées : {self.accepted} ; en quarantaine : {self.quarantined}"
            + (f" ; avertissements : {len(self.warnings)}" if len(self.warnings) else ""),
        ]
        if self.note:
            lines.append(f"  remarque : {self.note}")
        if self.quarantined:
            lines.append("  premiers motifs de rejet :")
            for r in self.quarantine.head(n_reasons).itertuples(index=False):
                lines.append(f"    ligne {r.row_number}, champ « {r.field} » : {r.reason}")
        if len(self.warnings):
            lines.append("  premiers avertissements :")
            for r in self.warnings.head(min(n_reasons, 5)).itertuples(index=False):
                lines.append(f"    ligne {r.row_number}, champ « {r.field} » : {r.reason}")
        return "\n".join(lines)
