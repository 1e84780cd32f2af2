"""One call from a class file's bytes to a :class:`analysis.reach.model.ReachResult`.

Used by the command line and the page « Élèves ». Reads the database only (no write), keeps
everything in memory, and never stops on a bad row.
"""

from __future__ import annotations

import duckdb

from analysis.reach.engine import ReachNetworks, compute, load_offers
from analysis.reach.model import ReachRequest, ReachResult
from analysis.reach.origins import Fetch, resolve
from analysis.reach.pupils_file import read_pupils


def reach_from_bytes(
    data: bytes,
    name: str,
    con: duckdb.DuckDBPyConnection,
    request: ReachRequest,
    *,
    networks: ReachNetworks | None = None,
    fetch: Fetch | None = None,
) -> ReachResult:
    """Every pupil's reachable offers.

    Parameters
    ----------
    data, name : bytes, str
        The class file (in memory) and its name (``.xlsx`` or CSV).
    con : duckdb.DuckDBPyConnection
        The database, read only.
    request : ReachRequest
        Default mode and budget, transit date and departure, sectors, geocoding.
    networks : ReachNetworks, optional
        Networks already loaded (the page keeps one).
    fetch : callable, optional
        The HTTP call of the geocoder (tests replace it).

    Raises
    ------
    analysis.errors.DataError
        The file cannot be read at all (nothing else stops the run).
    """
    rows, notes = read_pupils(data, name)
    origins, more = resolve(
        rows,
        con,
        request.mode,
        request.minutes,
        geocode=request.geocode,
        geocoder_url=request.geocoder_url,
        fetch=fetch,
    )
    nets = networks or ReachNetworks()
    offers = load_offers(con, request.sectors)
    pupils = compute(origins, offers, nets, con, date=request.date, depart=request.depart)
    service_date = None
    if any(p.origin.mode == "transit" and p.origin.ok for p in pupils):
        service_date = nets.transit(con, request.date).service_date.isoformat()
    return ReachResult(
        request.mode,
        request.minutes,
        pupils,
        request.date,
        request.depart,
        tuple(request.sectors),
        service_date,
        notes + more,
    )
