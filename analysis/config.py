"""Where the source data and the database live, and the default analysis parameters.

Every path can be overridden on the command line or by environment variable (read by
:mod:`analysis.settings`, the one module that reads the environment):

- ``OBSERVATOIRE_SOURCE``: the source directory (a mirror of the official open data).
  Default: ``../shared/data`` beside the project root when it exists.
- ``OBSERVATOIRE_DB``: the DuckDB database file. Default: ``data/observatoire.duckdb``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from analysis import settings as env_settings

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

#: Default analysis parameters; the modes are :data:`analysis.catalogue.MODES`.
DEFAULT_BUDGETS_MIN: tuple[int, ...] = (15, 30, 45, 60)
DEFAULT_MAX_MINUTES = 90

#: The default view, « transports en commun, 45 min »: the defaults of
#: :class:`analysis.access.Filters`, of the pages' filters and of the scenario evaluation
#: (written here only; ``tests/test_filters.py`` fails if a literal copy reappears).
DEFAULT_MODE = "transit"
DEFAULT_BUDGET_MIN = 45


def default_source_dir() -> Path | None:
    """Return the source directory to read, or None when none is found.

    Returns
    -------
    pathlib.Path or None
        ``$OBSERVATOIRE_SOURCE`` when set, else ``../shared/data`` beside the project root
        when it exists.
    """
    env = env_settings.current().source
    if env:
        return Path(env).expanduser().resolve()
    candidate = PROJECT_ROOT.parent / "shared" / "data"
    if candidate.is_dir():
        return candidate.resolve()
    return None


def default_db_path() -> Path:
    """Return the database path (``$OBSERVATOIRE_DB`` or ``data/observatoire.duckdb``)."""
    env = env_settings.current().db
    if env:
        return Path(env).expanduser().resolve()
    return DATA_DIR / "observatoire.duckdb"


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class IndicatorSettings:
    """Parameters of the indicator stage (:func:`analysis.access.build_tables`).

    Attributes
    ----------
    regional_pupils_total : float, optional
        Regional seconde total spread over the communes; default: the sum of the lycée headcounts.
    modes : tuple of str, optional
        Modes precomputed; default: every mode of the indicators.
    budgets : tuple of int
        Time budgets (minutes) precomputed.
    service_date : datetime.date, optional
        Day on which the morning departures are counted; default: the transit runs' date.
    """

    regional_pupils_total: float | None = None
    modes: tuple[str, ...] | None = None
    budgets: tuple[int, ...] = DEFAULT_BUDGETS_MIN
    service_date: dt.date | None = None

    @classmethod
    def of(cls, settings: IndicatorSettings | BuildSettings | Mapping[str, object] | None) -> IndicatorSettings:
        """The indicator settings of ``settings``: itself, a build's ``indicators``, a mapping of
        fields (unknown keys rejected), or the defaults for None."""
        if settings is None:
            return cls()
        if isinstance(settings, cls):
            return settings
        if isinstance(settings, BuildSettings):
            return settings.indicators
        values = dict(settings)
        unknown = sorted(set(values) - set(cls.__dataclass_fields__))
        if unknown:
            raise TypeError(f"unknown indicator setting(s): {', '.join(unknown)}")
        for key in ("modes", "budgets"):
            if values.get(key) is not None:
                values[key] = tuple(values[key])
        return cls(**values)


class TravelSettingsLike(Protocol):
    """What this module knows of the travel-time stage's settings
    (:class:`analysis.traveltime.TravelTimeSettings`, which satisfies it).

    The configuration is the ground floor: it names no type of the layers above it, not even
    for annotations (no import, type-only included), so the import graph has no loop.
    """

    modes: tuple[str, ...]
    max_minutes: float


@dataclass
class BuildSettings:
    """What to build and from where (:func:`analysis.build.build`).

    Attributes
    ----------
    source_dir : pathlib.Path or None
        Directory of source data (mirror layout, see ``data/sources.csv``).
    db_path : pathlib.Path
        Target database file.
    gtfs : list of pathlib.Path
        GTFS feeds (zip or folder) to load; default: the TER feed of the source directory plus
        any Atoumod aggregate found there.
    travel_times : bool
        Compute the travel-time matrices (and the indicators that depend on them).
    replay_imports : bool
        Replay the imports recorded in the database being replaced (offers, collective projects,
        mobility services imported from the Import page or ``python -m analysis.imports``).
    travel : TravelSettingsLike or mapping, optional
        Parameters of the travel-time stage (an :class:`analysis.traveltime.TravelTimeSettings`,
        or a mapping of its fields); default: its defaults with ``source_dir``.
    indicators : IndicatorSettings
        Parameters of the indicator stage.
    """

    source_dir: Path | None
    db_path: Path
    gtfs: list[Path] = field(default_factory=list)
    travel_times: bool = True
    replay_imports: bool = True
    travel: TravelSettingsLike | Mapping[str, object] | None = None
    indicators: IndicatorSettings = field(default_factory=IndicatorSettings)
