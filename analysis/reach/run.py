"""One call from a class file's bytes to a :class:`analysis.reach.model.ReachResult`.

Used by the command line and the page « Élèves ». Reads the database only (no write), keeps
everything in memory, and never stops on a bad row.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

from analysis.reach.engine import ReachNetworks, compute, load_offers
from analysis.reach.model import ReachResult
from analysis.reach.origins import Fetch, resolve
from analysis.reach.pupils_file import read_pupils


def reach_from_bytes(
    data: bytes,
    name: str,
    con: duckdb.DuckDBPyConnection,
    mode: str,
    minutes: int,
    date: str | None = None,
    depart: str | None = None,
    sectors: Sequence[str] = (),
    geocode: bool = False,
    networks: ReachNetworks | None = None,
    geocoder_url: str | None = None,
    fetch: Fetch | None = None,
) -> ReachResult:
    """Every pupil's reachable offers.

    Parameters
    ----------
    data, name : bytes, str
        The class file (in memory) and its name (``.xlsx`` or CSV).
    con : duckdb.DuckDBPyConnection
        The database, read only.
    mode, minutes : str, int
        Defaults for pupils without their own ``mode`` / ``minutes``.
    date, depart : str, optional
        Transit service date ``YYYY-MM-DD`` and departure ``HH:MM`` (default: the morning window).
    sectors : sequence of str
        Keep the offers of these sectors only (canonical names).
    geocode : bool
        Send the addresses to the Base Adresse Nationale (online).
    networks : ReachNetworks, optional
        Networks already loaded (the page keeps one).

    Raises
    ------
    analysis.errors.DataError
        The file cannot be read at all (nothing else stops the run).
    """
    rows, notes = read_pupils(data, name)
    origins, more = resolve(rows, con, mode, minutes, geocode=geocode, geocoder_url=geocoder_url, fetch=fetch)
    nets = networks or ReachNetworks()
    offers = load_offers(con, sectors)
    pupils = compute(origins, offers, nets, con, date=date, depart=depart)
    service_date = None
    if any(p.origin.mode == "transit" and p.origin.ok for p in pupils):
        service_date = nets.transit(con, date).service_date.isoformat()
    return ReachResult(mode, minutes, pupils, date, depart, tuple(sectors), service_date, notes + more)
