"""Every offer each pupil reaches, on the existing engine, from arbitrary points.

Owns :class:`ReachNetworks` (the mode's road arrays and the timetable, loaded once and reusable
across calls: they hold no pupil data), :func:`load_offers`, :func:`off_network` (the refusal of
a point farther from the mode's network than the engine's snapping limit), and
:func:`compute` (pupils -> :class:`analysis.reach.model.PupilReach`).

The minutes are those of ``python -m analysis.traveltime route`` between the same two points:
road modes use :func:`analysis.network.paths.door_to_door` with the same settings as
:func:`analysis.traveltime.road_route`, transit uses :func:`analysis.transit.transit_matrix`
(the figure :func:`analysis.transit.transit_route` equals) and, for each reachable offer,
:func:`analysis.transit.transit_route` gives the first departure (line, stop, time). Pupils
sharing a point share one search; no intra-commune model is applied (a pupil is a point).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from analysis.network import paths
from analysis.reach.model import PupilOrigin, PupilReach
from analysis.traveltime.matrix import needs_direct_cap
from analysis.traveltime.settings import ROAD_MODES, TravelTimeSettings

#: The road mode whose network a public-transport trip starts on (walking to the stop).
TRANSIT_ACCESS_MODE = "walk"


@dataclass
class ReachNetworks:
    """Networks of the computation, loaded on first use and kept (no pupil data inside).

    Attributes
    ----------
    settings : TravelTimeSettings
        Speeds, detours, snapping limit and transit window (those of the ``route`` command).
    """

    settings: TravelTimeSettings = field(default_factory=TravelTimeSettings)
    _graph: Any = None
    _arrays: dict = field(default_factory=dict)
    _transit: dict = field(default_factory=dict)

    def arrays(self, mode: str) -> paths.GraphArrays:
        """A road mode's arrays: the build's graph cache when present (read only), else the network file.

        Nothing is ever written: a cache miss is not saved (the page keeps the arrays in memory).
        """
        if mode not in self._arrays:
            from analysis.network import graphcache, roads

            cfg = self.settings
            path = cfg.network_for(mode)
            arrays = graphcache.load(path, mode, cfg.speeds())
            if arrays is None:
                if self._graph is None:
                    self._graph = roads.load_road_graph(path)
                arrays = paths.GraphArrays.from_graph(self._graph, mode, cfg.speeds())
            self._arrays[mode] = arrays
        return self._arrays[mode]

    def transit(self, con: duckdb.DuckDBPyConnection, date: str | None = None):
        """The timetable of one service date (default: the engine's)."""
        key = date or self.settings.service_date
        if key not in self._transit:
            from analysis import transit

            self._transit[key] = transit.TransitNetwork.from_duckdb(con, service_date=key)
        return self._transit[key]


def load_offers(con: duckdb.DuckDBPyConnection, sectors: Sequence[str] = ()) -> pd.DataFrame:
    """Offers open to seconde pupils, with their location and commune.

    Returns
    -------
    pandas.DataFrame
        ``offer_id``, ``sector``, ``employer``, ``address``, ``postcode``, ``commune``,
        ``commune_code``, ``location_precision``, ``loc_id``, ``lon``, ``lat``.
    """
    df = con.execute(
        """SELECT o.offer_id, o.sector, o.public_employer_type AS employer, o.street AS address, o.postcode,
                  coalesce(c.name, o.town) AS commune, o.commune_code, l.location_precision, o.loc_id,
                  l.lon, l.lat
           FROM offers o JOIN offer_locations l ON l.loc_id = o.loc_id
           LEFT JOIN communes c ON c.code = o.commune_code
           WHERE coalesce(o.for_seconde, TRUE) AND l.lon IS NOT NULL AND l.lat IS NOT NULL
           ORDER BY o.offer_id"""
    ).df()
    if sectors:
        df = df[df["sector"].isin(list(sectors))]
    return df.reset_index(drop=True)


def off_network(networks: ReachNetworks, mode: str, lonlat: np.ndarray) -> tuple[np.ndarray, float]:
    """Distance (m) from each point to the mode's network, and the snapping limit.

    Transit trips start on foot: their network here is the walking network. A point farther
    than the limit (:attr:`TravelTimeSettings.max_snap_m`) is refused: the engine would answer
    with a straight-line estimate (a walk across the sea).
    """
    road_mode = mode if mode in ROAD_MODES else TRANSIT_ACCESS_MODE
    arrays = networks.arrays(road_mode)
    _nodes, dist = arrays.snap(lonlat[:, 0], lonlat[:, 1])
    return np.asarray(dist, dtype=float), float(networks.settings.max_snap_m)


def _road_minutes(networks: ReachNetworks, mode: str, pts: np.ndarray, locs: np.ndarray, budget: float):
    cfg = networks.settings
    arrays = networks.arrays(mode)
    res = paths.door_to_door(
        arrays,
        pts,
        locs,
        access_kph=cfg.access_kph(mode),
        fallback_kph=cfg.fallback_kph(mode),
        detour=cfg.detour_for(mode),
        max_snap_m=cfg.max_snap_m,
        max_minutes=budget,
        direct_cap=needs_direct_cap(arrays),
    )
    return res.minutes, res.is_estimate


def _window(cfg: TravelTimeSettings, depart: str | None, budget: float) -> dict[str, str]:
    """The transit window: the morning window, or leaving at ``depart`` and arriving within the budget."""
    if depart is None:
        return {"depart_from": cfg.depart_from, "depart_to": cfg.depart_to, "arrive_by": cfg.arrive_by}
    from analysis.transit import format_hhmm, parse_hhmm

    end = format_hhmm(parse_hhmm(depart) + int(budget * 60))
    return {"depart_from": depart, "depart_to": depart, "arrive_by": end}


def _transit_minutes(net, cfg: TravelTimeSettings, pts: np.ndarray, locs: np.ndarray, budget: float, depart):
    from analysis import transit

    minutes = transit.transit_matrix(
        net,
        pts,
        locs,
        walk_kmh=cfg.walk_kph,
        detour=cfg.detour_for("transit"),
        **_window(cfg, depart, budget),
    )
    return np.asarray(minutes, dtype=float), np.zeros(minutes.shape, dtype=bool)


def first_departure(net, cfg: TravelTimeSettings, origin, dest, depart: str | None = None) -> dict | None:
    """The first vehicle of the journey :func:`analysis.transit.transit_route` gives: ``line``,
    ``stop``, ``time``, ``headsign`` (None when the best way is walking all along)."""
    from analysis import transit

    kw = {} if depart is not None else _window(cfg, None, 0)
    r = transit.transit_route(
        net, origin, dest, depart=depart, walk_kmh=cfg.walk_kph, detour=cfg.detour_for("transit"), **kw
    )
    leg = next((x for x in r.get("legs", []) if x.get("mode") == "transit"), None)
    if leg is None:
        return None
    return {"line": leg["route"], "stop": leg["from"], "time": leg["depart"], "headsign": leg["headsign"]}


OFFER_FIELDS = ("offer_id", "sector", "employer", "commune", "commune_code", "address", "location_precision")


def _clean(v: Any) -> Any:
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
        return None
    if isinstance(v, np.integer):
        return int(v)
    return v


def _offer_lists(
    offers: pd.DataFrame, loc_index: np.ndarray, minutes: np.ndarray, estimate: np.ndarray, budget: float
) -> list[dict]:
    """The offers of one point within ``budget``, sorted by minutes then offer id."""
    j = np.flatnonzero(np.isfinite(minutes) & (minutes <= budget + 1e-9))
    if not len(j):
        return []
    per_loc = pd.DataFrame({"_j": j, "_min": minutes[j], "_est": estimate[j]})
    sel = offers.assign(_j=loc_index).merge(per_loc, on="_j")
    sel = sel.sort_values(["_min", "offer_id"], kind="stable")
    out = []
    for rec in sel.to_dict("records"):
        item = {"offer_id": _clean(rec["offer_id"]), "minutes": round(float(rec["_min"]), 2)}
        item.update({k: _clean(rec[k]) for k in OFFER_FIELDS[1:]})
        item["is_estimate"] = bool(rec["_est"])
        item["_j"] = int(rec["_j"])
        out.append(item)
    return out


def compute(
    origins: Sequence[PupilOrigin],
    offers: pd.DataFrame,
    networks: ReachNetworks,
    con: duckdb.DuckDBPyConnection,
    date: str | None = None,
    depart: str | None = None,
) -> list[PupilReach]:
    """Every pupil's reachable offers (file order); refused pupils get an empty list.

    Pupils of one mode are computed together, one search per distinct point, up to the
    largest budget of that mode; each pupil then keeps the offers within its own budget.
    A point off the mode's network is refused (:func:`off_network`).
    """
    results = [PupilReach(o) for o in origins]
    locs = offers.drop_duplicates("loc_id")[["loc_id", "lon", "lat"]].reset_index(drop=True)
    loc_index = pd.Index(locs["loc_id"]).get_indexer(offers["loc_id"])
    loc_xy = locs[["lon", "lat"]].to_numpy(float)
    for mode in sorted({o.mode for o in origins if o.ok and o.mode}):
        group = [r for r in results if r.origin.ok and r.origin.mode == mode]
        pts = np.array([[r.origin.lon, r.origin.lat] for r in group], dtype=float)
        dist, limit = off_network(networks, mode, pts)
        for r, d in zip(group, dist):
            if d > limit:
                r.origin.refuse(
                    f"point hors du réseau : à {d / 1000:.1f} km du réseau le plus proche "
                    f"(au-delà de {limit / 1000:.1f} km, aucun trajet n'est calculé)"
                )
        group = [r for r in group if r.origin.ok]
        if not group:
            continue
        _compute_group(group, mode, offers, loc_index, loc_xy, networks, con, date, depart)
    return results


def _compute_group(group, mode, offers, loc_index, loc_xy, networks, con, date, depart) -> None:
    cfg = networks.settings
    keys = [(round(r.origin.lon, 7), round(r.origin.lat, 7)) for r in group]
    uniq = sorted(set(keys))
    pts = np.array(uniq, dtype=float)
    budget = float(max(r.origin.minutes for r in group))
    net = None
    if mode == "transit":
        net = networks.transit(con, date)
        minutes, estimate = _transit_minutes(net, cfg, pts, loc_xy, budget, depart)
    else:
        minutes, estimate = _road_minutes(networks, mode, pts, loc_xy, budget)
    row_of = {k: i for i, k in enumerate(uniq)}
    departures: dict[tuple[int, int], dict | None] = {}
    for r, k in zip(group, keys):
        i = row_of[k]
        items = _offer_lists(offers, loc_index, minutes[i], estimate[i], float(r.origin.minutes))
        for it in items:
            j = it.pop("_j")
            if net is not None:
                if (i, j) not in departures:
                    departures[(i, j)] = first_departure(net, cfg, tuple(pts[i]), tuple(loc_xy[j]), depart)
                it["departure"] = departures[(i, j)]
        r.offers = items
