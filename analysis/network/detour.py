"""Straight-line detour factors for walking and cycling, calibrated on real street networks.

A trip that is not routed on a street network (access legs, straight-line estimates, trips
inside a commune) is counted as ``straight-line distance x detour factor`` at the mode's speed.
The factors below were measured on the two street networks of the data mirror:

- **urban**: central Rouen, OpenStreetMap 2013 (``osm/rouen_centre_2013``), the project's OSM
  reader :func:`analysis.network.roads.load_road_graph`;
- **rural**: Luneray (Seine-Maritime, 2,170 inhabitants), OSM-derived road shapefile
  (``osm/luneray_76_gama``), same reader.

Method (:func:`calibrate`): on each network and mode (the mode's own edges,
:func:`analysis.network.roads.mode_edge_table`: cycling follows one-way streets and avoids pedestrian
streets, walking does not), draw random pairs of nodes of the largest strongly connected
component (fixed seed), both at least :data:`EDGE_MARGIN_M` inside the network's outline (so
that streets cut off by the extract do not lengthen paths), at least :data:`MIN_STRAIGHT_M`
apart; network distance by Dijkstra on :class:`analysis.network.paths.GraphArrays`, straight-line
distance by haversine. The factor is the **median** of ``network / straight``; its error is the
absolute relative error ``|straight x factor - network| / network`` over the same pairs (median
and 90th percentile). ``bench/detour_calibration.py`` recomputes and prints everything;
``docs/traveltime.md`` (section *Detour factors*) gives the figures.

The recorded constants (:data:`CALIBRATED`) are what the build uses; a test checks that a fresh
calibration reproduces them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from scipy.sparse import csgraph

from analysis import catalogue
from analysis.network import paths, roads

#: Street networks of the mirror used for the calibration: density group -> path in the source dir.
NETWORKS: dict[str, str] = {
    "urbain": "osm/rouen_centre_2013/rouen_centre_2013.osm.bz2",
    "rural": "osm/luneray_76_gama/roads.shp",
}
#: Modes calibrated (car keeps :data:`analysis.network.roads.DETOUR_FACTOR`).
MODES: tuple[str, ...] = ("walk", "bike")
#: Pairs drawn per network and mode.
N_PAIRS = 3000
#: Random seed of the draw.
SEED = 20250601
#: Pairs closer than this (metres, straight line) are left out (ratios of very short pairs are noise).
MIN_STRAIGHT_M = 100.0
#: Nodes closer than this (metres) to the outline of the network (convex hull of its nodes) are left out.
EDGE_MARGIN_M = 100.0


@dataclass(frozen=True)
class DetourFit:
    """Measured detour factor of one mode on one network.

    Attributes
    ----------
    group : str
        Density group (``urbain`` or ``rural``).
    mode : str
    n_pairs : int
        Node pairs measured.
    factor : float
        Median of network distance / straight-line distance.
    ratio_of_sums : float
        Sum of network distances / sum of straight-line distances.
    p10, p90 : float
        10th and 90th percentiles of the ratio.
    err_median, err_p90 : float
        Median and 90th percentile of ``|straight x factor - network| / network``.
    err13_median, err13_p90 : float
        The same for the former uncalibrated factor 1.3.
    straight_median_m : float
        Median straight-line distance of the pairs.
    """

    group: str
    mode: str
    n_pairs: int
    factor: float
    ratio_of_sums: float
    p10: float
    p90: float
    err_median: float
    err_p90: float
    err13_median: float
    err13_p90: float
    straight_median_m: float


#: Factors measured by :func:`calibrate` on the mirror (seed :data:`SEED`), rounded to 0.01.
#: ``bench/detour_calibration.py`` prints the full table; tests check a fresh run matches.
CALIBRATED: dict[tuple[str, str], float] = {
    ("urbain", "walk"): 1.30,
    ("urbain", "bike"): 1.40,
    ("rural", "walk"): 1.28,
    ("rural", "bike"): 1.28,
}


def factor(mode: str, group: str | None = None) -> float:
    """Detour factor of a mode, for a density group or (``group=None``) both networks pooled.

    Parameters
    ----------
    mode : str
        A calibrated mode (:data:`MODES`); any other gets its catalogue factor
        (:attr:`analysis.catalogue.ModeInfo.detour`: the car's 1.3, :data:`analysis.network.roads.DETOUR_FACTOR`),
        or that of its legs (transit: walking); ``ValueError`` for a mode with neither.
    group : {"urbain", "rural"}, optional
        None: the mean of the urban and rural factors (used where the density is not known,
        e.g. access legs and straight-line estimates of the regional matrix).
    """
    if mode not in MODES:
        info = catalogue.mode_info(mode)
        if info.detour is not None:
            return info.detour
        if info.legs_mode is not None:
            return factor(info.legs_mode, group)
        raise ValueError(f"facteur de détour inconnu pour le mode {mode!r} (ni mesuré ni défini au catalogue)")
    if group is None:
        return round(float(np.mean([CALIBRATED[(g, mode)] for g in NETWORKS])), 3)
    return CALIBRATED[(group, mode)]


def _interior_nodes(arrays: paths.GraphArrays, margin_m: float) -> np.ndarray:
    """Snappable nodes at least ``margin_m`` inside the convex hull of all nodes."""
    nodes = arrays.snappable
    lat0 = float(np.mean(arrays.lat))
    kx = 111_320.0 * np.cos(np.radians(lat0))
    x, y = arrays.lon * kx, arrays.lat * 110_574.0
    hull = shapely.convex_hull(shapely.multipoints(np.column_stack([x, y])))
    inner = hull.buffer(-margin_m)
    keep = shapely.contains_xy(inner, x[nodes], y[nodes])
    return nodes[keep]


def measure(
    G,
    mode: str,
    group: str,
    n_pairs: int = N_PAIRS,
    seed: int = SEED,
    min_straight_m: float = MIN_STRAIGHT_M,
    edge_margin_m: float = EDGE_MARGIN_M,
) -> DetourFit:
    """Measure the detour factor of ``mode`` on graph ``G`` (see the module docstring).

    Returns
    -------
    DetourFit
    """
    # a speed of 3.6 km/h is 1 m/s: the graph's seconds are metres
    arrays = paths.GraphArrays.from_graph(G, mode, {"walk": 3.6, "bike": 3.6})
    nodes = _interior_nodes(arrays, edge_margin_m)
    rng = np.random.default_rng(seed)
    i = rng.choice(nodes, n_pairs)
    j = rng.choice(nodes, n_pairs)
    straight = paths.haversine_m(arrays.lon[i], arrays.lat[i], arrays.lon[j], arrays.lat[j])
    keep = straight >= min_straight_m
    i, j, straight = i[keep], j[keep], straight[keep]
    sources, inv = np.unique(i, return_inverse=True)
    dist = csgraph.dijkstra(arrays.matrix, directed=True, indices=sources)
    network = dist[inv, j]
    ok = np.isfinite(network)
    network, straight = network[ok], straight[ok]
    ratio = network / straight
    f = float(np.median(ratio))
    err = np.abs(straight * f - network) / network
    err13 = np.abs(straight * roads.DETOUR_FACTOR - network) / network
    return DetourFit(
        group,
        mode,
        int(len(ratio)),
        f,
        float(network.sum() / straight.sum()),
        float(np.percentile(ratio, 10)),
        float(np.percentile(ratio, 90)),
        float(np.median(err)),
        float(np.percentile(err, 90)),
        float(np.median(err13)),
        float(np.percentile(err13, 90)),
        float(np.median(straight)),
    )


def calibrate(source_dir: Path, n_pairs: int = N_PAIRS, seed: int = SEED) -> list[DetourFit]:
    """Measure every (density group, mode) on the mirror's street networks.

    Parameters
    ----------
    source_dir : pathlib.Path
        The data mirror (holds :data:`NETWORKS`).

    Returns
    -------
    list of DetourFit
    """
    out = []
    for group, rel in NETWORKS.items():
        G = roads.load_road_graph(Path(source_dir) / rel)
        for mode in MODES:
            out.append(measure(G, mode, group, n_pairs=n_pairs, seed=seed))
    return out
