"""Parameters of the travel-time stage.

Owns the modes the stage computes (:data:`ROAD_MODES`, :data:`ALL_MODES`), the default regional
road network (:data:`SKELETON_RELPATH`, or :data:`ONLINE` for OSMnx's download) and
:class:`TravelTimeSettings` (speeds, detour factors, horizon, transit window, and what each mode
records in ``travel_time_runs.params``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analysis import catalogue, config
from analysis.errors import DataError
from analysis.network import detour as detours
from analysis.network import roads
from analysis.transit import model as transit_model

ROAD_MODES = roads.ROAD_MODES


def all_modes() -> tuple[str, ...]:
    """Road modes first, then the timetable modes (transit needs nothing from the road runs),
    read from the catalogue at call time (modes registered there included)."""
    return catalogue.ROAD_MODES + tuple(m for m in catalogue.MODES if m not in catalogue.ROAD_MODES)


#: :func:`all_modes` of the built-in modes.
ALL_MODES: tuple[str, ...] = all_modes()


#: The regional default road network, relative to the source directory.
SKELETON_RELPATH = "roads/travelmapping_highwaydata_normandie/travelmapping_normandie.gpkg"


#: ``road_network`` value asking for OSMnx's online download around the points (internet needed).
ONLINE = "osmnx-online"


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
        Car speed on the access legs (point <-> snapped node) and on very short direct trips
        (default: fitted with the skeleton's speeds on OSRM, ``roads.SKELETON_CAR_ACCESS_KPH``).
    car_fallback_kph : float
        Car speed of straight-line estimates where no network covers a pair.
    detour : float
        Straight-line detour factor of the car (and of any mode without a calibrated factor).
    walk_detour, bike_detour : float
        Straight-line detour factors of walking and cycling, measured on real streets
        (:mod:`analysis.network.detour`, both density groups pooled); walking's is also used by the
        walking legs of public transport.
    max_snap_m : float
        A point farther than this from the network gets straight-line estimates.
    chunk_mb : int
        Memory budget of one Dijkstra chunk.
    service_date : str, optional
        ``YYYY-MM-DD`` for transit (default: the transit engine's choice).
    depart_from, depart_to, arrive_by : str
        Transit morning window.
    transit_access_min : float
        Longest walk (minutes) to the first stop and from the last stop
        (:data:`analysis.transit.model.MAX_ACCESS_MIN`): a time cap whose minutes count in the
        door-to-door figure, not a distance limit.
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
    transit_access_min: float = transit_model.MAX_ACCESS_MIN
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
        known = all_modes()
        unknown = [m for m in out.modes if m not in known]
        if unknown:
            raise ValueError(f"mode inconnu : {unknown[0]!r} (attendu : {', '.join(known)})")
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
        """Network speed (``length / speed`` modes) or access speed (``car``) of every road mode:
        this object's fields for the built-in modes, the catalogue's for a registered one."""
        fields = {"walk": self.walk_kph, "bike": self.bike_kph, "car": self.car_access_kph}
        return {m: fields[m] if m in fields else roads.mode_speed_kph(m) for m in catalogue.ROAD_MODES}

    def access_kph(self, mode: str) -> float:
        return self.speeds()[mode]

    def detour_for(self, mode: str) -> float:
        """Straight-line detour factor of a mode (``transit``: its walking legs, the catalogue's
        ``legs_mode``); a registered mode gets :func:`analysis.network.detour.factor` (never silently the car's)."""
        legs = catalogue.mode_info(mode).legs_mode
        if legs is not None:
            return self.detour_for(legs)
        fields = {"walk": self.walk_detour, "bike": self.bike_detour, "car": self.detour}
        return fields[mode] if mode in fields else detours.factor(mode)

    def fallback_kph(self, mode: str) -> float:
        if mode == "car":
            return self.car_fallback_kph
        info = catalogue.mode_info(mode)
        return self.speeds()[mode] if info.fallback_kph is None else info.fallback_kph

    def params_for(self, mode: str) -> dict:
        """The parameters recorded in ``travel_time_runs.params`` for a mode."""
        common = {"max_minutes": self.max_minutes}
        info = catalogue.mode_info(mode)
        if not info.on_roads:
            return {
                **common,
                "service_date": self.service_date,
                "depart_from": self.depart_from,
                "depart_to": self.depart_to,
                "arrive_by": self.arrive_by,
                "walk_kph": self.walk_kph,
                "detour": self.detour_for("transit"),
                "max_access_walk_min": self.transit_access_min,
            }
        out = {
            **common,
            "detour": self.detour_for(mode),
            "max_snap_m": self.max_snap_m,
            "access_kph": self.access_kph(mode),
            "fallback_kph": self.fallback_kph(mode),
        }
        if not info.edge_speeds:
            out["network_kph"] = self.speeds()[mode]
        else:
            out["car_speeds"] = "OSM maxspeed, sinon classes de voies (analysis.roads)"
            sk = roads.SKELETON_SPEEDS
            out["car_skeleton_model"] = (
                f"squelette calibré sur OSRM 2021 : autoroutes {sk['motorway']:g}, nationales {sk['primary']:g}, "
                f"départementales {sk['secondary']:g} km/h, {roads.SKELETON_URBAN_KPH:g} km/h sous "
                f"{roads.SKELETON_URBAN_SEGMENT_M:g} m, +{roads.SKELETON_JUNCTION_S:g} s par tronçon"
            )
        return out
