"""The app's read-only database handle and its version stamp (shared by ui.core and ui.data)."""

from __future__ import annotations

import os

import streamlit as st

from analysis import config
from analysis.db import ReaderCache


def db_path() -> str:
    """The database file the app reads (``$OBSERVATOIRE_DB`` or ``data/observatoire.duckdb``)."""
    return str(config.default_db_path())


@st.cache_resource(show_spinner=False)
def _reader(path: str) -> ReaderCache:
    return ReaderCache(path)


def con():
    """A read-only cursor on the current database (one cached connection, follows swaps)."""
    return _reader(db_path()).get()


def db_version() -> int:
    """Modification stamp of the database file, passed to cached functions so that a rebuild
    (atomic swap) invalidates them."""
    try:
        path = db_path()
        st_ = os.stat(path)
        # the path is part of the stamp: two database files never share a version (cached reads
        # are keyed on it; a file swapped in place changes inode and modification time)
        return hash((path, int(st_.st_mtime_ns), int(st_.st_ino), int(st_.st_size))) & ((1 << 62) - 1)
    except OSError:
        return 0
