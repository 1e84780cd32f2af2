"""Leaflet elements of the maps (folium/branca subclasses and their JavaScript templates).

The machinery under :mod:`ui.mapping`, which builds the maps the pages show: layers whose data
is sent once and never compiled by Jinja (:class:`FastGeoJson`, :class:`FastMarkerCluster`,
:class:`_DataByReference`), recolouring of outlines already drawn (:class:`Recolour`),
legends that follow their layer group (:class:`LegendLayer`), the scale bar, keyboard and
screen-reader fixes inside the map's frame (:class:`NoMarkerTabStops`, :class:`FrameA11y`),
the drawn-time stamp read by ``bench/browser.py`` and the Leaflet files served from ./static.
"""

from __future__ import annotations

import json
import random
import threading
from typing import Any

import branca.element
import folium
import streamlit as st
from branca.element import Element, MacroElement, Template
from folium.plugins import FastMarkerCluster
from folium.template import Template as FoliumTemplate

from analysis.sanitize import html_text, js_literal
from ui import a11y

# branca names every map element with ``os.urandom(16)`` (~170 names per Mobilité rurale run).
# ``os.urandom`` releases the GIL, and during a first visit the server thread is busy sending the
# page's scripts: each name then waited for the GIL, 73 ms of that page's 0.6 s run (cProfile).
# The names only need to be unique within a page, so a non-cryptographic generator will do.
branca.element.urandom = random.randbytes

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


def static_serving() -> bool:
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
        #: name under which the layer is kept in ``window.obsLayers`` (see :class:`Recolour`)
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


class Recolour(MacroElement):
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


class FastMarkerCluster(_DataByReference, FastMarkerCluster):
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


class EscapedLayerControl(folium.LayerControl):
    """Folium's layer control with its labels HTML-escaped.

    Leaflet writes each layer's name into the control as HTML (``innerHTML``), and folium passes
    the names as they are: a layer named after a commune (the outline of Territoire › Commune)
    whose name holds ``<img src=x onerror=…>`` ran its script in the map's frame (issue 24).
    Every layer name is a plain text (:func:`analysis.sanitize.html_text`); the layers keep
    their own names (the frame titles read them as text)."""

    def render(self, **kwargs):
        self.reset()
        for item in self._parent._children.values():
            if not isinstance(item, folium.map.Layer) or not item.control:
                continue
            key = html_text(item.layer_name)
            if not item.overlay:
                self.base_layers[key] = item.get_name()
            else:
                self.overlays[key] = item.get_name()
        MacroElement.render(self, **kwargs)


class NoMarkerTabStops(MacroElement):
    """Markers (offers, lycées and their clusters: hundreds per map) out of the Tab order: with
    Leaflet's default every marker is a Tab stop, and a keyboard user had to go through all of
    them to leave the map. The map itself (arrow keys pan, +/- zoom), its zoom buttons and its
    layer toggles stay reachable; the markers' content is in the tables under the maps."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        L.Marker.mergeOptions({keyboard: false});
        {% endmacro %}""")


class MetricScale(MacroElement):
    """Scale bar in kilometres only (Leaflet's default adds miles), bottom left."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        L.control.scale({imperial: false, position: 'bottomleft'}).addTo({{ this._parent.get_name() }});
        {% endmacro %}""")


class LegendLayer(MacroElement):
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


class DrawnStamp(MacroElement):
    """Sets ``window.obsDrawn`` (epoch ms) in the map's frame once its layers are drawn (after
    the next frames are painted), and sends it to the page, which writes it on the frame's
    ``<iframe>`` (``data-obs-drawn``, :mod:`ui.a11y`'s script; the map frame is in an opaque
    origin): read by ``bench/browser.py`` to time maps updated in place."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        requestAnimationFrame(function () {
            requestAnimationFrame(function () {
                window.obsDrawn = Date.now();
                // the frame is sandboxed (opaque origin): the page reads the time from its iframe
                try { window.parent.postMessage({obsDrawn: window.obsDrawn}, '*'); } catch (e) {}
            });
        });
        {% endmacro %}""")


class FrameA11y(MacroElement):
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
