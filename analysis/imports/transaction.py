"""One import as an atomic transaction: copy, write, recompute, swap.

Owns :func:`prepare` (read and check, no write), :func:`import_file` (secret check, copy of the
live database, writes, :func:`recompute_derived` of travel times and indicators, then
:func:`os.replace`), :func:`reapply_imports` and :func:`build_stage` (replaying recorded imports
when the database is rebuilt).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

import analysis.imports.limits as limits
from analysis import db, sanitize
from analysis.config import BuildSettings, default_db_path
from analysis.db import database_copy, has_relation
from analysis.errors import DataError
from analysis.imports.auth import GATE, AdminGate
from analysis.imports.checks import (
    Checked,
    check_collective,
    check_mobility,
    check_offer_template,
    check_platform,
    detect_offer_format,
)
from analysis.imports.reading import read_table
from analysis.imports.schema import (
    DDL,
    IMPORT_KINDS,
    OFFER_FORMATS,
    OFFER_MODES,
    OTHER_MODES,
    ImportRequest,
    ImportResult,
    ProgressFn,
    create_tables,
)
from analysis.imports.write import (
    check_against_db,
    locate_offers,
    record_provenance,
    write_collective,
    write_mobility,
    write_offers,
)
from analysis.sources import validation
from analysis.text import count as count_of

# --------------------------------------------------------------------------- derived tables


def recompute_derived(
    con: duckdb.DuckDBPyConnection, progress: ProgressFn, settings: BuildSettings | None = None
) -> bool:
    """Bring the tables that depend on offers up to date (travel times, then indicators).

    Runs each stage whose tables exist in the database (``travel_times``; ``commune_pupils`` or
    ``accessibility``). The settings of the last build are read from ``build_info`` (source
    directory, feeds) unless ``settings`` is given. Returns True when something was recomputed.
    """
    if settings is None:
        info = (
            dict(con.execute("SELECT key, value FROM build_info").fetchall()) if has_relation(con, "build_info") else {}
        )
        saved = json.loads(info.get("settings") or "{}")
        src = info.get("source_dir")
        settings = BuildSettings(
            source_dir=Path(src) if src else None,
            db_path=Path("."),
            gtfs=[Path(p) for p in saved.get("gtfs", [])],
            travel_times=bool(saved.get("travel_times", True)),
        )
    db.load_spatial(con)  # the full stages may use spatial functions (the import's copy opens without)
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


def _default_source(kind: str, fmt: str | None, name: str) -> str | None:
    if kind != "offers":
        return f"import:{Path(name).stem}"
    return "offers_platform" if fmt == "platform" else f"import:{Path(name).stem}"


def prepare(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    data: bytes,
    name: str,
    fmt: str | None = None,
    mode: str | None = None,
    source: str | None = None,
    strict_siret: bool | None = None,
):
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
    q = (
        pd.DataFrame(ch.quarantine, columns=["row_number", "field", "reason", "raw"])
        .sort_values("row_number", kind="stable")
        .reset_index(drop=True)
    )
    q.insert(0, "file", name)
    q.insert(0, "import_id", import_id)
    q["imported_at"] = when
    w = pd.DataFrame(ch.warnings, columns=["row_number", "field", "reason"])
    w.insert(0, "file", name)
    w.insert(0, "import_id", import_id)
    w["imported_at"] = when
    return q, w


def _read_file(path: str | os.PathLike | None, name: str | None) -> tuple[bytes, str]:
    """The bytes of the file to import and its name (clear errors naming the file)."""
    if path is None:
        raise ValueError("path ou data est obligatoire")
    p = Path(path)
    try:  # is_file() raises, rather than answer False, in a folder without search permission
        if not p.is_file():
            raise DataError(str(p), "fichier introuvable")
        if p.stat().st_size > limits.MAX_UPLOAD_BYTES:
            raise DataError(str(p), f"fichier trop volumineux (maximum {limits.MAX_UPLOAD_MB} Mo)")
        data = p.read_bytes()
    except PermissionError as exc:
        raise DataError(
            str(p), "fichier illisible : droits insuffisants (sur le fichier ou sur un dossier qui le contient)"
        ) from exc
    except OSError as exc:
        raise DataError(str(p), f"fichier illisible ({exc.strerror or exc})") from exc
    return data, name or p.name


def _bounded_check(request: ImportRequest, progress: ProgressFn) -> ImportResult:
    """The dry run of ``request.data`` in a child process bounded in memory and time (French refusals)."""
    import analysis.imports.sandbox as sandbox

    progress(f"Contrôle de {request.name} (au plus {limits.CHECK_WALL_SECONDS} s)…", 0.02)
    t0 = time.perf_counter()
    res, _stats = sandbox.run_check(
        request.data,
        request.name,
        request.kind,
        db_path=request.db_path,
        fmt=request.fmt,
        mode=request.mode,
        source=request.source,
        strict_siret=request.strict_siret,
        wait_slot=limits.CHECK_WALL_SECONDS,
    )
    res.seconds = time.perf_counter() - t0
    return res


def _write_offers_and_recompute(
    con: duckdb.DuckDBPyConnection,
    located: pd.DataFrame,
    res: ImportResult,
    import_id: str,
    recompute: bool,
    settings: Any,
    progress: ProgressFn,
) -> bool:
    """Write the offers, then bring travel times and indicators up to date: only new or moved
    locations get new searches (:mod:`analysis.incremental.times`). Returns True when recomputed."""
    from analysis.incremental import times as incremental

    before = incremental.snapshot(con) if recompute else None
    write_offers(con, located, res.source, res.mode, import_id)
    if not recompute:
        return False
    return incremental.update_after_offers(con, before, progress, settings, fallback=recompute_derived)


def _record_import(
    con: duckdb.DuckDBPyConnection, res: ImportResult, data: bytes, user: str | None, when: dt.datetime
) -> None:
    """Provenance, quarantine, warnings, the log row and the file itself."""
    if res.accepted:
        record_provenance(con, res, when)
    for table, df in (("import_quarantine", res.quarantine), ("import_warnings", res.warnings)):
        if len(df):
            con.register("imp_df", df)
            con.execute(f"INSERT INTO {table} SELECT * FROM imp_df")
            con.unregister("imp_df")
    con.execute(
        "INSERT INTO imports VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            res.import_id,
            res.file,
            res.sha256,
            res.kind,
            res.format,
            res.source,
            res.mode,
            res.rows_in,
            res.accepted,
            res.quarantined,
            len(res.warnings),
            user,
            when,
            res.recomputed,
            res.seconds,
        ],
    )
    con.execute("INSERT INTO import_files VALUES (?, ?, ?)", [res.import_id, res.file, data])


@dataclass(frozen=True)
class _Stamp:
    """The identity of one import: its id, its time (to the second) and the file's SHA-256."""

    import_id: str
    when: dt.datetime
    sha256: str

    @classmethod
    def new(cls, data: bytes) -> _Stamp:
        """A fresh stamp for the file ``data``, dated now."""
        sha = hashlib.sha256(data).hexdigest()
        import_id = dt.datetime.now().strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
        return cls(import_id, dt.datetime.now().replace(microsecond=0), sha)


def _resolved(request: ImportRequest) -> ImportRequest:
    """The request with its bytes read, its name made safe and its database found.

    Raises :class:`DataError` (French, naming the file) when the file or the database is missing.
    """
    data, name = request.data, request.name
    if data is None:
        data, name = _read_file(request.path, name)
    # the name is recorded and shown (log, provenance, exports): no path, markup or control characters
    name = validation.strip_invisible(sanitize.safe_file_name(name))
    target = Path(request.db_path or default_db_path())
    if not target.exists():
        raise DataError(str(target), "base de données introuvable : lancez d'abord « python -m analysis.build »")
    return replace(request, data=data, name=name, db_path=target)


def _checked(
    con: duckdb.DuckDBPyConnection, request: ImportRequest, stamp: _Stamp
) -> tuple[ImportResult, pd.DataFrame]:
    """Read and check the request's file against ``con``: the result so far and the located rows."""
    r = request
    raw, ch, fmt, mode, source, located = prepare(con, r.kind, r.data, r.name, r.fmt, r.mode, r.source, r.strict_siret)
    q, w = _frames(ch, stamp.import_id, r.name, stamp.when)
    res = ImportResult(
        stamp.import_id,
        r.kind,
        r.name,
        stamp.sha256,
        fmt,
        source,
        mode,
        raw.rows_in,
        len(located),
        len(q),
        q,
        w,
        r.dry_run,
        raw.note,
        raw.encoding,
        raw.sep,
    )
    if res.accepted + res.quarantined != res.rows_in:  # pragma: no cover - invariant
        raise AssertionError(f"comptage incohérent : {res.rows_in} lues, {res.accepted} + {res.quarantined}")
    return res, located


def _dry_run_in_process(request: ImportRequest, stamp: _Stamp, t0: float) -> ImportResult:
    """Check the file against the live database opened read-only; nothing is written."""
    con = db.connect(request.db_path, read_only=True, spatial=False)  # loaded by the checks that need it
    try:
        res, _ = _checked(con, request, stamp)
    finally:
        con.close()
    res.seconds = time.perf_counter() - t0
    return res


def _write_rows(
    con: duckdb.DuckDBPyConnection,
    request: ImportRequest,
    res: ImportResult,
    located: pd.DataFrame,
    stamp: _Stamp,
    progress: ProgressFn,
) -> None:
    """Write the accepted rows to their table (offers: geocoded if asked, then recomputed)."""
    if res.accepted == 0:
        # nothing accepted: the data tables are left as they are (a wrong file in a replace
        # mode must not empty them); the log and the quarantine are still written
        res.note = ((res.note + " ; ") if res.note else "") + "aucune ligne acceptée : données inchangées"
    elif request.kind == "offers":
        if request.geocode and len(located):
            from analysis.sources import geocode as gc

            located = gc.geocode_offers(
                con, located, base_url=request.geocoder_url or gc.DEFAULT_BASE_URL, progress=progress
            )
        res.recomputed = _write_offers_and_recompute(
            con, located, res, stamp.import_id, request.recompute, request.settings, progress
        )
    elif request.kind == "collective":
        write_collective(con, located, res.mode)
    else:
        write_mobility(con, located, res.mode, stamp.import_id, stamp.when)


def _write_in_copy(request: ImportRequest, stamp: _Stamp, t0: float, progress: ProgressFn) -> ImportResult:
    """The transaction: check, write and log in a copy of the database, which then replaces it."""
    with database_copy(request.db_path) as con:
        res, located = _checked(con, request, stamp)
        progress(f"{count_of(res.accepted, 'ligne acceptée')}, {res.quarantined} en quarantaine", 0.2)
        con.execute(DDL)
        _write_rows(con, request, res, located, stamp, progress)
        res.seconds = time.perf_counter() - t0
        _record_import(con, res, request.data, request.user, stamp.when)
        progress("Remplacement atomique de la base…", 0.98)
    progress(f"Import terminé en {res.seconds:.1f} s", 1.0)
    return res


def import_file(
    request: ImportRequest,
    *,
    secret: str | None = None,
    secrets: Mapping[str, Any] | None = None,
    gate: AdminGate | None = None,
    gate_key: str = "process",
    secret_from_environment: bool = False,
    progress: ProgressFn | None = None,
) -> ImportResult:
    """Import a file of offers, collective projects or mobility services.

    The steps: the secret is checked (unless a dry run), the file read, then checked in the
    bounded child process (:class:`ImportRequest` ``bounded``); a dry run stops there. The
    import itself checks the file again in a copy of the database, writes the accepted rows,
    recomputes what depends on them, logs the import with its quarantine, and swaps the copy in.

    Parameters
    ----------
    request : ImportRequest
        The file, its kind, the database and the options of the import.
    secret : str
        The administrator secret typed by the user; required unless ``request.dry_run``.
    secrets : mapping, optional
        Where the configured secret may be found besides the environment (Streamlit secrets).
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
        Unreadable file (spreadsheet that cannot be opened), or refused by the bounded check
        (:class:`analysis.imports.sandbox.CheckRefused`: time or memory exhausted).
    """
    progress = progress or (lambda m, f=None: None)
    if not request.dry_run:
        (gate or GATE).check(secret, secrets, key=gate_key, environment=secret_from_environment is False)
    request = _resolved(request)
    t0 = time.perf_counter()  # the import's time includes its bounded check
    if request.bounded:
        checked = _bounded_check(request, progress)
        if request.dry_run:
            return checked
    stamp = _Stamp.new(request.data)
    progress(f"Lecture et contrôle de {request.name}…", 0.05)
    if request.dry_run:
        return _dry_run_in_process(request, stamp, t0)
    return _write_in_copy(request, stamp, t0, progress)


def reapply_imports(
    con: duckdb.DuckDBPyConnection, previous_db: str | os.PathLike, progress: ProgressFn | None = None
) -> int:
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
            [
                iid,
                name,
                hashlib.sha256(bytes(content)).hexdigest(),
                kind,
                f,
                s,
                m,
                raw.rows_in,
                len(located),
                len(q),
                len(w),
                user,
                when,
                False,
                0.0,
            ],
        )
        con.execute("INSERT INTO import_files VALUES (?, ?, ?)", [iid, name, bytes(content)])
    return len(rows)


def build_stage(
    con: duckdb.DuckDBPyConnection, settings: BuildSettings | None = None, progress: ProgressFn | None = None
) -> int:
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
        progress(f"{count_of(n, 'import')} de la base précédente {'rejoué' if n < 2 else 'rejoués'}", None)
    return n
