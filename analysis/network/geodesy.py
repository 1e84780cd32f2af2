"""Distances on the sphere, shared by the road graphs (:mod:`analysis.network.roads`) and the array
router (:mod:`analysis.network.paths`).

A sphere of the mean Earth radius is accurate to ~0.5 % over Normandie, well within the
detour factor applied to straight lines (checked against the WGS84 ellipsoid in
``tests/test_paths.py``).
"""

from __future__ import annotations

import numpy as np

#: Mean Earth radius (IUGG), metres.
EARTH_RADIUS_M = 6_371_008.8


def haversine_m(lon1, lat1, lon2, lat2) -> np.ndarray:
    """Great-circle distance in metres (numpy broadcasting; degrees in)."""
    lon1, lat1, lon2, lat2 = (np.radians(np.asarray(a, dtype=float)) for a in (lon1, lat1, lon2, lat2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def unit_vectors(lon, lat) -> np.ndarray:
    """Points in degrees -> (n, 3) unit vectors (chord distance grows with the arc: k-d trees)."""
    lon, lat = np.radians(np.asarray(lon, dtype=float)), np.radians(np.asarray(lat, dtype=float))
    return np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])
