"""The tables, kinds and modes of the imports, and the result of one import.

Owns the import kinds, offer formats and modes, the DDL of the import tables
(:func:`create_tables`, documented in ``docs/schema.md``), the mobility service types and
:class:`ImportRequest` and :class:`ImportResult`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

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


@dataclass(frozen=True)
class ImportRequest:
    """What to import, into which database and how: all :func:`analysis.imports.import_file` needs
    but the administrator's secret (never part of a request, so never pickled for the bounded check
    nor shown in a ``repr``).

    Parameters
    ----------
    path : path-like or None
        The file (or give ``data`` and ``name``, e.g. from an upload).
    kind : {"offers", "collective", "mobility"}
    data : bytes, optional
        The file's content when it is not read from ``path`` (left out of the ``repr``).
    name : str, optional
        The file name recorded with ``data`` (default: the name of ``path``).
    db_path : path-like, optional
        Database (default :func:`analysis.config.default_db_path`).
    fmt : {"platform", "template"}, optional
        Offer format (detected from the header by default).
    mode : str, optional
        Offers: ``replace-source`` (default), ``append``, ``replace-all``; others: ``append``
        (default), ``replace-all``.
    source : str, optional
        Source name written in ``offers.source`` (default: ``offers_platform`` for the platform
        format, ``import:<file stem>`` otherwise).
    strict_siret : bool, optional
        Quarantine platform rows whose SIRET check digit is wrong (default: warning only).
    dry_run : bool
        Check only, write nothing (no secret needed).
    geocode : bool
        Ask the BAN geocoder for street-level positions (:mod:`analysis.sources.geocode`).
    geocoder_url : str, optional
        BAN service root.
    recompute : bool
        Recompute travel times and indicators after an offer import (always on in the CLI and
        the page). False leaves them stale (locations are renumbered): for measurements only.
    settings : BuildSettings, optional
        Settings of the recomputation (default: those of the last build, from ``build_info``).
    user : str, optional
        Name recorded in the import log.
    bounded : bool
        Check the file first in a child process bounded in memory and time
        (:func:`analysis.imports.sandbox.run_check`), wherever the import is started (page, command
        line, dry run or not): a hostile file is refused there, before the write lock is taken,
        and the real import (the same deterministic work on the same bytes) runs only after it.
        False only inside that child.
    """

    path: str | os.PathLike | None = None
    kind: str = "offers"
    data: bytes | None = field(default=None, repr=False)
    name: str | None = None
    db_path: str | os.PathLike | None = None
    fmt: str | None = None
    mode: str | None = None
    source: str | None = None
    strict_siret: bool | None = None
    dry_run: bool = False
    geocode: bool = False
    geocoder_url: str | None = None
    recompute: bool = True
    settings: Any = None
    user: str | None = None
    bounded: bool = True


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
