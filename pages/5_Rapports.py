"""Rapports: build any gap report (CSV, XLSX or PDF portrait) and download it (issue 6).

The table shown on screen and the files come from the same function
(:func:`analysis.report.report_table` / :func:`analysis.report.collect`), so the figures are
those of ``analysis.access`` for the same filters.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analysis import access, config, report, text, validate_args
from analysis.sanitize import markdown_text
from ui import core, data, filters

LEVELS = {"region": "Région", "departement": "Département", "epci": "EPCI", "commune": "Commune"}
# (key, format, CSV rows, label)
FILES = (
    ("csv", "csv", "territoires", "CSV par territoire"),
    ("csv_origines", "csv", "origines", "CSV par origine"),
    ("xlsx", "xlsx", "territoires", "Classeur XLSX"),
    ("pdf", "pdf", "territoires", "Portrait PDF"),
)


def level_options(level: str, v: int) -> dict[str, str]:
    """The territories of a level: code -> French label."""
    if level == "region":
        return {config.REGION_CODE: config.REGION_NAME}
    elif level == "departement":
        deps = data.departements_list(v)
        return {r.code: f"{r.name} ({r.code})" for r in deps.itertuples()}
    elif level == "epci":
        ep = data.epci_list(v)
        return {r.siren: f"{r.name} ({r.siren})" for r in ep.itertuples()}
    else:
        com = data.communes_list(v)
        return {r.code: f"{r.name} ({r.code})" for r in com.itertuples()}


def choose_territory(v: int) -> tuple[str, str]:
    """The report's level and territory (URL-backed): (level, code)."""
    c1, c2 = st.columns([1, 2])
    k_level = core.state("rep_level", core.qp_get("echelle", "epci", LEVELS))
    c1.radio("Échelle du rapport", list(LEVELS), key=k_level, format_func=LEVELS.get, horizontal=True)
    level = st.session_state[k_level]
    options = level_options(level, v)
    codes = list(options)
    first = codes[0]
    if level == "epci":  # open on an EPCI wholly in Normandie (the first one, CA du Pays de Dreux, is 9 % in it)
        whole = set(data.epci_region_share(v).query("share_in_region >= 1")["code"])
        first = min((c for c in codes if c in whole), key=lambda c: options[c].casefold(), default=first)
    k_code = f"rep_code_{level}"
    default_code = core.qp_get(
        "code",
        first,
        check=lambda r: validate_args.check_territory(r, level, {level: options})[1],
        shown_default=options[first],
    )
    core.state(k_code, default_code)
    if st.session_state[k_code] not in options:
        st.session_state[k_code] = first
    c2.selectbox("Territoire (tapez un nom pour chercher)", codes, key=k_code, format_func=options.get)
    return level, st.session_state[k_code]


@st.cache_data(show_spinner=False, max_entries=64)
def _table(level: str, code: str, filters: access.Filters, version: int) -> pd.DataFrame:
    """The report's rows (cached per database version)."""
    return report.report_table(core.con(), level, code, filters)


def key_figures(table: pd.DataFrame, filt, view) -> None:
    """« Chiffres clés »: the territory beside its references, and « En bref »."""
    main = table.iloc[0]
    # key figures beside the references (same rows as the files)
    keys = table[table["role"].isin([report.ROLE_TERRITORY, report.ROLE_REFERENCE])]
    kcols = report.key_figure_columns(filt)
    nets = core.networks()
    est = " (estimés)" if view.origin_kind == "commune" else " (déclarés)"
    shown = pd.DataFrame(
        {
            "Indicateur": [
                c.label_for(nets)
                + (est if c.key in ("pupils", "pupils_no_offer") else "")
                + (f" ({c.unit})" if c.unit and c.unit != "%" else "")
                for c in kcols
            ],
            **{
                str(r["name"]): [
                    report.format_value(report.display_value(c.key, r[c.key], nets), c.kind) for c in kcols
                ]
                for _, r in keys.iterrows()
            },
        }
    )
    st.markdown("**Chiffres clés** (le territoire, puis ses territoires de référence)")
    # an HTML table: long labels wrap (« … ou à pied (min) » was cut in the data grid at 1,400 px)
    core.html_table(shown)
    ref_text = " et ".join(
        f"{report.format_value(r['share_no_offer'], 'pct')} "
        f"{text.in_territory(str(r['name']), str(r['level']), str(r['code']))}"
        for _, r in keys.iloc[1:].iterrows()
    )
    st.markdown(
        f"**En bref :** {report.format_value(main['share_no_offer'], 'pct')} des élèves "
        f"{text.of_territory(str(main['name']), str(main['level']), str(main['code']))} n'ont aucune "
        f"offre accessible {report.mode_phrase(view.mode, nets)} en "
        f"{view.minutes} min" + (f" (contre {ref_text})" if ref_text else "") + "."
    )


def components(table: pd.DataFrame) -> None:
    """The territories it is made of (as in the CSV), in an expander."""
    nets = core.networks()
    comp = table[table["role"] == report.ROLE_COMPONENT]
    if not comp.empty:
        with st.expander(f"Territoires qui le composent ({len(comp)} lignes, comme dans le CSV)"):
            tcols = report.table_columns()
            shown_comp = pd.DataFrame(
                {  # whole pupils (« dec0 »), French codes, as in the XLSX
                    c.header_for(nets): (
                        comp[c.key].round(0)
                        if c.kind == "dec0"
                        else comp[c.key].map(lambda x, k=c.key: report.display_value(k, x, nets))
                    )
                    for c in tcols
                }
            )
            st.dataframe(shown_comp, hide_index=True, width="stretch")


def downloads(level: str, code: str, filt, view, v: int) -> None:
    """« Télécharger »: each file prepared on demand, then offered for download."""
    st.header("Télécharger")
    cols = st.columns(4)
    fkey = (level, code, view.mode, view.minutes, view.sectors, view.grade, view.host, view.origin_kind, v)
    for col, (key, fmt, rows, label) in zip(cols, FILES):
        store = f"rep_file_{key}"
        if col.button(f"Préparer : {label}", key=f"rep_make_{key}", width="stretch"):
            try:
                with st.spinner(f"Production du fichier {fmt.upper()}…"):
                    content, fname, mime = report.build_report(core.con(), level, code, fmt, filt, rows=rows)
                st.session_state[store] = (fkey, content, fname, mime)
            except report.ReportError as exc:
                col.error(str(exc))
        got = st.session_state.get(store)
        if got is not None and got[0] == fkey:
            _k, content, fname, mime = got
            col.download_button(
                f"Télécharger ({fmt.upper()})",
                content,
                file_name=fname,
                mime=mime,
                key=f"rep_dl_{key}",
                width="stretch",
                type="primary",
            )
            col.caption(f"{fname} · {len(content) / 1024:,.0f} Kio".replace(",", " "))


def render() -> None:
    """The Rapports page."""
    core.page_setup("Rapports", "📄")
    st.title("Rapports d'écarts à télécharger")
    st.markdown(
        "Choisissez un territoire et les filtres (barre latérale), vérifiez les chiffres ci-dessous "
        "puis téléchargez le rapport : **CSV** (tableau pour Excel, séparateur « ; », virgule "
        "décimale ; une ligne par territoire ou par origine), **XLSX** (classeur : synthèse, "
        "territoires, lycées, offres par secteur, élèves sans offre, projets collectifs, origines, "
        "sources) ou **portrait PDF** (A4, carte, tableaux, "
        "définitions et sources, lisible imprimé en noir et blanc). Colonnes : `docs/reports.md`."
    )
    v = core.require_travel_times()
    view = filters.sidebar("rep")
    level, code = choose_territory(v)
    core.sync_query({**view.query(), "echelle": level, "code": code})
    filt = view.filters
    try:
        with st.spinner("Calcul des indicateurs…"):
            table = _table(level, code, filt, v)
    except report.ReportError as exc:
        st.error(str(exc))
        st.stop()
    main = table.iloc[0]
    st.header(f"{LEVELS[level]} : {markdown_text(main['name'])}")  # a name: shown as typed
    st.caption(f"Filtres : {view.describe()} · origines : {core.ORIGIN_LABELS[view.origin_kind].lower()}")
    if view.origin_kind == "commune":
        core.estimate_badge(
            "élèves par commune de résidence estimés au prorata de la population ; "
            "offres placées à la mairie de leur commune ; 1 place par offre "
            "(capacité inconnue)."
        )
    key_figures(table, filt, view)
    components(table)
    downloads(level, code, filt, view, v)
    core.footer_sources()


render()
