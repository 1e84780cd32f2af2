"""The printable map of the PDF portrait (grey scale, black-and-white safe).

Owns the map classes (:data:`MAP_CLASSES`, :func:`map_class`), the territory outline and
:func:`render_map`.
"""

from __future__ import annotations

import io
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from analysis import access
from analysis.report.columns import is_missing, mode_phrase
from analysis.report.data import ReportData
from analysis.report.errors import ReportError
from analysis.report.territory import Territory
from analysis.text import format_number

# --------------------------------------------------------------------------------------------
# map (static PNG, matplotlib; no tiles)
# --------------------------------------------------------------------------------------------

#: Classes of the map indicator (offers reachable): (lower bound, label, face grey, hatch).
MAP_CLASSES: tuple[tuple[float, str, str, str | None], ...] = (
    (0, "aucune offre", "white", "////"),
    (1, "1 à 4 offres", "0.85", None),
    (5, "5 à 19 offres", "0.65", None),
    (20, "20 à 99 offres", "0.42", None),
    (100, "100 offres ou plus", "0.2", None),
)


def map_class(n: float | None) -> int:
    """Index in :data:`MAP_CLASSES` of a number of offers reachable (NULL counts as 0)."""
    v = 0.0 if is_missing(n) else float(n)
    k = 0
    for i, (lo, *_rest) in enumerate(MAP_CLASSES):
        if v >= lo:
            k = i
    return k


def _territory_outline(con: duckdb.DuckDBPyConnection, terr: Territory, gcol: str) -> Any:
    """Outline of the territory (shapely geometry, WGS84) from its own table, or None.

    The region has no row of its own: the union of the départements, each slightly buffered
    so that the simplified borders leave no slivers inside.
    """
    import shapely

    table = {"departement": ("departements", "code"), "epci": ("epci", "siren"), "commune": ("communes", "code")}.get(
        terr.level
    )
    if table is not None and gcol in access.columns_of(con, table[0]):
        row = con.execute(f"SELECT ST_AsWKB({gcol}) FROM {table[0]} WHERE {table[1]} = ?", [terr.code]).fetchone()
        return shapely.from_wkb(bytes(row[0])) if row and row[0] is not None else None
    src = "departements" if gcol in access.columns_of(con, "departements") else "communes"
    row = con.execute(
        f"SELECT ST_AsWKB(ST_Buffer(ST_Union_Agg(ST_Buffer({gcol}, 0.002)), -0.002)) FROM {src}"
    ).fetchone()
    return shapely.from_wkb(bytes(row[0])) if row and row[0] is not None else None


def _point_handle(marker: str, face: str, edge: str, size: float, label: str) -> Any:
    """A legend entry for a point symbol (a matplotlib ``Line2D`` with no line)."""
    from matplotlib.lines import Line2D

    return Line2D(
        [],
        [],
        marker=marker,
        linestyle="none",
        markerfacecolor=face,
        markeredgecolor=edge,
        markersize=size,
        label=label,
    )


def _map_envelope(con: duckdb.DuckDBPyConnection, terr: Territory, gcol: str) -> tuple[float, float, float, float]:
    """The map frame (WGS84 min lon, min lat, max lon, max lat): the territory's communes plus
    an 8 % margin."""
    bbox = con.execute(f"""
        SELECT min(ST_XMin({gcol})), min(ST_YMin({gcol})), max(ST_XMax({gcol})),
               max(ST_YMax({gcol})) FROM communes c WHERE {terr.commune_filter_sql("c")}
    """).fetchone()
    if bbox is None or bbox[0] is None:
        raise ReportError(f"Pas de contour de commune pour {terr.label}")
    dx, dy = (bbox[2] - bbox[0]) * 0.08 + 0.01, (bbox[3] - bbox[1]) * 0.08 + 0.01
    return (bbox[0] - dx, bbox[1] - dy, bbox[2] + dx, bbox[3] + dy)


def _commune_layer(con: duckdb.DuckDBPyConnection, data: ReportData, gcol: str, env: tuple) -> Any:
    """The communes in the frame (Lambert-93 GeoDataFrame): ``inside`` the territory or not,
    offers reachable and their map class ``cls``."""
    import geopandas as gpd
    import shapely

    terr = data.territory
    env_sql = f"ST_MakeEnvelope({env[0]!r}, {env[1]!r}, {env[2]!r}, {env[3]!r})"
    com = con.execute(f"""
        SELECT c.code, ST_AsWKB({gcol}) AS wkb, ({terr.commune_filter_sql("c")}) AS inside
        FROM communes c WHERE ST_Intersects({gcol}, {env_sql})
    """).df()
    com = com.merge(
        data.commune_values[["commune_code", "offers_reachable"]], left_on="code", right_on="commune_code", how="left"
    )
    geoms = shapely.from_wkb([bytes(b) for b in com["wkb"]])
    gdf = gpd.GeoDataFrame(com.drop(columns=["wkb"]), geometry=geoms, crs="EPSG:4326")
    gdf = gdf.to_crs(2154)
    gdf["cls"] = gdf["offers_reachable"].map(map_class)
    return gdf


def _map_points(con: duckdb.DuckDBPyConnection, data: ReportData, env: tuple) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Offer locations in the frame (lon, lat, number of offers after the report's filters) and
    lycées in the frame (lon, lat; none without a schools table)."""
    where, params = access.offer_filter(data.filters)
    pts = con.execute(
        f"""
        SELECT l.lon, l.lat, count(*) AS n FROM offers o
        JOIN offer_locations l ON l.loc_id = o.loc_id
        WHERE {where} AND l.lon BETWEEN {env[0]!r} AND {env[2]!r}
              AND l.lat BETWEEN {env[1]!r} AND {env[3]!r}
        GROUP BY l.loc_id, l.lon, l.lat
    """,
        params,
    ).df()
    sch = (
        con.execute(f"""
        SELECT lon, lat FROM schools WHERE lon BETWEEN {env[0]!r} AND {env[2]!r}
               AND lat BETWEEN {env[1]!r} AND {env[3]!r}
    """).df()
        if access.has_relation(con, "schools")
        else pd.DataFrame(columns=["lon", "lat"])
    )
    return pts, sch


def _plot_communes(ax: Any, gdf: Any) -> None:
    """Fill the communes by class of offers reachable, hatching « aucune offre »."""
    import geopandas as gpd

    lw = 0.15 if len(gdf) > 800 else 0.3
    for k, (_lo, _label, face, hatch) in enumerate(MAP_CLASSES):
        part = gdf[gdf["cls"] == k]
        if part.empty:
            continue
        part.plot(ax=ax, facecolor=face, edgecolor="0.35", linewidth=lw)
        if hatch:
            # hatching drawn once over the merged polygons (hatching thousands of separate
            # polygons is what makes a regional map slow to render)
            merged = part.geometry.buffer(30).union_all()
            gpd.GeoSeries([merged], crs=gdf.crs).plot(
                ax=ax, facecolor="none", edgecolor="0.35", linewidth=0, hatch=hatch
            )


def _plot_points(ax: Any, pts: pd.DataFrame, sch: pd.DataFrame) -> None:
    """Offer locations as white circles sized by their offers, lycées as black triangles."""
    import geopandas as gpd

    def _proj(df: pd.DataFrame) -> gpd.GeoDataFrame:
        return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df["lon"], df["lat"]), crs="EPSG:4326").to_crs(2154)

    if len(pts):
        p = _proj(pts)
        sizes = 8 + 10 * np.sqrt(p["n"].to_numpy(dtype=float))
        ax.scatter(p.geometry.x, p.geometry.y, s=sizes, facecolor="white", edgecolor="black", linewidth=0.7, zorder=4)
    if len(sch):
        s = _proj(sch)
        ax.scatter(
            s.geometry.x, s.geometry.y, s=26, marker="^", facecolor="black", edgecolor="white", linewidth=0.6, zorder=5
        )


def _add_legend(fig: Any, counts: pd.Series, data: ReportData) -> None:
    """The legend under the map: classes with their number of communes, symbols, boundary."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    f = data.filters
    handles = []
    for k, (_lo, label, face, hatch) in enumerate(MAP_CLASSES):
        n = int(counts.get(k, 0))
        handles.append(
            Patch(facecolor=face, edgecolor="0.35", hatch=hatch, label=f"{label} ({n} commune{'s' if n > 1 else ''})")
        )
    handles.append(_point_handle("^", "black", "white", 7, "lycée"))
    handles.append(_point_handle("o", "white", "black", 6, "lieu d'offres (taille : nombre d'offres)"))
    handles.append(Line2D([], [], color="black", linewidth=1.6, label="limite du territoire"))
    fig.legend(
        handles=handles,
        loc="lower center",
        ncol=2,
        fontsize=7.5,
        frameon=False,
        title=f"Offres accessibles {mode_phrase(f.mode, data.networks)} en {format_number(f.minutes)} min "
        "depuis le centre de chaque commune",
        title_fontsize=8,
    )


def _map_summary(gdf: Any, counts: pd.Series, data: ReportData) -> str:
    """« 12 communes sur 129 du territoire n'ont aucune offre accessible … (hachures). »"""
    f = data.filters
    n_in = int(gdf["inside"].sum())
    n_zero = int(counts.get(0, 0))
    return (
        f"{n_zero} commune{'s' if n_zero > 1 else ''} sur {n_in} du territoire "
        f"n'{'ont' if n_zero > 1 else 'a'} aucune offre accessible {mode_phrase(f.mode, data.networks)} "
        f"en {format_number(f.minutes)} min (hachures)."
    )


def render_map(
    con: duckdb.DuckDBPyConnection, data: ReportData, *, dpi: int = 150, width_in: float = 7.0, height_in: float = 6.6
) -> tuple[bytes, str]:
    """Static map of the territory as PNG bytes and a one-line French summary.

    Communes (the territory's and those around it in the frame) are filled by class of
    offers reachable (commune origins, the report's mode, budget and offer filters); grey
    levels plus hatching for « aucune offre », so it prints in black and white. Lycées are
    black triangles, offer locations white circles sized by their number of offers; the
    territory boundary is drawn thick.
    """
    import geopandas as gpd
    from matplotlib.figure import Figure

    terr = data.territory
    gcol = "geom_simple" if "geom_simple" in access.columns_of(con, "communes") else "geom"
    env = _map_envelope(con, terr, gcol)
    gdf = _commune_layer(con, data, gcol, env)
    pts, sch = _map_points(con, data, env)

    # No Agg canvas attached while plotting: GeoPandas calls draw_idle() after each layer,
    # which redraws everything on an Agg canvas; savefig() picks the PNG backend itself.
    fig = Figure(figsize=(width_in, height_in), dpi=dpi)
    ax = fig.add_axes((0.0, 0.2, 1.0, 0.8))
    _plot_communes(ax, gdf)
    outline = _territory_outline(con, terr, gcol)
    if outline is not None:
        gpd.GeoSeries([outline], crs="EPSG:4326").to_crs(2154).boundary.plot(ax=ax, color="black", linewidth=1.6)
    outside = gdf[~gdf["inside"]]
    if not outside.empty:  # veil the surroundings so the territory stands out
        outside.plot(ax=ax, facecolor="white", edgecolor="none", alpha=0.45)
    _plot_points(ax, pts, sch)
    ax.set_axis_off()
    ax.set_aspect("equal")
    counts = gdf[gdf["inside"]]["cls"].value_counts()
    _add_legend(fig, counts, data)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue(), _map_summary(gdf, counts, data)
