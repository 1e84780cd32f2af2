"""Travel-time matrices of one mode.

Owns :class:`RoadNetworks` (road graphs and their array form, loaded once per file and converted
once per mode) and :class:`TravelTimeMatrix` (door-to-door road times with
:func:`analysis.network.paths.door_to_door`, public-transport times with the Connection Scan of
:mod:`analysis.transit`, the intra-commune model, and writing the pairs).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from analysis.network import contraction, intracommune, paths, roads, roads_pbf
from analysis.traveltime.settings import ONLINE, TravelTimeSettings
from analysis.traveltime.tables import record_run


class RoadNetworks:
    """Road graphs and their array form, loaded once per file and converted once per mode.

    An OpenStreetMap PBF network goes straight to arrays (:mod:`analysis.network.roads_pbf`, read once
    for all modes); :meth:`graph` still gives its networkx graph to whoever needs one (routes).
    """

    def __init__(self, settings: TravelTimeSettings, area=None):
        self.settings = settings
        #: polygon (WGS84) downloaded when a mode's network is :data:`ONLINE`
        self.area = area
        self._graphs: dict[Path | str, Any] = {}
        self._arrays: dict[tuple[Path | str, str], paths.GraphArrays] = {}
        self._osm: dict[Path | str, roads_pbf.OsmNetwork] = {}  # OSM PBF networks read to arrays
        self.load_seconds: dict[Path | str, float] = {}

    def graph(self, mode: str):
        path = self.settings.network_for(mode)
        if path not in self._graphs:
            t0 = time.perf_counter()
            if path == ONLINE:
                if self.area is None:
                    raise ValueError("téléchargement OSMnx demandé sans zone (polygone) à couvrir")
                self._graphs[path] = roads.graph_from_polygon_online(self.area)
            else:
                self._graphs[path] = roads.load_road_graph(path)
            self.load_seconds[path] = time.perf_counter() - t0
        return self._graphs[path]

    def arrays(self, mode: str) -> paths.GraphArrays:
        path = self.settings.network_for(mode)
        if (path, mode) not in self._arrays:
            if path != ONLINE and roads_pbf.is_osm_pbf(path):  # array-native reader, no networkx graph
                arrays = self._pbf_arrays(path, mode)
            else:
                arrays = paths.GraphArrays.from_graph(self.graph(mode), mode, self.settings.speeds())
            self._arrays[(path, mode)] = arrays
            if path != ONLINE:  # for imports' incremental recompute (analysis.incremental.times)
                from analysis.network import graphcache

                graphcache.save(path, mode, self.settings.speeds(), self._arrays[(path, mode)])
        return self._arrays[(path, mode)]

    def _pbf_arrays(self, path: Path, mode: str) -> paths.GraphArrays:
        """A mode's arrays of an OSM PBF file, read once for all modes (:mod:`analysis.network.roads_pbf`)."""
        if path not in self._osm:
            t0 = time.perf_counter()
            self._osm[path] = roads_pbf.read_network(path)
            self.load_seconds[path] = time.perf_counter() - t0
        arrays = self._osm[path].mode_arrays(mode, self.settings.speeds())
        same_file = [m for m in self.settings.modes if m in roads.ROAD_MODES and self.settings.network_for(m) == path]
        if all(m == mode or (path, m) in self._arrays for m in same_file):
            del self._osm[path]  # every mode on this file has its arrays: free the edge list
        return arrays


def needs_direct_cap(arrays: paths.GraphArrays) -> bool:
    """Whether a network lacks local streets, so that straight-line trips must cap its times.

    OpenStreetMap street networks (precision starting with "rues") do not; the Travel Mapping
    skeleton and other numbered-road layers do: a pupil walking 3 km across Caen should not be
    routed 17 km round the ring road because the streets in between are missing.
    """
    return not str(arrays.meta.get("precision") or "").startswith("rues")


@dataclass
class TravelTimeMatrix:
    """Minutes from origins to offer locations for one mode.

    Attributes
    ----------
    mode : str
    origins : pandas.DataFrame
        ``origin_kind``, ``origin_id``, ``lon``, ``lat``.
    destinations : pandas.DataFrame
        ``loc_id``, ``lon``, ``lat``.
    minutes : numpy.ndarray
        (n_origins, n_destinations), ``np.inf`` beyond ``max_minutes`` or unreachable.
    is_estimate : numpy.ndarray
        Same shape, True for straight-line estimates (no network covering the pair).
    network_source, precision : str
    params : dict
    seconds : float
        Computation time of the matrix (graph loading excluded).
    """

    mode: str
    origins: pd.DataFrame
    destinations: pd.DataFrame
    minutes: np.ndarray
    is_estimate: np.ndarray
    network_source: str
    precision: str
    params: dict
    seconds: float = 0.0

    @classmethod
    def for_road(
        cls,
        arrays: paths.GraphArrays,
        mode: str,
        origins: pd.DataFrame,
        destinations: pd.DataFrame,
        settings: TravelTimeSettings,
    ) -> TravelTimeMatrix:
        """Door-to-door road times with :func:`analysis.network.paths.door_to_door`."""
        t0 = time.perf_counter()
        contraction.attach(arrays, mode)  # car on a large network: a cached contraction hierarchy
        res = paths.door_to_door(
            arrays,
            origins[["lon", "lat"]].to_numpy(float),
            destinations[["lon", "lat"]].to_numpy(float),
            access_kph=settings.access_kph(mode),
            fallback_kph=settings.fallback_kph(mode),
            detour=settings.detour_for(mode),
            max_snap_m=settings.max_snap_m,
            max_minutes=settings.max_minutes,
            chunk_bytes=int(settings.chunk_mb) * 1024**2,
            direct_cap=needs_direct_cap(arrays),
        )
        return cls(
            mode,
            origins,
            destinations,
            res.minutes,
            res.is_estimate,
            str(arrays.meta.get("source")),
            str(arrays.meta.get("precision")),
            settings.params_for(mode),
            time.perf_counter() - t0,
        )

    @classmethod
    def for_transit(
        cls, network, origins: pd.DataFrame, destinations: pd.DataFrame, settings: TravelTimeSettings, progress=None
    ) -> TravelTimeMatrix:
        """Public-transport times with ``analysis.transit.transit_matrix``."""
        from analysis import transit

        t0 = time.perf_counter()
        minutes = transit.transit_matrix(
            network,
            origins[["lon", "lat"]].to_numpy(float),
            destinations[["lon", "lat"]].to_numpy(float),
            depart_from=settings.depart_from,
            depart_to=settings.depart_to,
            arrive_by=settings.arrive_by,
            walk_kmh=settings.walk_kph,
            detour=settings.detour_for("transit"),
            max_access_min=settings.transit_access_min,
            progress=progress,
        )
        minutes = np.asarray(minutes, dtype=float)
        minutes[minutes > settings.max_minutes] = np.inf
        params = settings.params_for("transit")
        params["service_date"] = str(getattr(network, "service_date", settings.service_date))
        feeds = getattr(network, "feeds", None) or []
        return cls(
            "transit",
            origins,
            destinations,
            minutes,
            np.zeros(minutes.shape, dtype=bool),
            "gtfs:" + ",".join(map(str, feeds)) if feeds else "gtfs",
            "horaires GTFS (Connection Scan)",
            params,
            time.perf_counter() - t0,
        )

    def apply_intra_commune(self, communes: pd.DataFrame, settings: TravelTimeSettings) -> int:
        """Replace the times of trips inside one commune by the expected-distance model.

        See :mod:`analysis.network.intracommune`: a pupil of a commune and an offer placed at the same
        commune are not at the same point (0 minutes) but somewhere in its settled area. Needs
        ``commune_code`` on the origins and ``commune_code``/``location_precision`` on the
        destinations (as :func:`read_origins` / :func:`read_destinations` give them); the cells
        are flagged ``is_estimate``.

        Returns
        -------
        int
            Cells replaced.
        """
        if "commune_code" not in self.origins or "location_precision" not in self.destinations:
            return 0
        pairs = intracommune.intra_pairs(self.origins, self.destinations, communes)
        n = intracommune.apply(
            self.minutes, self.is_estimate, self.mode, pairs, settings.speeds(), settings.max_minutes
        )
        self.params = {
            **self.params,
            "intra_commune": "distance moyenne à l'offre la plus proche dans la zone bâtie x détour / vitesse",
            "settled_density_per_km2": intracommune.SETTLED_DENSITY_PER_KM2,
        }
        return n

    def to_frame(self) -> pd.DataFrame:
        """Long table of the stored pairs (finite minutes only)."""
        i, j = np.nonzero(np.isfinite(self.minutes))
        return pd.DataFrame(
            {
                "origin_kind": self.origins["origin_kind"].to_numpy()[i],
                "origin_id": self.origins["origin_id"].astype(str).to_numpy()[i],
                "loc_id": self.destinations["loc_id"].to_numpy().astype(np.int32)[j],
                "mode": self.mode,
                "minutes": self.minutes[i, j].astype(np.float32),
                "is_estimate": self.is_estimate[i, j],
            }
        )

    def write(self, con: duckdb.DuckDBPyConnection) -> int:
        """Append the pairs to ``travel_times`` and a row to ``travel_time_runs``; return the pair count."""
        frame = self.to_frame()
        con.register("_tt_frame", frame)
        try:
            con.execute(
                "INSERT INTO travel_times SELECT origin_kind, origin_id, loc_id, mode, minutes, is_estimate FROM _tt_frame"
            )
        finally:
            con.unregister("_tt_frame")
        record_run(
            con,
            self.mode,
            self.network_source,
            self.precision,
            self.params,
            self.seconds,
            len(self.origins),
            len(self.destinations),
            len(frame),
            int(frame["is_estimate"].sum()),
            "ok",
        )
        return len(frame)
