"""The SYNTHETIC line shared by the road, path and travel-time tests (not real data).

Five points A..E along the 49.10 parallel (the positions of the stops of the synthetic GTFS
``tests/fixtures/gtfs/synthetic_line``), a road GeoJSON along them, and an independent geodesic
distance (pyproj, WGS84 ellipsoid) to hand-compute expected minutes.
"""

from __future__ import annotations

import json
from pathlib import Path

from pyproj import Geod

GEOD = Geod(ellps="WGS84")
LAT0 = 49.10
#: longitudes of A..E (same as the synthetic GTFS stops)
X = {"A": -0.400000, "B": -0.331319, "C": -0.235165, "D": -0.125275, "E": -0.056593}


def geod_m(a, b) -> float:
    """Independent geodesic distance (pyproj, WGS84 ellipsoid) between two lon/lat points, metres."""
    return GEOD.inv(a[0], a[1], b[0], b[1])[2]


def north_of(lon: float, metres: float) -> tuple[float, float]:
    """The point ``metres`` north of (``lon``, LAT0)."""
    lon2, lat2, _ = GEOD.fwd(lon, LAT0, 0.0, metres)
    return lon2, lat2


def write_line_roads(path: Path) -> Path:
    """Write one 'secondary' road A-B-C-D-E along the line as GeoJSON to ``path``; return it."""
    names = list(X)
    feats = [
        {
            "type": "Feature",
            "properties": {"highway": "secondary"},
            "geometry": {"type": "LineString", "coordinates": [[X[a], LAT0], [X[b], LAT0]]},
        }
        for a, b in zip(names[:-1], names[1:], strict=False)
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    return path
