"""Connection, URL query state, formatting and common notices for the pages."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import streamlit as st

from analysis import config
from analysis.db import ReaderCache
from analysis.maps import format_number, table_html

MODE_LABELS: dict[str, str] = {
    "transit": "Transports en commun + marche",
    "car": "Voiture",
    "bike": "Vélo",
    "walk": "Marche",
}
BUDGETS: tuple[int, ...] = (15, 30, 45, 60)
GRADE_LABELS: dict[str, str] = {"": "Tous niveaux", "seconde": "Seconde", "3e": "Troisième"}
HOST_LABELS: dict[str, str] = {"": "Public et privé", "public": "Public", "prive": "Privé"}
ORIGIN_LABELS: dict[str, str] = {
    "commune": "Communes de résidence (élèves estimés)",
    "school": "Lycées (effectifs réels)",
}
NO_TRAVEL_TIMES = ("Temps de trajet non calculés : lancez « python -m analysis.build » "
                   "pour les calculer.")


def db_path() -> str:
    """The database file the app reads (``$OBSERVATOIRE_DB`` or ``data/observatoire.duckdb``)."""
    return str(config.default_db_path())


@st.cache_resource(show_spinner=False)
def _reader(path: str) -> ReaderCache:
    return ReaderCache(path)


def con():
    """A read-only cursor on the current database (one cached connection, follows swaps)."""
    return _reader(db_path()).get()


def db_version() -> int:
    """Modification stamp of the database file, passed to cached functions so that a rebuild
    (atomic swap) invalidates them."""
    try:
        st_ = os.stat(db_path())
        return int(st_.st_mtime_ns) ^ int(st_.st_ino)
    except OSError:
        return 0


def page_setup(title: str, icon: str = "🗺️") -> None:
    """Page config, title, and a stop with a French message when the database is missing."""
    try:
        st.set_page_config(page_title=f"{title} — Observatoire des stages", page_icon=icon,
                           layout="wide")
    except st.errors.StreamlitAPIException:
        pass
    from ui import a11y

    a11y.page_chrome()  # lang="fr", skip link, focus, contrast, frames (RGAA)
    if not os.path.exists(db_path()):
        st.title(title)
        st.error("Base de données absente : lancez « python -m analysis.build » "
                 f"(fichier attendu : {db_path()}).")
        st.stop()


# --------------------------------------------------------------------------------------------
# URL query state
# --------------------------------------------------------------------------------------------

def qp_get(name: str, default: Any, options: Sequence[Any] | None = None,
           cast: Callable[[str], Any] = str) -> Any:
    """Value of query parameter ``name`` cast and checked against ``options`` (else default)."""
    raw = st.query_params.get(name)
    if raw is None:
        return default
    try:
        value = cast(raw)
    except (TypeError, ValueError):
        return default
    if options is not None and value not in options:
        return default
    return value


def qp_get_list(name: str, options: Sequence[str] | None = None) -> list[str]:
    """All values of a repeated query parameter (kept only when in ``options``)."""
    values = st.query_params.get_all(name)
    return [v for v in values if options is None or v in options]


def state(key: str, initial: Any) -> str:
    """Initialise ``st.session_state[key]`` once (from the URL) and return the key.

    Widgets then use ``key=...`` without a default value, so the URL only seeds the first
    render and user changes are kept across reruns.
    """
    if key not in st.session_state:
        st.session_state[key] = initial
    return key


def sync_query(params: dict[str, Any]) -> None:
    """Write view state to the URL query string (lists become repeated parameters).

    Only the given keys are touched (a fragment can update its own part of the view); empty
    values (None, "", []) remove the key so links stay short.
    """
    for k, v in params.items():
        if v is None or v == "" or (isinstance(v, (list, tuple)) and not v):
            if k in st.query_params:
                del st.query_params[k]
            continue
        wanted = [str(x) for x in v] if isinstance(v, (list, tuple)) else [str(v)]
        if st.query_params.get_all(k) != wanted:
            st.query_params[k] = wanted if isinstance(v, (list, tuple)) else wanted[0]


# --------------------------------------------------------------------------------------------
# formatting and notices
# --------------------------------------------------------------------------------------------

def fnum(value: Any, decimals: int = 0, unit: str = "") -> str:
    """French formatted number with its unit ("36 780 élèves")."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return "—"
    text = format_number(v, decimals)
    return f"{text} {unit}".strip() if text != "—" else "—"


def fpct(value: Any, decimals: int = 0) -> str:
    """A share 0–1 as a French percentage ("12,5 %")."""
    try:
        v = float(value) * 100
    except (TypeError, ValueError):
        return "—"
    text = format_number(v, decimals)
    return f"{text} %" if text != "—" else "—"


def estimate_badge(text: str) -> None:
    """A visible "estimation" flag next to a figure or map."""
    st.markdown(
        f'<span style="background:#fff3cd;border:1px solid #d4a72c;border-radius:4px;'
        f'padding:1px 6px;font-size:0.85em">⚠️ Estimation</span> '
        f'<span style="font-size:0.9em">{text}</span>',
        unsafe_allow_html=True)


@contextmanager
def table_expander(label: str, key: str) -> Iterator[bool]:
    """An expander for a map's table alternative, yielding True when it is open.

    The table is built only once the expander is opened (the page, or the fragment it is in,
    re-runs then): a collapsed expander's content is still sent to and laid out by the
    browser, which slowed the first display of pages with several large tables.
    """
    with st.expander(label, key=key, on_change="rerun"):
        yield bool(st.session_state.get(key))


def html_table(df, max_rows: int | None = None, height: int | None = None) -> None:
    """A short table as plain HTML (:func:`analysis.maps.table_html`), in a scroll box
    ``height`` pixels high if given.

    For tables visible as soon as a page opens: the interactive grid of ``st.dataframe`` loads
    ~1.3 MB of JavaScript on a first visit (about 0.5 s of a cold open, measured with
    ``bench/browser.py``); it stays available for long tables, in :func:`table_expander`.
    """
    style = "font-size:0.92rem;" + (f"max-height:{int(height)}px;overflow:auto" if height else "overflow-x:auto")
    st.markdown(f'<div class="obs-table-box" style="{style}">{table_html(df, max_rows)}</div>',
                unsafe_allow_html=True)


def require_travel_times() -> int:
    """The database version (:func:`db_version`); when the travel times are missing, show the
    French message and stop the page there."""
    from ui import data  # ui.data imports this module

    if not data.travel_times_ready():
        no_travel_times()
        st.stop()
    return db_version()


def no_travel_times() -> None:
    """The clear French message shown instead of indicators when travel times are missing."""
    st.warning(NO_TRAVEL_TIMES, icon="⏱️")


def footer_sources(names: Sequence[str] = ()) -> None:
    """A one-line reminder of where the data comes from."""
    st.caption("Sources et millésimes : page « Données ». " + " ".join(names))


#: Map indicators: column -> (French label, unit, display scale, decimals, palette, higher_is_worse).
#: ``median_minutes`` is resolved to ``median_minutes_<mode>``.
INDICATORS: dict[str, tuple[str, str, float, int, str, bool]] = {
    "share_no_offer": ("Part des élèves sans offre accessible", "%", 100.0, 1, "YlOrRd", True),
    "offers_reachable_mean": ("Offres accessibles par élève (moyenne)", "offres", 1.0, 0,
                              "YlGnBu", False),
    "places_per_pupil_2sfca": ("Places par élève à portée, avec concurrence (2SFCA)",
                               "places/élève", 1.0, 3, "YlGnBu", False),
    "offers_per_100_pupils": ("Offres situées pour 100 élèves", "offres/100 élèves", 1.0, 1,
                              "YlGnBu", False),
    "median_minutes": ("Temps médian jusqu'à l'offre la plus proche", "min", 1.0, 0, "YlOrRd",
                       True),
    "share_no_offer_transit": ("Part des élèves sans offre en transports (ou à pied)", "%", 100.0,
                               1, "YlOrRd", True),
}


def indicator_column(name: str, mode: str) -> str:
    """Column of ``territory_indicators`` holding indicator ``name`` for ``mode``."""
    return f"median_minutes_{mode}" if name == "median_minutes" else name


def csv_bytes(df) -> bytes:
    """CSV for French Excel: UTF-8 with BOM, ';' separator, decimal comma."""
    return df.to_csv(index=False, sep=";", decimal=",").encode("utf-8-sig")


def report_downloads(level: str, code: str, filters, fallback_df, fallback_name: str,
                     key: str) -> None:
    """Download buttons: the reports of ``analysis.report`` when available (CSV, XLSX, PDF),
    else a CSV of the displayed table (``fallback_df``)."""
    try:
        from analysis import report  # owned by the reports engineer (issue 6)

        build = getattr(report, "build_report", None)
    except Exception:  # noqa: BLE001 - module absent or broken: fall back to the table
        build = None
    cols = st.columns(4)
    cols[0].download_button("Télécharger le tableau (CSV)", csv_bytes(fallback_df),
                            file_name=fallback_name, mime="text/csv", key=f"{key}_csv_table")
    if build is None:
        return
    for k, fmt in enumerate(("csv", "xlsx", "pdf"), start=1):
        label = {"csv": "Rapport CSV", "xlsx": "Rapport XLSX", "pdf": "Portrait PDF"}[fmt]
        gen = f"{key}_gen_{fmt}"
        store = f"{key}_{fmt}_{level}_{code}_{abs(hash(filters))}"
        if cols[k].button(f"Préparer : {label}", key=gen):
            try:
                content, fname, mime = build(con(), level, code, fmt, filters)
                st.session_state[store] = (content, fname, mime)
            except Exception as exc:  # noqa: BLE001 - shown to the user
                cols[k].error(f"Rapport impossible : {exc}")
        if store in st.session_state:
            content, fname, mime = st.session_state[store]
            cols[k].download_button(f"Télécharger {label}", content, file_name=fname, mime=mime,
                                    key=f"{key}_dl_{fmt}")
