"""Map data for the dashboard: GeoJSON from the database, colour classes, palettes, legends.

UI-free (no Streamlit import): the pages call these pure functions and draw the result with
Folium. Geometries come from the ``geom_simple`` columns (simplified once at build time) and
are serialised by DuckDB (``ST_AsGeoJSON``), with coordinates rounded to about 10 m.

Main functions
--------------
- :func:`territory_geojson`: a FeatureCollection of communes, EPCI or départements.
- :func:`class_breaks` / :func:`classify` / :func:`colours_for`: class a numeric indicator
  into a few colour-blind-safe colour classes (quantiles or fixed breaks).
- :func:`legend_items`: French legend labels with units for those classes.
- :func:`attach_properties`: copy indicator values and colours into a FeatureCollection.
- :func:`bounds_of`: the bounding box of a FeatureCollection (to zoom a map on it).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from analysis.db import has_relation
from analysis.gtfs import supply
from analysis.text import MISSING, format_number

#: Colour-blind-safe sequential palettes (light to dark), 5 classes.
#: viridis / cividis: matplotlib; YlGnBu / YlOrRd: ColorBrewer (Cynthia Brewer, Penn State).
PALETTES: dict[str, tuple[str, ...]] = {
    "viridis": ("#fde725", "#5ec962", "#21918c", "#3b528b", "#440154"),
    "cividis": ("#fee838", "#c3b369", "#7c7b78", "#424d6b", "#00224e"),
    "YlGnBu": ("#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494"),
    "YlOrRd": ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"),
    "Greys": ("#f7f7f7", "#cccccc", "#969696", "#636363", "#252525"),
    # background under coloured markers (Stages collectifs): opaque, the darkest class stays
    # mid-grey so that the markers and their black outline remain visible
    "LightGreys": ("#fafafa", "#dedede", "#bdbdbd", "#9a9a9a", "#767676"),
}

#: Colour for a missing value (no data / not applicable).
NO_DATA_COLOUR = "#d9d9d9"

#: Colours of the collective-internship typology of seed 003 (+ "non précisé").
COLLECTIVE_KIND_COLOURS: dict[str, str] = {
    "mono-site mono-entreprise": "#0072B2",
    "multisectoriel multi-entreprises": "#E69F00",
    "mono-secteur multi-entreprises": "#009E73",
    "bi-entreprises": "#CC79A7",
    "non précisé": "#222222",  # dark grey: a white marker vanished on white areas
}

_LEVEL_SQL: dict[str, tuple[str, str, str]] = {
    # level: (table, code column, name column)
    "commune": ("communes", "code", "name"),
    "epci": ("epci", "siren", "name"),
    "departement": ("departements", "code", "name"),
}


class MapDataError(ValueError):
    """Invalid map parameters (unknown level, palette, bad breaks)."""


def territory_geojson(
    con: duckdb.DuckDBPyConnection,
    level: str,
    codes: Iterable[str] | None = None,
    *,
    precision: float = 1e-4,
    within: str | None = None,
) -> dict[str, Any]:
    """Return the simplified outlines of a territory level as a GeoJSON FeatureCollection.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Database with ``communes``, ``epci``, ``departements`` and their ``geom_simple``.
    level : str
        ``'commune'``, ``'epci'`` or ``'departement'``.
    codes : iterable of str, optional
        Keep only these territories (INSEE code, SIREN or département code).
    precision : float
        Coordinate grid in degrees (default 1e-4, about 10 m) to keep the payload small.
    within : str, optional
        For communes: keep only those of this EPCI (SIREN) or département (code).

    Returns
    -------
    dict
        FeatureCollection; each feature has ``id`` = code and properties ``code``, ``name``.
    """
    if level not in _LEVEL_SQL:
        raise MapDataError(f"Niveau de carte inconnu : {level!r}")
    table, code_col, name_col = _LEVEL_SQL[level]
    conds, params = [], []
    if codes is not None:
        codes = [str(c) for c in codes]
        if not codes:
            return {"type": "FeatureCollection", "features": []}
        conds.append(f"{code_col} IN (SELECT unnest(?::VARCHAR[]))")
        params.append(codes)
    if within is not None:
        if level != "commune":
            raise MapDataError("« within » ne s'applique qu'aux communes")
        conds.append("(epci_siren = ? OR dep = ?)")
        params += [str(within), str(within)]
    where = ("WHERE " + " AND ".join(conds)) if conds else ""
    geom = "geom_simple" if precision <= 0 else f"ST_ReducePrecision(geom_simple, {float(precision)!r})"
    rows = con.execute(
        f"SELECT {code_col}, {name_col}, ST_AsGeoJSON({geom}) FROM {table} {where} ORDER BY {code_col}", params
    ).fetchall()
    features = [
        {"type": "Feature", "id": code, "properties": {"code": code, "name": name}, "geometry": json.loads(gj)}
        for code, name, gj in rows
        if gj is not None
    ]
    return {"type": "FeatureCollection", "features": features}


def class_breaks(values: Sequence[float] | np.ndarray, *, n: int = 5, method: str = "quantile") -> list[float]:
    """Upper bounds of ``n`` classes for the finite values (the last is the maximum).

    Parameters
    ----------
    values : array-like of float
        Indicator values (NaN and None are ignored).
    n : int
        Number of classes wanted (fewer when there are fewer distinct values).
    method : str
        ``'quantile'`` (about the same number of territories per class) or ``'equal'``
        (equal-width intervals).

    Returns
    -------
    list of float
        Increasing, distinct upper bounds; empty when no finite value exists.
    """
    arr = np.asarray(values, dtype=float)
    arr = arr[np.isfinite(arr)]
    if arr.size == 0:
        return []
    if n < 1:
        raise MapDataError("Il faut au moins une classe")
    if method == "quantile":
        qs = np.quantile(arr, np.linspace(0, 1, n + 1)[1:])
    elif method == "equal":
        qs = np.linspace(arr.min(), arr.max(), n + 1)[1:]
    else:
        raise MapDataError(f"Méthode de classes inconnue : {method!r}")
    out: list[float] = []
    for q in qs:
        q = float(q)
        if not out or q > out[-1]:
            out.append(q)
    out[-1] = float(arr.max())
    return out


def classify(values: Sequence[float] | np.ndarray, breaks: Sequence[float]) -> np.ndarray:
    """Class index of each value: the first class whose upper bound is >= the value.

    Values above the last bound go to the last class; NaN / None give -1.
    """
    arr = np.asarray([np.nan if v is None else v for v in values], dtype=float)
    out = np.full(arr.shape, -1, dtype=int)
    if len(breaks) == 0:
        return out
    ok = np.isfinite(arr)
    idx = np.searchsorted(np.asarray(breaks, dtype=float), arr[ok], side="left")
    out[ok] = np.minimum(idx, len(breaks) - 1)
    return out


def palette(name: str, n: int, *, reverse: bool = False) -> list[str]:
    """``n`` colours (light to dark) of palette ``name``; ``reverse`` gives dark to light."""
    if name not in PALETTES:
        raise MapDataError(f"Palette inconnue : {name!r} (attendu : {', '.join(PALETTES)})")
    base = list(PALETTES[name])
    if n <= 0:
        return []
    if n >= len(base):
        cols = base
    else:
        pick = np.round(np.linspace(0, len(base) - 1, n)).astype(int)
        cols = [base[i] for i in pick]
    return cols[::-1] if reverse else cols


def colours_for(
    values: Sequence[float] | np.ndarray,
    breaks: Sequence[float],
    *,
    palette_name: str = "viridis",
    reverse: bool = False,
) -> list[str]:
    """Colour of each value for the given breaks (``NO_DATA_COLOUR`` for missing values)."""
    cols = palette(palette_name, len(breaks), reverse=reverse)
    return [cols[i] if i >= 0 else NO_DATA_COLOUR for i in classify(values, breaks)]


def table_html(df: pd.DataFrame, max_rows: int | None = None) -> str:
    """A table as plain, accessible HTML with French number formatting.

    For short tables shown as soon as a page opens: an HTML table needs no script, whereas the
    interactive data grid (``st.dataframe``) loads ~1.3 MB of JavaScript on a first visit.
    Numbers get the fewest decimals (up to 3) that show them exactly, thin-space thousands and a
    decimal comma, and are right-aligned; missing values are "—"; text is HTML-escaped on one
    line (:func:`analysis.sanitize.html_block_text`: the table stays one Markdown HTML block).

    Parameters
    ----------
    df : pandas.DataFrame
        Columns in display order, with their French labels as names.
    max_rows : int, optional
        Only the first rows (the caller says so in a caption).
    """
    from analysis.sanitize import html_block_text as html_text  # shown through st.markdown

    shown = df if max_rows is None else df.head(max_rows)
    head = "".join(f'<th scope="col">{html_text(c)}</th>' for c in shown.columns)
    cols = []
    for c in shown.columns:
        col = shown[c]
        numeric = pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)
        if numeric:
            values = pd.to_numeric(col, errors="coerce").astype(float)
            finite = values[np.isfinite(values)]
            dec = next((d for d in range(4) if np.allclose(finite, finite.round(d), rtol=0, atol=1e-9)), 3)
            cols.append([(format_number(v, dec) if np.isfinite(v) else MISSING, True) for v in values])
        else:
            cols.append(
                [
                    (
                        "—" if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)) else html_text(v),
                        False,
                    )
                    for v in col
                ]
            )
    rows = []
    for cells in zip(*cols):
        rows.append(
            "<tr>"
            + "".join(f'<td style="text-align:right">{t}</td>' if num else f"<td>{t}</td>" for t, num in cells)
            + "</tr>"
        )
    return f'<table class="obs-table"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def legend_items(
    breaks: Sequence[float],
    unit: str,
    *,
    decimals: int = 0,
    palette_name: str = "viridis",
    reverse: bool = False,
    minimum: float | None = None,
    no_data: str | None = "sans donnée",
) -> list[tuple[str, str]]:
    """(colour, French label with unit) for each class, plus the no-data entry.

    Parameters
    ----------
    breaks : sequence of float
        Class upper bounds (:func:`class_breaks`).
    unit : str
        Unit shown after each bound (e.g. ``'offres'``, ``'min'``, ``'%'``).
    decimals : int
        Decimals shown.
    minimum : float, optional
        Lower bound of the first class (default: written "≤ first bound").
    no_data : str, optional
        Label of the grey no-data entry (None: no entry).
    """
    cols = palette(palette_name, len(breaks), reverse=reverse)
    items: list[tuple[str, str]] = []
    lo = minimum
    for k, (col, hi) in enumerate(zip(cols, breaks)):
        if k == 0 and lo is None:
            label = f"≤ {format_number(hi, decimals)} {unit}"
        else:
            lo_text = format_number(lo if k == 0 else breaks[k - 1], decimals)
            label = f"{lo_text} – {format_number(hi, decimals)} {unit}"
        items.append((col, label.strip()))
    if no_data:
        items.append((NO_DATA_COLOUR, no_data))
    return items


def legend_html(
    title: str,
    items: Sequence[tuple[str, str]],
    *,
    shape: str = "square",
    corner: str = "bottom:24px;right:10px",
    swatch_opacity: float = 1.0,
) -> str:
    """Small HTML legend box (title + coloured swatches) to overlay on a Folium map.

    ``corner`` is the CSS placement of the box (default bottom right); ``swatch_opacity`` the
    fill opacity of the areas it describes, so that a swatch shows the colour seen on the map.
    """
    radius = "50%" if shape == "circle" else "2px"
    alpha = "" if swatch_opacity >= 1 else f"opacity:{float(swatch_opacity):.2f};"
    rows = "".join(
        f'<div style="display:flex;align-items:center;gap:6px;margin:2px 0">'
        f'<span style="display:inline-block;width:14px;height:14px;background:{_esc(c)};{alpha}'
        f'border:1px solid #555;border-radius:{radius}"></span>'
        f"<span>{_esc(label)}</span></div>"
        for c, label in items
    )
    return (
        '<div class="obs-legend" style="position:absolute;' + corner + ";z-index:9999;"
        "background:rgba(255,255,255,0.92);padding:6px 9px;border:1px solid #888;"
        'border-radius:4px;font:12px/1.3 sans-serif;color:#222;max-width:260px">'
        f'<div style="font-weight:bold;margin-bottom:3px">{_esc(title)}</div>{rows}</div>'
    )


def _esc(text: Any) -> str:
    from analysis.sanitize import html_text

    return html_text(text)


def attach_properties(geojson: Mapping[str, Any], values: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Copy of ``geojson`` whose features get the properties ``values[code]`` (if any).

    Features whose code is absent from ``values`` keep only their own properties.
    """
    features = []
    for f in geojson.get("features", []):
        props = dict(f.get("properties", {}))
        extra = values.get(str(props.get("code", f.get("id"))))
        if extra:
            props.update({k: _json_safe(v) for k, v in extra.items()})
        features.append({"type": "Feature", "id": f.get("id"), "properties": props, "geometry": f["geometry"]})
    return {"type": "FeatureCollection", "features": features}


def _json_safe(value: Any) -> Any:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        v = float(value)
        return v if math.isfinite(v) else None
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def bounds_of(geojson: Mapping[str, Any]) -> list[list[float]] | None:
    """``[[lat_min, lon_min], [lat_max, lon_max]]`` of all coordinates (Folium ``fit_bounds``)."""
    lons: list[float] = []
    lats: list[float] = []

    def walk(coords: Any) -> None:
        if isinstance(coords, (list, tuple)) and coords and isinstance(coords[0], (int, float)):
            lons.append(float(coords[0]))
            lats.append(float(coords[1]))
        elif isinstance(coords, (list, tuple)):
            for c in coords:
                walk(c)

    for f in geojson.get("features", []):
        geom = f.get("geometry") or {}
        walk(geom.get("coordinates", []))
    if not lons:
        return None
    return [[min(lats), min(lons)], [max(lats), max(lons)]]


# --------------------------------------------------------------------------------------------
# public-transport layers (stops served in the morning, communes without a served stop)
# --------------------------------------------------------------------------------------------

#: Morning window of the rural-mobility page (same as the transport-supply indicator).
MORNING_WINDOW: tuple[str, str] = supply.MORNING_WINDOW
#: Walking distance used for "a stop within walking distance": 1 km straight line from the
#: commune centre (about 15 min on foot at 4.5 km/h with a 1.1 detour factor).
WALK_RADIUS_M: float = 1000.0


def stops_layer(
    con: duckdb.DuckDBPyConnection, service_date: dt.date | None = None, *, window: tuple[str, str] = MORNING_WINDOW
) -> tuple[pd.DataFrame, dt.date | None]:
    """Public-transport stops with their mode and morning departures.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Database with the ``transit_*`` tables (``analysis.gtfs``).
    service_date : datetime.date, optional
        Day whose timetable is counted (default: the transit service date of the travel-time
        run, see ``analysis.access.service_date_of``).
    window : (str, str)
        Morning window ``('HH:MM', 'HH:MM')``, bounds included.

    Returns
    -------
    (pandas.DataFrame, datetime.date or None)
        One row per physical stop (``location_type`` 0 or NULL) with ``stop_id, name, lon, lat,
        commune_code, kind`` (``'train'``, ``'car'`` (road coach/bus) or ``'train et car'``)
        and ``morning_departures`` (:mod:`analysis.gtfs.supply`: departures in the window on the
        service date, a trip's last stop and rows without pick-up excluded; 0 when none), and
        the service date used.
    """
    from analysis import access

    if not has_relation(con, "transit_stops"):
        return pd.DataFrame(
            columns=["stop_id", "name", "lon", "lat", "commune_code", "kind", "morning_departures"]
        ), None
    if service_date is None:
        service_date = access.service_date_of(con)
    deps = (
        supply.stop_departures_sql(service_date, window)
        if service_date is not None
        else "SELECT NULL::VARCHAR AS feed_id, NULL::VARCHAR AS stop_id, 0::BIGINT AS morning_departures WHERE false"
    )
    df = con.execute(
        f"""
        WITH st AS (
            SELECT s.feed_id, s.stop_id, s.name, s.lon, s.lat, s.commune_code
            FROM transit_stops s WHERE coalesce(s.location_type, 0) = 0
        ),
        kinds AS (
            SELECT t.feed_id, t.stop_id,
                   bool_or(r.route_type = 2) AS rail, bool_or(r.route_type <> 2) AS road
            FROM transit_stop_times t
            JOIN transit_trips tr ON tr.feed_id = t.feed_id AND tr.trip_id = t.trip_id
            JOIN transit_routes r ON r.feed_id = tr.feed_id AND r.route_id = tr.route_id
            GROUP BY ALL
        ),
        deps AS ({deps})
        SELECT st.stop_id, st.name, st.lon, st.lat, st.commune_code,
               CASE WHEN k.rail AND k.road THEN 'train et car' WHEN k.rail THEN 'train'
                    WHEN k.road THEN 'car' ELSE 'sans desserte' END AS kind,
               coalesce(d.morning_departures, 0)::BIGINT AS morning_departures
        FROM st
        LEFT JOIN kinds k ON k.feed_id = st.feed_id AND k.stop_id = st.stop_id
        LEFT JOIN deps d ON d.feed_id = st.feed_id AND d.stop_id = st.stop_id
        WHERE st.lon IS NOT NULL AND st.lat IS NOT NULL
        ORDER BY st.name
        """
    ).df()
    return df, service_date


def communes_without_served_stop(
    con: duckdb.DuckDBPyConnection, stops: pd.DataFrame, *, radius_m: float = WALK_RADIUS_M
) -> pd.DataFrame:
    """Communes whose centre point has no stop with a morning departure within ``radius_m``.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Database with ``communes`` (centre points ``lon``/``lat``).
    stops : pandas.DataFrame
        Output of :func:`stops_layer`; only stops with ``morning_departures > 0`` count.
    radius_m : float
        Straight-line distance in metres (default 1 km).

    Returns
    -------
    pandas.DataFrame
        One row per commune: ``code, name, population, nearest_served_stop_m`` (metres to
        the nearest stop served in the morning, NULL when there is none at all) and
        ``has_served_stop`` (within ``radius_m``).
    """
    import pandas as pd

    served = stops.loc[stops["morning_departures"] > 0, ["lon", "lat"]].to_numpy(dtype=float)
    com = con.execute("SELECT code, name, population, lon, lat FROM communes ORDER BY code").df()
    if served.size == 0:
        com["nearest_served_stop_m"] = np.nan
    else:
        from scipy.spatial import cKDTree

        def xyz(lonlat: np.ndarray) -> np.ndarray:
            lon, lat = np.radians(lonlat[:, 0]), np.radians(lonlat[:, 1])
            return np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])

        tree = cKDTree(xyz(served))
        chord, _ = tree.query(xyz(com[["lon", "lat"]].to_numpy(dtype=float)))
        com["nearest_served_stop_m"] = 2 * 6371008.8 * np.arcsin(np.clip(chord / 2, 0, 1))
    com["has_served_stop"] = com["nearest_served_stop_m"].fillna(np.inf) <= radius_m
    return pd.DataFrame(com.drop(columns=["lon", "lat"]))
