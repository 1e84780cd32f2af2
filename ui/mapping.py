"""Folium maps without online tiles: outlines base layer, choropleths, legends, clustered markers.

The builders the pages call; the Leaflet elements they add (JavaScript templates, data sent by
reference, accessibility inside the frame) are in :mod:`ui.map_elements`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import folium
import pandas as pd
from branca.element import Element, MacroElement, Template
from folium.utilities import JsCode

from analysis import config
from analysis.outputs import maps
from analysis.sanitize import html_text, js_literal
from analysis.text import count as count_of
from ui import a11y, data
from ui.core import db_version

# FastGeoJson and FastMarkerCluster are also reached here by the pages and tests
from ui.map_elements import (
    CLUSTER_CSS,
    CLUSTER_JS,
    JQUERY_JS,
    LEAFLET_CSS,
    LEAFLET_JS,
    DrawnStamp,
    EscapedLayerControl,
    FastGeoJson,
    FastMarkerCluster,
    FrameA11y,
    LegendLayer,
    MetricScale,
    NoMarkerTabStops,
    Recolour,
    static_serving,
)

_BG_CSS = "<style>.leaflet-container{background:#eef1f4 !important}</style>"


#: Fixed classes for shares in % (comparable between maps and filters).
SHARE_BREAKS: list[float] = [10.0, 25.0, 50.0, 75.0, 100.0]


def base_map(bounds: list[list[float]] | None = None, *, height: int = 520) -> folium.Map:
    """A map without tiles (offline), light background, département outlines as base layer."""
    lon_min, lat_min, lon_max, lat_max = config.NORMANDIE_BBOX
    m = folium.Map(
        location=[(lat_min + lat_max) / 2, (lon_min + lon_max) / 2],
        zoom_start=8,
        tiles=None,
        control_scale=False,
        prefer_canvas=True,
        zoom_snap=0.25,
    )
    MetricScale().add_to(m)
    m.options["maxZoom"] = 16  # needed by the marker clusters when there is no tile layer
    m.options["minZoom"] = 6
    if static_serving():
        m.default_js = LEAFLET_JS
        m.default_css = LEAFLET_CSS
    m.get_root().header.add_child(Element(_BG_CSS))
    NoMarkerTabStops().add_to(m)
    deps = data.geojson("departement", db_version())
    props = {
        f["properties"]["code"]: {"colour": "#ffffff", "tip": "Département : " + html_text(f["properties"]["name"])}
        for f in deps["features"]
    }
    FastGeoJson(
        maps.attach_properties(deps, props), "Départements", opacity=0.6, line="#555555", weight=1.2, control=False
    ).add_to(m)
    if bounds:
        m.fit_bounds(bounds)
    else:  # the region: room kept at the bottom for the legends, which then cover no land
        m.fit_bounds([[lat_min, lon_min], [lat_max, lon_max]], padding_bottom_right=(0, REGION_LEGEND_ROOM))
    return m


#: Popups open at least this far (pixels) from the top-left corner, where the zoom buttons
#: are, and from the bottom-right corner (Leaflet pans the map if needed).
POPUP_PAD_TOP_LEFT = (64, 96)
POPUP_PAD_BOTTOM_RIGHT = (24, 24)
#: Corners of the overlays: legends sit above the scale bar (bottom left) or in the bottom
#: right corner, away from the coast (Cotentin tip top left, Seine-Maritime coast top right).
LEGEND_BOTTOM_LEFT = "bottom:44px;left:10px"
LEGEND_BOTTOM_RIGHT = "bottom:24px;right:10px"
#: Pixels kept free under the region on regional maps (legend boxes).
REGION_LEGEND_ROOM = 120


def popup(html_text: str, max_width: int = 320) -> folium.Popup:
    """A popup that never opens under the zoom buttons (auto-pan padding)."""
    return folium.Popup(
        html_text,
        max_width=max_width,
        auto_pan_padding_top_left=list(POPUP_PAD_TOP_LEFT),
        auto_pan_padding_bottom_right=list(POPUP_PAD_BOTTOM_RIGHT),
    )


def group(name: str, *, show: bool = True, control: bool = True) -> folium.FeatureGroup:
    """A layer group for the filter-dependent layers of a map, given to :func:`show`: when a
    filter changes, only these groups are replaced in the map already drawn. ``control``:
    listed in the layer control."""
    return folium.FeatureGroup(name=name, show=show, control=control)


def add_legend(
    m: folium.Map | folium.FeatureGroup,
    title: str,
    items: Sequence[tuple[str, str]],
    *,
    shape: str = "square",
    corner: str = "bottom:24px;right:10px",
    swatch_opacity: float = 1.0,
) -> None:
    """Overlay a legend box on the map (on a layer group: shown with that group)."""
    box = maps.legend_html(title, items, shape=shape, corner=corner, swatch_opacity=swatch_opacity)
    if isinstance(m, folium.FeatureGroup):
        LegendLayer(box).add_to(m)
        return
    macro = MacroElement()
    macro._template = Template("{% macro html(this, kwargs) %}" + box + "{% endmacro %}")
    m.get_root().add_child(macro)


def choropleth(
    m: folium.Map | folium.FeatureGroup,
    geojson: dict,
    values: pd.DataFrame,
    code_col: str,
    value_col: str,
    label: str,
    unit: str,
    *,
    decimals: int = 0,
    palette: str = "viridis",
    reverse: bool = False,
    scale: float = 1.0,
    name: str = "Indicateur",
    breaks: Sequence[float] | None = None,
    legend: bool = True,
    opacity: float = 0.75,
    corner: str = "bottom:24px;right:10px",
    outlines: folium.Map | None = None,
    notes: Mapping[str, str] | None = None,
) -> list[float]:
    """Colour the features of ``geojson`` by ``values[value_col]`` and add a legend.

    ``notes`` (code -> French text) adds a caveat after a feature's value in its tooltip
    (« origine unique : la mairie » for the large communes, :mod:`analysis.sources.geography`).

    ``scale`` multiplies values for display (e.g. 100 for shares shown in %). Returns the
    class breaks (in displayed units).

    With ``outlines`` (the base map of :func:`show`) and ``m`` a layer group (:func:`group`),
    the outlines are drawn uncoloured in the base map, which stays the same across filter
    changes, and the group only recolours them (colours, tooltips, legend): the geometry is
    sent to the browser once per map instead of at every filter change.
    """
    v = pd.to_numeric(values[value_col], errors="coerce") * scale
    # « sans donnée » in the legend only when an area has no value (its grey looked like a class)
    no_data = "sans donnée" if v.isna().any() or len(v) < len(geojson.get("features", [])) else None
    if breaks is None and unit == "%":
        breaks = SHARE_BREAKS
    if breaks is None:
        breaks = maps.class_breaks(v.to_numpy(), n=5)
    colours = maps.colours_for(v.to_numpy(), breaks, palette_name=palette, reverse=reverse)
    if outlines is not None:
        FastGeoJson(geojson, name, opacity=opacity, register=name, shared=True).add_to(outlines)
        texts = [f"{maps.format_number(x, decimals)} {unit}" if pd.notna(x) else "sans donnée" for x in v]
        if notes:
            texts = [t + (f" · {notes[str(c)]}" if str(c) in notes else "") for t, c in zip(texts, values[code_col])]
        data = {str(c): [col, html_text(t)] for c, t, col in zip(values[code_col], texts, colours)}
        Recolour(name, html_text(label), data).add_to(m)
        if legend:
            add_legend(
                m,
                label,
                maps.legend_items(
                    breaks, unit, decimals=decimals, palette_name=palette, reverse=reverse, no_data=no_data
                ),
                corner=corner,
                swatch_opacity=opacity,
            )
        return list(breaks)
    names = {f["properties"]["code"]: f["properties"].get("name", "") for f in geojson.get("features", [])}
    props = {
        str(c): {
            "colour": col,
            "tip": f"<b>{html_text(names.get(str(c), c))}</b><br>{html_text(label)} : "
            + (f"{maps.format_number(x, decimals)} {unit}" if pd.notna(x) else "sans donnée")
            + (f" · {html_text(notes[str(c)])}" if notes and str(c) in notes else ""),
        }
        for c, x, col in zip(values[code_col], v, colours)
    }
    gj = maps.attach_properties(geojson, props)
    FastGeoJson(gj, name, opacity=opacity).add_to(m)
    if legend:
        add_legend(
            m,
            label,
            maps.legend_items(breaks, unit, decimals=decimals, palette_name=palette, reverse=reverse, no_data=no_data),
            corner=corner,
            swatch_opacity=opacity,
        )
    return list(breaks)


def outline(m: folium.Map, geojson: dict, name: str, *, colour: str = "#000000", weight: float = 2.5) -> None:
    """Draw outlines only (e.g. the selected territory)."""
    FastGeoJson(geojson, name, fill=False, line=colour, weight=weight).add_to(m)


_CIRCLE_CALLBACK = """
function (row) {
    var m = L.circleMarker(new L.LatLng(row[0], row[1]),
        {radius: %(radius)s, color: '%(stroke)s', weight: 1, fillColor: '%(fill)s',
         fillOpacity: 0.9});
    m.bindPopup(row[2], {autoPanPaddingTopLeft: L.point(%(pad_tl)s),
                         autoPanPaddingBottomRight: L.point(%(pad_br)s)});
    m.bindTooltip(row[3]);
    return m;
}
"""


_CLUSTER_ICON = """
function (cluster) {
    var n = cluster.getChildCount();
    var size = n < 10 ? 18 : (n < 100 ? 22 : 26);
    return L.divIcon({
        html: '<div style="width:' + size + 'px;height:' + size + 'px;line-height:' + size
              + 'px;border-radius:50%%;background:%(fill)s;border:1px solid #222;color:%(text)s;'
              + 'font:bold 10px sans-serif;text-align:center">' + n + '</div>',
        className: 'obs-cluster', iconSize: L.point(size, size)});
}
"""


def text_colour(fill: str) -> str:
    """Cluster label colour on ``fill`` (:func:`ui.a11y.text_colour`): black on the offers'
    orange #E69F00 (9.3:1), white on the lycées' blue #0072B2 (5.2:1)."""
    return a11y.text_colour(fill)


def clustered_points(
    m: folium.Map,
    df: pd.DataFrame,
    popup: Sequence[str],
    tooltip: Sequence[str],
    name: str,
    fill: str,
    *,
    stroke: str = "#222222",
    radius: int = 6,
    show: bool = True,
) -> None:
    """Clustered circle markers (FastMarkerCluster: data sent once, drawn in JavaScript)."""
    rows = [[float(la), float(lo), p, t] for la, lo, p, t in zip(df["lat"], df["lon"], popup, tooltip)]
    cb = _CIRCLE_CALLBACK % {
        "radius": radius,
        "fill": fill,
        "stroke": stroke,
        "pad_tl": ", ".join(map(str, POPUP_PAD_TOP_LEFT)),
        "pad_br": ", ".join(map(str, POPUP_PAD_BOTTOM_RIGHT)),
    }
    icon = JsCode(_CLUSTER_ICON % {"fill": fill, "text": text_colour(fill)})
    layer = FastMarkerCluster(
        rows,
        callback=cb,
        name=name,
        show=show,
        options={"maxClusterRadius": 40, "disableClusteringAtZoom": 12, "iconCreateFunction": icon},
    )
    if static_serving():
        layer.default_js = CLUSTER_JS
        layer.default_css = CLUSTER_CSS
    layer.add_to(m)


def offers_layer(m: folium.Map, pts: pd.DataFrame, *, show: bool = True) -> None:
    """Offer locations (clustered), popup with sectors, town and source."""
    if pts.empty:
        return
    popup = [
        f"<b>{count_of(r.n_offers, 'offre')}</b> — {html_text(r.town or '')}<br>"
        f"Secteurs : {html_text(r.sectors or '')}<br>"
        f"Localisation : {'mairie de la commune (estimation)' if r.location_precision == 'commune' else html_text(r.location_precision)}<br>"
        f"Source : {html_text(r.sources or '')}"
        for r in pts.itertuples()
    ]
    tips = [f"{count_of(n, 'offre')} — {html_text(t)}" for n, t in zip(pts["n_offers"], pts["town"])]
    clustered_points(m, pts, popup, tips, "Offres de stage", fill="#E69F00", radius=6, show=show)


def schools_layer(m: folium.Map, sch: pd.DataFrame, *, show: bool = True) -> None:
    """Lycées (clustered), popup with name, commune and seconde headcount."""
    if sch.empty:
        return
    popup = [
        f"<b>{html_text(r.name)}</b><br>{html_text(r.commune or '')} — "
        f"{'public' if r.is_public else 'privé'}<br>Élèves de seconde : "
        f"{maps.format_number(r.seconde_pupils) if pd.notna(r.seconde_pupils) else 'non déclaré'}"
        for r in sch.itertuples()
    ]
    tips = [html_text(n) for n in sch["name"]]
    clustered_points(m, sch, popup, tips, "Lycées", fill="#0072B2", stroke="#ffffff", radius=6, show=show)


def points_legend_box(m: folium.Map, *, offers: bool = True, schools: bool = True) -> None:
    """Legend of the offer / lycée markers (bottom left, above the scale bar: top left, it
    covered the Cotentin tip)."""
    items = []
    if offers:
        items.append(("#E69F00", "offres de stage (chiffre : lieux regroupés)"))
    if schools:
        items.append(("#0072B2", "lycées"))
    add_legend(m, "Points", items, shape="circle", corner=LEGEND_BOTTOM_LEFT)


def layer_control(m: folium.Map) -> None:
    """Layer control, folded into its button (open, it covered the Seine-Maritime coast)."""
    EscapedLayerControl(collapsed=True).add_to(m)


def _has_popup(elements) -> bool:
    """True when a folium ``Popup`` is among ``elements`` or their descendants."""
    stack = list(elements)
    while stack:
        e = stack.pop()
        if isinstance(e, folium.Popup):
            return True
        stack.extend(getattr(e, "_children", {}).values())
    return False


def show(
    m: folium.Map,
    key: str,
    *,
    height: int = 520,
    layers: Sequence[folium.FeatureGroup] = (),
    control: bool = False,
    title: str | None = None,
) -> None:
    """Render the map; no value is sent back to Python (no rerun on pan/zoom).

    ``m`` holds what does not depend on the filters (outlines, lycées, fixed legends);
    ``layers`` (see :func:`group`) what does. ``st_folium`` keys the map on its script: the
    map drawn in the browser is kept as long as ``m`` is unchanged and only the groups are
    replaced in it (with the layer control when ``control``), instead of reloading the whole map
    component on every filter change.

    ``title``: the map's frame title for screen readers (default: "Carte : " and the name of
    the first layer group).
    """
    from streamlit_folium import st_folium

    if static_serving() and _has_popup([m, *layers]):
        m.default_js = LEAFLET_JS + JQUERY_JS
    DrawnStamp().add_to(m)
    # the title is part of the map's script, which keys the map (see above): a title that
    # follows the filters is set by the first layer group instead
    FrameA11y(title or "Carte interactive").add_to(m)
    if title is None and layers:
        FrameA11y("Carte : " + str(layers[0].layer_name)).add_to(layers[0])
    extra: dict[str, Any] = {}
    if layers:
        for g in layers:
            DrawnStamp().add_to(g)
        extra["feature_group_to_add"] = list(layers)
        if control:
            extra["layer_control"] = EscapedLayerControl(collapsed=True)
    elif control:
        layer_control(m)
    st_folium(m, key=key, height=height, use_container_width=True, returned_objects=[], **extra)


def points_legend(items: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    return list(items)


def as_json(obj: Any) -> str:
    """``obj`` as JSON safe inside a ``<script>`` element (:func:`analysis.sanitize.js_literal`:
    ``</script>`` in a name cannot close it)."""
    return js_literal(obj)
