"""Connection, URL query state, formatting and common notices for the pages."""

from __future__ import annotations

import functools
import logging
import os
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import pandas as pd
import streamlit as st

from analysis import catalogue, config
from analysis.outputs.maps import table_html
from analysis.sanitize import markdown_html_text, markdown_text
from analysis.text import MISSING, agree_unit, format_number, format_percent, plural
from ui import data
from ui.database import con, db_path, db_version

#: The time budgets offered by the pages: the budgets precomputed by the build (the same object).
BUDGETS: tuple[int, ...] = config.DEFAULT_BUDGETS_MIN
GRADE_LABELS: dict[str, str] = {"": "Tous niveaux", "seconde": "Seconde", "3e": "Troisième"}
HOST_LABELS: dict[str, str] = {"": "Public et privé", "public": "Public", "prive": "Privé"}
ORIGIN_LABELS: dict[str, str] = {
    "commune": "Communes de résidence (élèves estimés)",
    "school": "Lycées (effectifs réels)",
}
NO_TRAVEL_TIMES = "Temps de trajet non calculés : lancez « python -m analysis.build » pour les calculer."


#: Server log of the pages (errors are written here, never shown to the visitor).
LOG = logging.getLogger("observatoire.pages")
PAGE_ERROR = (
    "Une erreur inattendue empêche d'afficher cette partie de la page. Elle a été "
    "consignée dans le journal du serveur (référence {ref}). Rechargez la page ou "
    "modifiez les filtres ; si le problème persiste, signalez-le avec cette référence."
)


@contextmanager
def guard(where: str) -> Iterator[None]:
    """Run a page body: an unexpected error shows a French message with a reference, and the
    traceback goes to the server log only (never to the browser: no paths, no code).

    ``st.stop`` and reruns pass through (they are not :class:`Exception`).
    """
    try:
        yield
    except Exception:  # noqa: BLE001 - the last resort of every page
        ref = uuid.uuid4().hex[:8]
        LOG.exception("erreur de page « %s » (référence %s)", where, ref)
        st.error(PAGE_ERROR.format(ref=ref), icon="⚠️")


def guarded(func: Callable) -> Callable:
    """:func:`guard` as a decorator, for fragments (their reruns do not go through the page)."""

    @functools.wraps(func)
    def run(*args, **kwargs):
        with guard(getattr(func, "__name__", "fragment")):
            return func(*args, **kwargs)

    return run


def session_alive() -> Callable[[], bool]:
    """A function telling whether the browser session running this page is still open (a
    long check started by a visitor is cancelled when they leave, :mod:`analysis.imports.sandbox`)."""
    from streamlit.runtime import exists, get_instance
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is None or not exists():
        return lambda: True
    runtime, sid = get_instance(), ctx.session_id
    return lambda: runtime.is_active_session(sid)


def client_key() -> str:
    """Who is asking, for the administrator gate's per-client count
    (:func:`analysis.imports.auth.client_key`): the connection's address, or, with
    ``$OBSERVATOIRE_TRUSTED_PROXIES`` set, the address the first trusted proxy saw in
    ``X-Forwarded-For``. A loopback connection (Streamlit gives no address: a browser on the
    server, or a reverse proxy on the same host without that setting) is one client — never a
    new one per browser session."""
    from analysis.imports import auth

    ip = forwarded = None
    try:
        ip = st.context.ip_address
        forwarded = st.context.headers.get("X-Forwarded-For")
    except Exception:  # noqa: BLE001 - bare mode, older servers
        pass
    try:
        proxies = auth.trusted_proxies()
    except auth.WriteDisabled as exc:  # a wrong setting: every client shares one budget
        LOG.warning("%s", exc)
        return "ip:proxy-sans-adresse"
    return auth.client_key(ip, forwarded, proxies)


def page_setup(title: str, icon: str = "🗺️") -> None:
    """Page config, title, and a stop with a French message when the database is missing."""
    try:
        st.set_page_config(page_title=f"{title} — Observatoire des stages", page_icon=icon, layout="wide")
    except st.errors.StreamlitAPIException:
        pass
    from ui import a11y

    a11y.page_chrome()  # lang="fr", skip link, focus, contrast, frames (RGAA)
    if not os.path.exists(db_path()):
        st.title(title)
        st.error(f"Base de données absente : lancez « python -m analysis.build » (fichier attendu : {db_path()}).")
        st.stop()


# --------------------------------------------------------------------------------------------
# URL query state
# --------------------------------------------------------------------------------------------


def _page_key() -> str:
    """Identity of the running page (URL notices are kept per page)."""
    try:
        from streamlit.runtime.scriptrunner import get_script_run_ctx

        ctx = get_script_run_ctx()
        return str(getattr(ctx, "page_script_hash", "") or "page")
    except Exception:  # noqa: BLE001 - bare mode
        return "page"


def _url_values(v: Any) -> list[str]:
    """A view value as the list of strings written to the URL (empty: no parameter)."""
    if v is None or v == "" or (isinstance(v, (list, tuple)) and not v):
        return []
    return [str(x) for x in v] if isinstance(v, (list, tuple)) else [str(v)]


def url_notice(name: str, fallback: Any, message: str) -> None:
    """Record a French notice about the URL parameter ``name`` that could not be used,
    ``fallback`` being the value used instead.

    :func:`sync_query` shows it (``st.warning``) on every run while the view still holds
    that value (the link as opened) and drops it once the user changes it.
    """
    store = st.session_state.setdefault("_url_notices", {}).setdefault(_page_key(), {})
    store[name] = (message, _url_values(fallback))


def _show_url_notices(params: dict[str, Any]) -> None:
    store = st.session_state.get("_url_notices", {}).get(_page_key(), {})
    for name in [n for n in store if n in params]:
        msg, fallback = store[name]
        if _url_values(params[name]) != fallback:
            del store[name]
        else:
            # the message quotes the refused value as typed: shown as text, never as Markdown
            # (a link or an image from the address bar, issue 24)
            st.warning(markdown_text(msg), icon="⚠️")


def _first_reading(name: str, raw: Any) -> bool:
    """True the first time this page reads ``raw`` for parameter ``name`` in the session.

    Only then is a refused value the link as given by the user: later, the same value can be
    refused by another widget state (a code of the previous level after a change of level),
    which is not a link to warn about.
    """
    seen = st.session_state.setdefault("_url_seen", {}).setdefault(_page_key(), set())
    key = (name, tuple(raw) if isinstance(raw, list) else raw)
    if key in seen:
        return False
    seen.add(key)
    return True


def _shown(value: Any) -> str:
    if value is None or value == "" or value == []:
        return "aucune"
    return str(value)


#: Marker of :func:`qp_get`'s ``url_default`` left unset (the default is written as itself).
SAME_AS_DEFAULT = object()


def qp_get(
    name: str,
    default: Any,
    options: Sequence[Any] | Mapping[Any, str] | None = None,
    cast: Callable[[str], Any] = str,
    check: Callable[[str], Any] | None = None,
    shown_default: str | None = None,
    url_default: Any = SAME_AS_DEFAULT,
) -> Any:
    """Value of query parameter ``name``: ``check(raw)`` (a function of
    :mod:`analysis.validate_args`), else cast and checked against ``options`` (a mapping value ->
    French label names the values by their labels in the refusal notice).

    ``url_default`` is how the view writes ``default`` back to the URL when that differs
    (``None``: a default the view leaves out of the link), so the notice stays while the view
    holds the default.

    A value that is refused gives a visible French notice (:func:`url_notice`) and the
    default, never a silent fallback (the first time the page reads that value: see
    :func:`_first_reading`).
    """
    from analysis import validate_args as va

    raw = st.query_params.get(name)
    if raw is None:
        return default
    first = _first_reading(name, raw)
    try:
        if check is not None:
            value = check(raw)
        else:
            try:
                value = cast(raw)
            except (TypeError, ValueError):
                raise va.ArgumentError(f"valeur « {raw} » invalide") from None
            if options is not None and value not in options:
                value = cast(va.check_choice(raw, _choices(options), f"le paramètre « {name} »"))
    except va.ArgumentError as exc:
        if not first:
            return default
        url_notice(
            name,
            default if url_default is SAME_AS_DEFAULT else url_default,
            f"Lien de la page : paramètre « {name}={raw} » ignoré. {exc}. "
            "Valeur par défaut utilisée : "
            f"{shown_default or _shown(default)}.",
        )
        return default
    return value


def _choices(options: Sequence[Any] | Mapping[Any, Any]) -> list[str] | dict[str, str]:
    """The choices of a URL parameter as :func:`analysis.validate_args.check_choice` takes them:
    a mapping value -> French label (its refusal message then names each value with its label,
    never a bare code such as ``share_no_offer``), else the values as text."""
    if isinstance(options, Mapping):
        return {str(k): str(v) for k, v in options.items()}
    return [str(o) for o in options]


def qp_get_list(
    name: str, options: Sequence[str] | Mapping[str, str] | None = None, check: Callable[[str], Any] | None = None
) -> list[str]:
    """All values of a repeated query parameter, each checked (``check``, else a choice among
    ``options``); the refused ones are dropped with a visible notice."""
    from analysis import validate_args as va

    kept, refused = [], []
    raws = st.query_params.get_all(name)
    first = _first_reading(name, raws)
    for raw in raws:
        try:
            if check is not None:
                value = check(raw)
            elif options is not None:
                value = va.check_choice(raw, _choices(options), f"le paramètre « {name} »")
            else:
                value = raw
        except va.ArgumentError as exc:
            refused.append(str(exc))
            continue
        if value not in kept:
            kept.append(value)
    if refused and first:
        url_notice(name, kept, f"Lien de la page : paramètre « {name} » en partie ignoré. " + " ; ".join(refused) + ".")
    return kept


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
    values (None, "", []) remove the key so links stay short. The notices about refused URL
    values (:func:`url_notice`) are shown here, while the view still holds the default used.
    """
    for k, v in params.items():
        if v is None or v == "" or (isinstance(v, (list, tuple)) and not v):
            if k in st.query_params:
                del st.query_params[k]
            continue
        wanted = [str(x) for x in v] if isinstance(v, (list, tuple)) else [str(v)]
        if st.query_params.get_all(k) != wanted:
            st.query_params[k] = wanted if isinstance(v, (list, tuple)) else wanted[0]
    _show_url_notices(params)


# --------------------------------------------------------------------------------------------
# formatting and notices
# --------------------------------------------------------------------------------------------


def fnum(value: Any, decimals: int = 0, unit: str = "") -> str:
    """French formatted number with its unit ("36 780 élèves"; :func:`analysis.text.format_number`,
    the unit agreeing with the number: "1 départ", "2 départs")."""
    text = format_number(value, decimals)
    if text == MISSING:
        return MISSING
    return f"{text} {agree_unit(float(value), unit)}".strip()


#: Shown for a lycée without a declared seconde headcount (never 0, never an empty cell).
NOT_DECLARED = "non déclaré"


def declared(values: Any) -> list[str]:
    """Declared headcounts as whole French numbers, « non déclaré » when missing (one wording
    on every page)."""
    return [NOT_DECLARED if pd.isna(v) else fnum(v, 0) for v in values]


def fpct(value: Any, decimals: int = 0) -> str:
    """A share 0–1 as a French percentage ("12,5 %"; :func:`analysis.text.format_percent`)."""
    return format_percent(value, decimals)


def french_file_uploader(label: str, types: Sequence[str], key: str, help: str | None = None):
    """``st.file_uploader`` with its English strings replaced by French ones.

    Streamlit writes « Upload » on the button and « 200MB per file • CSV… » in the drop zone,
    with no option to change them: a style sheet hides these two texts (``display: none``, so
    screen readers skip them too) and writes « Parcourir » and « Glisser-déposer un fichier ici
    ou parcourir · 200 Mo au plus par fichier · CSV, TXT, XLSX » in their place (CSS
    generated content, read by screen readers). The limit is the server's
    ``server.maxUploadSize``.
    """
    try:
        max_mb = int(st.get_option("server.maxUploadSize"))
    except Exception:  # noqa: BLE001 - option unavailable: Streamlit's default
        max_mb = 200
    kinds = ", ".join(t.upper() for t in types)
    info = f"Glisser-déposer un fichier ici ou parcourir · {max_mb} Mo au plus par fichier · {kinds}"
    st.markdown(
        "<style>"
        '[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"] > p'
        "{display:none}"
        '[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"]::after'
        '{content:"Parcourir"}'
        '[data-testid="stFileUploaderDropzoneInstructions"] > div > span{display:none}'
        '[data-testid="stFileUploaderDropzoneInstructions"] > div::after'
        f'{{content:"{info}";font-size:0.875rem}}'
        "</style>",
        unsafe_allow_html=True,
    )
    return st.file_uploader(
        label,
        type=list(types),
        key=key,
        help=help or f"Fichier {kinds} de {max_mb} Mo au plus : cliquez sur « Parcourir » ou déposez-le dans le cadre.",
    )


def estimated_times_note(mode: str, counts: dict[str, int]) -> str:
    """« 5 011 temps à pied estimés à vol d'oiseau … »: the straight-line estimates a mode uses,
    counted under the mode that holds them in ``travel_times`` (as on the Données page: the
    transit mode uses the walking times, so they are named walking times)."""
    info = catalogue.Mode(mode).info
    parts = []
    for m in [mode] + ([info.falls_back_to] if info.falls_back_to else []):
        n = int(counts.get(m, 0))
        if n:
            parts.append(f"{fnum(n)} temps {mode_label(m, 'phrase')} {plural(n, 'estimé')}")
    if not parts:
        return ""
    note = " et ".join(parts) + " à vol d'oiseau (pas de réseau à proximité)"
    if info.falls_back_to and counts.get(info.falls_back_to, 0):
        note += f", utilisés par « {mode_label(mode, 'lower')} » quand la marche est plus rapide"
    return note


def estimate_badge(text: str) -> None:
    """A visible "estimation" flag next to a figure or map; ``text`` is plain text (it may quote
    names from the data: shown as typed, :func:`analysis.sanitize.markdown_html_text`)."""
    st.markdown(
        f'<span style="background:#fff3cd;border:1px solid #d4a72c;border-radius:4px;'
        f'padding:1px 6px;font-size:0.85em">⚠️ Estimation</span> '
        f'<span style="font-size:0.9em">{markdown_html_text(text)}</span>',
        unsafe_allow_html=True,
    )


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
    """A short table as plain HTML (:func:`analysis.outputs.maps.table_html`), in a scroll box
    ``height`` pixels high if given.

    For tables visible as soon as a page opens: the interactive grid of ``st.dataframe`` loads
    ~1.3 MB of JavaScript on a first visit (about 0.5 s of a cold open, measured with
    ``bench/browser.py``); it stays available for long tables, in :func:`table_expander`.
    """
    wide = len(df.columns) > 8  # many columns: smaller type and padding, so that all fit at 1,400 px
    style = ("font-size:0.8rem;" if wide else "font-size:0.92rem;") + (
        f"max-height:{int(height)}px;overflow:auto" if height else "overflow-x:auto"
    )
    st.markdown(
        TABLE_CSS + f'<div class="obs-table-box{" obs-wide" if wide else ""}" lang="fr" style="{style}">'
        f"{table_html(df, max_rows)}</div>",
        unsafe_allow_html=True,
    )


#: Cells of the wide HTML tables: narrower padding and words hyphenated in French where the
#: browser can, so that the last column stays in view at 1,400 px.
TABLE_CSS = (
    "<style>.obs-table-box.obs-wide th,.obs-table-box.obs-wide td{padding:4px 4px;hyphens:auto;"
    "overflow-wrap:break-word}.obs-table-box.obs-wide th{vertical-align:bottom}</style>"
)


def require_travel_times() -> int:
    """The database version (:func:`db_version`); when the travel times are missing, show the
    French message and stop the page there."""
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


def networks() -> tuple[str, ...]:
    """Public-transport networks loaded in the database (« TER » offline)."""
    from ui import data  # ui.data imports this module

    try:
        return data.transit_networks(db_version())
    except Exception:  # noqa: BLE001 - no database yet: no network claimed
        return ()


def mode_label(mode: str, form: str = "label") -> str:
    """French label of a mode naming the loaded networks (:func:`analysis.catalogue.mode_label`):
    ``form`` ``'label'`` (« Transports en commun (TER seulement) + marche »), ``'phrase'``
    (« en transports en commun (TER seulement) ou à pied ») or ``'short'``."""
    return catalogue.mode_label(mode, networks(), form)


def indicator_label(key: str, mode: str | None = None, short: bool = False) -> str:
    """French label of a catalogue indicator, with the loaded networks and the mode."""
    ind = catalogue.indicator(key)
    return ind.short_text(networks(), mode) if short else ind.text(networks(), mode)


def indicator_column(name: str, mode: str) -> str:
    """Column of ``territory_indicators`` holding indicator ``name`` for ``mode``."""
    return catalogue.indicator(name).column(mode)


def csv_bytes(df) -> bytes:
    """CSV for French Excel: UTF-8 with BOM, ';' separator, decimal comma, text cells
    neutralised against formulas (:func:`analysis.outputs.export.csv_bytes`, the one CSV writer)."""
    from analysis.outputs import export

    return export.csv_bytes(df)


def report_downloads(level: str, code: str, filters, fallback_df, fallback_name: str, key: str) -> None:
    """Download buttons: a CSV of the displayed table (``fallback_df``) and the reports of
    ``analysis.report`` (CSV, XLSX, PDF), each built on demand."""
    from analysis import report  # loaded on demand: fpdf and openpyxl are only needed here

    cols = st.columns(4)
    cols[0].download_button(
        "Télécharger le tableau (CSV)",
        csv_bytes(fallback_df),
        file_name=fallback_name,
        mime="text/csv",
        key=f"{key}_csv_table",
    )
    for k, fmt in enumerate(("csv", "xlsx", "pdf"), start=1):
        label = {"csv": "Rapport CSV", "xlsx": "Rapport XLSX", "pdf": "Portrait PDF"}[fmt]
        gen = f"{key}_gen_{fmt}"
        store = f"{key}_{fmt}_{level}_{code}_{abs(hash(filters))}"
        if cols[k].button(f"Préparer : {label}", key=gen):
            try:
                content, fname, mime = report.build_report(con(), level, code, fmt, filters)
                st.session_state[store] = (content, fname, mime)
            except Exception as exc:  # noqa: BLE001 - shown to the user
                cols[k].error(f"Rapport impossible : {exc}")
        if store in st.session_state:
            content, fname, mime = st.session_state[store]
            cols[k].download_button(f"Télécharger {label}", content, file_name=fname, mime=mime, key=f"{key}_dl_{fmt}")


def page_link(
    page: str, label: str, *, query_params: dict[str, str] | None = None, icon: str | None = None, where: Any = None
) -> None:
    """``st.page_link`` to another page of the app, or a plain link to its URL when the page is
    run on its own (tests, ``streamlit run pages/x.py``) and the navigation does not know it."""
    target = where if where is not None else st
    try:
        target.page_link(page, label=label, icon=icon, query_params=query_params)
    except st.errors.StreamlitAPIException:
        from urllib.parse import urlencode

        stem = page.rsplit("/", 1)[-1].removesuffix(".py").split("_", 1)[-1]  # the app's url_path
        url = "/" + stem.lower() + ("?" + urlencode(query_params) if query_params else "")
        target.markdown(f"[{label}]({url})")
