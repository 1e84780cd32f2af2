"""Warm the data caches once per server process, in a background thread.

The first visit of a page after the server starts used to pay for the first DuckDB queries,
the commune outlines, the stops layer and the first Plotly figure (several seconds on the
Mobilité rurale and Territoire pages). :func:`start` launches a daemon thread, the first time
the app script runs, that calls the :mod:`ui.data` cached functions with the default view of
Couverture, Mobilité rurale and Territoire, in the order a visitor usually opens them.

``st.cache_data`` works from a thread without a ``ScriptRunContext`` (the cache is global to
the process; Streamlit only logs a "missing ScriptRunContext" warning, silenced here), and it
takes a lock per cache key: a page asking for a value the thread is computing waits for it
instead of computing it twice. The warm-up never raises: every step is wrapped, failures are
logged and the next step runs.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from analysis import config
from analysis.access import Filters

_LOG = logging.getLogger("observatoire.warmup")
_lock = threading.Lock()
_started = False

#: Defaults shared with the pages (the default view: :data:`analysis.config.DEFAULT_BUDGET_MIN`).
DEFAULT_MINUTES = config.DEFAULT_BUDGET_MIN
CAEN_COMMUNE = "14118"
CAEN_LA_MER = "200065597"


def start() -> bool:
    """Start the warm-up thread unless it already ran in this process; True if started."""
    global _started
    with _lock:
        if _started:
            return False
        _started = True
    threading.Thread(target=run, name="observatoire-warmup", daemon=True).start()
    return True


def _step(name: str, fn: Callable[[], object], timings: list[tuple[str, float]]) -> object:
    t0 = time.perf_counter()
    try:
        out = fn()
    except Exception:  # noqa: BLE001 - the warm-up must never fail a page
        _LOG.warning("préchauffage : étape « %s » en échec", name, exc_info=True)
        out = None
    timings.append((name, time.perf_counter() - t0))
    return out


def run() -> list[tuple[str, float]]:
    """Run every warm-up step (in the calling thread); return ``(step, seconds)`` pairs."""
    timings: list[tuple[str, float]] = []
    # Streamlit warns on every call made outside a script run; expected here.
    ctx_log = logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context")
    ctx_log.addFilter(_NoCtxWarning())
    try:
        _warm(timings)
    except Exception:  # noqa: BLE001 - defensive: never propagate
        _LOG.warning("préchauffage interrompu", exc_info=True)
    total = sum(t for _, t in timings)
    _LOG.info("préchauffage terminé en %.1f s (%s)", total, ", ".join(f"{n} {t:.2f} s" for n, t in timings))
    return timings


class _NoCtxWarning(logging.Filter):
    """Drop the "missing ScriptRunContext" warnings emitted from the warm-up thread only."""

    def filter(self, record: logging.LogRecord) -> bool:
        return threading.current_thread().name != "observatoire-warmup"


def _warm(timings: list[tuple[str, float]]) -> None:
    import os

    from ui import core, data

    if not os.path.exists(core.db_path()):
        return
    v = core.db_version()
    s = lambda name, fn: _step(name, fn, timings)  # noqa: E731
    s("connexion", lambda: data.relations(v))
    if not data.travel_times_ready():
        return
    m = DEFAULT_MINUTES
    # Couverture (EPCI then communes), filters sidebar, Accueil-like base map
    s("filtres", lambda: (data.modes_available(v), data.sector_list(v)))
    s("contours", lambda: [data.geojson(lv, v) for lv in ("departement", "epci", "commune")])
    for level in ("epci", "commune"):
        s(
            f"indicateurs {level}",
            lambda level=level: data.territory_table(level, Filters(minutes=m), v),
        )
    s("points", lambda: (data.offer_points(Filters(), v), data.school_points(v)))
    s("résumés", lambda: (data.offers_summary(v), data.estimate_counts(v)))
    s("carte folium", _render_map)
    # Mobilité rurale
    s("indicateurs voiture", lambda: data.territory_table("commune", Filters(mode="car", minutes=m), v))
    s("arrêts", lambda: data.stop_coverage(v))
    s("communes desservies", lambda: _served_outlines(v))
    s("plotly", _plotly)
    s("listes", lambda: (data.communes_list(v), data.epci_list(v), data.departements_list(v)))
    s("depuis un lycée", lambda: _from_school(v))
    s("lycées classés", lambda: data.origin_table(Filters(minutes=m, origin_kind="school"), v))
    # Territoire (Caen la Mer)
    s("territoire", lambda: _territory(v))
    s("projets collectifs", lambda: data.collective(v) if data.has("collective_projects") else None)


def _render_map() -> None:
    """Build and render a small folium map once (imports, Jinja templates)."""
    # NB: never import streamlit_folium here: ``declare_component`` registers the component
    # only inside a script run; imported first from this thread, st_folium maps stay blank.
    from ui import mapping

    m = mapping.base_map()
    mapping.layer_control(m)
    m.get_root().render()


def _plotly() -> None:
    """First Plotly Express figure of the process (imports, validators, template: ~1.5 s)."""
    import pandas as pd
    import plotly.express as px

    from ui import charts

    fig = px.bar(
        pd.DataFrame({"x": ["a", "b"], "y": [1, 2], "z": [2, 1]}), x="x", y=["y", "z"], barmode="group", orientation="v"
    )
    # through the pages' own path: its layout template ("plotly_white") loads on first use (~0.2 s)
    charts.figure_html(fig, 200)


def _served_outlines(v: int) -> None:
    """Outlines of the communes with a served stop (Mobilité rurale, section 3)."""
    from ui import data

    cov = data.stop_coverage(v)
    data.geojson("commune", v, tuple(sorted(cov.loc[cov["has_served_stop"], "code"])))


def _from_school(v: int) -> None:
    """Mobilité rurale section 4 default: the largest lycée of Caen, by public transport."""
    from ui import data

    schools = data.school_points(v)
    caen = schools[(schools["commune_code"] == CAEN_COMMUNE) & schools["seconde_pupils"].notna()]
    if not len(caen):
        return
    uai = caen.sort_values("seconde_pupils").iloc[-1]["uai"]
    times = data.times_from_origin("school", uai, config.DEFAULT_MODE, v)
    codes = times.groupby("commune_code").agg(minutes=("minutes", "min")).reset_index()
    data.geojson("commune", v, tuple(codes["commune_code"]))


def _territory(v: int) -> None:
    """Territoire default sheet: Caen la Mer, default view."""
    from ui import data

    epcis, communes = data.epci_list(v), data.communes_list(v)
    if CAEN_LA_MER not in set(epcis["siren"]):
        return
    dep = epcis.loc[epcis["siren"] == CAEN_LA_MER, "dep"].iloc[0]
    f, fs = Filters(), Filters(origin_kind="school")
    data.territory_table("epci", f, v, code=CAEN_LA_MER)
    data.territory_table("departement", f, v, code=dep)
    data.territory_table("region", f, v)
    data.territory_table("epci", fs, v, code=CAEN_LA_MER)
    data.territory_table("departement", fs, v, code=dep)
    data.territory_table("region", fs, v)
    data.territory_table("commune", f, v, within=CAEN_LA_MER)
    area = communes.loc[communes["epci_siren"] == CAEN_LA_MER, "code"].tolist()
    data.geojson("commune", v, tuple(sorted(area)))
    data.origin_table(fs, v)
    data.stops(v)
