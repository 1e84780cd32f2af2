"""What a GTFS feed is for the project: its files and columns, its errors, :class:`Feed`.

Owns the lists of required and optional files and columns, the weekday columns, the names of
the ``transit_*`` tables, :class:`GTFSError` (naming file, row and field), :class:`GTFSWarning`
and the :class:`Feed` read as text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis.errors import DataError

Progress = Callable[[str, "float | None"], None]

#: Required columns of each GTFS file read by the project.
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "stops.txt": ("stop_id", "stop_lat", "stop_lon"),
    "routes.txt": ("route_id", "route_type"),
    "trips.txt": ("route_id", "service_id", "trip_id"),
    "stop_times.txt": ("trip_id", "arrival_time", "departure_time", "stop_id", "stop_sequence"),
    "calendar.txt": (
        "service_id",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "start_date",
        "end_date",
    ),
    "calendar_dates.txt": ("service_id", "date", "exception_type"),
    "frequencies.txt": ("trip_id", "start_time", "end_time", "headway_secs"),
}
#: Files without which a feed cannot be loaded at all.
REQUIRED_FILES: tuple[str, ...] = ("stops.txt", "routes.txt", "trips.txt")
#: Other files read when present.
OPTIONAL_FILES: tuple[str, ...] = (
    "stop_times.txt",
    "calendar.txt",
    "calendar_dates.txt",
    "agency.txt",
    "feed_info.txt",
    "frequencies.txt",
)
WEEKDAYS: tuple[str, ...] = (
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
)
TABLES: tuple[str, ...] = (
    "transit_feeds",
    "transit_stops",
    "transit_routes",
    "transit_trips",
    "transit_stop_times",
    "transit_calendar",
    "transit_calendar_dates",
)


class GTFSError(DataError):
    """A GTFS feed is missing a file, a column, or holds a bad value.

    The message names the file (inside the zip: ``feed.zip/stop_times.txt``), the 1-based data
    row (header excluded) and the field where they apply.
    """


class GTFSWarning(UserWarning):
    """A GTFS feed is usable only in part (e.g. no ``stop_times.txt``: no routing)."""


@dataclass
class Feed:
    """A GTFS feed read as text.

    Attributes
    ----------
    path : pathlib.Path
        The zip file or folder.
    tables : dict of str to pandas.DataFrame
        File name (``"stops.txt"``) to its content, every column as ``str`` (empty string for
        missing values).
    warnings : list of str
        Problems that do not prevent loading (in French, user-facing).
    """

    path: Path
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def has(self, name: str) -> bool:
        """Whether the feed holds the file ``name`` (e.g. ``"calendar.txt"``)."""
        return name in self.tables

    def where(self, name: str) -> str:
        """Display path of one file of the feed, for error messages."""
        return f"{self.path}/{name}"

    @property
    def has_stop_times(self) -> bool:
        """Whether the feed has a timetable (``stop_times.txt`` with at least one row)."""
        return self.has("stop_times.txt") and len(self.tables["stop_times.txt"]) > 0
