"""Shared pytest fixtures.

- ``source_dir``: the real open-data mirror (``../shared/data``); tests using it are skipped
  only when the mirror is absent.
- ``base_db``: a database built from the mirror with the base stages only (no GTFS, no travel
  times), once per test session, in a temporary folder.
- ``real_con``: a read-only connection to the real built database (``build.ensure_database``),
  once per module; tests using it are skipped when that database has no travel times.
- ``mirror_link_tree``: a function making a copy of the mirror made of symbolic links, in which
  a test can replace one file (to corrupt it) without touching the mirror.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from analysis.config import default_source_dir  # noqa: E402


@pytest.fixture(scope="session")
def source_dir() -> Path:
    src = default_source_dir()
    if src is None or not src.is_dir():
        pytest.skip("miroir de données ../shared/data absent")
    return src


@pytest.fixture(scope="session")
def base_db(source_dir, tmp_path_factory) -> Path:
    from analysis.build import BuildSettings, build
    from analysis.progress import silent

    path = tmp_path_factory.mktemp("base") / "base.duckdb"
    build(BuildSettings(source_dir=source_dir, db_path=path, gtfs=[], travel_times=False), silent)
    return path


@pytest.fixture()
def base_con(base_db):
    from analysis import db

    con = db.connect(base_db, read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="module")
def real_con():
    from analysis import access, build, db

    con = db.connect(build.ensure_database(), read_only=True)
    if not access.has_relation(con, "travel_times"):
        con.close()
        pytest.skip("base sans temps de trajet")
    yield con
    con.close()


@pytest.fixture()
def mirror_link_tree(source_dir, tmp_path):
    """Return make(): a tree of symlinks to every mirror file, under tmp_path/'src'."""

    def make() -> Path:
        dst = tmp_path / "src"
        for dirpath, _dirs, files in os.walk(source_dir):
            rel = Path(dirpath).relative_to(source_dir)
            (dst / rel).mkdir(parents=True, exist_ok=True)
            for f in files:
                os.symlink(Path(dirpath) / f, dst / rel / f)
        return dst

    return make
