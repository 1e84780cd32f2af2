"""Validation of a GTFS feed read as text: files, columns, value formats, references.

Owns the column checks (times ``H:MM:SS``, dates ``AAAAMMJJ``, integers and their allowed
values, unique ids, references to another file), each raising a :class:`GTFSError` that names
the file, the 1-based data row and the field, and the rules of each file, run in a fixed order
by :func:`validate_feed`. Validation stores parsed helper columns (``_seq``, ``_arr``, ``_dep``...)
in ``stop_times.txt`` for the loader.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from analysis.gtfs.feed import REQUIRED_COLUMNS, REQUIRED_FILES, WEEKDAYS, Feed, GTFSError, GTFSWarning


def _missing_field_error(feed: Feed, name: str, col: str) -> GTFSError:
    return GTFSError(
        feed.where(name),
        f"colonne obligatoire absente (colonnes trouvées : {', '.join(feed.tables[name].columns) or 'aucune'})",
        field=col,
    )


def first_bad(mask: np.ndarray | pd.Series) -> int | None:
    """Position of the first true value of ``mask``, or None when there is none."""
    idx = np.flatnonzero(np.asarray(mask))
    return int(idx[0]) if len(idx) else None


def _raise_at_first_bad(
    feed: Feed, name: str, field: str, bad: np.ndarray | pd.Series, template: str, **params: object
) -> None:
    """Raise a :class:`GTFSError` at the first true entry of the mask ``bad`` (one per data row of
    ``name``), naming the file, the 1-based row and ``field``; nothing when none is true.

    ``template`` is formatted with ``value`` (the field's text on that row), ``row`` (the whole
    row: ``{row[arrival_time]}``) and ``params``.
    """
    row = first_bad(bad)
    if row is not None:
        df = feed.tables[name]
        text = template.format(value=df[field].iat[row], row=df.iloc[row], **params)
        raise GTFSError(feed.where(name), text, row=row + 1, field=field)


def _unique_map(values: pd.Series, fn) -> np.ndarray:
    """Apply a vectorised ``fn`` to the distinct values of ``values`` only (GTFS columns repeat a lot)."""
    codes, uniques = pd.factorize(values.astype(str), use_na_sentinel=False)
    return np.asarray(fn(pd.Series(uniques)))[codes]


def parse_gtfs_time(values: pd.Series) -> np.ndarray:
    """Parse GTFS times ``H:MM:SS`` (hours may exceed 24) into seconds since the service day start.

    Parameters
    ----------
    values : pandas.Series of str

    Returns
    -------
    numpy.ndarray of float
        Seconds since the start of the service day (``"25:10:00"`` -> 90600). Empty strings give
        NaN; malformed values give NaN too (callers tell empty from malformed).
    """
    codes, uniques = pd.factorize(values.astype(str), use_na_sentinel=False)
    parts = pd.Series(uniques).str.strip().str.extract(r"^(\d{1,3}):([0-5]\d):([0-5]\d)$")
    h = pd.to_numeric(parts[0], errors="coerce")
    m = pd.to_numeric(parts[1], errors="coerce")
    sec = pd.to_numeric(parts[2], errors="coerce")
    return (h * 3600 + m * 60 + sec).to_numpy(dtype=float)[codes]


def _check_time_column(feed: Feed, name: str, col: str, allow_empty: bool) -> np.ndarray:
    df = feed.tables[name]
    secs = parse_gtfs_time(df[col])
    empty = _unique_map(df[col], lambda u: u.str.strip() == "").astype(bool)
    bad = np.isnan(secs) & ~empty
    if not allow_empty:
        bad |= empty
    _raise_at_first_bad(feed, name, col, bad, "heure invalide « {value} » (format HH:MM:SS attendu)")
    return secs


def _check_date_column(feed: Feed, name: str, col: str) -> pd.Series:
    df = feed.tables[name]
    d = pd.to_datetime(df[col].str.strip(), format="%Y%m%d", errors="coerce")
    _raise_at_first_bad(feed, name, col, d.isna(), "date invalide « {value} » (format AAAAMMJJ attendu)")
    return d


def _check_int_column(
    feed: Feed, name: str, col: str, allowed: tuple[int, ...] | None = None, default: int | None = None
) -> np.ndarray:
    df = feed.tables[name]

    def parse(u: pd.Series) -> np.ndarray:
        raw = u.str.strip()
        v = pd.to_numeric(raw, errors="coerce")
        if default is not None:
            v = v.where(raw != "", default)
        return v.to_numpy(dtype=float)

    vals = pd.Series(_unique_map(df[col], parse), index=df.index)
    bad = vals.isna() | (vals != vals.round())
    if allowed is not None:
        bad |= ~vals.isin(allowed)
    expect = f"une des valeurs {allowed}" if allowed else "un entier"
    _raise_at_first_bad(feed, name, col, bad, "valeur invalide « {value} » ({expect} attendu)", expect=expect)
    return vals.to_numpy(dtype=np.int64)


def _check_unique(feed: Feed, name: str, col: str) -> None:
    df = feed.tables[name]
    _raise_at_first_bad(feed, name, col, df[col].duplicated(), "identifiant en double « {value} »")


def _check_reference(feed: Feed, name: str, col: str, target: str, target_col: str) -> None:
    df = feed.tables[name]
    known = feed.tables[target][target_col]
    bad = ~df[col].isin(known)
    template = "« {value} » absent de {target} ({target_col})"
    _raise_at_first_bad(feed, name, col, bad, template, target=target, target_col=target_col)


def _check_files(feed: Feed) -> None:
    """Required files present, and a calendar of some kind."""
    for name in REQUIRED_FILES:
        if not feed.has(name):
            raise GTFSError(feed.where(name), "fichier obligatoire absent du flux GTFS")
    if not (feed.has("calendar.txt") or feed.has("calendar_dates.txt")):
        raise GTFSError(
            feed.where("calendar.txt"),
            "ni calendar.txt ni calendar_dates.txt : les jours de circulation sont inconnus",
        )


def _check_columns(feed: Feed) -> None:
    """Required columns of every file present (:data:`REQUIRED_COLUMNS`)."""
    for name, cols in REQUIRED_COLUMNS.items():
        if feed.has(name):
            for col in cols:
                if col not in feed.tables[name].columns:
                    raise _missing_field_error(feed, name, col)


def _check_stops(feed: Feed) -> None:
    """``stops.txt``: unique ids, location types, coordinates where the type needs them.

    Adds the optional columns ``location_type``, ``parent_station`` and ``stop_name`` when absent.
    """
    stops = feed.tables["stops.txt"]
    _check_unique(feed, "stops.txt", "stop_id")
    if "location_type" not in stops.columns:
        stops["location_type"] = "0"
    if "parent_station" not in stops.columns:
        stops["parent_station"] = ""
    if "stop_name" not in stops.columns:
        stops["stop_name"] = ""
    loc_type = _check_int_column(feed, "stops.txt", "location_type", (0, 1, 2, 3, 4), default=0)
    needs_coords = np.isin(loc_type, (0, 1, 2))
    for col, lo, hi in (("stop_lat", -90, 90), ("stop_lon", -180, 180)):
        v = pd.to_numeric(stops[col].str.strip(), errors="coerce").to_numpy(dtype=float)
        bad = needs_coords & (np.isnan(v) | (v < lo) | (v > hi))
        template = "coordonnée invalide « {value} » (nombre entre {lo} et {hi} attendu)"
        _raise_at_first_bad(feed, "stops.txt", col, bad, template, lo=lo, hi=hi)


def _check_routes_and_trips(feed: Feed) -> None:
    """``routes.txt`` and ``trips.txt``: unique ids, route types, trips' routes known."""
    _check_unique(feed, "routes.txt", "route_id")
    _check_int_column(feed, "routes.txt", "route_type")
    _check_unique(feed, "trips.txt", "trip_id")
    _check_reference(feed, "trips.txt", "route_id", "routes.txt", "route_id")


def _check_calendars(feed: Feed) -> None:
    """``calendar.txt`` (weekday flags 0/1, dates) and ``calendar_dates.txt`` (dates, exception 1/2)."""
    if feed.has("calendar.txt"):
        for col in WEEKDAYS:
            _check_int_column(feed, "calendar.txt", col, (0, 1))
        _check_date_column(feed, "calendar.txt", "start_date")
        _check_date_column(feed, "calendar.txt", "end_date")
    if feed.has("calendar_dates.txt"):
        _check_date_column(feed, "calendar_dates.txt", "date")
        _check_int_column(feed, "calendar_dates.txt", "exception_type", (1, 2))


def _check_frequencies(feed: Feed) -> None:
    """``frequencies.txt`` when present: known trips, times, positive headways."""
    if feed.has("frequencies.txt"):
        _check_reference(feed, "frequencies.txt", "trip_id", "trips.txt", "trip_id")
        _check_time_column(feed, "frequencies.txt", "start_time", allow_empty=False)
        _check_time_column(feed, "frequencies.txt", "end_time", allow_empty=False)
        head = _check_int_column(feed, "frequencies.txt", "headway_secs")
        _raise_at_first_bad(feed, "frequencies.txt", "headway_secs", head <= 0, "intervalle nul ou négatif")


def _check_stop_times(feed: Feed) -> None:
    """``stop_times.txt``: known trips and stops, integers, times, departure not before arrival.

    Stores the parsed helper columns ``_seq``, ``_pickup_type``, ``_drop_off_type``, ``_row``,
    ``_arr`` and ``_dep``. A feed without the file gets a warning (:class:`GTFSWarning`).
    """
    if not feed.has("stop_times.txt"):
        feed.warnings.append(
            f"{feed.where('stop_times.txt')} : fichier absent — les arrêts, lignes et calendriers "
            "sont chargés, mais ce flux ne donne aucun horaire et ne peut pas servir au calcul "
            "d'itinéraires en transport en commun"
        )
        # stacklevel: this function, validate_feed, read_feed, then read_feed's caller
        warnings.warn(feed.warnings[-1], GTFSWarning, stacklevel=4)
        return
        return
    st = feed.tables["stop_times.txt"]
    _check_reference(feed, "stop_times.txt", "trip_id", "trips.txt", "trip_id")
    _check_reference(feed, "stop_times.txt", "stop_id", "stops.txt", "stop_id")
    st["_seq"] = _check_int_column(feed, "stop_times.txt", "stop_sequence")
    for col in ("pickup_type", "drop_off_type"):
        if col not in st.columns:
            st[col] = "0"
        st["_" + col] = _check_int_column(feed, "stop_times.txt", col, (0, 1, 2, 3), default=0)
    arr = _check_time_column(feed, "stop_times.txt", "arrival_time", allow_empty=True)
    dep = _check_time_column(feed, "stop_times.txt", "departure_time", allow_empty=True)
    # a stop with only one of the two times uses it for both
    arr = np.where(np.isnan(arr), dep, arr)
    dep = np.where(np.isnan(dep), arr, dep)
    template = "départ {value} avant l'arrivée {row[arrival_time]}"
    _raise_at_first_bad(feed, "stop_times.txt", "departure_time", dep < arr, template)
    st["_row"] = np.arange(1, len(st) + 1)
    st["_arr"] = arr
    st["_dep"] = dep


def validate_feed(feed: Feed) -> None:
    """Check files, columns, value formats and references; store parsed helper columns.

    The rules run file by file in a fixed order; the first broken one raises a
    :class:`GTFSError` naming file, row and field.
    """
    _check_files(feed)
    _check_columns(feed)
    _check_stops(feed)
    _check_routes_and_trips(feed)
    _check_calendars(feed)
    _check_frequencies(feed)
    _check_stop_times(feed)
