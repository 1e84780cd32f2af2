"""Travel-time matrices (walk, bike, car, transit) from every pupil origin to every offer location.

Build stage :func:`build_travel_times` (called by ``analysis.build``) reads ``communes``,
``schools`` and ``offer_locations`` from the database and writes:

- ``travel_times(origin_kind, origin_id, loc_id, mode, minutes, is_estimate)``: one row per
  pair and mode, only up to ``max_minutes`` (default 90);
- the view ``offer_travel_times(origin_kind, origin_id, offer_id, mode, minutes, is_estimate)``;
- ``travel_time_runs(mode, network_source, precision, params, computed_at, seconds, ...)``.

Road modes run on :mod:`analysis.roads` graphs with :mod:`analysis.paths`; ``transit`` calls
``analysis.transit`` (the Connection Scan engine) and is skipped with a message when that
module or the timetables are unavailable.

Command line (one trip, JSON on stdout)::

    python -m analysis.traveltime route --mode car --from -0.3707,49.1829 --to 1.0993,49.4431
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from . import catalogue, config, contraction, intracommune, paths, roads
from . import detour as detours
from .db import columns_of, has_relation, relations, write_stamp
from .errors import DataError

ROAD_MODES = roads.ROAD_MODES
#: Road modes first, then the timetable modes (transit needs nothing from the road runs).
ALL_MODES: tuple[str, ...] = ROAD_MODES + tuple(m for m in catalogue.MODES if m not in ROAD_MODES)
#: The regional default road network, relative to the source directory.
SKELETON_RELPATH = "roads/travelmapping_highwaydata_normandie/travelmapping_normandie.gpkg"
#: ``road_network`` value asking for OSMnx's online download around the points (internet needed).
ONLINE = "osmnx-online"


def _noop(message: str, fraction: float | None = None) -> None:
    return None


# --------------------------------------------------------------------------- settings


@dataclass
class TravelTimeSettings:
    """Parameters of the travel-time stage.

    Attributes
    ----------
    source_dir : pathlib.Path or None
        Source data directory (default :func:`analysis.config.default_source_dir`).
    modes : tuple of str
        Modes to compute, among ``walk``, ``bike``, ``car``, ``transit``.
    road_network : path, optional
        Road network file for the road modes (OSM ``.osm``/``.osm.bz2``/``.osm.pbf`` or a line
        layer), or ``"osmnx-online"`` (:data:`ONLINE`) to download the OSM network around the
        points with OSMnx (internet needed). Default: the Travel Mapping skeleton of the source
        directory.
    networks : dict
        Per-mode override of ``road_network`` (``{"walk": "city.osm.pbf"}``).
    max_minutes : float
        Pairs above this are not stored.
    walk_kph, bike_kph : float
        Walking and cycling speeds (network, access legs and estimates).
    car_access_kph : float
        Car speed on the access legs (point <-> snapped node) and on very short direct trips.
    car_fallback_kph : float
        Car speed of straight-line estimates where no network covers a pair.
    detour : float
        Straight-line detour factor of the car (and of any mode without a calibrated factor).
    walk_detour, bike_detour : float
        Straight-line detour factors of walking and cycling, measured on real streets
        (:mod:`analysis.detour`, both density groups pooled); walking's is also used by the
        walking legs of public transport.
    max_snap_m : float
        A point farther than this from the network gets straight-line estimates.
    chunk_mb : int
        Memory budget of one Dijkstra chunk.
    service_date : str, optional
        ``YYYY-MM-DD`` for transit (default: the transit engine's choice).
    depart_from, depart_to, arrive_by : str
        Transit morning window.
    transit_gtfs : path, optional
        Read this GTFS instead of the database's ``transit_*`` tables.
    """

    source_dir: Path | None = field(default_factory=config.default_source_dir)
    modes: tuple[str, ...] = ALL_MODES
    road_network: Path | None = None
    networks: dict = field(default_factory=dict)
    max_minutes: float = float(config.DEFAULT_MAX_MINUTES)
    walk_kph: float = roads.WALK_KPH
    bike_kph: float = roads.BIKE_KPH
    car_access_kph: float = roads.CAR_ACCESS_KPH
    car_fallback_kph: float = roads.CAR_FALLBACK_KPH
    detour: float = roads.DETOUR_FACTOR
    walk_detour: float = detours.factor("walk")
    bike_detour: float = detours.factor("bike")
    max_snap_m: float = 2500.0
    chunk_mb: int = 16
    service_date: str | None = None
    depart_from: str = "07:00"
    depart_to: str = "08:30"
    arrive_by: str = "09:00"
    transit_gtfs: Path | None = None

    @classmethod
    def from_any(
        cls,
        settings: TravelTimeSettings | config.BuildSettings | Mapping[str, object] | None = None,
    ) -> TravelTimeSettings:
        """Accept None, a TravelTimeSettings, a mapping of fields, or the build's settings.

        A :class:`analysis.config.BuildSettings` gives its ``travel`` settings, or the defaults
        with its ``source_dir``.
        """
        if isinstance(settings, cls):
            return settings
        if isinstance(settings, config.BuildSettings):
            if settings.travel is not None:
                return cls.from_any(settings.travel)
            return cls.from_any({"source_dir": settings.source_dir})
        names = {f.name for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {}
        if settings is not None:
            unknown = sorted(set(settings) - names)
            if unknown:
                raise TypeError(f"unknown travel-time setting(s): {', '.join(unknown)}")
            values.update(settings)
        out = cls(**values)
        out.modes = tuple(out.modes)
        unknown = [m for m in out.modes if m not in ALL_MODES]
        if unknown:
            raise ValueError(f"mode inconnu : {unknown[0]!r} (attendu : {', '.join(ALL_MODES)})")
        return out

    def network_for(self, mode: str) -> Path | str:
        """The road network file of a road mode (or :data:`ONLINE` for OSMnx's download)."""
        chosen = self.networks.get(mode) or self.road_network
        if isinstance(chosen, str) and chosen == ONLINE:
            return ONLINE
        if chosen is None:
            if self.source_dir is None:
                raise DataError("../shared/data", "aucun répertoire source : réseau routier régional introuvable")
            chosen = Path(self.source_dir) / SKELETON_RELPATH
        path = Path(chosen)
        if not path.exists():
            raise DataError(str(path), f"réseau routier du mode « {mode} » introuvable")
        return path

    def speeds(self) -> dict[str, float]:
        return {"walk": self.walk_kph, "bike": self.bike_kph, "car": self.car_access_kph}

    def access_kph(self, mode: str) -> float:
        return self.speeds()[mode]

    def detour_for(self, mode: str) -> float:
        """Straight-line detour factor of a mode (``transit``: its walking legs)."""
        return {"walk": self.walk_detour, "bike": self.bike_detour, "transit": self.walk_detour}.get(mode, self.detour)

    def fallback_kph(self, mode: str) -> float:
        return self.car_fallback_kph if mode == "car" else self.speeds()[mode]

    def params_for(self, mode: str) -> dict:
        """The parameters recorded in ``travel_time_runs.params`` for a mode."""
        common = {"max_minutes": self.max_minutes}
        if mode == "transit":
            return {
                **common,
                "service_date": self.service_date,
                "depart_from": self.depart_from,
                "depart_to": self.depart_to,
                "arrive_by": self.arrive_by,
                "walk_kph": self.walk_kph,
                "detour": self.detour_for("transit"),
            }
        out = {
            **common,
            "detour": self.detour_for(mode),
            "max_snap_m": self.max_snap_m,
            "access_kph": self.access_kph(mode),
            "fallback_kph": self.fallback_kph(mode),
        }
        if mode in ("walk", "bike"):
            out["network_kph"] = self.speeds()[mode]
        else:
            out["car_speeds"] = "OSM maxspeed, sinon classes de voies (analysis.roads)"
        return out


# --------------------------------------------------------------------------- networks


class RoadNetworks:
    """Road graphs and their array form, loaded once per file and converted once per mode."""

    def __init__(self, settings: TravelTimeSettings, area=None):
        self.settings = settings
        #: polygon (WGS84) downloaded when a mode's network is :data:`ONLINE`
        self.area = area
        self._graphs: dict[Path | str, Any] = {}
        self._arrays: dict[tuple[Path | str, str], paths.GraphArrays] = {}
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
            self._arrays[(path, mode)] = paths.GraphArrays.from_graph(self.graph(mode), mode, self.settings.speeds())
            if path != ONLINE:  # for imports' incremental recompute (analysis.incremental)
                from . import graphcache

                graphcache.save(path, mode, self.settings.speeds(), self._arrays[(path, mode)])
        return self._arrays[(path, mode)]


# --------------------------------------------------------------------------- the matrix


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
        """Door-to-door road times with :func:`analysis.paths.door_to_door`."""
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
        from . import transit

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

        See :mod:`analysis.intracommune`: a pupil of a commune and an offer placed at the same
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
        speeds = {"walk": settings.walk_kph, "bike": settings.bike_kph, "car": settings.car_access_kph}
        n = intracommune.apply(self.minutes, self.is_estimate, self.mode, pairs, speeds, settings.max_minutes)
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


# --------------------------------------------------------------------------- database

TRAVEL_TIMES_DDL = """
CREATE OR REPLACE TABLE travel_times (
    origin_kind VARCHAR NOT NULL,
    origin_id VARCHAR NOT NULL,
    loc_id INTEGER NOT NULL,
    mode VARCHAR NOT NULL,
    minutes REAL NOT NULL,
    is_estimate BOOLEAN NOT NULL
);
CREATE OR REPLACE TABLE travel_time_runs (
    mode VARCHAR,
    network_source VARCHAR,
    precision VARCHAR,
    params VARCHAR,
    computed_at TIMESTAMP,
    seconds DOUBLE,
    n_origins INTEGER,
    n_destinations INTEGER,
    n_pairs INTEGER,
    n_estimates INTEGER,
    status VARCHAR
);
"""

OFFER_VIEW_SQL = """
CREATE OR REPLACE VIEW offer_travel_times AS
SELECT t.origin_kind, t.origin_id, o.offer_id, t.mode, t.minutes, t.is_estimate
FROM travel_times t JOIN offers o ON o.loc_id = t.loc_id
"""


def record_run(
    con, mode, network_source, precision, params, seconds, n_origins, n_destinations, n_pairs, n_estimates, status
) -> None:
    """Insert one row into ``travel_time_runs``."""
    con.execute(
        "INSERT INTO travel_time_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            mode,
            network_source,
            precision,
            json.dumps(params, default=str, ensure_ascii=False),
            dt.datetime.now().replace(microsecond=0),
            float(seconds),
            n_origins,
            n_destinations,
            n_pairs,
            n_estimates,
            status,
        ],
    )


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    return set(columns_of(con, table))


def read_origins(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Commune origin points (town halls) and lycées with coordinates.

    Returns
    -------
    pandas.DataFrame
        ``origin_kind``, ``origin_id``, ``lon``, ``lat``, ``commune_code`` (NULL for a lycée
        when the ``schools`` table has no commune).
    """
    school_commune = "commune_code" if "commune_code" in _columns(con, "schools") else "NULL::VARCHAR"
    return con.execute(
        f"""SELECT 'commune' AS origin_kind, code AS origin_id, lon, lat, code AS commune_code FROM communes
           WHERE lon IS NOT NULL AND lat IS NOT NULL
           UNION ALL
           SELECT 'school', uai, lon, lat, {school_commune} FROM schools WHERE lon IS NOT NULL AND lat IS NOT NULL
           ORDER BY 1, 2"""
    ).df()


def read_destinations(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Offer locations: ``loc_id``, ``lon``, ``lat``, ``commune_code``, ``location_precision``, ``n_offers``.

    The last two are NULL when ``offer_locations`` lacks them (the intra-commune model is then not applied).
    """
    cols = _columns(con, "offer_locations")
    extra = ", ".join(c if c in cols else f"NULL::VARCHAR AS {c}" for c in ("commune_code", "location_precision"))
    extra += ", n_offers" if "n_offers" in cols else ", 1 AS n_offers"
    return con.execute(
        f"SELECT loc_id, lon, lat, {extra} FROM offer_locations "
        "WHERE lon IS NOT NULL AND lat IS NOT NULL ORDER BY loc_id"
    ).df()


def read_communes(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Communes for the intra-commune model: ``code``, ``lon``, ``lat``, ``population``, ``area_km2``.

    Empty when ``communes`` lacks population or area (the intra-commune model is then not applied).
    """
    if not {"population", "area_km2"} <= _columns(con, "communes"):
        return pd.DataFrame(columns=["code", "lon", "lat", "population", "area_km2"])
    return con.execute("SELECT code, lon, lat, population, area_km2 FROM communes ORDER BY code").df()


def points_area(*frames: pd.DataFrame, margin_deg: float = 0.05):
    """Convex hull of the points of the frames (``lon``/``lat``), widened by ``margin_deg``."""
    import shapely

    pts = np.vstack([f[["lon", "lat"]].to_numpy(float) for f in frames if len(f)] or [np.zeros((0, 2))])
    if not len(pts):
        return None
    return shapely.convex_hull(shapely.multipoints(pts)).buffer(margin_deg)


def _has_offers(con) -> bool:
    return has_relation(con, "offers")


def build_travel_times(
    con: duckdb.DuckDBPyConnection,
    settings: TravelTimeSettings | config.BuildSettings | Mapping[str, object] | None = None,
    progress=None,
    networks: RoadNetworks | None = None,
) -> dict[str, int]:
    """Build stage: compute every mode's matrix and write ``travel_times`` and its companions.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Database with ``communes``, ``schools`` and ``offer_locations`` (and ``offers`` for the
        view; ``transit_*`` tables for transit).
    settings : TravelTimeSettings, mapping, or the build's settings object, optional
        See :meth:`TravelTimeSettings.from_any`.
    progress : callable, optional
        ``progress(message, fraction)``.
    networks : RoadNetworks, optional
        Already loaded road graphs to reuse (their settings must match).

    Returns
    -------
    dict
        Stored pair count per mode (0 for a skipped mode).
    """
    progress = progress or _noop
    cfg = TravelTimeSettings.from_any(settings)
    present = relations(con)
    missing = [t for t in ("communes", "schools", "offer_locations") if t not in present]
    if missing:
        raise DataError(
            "base DuckDB",
            f"table « {missing[0]} » absente : les temps de trajet se calculent "
            "après le chargement des communes, lycées et offres",
        )
    origins = read_origins(con)
    destinations = read_destinations(con)
    communes = read_communes(con)
    con.execute(TRAVEL_TIMES_DDL)
    if _has_offers(con):
        con.execute(OFFER_VIEW_SQL)
    counts: dict[str, int] = {}
    progress(f"Temps de trajet : {len(origins)} origines x {len(destinations)} lieux d'offres", None)
    nets = networks if networks is not None else RoadNetworks(cfg, area=points_area(origins, destinations))
    n_modes = max(len(cfg.modes), 1)
    for k, mode in enumerate(cfg.modes):
        frac = k / n_modes
        if mode == "transit":
            counts[mode] = _build_transit(con, cfg, origins, destinations, progress, communes)
            continue
        path = cfg.network_for(mode)
        progress(f"Temps de trajet {mode} : réseau {getattr(path, 'name', path)}", frac)
        arrays = nets.arrays(mode)
        matrix = TravelTimeMatrix.for_road(arrays, mode, origins, destinations, cfg)
        n_intra = matrix.apply_intra_commune(communes, cfg)
        counts[mode] = matrix.write(con)
        n_est = int((matrix.is_estimate & np.isfinite(matrix.minutes)).sum())
        progress(
            f"Temps de trajet {mode} : {counts[mode]} couples <= {cfg.max_minutes:g} min "
            f"en {matrix.seconds:.1f} s (dont {n_est} estimations, {n_intra} trajets internes à une commune)",
            (k + 1) / n_modes,
        )
    write_stamp(con, "travel_times")  # the derived tables (analysis.access) compare it
    return counts


def _build_transit(con, cfg: TravelTimeSettings, origins, destinations, progress, communes=None) -> int:
    from . import transit

    t0 = time.perf_counter()
    try:
        if cfg.transit_gtfs:
            network = transit.TransitNetwork.from_gtfs(cfg.transit_gtfs, service_date=cfg.service_date)
        else:
            if not any(n.startswith("transit_") for n in relations(con)):
                raise LookupError("aucune table transit_* (aucun GTFS chargé)")
            network = transit.TransitNetwork.from_duckdb(con, service_date=cfg.service_date)
    except (LookupError, DataError, ValueError, transit.GTFSError) as exc:
        msg = f"transports en commun ignorés : {exc}"
        progress(msg, None)
        record_run(
            con,
            "transit",
            None,
            None,
            cfg.params_for("transit"),
            time.perf_counter() - t0,
            len(origins),
            len(destinations),
            0,
            0,
            "ignoré : " + str(exc),
        )
        return 0
    progress(f"Temps de trajet transit : {network!r}", None)
    matrix = TravelTimeMatrix.for_transit(network, origins, destinations, cfg, progress)
    if communes is not None:
        matrix.apply_intra_commune(communes, cfg)
    n = matrix.write(con)
    progress(f"Temps de trajet transit : {n} couples en {matrix.seconds:.1f} s", None)
    return n


# --------------------------------------------------------------------------- one route


def _edge_label(data: dict) -> str:
    for key in ("name", "ref"):
        val = data.get(key)
        if isinstance(val, list):
            val = " / ".join(map(str, val))
        if val is not None and not (isinstance(val, float) and np.isnan(val)) and str(val):
            return str(val)
    hwy = data.get("highway")
    return str(hwy[0] if isinstance(hwy, list) else hwy or "voie")


def needs_direct_cap(arrays: paths.GraphArrays) -> bool:
    """Whether a network lacks local streets, so that straight-line trips must cap its times.

    OpenStreetMap street networks (precision starting with "rues") do not; the Travel Mapping
    skeleton and other numbered-road layers do: a pupil walking 3 km across Caen should not be
    routed 17 km round the ring road because the streets in between are missing.
    """
    return not str(arrays.meta.get("precision") or "").startswith("rues")


def road_route(
    G, arrays: paths.GraphArrays, mode: str, from_lonlat, to_lonlat, settings: TravelTimeSettings | None = None
) -> dict:
    """One road trip with its legs; ``minutes`` equals :func:`analysis.paths.door_to_door`'s cell.

    Returns
    -------
    dict
        ``{"mode", "minutes", "is_estimate", "network_source", "precision", "distance_m",
        "legs": [{"kind": "access"|"road"|"egress"|"direct"|"estimate", "name", "distance_m",
        "minutes", "from", "to"}...]}``.
    """
    cfg = settings or TravelTimeSettings(source_dir=None)
    det = cfg.detour_for(mode)
    a = np.asarray(from_lonlat, dtype=float).reshape(1, 2)
    b = np.asarray(to_lonlat, dtype=float).reshape(1, 2)
    res = paths.door_to_door(
        arrays,
        a,
        b,
        access_kph=cfg.access_kph(mode),
        fallback_kph=cfg.fallback_kph(mode),
        detour=det,
        max_snap_m=cfg.max_snap_m,
        direct_cap=needs_direct_cap(arrays),
    )
    minutes = float(res.minutes[0, 0])
    out = {
        "mode": mode,
        "minutes": round(minutes, 2) if np.isfinite(minutes) else None,
        "is_estimate": bool(res.is_estimate[0, 0]),
        "network_source": arrays.meta.get("source"),
        "precision": arrays.meta.get("precision"),
    }
    direct = float(paths.haversine_m(a[0, 0], a[0, 1], b[0, 0], b[0, 1]))
    if res.is_estimate[0, 0]:
        out["distance_m"] = round(direct * det)
        label = (
            "à vol d'oiseau x détour (réseau sans rues locales : plus court que par les routes numérotées)"
            if needs_direct_cap(arrays)
            and np.isfinite(minutes)
            and abs(direct * det / (cfg.access_kph(mode) / 3.6) / 60.0 - minutes) < 1e-6
            else "à vol d'oiseau x détour (hors réseau)"
        )
        out["legs"] = [
            {
                "kind": "estimate",
                "name": label,
                "distance_m": round(direct * det),
                "minutes": out["minutes"],
                "from": a[0].tolist(),
                "to": b[0].tolist(),
            }
        ]
        return out
    (no,), (so,) = arrays.snap(a[:, 0], a[:, 1])
    (nd,), (sd,) = arrays.snap(b[:, 0], b[:, 1])
    acc_mps = cfg.access_kph(mode) / 3.6
    direct_min = direct * det / acc_mps / 60.0
    if direct <= so + sd and np.isfinite(minutes) and abs(direct_min - minutes) < 1e-9:
        out["distance_m"] = round(direct * det)
        out["legs"] = [
            {
                "kind": "direct",
                "name": "trajet direct (plus court que l'accès au réseau)",
                "distance_m": round(direct * det),
                "minutes": round(direct_min, 2),
                "from": a[0].tolist(),
                "to": b[0].tolist(),
            }
        ]
        return out
    seconds, nodes = arrays.path(no, nd)
    legs = [
        {
            "kind": "access",
            "name": "accès au réseau",
            "distance_m": round(so * det),
            "minutes": round(so * det / acc_mps / 60.0, 2),
            "from": a[0].tolist(),
            "to": [float(arrays.lon[no]), float(arrays.lat[no])],
        }
    ]
    total_m = so * det + sd * det
    if len(nodes) > 1:
        table = arrays.meta.get("edge_table")
        if table is None:
            table = roads.mode_edge_table(G, mode, cfg.speeds())
        ids = arrays.node_ids
        pairs = pd.DataFrame({"u": ids[nodes[:-1]], "v": ids[nodes[1:]], "step": np.arange(len(nodes) - 1)})
        best = table.sort_values("seconds").drop_duplicates(["u", "v"])
        steps = pairs.merge(best, on=["u", "v"], how="left").sort_values("step")
        current = None
        for u, v, key, sec in zip(steps["u"], steps["v"], steps["key"], steps["seconds"]):
            if key is not None and key >= 0:
                data = G.get_edge_data(u, v, key) or {}
            else:  # a one-way street walked against its direction
                data = next(iter((G.get_edge_data(v, u) or {None: {}}).values()))
            label = _edge_label(data)
            length = float(data.get("length", 0.0))
            total_m += length
            if current is not None and current["name"] == label:
                current["distance_m"] += length
                current["minutes"] += sec / 60.0
                current["to"] = [G.nodes[v]["x"], G.nodes[v]["y"]]
            else:
                current = {
                    "kind": "road",
                    "name": label,
                    "distance_m": length,
                    "minutes": sec / 60.0,
                    "from": [G.nodes[u]["x"], G.nodes[u]["y"]],
                    "to": [G.nodes[v]["x"], G.nodes[v]["y"]],
                }
                legs.append(current)
        for leg in legs[1:]:
            leg["distance_m"] = round(leg["distance_m"])
            leg["minutes"] = round(leg["minutes"], 2)
    legs.append(
        {
            "kind": "egress",
            "name": "depuis le réseau",
            "distance_m": round(sd * det),
            "minutes": round(sd * det / acc_mps / 60.0, 2),
            "from": [float(arrays.lon[nd]), float(arrays.lat[nd])],
            "to": b[0].tolist(),
        }
    )
    out["distance_m"] = round(total_m)
    out["legs"] = legs
    return out


def _lonlat(text: str) -> tuple[float, float]:
    """A ``LON,LAT`` argument: a point in Normandie, a swapped order detected
    (:func:`analysis.validate_args.point_type`)."""
    from .validate_args import point_type

    return point_type(text)


def route(
    mode: str,
    from_lonlat,
    to_lonlat,
    date: str | None = None,
    depart: str | None = None,
    network: str | Path | None = None,
    settings: TravelTimeSettings | None = None,
    db_path: str | Path | None = None,
) -> dict:
    """One trip for the command line (and tests): JSON-able dict with ``minutes`` and ``legs``.

    Parameters
    ----------
    mode : {"walk", "bike", "car", "transit"}
    from_lonlat, to_lonlat : (lon, lat)
    date : str, optional
        Transit service date ``YYYY-MM-DD``.
    depart : str, optional
        Transit departure ``HH:MM`` (default: best of the morning window).
    network : path, optional
        Road network file (road modes) or GTFS (transit); default: the regional skeleton / the
        database's timetables.
    """
    cfg = settings or TravelTimeSettings()
    if mode == "transit":
        from . import transit

        if network is not None:
            net = transit.TransitNetwork.from_gtfs(network, service_date=date)
            networks: tuple[str, ...] = (catalogue.network_name(Path(network).stem, str(network)),)
        else:
            from . import db

            con = db.connect(db_path or config.default_db_path(), read_only=True)
            try:
                net = transit.TransitNetwork.from_duckdb(con, service_date=date)
                networks = catalogue.transit_networks(con)
            finally:
                con.close()
        out = transit.transit_route(
            net,
            tuple(from_lonlat),
            tuple(to_lonlat),
            depart=depart,
            depart_from=cfg.depart_from,
            depart_to=cfg.depart_to,
            arrive_by=cfg.arrive_by,
            walk_kmh=cfg.walk_kph,
            detour=cfg.detour_for("transit"),
        )
        # which networks the answer knows (offline: « TER seulement »)
        out["reseaux"] = list(networks)
        out["mode_libelle"] = catalogue.mode_label("transit", networks)
        return out
    if mode not in ROAD_MODES:
        raise ValueError(f"mode inconnu : {mode!r}")
    if network is not None:
        cfg = dataclasses.replace(cfg, road_network=Path(network), networks={})
    G = roads.load_road_graph(cfg.network_for(mode))
    arrays = paths.GraphArrays.from_graph(G, mode, cfg.speeds())
    return road_route(G, arrays, mode, from_lonlat, to_lonlat, cfg)


def main(argv: list[str] | None = None) -> int:
    from .validate_args import ArgParser, fail

    parser = ArgParser(prog="python -m analysis.traveltime", description="Temps de trajet de l'observatoire.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("route", help="un trajet, affiché en JSON (minutes et étapes)")
    p.add_argument("--mode", required=True, choices=ALL_MODES)
    p.add_argument("--from", dest="src", required=True, type=_lonlat, metavar="LON,LAT")
    p.add_argument("--to", dest="dst", required=True, type=_lonlat, metavar="LON,LAT")
    p.add_argument("--date", default=None, help="date de service (transports en commun), AAAA-MM-JJ")
    p.add_argument("--depart", default=None, help="heure de départ HH:MM (transports en commun)")
    p.add_argument(
        "--network",
        default=None,
        type=Path,
        help="réseau : fichier OSM/couche routière (route) ou GTFS (transports en commun)",
    )
    p.add_argument("--db", default=None, type=Path, help="base DuckDB (transports en commun)")
    argv = list(sys.argv[1:] if argv is None else argv)
    # "--from -0.37,49.18": a negative longitude would read as an option; glue it to its flag.
    for i in range(len(argv) - 2, -1, -1):
        if argv[i] in ("--from", "--to") and argv[i + 1].startswith("-"):
            argv[i : i + 2] = [f"{argv[i]}={argv[i + 1]}"]
    args = parser.parse_args(argv)
    if args.date is not None:
        try:
            dt.date.fromisoformat(args.date)
        except ValueError:
            parser.error(f"date invalide : {args.date!r} (attendu AAAA-MM-JJ)")
    try:
        result = route(
            args.mode, args.src, args.dst, date=args.date, depart=args.depart, network=args.network, db_path=args.db
        )
    except (DataError, FileNotFoundError, ValueError) as exc:  # GTFSError is a DataError
        return fail(exc)
    print(json.dumps(result, ensure_ascii=False, indent=2, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
