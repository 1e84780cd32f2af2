"""GTFS loading: read any GTFS zip or folder, validate it, load it into DuckDB.

A feed is read as text (every field a string), validated (required files and columns, times,
dates, coordinates, references between files) and loaded into the ``transit_*`` tables,
restricted to Normandie plus a margin. Several feeds can be loaded in the same database: each
row carries a ``feed_id`` and every identifier is prefixed with ``"<feed_id>:"`` so that ids
from two feeds never collide (the original id is kept in a ``gtfs_*_id`` column).

A feed without ``stop_times.txt`` (such as the partial Astuce snapshot in the mirror) is loaded
with a warning: its stops, routes, trips and calendar are kept, ``transit_feeds.has_stop_times``
is false, and :class:`analysis.transit.TransitNetwork` refuses to route on it with a
:class:`GTFSError`.

Tables created (see ``docs/schema.md``, section ``analysis.gtfs``): ``transit_feeds``,
``transit_stops``, ``transit_routes``, ``transit_trips``, ``transit_stop_times``,
``transit_calendar``, ``transit_calendar_dates``.

The package's modules follow the loading:

- :mod:`~analysis.gtfs.feed`: required files and columns, :class:`GTFSError`, :class:`Feed`;
- :mod:`~analysis.gtfs.reading`: :func:`read_feed` (zip or folder, read as text, then validated);
- :mod:`~analysis.gtfs.validation`: column checks and the rules of each file;
- :mod:`~analysis.gtfs.timetable`: sorted and interpolated stop times, frequencies expanded;
- :mod:`~analysis.gtfs.load`: :func:`load_into`, the ``transit_*`` tables.

Their public names are re-exported here (``from analysis import gtfs; gtfs.load_into``).
"""

from __future__ import annotations

from analysis.gtfs.feed import (
    OPTIONAL_FILES,
    REQUIRED_COLUMNS,
    REQUIRED_FILES,
    TABLES,
    WEEKDAYS,
    Feed,
    GTFSError,
    GTFSWarning,
    Progress,
)
from analysis.gtfs.load import default_feed_id, load_into
from analysis.gtfs.reading import read_feed
from analysis.gtfs.timetable import expand_frequencies
from analysis.gtfs.validation import parse_gtfs_time

__all__ = [
    "OPTIONAL_FILES",
    "REQUIRED_COLUMNS",
    "REQUIRED_FILES",
    "TABLES",
    "WEEKDAYS",
    "Feed",
    "GTFSError",
    "GTFSWarning",
    "Progress",
    "default_feed_id",
    "expand_frequencies",
    "load_into",
    "parse_gtfs_time",
    "read_feed",
]
