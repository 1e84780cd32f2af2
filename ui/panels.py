"""The « map + summary + ranked table + downloads » panel the pages repeat.

A page colours territories by one indicator (:class:`MapPanel`), shows the map with its
filter-dependent layers, says the range in one « En bref » sentence, offers the map's table as a
text alternative (RGAA: every map keeps its table), ranks the territories from the least to the
most favourable (:func:`analysis.outputs.ranking.rank_territories`, one ranking read by the
summary and the table) and lets the table be downloaded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import folium
import pandas as pd
import streamlit as st

from analysis.outputs import ranking
from ui import core, mapping


@dataclass(frozen=True)
class MapPanel:
    """One indicator coloured by territory: the inputs of :func:`show_map`.

    Attributes
    ----------
    key : str
        Widget key of the map.
    geojson : dict
        Territory outlines (features keyed by ``code``).
    table : pandas.DataFrame
        One row per territory: ``code``, ``name``, the value ``column`` and the pupils columns
        the ranking reads.
    column : str
        Indicator column (in the table's units: ``scale`` converts it for display).
    label, unit : str
        French legend title and unit.
    decimals : int
        Decimals shown in the legend and tooltips.
    palette : str
        Colour scale (:mod:`analysis.outputs.maps`); ``reverse``: reversed.
    scale : float
        Display factor (100 for a share shown in %).
    name : str
        Name of the coloured layer in the layer control.
    layer : str, optional
        Name of the layer group (default: ``label``); ``layer_control``: listed in the control.
    notes : mapping, optional
        Tooltip notes by code (large communes counted from their town hall).
    higher_is_worse : bool
        Direction of the ranking.
    height : int
        Map height in pixels.
    outlines : bool
        Draw the outlines once in the base map (recoloured in place when the filters change).
    control : bool
        Show the layer control.
    """

    key: str
    geojson: dict
    table: pd.DataFrame
    column: str
    label: str
    unit: str
    decimals: int = 0
    palette: str = "viridis"
    reverse: bool = False
    scale: float = 1.0
    name: str = "Indicateur"
    layer: str | None = None
    layer_control: bool = True
    notes: Mapping[str, str] | None = None
    higher_is_worse: bool = True
    height: int = 520
    outlines: bool = False
    control: bool = False


def show_map(
    panel: MapPanel,
    m: folium.Map | None = None,
    overlays: Callable[[folium.Map], Sequence[folium.FeatureGroup]] | None = None,
) -> None:
    """Draw the panel's choropleth (on ``m``, default: the regional base map).

    ``overlays`` adds the layers drawn over the indicator (offers, lycées, legends) and returns
    the filter-dependent groups among them.
    """
    m = m if m is not None else mapping.base_map()
    g = mapping.group(panel.layer or panel.label, control=panel.layer_control)
    mapping.choropleth(
        g,
        panel.geojson,
        panel.table,
        "code",
        panel.column,
        panel.label,
        panel.unit,
        decimals=panel.decimals,
        palette=panel.palette,
        reverse=panel.reverse,
        scale=panel.scale,
        name=panel.name,
        outlines=m if panel.outlines else None,
        notes=panel.notes,
    )
    extra = list(overlays(m)) if overlays is not None else []
    mapping.show(m, panel.key, height=panel.height, layers=[g, *extra], control=panel.control)


def ranked(panel: MapPanel) -> pd.DataFrame:
    """The panel's territories from the least to the most favourable (one ranking, read by the
    « En bref » sentence and the table)."""
    return ranking.rank_territories(panel.table, panel.column, higher_is_worse=panel.higher_is_worse)


def brief(sentence: str) -> None:
    """The « En bref » sentence under a map (its one-line text summary)."""
    st.markdown(f"**En bref :** {sentence}")


def table_alternative(
    label: str, key: str, build: Callable[[], pd.DataFrame], *, grid: bool = False, height: int | None = 420
) -> None:
    """The map's table (text alternative) in an expander, built only once it is opened:
    an HTML table (in a scroll box ``height`` pixels high, if given), or the interactive grid
    when ``grid``."""
    with core.table_expander(label, key) as opened:
        if opened:
            table = build()
            if grid:
                st.dataframe(table, hide_index=True, width="stretch", height=height or "auto")
            else:
                core.html_table(table, height=height)


def ranked_table(table: pd.DataFrame, caption: str, full_label: str, key: str, *, top: int = 25) -> None:
    """A ranked table: its first ``top`` rows as HTML under ``caption``, and the whole table in
    an interactive grid (sort and search) once its expander is opened."""
    st.caption(caption)
    core.html_table(table, max_rows=top, height=420)
    with core.table_expander(full_label, key) as opened:
        if opened:
            st.dataframe(table, hide_index=True, width="stretch", height=360)
