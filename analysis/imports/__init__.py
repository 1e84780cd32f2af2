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
    (:mod:`analysis.sources.offers`), plus field lengths; a SIRET with a wrong check digit is only a
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
    new data at their next :meth:`analysis.db.ReaderCache.get`. Every file, dry run or not, page
    or command line, is first checked in a child process bounded in memory and time
    (:mod:`analysis.imports.sandbox`; XLSX XML pre-scanned by :mod:`analysis.imports.xlsx_scan`): a hostile file
    is refused there, in French, before the write lock is taken.

Package layout (one module per concern, in the order an import runs)
    :mod:`~analysis.imports.schema` (tables, kinds, modes, :class:`ImportRequest`, :class:`ImportResult`),
    :mod:`~analysis.imports.auth` (secret, :class:`AdminGate`, throttle),
    :mod:`~analysis.imports.reading` (file decoding and separator/header guessing),
    :mod:`~analysis.imports.templates` (expected columns, template files),
    :mod:`~analysis.imports.checks` (row checks, quarantine reasons),
    :mod:`~analysis.imports.write` (locating and writing rows),
    :mod:`~analysis.imports.transaction` (copy, write, recompute, swap; replay at rebuild),
    :mod:`~analysis.imports.cli` (command line). This module re-exports their public API.

Command line::

    python -m analysis.imports offers PATH [--format platform|template] [--mode ...] [--dry-run]
    python -m analysis.imports collective PATH [--dry-run]
    python -m analysis.imports mobility PATH [--dry-run]
"""

from __future__ import annotations

from analysis.imports.auth import (
    ENV_SECRET,
    ENV_SECRETS_FILE,
    ENV_TRUSTED_PROXIES,
    GATE,
    HOW_TO_ENABLE,
    MIN_SECRET_CHARS,
    AdminGate,
    AuthError,
    WriteDisabled,
    client_key,
    configured_secret,
    secrets_file,
    trusted_proxies,
)
from analysis.imports.checks import (
    Checked,
    check_collective,
    check_mobility,
    check_offer_template,
    check_platform,
    detect_offer_format,
    map_columns,
)
from analysis.imports.cli import (
    main,
)
from analysis.imports.reading import (
    MAX_PREAMBLE,
    RawTable,
    decode,
    read_table,
)
from analysis.imports.schema import (
    DDL,
    IMPORT_KINDS,
    LINE_FIELD,
    MAX_PROJECT_PUPILS,
    MOBILITY_TYPES,
    OFFER_FORMATS,
    OFFER_MODES,
    OTHER_MODES,
    ImportRequest,
    ImportResult,
    ProgressFn,
    create_tables,
)
from analysis.imports.templates import (
    COLLECTIVE_TEMPLATE,
    MOBILITY_TEMPLATE,
    OFFER_TEMPLATE,
    PLATFORM_REQUIRED,
    TEMPLATE_FILES,
    Column,
    write_templates,
)
from analysis.imports.transaction import (
    build_stage,
    import_file,
    prepare,
    reapply_imports,
    recompute_derived,
)
from analysis.imports.write import (
    check_against_db,
    locate_offers,
    mobility_services,
    record_provenance,
    write_collective,
    write_mobility,
    write_offers,
)

__all__ = [
    "DDL",
    "IMPORT_KINDS",
    "ImportRequest",
    "ImportResult",
    "LINE_FIELD",
    "MAX_PROJECT_PUPILS",
    "MOBILITY_TYPES",
    "OFFER_FORMATS",
    "OFFER_MODES",
    "OTHER_MODES",
    "ProgressFn",
    "create_tables",
    "AdminGate",
    "AuthError",
    "ENV_SECRET",
    "ENV_SECRETS_FILE",
    "ENV_TRUSTED_PROXIES",
    "GATE",
    "HOW_TO_ENABLE",
    "MIN_SECRET_CHARS",
    "WriteDisabled",
    "client_key",
    "configured_secret",
    "secrets_file",
    "trusted_proxies",
    "MAX_PREAMBLE",
    "RawTable",
    "decode",
    "read_table",
    "COLLECTIVE_TEMPLATE",
    "Column",
    "MOBILITY_TEMPLATE",
    "OFFER_TEMPLATE",
    "PLATFORM_REQUIRED",
    "TEMPLATE_FILES",
    "write_templates",
    "Checked",
    "check_collective",
    "check_mobility",
    "check_offer_template",
    "check_platform",
    "detect_offer_format",
    "map_columns",
    "check_against_db",
    "locate_offers",
    "mobility_services",
    "record_provenance",
    "write_collective",
    "write_mobility",
    "write_offers",
    "build_stage",
    "import_file",
    "prepare",
    "reapply_imports",
    "recompute_derived",
    "main",
]
