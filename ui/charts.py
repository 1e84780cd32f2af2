"""Light charts: Plotly figures drawn with the basic plotly.js bundle served from
``static/vendor/plotly``, and plain SVG bar charts (no script at all).

``st.plotly_chart`` loads Streamlit's own Plotly script (4.7 MB, the full plotly.js): on the
first visit of a page in a fresh browser its evaluation blocks the page for about 1 s, and the
map components (same browser thread) wait for it. The figures of the dashboard only use bar
charts, which the "basic" plotly.js bundle (1.2 MB, same version as the Python ``plotly``
package) draws. :func:`plotly_chart` renders the figure's JSON with that bundle in a small
``st.iframe`` (``st.components.v1.html`` is deprecated since Streamlit 1.5x); without static serving (app run from another folder) it falls back to
``st.plotly_chart``. The bundle is not tracked by git: ``make install`` fetches it
(:mod:`ui.vendor`); when it is missing, each chart says so in French (file and command) and
falls back to ``st.plotly_chart``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import streamlit as st

from ui import vendor

#: plotly.js "basic" bundle (bar, scatter, pie), served by Streamlit from ./static.
PLOTLY_JS = "/app/" + vendor.PLOTLY.path

#: Streamlit-like look (font, light grid) and French number separators (decimal comma,
#: narrow no-break space for thousands).
_LAYOUT = {
    "template": "plotly_white",
    "font": {"family": '"Source Sans Pro", "Source Sans", sans-serif', "size": 14, "color": "#31333F"},
    "separators": ",\u202f",
}

_HTML = """<!DOCTYPE html>
<html lang="fr"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{margin:0}}</style></head><body>
<div id="chart" style="width:100%;height:{height}px"></div>
<script src="{src}"></script>
<script>
(function () {{
  var fig = {spec};
  Plotly.newPlot("chart", fig.data, fig.layout,
                 {{responsive: true, displaylogo: false,
                   modeBarButtonsToRemove: ["select2d", "lasso2d"]}});
}})();
{frame_js}
</script>
</body></html>"""


def static_serving() -> bool:
    try:
        return bool(st.get_option("server.enableStaticServing"))
    except Exception:  # noqa: BLE001 - option unknown in bare mode
        return True


def missing_bundle_message(path: Path | None = None) -> str | None:
    """A French message naming the plotly.js bundle and the command that fetches it when the
    file ``path`` (default: :data:`ui.vendor.PLOTLY`'s) is absent, else ``None``."""
    path = path or vendor.PLOTLY.file
    if path.is_file():
        return None
    return (
        f"Fichier manquant : {vendor.PLOTLY.path} (plotly.js, version « basic »). "
        "Lancez « make install » (ou « .venv/bin/python -m ui.vendor ») pour le télécharger ; "
        "en attendant, le graphique est dessiné avec le script Plotly de Streamlit, plus lourd."
    )


def figure_title(fig) -> str:
    """A French title for ``fig``: its own title, else "Graphique : <value axis> par <category
    axis>" from the axis titles."""
    lay = fig.layout
    if lay.title and lay.title.text:
        return str(lay.title.text)
    horizontal = any(getattr(t, "orientation", None) == "h" for t in fig.data)
    xt = (lay.xaxis.title.text or "") if lay.xaxis and lay.xaxis.title else ""
    yt = (lay.yaxis.title.text or "") if lay.yaxis and lay.yaxis.title else ""
    value, cat = (xt, yt) if horizontal else (yt, xt)
    if not value:
        return "Graphique"
    return f"Graphique : {value}" + (f" par {cat.lower()}" if cat else "")


def figure_table(fig):
    """The figure's data as a table (its text alternative, RGAA 1.3/4): one row per category,
    one column per bar or scatter trace (named by its legend name, else the value axis title).
    ``None`` for figures of other traces."""
    import pandas as pd

    cols: dict[str, pd.Series] = {}
    lay = fig.layout
    cat_name = ""
    for k, t in enumerate(fig.data):
        if t.type not in ("bar", "scatter") or t.x is None or t.y is None:
            return None
        horizontal = getattr(t, "orientation", None) == "h"
        cats, vals = (t.y, t.x) if horizontal else (t.x, t.y)
        axis = lay.yaxis if horizontal else lay.xaxis
        cat_name = cat_name or ((axis.title.text or "") if axis and axis.title else "")
        vaxis = lay.xaxis if horizontal else lay.yaxis
        vname = t.name or ((vaxis.title.text or "") if vaxis and vaxis.title else "") or f"Série {k + 1}"
        cols[vname] = pd.Series(list(vals), index=[str(c) for c in cats])
    if not cols:
        return None
    df = pd.DataFrame(cols)
    first = next(iter(cols))
    df = df.sort_values(first, ascending=False, kind="stable")
    return df.rename_axis(cat_name or "Catégorie").reset_index()


def figure_html(fig, height: int, title: str | None = None) -> str:
    """A standalone HTML document drawing ``fig`` (a plotly ``Figure``) with the basic bundle:
    ``lang="fr"``, a ``<title>`` (``title``, else :func:`figure_title`) also given to its
    ``<iframe>`` element."""
    from analysis.sanitize import html_text
    from ui import a11y

    title = title or figure_title(fig)
    fig = fig.update_layout(**_LAYOUT, height=height, autosize=True)
    fig = plotly_text_escaped(fig)
    spec = fig.to_json().replace("</", "<\\/")
    return _HTML.format(
        height=height, src=PLOTLY_JS, spec=spec, title=html_text(title), frame_js=a11y.frame_script(title)
    )


#: Trace attributes whose texts Plotly draws as its own HTML subset (``<a href>`` becomes a link).
PLOTLY_TEXT_ATTRIBUTES = ("x", "y", "text", "hovertext", "name")


def plotly_text_escaped(fig):
    """A copy of ``fig`` whose data texts (categories, labels, hover texts, trace names) have
    ``& < >`` as entities: Plotly draws its own HTML subset in labels, so a sector named
    ``<a href="http://…">…</a>`` was a clickable link on the chart's axis (issue 24); escaped,
    it is shown as typed. The figure given is left as it is (its table alternative reads it)."""
    import html

    import plotly.graph_objects as go

    def esc(v):
        return html.escape(v, quote=False) if isinstance(v, str) else v

    out = go.Figure(fig)
    for trace in out.data:
        for attr in PLOTLY_TEXT_ATTRIBUTES:
            value = getattr(trace, attr, None)
            if isinstance(value, str):
                setattr(trace, attr, esc(value))
            elif value is not None and not isinstance(value, dict) and hasattr(value, "__iter__"):
                items = list(value)
                if any(isinstance(v, str) for v in items):
                    setattr(trace, attr, [esc(v) for v in items])
    return out


def plotly_chart(fig, height: int, title: str | None = None, table: bool = True) -> None:
    """Draw a plotly figure of bar/scatter/pie traces, ``height`` pixels high, full width.

    ``table``: the figure's data (:func:`figure_table`) follows in an expander, as the
    chart's text alternative."""
    missing = missing_bundle_message() if static_serving() else None
    if missing:
        st.warning(missing, icon="⚠️")
    if missing or not static_serving():
        fig.update_layout(height=height)
        st.plotly_chart(fig, width="stretch")
    else:
        # ``alt``: the iframe's title (its accessible name), as the document's own <title>
        st.iframe(figure_html(fig, height, title), height=height + 4, alt=title or figure_title(fig))
    tab = figure_table(fig) if table else None
    if tab is not None:
        from ui import core

        with st.expander("Données du graphique (alternative textuelle)"):
            core.html_table(tab)


def _nice_step(vmax: float, n: int = 5) -> float:
    """A round tick step (1, 2 or 5 × 10^k) giving about ``n`` ticks up to ``vmax``."""
    import math

    if vmax <= 0:
        return 1.0
    raw = vmax / n
    mag = 10 ** math.floor(math.log10(raw))
    return next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)


def count_axis(fig, axis: str = "x", vmax: float | None = None) -> None:
    """Whole-number ticks on a count axis of a plotly figure (no « 0,5 offre » tick): a step
    of at least 1, French thousands, starting at 0."""
    step = max(1.0, _nice_step(float(vmax or 1.0)))
    update = fig.update_xaxes if axis == "x" else fig.update_yaxes
    update(tick0=0, dtick=step, tickformat=",d", rangemode="tozero")
    fig.update_layout(separators=", ")


def grouped_bars_svg(
    categories: Sequence[str],
    series: dict[str, Sequence[float]],
    colours: Sequence[str],
    y_label: str,
    x_label: str = "",
    height: int = 330,
    decimals: int = 1,
) -> str:
    """A grouped vertical bar chart as a self-contained, accessible SVG (no script to load).

    ``series`` maps each series name (legend) to one value per category; values are
    written above their bar (French number format).
    """
    import math

    from analysis.outputs.maps import format_number
    from analysis.sanitize import html_text as esc

    width, left, right, top, bottom = 640, 64, 12, 34, 56
    plot_w, plot_h = width - left - right, height - top - bottom
    vals = [float(x) for s in series.values() for x in s if x is not None and math.isfinite(x)]
    step = _nice_step(max(vals) if vals else 1.0)
    ymax = step * max(1, math.ceil((max(vals) if vals else 1.0) / step))
    y = lambda v: top + plot_h - plot_h * v / ymax  # noqa: E731
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-label="{esc(y_label)} par {esc(x_label or "catégorie")}"'
        ' style="font-family:sans-serif;font-size:12px;max-width:760px">',
        f"<title>{esc(y_label)}</title>",
    ]
    t = 0.0
    while t <= ymax + 1e-9:  # grid and y ticks
        out.append(f'<line x1="{left}" x2="{width - right}" y1="{y(t):.1f}" y2="{y(t):.1f}" stroke="#e6e6e6"/>')
        out.append(
            f'<text x="{left - 6}" y="{y(t) + 4:.1f}" text-anchor="end" '
            f'fill="#555">{esc(format_number(t, 0 if step >= 1 else 1))}</text>'
        )
        t += step
    out.append(
        f'<text transform="translate(14,{top + plot_h / 2:.0f}) rotate(-90)" '
        f'text-anchor="middle" fill="#333">{esc(y_label)}</text>'
    )
    n_cat, n_ser = max(1, len(categories)), max(1, len(series))
    band = plot_w / n_cat
    bar = band * 0.8 / n_ser
    for i, cat in enumerate(categories):
        x0 = left + i * band + band * 0.1
        for j, (name, values) in enumerate(series.items()):
            v = values[i]
            if v is None or not math.isfinite(float(v)):
                continue
            v = float(v)
            bx, by = x0 + j * bar, y(v)
            out.append(
                f'<rect x="{bx:.1f}" y="{by:.1f}" width="{bar - 2:.1f}" '
                f'height="{top + plot_h - by:.1f}" fill="{colours[j % len(colours)]}">'
                f"<title>{esc(cat)} — {esc(name)} : {esc(format_number(v, decimals))}"
                "</title></rect>"
            )
            out.append(
                f'<text x="{bx + (bar - 2) / 2:.1f}" y="{by - 4:.1f}" '
                f'text-anchor="middle" fill="#333">{esc(format_number(v, decimals))}'
                "</text>"
            )
        out.append(
            f'<text x="{left + i * band + band / 2:.1f}" y="{top + plot_h + 18}" '
            f'text-anchor="middle" fill="#333">{esc(cat)}</text>'
        )
    if x_label:
        out.append(
            f'<text x="{left + plot_w / 2:.0f}" y="{height - 10}" text-anchor="middle" '
            f'fill="#333">{esc(x_label)}</text>'
        )
    lx = left
    for j, name in enumerate(series):  # legend (top)
        out.append(f'<rect x="{lx}" y="8" width="12" height="12" fill="{colours[j % len(colours)]}"/>')
        out.append(f'<text x="{lx + 17}" y="18" fill="#333">{esc(name)}</text>')
        lx += 30 + 7 * len(name)
    out.append("</svg>")
    return "".join(out)
