"""Folium maps without online tiles: outlines base layer, choropleths, legends, clustered markers."""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Sequence
from typing import Any

import branca.element
import folium
import pandas as pd
import streamlit as st
from branca.element import Element, MacroElement, Template
from folium.plugins import FastMarkerCluster
from folium.template import Template as FoliumTemplate
from folium.utilities import JsCode

from analysis import config, maps
from analysis.sanitize import html_text, js_literal
from ui import a11y, data
from ui.core import db_version

# branca names every map element with ``os.urandom(16)`` (~170 names per Mobilité rurale run).
# ``os.urandom`` releases the GIL, and during a first visit the server thread is busy sending the
# page's scripts: each name then waited for the GIL, 73 ms of that page's 0.6 s run (cProfile).
# The names only need to be unique within a page, so a non-cryptographic generator will do.
branca.element.urandom = random.randbytes

_BG_CSS = "<style>.leaflet-container{background:#eef1f4 !important}</style>"

#: Leaflet served by Streamlit from ./static (no CDN: the maps work offline).
STATIC = "/app/static/vendor"
LEAFLET_JS = [("leaflet", f"{STATIC}/leaflet/leaflet.js")]
#: folium's ``Popup`` (HTML content) needs jQuery: loaded only by the maps that have one
#: (:func:`show`), one script less to fetch and compile in every other map.
JQUERY_JS = [("jquery", f"{STATIC}/jquery/jquery.min.js")]
LEAFLET_CSS = [("leaflet_css", f"{STATIC}/leaflet/leaflet.css")]
CLUSTER_JS = [("markerclusterjs", f"{STATIC}/markercluster/leaflet.markercluster.js")]
CLUSTER_CSS = [
    ("markerclustercss", f"{STATIC}/markercluster/MarkerCluster.css"),
    ("markerclusterdefaultcss", f"{STATIC}/markercluster/MarkerCluster.Default.css"),
]


#: Fixed classes for shares in % (comparable between maps and filters).
SHARE_BREAKS: list[float] = [10.0, 25.0, 50.0, 75.0, 100.0]


def _static_serving() -> bool:
    """True when Streamlit serves ./static (set in .streamlit/config.toml); otherwise the
    maps fall back to folium's CDN links (online only)."""
    try:
        return bool(st.get_option("server.enableStaticServing"))
    except Exception:  # noqa: BLE001 - option unknown in bare mode
        return True


class _RawText(Element):
    """Text added to a figure as is. Branca wraps each element's rendered script in a new Jinja
    template (compiled on every render: about 0.1 s per megabyte of GeoJSON, several renders per
    map in ``st_folium``); this element is never compiled."""

    def __init__(self, text: str):
        super().__init__()
        self._text = text

    def render(self, **kwargs) -> str:  # noqa: ARG002 - branca signature
        return self._text


class _DataByReference:
    """Mixin for layers carrying a large data payload (``data_text``: JavaScript literal).

    ``st_folium`` builds the map's JavaScript by calling each layer's ``script`` macro directly
    (data inline, ``by_ref`` false). The figure render it also runs (header and HTML) only goes
    through :meth:`render`, where the payload is added once as raw text (a variable
    ``<name>_data``) and the script refers to it, so nothing large is compiled by Jinja. A
    saved or notebook-rendered map is complete either way.
    """

    by_ref = False
    data_text = "null"

    def render(self, **kwargs):
        self.get_root().script.add_child(
            _RawText(f"var {self.get_name()}_data = {self.data_text};"), name=self.get_name() + "_data"
        )
        self.by_ref = True
        try:
            super().render(**kwargs)
        finally:
            self.by_ref = False


class FastGeoJson(_DataByReference, folium.map.Layer):
    """A GeoJSON layer styled in JavaScript from each feature's properties.

    Unlike ``folium.GeoJson`` with a Python ``style_function`` (one style dict serialised per
    feature, bounds computed over every coordinate), the data is serialised once and Leaflet
    reads ``properties.colour`` (fill), ``properties.tip`` (tooltip HTML) and, for points,
    ``properties.radius``. Several times faster for the 2,644 communes.
    """

    _template = FoliumTemplate("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.geoJson({% if this.by_ref %}{{ this.get_name() }}_data{%
            else %}{{ this.data_text }}{% endif %}, {
            style: function (f) {
                var p = f.properties || {};
                return {fill: {{ this.fill }}, fillColor: p.colour || '#d9d9d9',
                        fillOpacity: {{ this.opacity }}, color: p.line || '{{ this.line }}',
                        weight: {{ this.weight }}};
            },
            pointToLayer: function (f, latlng) {
                return L.circleMarker(latlng, {radius: f.properties.radius || 5});
            },
            onEachFeature: function (f, layer) {
                if (f.properties && f.properties.tip) {
                    layer.bindTooltip(f.properties.tip, {sticky: true});
                }
            }
        });
        {% if this.show %}{{ this.get_name() }}.addTo({{ this._parent.get_name() }});{% endif %}
        {% if this.register %}(window.obsLayers = window.obsLayers || {})[{{ this.register
            }}] = {{ this.get_name() }};{% endif %}
        {% endmacro %}
    """)

    def __init__(
        self,
        data: dict,
        name: str,
        *,
        fill: bool = True,
        opacity: float = 0.75,
        line: str = "#666666",
        weight: float = 0.4,
        control: bool = True,
        show: bool = True,
        register: str | None = None,
        shared: bool = False,
    ):
        super().__init__(name=name, overlay=True, control=control, show=show)
        self._name = "FastGeoJson"
        self.data_text = _geojson_text(data, shared)
        self.fill = "true" if fill else "false"
        self.opacity = float(opacity)
        self.line = line
        self.weight = float(weight)
        #: name under which the layer is kept in ``window.obsLayers`` (see :class:`_Recolour`)
        self.register = _js_literal(register) if register else ""


_TEXTS: dict[int, tuple[dict, str]] = {}
_TEXTS_LOCK = threading.Lock()  # sessions run in threads


def _geojson_text(data: dict, shared: bool) -> str:
    """``data`` as JSON for a script. ``shared``: ``data`` is a long-lived cached object (the
    outlines of :func:`ui.data.geojson`), whose text is kept (~35 ms per run for the communes);
    the object itself is held with its text, so its ``id`` cannot be reused."""
    hit = _TEXTS.get(id(data)) if shared else None
    if hit is not None and hit[0] is data:
        return hit[1]
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")
    if shared:
        with _TEXTS_LOCK:
            if len(_TEXTS) >= 16:
                _TEXTS.pop(next(iter(_TEXTS)))
            _TEXTS[id(data)] = (data, text)
    return text


class _Recolour(MacroElement):
    """Recolours the features of an outline layer drawn in the base map (registered under
    ``key``, see :func:`choropleth` with ``outlines``) and sets their tooltips, when its layer
    group is added: a filter change then sends colours and values (a few tens of kB for the
    2,644 communes), not the outlines again."""

    _template = FoliumTemplate("""
        {% macro script(this, kwargs) %}
        (function () {
            var data = {{ this.data_text }};
            var label = {{ this.label_js }};
            var esc = function (t) {
                return String(t).replace(/&/g, '&amp;').replace(/</g, '&lt;')
                                .replace(/>/g, '&gt;');
            };
            var Recolour = L.Layer.extend({
                onAdd: function () {
                    var target = (window.obsLayers || {})[{{ this.key_js }}];
                    if (!target) { return; }
                    target.eachLayer(function (l) {
                        var p = (l.feature && l.feature.properties) || {};
                        var d = data[p.code];
                        l.setStyle({fillColor: d ? d[0] : '#d9d9d9'});
                        l.unbindTooltip();
                        if (d) {
                            l.bindTooltip('<b>' + esc(p.name || p.code) + '</b><br>' + label
                                          + ' : ' + d[1], {sticky: true});
                        }
                    });
                }
            });
            new Recolour().addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}""")

    def __init__(self, key: str, label_html: str, data: dict[str, list[str]]):
        super().__init__()
        self._name = "Recolour"
        self.key_js = _js_literal(key)
        self.label_js = _js_literal(label_html)
        self.data_text = _js_literal(data)


def _js_literal(obj: Any) -> str:
    """JSON safe inside a ``<script>`` element (:func:`analysis.sanitize.js_literal`)."""
    return js_literal(obj)


class _FastMarkerCluster(_DataByReference, FastMarkerCluster):
    """``FastMarkerCluster`` whose rows are not compiled by Jinja (see :class:`_DataByReference`)."""

    _template = FoliumTemplate("""
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = (function(){
                {{ this.callback }}

                var data = {% if this.by_ref %}{{ this.get_name() }}_data{%
                    else %}{{ this.data_text }}{% endif %};
                var cluster = L.markerClusterGroup({{ this.options|tojavascript }});
                {%- if this.icon_create_function is not none %}
                cluster.options.iconCreateFunction =
                    {{ this.icon_create_function.strip() }};
                {%- endif %}

                for (var i = 0; i < data.length; i++) {
                    var row = data[i];
                    var marker = callback(row);
                    marker.addTo(cluster);
                }

                cluster.addTo({{ this._parent.get_name() }});
                return cluster;
            })();
        {% endmacro %}""")  # folium 0.20 FastMarkerCluster template, data by reference

    def __init__(self, data, **kwargs):
        super().__init__(data, **kwargs)
        self._name = "FastMarkerCluster"
        self.data_text = _js_literal(self.data)


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
    _MetricScale().add_to(m)
    m.options["maxZoom"] = 16  # needed by the marker clusters when there is no tile layer
    m.options["minZoom"] = 6
    if _static_serving():
        m.default_js = LEAFLET_JS
        m.default_css = LEAFLET_CSS
    m.get_root().header.add_child(Element(_BG_CSS))
    _NoMarkerTabStops().add_to(m)
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


class _NoMarkerTabStops(MacroElement):
    """Markers (offers, lycées and their clusters: hundreds per map) out of the Tab order: with
    Leaflet's default every marker is a Tab stop, and a keyboard user had to go through all of
    them to leave the map. The map itself (arrow keys pan, +/- zoom), its zoom buttons and its
    layer toggles stay reachable; the markers' content is in the tables under the maps."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        L.Marker.mergeOptions({keyboard: false});
        {% endmacro %}""")


class _MetricScale(MacroElement):
    """Scale bar in kilometres only (Leaflet's default adds miles), bottom left."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        L.control.scale({imperial: false, position: 'bottomleft'}).addTo({{ this._parent.get_name() }});
        {% endmacro %}""")


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


class _LegendLayer(MacroElement):
    """A legend box drawn by a layer of a feature group: added and removed with its group, so
    a map whose filter-dependent layers are replaced in place (see :func:`show`) shows the
    legend of its current layers."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function () {
            var Legend = L.Layer.extend({
                onAdd: function (map) {
                    this._el = L.DomUtil.create('div');
                    this._el.innerHTML = {{ this.html_js }};
                    L.DomEvent.disableClickPropagation(this._el);
                    L.DomEvent.disableScrollPropagation(this._el);
                    map.getContainer().appendChild(this._el);
                },
                onRemove: function () { L.DomUtil.remove(this._el); }
            });
            new Legend().addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}""")

    def __init__(self, html_text: str):
        super().__init__()
        self._name = "Legend"
        self.html_js = _js_literal(html_text)


class _DrawnStamp(MacroElement):
    """Sets ``window.obsDrawn`` (epoch ms) in the map's frame once its layers are drawn (after
    the next frames are painted): read by ``bench/browser.py`` to time maps updated in place."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        requestAnimationFrame(function () {
            requestAnimationFrame(function () { window.obsDrawn = Date.now(); });
        });
        {% endmacro %}""")


class _FrameA11y(MacroElement):
    """Accessibility inside a map's frame (RGAA): ``lang="fr"``, the frame's ``<title>`` and
    its ``<iframe>`` title (:func:`ui.a11y.frame_script`), a name for the map's keyboard focus
    stop and French names for the zoom buttons."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        {{ this.frame_js }}
        (function () {
            var c = document.querySelector('.leaflet-container');
            if (!c) { return; }
            if (!document.getElementById('obs-focus')) {
                var st = document.createElement('style');
                st.id = 'obs-focus';
                st.textContent = ':focus-visible{outline:3px solid #0072B2 !important;'
                                 + 'outline-offset:1px}';
                document.head.appendChild(st);
            }
            c.setAttribute('aria-label', {{ this.title_js }});
            c.setAttribute('role', 'region');
            var names = {'.leaflet-control-zoom-in': 'Zoom avant',
                         '.leaflet-control-zoom-out': 'Zoom arrière',
                         '.leaflet-control-layers-toggle': 'Couches de la carte (Entrée pour ouvrir)'};
            var fixControls = function () {
                for (var sel in names) {
                    var b = c.querySelector(sel);
                    if (b && b.getAttribute('aria-label') !== names[sel]) {
                        b.setAttribute('title', names[sel]);
                        b.setAttribute('aria-label', names[sel]);
                    }
                }
                var credit = c.querySelector('.leaflet-control-attribution a[href*="leafletjs"]');
                if (credit) { credit.setAttribute('title', 'Leaflet, bibliothèque de cartes interactives'); }
            };
            fixControls();
            // the layer control is added after the map's script (st_folium): name it when it comes
            var box = c.querySelector('.leaflet-control-container');
            if (box && !box.__obsNamed) {
                box.__obsNamed = true;
                new MutationObserver(fixControls).observe(box, {childList: true, subtree: true});
            }
        })();
        {% endmacro %}""")

    def __init__(self, title: str):
        super().__init__()
        self._name = "FrameA11y"
        self.frame_js = a11y.frame_script(title)
        self.title_js = _js_literal(title)


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
        _LegendLayer(box).add_to(m)
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
) -> list[float]:
    """Colour the features of ``geojson`` by ``values[value_col]`` and add a legend.

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
        data = {str(c): [col, html_text(t)] for c, t, col in zip(values[code_col], texts, colours)}
        _Recolour(name, html_text(label), data).add_to(m)
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
            + (f"{maps.format_number(x, decimals)} {unit}" if pd.notna(x) else "sans donnée"),
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
    layer = _FastMarkerCluster(
        rows,
        callback=cb,
        name=name,
        show=show,
        options={"maxClusterRadius": 40, "disableClusteringAtZoom": 12, "iconCreateFunction": icon},
    )
    if _static_serving():
        layer.default_js = CLUSTER_JS
        layer.default_css = CLUSTER_CSS
    layer.add_to(m)


def offers_layer(m: folium.Map, pts: pd.DataFrame, *, show: bool = True) -> None:
    """Offer locations (clustered), popup with sectors, town and source."""
    if pts.empty:
        return
    popup = [
        f"<b>{int(r.n_offers)} offre(s)</b> — {html_text(r.town or '')}<br>"
        f"Secteurs : {html_text(r.sectors or '')}<br>"
        f"Localisation : {'mairie de la commune (estimation)' if r.location_precision == 'commune' else html_text(r.location_precision)}<br>"
        f"Source : {html_text(r.sources or '')}"
        for r in pts.itertuples()
    ]
    tips = [f"{int(n)} offre(s) — {html_text(t)}" for n, t in zip(pts["n_offers"], pts["town"])]
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
    folium.LayerControl(collapsed=True).add_to(m)


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

    if _static_serving() and _has_popup([m, *layers]):
        m.default_js = LEAFLET_JS + JQUERY_JS
    _DrawnStamp().add_to(m)
    # the title is part of the map's script, which keys the map (see above): a title that
    # follows the filters is set by the first layer group instead
    _FrameA11y(title or "Carte interactive").add_to(m)
    if title is None and layers:
        _FrameA11y("Carte : " + str(layers[0].layer_name)).add_to(layers[0])
    extra: dict[str, Any] = {}
    if layers:
        for g in layers:
            _DrawnStamp().add_to(g)
        extra["feature_group_to_add"] = list(layers)
        if control:
            extra["layer_control"] = folium.LayerControl(collapsed=True)
    elif control:
        layer_control(m)
    st_folium(m, key=key, height=height, use_container_width=True, returned_objects=[], **extra)


def points_legend(items: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    return list(items)


def as_json(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)
