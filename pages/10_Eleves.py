"""Élèves: the sheet of a lycée, and the offers each pupil of a class can reach (issue 22).

Thin: widgets and calls to :mod:`ui.pupils` / :mod:`analysis.reach`. The class file is read in
memory and kept in this session only; the URL holds the lycée, the mode and the budget, never
a pupil's data (``docs/privacy.md``).
"""

from __future__ import annotations

import streamlit as st

from analysis import reach
from analysis.report.lycee import MODE_HEADERS, OFFER_HEADERS, summary_lines
from analysis.sanitize import markdown_text
from analysis.text import count
from ui import core, filters, panels, pupils


def lycee_search(k_uai: str, v: int) -> None:
    """The lycée search: a name, commune or UAI code, then « Afficher la fiche »."""
    query = st.text_input(
        "Rechercher un lycée (nom, commune ou code UAI)", key="elv_query", placeholder="ex. Marie Curie Vire"
    )
    found = pupils.search(query, v) if query.strip() else None
    if found is None:
        return
    if found.empty:
        st.info("Aucun lycée ne correspond à cette recherche.")
        return
    labels = {r.uai: f"{r.name} — {r.commune} ({r.uai})" for r in found.itertuples()}
    pick = st.selectbox("Lycées trouvés", list(labels), format_func=labels.get, key="elv_pick")
    if st.button("Afficher la fiche de ce lycée", key="elv_show"):
        st.session_state[k_uai] = pick


def lycee_sheet(uai: str, view, v: int) -> None:
    """The lycée's sheet: summary, offers by mode, offers reachable, files to download."""
    sheet = pupils.sheet(uai, view.filters, v)
    st.subheader(markdown_text(f"{sheet.school['name']} ({uai}), {sheet.school['commune']}"))
    for line in summary_lines(sheet):
        st.markdown(line)
    modes = sheet.modes.copy()
    modes["mode"] = modes["mode"].map(core.mode_label)
    core.html_table(modes.rename(columns=MODE_HEADERS))
    mine = sheet.offers[sheet.offers["mode"] == view.mode].drop(columns=["mode"])
    with core.table_expander(
        f"Les {len(mine)} offres accessibles ({core.mode_label(view.mode, 'lower')})", "elv_lyc_tab"
    ) as show:
        if show:
            st.dataframe(mine.rename(columns=OFFER_HEADERS), hide_index=True)
    cols = st.columns(3)
    for k, fmt in enumerate(("csv", "xlsx", "pdf")):
        content, fname, mime = pupils.sheet_file(uai, view.filters, fmt, v)
        cols[k].download_button(
            f"Fiche du lycée ({fmt.upper()})", content, file_name=fname, mime=mime, key=f"elv_lyc_{fmt}"
        )


def class_file_intro() -> bool:
    """The class file's format, its templates and the geocoding choice; returns the choice."""
    st.header("Offres accessibles par élève")
    st.markdown(
        "Une ligne par élève : `eleve` (pseudonyme choisi par l'établissement, jamais le nom), puis "
        "`longitude` et `latitude`, ou `adresse`, `code_postal` et `commune`, ou `commune` seule (nom ou code "
        "INSEE) ; `mode` et `minutes` facultatifs remplacent les choix de la barre latérale pour cet élève."
    )
    t1, t2 = st.columns(2)
    t1.download_button("Modèle de fichier (CSV)", reach.template_csv(), file_name="modele_classe.csv", mime="text/csv")
    t2.download_button(
        "Modèle de fichier (XLSX)", reach.template_xlsx(), file_name="modele_classe.xlsx", mime=reach.FORMATS["xlsx"]
    )
    return st.checkbox(
        "Géocoder les adresses avec la Base Adresse Nationale (en ligne ; la rue, le code postal et la commune "
        "sont envoyés, jamais le pseudonyme)",
        value=False,
        key="elv_geocode",
    )


def class_result(upload, view, geocode: bool):
    """The class file computed (each pupil's reachable offers); stops the page when unreadable."""
    try:
        with st.spinner("Calcul des trajets…"):
            result = pupils.compute(upload.getvalue(), upload.name, view.mode, view.minutes, geocode)
    except Exception as exc:  # noqa: BLE001 - the file could not be read: said in French
        pupils.forget()
        st.error(markdown_text(f"Fichier illisible : {exc}"))
        st.stop()
    for note in result.notes:
        st.warning(markdown_text(note))
    n_ok = sum(p.origin.ok for p in result.pupils)
    st.markdown(
        f"**{count(n_ok, 'élève placé et calculé', 'élèves placés et calculés')} sur {len(result.pupils)}** ; "
        "les lignes refusées disent pourquoi."
    )
    core.html_table(pupils.summary_table(result), height=420)
    return result


def pupil_map(result, v: int) -> None:
    """The chosen pupil's reachable offers on a map, and their table (its alternative)."""
    choices = [i for i, p in enumerate(result.pupils) if p.origin.ok]
    if not choices:
        return
    i = st.selectbox(
        "Élève affiché sur la carte", choices, format_func=lambda k: result.pupils[k].origin.eleve, key="elv_pupil"
    )
    p = result.pupils[i]
    st.subheader(
        markdown_text(f"Élève {p.origin.eleve} : {count(len(p.offers), 'offre accessible', 'offres accessibles')}")
    )
    m = pupils.pupil_map(p, pupils.offer_points(v))
    pupils.mapping.show(m, key="elv_map", title=f"Carte : offres accessibles par l'élève {p.origin.eleve}")
    panels.table_alternative(
        "Tableau des offres de cet élève (alternative à la carte)",
        "elv_pupil_tab",
        lambda: pupils.pupil_offers_table(p),
        height=None,
    )


def render() -> None:
    """The Élèves page."""
    core.page_setup("Élèves", "🎒")
    st.title("Élèves : les offres à portée de chacun")
    st.markdown(
        "Choisissez un **lycée** pour sa fiche, ou déposez le **fichier d'une classe** (une ligne par élève, "
        "un pseudonyme et le lieu de départ) pour obtenir, pour chaque élève, les offres de stage qu'il peut "
        "atteindre dans le temps choisi. Le fichier est lu en mémoire et n'est jamais enregistré."
    )
    v = core.require_travel_times()
    view = filters.sidebar("elv", offers=False, origin=False)
    k_uai = core.state("elv_uai", core.qp_get("lycee", "", check=pupils.check_uai, shown_default="aucun lycée"))
    st.header("Fiche d'un lycée")
    lycee_search(k_uai, v)
    uai = st.session_state[k_uai]
    core.sync_query({"lycee": uai or None, "mode": view.mode, "minutes": view.minutes})
    if uai:
        lycee_sheet(uai, view, v)
    geocode = class_file_intro()
    upload = core.french_file_uploader("Fichier de la classe", ["csv", "xlsx"], key="elv_file")
    if upload is None:
        pupils.forget()
        st.caption("Aucun fichier déposé. Rien n'est conservé après la fermeture de la page.")
        st.stop()
    result = class_result(upload, view, geocode)
    pupil_map(result, v)
    st.subheader("Télécharger")
    pupils.downloads(result)


render()
