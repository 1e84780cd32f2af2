"""DuckDB connections with the spatial extension loaded offline, and atomic file swaps.

The spatial extension comes from the PyPI wheel ``duckdb-extension-spatial`` pinned to the
same version as ``duckdb``: we ``INSTALL`` it from the file inside that package, so nothing is
downloaded.

Writers never modify the live database in place: they build a new file beside it and swap it
in with :func:`os.replace` (atomic on POSIX). Readers that hold a connection keep reading the
old file (its inode stays alive) until they reconnect; :class:`ReaderCache` reconnects when the
file on disk has changed.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import shutil
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import duckdb

LOG = logging.getLogger("observatoire.db")

_SPATIAL_LOCK = threading.Lock()
_SPATIAL_INSTALLED = False


def spatial_extension_path() -> Path:
    """Path of ``spatial.duckdb_extension`` inside the ``duckdb-extension-spatial`` wheel.

    Raises
    ------
    RuntimeError
        If the package is missing or does not match the installed DuckDB version.
    """
    try:
        import duckdb_extension_spatial  # type: ignore[import-not-found]
    except ImportError as exc:  # pragma: no cover - install problem
        raise RuntimeError("Le paquet duckdb-extension-spatial est absent : pip install -r requirements.txt") from exc
    base = Path(duckdb_extension_spatial.__file__).parent
    want = base / "extensions" / f"v{duckdb.__version__}" / "spatial.duckdb_extension"
    if want.exists():
        return want
    found = sorted(base.rglob("spatial.duckdb_extension"))
    if not found:
        raise RuntimeError(f"spatial.duckdb_extension introuvable dans {base}")
    raise RuntimeError(
        f"duckdb {duckdb.__version__} ne correspond pas à l'extension spatiale installée "
        f"({found[0].parent.name}) : installez duckdb-extension-spatial=={duckdb.__version__}"
    )


def load_spatial(con: duckdb.DuckDBPyConnection) -> None:
    """Install (once per process, from the local wheel) and load the spatial extension."""
    global _SPATIAL_INSTALLED
    with _SPATIAL_LOCK:
        if not _SPATIAL_INSTALLED:
            con.execute(f"INSTALL '{spatial_extension_path()}'")
            _SPATIAL_INSTALLED = True
    con.execute("LOAD spatial")


def connect(
    path: str | os.PathLike | None = None, read_only: bool = False, spatial: bool = True
) -> duckdb.DuckDBPyConnection:
    """Open a DuckDB connection with the spatial extension loaded.

    Parameters
    ----------
    path : path-like, optional
        Database file; ``None`` or ``":memory:"`` for an in-memory database.
    read_only : bool
        Open the file read-only (required for concurrent readers).
    spatial : bool
        Load the spatial extension (0.3-0.5 CPU-s per connection: it registers its functions
        in each new DuckDB instance). ``False`` for work that uses no spatial function: the
        ``GEOMETRY`` type itself, the ``ST_AsWKB``/``ST_GeomFromWKB`` conversions and
        :func:`point_sql` are in DuckDB's core; :func:`load_spatial` can still be called later
        on the connection when a spatial function is needed.

    Returns
    -------
    duckdb.DuckDBPyConnection
    """
    target = ":memory:" if path is None else str(path)
    if read_only and target != ":memory:":
        if not Path(target).exists():
            raise FileNotFoundError(f"Base de données introuvable : {target}. Lancez « python -m analysis.build ».")
        # duckdb.connect(path) would hand back a cached instance of a file that has since been
        # swapped on disk; attaching it to a private in-memory instance always reads the file
        # that is there now.
        con = duckdb.connect(":memory:")
        _quiet(con)
        if spatial:
            load_spatial(con)
        con.execute(f"ATTACH '{_sql_str(target)}' AS {READER_ALIAS} (READ_ONLY)")
        con.execute(f"USE {READER_ALIAS}")
        return con
    con = duckdb.connect(target, read_only=read_only)
    _quiet(con)
    if spatial:
        load_spatial(con)
    return con


def _quiet(con: duckdb.DuckDBPyConnection) -> None:
    """No progress bar: DuckDB prints it on standard output for any query over 2 s, even when
    that output is a pipe, which would mix it into the CSV a command line writes there (the
    dashboard and the build show their own progress)."""
    con.execute("SET enable_progress_bar = false")
    con.execute("SET enable_progress_bar_print = false")


def point_sql(lon: str, lat: str) -> str:
    """SQL of a ``GEOMETRY`` point from two DOUBLE expressions without the spatial extension.

    Byte for byte the geometry ``ST_Point(lon, lat)`` gives (DuckDB writes a DOUBLE as the
    shortest text that reads back to the same value, and its WKT reader, in the core since
    DuckDB 1.5, reads it back exactly; NULL gives NULL), so that writers of point columns
    need not load the extension (:func:`connect`, ``spatial=False``).
    """
    return f"('POINT(' || ({lon})::DOUBLE || ' ' || ({lat})::DOUBLE || ')')::GEOMETRY"


#: Catalog name under which read-only connections attach the database file.
READER_ALIAS = "obs"


def _sql_str(value: str) -> str:
    return str(value).replace("'", "''")


def cursor(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """A cursor of ``con`` (for another thread) using the same default catalog."""
    cur = con.cursor()
    db_name = con.execute("SELECT current_database()").fetchone()[0]
    cur.execute(f"USE {db_name}")
    return cur


def tmp_path_for(target: Path) -> Path:
    """Path of the temporary file a new build of ``target`` is written to."""
    return target.with_name(f"{target.name}.tmp-{os.getpid()}")


@contextlib.contextmanager
def atomic_database(target: str | os.PathLike) -> Iterator[duckdb.DuckDBPyConnection]:
    """Write a new database beside ``target`` and swap it in only on success.

    On any exception the temporary file is deleted and ``target`` is left untouched.

    Examples
    --------
    >>> with atomic_database("data/x.duckdb") as con:  # doctest: +SKIP
    ...     con.execute("CREATE TABLE t AS SELECT 1")
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = tmp_path_for(target)
    for p in (tmp, Path(str(tmp) + ".wal")):
        if p.exists():
            p.unlink()
    con = connect(tmp)
    try:
        yield con
        con.execute("CHECKPOINT")
        con.close()
        os.replace(tmp, target)
        stale_wal = Path(str(target) + ".wal")
        if stale_wal.exists():
            stale_wal.unlink()
    except BaseException:
        with contextlib.suppress(Exception):
            con.close()
        for p in (tmp, Path(str(tmp) + ".wal")):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
        raise


@contextlib.contextmanager
def write_lock(target: Path) -> Iterator[None]:
    """One writer at a time per database file (threads and processes): builds and imports."""

    lock_path = target.with_name(target.name + ".tmp-import.lock")
    with _THREAD_LOCK, open(lock_path, "a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            remove_stale_temporaries(target)
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


_THREAD_LOCK = threading.RLock()
_TEMP_PID = re.compile(r"\.tmp-(?:import-)?(\d+)(?:-[0-9a-f]+)?(?:-compact)?(?:\.wal)?$")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a process of another user
        return True
    return True


def remove_stale_temporaries(target: Path) -> list[Path]:
    """Delete the temporary databases that killed writers left beside ``target``.

    Called by :func:`write_lock` once the lock is held: no writer is running then, so a
    ``<target>.tmp-import-<pid>-<id>`` or ``<target>.tmp-<pid>`` file (and its ``.wal``) whose
    process is gone is stale. Files of a process still alive are kept (never another run's).
    Each deletion is logged.
    """
    removed = []
    for p in target.parent.glob(target.name + ".tmp-*"):
        m = _TEMP_PID.search(p.name[len(target.name) :])
        if not m or int(m.group(1)) == os.getpid() or _pid_alive(int(m.group(1))):
            continue
        with contextlib.suppress(FileNotFoundError):
            size = p.stat().st_size
            p.unlink()
            removed.append(p)
            LOG.warning("fichier temporaire abandonné supprimé : %s (%.1f Mo)", p, size / 1e6)
    return removed


def copy_file(src: Path, dst: Path) -> None:
    """Copy the bytes of ``src`` to a new file ``dst`` inside the kernel.

    :func:`os.copy_file_range` moves the data without passing it through this process (and
    shares the extents on file systems that can, such as XFS or Btrfs): about a seventh of the
    CPU time of a read/write loop for the database file (``bench/imports.py``). Falls back to
    :func:`shutil.copyfileobj` where the call is not supported.
    """
    with open(src, "rb") as fs, open(dst, "wb") as fd:
        size = os.fstat(fs.fileno()).st_size
        done = 0
        try:
            while done < size:
                n = os.copy_file_range(fs.fileno(), fd.fileno(), size - done)
                if n == 0:
                    break
                done += n
        except (OSError, AttributeError):  # no copy_file_range on this platform or file system
            done = -1
        if done != size:  # not supported here (or the file changed): plain copy from the start
            fs.seek(0)
            fd.seek(0)
            fd.truncate()
            shutil.copyfileobj(fs, fd, 16 * 1024 * 1024)


#: Share of free blocks above which an import copy is rewritten compactly before the swap.
COMPACT_FREE_SHARE = 0.2


def _wasted_share(con: duckdb.DuckDBPyConnection) -> float:
    total, free = con.execute(
        "SELECT total_blocks, free_blocks FROM pragma_database_size() WHERE database_name = current_database()"
    ).fetchone()
    return free / total if total else 0.0


@contextlib.contextmanager
def database_copy(target: str | os.PathLike) -> Iterator[duckdb.DuckDBPyConnection]:
    """A writable copy of ``target`` that replaces it atomically on success.

    The live file is copied byte for byte to ``<target>.tmp-import-<pid>-<uuid>``; the caller
    writes there (the connection is opened without the spatial extension: the import uses no
    spatial function but the few that call :func:`load_spatial` first); on success the copy is checkpointed — and rewritten compactly (``COPY FROM
    DATABASE``) when more than :data:`COMPACT_FREE_SHARE` of its blocks are free, as DuckDB
    never shrinks a file — closed and moved over ``target`` with :func:`os.replace`. On any exception the copy is deleted and ``target`` is untouched.
    Readers holding the old file keep reading it; :class:`analysis.db.ReaderCache` reopens.
    """
    target = Path(target)
    tmp = target.with_name(f"{target.name}.tmp-import-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    with write_lock(target):
        copy_file(target, tmp)
        wal = Path(str(target) + ".wal")
        if wal.exists():  # a database left with a write-ahead log: copy it too
            copy_file(wal, Path(str(tmp) + ".wal"))
        con = None
        compact = Path(f"{tmp}-compact")
        try:
            con = connect(tmp, spatial=False)  # callers needing ST_ functions call load_spatial
            yield con
            con.execute("CHECKPOINT")
            final = tmp
            if _wasted_share(con) > COMPACT_FREE_SHARE:
                # DuckDB never shrinks a file: rewrite it compactly before the swap
                con.execute(f"ATTACH '{_sql_str(str(compact))}' AS obs_compact")
                con.execute(f"COPY FROM DATABASE {_current_db(con)} TO obs_compact")
                con.execute("DETACH obs_compact")
                final = compact
            con.close()
            con = None
            os.replace(final, target)
        finally:
            if con is not None:
                with contextlib.suppress(Exception):
                    con.close()
            for p in (tmp, Path(str(tmp) + ".wal"), compact, Path(str(compact) + ".wal")):
                with contextlib.suppress(FileNotFoundError):
                    p.unlink()


def _current_db(con: duckdb.DuckDBPyConnection) -> str:
    return con.execute("SELECT current_database()").fetchone()[0]


def relations(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Names of the tables and views of the current database (and temporary tables).

    The one answer to "does this table exist?" (see :func:`has_relation`).
    """
    rows = con.execute(
        """
        SELECT table_name FROM duckdb_tables()
        WHERE database_name = current_database() OR database_name = 'temp'
        UNION SELECT view_name FROM duckdb_views()
        WHERE NOT internal AND (database_name = current_database() OR database_name = 'temp')
        """
    ).fetchall()
    return {r[0] for r in rows}


BUILD_META_DDL = """CREATE TABLE IF NOT EXISTS build_meta (
    key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL, written_at TIMESTAMP NOT NULL)"""


def write_stamp(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """Record that ``table`` was just (re)written: a new random stamp in ``build_meta``
    (key ``<table>_stamp``). Tables derived from it store the stamp they were built from and
    compare it with :func:`read_stamp` instead of re-reading the source table."""
    stamp = uuid.uuid4().hex
    con.execute(BUILD_META_DDL)
    con.execute(
        "INSERT OR REPLACE INTO build_meta VALUES (?, ?, current_timestamp::TIMESTAMP)", [f"{table}_stamp", stamp]
    )
    return stamp


def read_stamp(con: duckdb.DuckDBPyConnection, table: str) -> str | None:
    """The stamp of the last write of ``table`` (:func:`write_stamp`), or None when unknown."""
    if not has_relation(con, "build_meta"):  # built before the stamps existed
        return None
    row = con.execute("SELECT value FROM build_meta WHERE key = ?", [f"{table}_stamp"]).fetchone()
    return row[0] if row else None


def has_relation(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """True when a table or view ``name`` exists in the current database (or as a temp table);
    the same answer as ``name in relations(con)``, looked up by name."""
    row = con.execute(
        """
        SELECT count(*) FROM (
            SELECT database_name, table_name AS n FROM duckdb_tables()
            UNION ALL SELECT database_name, view_name FROM duckdb_views() WHERE NOT internal
        ) WHERE n = ? AND (database_name = current_database() OR database_name = 'temp')
        """,
        [name],
    ).fetchone()
    return row[0] > 0


def columns_of(con: duckdb.DuckDBPyConnection, name: str) -> list[str]:
    """Column names of table/view ``name`` in the current database (empty list if absent)."""
    rows = con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE table_name = ? "
        "AND (database_name = current_database() OR database_name = 'temp') ORDER BY column_index",
        [name],
    ).fetchall()
    return [r[0] for r in rows]


class ReaderCache:
    """A read-only connection that reopens itself when the database file is swapped.

    Parameters
    ----------
    path : path-like
        The database file.

    Notes
    -----
    ``get()`` compares the file's inode and modification time with those seen at the last
    (re)connection. After an atomic swap they differ, so the next call opens the new file; the
    old connection is closed only after the new one is open. Each call returns a cursor of its
    own, safe to use from one thread.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._con: duckdb.DuckDBPyConnection | None = None
        self._stamp: tuple[int, int] | None = None

    def _file_stamp(self) -> tuple[int, int]:
        st = os.stat(self.path)
        return (st.st_ino, st.st_mtime_ns)

    def get(self) -> duckdb.DuckDBPyConnection:
        """Return a cursor on the current database file."""
        with self._lock:
            stamp = self._file_stamp()
            if self._con is None or stamp != self._stamp:
                old = self._con
                self._con = connect(self.path, read_only=True)
                self._stamp = stamp
                if old is not None:
                    with contextlib.suppress(Exception):
                        old.close()
            return cursor(self._con)
