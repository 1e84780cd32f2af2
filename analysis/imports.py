"""Importing new offers, collective projects and EPCI mobility services, safely.

An import reads a file (CSV in UTF-8 with or without BOM or Windows-1252, ``;``, ``,`` or tab
separated, or XLSX), checks every row, and writes:

- accepted rows to their table (``offers`` with ``source`` = the import's source name,
  ``collective_projects`` or ``mobility_services``);
- rejected rows to ``import_quarantine(import_id, file, row_number, field, reason, raw,
  imported_at)``, one row per rejected input row, naming the field and the reason;
- non-blocking remarks (e.g. a platform SIRET with a wrong check digit) to ``import_warnings``;
- one line to the ``imports`` log, and the file itself to ``import_files`` (so that a rebuild
  can replay it, see :func:`reapply_imports`).

Accounting identity, always: ``rows_in = accepted + quarantined``. ``row_number`` is the
1-based data record number (the header is not counted; blank lines are skipped).

Offer formats
    ``platform``: the national « 1 élève, 1 stage » export (columns ``id;SIRET;secteur;public;
    public_employer_type;Rue;Ville;Code postal;Filière``), checked exactly as the build does
    (:mod:`analysis.offers`), plus field lengths; a SIRET with a wrong check digit is only a
    warning there (the platform file carries school UAI codes in that column for some public
    hosts, and the offer itself is real). ``template``: the generic template of
    ``data/templates/`` (see ``docs/imports.md``); there the SIRET must be valid.

Modes (offers)
    ``replace-source`` (default): the offers whose ``source`` equals this import's source are
    replaced by the accepted rows (re-importing a newer export of the same origin);
    ``append``: accepted rows are added, an offer id already in the database is quarantined;
    ``replace-all``: every offer is replaced. Collective projects and mobility services accept
    ``append`` (default) and ``replace-all``.

Safety
    Writes need the administrator secret (:class:`AdminGate`: environment variable
    ``OBSERVATOIRE_ADMIN_SECRET`` or a secret passed by the app from Streamlit secrets, compared
    with :func:`hmac.compare_digest`, attempts slowed exponentially after failures). The live
    database is never modified in place: it is copied to a new file, the import and the
    recomputation of the derived tables (travel times, indicators) run there, and the new file
    replaces the old one with :func:`os.replace`. Open readers keep their snapshot and see the
    new data at their next :meth:`analysis.db.ReaderCache.get`.

Command line::

    python -m analysis.imports offers PATH [--format platform|template] [--mode ...] [--dry-run]
    python -m analysis.imports collective PATH [--dry-run]
    python -m analysis.imports mobility PATH [--dry-run]
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as dt
import functools
import hashlib
import hmac
import io
import json
import os
import re
import sys
import threading
import time
import uuid
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from analysis import db, limits, offers, sanitize, validation
from analysis.collective import KINDS as COLLECTIVE_KINDS
from analysis.config import NORMANDIE_BBOX, BuildSettings, default_db_path
from analysis.db import database_copy, has_relation
from analysis.errors import DataError
from analysis.readers import sniff_separator as _sniff_sep
from analysis.text import strip_accents
from analysis.validation import FieldError

ProgressFn = Callable[[str, float | None], None]

ENV_SECRET = "OBSERVATOIRE_ADMIN_SECRET"
HOW_TO_ENABLE = (
    "Écriture désactivée : aucun secret administrateur n'est configuré. Pour l'activer, écrivez la clé "
    f"{ENV_SECRET} (au moins 12 caractères) dans .streamlit/secrets.toml (application et ligne de "
    f"commande) ou définissez la variable d'environnement {ENV_SECRET} du serveur (application "
    "seulement), puis relancez. En ligne de commande, cette variable porte le secret que vous donnez."
)

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


# --------------------------------------------------------------------------- admin secret


class WriteDisabled(PermissionError):
    """No administrator secret is configured: writing is disabled."""


class AuthError(PermissionError):
    """The administrator secret given is wrong."""


#: Shortest administrator secret accepted (a shorter or blank configured value disables writing).
MIN_SECRET_CHARS = 12
#: Environment variable naming another secrets file (default: ``.streamlit/secrets.toml``).
ENV_SECRETS_FILE = "OBSERVATOIRE_SECRETS_FILE"


def secrets_file() -> Path:
    """The project's secrets file (``.streamlit/secrets.toml``, or ``$OBSERVATOIRE_SECRETS_FILE``)."""
    from analysis.config import PROJECT_ROOT

    other = os.environ.get(ENV_SECRETS_FILE)
    return Path(other) if other else PROJECT_ROOT / ".streamlit" / "secrets.toml"


def _file_secret() -> str | None:
    import tomllib

    path = secrets_file()
    try:
        with open(path, "rb") as fh:
            value = tomllib.load(fh).get(ENV_SECRET)
    except FileNotFoundError:
        return None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise WriteDisabled(f"Écriture désactivée : fichier de secrets illisible ({path.name} : {exc}).") from exc
    return None if value is None else str(value)


def configured_secret(secrets: Mapping[str, Any] | None = None, *, environment: bool = True) -> str | None:
    """The administrator secret — the one source of truth, in this order:

    1. ``secrets[ENV_SECRET]``: the Streamlit secrets given by the app (``.streamlit/secrets.toml``);
    2. the key ``OBSERVATOIRE_ADMIN_SECRET`` of the secrets file :func:`secrets_file`, read here;
    3. only when ``environment`` (the app, whose environment is the operator's): the environment
       variable ``OBSERVATOIRE_ADMIN_SECRET``. The command line passes ``environment=False``:
       there, that variable is what the user *gives*, never what it is compared with.

    Returns None (writing disabled) when none is set.

    Raises
    ------
    WriteDisabled
        The configured value is blank or shorter than :data:`MIN_SECRET_CHARS`.
    """
    value = None
    if secrets is not None:
        with contextlib.suppress(Exception):
            value = secrets.get(ENV_SECRET)
    if value is None:
        value = _file_secret()
    if value is None and environment:
        value = os.environ.get(ENV_SECRET)
    if value is None:
        return None
    value = str(value)
    if len(value.strip()) < MIN_SECRET_CHARS:
        raise WriteDisabled(
            f"Écriture désactivée : le secret administrateur configuré est vide ou trop court "
            f"(au moins {MIN_SECRET_CHARS} caractères)."
        )
    return value


class AdminGate:
    """Check the administrator secret in constant time, slowing and locking out per client.

    Failures are counted per key: the client (its IP address in the app, see
    ``ui.core.client_key``; ``"process"`` for the command line). After ``n`` consecutive
    failures, that client's next attempt first waits ``min(base_delay * 2 ** (n - 1),
    max_delay)`` seconds; after ``lockout_after`` failures it is refused outright for
    ``lockout_seconds``. Other clients — the administrator — are never slowed by someone
    else's attempts. At most ``max_clients`` keys are remembered (the oldest are forgotten).

    Parameters
    ----------
    base_delay, max_delay, lockout_seconds : float
        Seconds.
    lockout_after : int
        Failures before the lock-out.
    sleep, clock : callable
        ``time.sleep`` and ``time.monotonic`` (replaceable in tests).
    """

    def __init__(self, base_delay: float = 1.0, max_delay: float = 60.0, sleep: Callable[[float], None] = time.sleep,
                 lockout_after: int = 10, lockout_seconds: float = 900.0,
                 clock: Callable[[], float] = time.monotonic, max_clients: int = 10_000):
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.sleep = sleep
        self.lockout_after = lockout_after
        self.lockout_seconds = lockout_seconds
        self.clock = clock
        self.max_clients = max_clients
        self._failures: dict[str, int] = {}
        self._locked_until: dict[str, float] = {}
        self._lock = threading.Lock()

    def delay_for(self, key: str = "process") -> float:
        """Seconds the next attempt for ``key`` will wait."""
        n = self._failures.get(key, 0)
        return 0.0 if n == 0 else min(self.base_delay * 2 ** (n - 1), self.max_delay)

    def locked_for(self, key: str = "process") -> float:
        """Seconds left in ``key``'s lock-out (0 when not locked out)."""
        until = self._locked_until.get(key)
        return max(0.0, until - self.clock()) if until is not None else 0.0

    def check(self, provided: str | None, secrets: Mapping[str, Any] | None = None, key: str = "process",
              *, environment: bool = True) -> None:
        """Raise unless ``provided`` is the configured secret (:func:`configured_secret`).

        Raises
        ------
        WriteDisabled
            No secret configured (or a blank / too short one).
        AuthError
            Wrong or missing secret (counted for ``key``), or ``key`` locked out.
        """
        expected = configured_secret(secrets, environment=environment)
        if expected is None:
            raise WriteDisabled(HOW_TO_ENABLE)
        left = self.locked_for(key)
        if left:
            raise AuthError(f"Trop de tentatives incorrectes depuis ce poste : import refusé pendant encore "
                            f"{left / 60:.0f} min.")
        wait = self.delay_for(key)
        if wait:
            self.sleep(wait)
        given = provided if isinstance(provided, str) else ""
        ok = hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8")) and bool(given)
        with self._lock:
            if ok:
                self._failures.pop(key, None)
                self._locked_until.pop(key, None)
                return
            n = self._failures.pop(key, 0) + 1
            self._failures[key] = n  # re-inserted: the dict keeps the most recent keys last
            while len(self._failures) > self.max_clients:
                self._failures.pop(next(iter(self._failures)))
            if n >= self.lockout_after:
                self._locked_until[key] = self.clock() + self.lockout_seconds
                raise AuthError(f"Secret administrateur incorrect : {n} échecs, imports refusés depuis ce poste "
                                f"pendant {self.lockout_seconds / 60:.0f} min.")
            raise AuthError(
                "Secret administrateur incorrect : import refusé "
                f"(prochaine tentative ralentie de {self.delay_for(key):.0f} s)."
            )


#: The process-wide gate used by :func:`import_file` unless another is given.
GATE = AdminGate()

# --------------------------------------------------------------------------- reading files


@dataclass
class RawTable:
    """The records of an input file, as strings.

    Attributes
    ----------
    columns : list of str
        Header, stripped.
    rows : list of (row_number, list of str)
        Well-formed data records (as many fields as the header; empty extra fields dropped).
    bad : list of (row_number, reason, raw)
        Malformed records (wrong number of fields, unreadable line).
    encoding, sep : str
        What was detected (``sep`` is ``"xlsx"`` for spreadsheets).
    note : str or None
        A remark about the whole file (empty file...).
    """

    columns: list[str]
    rows: list[tuple[int, list[str]]]
    bad: list[tuple[int, str, str]]
    encoding: str
    sep: str
    note: str | None = None

    @property
    def rows_in(self) -> int:
        return len(self.rows) + len(self.bad)


def decode(data: bytes) -> tuple[str, str]:
    """Decode file bytes: UTF-16 with its BOM (Excel's « Texte Unicode »), UTF-8 (BOM or not),
    else Windows-1252, else Latin-1 (never fails)."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            pass
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    try:
        return body.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return body.decode("latin-1"), "latin-1"


def read_table(data: bytes, name: str = "fichier") -> RawTable:
    """Read CSV or XLSX bytes into a :class:`RawTable` without ever failing on a bad row.

    Raises
    ------
    DataError
        The file-level refusals (nothing is read, nothing written): a spreadsheet (``.xlsx``
        name, or a zip archive) that cannot be opened at all, or a file beyond the limits of
        :mod:`analysis.limits` (size, rows, columns, decompressed size), most of them checked
        before parsing.
    """
    limits.check_size(data, name)
    if name.lower().endswith((".xlsx", ".xlsm")) or (
        data[:4] == b"PK\x03\x04" and zipfile.is_zipfile(io.BytesIO(data))
    ):
        limits.check_xlsx(data, name)
        return _read_xlsx(data, name)
    limits.check_csv(data, name)
    text, encoding = decode(data)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        return RawTable([], [], [], encoding, ";", note="fichier vide")
    first = next((ln for ln in text.split("\n") if ln.strip()), "")
    sep = _sniff_sep(first)
    csv.field_size_limit(limits.MAX_CSV_FIELD)
    reader = csv.reader(io.StringIO(text), delimiter=sep, strict=False)
    records: list[list[str] | str] = []
    while True:
        try:
            rec = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:  # a field longer than limits.MAX_CSV_FIELD
            records.append(f"ligne illisible : {exc}")
            continue
        if not rec or all(not f.strip() for f in rec) and len(rec) <= 1:
            continue  # blank line
        _check_record(records, rec, name)
        records.append(rec)
    return _assemble(records, encoding, sep)


def _check_record(records: list, rec: list, name: str) -> None:
    """Stop reading a file with too many rows or a row with too many cells (limits)."""
    if len(records) > limits.MAX_ROWS + MAX_PREAMBLE:
        raise DataError(name, f"trop de lignes : plus de {limits.MAX_ROWS} lignes de données")
    if len(rec) > limits.MAX_COLUMNS:
        raise DataError(name, f"trop de colonnes : {len(rec)} (maximum {limits.MAX_COLUMNS})",
                        row=len(records))


#: How many records may precede the header (a title line above the table).
MAX_PREAMBLE = 10


def _header_score(rec) -> int:
    if not isinstance(rec, list):
        return 0
    known = _known_headers()
    return sum(1 for c in rec if _key(c) in known)


def _assemble(records: list, encoding: str, sep: str, pad: bool = False) -> RawTable:
    """Split non-blank records into header and data rows.

    The header is the first record, unless it has fewer than two known column names and one
    of the next :data:`MAX_PREAMBLE` records has two or more (a title line above the table):
    the records before it are then skipped and counted in the note. ``pad``: short records
    are completed with empty cells (spreadsheet rows lose their trailing empty cells).
    """
    h = 0
    if records and _header_score(records[0]) < 2:
        for i, rec in enumerate(records[1:MAX_PREAMBLE + 1], start=1):
            if _header_score(rec) >= 2:
                h = i
                break
    notes = []
    if h:
        notes.append(f"{h} ligne(s) avant l'en-tête ignorée(s)")
    header = records[h] if records and isinstance(records[h], list) else []
    # an unnamed column is named by its position, so that every message can name its field
    columns = [c.strip() or f"colonne {i}" for i, c in enumerate(header, start=1)]
    rows: list[tuple[int, list[str]]] = []
    bad: list[tuple[int, str, str]] = []
    for n, rec in enumerate(records[h + 1:], start=1):
        if isinstance(rec, str):
            bad.append((n, rec, ""))
        else:
            if pad and len(rec) < len(columns):
                rec = rec + [""] * (len(columns) - len(rec))
            _add_record(rec, columns, n, rows, bad)
    if not rows and not bad:
        notes.append("aucune ligne de données")
    return RawTable(columns, rows, bad, encoding, sep, note=" ; ".join(notes) or None)


def _add_record(rec: list[str], columns: list[str], n: int, rows: list, bad: list) -> None:
    k = len(columns)
    if len(rec) > k and not any(f.strip() for f in rec[k:]):
        rec = rec[:k]
    if len(rec) != k:
        what = "incomplète" if len(rec) < k else "trop longue"
        bad.append((n, f"ligne {what} : {len(rec)} champ(s) au lieu de {k}", json.dumps(rec, ensure_ascii=False)))
    else:
        rows.append((n, rec))


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, dt.datetime):
        return v.date().isoformat() if v.time() == dt.time(0) else v.isoformat(sep=" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _read_xlsx(data: bytes, name: str) -> RawTable:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as exc:
        raise DataError(name, f"classeur XLSX illisible : {exc}") from exc
    try:
        # the data sheet: the first one that is not the "notice" of the templates
        sheets = [ws for ws in wb.worksheets if strip_accents(ws.title).lower() not in {"notice", "lisez-moi", "aide"}]
        ws = (sheets or wb.worksheets)[0]
        ws.reset_dimensions()  # the declared dimensions may lie: read the cells that exist
        records = []
        # cells beyond the limit + 1 are not built (a lone cell in column XFD would pad every row)
        for values in ws.iter_rows(values_only=True, max_col=limits.MAX_COLUMNS + 1):
            rec = [_cell(v) for v in values]
            while rec and rec[-1] == "":
                rec.pop()
            if any(c.strip() for c in rec):
                _check_record(records, rec, name)
                records.append(rec)
    finally:
        wb.close()
    return _assemble(records, "xlsx", "xlsx", pad=True)


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
    Column("offer_id", "identifiant", False, ("id", "offer_id", "identifiant", "reference"),
           "Identifiant de l'offre, unique (facultatif : sinon « <source>:<ligne> »)."),
    Column("employer", "employeur", True, ("employer", "employeur", "raison_sociale", "entreprise", "structure"),
           "Nom de l'employeur ou de la structure d'accueil."),
    Column("siret", "siret", False, ("siret",), "SIRET (14 chiffres, clé de Luhn ; La Poste : somme multiple de 5)."),
    Column("sector", "secteur", True, ("sector", "secteur", "secteur_d_activite"), "Secteur d'activité."),
    Column("is_public", "public", False, ("public", "is_public", "employeur_public"),
           "Employeur public : oui / non (vide = non précisé)."),
    Column("street", "adresse", False, ("address", "adresse", "rue", "street"), "Numéro et voie du lieu de stage."),
    Column("postcode", "code_postal", True, ("postcode", "code_postal", "cp"), "Code postal (Normandie : 14, 27, 50, 61, 76)."),
    Column("town", "commune", True, ("town", "commune", "ville"), "Commune (cohérente avec le code postal)."),
    Column("capacity", "places", False, ("capacity", "capacite", "places", "nombre_de_places", "nb_places"),
           f"Nombre de places, entier de 1 à {validation.MAX_CAPACITY} (vide = inconnu)."),
    Column("start_date", "date_debut", False, ("start_date", "date_debut", "debut"), "Début : AAAA-MM-JJ ou JJ/MM/AAAA."),
    Column("end_date", "date_fin", False, ("end_date", "date_fin", "fin"), "Fin (pas avant le début)."),
    Column("weeks", "semaines", False, ("weeks", "semaines", "semaine"), "Semaines ISO, ex. « 25 », « S25-S26 », « 24, 26 »."),
    Column("grades", "niveaux", True, ("grades", "niveaux", "niveau", "filiere", "classes"),
           "Niveaux accueillis : seconde, 3e ou seconde,3e."),
    Column("disability_access", "accessible_handicap", False,
           ("disability_access", "accessible_handicap", "accessibilite_handicap", "handicap", "accessibilite"),
           "Accueil possible d'un élève en situation de handicap : oui / non."),
    Column("lon", "longitude", False, ("lon", "longitude", "lng", "x"), "Longitude WGS84 (facultatif, avec la latitude)."),
    Column("lat", "latitude", False, ("lat", "latitude", "y"), "Latitude WGS84 (facultatif, avec la longitude)."),
)

COLLECTIVE_TEMPLATE = (
    Column("project_id", "project_id", True, ("project_id", "identifiant", "id"), "Identifiant unique du projet."),
    Column("name", "name", True, ("name", "nom", "projet"), "Nom du projet."),
    Column("kind", "kind", True, ("kind", "type"), "Type : " + " | ".join(COLLECTIVE_KINDS) + "."),
    Column("kind_basis", "kind_basis", False, ("kind_basis",), "Sur quoi repose le type (facultatif)."),
    Column("town", "town", True, ("town", "commune", "ville"), "Commune du projet (nom)."),
    Column("commune_code", "commune_code", True, ("commune_code", "code_commune", "code_insee", "insee"),
           "Code INSEE de la commune (COG 2025)."),
    Column("location_basis", "location_basis", False, ("location_basis",), "Sur quoi repose la localisation (facultatif)."),
    Column("sectors", "sectors", False, ("sectors", "secteurs"), "Secteurs, séparés par « ; »."),
    Column("pupils", "pupils", False, ("pupils", "eleves", "stagiaires"), "Nombre d'élèves accueillis (entier, vide = inconnu)."),
    Column("period", "period", False, ("period", "periode", "dates"), "Période (texte)."),
    Column("status", "status", False, ("status", "statut"), "État du projet (texte)."),
    Column("source", "source", True, ("source",), "Document ou organisme d'origine."),
    Column("note", "note", False, ("note", "remarque"), "Remarque (facultatif)."),
)

MOBILITY_TEMPLATE = (
    Column("service_id", "identifiant", False, ("service_id", "identifiant", "id"),
           "Identifiant unique (facultatif : sinon « <source>:<ligne> »)."),
    Column("epci_siren", "siren_epci", True, ("epci_siren", "siren_epci", "siren", "epci"), "SIREN de l'EPCI (9 chiffres)."),
    Column("service_type", "type_service", True, ("service_type", "type_service", "type"),
           "Type : " + " | ".join(MOBILITY_TYPES) + "."),
    Column("name", "nom", True, ("name", "nom", "service"), "Nom du service."),
    Column("description", "description", False, ("description",), "Description (à qui, où, quand)."),
    Column("conditions", "conditions", False, ("conditions", "conditions_d_acces"),
           "Conditions d'accès pour un élève stagiaire (réservation, coût…)."),
    Column("contact", "contact", False, ("contact", "url", "site", "telephone"), "Site web ou téléphone."),
    Column("source", "source", True, ("source",), "Organisme qui a transmis l'information."),
)

PLATFORM_REQUIRED = tuple(offers.PLATFORM_COLUMNS)


@functools.lru_cache(maxsize=1)
def _known_headers() -> frozenset[str]:
    """Normalised column names of every format (3 characters or more), to find the header row."""
    names = {_key(a) for spec in (OFFER_TEMPLATE, COLLECTIVE_TEMPLATE, MOBILITY_TEMPLATE) for c in spec
             for a in (c.header, *c.aliases)}
    names |= {_key(c) for c in offers.PLATFORM_COLUMNS}
    return frozenset(n for n in names if len(n) >= 3)


def map_columns(raw: RawTable, spec: tuple[Column, ...]) -> tuple[dict[str, int], list[str]]:
    """Map template keys to column positions (aliases, case and accents ignored); list missing required keys."""
    pos: dict[str, int] = {}
    by_alias = {a: c.key for c in spec for a in c.aliases}
    for i, name in enumerate(raw.columns):
        k = by_alias.get(_key(name))
        if k is not None and k not in pos:
            pos[k] = i
    missing = [c.header for c in spec if c.required and c.key not in pos]
    return pos, missing


def detect_offer_format(raw: RawTable) -> str:
    """``platform`` when the header has the platform's columns, else ``template``."""
    cols = set(raw.columns)
    return "platform" if {"id", "Code postal", "Filière", "Ville"} <= cols else "template"


# --------------------------------------------------------------------------- row validation


@dataclass
class Checked:
    """The outcome of checking a file: accepted rows, quarantine rows and warnings."""

    accepted: pd.DataFrame
    quarantine: list[tuple[int, str, str, str]] = field(default_factory=list)  # row, field, reason, raw
    warnings: list[tuple[int, str, str]] = field(default_factory=list)  # row, field, reason


def _raw_json(columns: list[str], rec: list[str]) -> str:
    return json.dumps(dict(zip(columns, rec)), ensure_ascii=False)


def _start(raw: RawTable) -> Checked:
    ch = Checked(pd.DataFrame())
    for n, reason, rawtext in raw.bad:
        ch.quarantine.append((n, LINE_FIELD, reason, rawtext))
    return ch


def _reject_all_missing(raw: RawTable, ch: Checked, missing: list[str]) -> Checked:
    reason = f"colonne obligatoire absente du fichier : {', '.join(missing)} (colonnes lues : {', '.join(raw.columns)})"
    for n, rec in raw.rows:
        ch.quarantine.append((n, missing[0], reason, _raw_json(raw.columns, rec)))
    return ch


def check_platform(raw: RawTable, source: str, strict_siret: bool = False) -> Checked:
    """Check platform-export records like :func:`analysis.offers.parse_platform` (plus lengths, SIRET).

    Returns
    -------
    Checked
        ``accepted`` has :data:`analysis.offers.OFFER_COLUMNS` plus ``raw``.
    """
    ch = _start(raw)
    missing = [c for c in PLATFORM_REQUIRED if c not in raw.columns]
    if missing:
        return _reject_all_missing(raw, ch, missing)
    idx = {c: raw.columns.index(c) for c in raw.columns[::-1]}
    pet = idx.get("public_employer_type")
    out: list[dict] = []
    seen: set[str] = set()
    for n, rec in raw.rows:
        g = lambda c, rec=rec: rec[idx[c]]  # noqa: E731
        rawtext = _raw_json(raw.columns, rec)
        try:
            for c, v in zip(raw.columns, rec):
                try:
                    validation.check_text(v)
                except FieldError as exc:
                    raise _Reject(c, str(exc)) from None
            oid, pc, town = g("id").strip(), g("Code postal").strip(), g("Ville").strip()
            if not oid:
                raise _Reject("id", "identifiant d'offre manquant")
            if not pc.isdigit() or len(pc) != 5:
                raise _Reject("Code postal", f"code postal invalide « {pc} »")
            try:
                validation.clean_postcode(pc)
            except FieldError as exc:
                raise _Reject("Code postal", str(exc)) from None
            if not town:
                raise _Reject("Ville", "ville manquante")
            grades = offers.GRADES.get(g("Filière").strip())
            if grades is None:
                raise _Reject("Filière", f"filière inconnue « {g('Filière')} »")
            pub = g("public").strip().lower()
            is_public = offers.BOOLEANS.get(pub)
            if is_public is None and pub:
                raise _Reject("public", f"booléen attendu (VRAI/FAUX), trouvé « {g('public')} »")
            if oid in seen:
                raise _Reject("id", f"identifiant d'offre en double « {oid} »")
            siret = re.sub(r"\s", "", g("SIRET")) or None
            if siret is not None:
                try:
                    validation.clean_siret(siret)
                except FieldError as exc:
                    if strict_siret:
                        raise _Reject("SIRET", str(exc)) from None
                    ch.warnings.append((n, "SIRET", str(exc) + " (offre gardée, SIRET conservé tel quel)"))
        except _Reject as rej:
            ch.quarantine.append((n, rej.field, rej.reason, rawtext))
            continue
        seen.add(oid)
        out.append(
            {
                "offer_id": oid, "siret": siret, "sector": g("secteur").strip() or None,
                "is_public": is_public,
                "public_employer_type": (rec[pet].strip() or None) if pet is not None else None,
                "street": g("Rue").strip() or None, "town": town, "postcode": pc, "grades": grades,
                "capacity": pd.NA, "source": source, "source_row": n, "raw": rawtext,
            }
        )
    ch.accepted = _offer_frame(out)
    return ch


class _Reject(Exception):
    def __init__(self, field_name: str, reason: str):
        super().__init__(reason)
        self.field = field_name
        self.reason = reason


def _offer_frame(rows: list[dict], extra: tuple[str, ...] = ()) -> pd.DataFrame:
    cols = offers.OFFER_COLUMNS + ["raw", *extra]
    df = pd.DataFrame(rows, columns=cols)
    df["capacity"] = pd.array(df["capacity"].tolist(), dtype="Int64")
    df["source_row"] = df["source_row"].astype("int64")
    df["is_public"] = df["is_public"].astype("boolean")
    return df


def check_offer_template(raw: RawTable, source: str, bbox=NORMANDIE_BBOX) -> Checked:
    """Check generic-template offer records (see :data:`OFFER_TEMPLATE`)."""
    ch = _start(raw)
    pos, missing = map_columns(raw, OFFER_TEMPLATE)
    if missing:
        return _reject_all_missing(raw, ch, missing)
    header = {c.key: raw.columns[pos[c.key]] if c.key in pos else c.header for c in OFFER_TEMPLATE}
    out: list[dict] = []
    seen: set[str] = set()
    for n, rec in raw.rows:
        g = lambda k, rec=rec: rec[pos[k]] if k in pos else ""  # noqa: E731
        rawtext = _raw_json(raw.columns, rec)
        key = None
        try:
            for c, v in zip(raw.columns, rec):
                key = c
                validation.check_text(v)
            key = "offer_id"
            oid = g("offer_id").strip() or f"{source}:{n}"
            if oid in seen:
                raise FieldError(f"identifiant d'offre en double « {oid} »")
            key = "employer"
            employer = validation.clean_required(g("employer"), "employeur")
            key = "siret"
            siret = validation.clean_siret(g("siret"))
            key = "sector"
            sector = validation.clean_required(g("sector"), "secteur")
            key = "is_public"
            is_public = validation.clean_bool(g("is_public"))
            key = "postcode"
            pc = validation.clean_postcode(g("postcode"))
            key = "town"
            town = validation.clean_required(g("town"), "commune")
            key = "grades"
            grades = validation.clean_grades(g("grades"))
            key = "capacity"
            capacity = validation.clean_capacity(g("capacity"))
            key = "start_date"
            start = validation.clean_date(g("start_date"))
            key = "end_date"
            end = validation.clean_date(g("end_date"))
            validation.check_period(start, end)
            key = "weeks"
            weeks = validation.clean_weeks(g("weeks"))
            key = "disability_access"
            disability = validation.clean_bool(g("disability_access"))
            key = "lon"
            lonlat = validation.clean_lonlat(g("lon"), g("lat"), bbox)
        except FieldError as exc:
            ch.quarantine.append((n, header.get(key, key), str(exc), rawtext))
            continue
        seen.add(oid)
        out.append(
            {
                "offer_id": oid, "siret": siret, "sector": sector, "is_public": is_public,
                "public_employer_type": None, "street": validation.clean_text(g("street")), "town": town,
                "postcode": pc, "grades": grades, "capacity": capacity if capacity is not None else pd.NA,
                "source": source, "source_row": n, "raw": rawtext, "employer": employer, "start_date": start,
                "end_date": end, "weeks": weeks, "disability_access": disability,
                "given_lon": lonlat[0] if lonlat else None, "given_lat": lonlat[1] if lonlat else None,
            }
        )
    ch.accepted = _offer_frame(
        out, ("employer", "start_date", "end_date", "weeks", "disability_access", "given_lon", "given_lat")
    )
    return ch


def _check_generic(raw: RawTable, spec: tuple[Column, ...], row_fn) -> Checked:
    ch = _start(raw)
    pos, missing = map_columns(raw, spec)
    if missing:
        return _reject_all_missing(raw, ch, missing)
    header = {c.key: raw.columns[pos[c.key]] if c.key in pos else c.header for c in spec}
    out = []
    for n, rec in raw.rows:
        vals = {c.key: (rec[pos[c.key]] if c.key in pos else "") for c in spec}
        rawtext = _raw_json(raw.columns, rec)
        state = {"key": None}
        try:
            for c, v in zip(raw.columns, rec):
                state["key"] = c
                validation.check_text(v)
            out.append({**row_fn(n, vals, state), "source_row": n, "raw": rawtext})
        except FieldError as exc:
            ch.quarantine.append((n, header.get(state["key"], state["key"]), str(exc), rawtext))
    ch.accepted = pd.DataFrame(out)
    return ch


def check_collective(raw: RawTable) -> Checked:
    """Check collective-project records (format of ``data/collective_projects.csv``)."""
    seen: set[str] = set()

    def row(n, v, st):
        st["key"] = "project_id"
        pid = validation.clean_required(v["project_id"], "identifiant de projet")
        if pid in seen:
            raise FieldError(f"identifiant de projet en double « {pid} »")
        st["key"] = "name"
        name = validation.clean_required(v["name"], "nom")
        st["key"] = "kind"
        kind = v["kind"].strip()
        if kind not in COLLECTIVE_KINDS:
            raise FieldError(f"type « {validation._short(kind)} » inconnu (attendu : {' | '.join(COLLECTIVE_KINDS)})")
        st["key"] = "town"
        town = validation.clean_required(v["town"], "commune")
        st["key"] = "commune_code"
        code = v["commune_code"].strip()
        if not re.fullmatch(r"\d[\dAB]\d{3}", code):
            raise FieldError(f"code commune INSEE invalide « {validation._short(code)} »")
        st["key"] = "pupils"
        pupils = None
        if v["pupils"].strip():
            p = v["pupils"].strip()
            if not re.fullmatch(r"[0-9]{1,4}", p) or not 1 <= int(p) <= MAX_PROJECT_PUPILS:
                raise FieldError(f"nombre d'élèves entier de 1 à {MAX_PROJECT_PUPILS} attendu, "
                                 f"trouvé « {validation._short(v['pupils'])} »")
            pupils = int(p)
        st["key"] = "source"
        src = validation.clean_required(v["source"], "source")
        seen.add(pid)
        return {"project_id": pid, "name": name, "kind": kind, "kind_basis": v["kind_basis"].strip(), "town": town,
                "commune_code": code, "location_basis": v["location_basis"].strip(), "sectors": v["sectors"].strip(),
                "pupils": pupils, "period": v["period"].strip(), "status": v["status"].strip(), "source": src,
                "note": v["note"].strip()}

    return _check_generic(raw, COLLECTIVE_TEMPLATE, row)


def check_mobility(raw: RawTable, source: str) -> Checked:
    """Check EPCI mobility-service records (see :data:`MOBILITY_TEMPLATE`)."""
    seen: set[str] = set()
    by_label = {_key(lbl): code for code, lbl in MOBILITY_TYPES.items()} | {_key(c): c for c in MOBILITY_TYPES}

    def row(n, v, st):
        st["key"] = "service_id"
        sid = v["service_id"].strip() or f"{source}:{n}"
        if sid in seen:
            raise FieldError(f"identifiant de service en double « {sid} »")
        st["key"] = "epci_siren"
        siren = validation.clean_siren(v["epci_siren"])
        st["key"] = "service_type"
        stype = by_label.get(_key(v["service_type"]))
        if stype is None:
            raise FieldError(f"type de service inconnu « {validation._short(v['service_type'])} » "
                             f"(attendu : {' | '.join(MOBILITY_TYPES)})")
        st["key"] = "name"
        name = validation.clean_required(v["name"], "nom du service")
        st["key"] = "source"
        src = validation.clean_required(v["source"], "source")
        seen.add(sid)
        return {"service_id": sid, "epci_siren": siren, "service_type": stype, "name": name,
                "description": validation.clean_text(v["description"]),
                "conditions": validation.clean_text(v["conditions"]),
                "contact": validation.clean_text(v["contact"]), "source": src}

    return _check_generic(raw, MOBILITY_TEMPLATE, row)


# --------------------------------------------------------------------------- database-dependent checks


def _move_to_quarantine(ch: Checked, mask: pd.Series, field_of, reason_of) -> None:
    """Move accepted rows selected by ``mask`` to the quarantine."""
    if not mask.any():
        return
    bad = ch.accepted[mask]
    for _, r in bad.iterrows():
        ch.quarantine.append((int(r["source_row"]), field_of(r), reason_of(r), r["raw"]))
    ch.accepted = ch.accepted[~mask].reset_index(drop=True)


def locate_offers(con: duckdb.DuckDBPyConnection, ch: Checked, fmt: str, source: str, mode: str,
                  bbox=NORMANDIE_BBOX) -> pd.DataFrame:
    """Place accepted offers in their COG 2025 commune and apply the database-dependent checks.

    Town / postcode consistency (:func:`analysis.offers.locate`), given coordinates near the
    commune, offer ids already in the database (other sources in ``replace-source`` mode, any
    source in ``append`` mode). Rows failing move from ``ch.accepted`` to ``ch.quarantine``.

    Returns
    -------
    pandas.DataFrame
        The located offers (columns of :func:`analysis.offers.locate`).
    """
    if ch.accepted.empty:
        ch.accepted = ch.accepted.assign(commune_code=None, lon=None, lat=None, location_precision=None,
                                         match_method=None)
        return ch.accepted
    town_field = "Ville" if fmt == "platform" else "commune"
    located, rejects = offers.locate(con, ch.accepted)
    for r in rejects.itertuples(index=False):
        ch.quarantine.append((int(r.row_number), town_field, r.reason.replace("commune introuvable",
                             "commune introuvable ou incohérente avec le code postal"), r.raw))
    ch.accepted = located
    if "given_lon" in located and located["given_lon"].notna().any():
        g = located[located["given_lon"].notna()][["source_row", "commune_code", "given_lon", "given_lat"]]
        con.register("imp_pts", g)
        far = con.execute(
            """SELECT p.source_row, ST_Distance(c.geom, ST_Point(p.given_lon, p.given_lat)) AS d
               FROM imp_pts p JOIN communes c ON c.code = p.commune_code
               WHERE ST_Distance(c.geom, ST_Point(p.given_lon, p.given_lat)) > 0.02"""
        ).df()
        con.unregister("imp_pts")
        _move_to_quarantine(
            ch, ch.accepted["source_row"].isin(set(far["source_row"])), lambda r: "longitude",
            lambda r: f"coordonnées ({r['given_lon']}, {r['given_lat']}) à plus de 1,5 km de la commune "
                      f"{r['commune_code']} ({r['town']})",
        )
        has = ch.accepted["given_lon"].notna()
        ch.accepted.loc[has, "lon"] = ch.accepted.loc[has, "given_lon"].astype(float)
        ch.accepted.loc[has, "lat"] = ch.accepted.loc[has, "given_lat"].astype(float)
        ch.accepted.loc[has, "location_precision"] = "coordinates"
    if mode != "replace-all" and has_relation(con, "offers"):
        cond = "source <> ?" if mode == "replace-source" else "? IS NOT NULL"
        existing = dict(con.execute(f"SELECT offer_id, source FROM offers WHERE {cond}", [source]).fetchall())
        clash = ch.accepted["offer_id"].isin(set(existing))
        _move_to_quarantine(
            ch, clash, lambda r: "id" if fmt == "platform" else "identifiant",
            lambda r: f"identifiant d'offre déjà présent dans la base (source « {existing[r['offer_id']]} »)",
        )
    return ch.accepted


def check_against_db(con: duckdb.DuckDBPyConnection, kind: str, ch: Checked, mode: str) -> None:
    """Database-dependent checks of collective projects and mobility services."""
    if ch.accepted.empty:
        return
    if kind == "collective":
        codes = {c for (c,) in con.execute("SELECT code FROM communes").fetchall()}
        _move_to_quarantine(ch, ~ch.accepted["commune_code"].isin(codes), lambda r: "commune_code",
                            lambda r: f"commune {r['commune_code']} inconnue en COG 2025")
        if mode == "append" and has_relation(con, "collective_projects"):
            ids = {c for (c,) in con.execute("SELECT project_id FROM collective_projects").fetchall()}
            _move_to_quarantine(ch, ch.accepted["project_id"].isin(ids), lambda r: "project_id",
                                lambda r: f"projet « {r['project_id']} » déjà présent dans la base")
    elif kind == "mobility":
        sirens = {c for (c,) in con.execute("SELECT siren FROM epci").fetchall()}
        _move_to_quarantine(ch, ~ch.accepted["epci_siren"].isin(sirens), lambda r: "siren_epci",
                            lambda r: f"EPCI {r['epci_siren']} inconnu en Normandie (DGCL 2025)")
        if mode == "append" and has_relation(con, "mobility_services"):
            ids = {c for (c,) in con.execute("SELECT service_id FROM mobility_services").fetchall()}
            _move_to_quarantine(ch, ch.accepted["service_id"].isin(ids), lambda r: "identifiant",
                                lambda r: f"service « {r['service_id']} » déjà présent dans la base")


# --------------------------------------------------------------------------- writing


def write_offers(con: duckdb.DuckDBPyConnection, located: pd.DataFrame, source: str, mode: str,
                 import_id: str) -> None:
    """Merge located offers into ``offers`` / ``offer_locations`` (and ``offer_details``) by ``mode``."""
    con.execute(DDL)
    keep_cond = {"replace-source": "source <> ?", "append": "? IS NOT NULL", "replace-all": "? IS NULL"}[mode]
    cols = ["offer_id", "siret", "sector", "is_public", "public_employer_type", "street", "town", "postcode",
            "commune_code", "lon", "lat", "location_precision", "match_method", "grades", "capacity", "source",
            "source_row"]
    if has_relation(con, "offers"):
        kept = con.execute(f"SELECT {', '.join(cols)} FROM offers WHERE {keep_cond}", [source]).df()
    else:
        kept = pd.DataFrame(columns=cols)
    new = located.reindex(columns=cols)
    new["capacity"] = pd.array(new["capacity"].tolist(), dtype="Int64")
    kept["capacity"] = pd.array(kept["capacity"].tolist(), dtype="Int64")
    parts = [p for p in (kept, new) if len(p)]
    merged = pd.concat(parts, ignore_index=True) if parts else new
    offers.write_tables(con, merged, pd.DataFrame(columns=["source", "row_number", "field", "reason", "raw"]))
    # the build's rejects of a replaced source belong to the file that was replaced
    if has_relation(con, "offer_rejects") and mode != "append":
        con.execute(f"DELETE FROM offer_rejects WHERE NOT ({keep_cond})", [source])
    con.execute(f"DELETE FROM offer_details WHERE NOT ({keep_cond})", [source])
    if "employer" in located:
        det = located[["offer_id", "source", "employer", "start_date", "end_date", "weeks", "disability_access"]].copy()
        det["import_id"] = import_id
        con.register("imp_det", det)
        con.execute(
            """INSERT INTO offer_details SELECT offer_id, source, import_id, employer, start_date::DATE,
               end_date::DATE, weeks, disability_access::BOOLEAN FROM imp_det"""
        )
        con.unregister("imp_det")


def write_collective(con: duckdb.DuckDBPyConnection, df: pd.DataFrame, mode: str) -> None:
    """Add (or replace all) collective projects, placed at their commune's centre point."""
    if not has_relation(con, "collective_projects"):
        con.execute(
            """CREATE TABLE collective_projects (project_id VARCHAR, name VARCHAR, kind VARCHAR, kind_basis VARCHAR,
               town VARCHAR, commune_code VARCHAR, epci_siren VARCHAR, dep VARCHAR, sectors VARCHAR,
               pupils INTEGER, period VARCHAR, status VARCHAR, location_basis VARCHAR, source VARCHAR,
               note VARCHAR, lon DOUBLE, lat DOUBLE, geom GEOMETRY)"""
        )
    if mode == "replace-all":
        con.execute("DELETE FROM collective_projects")
    if df.empty:
        return
    df = df.copy()
    df["pupils"] = pd.array(df["pupils"].tolist(), dtype="Int64")
    con.register("imp_cp", df)
    con.execute(
        """INSERT INTO collective_projects BY NAME
           SELECT p.project_id, p.name, p.kind, NULLIF(p.kind_basis, '') AS kind_basis, p.town, p.commune_code,
                  c.epci_siren, c.dep, NULLIF(p.sectors, '') AS sectors, p.pupils::INTEGER AS pupils,
                  p.period, p.status, NULLIF(p.location_basis, '') AS location_basis, p.source,
                  NULLIF(p.note, '') AS note, c.lon, c.lat, ST_Point(c.lon, c.lat) AS geom
           FROM imp_cp p JOIN communes c ON c.code = p.commune_code ORDER BY p.project_id"""
    )
    con.unregister("imp_cp")


def write_mobility(con: duckdb.DuckDBPyConnection, df: pd.DataFrame, mode: str, import_id: str,
                   when: dt.datetime) -> None:
    """Add (or replace all) EPCI mobility services."""
    con.execute(DDL)
    if mode == "replace-all":
        con.execute("DELETE FROM mobility_services")
    if df.empty:
        return
    con.register("imp_ms", df)
    con.execute(
        """INSERT INTO mobility_services
           SELECT m.service_id, m.epci_siren, e.name, m.service_type, m.name, m.description, m.conditions,
                  m.contact, m.source, ?, ? FROM imp_ms m JOIN epci e ON e.siren = m.epci_siren""",
        [import_id, when],
    )
    con.unregister("imp_ms")


def record_provenance(con: duckdb.DuckDBPyConnection, res: ImportResult, when: dt.datetime) -> None:
    """Add the imported file to ``provenance`` (replacing the rows of the same source in replace modes).

    When the source name is a dataset of the registry (``offers_platform``), its publisher,
    licence and description are kept; the vintage is the import date.
    """
    from analysis import sources

    con.execute(sources.PROVENANCE_DDL)
    dataset = res.source if res.kind == "offers" else f"{res.kind}:{res.source}"
    if res.mode != "append":
        con.execute("DELETE FROM provenance WHERE dataset = ?", [dataset])
    try:
        ds = sources.registry().get(dataset)
    except Exception:  # noqa: BLE001 - the registry is informative here
        ds = None
    con.execute(
        "INSERT INTO provenance VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [dataset, res.file, ds.publisher if ds else "fichier importé par l'administrateur",
         ds.licence if ds else None, f"importé le {when:%Y-%m-%d}", res.rows_in, res.sha256, when,
         f"Import {res.import_id} ({res.kind}, {res.format or '-'}, mode {res.mode}) : {res.accepted} ligne(s) "
         f"acceptée(s), {res.quarantined} en quarantaine" + (f" ; {ds.description}" if ds else ""),
         ds.url if ds else None],
    )


def mobility_services(con: duckdb.DuckDBPyConnection, epci_siren: str | None = None) -> pd.DataFrame:
    """Imported EPCI mobility services (for the Territoire page), with the French type label.

    Returns an empty frame with the same columns when nothing was imported yet.
    """
    cols = ["epci_siren", "epci_name", "service_type", "type_label", "name", "description", "conditions",
            "contact", "source", "imported_at"]
    if not has_relation(con, "mobility_services"):
        return pd.DataFrame(columns=cols)
    where, params = ("WHERE epci_siren = ?", [str(epci_siren)]) if epci_siren else ("", [])
    df = con.execute(
        f"SELECT * FROM mobility_services {where} ORDER BY epci_name, service_type, name", params
    ).df()
    df["type_label"] = df["service_type"].map(MOBILITY_TYPES)
    return df[cols]


# --------------------------------------------------------------------------- derived tables


def recompute_derived(con: duckdb.DuckDBPyConnection, progress: ProgressFn,
                      settings: BuildSettings | None = None) -> bool:
    """Bring the tables that depend on offers up to date (travel times, then indicators).

    Runs each stage whose tables exist in the database (``travel_times``; ``commune_pupils`` or
    ``accessibility``). The settings of the last build are read from ``build_info`` (source
    directory, feeds) unless ``settings`` is given. Returns True when something was recomputed.
    """
    if settings is None:
        info = dict(con.execute("SELECT key, value FROM build_info").fetchall()) if has_relation(con, "build_info") else {}
        saved = json.loads(info.get("settings") or "{}")
        src = info.get("source_dir")
        settings = BuildSettings(
            source_dir=Path(src) if src else None, db_path=Path("."),
            gtfs=[Path(p) for p in saved.get("gtfs", [])], travel_times=bool(saved.get("travel_times", True)),
        )
    did = False
    if has_relation(con, "travel_times"):  # stale travel times would point at renumbered locations
        from analysis import traveltime

        progress("Mise à jour des temps de trajet vers les lieux d'offres…", 0.5)
        traveltime.build_travel_times(con, settings, progress)
        did = True
    if has_relation(con, "commune_pupils") or has_relation(con, "accessibility"):
        from analysis import access

        progress("Mise à jour des indicateurs d'accessibilité…", 0.85)
        access.build_tables(con, settings, progress)
        did = True
    return did


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
            f"{head} : {self.file} ({self.kind}" + (f", format {self.format}" if self.format else "")
            + (f", source « {self.source} », mode {self.mode}" if self.source else f", mode {self.mode}") + ")",
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


def _default_source(kind: str, fmt: str | None, name: str) -> str | None:
    if kind != "offers":
        return f"import:{Path(name).stem}"
    return "offers_platform" if fmt == "platform" else f"import:{Path(name).stem}"


def prepare(con: duckdb.DuckDBPyConnection, kind: str, data: bytes, name: str, fmt: str | None = None,
            mode: str | None = None, source: str | None = None, strict_siret: bool | None = None):
    """Read and check a file against the database ``con`` (read-only use). No secret needed.

    Returns
    -------
    (raw, checked, fmt, mode, source, located)
    """
    if kind not in IMPORT_KINDS:
        raise ValueError(f"type d'import inconnu : {kind!r} (attendu : {', '.join(IMPORT_KINDS)})")
    if source is not None and sanitize.text_problem(source):
        raise ValueError(f"nom de source refusé : {sanitize.text_problem(source)}")
    raw = read_table(data, name)
    if kind == "offers":
        fmt = fmt or detect_offer_format(raw)
        if fmt not in OFFER_FORMATS:
            raise ValueError(f"format inconnu : {fmt!r} (attendu : {', '.join(OFFER_FORMATS)})")
        mode = mode or "replace-source"
        if mode not in OFFER_MODES:
            raise ValueError(f"mode inconnu : {mode!r} (attendu : {', '.join(OFFER_MODES)})")
        source = source or _default_source(kind, fmt, name)
        if fmt == "platform":
            ch = check_platform(raw, source, strict_siret=bool(strict_siret))
        else:
            ch = check_offer_template(raw, source)
        located = locate_offers(con, ch, fmt, source, mode)
    else:
        fmt = None
        mode = mode or "append"
        if mode not in OTHER_MODES:
            raise ValueError(f"mode inconnu : {mode!r} (attendu : {', '.join(OTHER_MODES)})")
        source = source or _default_source(kind, fmt, name)
        ch = check_collective(raw) if kind == "collective" else check_mobility(raw, source)
        check_against_db(con, kind, ch, mode)
        located = ch.accepted
    return raw, ch, fmt, mode, source, located


def _frames(ch: Checked, import_id: str, name: str, when: dt.datetime) -> tuple[pd.DataFrame, pd.DataFrame]:
    q = pd.DataFrame(ch.quarantine, columns=["row_number", "field", "reason", "raw"]).sort_values(
        "row_number", kind="stable").reset_index(drop=True)
    q.insert(0, "file", name)
    q.insert(0, "import_id", import_id)
    q["imported_at"] = when
    w = pd.DataFrame(ch.warnings, columns=["row_number", "field", "reason"])
    w.insert(0, "file", name)
    w.insert(0, "import_id", import_id)
    w["imported_at"] = when
    return q, w


def import_file(
    path: str | os.PathLike | None,
    kind: str = "offers",
    *,
    secret: str | None = None,
    secrets: Mapping[str, Any] | None = None,
    db_path: str | os.PathLike | None = None,
    fmt: str | None = None,
    mode: str | None = None,
    source: str | None = None,
    dry_run: bool = False,
    data: bytes | None = None,
    name: str | None = None,
    strict_siret: bool | None = None,
    geocode: bool = False,
    geocoder_url: str | None = None,
    recompute: bool = True,
    settings: Any = None,
    user: str | None = None,
    gate: AdminGate | None = None,
    gate_key: str = "process",
    progress: ProgressFn | None = None,
    secret_from_environment: bool = False,
) -> ImportResult:
    """Import a file of offers, collective projects or mobility services.

    Parameters
    ----------
    path : path-like or None
        The file (or give ``data`` and ``name``, e.g. from an upload).
    kind : {"offers", "collective", "mobility"}
    secret : str
        The administrator secret typed by the user; required unless ``dry_run``.
    secrets : mapping, optional
        Where the configured secret may be found besides the environment (Streamlit secrets).
    db_path : path-like, optional
        Database (default :func:`analysis.config.default_db_path`).
    fmt : {"platform", "template"}, optional
        Offer format (detected from the header by default).
    mode : str, optional
        See the module docstring (offers: ``replace-source``; others: ``append``).
    source : str, optional
        Source name written in ``offers.source`` (default: ``offers_platform`` for the platform
        format, ``import:<file stem>`` otherwise).
    dry_run : bool
        Check only, write nothing (no secret needed).
    strict_siret : bool, optional
        Quarantine platform rows whose SIRET check digit is wrong (default: warning only).
    geocode : bool
        Ask the BAN geocoder for street-level positions (:mod:`analysis.geocode`).
    geocoder_url : str, optional
        BAN service root.
    recompute : bool
        Recompute travel times and indicators after an offer import (always on in the CLI and
        the page). False leaves them stale (locations are renumbered): for measurements only.
    gate, gate_key :
        The secret checker and the key its failures are counted under (the client).
    secret_from_environment : bool
        ``secret`` was read from the environment variable (command line): it is then compared
        with the secrets file only, never with that same variable.
    progress : callable, optional

    Raises
    ------
    WriteDisabled, AuthError
        No secret configured / wrong secret (nothing is read or written).
    DataError
        Unreadable file (spreadsheet that cannot be opened).
    """
    progress = progress or (lambda m, f=None: None)
    if not dry_run:
        (gate or GATE).check(secret, secrets, key=gate_key, environment=secret_from_environment is False)
    if data is None:
        if path is None:
            raise ValueError("path ou data est obligatoire")
        p = Path(path)
        if not p.is_file():
            raise DataError(str(p), "fichier introuvable")
        if p.stat().st_size > limits.MAX_UPLOAD_BYTES:
            raise DataError(str(p), f"fichier trop volumineux (maximum {limits.MAX_UPLOAD_MB} Mo)")
        try:
            data = p.read_bytes()
        except OSError as exc:
            raise DataError(str(p), f"fichier illisible ({exc.strerror or exc})") from exc
        name = name or p.name
    # the name is recorded and shown (log, provenance, exports): no path, markup or control characters
    name = sanitize.safe_file_name(name)
    target = Path(db_path or default_db_path())
    if not target.exists():
        raise DataError(str(target), "base de données introuvable : lancez d'abord « python -m analysis.build »")
    sha = hashlib.sha256(data).hexdigest()
    import_id = dt.datetime.now().strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
    when = dt.datetime.now().replace(microsecond=0)
    t0 = time.perf_counter()
    progress(f"Lecture et contrôle de {name}…", 0.05)

    def run(con) -> tuple[ImportResult, pd.DataFrame]:
        raw, ch, f, m, s, located = prepare(con, kind, data, name, fmt, mode, source, strict_siret)
        q, w = _frames(ch, import_id, name, when)
        res = ImportResult(import_id, kind, name, sha, f, s, m, raw.rows_in, len(located), len(q), q, w, dry_run,
                           raw.note, raw.encoding, raw.sep)
        if res.accepted + res.quarantined != res.rows_in:  # pragma: no cover - invariant
            raise AssertionError(f"comptage incohérent : {res.rows_in} lues, {res.accepted} + {res.quarantined}")
        return res, located

    if dry_run:
        con = db.connect(target, read_only=True)
        try:
            res, _ = run(con)
        finally:
            con.close()
        res.seconds = time.perf_counter() - t0
        return res

    with database_copy(target) as con:
        res, located = run(con)
        progress(f"{res.accepted} ligne(s) acceptée(s), {res.quarantined} en quarantaine", 0.2)
        con.execute(DDL)
        if res.accepted == 0:
            # nothing accepted: the data tables are left as they are (a wrong file in a replace
            # mode must not empty them); the log and the quarantine are still written
            res.note = ((res.note + " ; ") if res.note else "") + "aucune ligne acceptée : données inchangées"
        elif kind == "offers":
            if geocode and len(located):
                from analysis import geocode as gc

                located = gc.geocode_offers(con, located, base_url=geocoder_url or gc.DEFAULT_BASE_URL,
                                            progress=progress)
            from analysis import incremental  # only new or moved locations get new searches

            before = incremental.snapshot(con) if recompute else None
            write_offers(con, located, res.source, res.mode, import_id)
            if recompute:
                res.recomputed = incremental.update_after_offers(con, before, progress, settings,
                                                                 fallback=recompute_derived)
        elif kind == "collective":
            write_collective(con, located, res.mode)
        else:
            write_mobility(con, located, res.mode, import_id, when)
        if res.accepted:
            record_provenance(con, res, when)
        for table, df in (("import_quarantine", res.quarantine), ("import_warnings", res.warnings)):
            if len(df):
                con.register("imp_df", df)
                con.execute(f"INSERT INTO {table} SELECT * FROM imp_df")
                con.unregister("imp_df")
        res.seconds = time.perf_counter() - t0
        con.execute(
            "INSERT INTO imports VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [import_id, name, sha, kind, res.format, res.source, res.mode, res.rows_in, res.accepted,
             res.quarantined, len(res.warnings), user, when, res.recomputed, res.seconds],
        )
        con.execute("INSERT INTO import_files VALUES (?, ?, ?)", [import_id, name, data])
        progress("Remplacement atomique de la base…", 0.98)
    progress(f"Import terminé en {res.seconds:.1f} s", 1.0)
    return res


def reapply_imports(con: duckdb.DuckDBPyConnection, previous_db: str | os.PathLike,
                    progress: ProgressFn | None = None) -> int:
    """Replay, into a database being rebuilt, the imports recorded in the previous database.

    Meant for the build, after the base stages and before travel times: imported offers,
    projects and services are not lost when the database is rebuilt from the sources. The files
    stored in ``import_files`` are checked again against the new base tables (same format,
    source and mode as recorded); their quarantine and log rows are copied as new entries.

    Returns
    -------
    int
        Number of imports replayed.
    """
    progress = progress or (lambda m, f=None: None)
    previous_db = Path(previous_db)
    if not previous_db.exists():
        return 0
    old = db.connect(previous_db, read_only=True)
    try:
        if not has_relation(old, "imports") or not has_relation(old, "import_files"):
            return 0
        rows = old.execute(
            """SELECT i.import_id, i.file, i.kind, i.format, i.source, i.mode, i.user_name, f.content
               FROM imports i JOIN import_files f USING (import_id) ORDER BY i.imported_at, i.import_id"""
        ).fetchall()
    finally:
        old.close()
    con.execute(DDL)
    for n, (iid, name, kind, fmt, source, mode, user, content) in enumerate(rows, start=1):
        progress(f"Réimport {n}/{len(rows)} : {name}", None)
        when = dt.datetime.now().replace(microsecond=0)
        raw, ch, f, m, s, located = prepare(con, kind, bytes(content), name, fmt, mode, source)
        q, w = _frames(ch, iid, name, when)
        if len(located) == 0:
            pass  # as in import_file: nothing accepted, data tables unchanged
        elif kind == "offers":
            write_offers(con, located, s, m, iid)
        elif kind == "collective":
            write_collective(con, located, m)
        else:
            write_mobility(con, located, m, iid, when)
        for table, df in (("import_quarantine", q), ("import_warnings", w)):
            if len(df):
                con.register("imp_df", df)
                con.execute(f"INSERT INTO {table} SELECT * FROM imp_df")
                con.unregister("imp_df")
        con.execute(
            "INSERT INTO imports VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [iid, name, hashlib.sha256(bytes(content)).hexdigest(), kind, f, s, m, raw.rows_in, len(located),
             len(q), len(w), user, when, False, 0.0],
        )
        con.execute("INSERT INTO import_files VALUES (?, ?, ?)", [iid, name, bytes(content)])
    return len(rows)


def build_stage(con: duckdb.DuckDBPyConnection, settings: BuildSettings | None = None,
                progress: ProgressFn | None = None) -> int:
    """Build stage: create the import tables and replay the imports of the database being replaced.

    For :mod:`analysis.build`, after the base data and before travel times, so that a rebuild
    keeps the imported offers, projects and services (their travel times are then computed by
    the following stages). ``settings.db_path`` is the database about to be replaced.

    Returns
    -------
    int
        Number of imports replayed.
    """
    progress = progress or (lambda m, f=None: None)
    create_tables(con)
    previous = settings.db_path if settings is not None else None
    if previous is None or not Path(previous).exists():
        return 0
    n = reapply_imports(con, previous, progress)
    if n:
        progress(f"{n} import(s) de la base précédente rejoué(s)", None)
    return n


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
        notice.append(["Remplir la feuille « donnees » (une ligne par élément, sans ligne vide), "
                       "ou le fichier CSV du même nom (séparateur ; ou , ; UTF-8 ou Windows-1252)."])
        notice.append([])
        notice.append(["colonne", "obligatoire", "contenu", "autres en-têtes acceptés"])
        for cell in notice[4]:
            cell.font = Font(bold=True)
        for c in spec:
            notice.append([c.header, "oui" if c.required else "non", c.doc,
                           ", ".join(a for a in c.aliases if a != c.header)])
        notice.column_dimensions["A"].width = 22
        notice.column_dimensions["C"].width = 80
        xlsx_path = dest / f"{stem}.xlsx"
        wb.properties.creator = "Observatoire des stages — Normandie"
        wb.save(xlsx_path)
        written += [csv_path, xlsx_path]
    return written


# --------------------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    from analysis.progress import Progress

    parser = argparse.ArgumentParser(
        prog="python -m analysis.imports",
        description="Importe des offres de stage, des projets de stages collectifs ou des services de mobilité "
        "des EPCI (écriture réservée à l'administrateur : variable OBSERVATOIRE_ADMIN_SECRET).",
    )
    parser.add_argument("kind", choices=IMPORT_KINDS, help="offers | collective | mobility")
    parser.add_argument("path", type=Path, help="fichier CSV (UTF-8 ou Windows-1252, ; ou ,) ou XLSX")
    parser.add_argument("--format", dest="fmt", choices=OFFER_FORMATS, default=None,
                        help="format des offres (détecté d'après l'en-tête par défaut)")
    parser.add_argument("--mode", choices=sorted(set(OFFER_MODES) | set(OTHER_MODES)), default=None,
                        help="offres : replace-source (défaut), append, replace-all ; autres : append (défaut), replace-all")
    parser.add_argument("--source", default=None, help="nom de la source (défaut : offers_platform ou import:<fichier>)")
    parser.add_argument("--dry-run", action="store_true", help="contrôler sans rien écrire (pas de secret requis)")
    parser.add_argument("--db", type=Path, default=None, help="base DuckDB (défaut : data/observatoire.duckdb)")
    parser.add_argument("--strict-siret", action="store_true", help="format plateforme : rejeter les SIRET invalides")
    parser.add_argument("--geocode", action="store_true", help="géocoder les adresses avec la BAN (en ligne)")
    parser.add_argument("--geocoder-url", default=None, help="racine du service BAN (défaut : api-adresse.data.gouv.fr)")
    parser.add_argument("--user", default=os.environ.get("USER"), help="nom enregistré dans le journal des imports")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    if args.mode and args.kind != "offers" and args.mode not in OTHER_MODES:
        parser.error(f"mode {args.mode} impossible pour {args.kind} (append ou replace-all)")
    try:
        res = import_file(
            args.path, args.kind, secret=os.environ.get(ENV_SECRET), secret_from_environment=True,
            db_path=args.db, fmt=args.fmt, mode=args.mode,
            source=args.source, dry_run=args.dry_run, strict_siret=args.strict_siret, geocode=args.geocode,
            geocoder_url=args.geocoder_url, user=args.user, progress=Progress(quiet=args.quiet),
        )
    except (WriteDisabled, AuthError) as exc:
        print(f"Refusé : {exc}", file=sys.stderr)
        print("Astuce : --dry-run contrôle un fichier sans secret.", file=sys.stderr)
        return 3
    except (DataError, ValueError) as exc:
        print(f"Erreur : {exc}", file=sys.stderr)
        return 1
    print(res.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
