"""Trips inside one commune: an expected distance instead of a zero.

Pupils of a commune are counted at one point (its town hall, ``communes.lon/lat``) and the
platform's offers are placed at the same point (their exact address is unknown). Routed between
identical points, a pupil's trip to an offer of their own commune would take 0 minutes. In
reality both lie somewhere in the commune's **settled area**. The model:

- the settled area is a disc centred on the origin point, of area
  ``A_s = min(area_km2, population / SETTLED_DENSITY_PER_KM2)`` and radius ``R = sqrt(A_s / pi)``
  (at least :data:`MIN_RADIUS_M`): a village of 300 inhabitants settles 0.3 km² (R = 309 m),
  Vire Normandie's 16,900 inhabitants 16.9 km² of its 150 km² (R = 2.3 km), Caen all its 25.7 km²;
- pupil -> the ``n`` offers placed at the same commune (unknown points of the disc): the mean
  distance to the **nearest** of them, ``128 R / (45 pi sqrt(n))`` (:func:`nearest_of_n_two_points`;
  exact for ``n = 1``, the mean distance between two uniform points of a disc, 0.9054 R; for more
  offers each one "serves" ``1/n`` of the disc; within 8 % of a Monte Carlo simulation for n = 1..100);
- pupil -> a known point of the commune (a geocoded offer): the mean distance between a uniform
  point of the disc and a point at distance ``delta`` from its centre
  (:func:`mean_distance_point_disc`; ``2R/3`` when ``delta = 0``, about ``delta`` far away);
- lycée (at ``delta`` from the centre) -> the nearest of the ``n`` offers placed at its commune:
  :func:`nearest_of_n_from_point` (exact for ``n = 1``; within 12 % of Monte Carlo otherwise);
- minutes = ``distance x detour / speed`` with the mode's speed and the detour factor measured on
  real streets for the commune's density group (:mod:`analysis.network.detour`: ``urbain`` from 300
  inhabitants/km², the "intermédiaire" threshold of the density classes, else ``rural``). Public
  transport inside a commune is walking (the TER does not serve trips within a commune). These
  times are flagged ``is_estimate``.

``SETTLED_DENSITY_PER_KM2`` (1,000 inhabitants per km² of settled land) is measured on the
mirror's only building layer, Luneray: 2,170 inhabitants (INSEE 2021) on 2.0 km² of buildings
buffered by 50 m (1,080 /km²) or a 2.4 km² convex hull of its buildings (900 /km²)
(``bench/detour_calibration.py`` prints both). The ``n`` offers of a location share one travel
time (the table is per location): the time to the nearest of them. Budget counts therefore count the
commune's offers together, as for any location (documented in ``docs/indicators.md``).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from analysis import catalogue
from analysis.network import detour as detours
from analysis.network import paths

#: Inhabitants per km² of settled land (measured on Luneray, see the module docstring).
SETTLED_DENSITY_PER_KM2 = 1000.0
#: Smallest settled-area radius (metres): a hamlet.
MIN_RADIUS_M = 100.0
#: Communes at least this dense (inhabitants/km²) use the urban detour factors (the
#: "intermédiaire" threshold of ``analysis.access.DENSITY_CLASSES``).
URBAN_DENSITY_PER_KM2 = 300.0
#: Mean distance between two uniform points of a disc of radius 1.
TWO_POINTS_FACTOR = 128.0 / (45.0 * np.pi)

# Gauss-Legendre nodes for the point-to-disc mean (radius in [0, 1], angle in [0, pi]).
_GL_R, _GL_WR = np.polynomial.legendre.leggauss(48)
_GL_T, _GL_WT = np.polynomial.legendre.leggauss(48)


def measure_settled_density(buildings_path, population: float, buffer_m: float = 50.0) -> dict[str, float]:
    """Inhabitants per km² of settled land, from a building layer (the check of :data:`SETTLED_DENSITY_PER_KM2`).

    Parameters
    ----------
    buildings_path : path-like
        Building polygons (any CRS GeoPandas reads; Luneray's shapefile in the mirror).
    population : float
        Inhabitants of the place.
    buffer_m : float
        Buffer around each building making the settled area (gardens, streets).

    Returns
    -------
    dict
        ``n_buildings``, ``buffered_km2``, ``hull_km2``, ``density_buffered``, ``density_hull``.
    """
    import geopandas as gpd
    import shapely

    b = gpd.read_file(buildings_path)
    metric = b.to_crs(b.estimate_utm_crs()).geometry.to_numpy()
    buffered = shapely.union_all(shapely.buffer(metric, buffer_m)).area / 1e6
    hull = shapely.convex_hull(shapely.union_all(metric)).area / 1e6
    return {
        "n_buildings": float(len(b)),
        "buffered_km2": buffered,
        "hull_km2": hull,
        "density_buffered": population / buffered,
        "density_hull": population / hull,
    }


def settled_radius_m(population, area_km2) -> np.ndarray:
    """Radius (metres) of the settled-area disc of each commune.

    Parameters
    ----------
    population, area_km2 : array-like
        Inhabitants and area of each commune.

    Returns
    -------
    numpy.ndarray
        ``max(MIN_RADIUS_M, 1000 sqrt(min(area_km2, population / SETTLED_DENSITY_PER_KM2) / pi))``.
    """
    pop = np.nan_to_num(np.asarray(population, dtype=float), nan=0.0).clip(min=0.0)
    area = np.asarray(area_km2, dtype=float)
    settled = np.fmin(area, pop / SETTLED_DENSITY_PER_KM2)  # fmin: a missing area gives the settled one
    return np.maximum(MIN_RADIUS_M, 1000.0 * np.sqrt(np.nan_to_num(settled, nan=0.0) / np.pi))


def mean_distance_two_points(radius_m) -> np.ndarray:
    """Mean distance between two independent uniform points of a disc: ``128 R / (45 pi)``."""
    return TWO_POINTS_FACTOR * np.asarray(radius_m, dtype=float)


def mean_distance_point_disc(delta_m, radius_m) -> np.ndarray:
    """Mean distance from a point at ``delta_m`` from a disc's centre to a uniform point of the disc.

    Computed by Gauss-Legendre quadrature (48 x 48 nodes, relative error < 1e-3) of
    ``(1 / pi R²) ∫∫ sqrt(r² + delta² - 2 r delta cos t) r dr dt``. Exact values for checks:
    ``2R/3`` at ``delta = 0``; tends to ``delta`` as ``delta / R`` grows.

    Parameters
    ----------
    delta_m, radius_m : array-like
        Broadcast together.

    Returns
    -------
    numpy.ndarray
    """
    delta, radius = np.broadcast_arrays(np.asarray(delta_m, dtype=float), np.asarray(radius_m, dtype=float))
    u = delta / np.where(radius > 0, radius, 1.0)  # distances in units of R
    r = (_GL_R + 1.0) / 2.0  # [0, 1]
    t = (_GL_T + 1.0) * np.pi / 2.0  # [0, pi] (symmetric in the angle)
    w = np.outer(_GL_WR / 2.0 * r, _GL_WT * np.pi / 2.0)  # Jacobians and the r of r dr dt
    rr, tt = np.meshgrid(r, t, indexing="ij")
    d = np.sqrt(
        rr[None] ** 2
        + u.reshape(-1)[:, None, None] ** 2
        - 2.0 * rr[None] * u.reshape(-1)[:, None, None] * np.cos(tt)[None]
    )
    mean = (d * w[None]).sum(axis=(1, 2)) * 2.0 / np.pi  # x 2 for [pi, 2 pi], / pi for the area
    out = mean.reshape(u.shape) * radius
    return np.where(radius > 0, out, delta)


def nearest_of_n_two_points(radius_m, n) -> np.ndarray:
    """Mean distance from a uniform point of a disc to the nearest of ``n`` uniform points of it.

    ``128 R / (45 pi sqrt(n))``: exact for ``n = 1``; for larger ``n`` the disc is shared into ``n``
    cells of area ``pi R² / n`` (within 8 % of Monte Carlo for n = 1..100, slightly below it).
    """
    n = np.maximum(np.asarray(n, dtype=float), 1.0)
    return mean_distance_two_points(radius_m) / np.sqrt(n)


def nearest_of_n_from_point(delta_m, radius_m, n) -> np.ndarray:
    """Mean distance from a point at ``delta_m`` from a disc's centre to the nearest of ``n`` uniform points.

    ``min(E1, max(delta - R, 0) + max(0.9054 R, E1') / sqrt(n))`` with ``E1`` the mean distance to
    one point (:func:`mean_distance_point_disc`) and ``E1'`` the same with ``delta`` capped at ``R``:
    exact for ``n = 1``, within 12 % of Monte Carlo for n = 5..30 and delta = 0..2R.
    """
    delta, radius, n = np.broadcast_arrays(
        np.asarray(delta_m, dtype=float), np.asarray(radius_m, dtype=float), np.maximum(np.asarray(n, dtype=float), 1.0)
    )
    one = mean_distance_point_disc(delta, radius)
    inside = mean_distance_point_disc(np.minimum(delta, radius), radius)
    spread = np.maximum(mean_distance_two_points(radius), inside) / np.sqrt(n)
    return np.minimum(one, np.maximum(delta - radius, 0.0) + spread)


def density_group(density_per_km2) -> np.ndarray:
    """``'urbain'`` from :data:`URBAN_DENSITY_PER_KM2` inhabitants/km², else ``'rural'``."""
    dens = np.nan_to_num(np.asarray(density_per_km2, dtype=float), nan=0.0)
    return np.where(dens >= URBAN_DENSITY_PER_KM2, "urbain", "rural")


def trip_minutes(distance_m, mode: str, groups, speeds: Mapping[str, float]) -> np.ndarray:
    """Minutes of intra-commune trips: ``distance x detour(mode, group) / speed(mode)``.

    Parameters
    ----------
    distance_m : array-like
        Expected straight-line distances.
    mode : {"walk", "bike", "car", "transit"}
        ``transit`` is walking (no public transport inside a commune in the loaded data).
    groups : array-like of str
        Density group of each trip's commune (``urbain`` / ``rural``).
    speeds : mapping
        km/h by mode: ``walk``, ``bike``, ``car`` (the car's local-street speed).
    """
    road_mode = catalogue.mode_info(mode).legs_mode or mode
    groups = np.asarray(groups)
    factor = np.array(
        [detours.factor(road_mode, g if road_mode in detours.MODES else None) for g in groups], dtype=float
    ).reshape(groups.shape)
    return np.asarray(distance_m, dtype=float) * factor / (speeds[road_mode] / 3.6) / 60.0


def intra_pairs(origins: pd.DataFrame, destinations: pd.DataFrame, communes: pd.DataFrame) -> pd.DataFrame:
    """Origin-destination pairs inside one commune that need the model, with their expected distance.

    Parameters
    ----------
    origins : pandas.DataFrame
        Row order = matrix rows; ``origin_kind`` (``commune``/``school``), ``commune_code``, ``lon``, ``lat``.
    destinations : pandas.DataFrame
        Row order = matrix columns; ``commune_code``, ``location_precision``, ``lon``, ``lat`` and
        optionally ``n_offers`` (offers at the location, default 1).
    communes : pandas.DataFrame
        ``code``, ``lon``, ``lat`` (origin point), ``population``, ``area_km2``.

    Returns
    -------
    pandas.DataFrame
        ``i`` (origin row), ``j`` (destination column), ``distance_m``, ``group``, ``case``
        (``commune-commune``: a pupil of the commune to the nearest of the offers placed at it;
        ``commune-point``: a pupil of the commune to a known point of it; ``school-commune``: a
        lycée to the nearest of the offers placed at its commune). Pairs between two known points (a lycée and a geocoded offer) are not included.
    """
    empty = pd.DataFrame(
        {
            "i": np.zeros(0, dtype=np.int64),
            "j": np.zeros(0, dtype=np.int64),
            "distance_m": np.zeros(0),
            "group": np.zeros(0, dtype=object),
            "case": np.zeros(0, dtype=object),
        }
    )
    com = communes.set_index("code")
    o = origins.reset_index(drop=True).assign(i=lambda f: np.arange(len(f)))
    d = destinations.reset_index(drop=True).assign(j=lambda f: np.arange(len(f)))
    if "n_offers" not in d:
        d = d.assign(n_offers=1)
    o = o[o["commune_code"].notna()]
    d = d[d["commune_code"].notna()]
    pairs = o[["i", "origin_kind", "commune_code", "lon", "lat"]].merge(
        d[["j", "commune_code", "location_precision", "lon", "lat", "n_offers"]],
        on="commune_code",
        suffixes=("_o", "_d"),
    )
    o_unknown = pairs["origin_kind"].eq("commune").to_numpy()
    d_unknown = pairs["location_precision"].eq("commune").to_numpy()
    pairs = pairs[(o_unknown | d_unknown) & pairs["commune_code"].isin(com.index).to_numpy()]
    if not len(pairs):
        return empty
    o_unknown = pairs["origin_kind"].eq("commune").to_numpy()
    d_unknown = pairs["location_precision"].eq("commune").to_numpy()
    c = com.loc[pairs["commune_code"]]
    radius = settled_radius_m(c["population"].to_numpy(), c["area_km2"].to_numpy())
    # the known end's distance to the disc centre (the commune's origin point)
    k_lon = np.where(o_unknown, pairs["lon_d"], pairs["lon_o"])
    k_lat = np.where(o_unknown, pairs["lat_d"], pairs["lat_o"])
    delta = paths.haversine_m(k_lon, k_lat, c["lon"].to_numpy(float), c["lat"].to_numpy(float))
    both = o_unknown & d_unknown
    n = pairs["n_offers"].fillna(1).to_numpy(float)
    dist = np.where(
        both,
        nearest_of_n_two_points(radius, n),
        np.where(o_unknown, mean_distance_point_disc(delta, radius), nearest_of_n_from_point(delta, radius, n)),
    )
    density = c["population"].to_numpy(float) / c["area_km2"].to_numpy(float)
    case = np.where(both, "commune-commune", np.where(o_unknown, "commune-point", "school-commune"))
    return pd.DataFrame(
        {
            "i": pairs["i"].to_numpy(),
            "j": pairs["j"].to_numpy(),
            "distance_m": dist,
            "group": density_group(density),
            "case": case,
        }
    )


def apply(
    minutes: np.ndarray,
    is_estimate: np.ndarray,
    mode: str,
    pairs: pd.DataFrame,
    speeds: Mapping[str, float],
    max_minutes: float = np.inf,
) -> int:
    """Overwrite the intra-commune cells of a matrix with the model's minutes (flagged), in place.

    Parameters
    ----------
    minutes, is_estimate : numpy.ndarray
        (n_origins, n_destinations) matrix and its estimate flags (modified).
    mode : str
    pairs : pandas.DataFrame
        From :func:`intra_pairs`.
    speeds : mapping
        See :func:`trip_minutes`.
    max_minutes : float
        Times above it become ``inf`` (not stored).

    Returns
    -------
    int
        Number of cells overwritten.
    """
    if not len(pairs):
        return 0
    i, j = pairs["i"].to_numpy(), pairs["j"].to_numpy()
    t = trip_minutes(pairs["distance_m"].to_numpy(), mode, pairs["group"].to_numpy(), speeds)
    t[t > max_minutes] = np.inf
    minutes[i, j] = t
    is_estimate[i, j] = True
    return len(i)
