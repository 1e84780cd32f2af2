"""Where a trip can start or end: a mode's network, its extent and its snapping limit.

A point farther from the mode's network than the snapping limit cannot be routed honestly: a
point in the sea used to get a 1,049-minute straight-line "walk". :func:`snap_check` refuses
such a point with a one-line French message (:class:`OutOfNetworkError`, an
:class:`~analysis.validate_args.ArgumentError`: the command lines print it and exit with code 2).
The limit of each mode (:func:`snap_limit_m`):

- walk, bike, car: ``TravelTimeSettings.max_snap_m`` (2,500 m) from the nearest snappable node of
  the mode's road network (the same limit beyond which the matrices fall back to straight-line
  estimates);
- transit: the longest access walk, ``TravelTimeSettings.transit_access_min`` (30 min of walking,
  :func:`analysis.transit.access_radius_m`) from the nearest stop served on the service date: from
  farther, no stop can be used (only walking the whole way, which ``--mode walk`` answers).

With a network file of another territory (``--network``), the accepted area is that network's
bounding box widened by the snapping limit (:func:`network_extent`, :func:`check_in_extent`),
not Normandie's.

Other features call :func:`snap_check` with the network they already loaded, or with
``network=None`` to load the mode's default network (:func:`mode_network`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from analysis.text import format_number
from analysis.traveltime.settings import ROAD_MODES, TravelTimeSettings
from analysis.validate_args import ArgumentError

#: Metres per degree of latitude (mean Earth radius).
_M_PER_DEG = 111_195.0


class OutOfNetworkError(ArgumentError):
    """A point lies outside a mode's network (farther than its snapping limit, or outside the
    extent of the network file given). The message is one French line."""


@dataclass(frozen=True)
class Extent:
    """Bounding box of a network (degrees WGS84) and its name for messages."""

    lon_min: float
    lat_min: float
    lon_max: float
    lat_max: float
    name: str

    def widened(self, margin_m: float) -> Extent:
        """The box widened by ``margin_m`` metres on every side."""
        dlat = margin_m / _M_PER_DEG
        mid = np.radians((self.lat_min + self.lat_max) / 2)
        dlon = margin_m / (_M_PER_DEG * max(float(np.cos(mid)), 0.01))
        return Extent(self.lon_min - dlon, self.lat_min - dlat, self.lon_max + dlon, self.lat_max + dlat, self.name)

    def contains(self, lon: float, lat: float) -> bool:
        return self.lon_min <= lon <= self.lon_max and self.lat_min <= lat <= self.lat_max


def _num(x: float) -> str:
    return f"{x:.5f}".rstrip("0").rstrip(".")


def _km(meters: float) -> str:
    return f"{format_number(meters / 1000.0, 1)} km" if meters >= 1000 else f"{format_number(meters)} m"


def _node_lonlat(network) -> np.ndarray:
    """(n, 2) lon/lat of the points a trip can start from: stops served (transit) or snappable
    nodes (road arrays)."""
    if hasattr(network, "stop_lonlat"):
        return np.asarray(network.stop_lonlat, dtype=float).reshape(-1, 2)
    nodes = np.asarray(network.snappable, dtype=np.int64)
    return np.column_stack([np.asarray(network.lon)[nodes], np.asarray(network.lat)[nodes]])


def network_extent(network, name: str) -> Extent:
    """Bounding box of a loaded network: a :class:`analysis.transit.TransitNetwork` (its stops
    served on the service date) or :class:`analysis.network.paths.GraphArrays` (its snappable nodes).

    Raises
    ------
    OutOfNetworkError
        The network has no stop or node at all.
    """
    pts = _node_lonlat(network)
    pts = pts[np.isfinite(pts).all(axis=1)]
    if len(pts) == 0:
        raise OutOfNetworkError(f"Le réseau « {name} » n'a aucun arrêt ni nœud utilisable")
    return Extent(float(pts[:, 0].min()), float(pts[:, 1].min()), float(pts[:, 0].max()), float(pts[:, 1].max()), name)


def check_in_extent(point, extent: Extent) -> tuple[float, float]:
    """``point`` (lon, lat) if inside ``extent``, else :class:`OutOfNetworkError` naming the
    network and its extent (and the corrected order when latitude and longitude look swapped)."""
    lon, lat = float(point[0]), float(point[1])
    if extent.contains(lon, lat):
        return lon, lat
    given = f"{_num(lon)},{_num(lat)}"
    if extent.contains(lat, lon):
        raise OutOfNetworkError(
            f"Point {given} hors de l'emprise du réseau « {extent.name} » : longitude et latitude "
            f"semblent inversées (ordre attendu LON,LAT, soit {_num(lat)},{_num(lon)})"
        )
    raise OutOfNetworkError(
        f"Point {given} hors de l'emprise du réseau « {extent.name} » (longitude de "
        f"{_num(extent.lon_min)} à {_num(extent.lon_max)}, latitude de {_num(extent.lat_min)} à "
        f"{_num(extent.lat_max)})"
    )


def snap_limit_m(mode: str, settings: TravelTimeSettings | None = None, bike_access: bool = False) -> float:
    """Snapping limit of a mode in straight-line metres (see the module docstring); transit with
    ``bike_access`` (« rabattement vélo »): ``transit_access_min`` minutes of cycling."""
    cfg = settings or TravelTimeSettings(source_dir=None)
    if mode == "transit":
        from analysis import transit

        if bike_access:
            return transit.access_radius_m(cfg.transit_access_min, cfg.bike_kph, cfg.detour_for("bike"))
        return transit.access_radius_m(cfg.transit_access_min, cfg.walk_kph, cfg.detour_for("transit"))
    if mode not in ROAD_MODES:
        raise ValueError(f"mode inconnu : {mode!r}")
    return float(cfg.max_snap_m)


def snap_distance_m(point, mode: str, network) -> float:
    """Great-circle metres from ``point`` (lon, lat) to the nearest stop (transit) or snappable
    node (road modes) of ``network``; ``inf`` for an empty network."""
    lon, lat = float(point[0]), float(point[1])
    if mode != "transit":
        _, dist = network.snap(np.array([lon]), np.array([lat]))
        return float(dist[0])
    from analysis.transit import haversine_m

    stops = _node_lonlat(network)
    if len(stops) == 0:
        return float("inf")
    return float(np.min(haversine_m(np.array([lon, lat]), stops)))


def mode_network(
    mode: str,
    settings: TravelTimeSettings | None = None,
    network_file: str | Path | None = None,
    db_path: str | Path | None = None,
    service_date: str | None = None,
):
    """Load a mode's network: a :class:`~analysis.transit.TransitNetwork` (``network_file``:
    a GTFS; else the settings' GTFS, else the database's timetables) or the road
    :class:`~analysis.network.paths.GraphArrays` (``network_file``: an OSM file or line layer; else the
    settings' network, read from the graph cache when it holds it)."""
    cfg = settings or TravelTimeSettings()
    if mode == "transit":
        from analysis import config, db, transit

        date = service_date or cfg.service_date
        gtfs = network_file or cfg.transit_gtfs
        if gtfs is not None:
            return transit.TransitNetwork.from_gtfs(gtfs, service_date=date)
        con = db.connect(db_path or config.default_db_path(), read_only=True)
        try:
            return transit.TransitNetwork.from_duckdb(con, service_date=date)
        finally:
            con.close()
    if mode not in ROAD_MODES:
        raise ValueError(f"mode inconnu : {mode!r}")
    import dataclasses

    from analysis.network import graphcache
    from analysis.traveltime.matrix import RoadNetworks

    if network_file is not None:
        cfg = dataclasses.replace(cfg, road_network=Path(network_file), networks={})
    arrays = graphcache.load(cfg.network_for(mode), mode, cfg.speeds())
    return arrays if arrays is not None else RoadNetworks(cfg).arrays(mode)


def snap_check(
    point,
    mode: str,
    network=None,
    settings: TravelTimeSettings | None = None,
    network_name: str | None = None,
    bike_access: bool = False,
) -> float:
    """Distance (m) from ``point`` to the mode's network, or refuse a point beyond its snapping
    limit.

    Parameters
    ----------
    point : (lon, lat)
    mode : {"walk", "bike", "car", "transit"}
    network : TransitNetwork or paths.GraphArrays, optional
        The mode's loaded network; ``None``: the default one (:func:`mode_network`, which reads a
        file or the database: pass the network when checking many points).
    settings : TravelTimeSettings, optional
        Limits (``max_snap_m``; ``transit_access_min``, ``walk_kph`` and the walking detour).
    network_name : str, optional
        Name of the network in the message.
    bike_access : bool
        Transit: the point is a start reached by bike (« rabattement vélo »): the limit is
        ``transit_access_min`` minutes of cycling.

    Returns
    -------
    float
        Straight-line metres to the nearest stop (transit) or snappable node (road modes).

    Raises
    ------
    OutOfNetworkError
        Farther than :func:`snap_limit_m`; one French line naming the point, the distance, the
        network and the limit.

    Examples
    --------
    >>> from analysis import transit
    >>> net = transit.TransitNetwork.from_gtfs("tests/fixtures/gtfs/synthetic_line", "2025-06-17")
    >>> round(snap_check((-0.40, 49.10), "transit", net))
    0
    """
    cfg = settings or TravelTimeSettings(source_dir=None)
    net = network if network is not None else mode_network(mode, cfg)
    dist = snap_distance_m(point, mode, net)
    limit = snap_limit_m(mode, cfg, bike_access)
    if dist <= limit:
        return dist
    given = f"{_num(float(point[0]))},{_num(float(point[1]))}"
    named = f" « {network_name} »" if network_name else ""
    if mode == "transit":
        how = "à vélo" if bike_access else "de marche"
        raise OutOfNetworkError(
            f"Point {given} à {_km(dist)} de l'arrêt le plus proche du réseau de transport en commun{named} : "
            f"au-delà de {format_number(cfg.transit_access_min)} min {how} ({_km(limit)} à vol d'oiseau), "
            "aucun arrêt n'est utilisable depuis ce point (pour un trajet entièrement à pied : --mode walk)"
        )
    raise OutOfNetworkError(
        f"Point {given} à {_km(dist)} du réseau routier{named} (mode « {mode} ») : au-delà de "
        f"{_km(limit)} (limite d'accrochage au réseau), aucun trajet n'est calculé depuis ce point "
        "(point en mer ou hors du territoire couvert par le réseau ?)"
    )
