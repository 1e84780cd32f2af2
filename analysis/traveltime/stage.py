"""Build stage of the travel times.

:func:`build_travel_times` (called by ``analysis.build``) reads the points, computes every mode's
:class:`analysis.traveltime.matrix.TravelTimeMatrix` and writes ``travel_times``, its view and
``travel_time_runs``, then stamps ``travel_times`` for the derived tables; transit is skipped with
a message when no timetable is loaded.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import duckdb
import numpy as np

from analysis import config
from analysis.catalogue import mode_label
from analysis.db import relations, write_stamp
from analysis.errors import DataError
from analysis.text import count as count_of
from analysis.text import format_number
from analysis.traveltime.matrix import RoadNetworks, TravelTimeMatrix
from analysis.traveltime.settings import TravelTimeSettings
from analysis.traveltime.tables import (
    OFFER_VIEW_SQL,
    TRAVEL_TIMES_DDL,
    has_offers,
    points_area,
    read_communes,
    read_destinations,
    read_origins,
    record_run,
)


def _noop(message: str, fraction: float | None = None) -> None:
    return None


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
    if has_offers(con):
        con.execute(OFFER_VIEW_SQL)
    counts: dict[str, int] = {}
    places = count_of(len(destinations), "lieu d'offres", "lieux d'offres")
    progress(f"Temps de trajet : {count_of(len(origins), 'origine')} × {places}", None)
    nets = networks if networks is not None else RoadNetworks(cfg, area=points_area(origins, destinations))
    n_modes = max(len(cfg.modes), 1)
    for k, mode in enumerate(cfg.modes):
        frac = k / n_modes
        if mode == "transit":
            counts[mode] = _build_transit(con, cfg, origins, destinations, progress, communes)
            continue
        path = cfg.network_for(mode)
        progress(f"Temps de trajet {mode_label(mode, None, 'phrase')} : réseau {getattr(path, 'name', path)}", frac)
        arrays = nets.arrays(mode)
        matrix = TravelTimeMatrix.for_road(arrays, mode, origins, destinations, cfg)
        n_intra = matrix.apply_intra_commune(communes, cfg)
        counts[mode] = matrix.write(con)
        n_est = int((matrix.is_estimate & np.isfinite(matrix.minutes)).sum())
        progress(
            f"Temps de trajet {mode_label(mode, None, 'phrase')} : {count_of(counts[mode], 'couple')} ≤ "
            f"{cfg.max_minutes:g} min en {format_number(matrix.seconds, 1)} s (dont {count_of(n_est, 'estimation')}, "
            f"{count_of(n_intra, 'trajet interne', 'trajets internes')} à une commune)",
            (k + 1) / n_modes,
        )
    write_stamp(con, "travel_times")  # the derived tables (analysis.access) compare it
    return counts


def _build_transit(con, cfg: TravelTimeSettings, origins, destinations, progress, communes=None) -> int:
    from analysis import transit

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
    progress(
        f"Temps de trajet {mode_label('transit', None, 'phrase')} : horaires du {network.service_date}, "
        f"{count_of(network.n_stops, 'arrêt')}, {count_of(network.n_connections, 'connexion')}, "
        f"{count_of(len(network.trip_ids), 'trajet')}",
        None,
    )
    matrix = TravelTimeMatrix.for_transit(network, origins, destinations, cfg, progress)
    if communes is not None:
        matrix.apply_intra_commune(communes, cfg)
    n = matrix.write(con)
    progress(
        f"Temps de trajet {mode_label('transit', None, 'phrase')} : {count_of(n, 'couple')} "
        f"en {format_number(matrix.seconds, 1)} s",
        None,
    )
    return n
