"""Planification : where to launch the next collective internships, and one programme (issue 14).

Widgets and rendering only: the choices become a request of :mod:`ui.planning`, which also
holds the texts, tables and map shown; the planning itself is :mod:`analysis.planning`.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analysis import catalogue
from analysis.planning import demand as dm
from analysis.planning import export
from analysis.planning import programme as pg
from analysis.planning import sites as st_sites
from analysis.sanitize import markdown_text
from analysis.text import count as count_of
from analysis.text import end_sentence
from ui import core, filters, mapping
from ui import planning as up

VIEWS = {"sites": "Où lancer les prochains stages collectifs ?", "programme": "Concevoir un stage collectif"}
MEASURES, ORIGINS, REACH = up.MEASURES, up.ORIGINS, up.REACH
MODES = list(catalogue.DISPLAY_ORDER)
#: Largest minimum of known host structures near a site offered on the page.
HOSTS_MAX = 20
#: Radii around a programme's site (minutes).
RADII = [10, 15, 20, 30, 45]
#: At most this many candidate structures in a programme.
MAX_STRUCTURES = 12
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# --------------------------------------------------------------------------- « Où lancer les prochains stages ? »


def sites_sidebar() -> up.SitesRequest:
    """The sidebar of the sites view; its widgets are seeded from the URL."""
    sb = st.sidebar
    sb.header("Où lancer les prochains projets")
    mode = filters.mode_choice("plan_mode", MODES, label="Mode de déplacement des élèves")
    minutes = filters.budget_choice("plan_minutes")
    k_org = core.state("plan_origin", core.qp_get("origine", "school", ORIGINS))
    sb.radio("Élèves comptés", list(ORIGINS), key=k_org, format_func=ORIGINS.get)
    k_mes = core.state("plan_measure", core.qp_get("mesure", "unserved", MEASURES))
    sb.radio("Demande à couvrir", list(MEASURES), key=k_mes, format_func=MEASURES.get)
    k_tgt = core.state("plan_target", core.qp_get("cible", 1.0, None, float))
    if st.session_state[k_mes] == "shortfall":
        sb.number_input("Cible : places par élève", min_value=0.05, max_value=5.0, step=0.05, key=k_tgt)
    k_k = core.state("plan_k", core.qp_get("k", 5, list(range(1, 11)), int))
    sb.slider("Nombre de nouveaux sites (K)", 1, st_sites.MAX_SITES, key=k_k)
    k_hosts = core.state(
        "plan_hosts", core.qp_get("structures", st_sites.DEFAULT_MIN_HOSTS, list(range(0, HOSTS_MAX + 1)), int)
    )
    sb.number_input(
        f"Structures d'accueil connues à moins de {st_sites.DESCRIBE_REACH[1]:g} min d'un site (minimum)",
        0,
        HOSTS_MAX,
        key=k_hosts,
        help="Offres de la plateforme à moins de 30 min du site en transports en commun ou à pied : un stage "
        "collectif a besoin de structures d'accueil proches. 0 : tous les sites candidats.",
    )
    k_inc = core.state("plan_incl", core.qp_get("existants", "exclus", ["exclus", "inclus"]) == "inclus")
    sb.checkbox("Compter aussi les élèves déjà couverts par les projets existants", key=k_inc)
    sb.caption("Le lien de la page (barre d'adresse) conserve ces choix.")
    s = st.session_state
    return up.SitesRequest(
        mode=mode,
        minutes=minutes,
        origin=s[k_org],
        measure=s[k_mes],
        target=float(s[k_tgt]),
        k=int(s[k_k]),
        include_existing=bool(s[k_inc]),
        min_hosts=int(s[k_hosts]),
    )


def sites_summary(res: dict, request: up.SitesRequest) -> None:
    """« En bref », the reasons for fewer sites than asked, and the caveats of the origin and mode."""
    st.markdown(up.sites_summary(res, request))
    for note in res["notes"]:  # why fewer sites than asked
        st.warning(note, icon="ℹ️")
    if request.origin == "commune":
        core.estimate_badge("élèves par commune de résidence estimés (total régional réparti selon la population).")
    if request.mode == "transit":
        st.caption(catalogue.transit_caveat(core.networks()) + " Les manques sont donc surestimés hors des gares.")


def sites_table(res: dict) -> None:
    """The ranked sites (text alternative of the map), their downloads and links to their programme."""
    sites = res["sites"]
    st.header("Sites proposés (classés) — alternative textuelle de la carte")
    table = export.sites_table(sites)
    core.html_table(up.shown_sites(table))
    c1, c2 = st.columns(2)
    c1.download_button(
        "Télécharger les sites (CSV)", core.csv_bytes(table), file_name="sites_stages_collectifs.csv", mime="text/csv"
    )
    c2.download_button(
        "Télécharger les sites et les projets existants (XLSX)",
        export.sites_xlsx(sites, res["projects"], res["unit"], res["notes"]),
        file_name="sites_stages_collectifs.xlsx",
        mime=XLSX_MIME,
    )
    st.markdown("**Concevoir le programme d'un site proposé :**")
    cols = st.columns(min(len(sites), 5) or 1)
    for i, r in enumerate(sites.itertuples()):
        core.page_link(
            "pages/8_Planification.py",
            where=cols[i % len(cols)],
            label=f"n° {r.rank} : {r.commune_name}",
            icon=":material/event_note:",
            query_params={"vue": "programme", "commune": r.commune_code},
        )
    greedy = up.greedy_comparison(res)
    if greedy is not None:
        with st.expander("Solution gloutonne (comparaison)"):
            core.html_table(greedy)


def existing_projects(res: dict) -> None:
    """The existing projects scored on the same demand, and the EPCI in most need among theirs."""
    projects, unit = res["projects"], res["unit"]
    st.header("Les projets existants sur cette demande")
    st.markdown(
        "Chaque projet est placé à la mairie de sa commune (point d'origine). Il « couvre » les origines qui l'atteignent dans le "
        "budget-temps. Avec la mesure « élèves sans offre », un projet situé dans une commune qui a déjà des "
        "offres ne peut couvrir personne : ses voisins atteignent déjà ces offres. Le rang de l'EPCI situe le "
        "manque du territoire du projet parmi tous les EPCI."
    )
    core.html_table(up.projects_shown(projects, unit), height=420)
    if len(projects):
        st.caption(up.best_epci_caption(projects, unit))


def sites_view(v: int, communes: pd.DataFrame) -> None:
    """Where to launch the next collective internships: K sites, map, tables, existing projects."""
    request = sites_sidebar()
    core.sync_query(request.query())
    with st.spinner("Calcul des sites (solveur exact CP-SAT et glouton)…"):
        try:
            res = request.plan(v)
        except dm.PlanningError as exc:
            st.error(str(exc))
            return
    sites_summary(res, request)
    m, layers = up.sites_map(res, communes)
    mapping.show(m, "plan_sites_map", height=520, layers=layers, control=True)
    sites_table(res)
    existing_projects(res)


# --------------------------------------------------------------------------- « Concevoir un stage collectif »


def _commune_of_project(projects: pd.DataFrame, commune_key: str) -> None:
    """Callback of « Partir d'un projet existant »: the site's commune becomes the project's."""
    pid = st.session_state.get("plan_project")
    if pid:
        st.session_state[commune_key] = projects.loc[projects["project_id"] == pid, "commune_code"].iloc[0]


def programme_sidebar(v: int, communes: pd.DataFrame) -> up.ProgrammeRequest:
    """The sidebar of the programme view; its widgets are seeded from the URL."""
    sb = st.sidebar
    sb.header("Concevoir un stage collectif")
    commune_names = dict(zip(communes["code"], communes["name"]))
    k_com = core.state("plan_commune", up.default_commune(communes))
    projects = up.projects(v)
    proj_names = dict(zip(projects["project_id"], projects["name"]))
    sb.selectbox(
        "Partir d'un projet existant (facultatif)",
        [""] + list(proj_names),
        key="plan_project",
        format_func=lambda p: proj_names.get(p, "—"),
        on_change=_commune_of_project,
        args=(projects, k_com),
    )
    codes = list(communes["code"])
    sb.selectbox("Commune du site", codes, key=k_com, format_func=lambda c: f"{commune_names.get(c, c)} ({c})")
    k_pup = core.state("plan_pupils", core.qp_get("eleves", 15, list(range(1, 101)), int))
    sb.number_input("Nombre d'élèves", 1, 100, key=k_pup)
    kinds = list(pg.KINDS)
    k_kind = core.state("plan_kind", core.qp_get("type", "multisectoriel", kinds))
    sb.selectbox("Type (typologie)", kinds, key=k_kind, format_func=lambda x: pg.KINDS[x])
    k_days = core.state("plan_days", core.qp_get("jours", 10, list(range(1, 11)), int))
    sb.slider("Jours ouvrés à partir du lundi 15 juin 2026", 1, 10, key=k_days)
    k_reach = core.state("plan_reach", core.qp_get("acces", "walk", REACH))
    sb.radio("Déplacements entre structures", list(REACH), key=k_reach, format_func=REACH.get)
    k_rad = core.state("plan_radius", core.qp_get("rayon", 20, RADII, int))
    sb.select_slider("Rayon autour du site (minutes)", RADII, key=k_rad)
    s = st.session_state
    return up.ProgrammeRequest(
        commune=s[k_com],
        pupils=int(s[k_pup]),
        kind=s[k_kind],
        days=int(s[k_days]),
        reach=s[k_reach],
        radius=int(s[k_rad]),
    )


def sector_choice(offers: pd.DataFrame, kind: str) -> str | None:
    """The sector of a mono-secteur programme (sidebar, kept in the URL); None for other types."""
    if kind != "mono-secteur" or not len(offers):
        return None
    secs = sorted(offers["sector"].unique())
    k_sec = core.state("plan_sector", core.qp_get("secteur", secs[0], secs))
    if st.session_state[k_sec] not in secs:
        st.session_state[k_sec] = secs[0]
    st.sidebar.selectbox("Secteur", secs, key=k_sec)
    sector = st.session_state[k_sec]
    core.sync_query({"secteur": sector})
    return sector


def capacity_editor(offers: pd.DataFrame, request: up.ProgrammeRequest, sector: str | None) -> pd.DataFrame:
    """The candidate structures, each to keep or not with its capacity a day (edited table)."""
    r = request
    return st.data_editor(
        up.capacity_table(offers),
        key=f"plan_caps_{r.commune}_{r.reach}_{r.radius}_{r.kind}_{sector}",
        hide_index=True,
        disabled=["offer_id", "structure", "secteur", "siret", "minutes"],
        column_config={
            "retenir": st.column_config.CheckboxColumn("Retenir"),
            "offer_id": st.column_config.TextColumn("Offre"),
            "structure": st.column_config.TextColumn("Structure (secteur — commune)"),
            "secteur": st.column_config.TextColumn("Secteur"),
            "siret": st.column_config.TextColumn("SIRET"),
            "minutes": st.column_config.NumberColumn("Minutes depuis le site", format="%d"),
            "capacite": st.column_config.NumberColumn("Capacité / jour", min_value=0, max_value=200, step=1),
        },
    )


def assumed_capacity() -> int | None:
    """The places a day assumed for structures without a capacity, when the user asks for it."""
    if not st.checkbox("Compléter les capacités vides par une hypothèse", key="plan_use_default"):
        return None
    default_cap = int(st.number_input("Hypothèse : places par jour", 1, 50, 3, key="plan_default_cap"))
    core.estimate_badge(
        f"capacité supposée de {count_of(default_cap, 'place')} par jour pour les structures non "
        "renseignées : à confirmer avec chaque structure."
    )
    return default_cap


def design(structures: list, spec: pg.ProgrammeSpec, request: up.ProgrammeRequest, name: str) -> pg.Programme | None:
    """Run the solver; when the programme is impossible, say why and how to make it possible."""
    with st.spinner("Recherche du programme (solveur CP-SAT)…"):
        try:
            minutes = up.structure_minutes(structures, request.reach)
            return pg.design_programme(structures, spec, minutes, radius_text=f" à moins de {request.around(name)}")
        except pg.ProgrammeInfeasible as exc:
            st.error("**Programme impossible.** " + end_sentence(" ; ".join(exc.reasons)))
            st.info("**Pour le rendre possible :** " + end_sentence(" ; ".join(exc.fixes)))
            return None


def show_programme(prog: pg.Programme, request: up.ProgrammeRequest, name: str, communes: pd.DataFrame) -> None:
    """The programme found: summary, rule, assumptions, rotation and its XLSX and PDF files."""
    commune = request.commune
    st.success(up.programme_found(prog))
    if prog.variety:
        st.markdown(f"Règle appliquée : {pg.rule_text(request.kind, prog.variety)}.")
    for n in prog.notes:
        core.estimate_badge(n)
    frames = export.programme_frames(prog)
    st.header("Rotation des sous-groupes (tableau)")
    core.html_table(frames["rotation"].reset_index().rename(columns={"index": "Sous-groupe"}))
    site_label = f"{name} ({commune})"
    c1, c2 = st.columns(2)
    c1.download_button(
        "Télécharger le programme (XLSX)",
        export.programme_xlsx(prog, site_label),
        file_name=f"programme_{commune}.xlsx",
        mime=XLSX_MIME,
    )
    row = communes[communes["code"] == commune]
    c2.download_button(
        "Télécharger le programme (PDF, avec carte et champs à compléter)",
        up.programme_pdf(prog, site_label, (float(row["lon"].iloc[0]), float(row["lat"].iloc[0]))),
        file_name=f"programme_{commune}.pdf",
        mime="application/pdf",
    )


def programme_view(v: int, communes: pd.DataFrame) -> None:
    """Design one collective internship: candidate structures, capacities, then the solver."""
    request = programme_sidebar(v, communes)
    core.sync_query(request.query())
    name = dict(zip(communes["code"], communes["name"])).get(request.commune, request.commune)
    st.markdown(up.site_heading(name, request.commune, request.kind))
    offers = up.site_offers(request.commune, request.reach, request.radius, v)
    sector = sector_choice(offers, request.kind)
    offers = pg.pick_structures(offers, request.kind, MAX_STRUCTURES, sector)
    st.header("Structures candidates et capacités d'accueil")
    if offers.empty:
        st.warning(f"Aucune offre à moins de {request.around(markdown_text(name))} : élargissez le rayon.")
        return
    st.markdown(
        "Les offres de la plateforme à moins de "
        f"{request.around('la mairie de ' + markdown_text(name))} (au plus 12, les plus proches, secteurs "
        "alternés). **La plateforme ne publie pas de capacité** : indiquez, pour chaque structure retenue, le nombre "
        "d'élèves qu'elle peut accueillir par jour (colonne « Capacité / jour »)."
    )
    edited = capacity_editor(offers, request, sector)
    structures = up.chosen_structures(offers, edited, assumed_capacity())
    days = tuple(pg.working_days(pg.DEFAULT_START, request.days))
    if not st.button("Concevoir le programme", type="primary"):
        st.caption("Le programme est calculé par un solveur de contraintes (OR-Tools CP-SAT), en quelques secondes.")
        return
    prog = design(structures, pg.ProgrammeSpec(request.pupils, request.kind, days, sector=sector), request, name)
    if prog is not None:
        show_programme(prog, request, name, communes)


# --------------------------------------------------------------------------- the page


def render() -> None:
    """The Planification page: the step chosen (sites or programme), then its view."""
    core.page_setup("Planification des stages collectifs", "🧭")
    st.title("Planifier les stages collectifs")
    v = core.require_travel_times()
    if not up.has_site_times(v):
        st.warning(
            "Temps de trajet vers les sites candidats absents (table site_travel_times) : relancez "
            "« python -m analysis.build ».",
            icon="⏱️",
        )
        st.stop()
    k_view = core.state("plan_view", core.qp_get("vue", "sites", VIEWS))
    st.radio("Étape", list(VIEWS), key=k_view, format_func=VIEWS.get, horizontal=True)
    communes = up.communes_with_epci(v)
    if st.session_state[k_view] == "programme":
        programme_view(v, communes)
    else:
        sites_view(v, communes)
    st.caption(
        "Méthode et limites : docs/planning.md (offres placées à la mairie de leur commune, capacités inconnues "
        "de la plateforme, transports en commun = TER seulement hors ligne)."
    )
    core.footer_sources()


render()
