"""Travel times from pupil origins to candidate collective-internship sites (build stage).

``travel_times`` only reaches offer locations, so an origin that reaches no offer within the
budget can never reach a site that already holds offers: the candidate sites of the covering
problem must include commune centres and lycées *without* offers. This stage computes, with the
project's own engines (:mod:`analysis.network.paths` on the road graphs, :mod:`analysis.transit` on the
GTFS timetables, same settings as :mod:`analysis.traveltime`), the minutes from every origin
(commune origin point or lycée, as in ``travel_times``) to every candidate site (every commune
origin point and every lycée), kept up to :data:`SITE_MAX_MINUTES`, into::

    site_travel_times(origin_kind, origin_id, site_kind, site_id, mode, minutes, is_estimate)

A commune's pupils and a site of the same commune are not 0 min apart: the intra-commune model
of :mod:`analysis.network.intracommune` (case « commune-point ») gives their time, as in ``travel_times``.
"""

from __future__ import annotations

import time
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from analysis import traveltime
from analysis.catalogue import mode_label
from analysis.text import count as count_of
from analysis.text import format_number

#: Pairs above this many minutes are not stored (the largest budget the planner offers).
SITE_MAX_MINUTES = 60.0

SITE_TIMES_DDL = """
CREATE OR REPLACE TABLE site_travel_times (
    origin_kind VARCHAR NOT NULL,
    origin_id VARCHAR NOT NULL,
    site_kind VARCHAR NOT NULL,
    site_id VARCHAR NOT NULL,
    mode VARCHAR NOT NULL,
    minutes REAL NOT NULL,
    is_estimate BOOLEAN NOT NULL
)
"""


def read_sites(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Candidate sites: ``site_kind`` (``commune``/``school``), ``site_id``, ``lon``, ``lat``.

    They are the points of :func:`analysis.traveltime.read_origins` (commune origin points, i.e.
    town halls, and lycées), with ``commune_code`` and ``location_precision = 'point'`` (a site is
    held at that very point) for the intra-commune trip model: a commune's pupils, spread over
    its settled area, reach a site of their own commune in the mean time from that area to the
    point, never 0 minutes (a lycée's pupils reach their own lycée in 0 minutes: no trip).
    """
    out = traveltime.read_origins(con)
    out = out.rename(columns={"origin_kind": "site_kind", "origin_id": "site_id"})
    # a site is a known point (town hall or lycée): pupils of its own commune are spread around
    # it (intra-commune model of analysis.network.intracommune, case « commune-point »)
    return out.assign(location_precision="point", n_offers=1)


def _frame(
    origins: pd.DataFrame, sites: pd.DataFrame, mode: str, minutes: np.ndarray, is_estimate: np.ndarray
) -> pd.DataFrame:
    i, j = np.nonzero(np.isfinite(minutes) & (minutes <= SITE_MAX_MINUTES))
    return pd.DataFrame(
        {
            "origin_kind": origins["origin_kind"].to_numpy()[i],
            "origin_id": origins["origin_id"].astype(str).to_numpy()[i],
            "site_kind": sites["site_kind"].to_numpy()[j],
            "site_id": sites["site_id"].astype(str).to_numpy()[j],
            "mode": mode,
            "minutes": minutes[i, j].astype(np.float32),
            "is_estimate": is_estimate[i, j],
        }
    )


def build_site_times(
    con: duckdb.DuckDBPyConnection, settings: Any = None, progress=None, networks: traveltime.RoadNetworks | None = None
) -> dict[str, int]:
    """Build stage: write ``site_travel_times`` (every mode of the travel-time settings).

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Database with ``communes``, ``schools`` (and ``transit_*`` for transit).
    settings : any
        As :meth:`analysis.traveltime.TravelTimeSettings.from_any`.
    progress : callable, optional
    networks : analysis.traveltime.RoadNetworks, optional
        Road graphs already loaded.

    Returns
    -------
    dict
        Stored pairs per mode (0 for a mode that could not be computed).
    """
    progress = progress or (lambda *a, **k: None)
    cfg = traveltime.TravelTimeSettings.from_any(settings)
    cfg.max_minutes = min(float(cfg.max_minutes), SITE_MAX_MINUTES)
    origins = traveltime.read_origins(con)
    sites = read_sites(con)
    communes = traveltime.read_communes(con)
    con.execute(SITE_TIMES_DDL)
    nets = networks or traveltime.RoadNetworks(cfg, area=traveltime.points_area(origins))
    counts: dict[str, int] = {}
    for mode in cfg.modes:
        t0 = time.perf_counter()
        if mode == "transit":
            try:
                from analysis import transit

                network = transit.TransitNetwork.from_duckdb(con, service_date=cfg.service_date)
            except Exception as exc:  # no timetable: the mode is absent, as in travel_times
                progress(f"Sites candidats : transports en commun ignorés ({exc})", None)
                counts[mode] = 0
                continue
            m = traveltime.TravelTimeMatrix.for_transit(network, origins, sites, cfg)
        else:
            m = traveltime.TravelTimeMatrix.for_road(nets.arrays(mode), mode, origins, sites, cfg)
        if len(communes):
            m.apply_intra_commune(communes, cfg)
        frame = _frame(origins, sites, mode, m.minutes, m.is_estimate)
        con.register("_site_tt", frame)
        try:
            con.execute("INSERT INTO site_travel_times SELECT * FROM _site_tt")
        finally:
            con.unregister("_site_tt")
        counts[mode] = len(frame)
        progress(
            f"Sites candidats {mode_label(mode, None, 'phrase')} : {count_of(len(frame), 'couple')} ≤ "
            f"{SITE_MAX_MINUTES:g} min en {format_number(time.perf_counter() - t0, 1)} s",
            None,
        )
    return counts
