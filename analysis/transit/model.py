"""Parameters of the public-transport model and its small helpers.

Owns the defaults of the model (walking speed and detour factor, access and transfer limits,
the morning window, the internship fortnight), the ``"HH:MM"`` time parsing and formatting, and
the straight-line walking geometry (points on a sphere, great-circle distances, all pairs of
points within a distance). Every other module of :mod:`analysis.transit` reads them from here.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy.spatial import cKDTree

Progress = Callable[[str, "float | None"], None]

EARTH_RADIUS_M = 6_371_008.8
#: Straight-line distance is multiplied by this factor to estimate walked distance.
DETOUR_FACTOR = 1.3
WALK_KMH = 4.5
#: Longest walk, in minutes, from the origin to the first stop and from the last stop to the
#: destination (a time cap, not a distance: its straight-line radius follows the walking speed
#: and the detour factor, :func:`access_radius_m`). The walk counts in the door-to-door minutes.
MAX_ACCESS_MIN = 30.0
MAX_TRANSFER_M = 400.0
DEPART_FROM = "07:00"
DEPART_TO = "08:30"
ARRIVE_BY = "09:00"
#: The June internship fortnight (month, first day, last day) used to pick the service date.
INTERNSHIP_FORTNIGHT = (6, 15, 26)
#: Label of a stop not reached by a scan (seconds; far beyond any service day).
UNREACHED = np.int32(2**30)
#: Seconds in a day (trips of the day before are shifted by it).
DAY_S = 86400


def parse_hhmm(value: str | int | float) -> int:
    """``"07:30"`` (or ``"07:30:00"``, or seconds) -> seconds since midnight."""
    if isinstance(value, (int, float, np.integer, np.floating)):
        return int(value)
    parts = str(value).strip().split(":")
    if len(parts) not in (2, 3) or not all(p.isdigit() for p in parts):
        raise ValueError(f"heure invalide « {value} » (format HH:MM attendu)")
    h, m = int(parts[0]), int(parts[1])
    s = int(parts[2]) if len(parts) == 3 else 0
    return h * 3600 + m * 60 + s


def format_hhmm(seconds: float) -> str:
    """Seconds since midnight -> ``"HH:MM"`` (hours past 24 kept, seconds rounded down)."""
    s = int(math.floor(seconds))
    return f"{s // 3600:02d}:{(s % 3600) // 60:02d}"


def lonlat_to_xyz(lonlat: np.ndarray) -> np.ndarray:
    """Points (n, 2) lon/lat in degrees -> (n, 3) metres on a sphere (chord = straight line)."""
    ll = np.radians(np.asarray(lonlat, dtype=float).reshape(-1, 2))
    lon, lat = ll[:, 0], ll[:, 1]
    c = np.cos(lat)
    return EARTH_RADIUS_M * np.column_stack([c * np.cos(lon), c * np.sin(lon), np.sin(lat)])


def _chord_for(dist_m: float) -> float:
    return 2 * EARTH_RADIUS_M * math.sin(min(dist_m, 1e7) / (2 * EARTH_RADIUS_M))


def _arc(chord: np.ndarray) -> np.ndarray:
    return 2 * EARTH_RADIUS_M * np.arcsin(np.clip(np.asarray(chord) / (2 * EARTH_RADIUS_M), 0, 1))


def haversine_m(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Great-circle distance in metres between lon/lat arrays ``a`` (..., 2) and ``b`` (..., 2)."""
    a = np.radians(np.asarray(a, dtype=float))
    b = np.radians(np.asarray(b, dtype=float))
    dlon = b[..., 0] - a[..., 0]
    dlat = b[..., 1] - a[..., 1]
    h = np.sin(dlat / 2) ** 2 + np.cos(a[..., 1]) * np.cos(b[..., 1]) * np.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0, 1)))


def walk_seconds(dist_m, walk_kmh: float = WALK_KMH, detour: float = DETOUR_FACTOR):
    """Walking time (s) for a straight-line distance: ``dist x detour / speed``."""
    return np.asarray(dist_m, dtype=float) * detour / (walk_kmh / 3.6)


def access_radius_m(
    max_walk_min: float = MAX_ACCESS_MIN, walk_kmh: float = WALK_KMH, detour: float = DETOUR_FACTOR
) -> float:
    """Straight-line radius (m) of a walk of at most ``max_walk_min`` minutes.

    The inverse of :func:`walk_seconds`: ``max_walk_min x 60 x speed / detour``. With the
    defaults (30 min, 4.5 km/h, detour 1.3): 1,731 m.

    Examples
    --------
    >>> round(access_radius_m(30.0, 4.5, 1.3))
    1731
    """
    if not (max_walk_min >= 0 and walk_kmh > 0 and detour > 0):
        raise ValueError(f"marche d'accès invalide : {max_walk_min} min à {walk_kmh} km/h, détour {detour}")
    return float(max_walk_min) * 60.0 * (walk_kmh / 3.6) / detour


#: Straight-line radius of the default access cap (30 min at 4.5 km/h, detour 1.3: 1,731 m).
MAX_ACCESS_M = access_radius_m()


def pairs_within(a_xyz: np.ndarray, b_xyz: np.ndarray, max_m: float):
    """All pairs (i in a, j in b) closer than ``max_m`` metres: (i, j, distance_m) arrays."""
    if len(a_xyz) == 0 or len(b_xyz) == 0:
        e = np.zeros(0, dtype=np.int64)
        return e, e, np.zeros(0)
    ta, tb = cKDTree(a_xyz), cKDTree(b_xyz)
    sdm = ta.sparse_distance_matrix(tb, _chord_for(max_m), output_type="coo_matrix")
    i, j, d = sdm.row.astype(np.int64), sdm.col.astype(np.int64), _arc(sdm.data)
    # sparse_distance_matrix drops exact zeros: add the coincident pairs back
    zi, zj = _coincident(ta, tb)
    if len(zi):
        have = set(zip(i.tolist(), j.tolist()))
        extra = [(x, y) for x, y in zip(zi.tolist(), zj.tolist()) if (x, y) not in have]
        if extra:
            ex = np.array(extra, dtype=np.int64)
            i = np.concatenate([i, ex[:, 0]])
            j = np.concatenate([j, ex[:, 1]])
            d = np.concatenate([d, np.zeros(len(ex))])
    keep = d <= max_m
    return i[keep], j[keep], d[keep]


def _coincident(ta: cKDTree, tb: cKDTree):
    lists = ta.query_ball_tree(tb, 1e-6)
    ii = [k for k, lst in enumerate(lists) for _ in lst]
    jj = [x for lst in lists for x in lst]
    return np.array(ii, dtype=np.int64), np.array(jj, dtype=np.int64)
