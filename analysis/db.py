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
import os
import shutil
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import duckdb

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
        raise RuntimeError(
            "Le paquet duckdb-extension-spatial est absent : pip install -r requirements.txt"
        ) from exc
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


def connect(path: str | os.PathLike | None = None, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open a DuckDB connection with the spatial extension loaded.

    Parameters
    ----------
    path : path-like, optional
        Database file; ``None`` or ``":memory:"`` for an in-memory database.
    read_only : bool
        Open the file read-only (required for concurrent readers).

    Returns
    -------
    duckdb.DuckDBPyConnection
    """
    target = ":memory:" if path is None else str(path)
    if read_only and target != ":memory:":
        if not Path(target).exists():
            raise FileNotFoundError(
                f"Base de données introuvable : {target}. Lancez « python -m analysis.build »."
            )
        # duckdb.connect(path) would hand back a cached instance of a file that has since been
        # swapped on disk; attaching it to a private in-memory instance always reads the file
        # that is there now.
        con = duckdb.connect(":memory:")
        load_spatial(con)
        con.execute(f"ATTACH '{_sql_str(target)}' AS {READER_ALIAS} (READ_ONLY)")
        con.execute(f"USE {READER_ALIAS}")
        return con
    con = duckdb.connect(target, read_only=read_only)
    load_spatial(con)
    return con


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
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


_THREAD_LOCK = threading.RLock()


@contextlib.contextmanager
def database_copy(target: str | os.PathLike) -> Iterator[duckdb.DuckDBPyConnection]:
    """A writable copy of ``target`` that replaces it atomically on success.

    The live file is copied byte for byte to ``<target>.tmp-import-<pid>-<uuid>``; the caller
    writes there; on success the copy is checkpointed, closed and moved over ``target`` with
    :func:`os.replace`. On any exception the copy is deleted and ``target`` is untouched.
    Readers holding the old file keep reading it; :class:`analysis.db.ReaderCache` reopens.
    """
    target = Path(target)
    tmp = target.with_name(f"{target.name}.tmp-import-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    with write_lock(target):
        with open(target, "rb") as src, open(tmp, "wb") as dst:
            shutil.copyfileobj(src, dst, 16 * 1024 * 1024)
        wal = Path(str(target) + ".wal")
        if wal.exists():  # a database left with a write-ahead log: copy it too
            shutil.copyfile(wal, str(tmp) + ".wal")
        con = None
        try:
            con = connect(tmp)
            yield con
            con.execute("CHECKPOINT")
            con.close()
            con = None
            os.replace(tmp, target)
        finally:
            if con is not None:
                with contextlib.suppress(Exception):
                    con.close()
            for p in (tmp, Path(str(tmp) + ".wal")):
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
        """).fetchall()
    return {r[0] for r in rows}


def has_relation(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """True when a table or view ``name`` exists in the current database (or as a temp table)."""
    return name in relations(con)


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
