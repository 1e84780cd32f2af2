"""GTFS loading: read any GTFS zip or folder, validate it, load it into DuckDB.

A feed is read as text (every field a string), validated (required files and columns, times,
dates, coordinates, references between files) and loaded into the ``transit_*`` tables,
restricted to Normandie plus a margin. Several feeds can be loaded in the same database: each
row carries a ``feed_id`` and every identifier is prefixed with ``"<feed_id>:"`` so that ids
from two feeds never collide (the original id is kept in a ``gtfs_*_id`` column).

A feed without ``stop_times.txt`` (such as the partial Astuce snapshot in the mirror) is loaded
with a warning: its stops, routes, trips and calendar are kept, ``transit_feeds.has_stop_times``
is false, and :class:`analysis.transit.TransitNetwork` refuses to route on it with a
:class:`GTFSError`.

Tables created (see ``docs/schema.md``, section ``analysis.gtfs``): ``transit_feeds``,
``transit_stops``, ``transit_routes``, ``transit_trips``, ``transit_stop_times``,
``transit_calendar``, ``transit_calendar_dates``.
"""

from __future__ import annotations

import io
import re
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import config
from analysis.db import has_relation
from analysis.errors import DataError

Progress = Callable[[str, "float | None"], None]

#: Required columns of each GTFS file read by the project.
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "stops.txt": ("stop_id", "stop_lat", "stop_lon"),
    "routes.txt": ("route_id", "route_type"),
    "trips.txt": ("route_id", "service_id", "trip_id"),
    "stop_times.txt": ("trip_id", "arrival_time", "departure_time", "stop_id", "stop_sequence"),
    "calendar.txt": (
        "service_id",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "start_date",
        "end_date",
    ),
    "calendar_dates.txt": ("service_id", "date", "exception_type"),
    "frequencies.txt": ("trip_id", "start_time", "end_time", "headway_secs"),
}
#: Files without which a feed cannot be loaded at all.
REQUIRED_FILES: tuple[str, ...] = ("stops.txt", "routes.txt", "trips.txt")
#: Other files read when present.
OPTIONAL_FILES: tuple[str, ...] = (
    "stop_times.txt",
    "calendar.txt",
    "calendar_dates.txt",
    "agency.txt",
    "feed_info.txt",
    "frequencies.txt",
)
WEEKDAYS: tuple[str, ...] = (
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
)
TABLES: tuple[str, ...] = (
    "transit_feeds",
    "transit_stops",
    "transit_routes",
    "transit_trips",
    "transit_stop_times",
    "transit_calendar",
    "transit_calendar_dates",
)


class GTFSError(DataError):
    """A GTFS feed is missing a file, a column, or holds a bad value.

    The message names the file (inside the zip: ``feed.zip/stop_times.txt``), the 1-based data
    row (header excluded) and the field where they apply.
    """


class GTFSWarning(UserWarning):
    """A GTFS feed is usable only in part (e.g. no ``stop_times.txt``: no routing)."""


@dataclass
class Feed:
    """A GTFS feed read as text.

    Attributes
    ----------
    path : pathlib.Path
        The zip file or folder.
    tables : dict of str to pandas.DataFrame
        File name (``"stops.txt"``) to its content, every column as ``str`` (empty string for
        missing values).
    warnings : list of str
        Problems that do not prevent loading (in French, user-facing).
    """

    path: Path
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def has(self, name: str) -> bool:
        """Whether the feed holds the file ``name`` (e.g. ``"calendar.txt"``)."""
        return name in self.tables

    def where(self, name: str) -> str:
        """Display path of one file of the feed, for error messages."""
        return f"{self.path}/{name}"

    @property
    def has_stop_times(self) -> bool:
        """Whether the feed has a timetable (``stop_times.txt`` with at least one row)."""
        return self.has("stop_times.txt") and len(self.tables["stop_times.txt"]) > 0


# ----------------------------------------------------------------------------------------------
# Reading
# ----------------------------------------------------------------------------------------------


def _read_text_table(raw: bytes, where: str) -> pd.DataFrame:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    if not text.strip():
        raise GTFSError(where, "fichier vide (une ligne d'en-tête au moins est attendue)")
    try:
        df = pd.read_csv(
            io.StringIO(text),
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skipinitialspace=False,
        )
    except (pd.errors.ParserError, ValueError) as exc:
        raise GTFSError(where, f"CSV illisible ({exc})") from exc
    df.columns = [str(c).strip() for c in df.columns]
    return df


def read_feed(path: str | Path) -> Feed:
    """Read a GTFS feed (zip file or folder) and validate its structure and values.

    Parameters
    ----------
    path : str or pathlib.Path
        A ``.zip`` file or a folder holding the ``*.txt`` files (also accepted: a zip whose
        files sit in one sub-folder).

    Returns
    -------
    Feed

    Raises
    ------
    GTFSError
        Missing path or required file (stops, routes, trips, and calendar and/or
        calendar_dates), missing required column, bad time / date / coordinate / integer,
        ``stop_times`` referring to an unknown stop or trip, ``trips`` referring to an unknown
        route. The message names file, row and field.

    Notes
    -----
    A feed without ``stop_times.txt`` is accepted with a :class:`GTFSWarning` (stops still
    usable); routing on it raises :class:`GTFSError` later.
    """
    path = Path(path)
    if not path.exists():
        raise GTFSError(str(path), "flux GTFS introuvable (fichier .zip ou dossier attendu)")
    feed = Feed(path=path)
    wanted = set(REQUIRED_FILES) | set(OPTIONAL_FILES)
    if path.is_dir():
        for name in wanted:
            p = path / name
            if p.is_file():
                feed.tables[name] = _read_text_table(p.read_bytes(), feed.where(name))
    else:
        try:
            zf = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise GTFSError(str(path), f"archive zip illisible ou tronquée ({exc})") from exc
        with zf:
            for info in zf.infolist():
                name = Path(info.filename).name
                if name in wanted and not info.is_dir() and name not in feed.tables:
                    try:
                        raw = zf.read(info)
                    except (zipfile.BadZipFile, OSError, EOFError) as exc:
                        raise GTFSError(feed.where(name), f"entrée zip illisible ({exc})") from exc
                    feed.tables[name] = _read_text_table(raw, feed.where(name))
    _validate(feed)
    return feed


def _missing_field_error(feed: Feed, name: str, col: str) -> GTFSError:
    return GTFSError(
        feed.where(name),
        f"colonne obligatoire absente (colonnes trouvées : {', '.join(feed.tables[name].columns) or 'aucune'})",
        field=col,
    )


def _first_bad(mask: np.ndarray | pd.Series) -> int | None:
    idx = np.flatnonzero(np.asarray(mask))
    return int(idx[0]) if len(idx) else None


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
    row = _first_bad(bad)
    if row is not None:
        raise GTFSError(
            feed.where(name),
            f"heure invalide « {df[col].iat[row]} » (format HH:MM:SS attendu)",
            row=row + 1,
            field=col,
        )
    return secs


def _check_date_column(feed: Feed, name: str, col: str) -> pd.Series:
    df = feed.tables[name]
    d = pd.to_datetime(df[col].str.strip(), format="%Y%m%d", errors="coerce")
    row = _first_bad(d.isna())
    if row is not None:
        raise GTFSError(
            feed.where(name),
            f"date invalide « {df[col].iat[row]} » (format AAAAMMJJ attendu)",
            row=row + 1,
            field=col,
        )
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
    row = _first_bad(bad)
    if row is not None:
        expect = f"une des valeurs {allowed}" if allowed else "un entier"
        raise GTFSError(
            feed.where(name),
            f"valeur invalide « {df[col].iat[row]} » ({expect} attendu)",
            row=row + 1,
            field=col,
        )
    return vals.to_numpy(dtype=np.int64)


def _check_unique(feed: Feed, name: str, col: str) -> None:
    df = feed.tables[name]
    dup = df[col].duplicated()
    row = _first_bad(dup)
    if row is not None:
        raise GTFSError(
            feed.where(name),
            f"identifiant en double « {df[col].iat[row]} »",
            row=row + 1,
            field=col,
        )


def _check_reference(feed: Feed, name: str, col: str, target: str, target_col: str) -> None:
    df = feed.tables[name]
    known = feed.tables[target][target_col]
    bad = ~df[col].isin(known)
    row = _first_bad(bad)
    if row is not None:
        raise GTFSError(
            feed.where(name),
            f"« {df[col].iat[row]} » absent de {target} ({target_col})",
            row=row + 1,
            field=col,
        )


def _validate(feed: Feed) -> None:
    """Check files, columns, value formats and references; store parsed helper columns."""
    for name in REQUIRED_FILES:
        if not feed.has(name):
            raise GTFSError(feed.where(name), "fichier obligatoire absent du flux GTFS")
    if not (feed.has("calendar.txt") or feed.has("calendar_dates.txt")):
        raise GTFSError(
            feed.where("calendar.txt"),
            "ni calendar.txt ni calendar_dates.txt : les jours de circulation sont inconnus",
        )
    for name, cols in REQUIRED_COLUMNS.items():
        if feed.has(name):
            for col in cols:
                if col not in feed.tables[name].columns:
                    raise _missing_field_error(feed, name, col)
    # stops
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
        row = _first_bad(bad)
        if row is not None:
            raise GTFSError(
                feed.where("stops.txt"),
                f"coordonnée invalide « {stops[col].iat[row]} » (nombre entre {lo} et {hi} attendu)",
                row=row + 1,
                field=col,
            )
    # routes / trips
    _check_unique(feed, "routes.txt", "route_id")
    _check_int_column(feed, "routes.txt", "route_type")
    _check_unique(feed, "trips.txt", "trip_id")
    _check_reference(feed, "trips.txt", "route_id", "routes.txt", "route_id")
    # calendar
    if feed.has("calendar.txt"):
        for col in WEEKDAYS:
            _check_int_column(feed, "calendar.txt", col, (0, 1))
        _check_date_column(feed, "calendar.txt", "start_date")
        _check_date_column(feed, "calendar.txt", "end_date")
    if feed.has("calendar_dates.txt"):
        _check_date_column(feed, "calendar_dates.txt", "date")
        _check_int_column(feed, "calendar_dates.txt", "exception_type", (1, 2))
    if feed.has("frequencies.txt"):
        _check_reference(feed, "frequencies.txt", "trip_id", "trips.txt", "trip_id")
        _check_time_column(feed, "frequencies.txt", "start_time", allow_empty=False)
        _check_time_column(feed, "frequencies.txt", "end_time", allow_empty=False)
        head = _check_int_column(feed, "frequencies.txt", "headway_secs")
        row = _first_bad(head <= 0)
        if row is not None:
            raise GTFSError(
                feed.where("frequencies.txt"), "intervalle nul ou négatif", row=row + 1, field="headway_secs"
            )
    # stop_times
    if not feed.has("stop_times.txt"):
        feed.warnings.append(
            f"{feed.where('stop_times.txt')} : fichier absent — les arrêts, lignes et calendriers "
            "sont chargés, mais ce flux ne donne aucun horaire et ne peut pas servir au calcul "
            "d'itinéraires en transport en commun"
        )
        warnings.warn(feed.warnings[-1], GTFSWarning, stacklevel=3)
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
    row = _first_bad(dep < arr)
    if row is not None:
        raise GTFSError(
            feed.where("stop_times.txt"),
            f"départ {st['departure_time'].iat[row]} avant l'arrivée {st['arrival_time'].iat[row]}",
            row=row + 1,
            field="departure_time",
        )
    st["_row"] = np.arange(1, len(st) + 1)
    st["_arr"] = arr
    st["_dep"] = dep


# ----------------------------------------------------------------------------------------------
# Loading into DuckDB
# ----------------------------------------------------------------------------------------------


def _slug(text: str) -> str:
    s = re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_").lower()
    return s or "gtfs"


def default_feed_id(path: str | Path) -> str:
    """Feed id derived from the file or folder name (``export-ter-gtfs-last.zip`` -> ``export-ter-gtfs-last``)."""
    p = Path(path)
    return _slug(p.stem if p.suffix.lower() == ".zip" else p.name)


def _stop_times_frame(feed: Feed, where: str) -> pd.DataFrame:
    """Stop times sorted by trip and sequence, with interpolated missing times (seconds)."""
    st = feed.tables["stop_times.txt"]
    df = pd.DataFrame(
        {
            "trip_id": st["trip_id"].to_numpy(),
            "stop_sequence": st["_seq"].to_numpy(dtype=np.int64),
            "stop_id": st["stop_id"].to_numpy(),
            "arrival_s": st["_arr"].to_numpy(dtype=float),
            "departure_s": st["_dep"].to_numpy(dtype=float),
            "pickup_type": st["_pickup_type"].to_numpy(dtype=np.int64),
            "drop_off_type": st["_drop_off_type"].to_numpy(dtype=np.int64),
            "_row": st["_row"].to_numpy(),
        }
    )
    df = df.sort_values(["trip_id", "stop_sequence"], kind="stable").reset_index(drop=True)
    dup = df.duplicated(["trip_id", "stop_sequence"]).to_numpy()
    row = _first_bad(dup)
    if row is not None:
        raise GTFSError(
            where,
            f"stop_sequence en double dans le trajet « {df['trip_id'].iat[row]} »",
            row=int(df["_row"].iat[row]),
            field="stop_sequence",
        )
    missing = np.isnan(df["arrival_s"].to_numpy())
    df["interpolated"] = missing
    if missing.any():
        first = ~df["trip_id"].duplicated(keep="first").to_numpy()
        last = ~df["trip_id"].duplicated(keep="last").to_numpy()
        row = _first_bad(missing & (first | last))
        if row is not None:
            raise GTFSError(
                where,
                "heure absente au premier ou au dernier arrêt du trajet "
                f"« {df['trip_id'].iat[row]} » (obligatoire en GTFS)",
                row=int(df["_row"].iat[row]),
                field="arrival_time",
            )
        # first and last stops of every trip have times, so a linear interpolation along the
        # sorted rows never crosses a trip boundary (by stop order, not by distance)
        for col in ("arrival_s", "departure_s"):
            df[col] = df[col].interpolate(method="index", limit_area="inside").round()
    prev_trip = df["trip_id"].shift(1)
    back = (df["trip_id"] == prev_trip) & (df["arrival_s"] < df["departure_s"].shift(1))
    row = _first_bad(back.to_numpy())
    if row is not None:
        raise GTFSError(
            where,
            f"heure d'arrivée antérieure au départ de l'arrêt précédent du trajet « {df['trip_id'].iat[row]} »",
            row=int(df["_row"].iat[row]),
            field="arrival_time",
        )
    return df


def expand_frequencies(freq: pd.DataFrame, st: pd.DataFrame, trips: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Replace frequency-based trips by one trip per departure.

    Each ``frequencies.txt`` row ``(trip_id, start_time, end_time, headway_secs)`` gives
    departures at ``start_time + k x headway_secs`` while ``< end_time``; the template trip's
    stop times give the times relative to its first departure. New trips are named
    ``<trip_id>@<HH:MM:SS>``; the template trip is dropped (GTFS: its absolute times are not
    used).

    Returns
    -------
    (stop_times, trips) : pandas.DataFrame
    """
    start = parse_gtfs_time(freq["start_time"])
    end = parse_gtfs_time(freq["end_time"])
    head = pd.to_numeric(freq["headway_secs"].str.strip()).to_numpy(dtype=float)
    counts = np.maximum(0, np.ceil((end - start) / head)).astype(np.int64)
    rep = np.repeat(np.arange(len(freq)), counts)
    k = np.arange(len(rep)) - np.repeat(np.cumsum(counts) - counts, counts)
    dep = start[rep] + k * head[rep]
    inst = pd.DataFrame({"trip_id": freq["trip_id"].to_numpy()[rep], "_start": dep})
    inst["new_id"] = (
        inst["trip_id"] + "@" + [f"{int(x) // 3600:02d}:{int(x) % 3600 // 60:02d}:{int(x) % 60:02d}" for x in dep]
    )
    templates = set(freq["trip_id"])
    tpl = st[st["trip_id"].isin(templates)].copy()
    first = tpl.groupby("trip_id", sort=False)["departure_s"].transform("first")
    tpl["_off_a"] = tpl["arrival_s"] - first
    tpl["_off_d"] = tpl["departure_s"] - first
    gen = tpl.merge(inst, on="trip_id", how="inner")
    gen["arrival_s"] = gen["_start"] + gen["_off_a"]
    gen["departure_s"] = gen["_start"] + gen["_off_d"]
    gen["trip_id"] = gen["new_id"]
    gen = gen[st.columns]
    st = pd.concat([st[~st["trip_id"].isin(templates)], gen], ignore_index=True)
    st = st.sort_values(["trip_id", "stop_sequence"], kind="stable").reset_index(drop=True)
    new_trips = trips.merge(inst[["trip_id", "new_id"]], on="trip_id", how="inner")
    new_trips["trip_id"] = new_trips["new_id"]
    new_trips = new_trips.drop(columns="new_id")
    trips = pd.concat([trips[~trips["trip_id"].isin(templates)], new_trips], ignore_index=True)
    return st, trips


def _bbox_or_default(bbox):
    if bbox is None:
        lon0, lat0, lon1, lat1 = config.NORMANDIE_BBOX
        m = config.BBOX_MARGIN_DEG
        return (lon0 - m, lat0 - m, lon1 + m, lat1 + m)
    return tuple(float(x) for x in bbox)


_DDL = {
    "transit_feeds": """feed_id VARCHAR, path VARCHAR, publisher VARCHAR, feed_version VARCHAR,
        start_date DATE, end_date DATE, has_stop_times BOOLEAN, bbox VARCHAR, note VARCHAR,
        loaded_at TIMESTAMP""",
    "transit_stops": """feed_id VARCHAR, stop_id VARCHAR, gtfs_stop_id VARCHAR, name VARCHAR,
        lon DOUBLE, lat DOUBLE, location_type INTEGER, parent_station VARCHAR,
        commune_code VARCHAR, geom GEOMETRY""",
    "transit_routes": """feed_id VARCHAR, route_id VARCHAR, gtfs_route_id VARCHAR,
        agency_id VARCHAR, short_name VARCHAR, long_name VARCHAR, route_type INTEGER""",
    "transit_trips": """feed_id VARCHAR, trip_id VARCHAR, gtfs_trip_id VARCHAR, route_id VARCHAR,
        service_id VARCHAR, headsign VARCHAR, direction_id VARCHAR""",
    "transit_stop_times": """feed_id VARCHAR, trip_id VARCHAR, stop_sequence INTEGER,
        stop_id VARCHAR, arrival_s INTEGER, departure_s INTEGER, pickup_type INTEGER,
        drop_off_type INTEGER, interpolated BOOLEAN""",
    "transit_calendar": """feed_id VARCHAR, service_id VARCHAR, monday BOOLEAN, tuesday BOOLEAN,
        wednesday BOOLEAN, thursday BOOLEAN, friday BOOLEAN, saturday BOOLEAN, sunday BOOLEAN,
        start_date DATE, end_date DATE""",
    "transit_calendar_dates": """feed_id VARCHAR, service_id VARCHAR, date DATE,
        exception_type INTEGER""",
}


def _ensure_tables(con) -> None:
    for name in TABLES:
        con.execute(f"CREATE TABLE IF NOT EXISTS {name} ({_DDL[name]})")


def _insert(con, table: str, df: pd.DataFrame) -> None:
    con.register("_gtfs_df", df)
    try:
        cols = ", ".join(df.columns)
        con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _gtfs_df")
    finally:
        con.unregister("_gtfs_df")


def _col(df: pd.DataFrame, name: str) -> pd.Series:
    return df[name] if name in df.columns else pd.Series([""] * len(df), index=df.index)


def load_into(
    con, path: str | Path, feed_id: str | None = None, bbox=None, progress: Progress | None = None
) -> dict[str, int]:
    """Load a GTFS feed into the ``transit_*`` tables of a DuckDB connection.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Target database (spatial extension loaded, see :func:`analysis.db.connect`).
    path : str or pathlib.Path
        GTFS zip or folder.
    feed_id : str, optional
        Short id of the feed; default derived from the file name. Rows of a previous load of the
        same ``feed_id`` are replaced; other feeds are kept.
    bbox : tuple (lon_min, lat_min, lon_max, lat_max), optional
        Area kept. Default: :data:`analysis.config.NORMANDIE_BBOX` widened by
        :data:`analysis.config.BBOX_MARGIN_DEG`. Stops outside are dropped, and so are the
        stop times at those stops, trips with no stop time left, and unused routes/services.
    progress : callable, optional
        ``progress(message, fraction)``.

    Returns
    -------
    dict of str to int
        Rows loaded per table for this feed.

    Raises
    ------
    GTFSError
        See :func:`read_feed`; also when no stop of the feed lies inside ``bbox``.
    """
    say = progress or (lambda msg, frac=None: None)
    path = Path(path)
    feed_id = _slug(feed_id) if feed_id else default_feed_id(path)
    box = _bbox_or_default(bbox)
    say(f"GTFS {feed_id} : lecture de {path}", 0.0)
    feed = read_feed(path)
    for w in feed.warnings:
        say(f"Attention : {w}", None)
    pre = f"{feed_id}:"

    stops = feed.tables["stops.txt"]
    lon = pd.to_numeric(stops["stop_lon"].str.strip(), errors="coerce")
    lat = pd.to_numeric(stops["stop_lat"].str.strip(), errors="coerce")
    inside = (lon >= box[0]) & (lon <= box[2]) & (lat >= box[1]) & (lat <= box[3])
    keep_ids = set(stops.loc[inside, "stop_id"])
    # keep the parents of kept stops (stations) even when slightly outside
    parents = set(stops.loc[inside, "parent_station"]) - {""}
    keep = stops["stop_id"].isin(keep_ids | parents)
    if not keep.any():
        raise GTFSError(feed.where("stops.txt"), f"aucun arrêt dans la zone {box}", field="stop_lat")

    say(f"GTFS {feed_id} : horaires", 0.2)
    trips = feed.tables["trips.txt"]
    if feed.has_stop_times:
        st = _stop_times_frame(feed, feed.where("stop_times.txt"))
        if feed.has("frequencies.txt"):
            st, trips = expand_frequencies(feed.tables["frequencies.txt"], st, trips)
        st = st[st["stop_id"].isin(keep_ids)]
        trip_keep = set(st["trip_id"])
    else:
        st = None
        trip_keep = set()
    if feed.has_stop_times:
        trips = trips[trips["trip_id"].isin(trip_keep)]
    else:
        # no timetable: keep the routes/trips whose... nothing links trips to stops, keep all
        trips = trips.copy()
    routes = feed.tables["routes.txt"]
    routes = routes[routes["route_id"].isin(set(trips["route_id"]))]
    services = set(trips["service_id"])

    con.execute("BEGIN TRANSACTION")
    try:
        _ensure_tables(con)
        for name in TABLES:
            con.execute(f"DELETE FROM {name} WHERE feed_id = ?", [feed_id])
        counts: dict[str, int] = {}

        s = stops[keep]
        sdf = pd.DataFrame(
            {
                "feed_id": feed_id,
                "stop_id": pre + s["stop_id"],
                "gtfs_stop_id": s["stop_id"],
                "name": s["stop_name"].str.strip(),
                "lon": lon[keep].astype(float),
                "lat": lat[keep].astype(float),
                "location_type": pd.to_numeric(s["location_type"].replace("", "0")).astype("int32"),
                "parent_station": np.where(s["parent_station"] != "", pre + s["parent_station"], None),
            }
        )
        _insert(con, "transit_stops", sdf)
        con.execute(
            "UPDATE transit_stops SET geom = ST_Point(lon, lat) WHERE feed_id = ? "
            "AND lon IS NOT NULL AND lat IS NOT NULL",
            [feed_id],
        )
        if has_relation(con, "communes"):
            say(f"GTFS {feed_id} : communes des arrêts", 0.5)
            con.execute(
                """UPDATE transit_stops AS s SET commune_code = c.code FROM communes AS c
                   WHERE s.feed_id = ? AND s.geom IS NOT NULL AND ST_Contains(c.geom, s.geom)""",
                [feed_id],
            )
        counts["transit_stops"] = len(sdf)

        _insert(
            con,
            "transit_routes",
            pd.DataFrame(
                {
                    "feed_id": feed_id,
                    "route_id": pre + routes["route_id"],
                    "gtfs_route_id": routes["route_id"],
                    "agency_id": _col(routes, "agency_id"),
                    "short_name": _col(routes, "route_short_name").str.strip(),
                    "long_name": _col(routes, "route_long_name").str.strip(),
                    "route_type": pd.to_numeric(routes["route_type"]).astype("int32"),
                }
            ),
        )
        counts["transit_routes"] = len(routes)

        _insert(
            con,
            "transit_trips",
            pd.DataFrame(
                {
                    "feed_id": feed_id,
                    "trip_id": pre + trips["trip_id"],
                    "gtfs_trip_id": trips["trip_id"],
                    "route_id": pre + trips["route_id"],
                    "service_id": pre + trips["service_id"],
                    "headsign": _col(trips, "trip_headsign").str.strip(),
                    "direction_id": _col(trips, "direction_id"),
                }
            ),
        )
        counts["transit_trips"] = len(trips)

        if st is not None:
            say(f"GTFS {feed_id} : {len(st)} horaires d'arrêt", 0.7)
            _insert(
                con,
                "transit_stop_times",
                pd.DataFrame(
                    {
                        "feed_id": feed_id,
                        "trip_id": pre + st["trip_id"],
                        "stop_sequence": st["stop_sequence"].astype("int64"),
                        "stop_id": pre + st["stop_id"],
                        "arrival_s": st["arrival_s"].astype("int64"),
                        "departure_s": st["departure_s"].astype("int64"),
                        "pickup_type": st["pickup_type"].astype("int32"),
                        "drop_off_type": st["drop_off_type"].astype("int32"),
                        "interpolated": st["interpolated"],
                    }
                ),
            )
        counts["transit_stop_times"] = 0 if st is None else len(st)

        if feed.has("calendar.txt"):
            cal = feed.tables["calendar.txt"]
            cal = cal[cal["service_id"].isin(services)]
            cdf = pd.DataFrame({"feed_id": feed_id, "service_id": pre + cal["service_id"]})
            for d in WEEKDAYS:
                cdf[d] = cal[d].str.strip() == "1"
            cdf["start_date"] = pd.to_datetime(cal["start_date"].str.strip(), format="%Y%m%d").dt.date
            cdf["end_date"] = pd.to_datetime(cal["end_date"].str.strip(), format="%Y%m%d").dt.date
            _insert(con, "transit_calendar", cdf)
            counts["transit_calendar"] = len(cdf)
        else:
            counts["transit_calendar"] = 0
        if feed.has("calendar_dates.txt"):
            cd = feed.tables["calendar_dates.txt"]
            cd = cd[cd["service_id"].isin(services)]
            _insert(
                con,
                "transit_calendar_dates",
                pd.DataFrame(
                    {
                        "feed_id": feed_id,
                        "service_id": pre + cd["service_id"],
                        "date": pd.to_datetime(cd["date"].str.strip(), format="%Y%m%d").dt.date,
                        "exception_type": pd.to_numeric(cd["exception_type"]).astype("int32"),
                    }
                ),
            )
            counts["transit_calendar_dates"] = len(cd)
        else:
            counts["transit_calendar_dates"] = 0

        start, end = con.execute(
            """SELECT min(d), max(d) FROM (
                 SELECT start_date AS d FROM transit_calendar WHERE feed_id = $1
                 UNION ALL SELECT end_date FROM transit_calendar WHERE feed_id = $1
                 UNION ALL SELECT date FROM transit_calendar_dates
                           WHERE feed_id = $1 AND exception_type = 1)""",
            [feed_id],
        ).fetchone()
        info = feed.tables.get("feed_info.txt")
        publisher = version = None
        if info is not None and len(info):
            publisher = str(_col(info, "feed_publisher_name").iat[0]) or None
            version = str(_col(info, "feed_version").iat[0]) or None
        if publisher is None and feed.has("agency.txt") and len(feed.tables["agency.txt"]):
            publisher = ", ".join(sorted(set(_col(feed.tables["agency.txt"], "agency_name")) - {""}))
        _insert(
            con,
            "transit_feeds",
            pd.DataFrame(
                [
                    {
                        "feed_id": feed_id,
                        "path": str(path),
                        "publisher": publisher,
                        "feed_version": version,
                        "start_date": start,
                        "end_date": end,
                        "has_stop_times": bool(feed.has_stop_times),
                        "bbox": ",".join(f"{v:g}" for v in box),
                        "note": "; ".join(feed.warnings) or None,
                        "loaded_at": datetime.now(UTC).replace(tzinfo=None),
                    }
                ]
            ),
        )
        counts["transit_feeds"] = 1
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    say(
        f"GTFS {feed_id} : {counts['transit_stops']} arrêts, {counts['transit_trips']} trajets, "
        f"{counts['transit_stop_times']} horaires",
        1.0,
    )
    return counts
