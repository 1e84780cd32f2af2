"""Where the source data and the database live, and the default analysis parameters.

Every path can be overridden on the command line or by environment variable:

- ``OBSERVATOIRE_SOURCE``: the source directory (a mirror of the official open data).
  Default: ``../shared/data`` beside the project root when it exists.
- ``OBSERVATOIRE_DB``: the DuckDB database file. Default: ``data/observatoire.duckdb``.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT: Path = Path(__file__).resolve().parent.parent
DATA_DIR: Path = PROJECT_ROOT / "data"

#: Normandie départements (INSEE codes).
DEPARTEMENTS: tuple[str, ...] = ("14", "27", "50", "61", "76")
REGION_CODE = "28"
REGION_NAME = "Normandie"

#: Bounding box of Normandie (lon_min, lat_min, lon_max, lat_max), WGS84.
NORMANDIE_BBOX: tuple[float, float, float, float] = (-1.96, 48.17, 1.81, 50.08)
#: Margin (degrees) added to the bbox when keeping transport data around the region.
BBOX_MARGIN_DEG = 0.2

#: Default analysis parameters (issue 3 / 4); the modes are :data:`analysis.catalogue.MODES`.
DEFAULT_BUDGETS_MIN: tuple[int, ...] = (15, 30, 45, 60)
DEFAULT_MAX_MINUTES = 90


def default_source_dir() -> Path | None:
    """Return the source directory to read, or None when none is found.

    Returns
    -------
    pathlib.Path or None
        ``$OBSERVATOIRE_SOURCE`` when set, else ``../shared/data`` beside the project root
        when it exists.
    """
    env = os.environ.get("OBSERVATOIRE_SOURCE")
    if env:
        return Path(env).expanduser().resolve()
    candidate = PROJECT_ROOT.parent / "shared" / "data"
    if candidate.is_dir():
        return candidate.resolve()
    return None


def default_db_path() -> Path:
    """Return the database path (``$OBSERVATOIRE_DB`` or ``data/observatoire.duckdb``)."""
    env = os.environ.get("OBSERVATOIRE_DB")
    if env:
        return Path(env).expanduser().resolve()
    return DATA_DIR / "observatoire.duckdb"
