"""Travel-time matrices (walk, bike, car, transit) from every pupil origin to every offer location.

Build stage :func:`build_travel_times` (called by ``analysis.build``) reads ``communes``,
``schools`` and ``offer_locations`` from the database and writes:

- ``travel_times(origin_kind, origin_id, loc_id, mode, minutes, is_estimate)``: one row per
  pair and mode, only up to ``max_minutes`` (default 90);
- the view ``offer_travel_times(origin_kind, origin_id, offer_id, mode, minutes, is_estimate)``;
- ``travel_time_runs(mode, network_source, precision, params, computed_at, seconds, ...)``.

Road modes run on :mod:`analysis.network.roads` graphs with :mod:`analysis.network.paths`; ``transit`` calls
``analysis.transit`` (the Connection Scan engine) and is skipped with a message when that
module or the timetables are unavailable.

The package reads like the stage:

- :mod:`analysis.traveltime.settings`: the modes, the default network, :class:`TravelTimeSettings`;
- :mod:`analysis.traveltime.tables`: the DDL of the tables, :func:`record_run` and the reads of
  the points (:func:`read_origins`, :func:`read_destinations`, :func:`read_communes`);
- :mod:`analysis.traveltime.matrix`: :class:`RoadNetworks` and :class:`TravelTimeMatrix`;
- :mod:`analysis.traveltime.stage`: the build stage :func:`build_travel_times`;
- :mod:`analysis.traveltime.route`: one trip with its legs (:func:`road_route`, :func:`route`);
- :mod:`analysis.traveltime.extent`: where a trip may start or end (:func:`snap_check` refuses a
  point farther from the mode's network than its snapping limit, :class:`OutOfNetworkError`);
- :mod:`analysis.traveltime.cli`: the command line.

This module re-exports the public API, so callers write ``from analysis import traveltime`` and
``traveltime.build_travel_times(...)``; to replace a function in a test, patch the module where it
is looked up (e.g. ``traveltime.stage.read_origins``).

Command line (one trip, JSON on stdout)::

    python -m analysis.traveltime route --mode car --from -0.3707,49.1829 --to 1.0993,49.4431
"""

from __future__ import annotations

from analysis.traveltime.cli import main
from analysis.traveltime.extent import OutOfNetworkError, mode_network, snap_check, snap_limit_m
from analysis.traveltime.matrix import RoadNetworks, TravelTimeMatrix, needs_direct_cap
from analysis.traveltime.route import road_route, route
from analysis.traveltime.settings import ALL_MODES, ONLINE, ROAD_MODES, SKELETON_RELPATH, TravelTimeSettings
from analysis.traveltime.stage import build_travel_times
from analysis.traveltime.tables import (
    OFFER_VIEW_SQL,
    TRAVEL_TIMES_DDL,
    points_area,
    read_communes,
    read_destinations,
    read_origins,
    record_run,
)

__all__ = [
    "ALL_MODES",
    "OFFER_VIEW_SQL",
    "ONLINE",
    "OutOfNetworkError",
    "ROAD_MODES",
    "SKELETON_RELPATH",
    "TRAVEL_TIMES_DDL",
    "RoadNetworks",
    "TravelTimeMatrix",
    "TravelTimeSettings",
    "build_travel_times",
    "main",
    "mode_network",
    "needs_direct_cap",
    "points_area",
    "read_communes",
    "read_destinations",
    "read_origins",
    "record_run",
    "road_route",
    "route",
    "snap_check",
    "snap_limit_m",
]
