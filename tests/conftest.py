"""Shared pytest fixtures.

- ``source_dir``: the real open-data mirror (``../shared/data``); tests using it are skipped
  only when the mirror is absent.
- ``base_db``: a database built from the mirror with the base stages only (no GTFS, no travel
  times), once per test session, in a temporary folder.
- ``real_con``: a read-only connection to the real built database (``build.ensure_database``),
  once per module; tests using it are skipped when that database has no travel times.
- ``mirror_link_tree``: a function making a copy of the mirror made of symbolic links, in which
  a test can replace one file (to corrupt it) without touching the mirror.

Markers (registered in ``pyproject.toml``), set here on every collected test so that a new test
gets them without anyone remembering (:func:`pytest_collection_modifyitems`):

- ``browser``: the test starts the app server or Chromium (a fixture or the test itself uses
  ``AppServer``, Playwright, ``launch_chromium``; or it is skipped when Chromium is absent);
- ``mirror``: the test needs the open-data mirror ``../shared/data`` or the built database
  (a fixture or the test itself uses ``source_dir``, ``base_db``, ``real_con``,
  ``build.ensure_database``, ``config.default_source_dir`` or ``config.default_db_path``; or it is
  skipped when the mirror is absent).

``make test-fast`` runs ``pytest -m "not browser and not mirror"``; ``make test`` runs everything.
A test needing the mirror in a way these rules cannot see carries ``@pytest.mark.mirror``.
"""

from __future__ import annotations

import functools
import inspect
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


# --------------------------------------------------------------------------- markers

BROWSER_WORDS = ("AppServer(", "sync_playwright", "launch_chromium", "chromium")
MIRROR_WORDS = ("ensure_database(", "default_source_dir(", "default_db_path(", "../shared", "miroir", "mirror data")
MIRROR_FIXTURES = frozenset({"source_dir", "base_db", "base_con", "real_con", "mirror_link_tree"})


@functools.cache
def _source(func) -> str:
    """The source text of a test or fixture function ('' when it cannot be read)."""
    try:
        return inspect.getsource(func)
    except (OSError, TypeError):
        return ""


def _with_helpers(func, depth: int = 3) -> list:
    """``func`` and the functions of its own module it calls, transitively (``depth`` levels)."""
    out, todo = [], [func]
    for _ in range(depth + 1):
        nxt = []
        for f in todo:
            if f in out or not inspect.isfunction(f):
                continue
            out.append(f)
            names = f.__code__.co_names + tuple(
                n for c in f.__code__.co_consts if inspect.iscode(c) for n in c.co_names
            )
            for name in names:
                g = f.__globals__.get(name)
                if inspect.isfunction(g) and g.__module__ == f.__module__:
                    nxt.append(g)
        todo = nxt
    return out


def _needs(item) -> tuple[bool, bool]:
    """(browser, mirror): what the test item needs, read from the source of its fixtures, of
    itself and of the helpers of its module they call, and from its skip conditions."""
    info = getattr(item, "_fixtureinfo", None)
    funcs = [getattr(item, "function", None)]
    if info is not None:
        funcs += [d.func for defs in info.name2fixturedefs.values() for d in defs]
    funcs = [h for f in funcs if f is not None for h in _with_helpers(f)]
    text = "\n".join(_source(f) for f in funcs)
    reasons = " ".join(str(m.kwargs.get("reason", "")) for m in item.iter_markers("skipif")).lower()
    browser = any(w in text for w in BROWSER_WORDS) or "chromium" in reasons
    mirror = bool(MIRROR_FIXTURES & set(getattr(item, "fixturenames", ())))
    mirror = mirror or any(w in text for w in MIRROR_WORDS) or "mirror" in reasons or "miroir" in reasons
    return browser, mirror


def pytest_collection_modifyitems(config, items) -> None:
    """Mark every test ``browser`` and/or ``mirror`` from what it uses (see the module docstring)."""
    for item in items:
        browser, mirror = _needs(item)
        if browser and not item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.browser)
        if mirror and not item.get_closest_marker("mirror"):
            item.add_marker(pytest.mark.mirror)
