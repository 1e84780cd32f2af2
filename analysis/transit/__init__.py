"""Public-transport travel times: a Connection Scan (CSA) engine on numpy arrays.

The timetable of ONE service date is turned into a sorted array of *connections* (a vehicle
going from one stop to the next stop of its trip). Earliest arrivals are found by scanning
these connections once (Dibbelt, Pajor, Strasser & Wagner, "Connection Scan Algorithm",
2013/2018), either forward for many starting points at once (labels are a 2-D array
``(stops, starts)``, :func:`earliest_arrivals`) or backward as a profile scan for all
destinations at once (:func:`profile_arrive`), so that each connection costs a handful of
numpy operations on vectors. Both give identical results; ``transit_matrix(method="auto")``
picks the cheaper one.

Model (see ``docs/transit.md`` for the full definition of the ``minutes`` figure):

- walking: straight-line (great-circle) distance x :data:`DETOUR_FACTOR` at ``walk_kmh``;
- access (home -> first stop) and egress (last stop -> destination): one walk each, of at most
  ``max_access_min`` minutes (:data:`MAX_ACCESS_MIN`, 30 min: a time cap, its straight-line
  radius follows the speed and detour, :func:`access_radius_m`); the walk counts in the minutes;
- transfers: after alighting, at most one walk to another stop at most ``max_transfer_m``
  straight-line metres away (0 s to change vehicles at the same stop; GTFS ``transfers.txt``
  is not used);
- a trip is boarded only where ``pickup_type != 1`` and left only where ``drop_off_type != 1``;
- service days follow ``calendar`` and ``calendar_dates``; trips of the day before whose times
  run past 24:00 are included, shifted by -24 h;
- walking the whole way (no vehicle) is also an option of the mode, when it arrives in time.

The package's modules follow the computation:

- :mod:`~analysis.transit.model`: the model's defaults, time parsing, straight-line walking
  geometry;
- :mod:`~analysis.transit.service`: service days (calendar), the default service date, the
  morning departures per stop;
- :mod:`~analysis.transit.network`: :class:`TransitNetwork`, the connections of one date;
- :mod:`~analysis.transit.scan`: the forward and backward (profile) scans;
- :mod:`~analysis.transit.matrix`: :func:`transit_matrix`, minutes for origins x destinations;
- :mod:`~analysis.transit.route`: :func:`transit_route`, one journey with its legs.

Their public names are re-exported here (``from analysis import transit; transit.transit_matrix``).
"""

from __future__ import annotations

from analysis.gtfs import GTFSError
from analysis.transit.matrix import transit_matrix
from analysis.transit.model import (
    ARRIVE_BY,
    DEPART_FROM,
    DEPART_TO,
    DETOUR_FACTOR,
    EARTH_RADIUS_M,
    INTERNSHIP_FORTNIGHT,
    MAX_ACCESS_M,
    MAX_ACCESS_MIN,
    MAX_TRANSFER_M,
    WALK_KMH,
    Progress,
    access_radius_m,
    format_hhmm,
    haversine_m,
    lonlat_to_xyz,
    pairs_within,
    parse_hhmm,
    walk_seconds,
)
from analysis.transit.network import TransitNetwork
from analysis.transit.route import transit_route
from analysis.transit.scan import earliest_arrivals
from analysis.transit.service import active_service_ids, default_service_date, morning_departures

__all__ = [
    "ARRIVE_BY",
    "DEPART_FROM",
    "DEPART_TO",
    "DETOUR_FACTOR",
    "EARTH_RADIUS_M",
    "GTFSError",
    "INTERNSHIP_FORTNIGHT",
    "MAX_ACCESS_M",
    "MAX_ACCESS_MIN",
    "MAX_TRANSFER_M",
    "WALK_KMH",
    "Progress",
    "TransitNetwork",
    "access_radius_m",
    "active_service_ids",
    "default_service_date",
    "earliest_arrivals",
    "format_hhmm",
    "haversine_m",
    "lonlat_to_xyz",
    "morning_departures",
    "pairs_within",
    "parse_hhmm",
    "transit_matrix",
    "transit_route",
    "walk_seconds",
]
