"""Plotly figures drawn with the light plotly.js bundle served from ``static/vendor/plotly``.

``st.plotly_chart`` loads Streamlit's own Plotly script (4.7 MB, the full plotly.js): on the
first visit of a page in a fresh browser its evaluation blocks the page for about 1 s, and the
map components (same browser thread) wait for it. The figures of the dashboard only use bar
charts, which the "basic" plotly.js bundle (1.2 MB, same version as the Python ``plotly``
package) draws. :func:`plotly_chart` renders the figure's JSON with that bundle in a small HTML
component; without static serving (app run from another folder) it falls back to
``st.plotly_chart``.
"""

from __future__ import annotations

import streamlit as st
import streamlit.components.v1 as components

#: plotly.js "basic" bundle (bar, scatter, pie), served by Streamlit from ./static.
PLOTLY_JS = "/app/static/vendor/plotly/plotly-basic.min.js"

#: Streamlit-like look (font, light grid) and French number separators (decimal comma,
#: narrow no-break space for thousands).
_LAYOUT = {
    "template": "plotly_white",
    "font": {"family": '"Source Sans Pro", "Source Sans", sans-serif', "size": 14,
             "color": "#31333F"},
    "separators": ",\u202f",
}

_HTML = """<div id="chart" style="width:100%;height:{height}px"></div>
<script src="{src}"></script>
<script>
(function () {{
  var fig = {spec};
  Plotly.newPlot("chart", fig.data, fig.layout,
                 {{responsive: true, displaylogo: false,
                   modeBarButtonsToRemove: ["select2d", "lasso2d"]}});
}})();
</script>
<style>body{{margin:0}}</style>"""


def _static_serving() -> bool:
    try:
        return bool(st.get_option("server.enableStaticServing"))
    except Exception:  # noqa: BLE001 - option unknown in bare mode
        return True


def figure_html(fig, height: int) -> str:
    """A standalone HTML snippet drawing ``fig`` (a plotly ``Figure``) with the basic bundle."""
    fig = fig.update_layout(**_LAYOUT, height=height, autosize=True)
    spec = fig.to_json().replace("</", "<\\/")
    return _HTML.format(height=height, src=PLOTLY_JS, spec=spec)


def plotly_chart(fig, height: int) -> None:
    """Draw a plotly figure of bar/scatter/pie traces, ``height`` pixels high, full width."""
    if not _static_serving():
        fig.update_layout(height=height)
        st.plotly_chart(fig, width="stretch")
        return
    components.html(figure_html(fig, height), height=height + 4)
