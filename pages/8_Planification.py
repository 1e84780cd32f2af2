"""Planification : where to launch the next collective internships, and one programme (issue 14)."""

from __future__ import annotations

import folium
import pandas as pd
import streamlit as st

from analysis import catalogue, config, text
from analysis.planning import demand as dm
from analysis.planning import export
from analysis.planning import programme as pg
from analysis.planning import sites as st_sites
from analysis.sanitize import html_text, markdown_text
from analysis.text import count as count_of
from analysis.text import end_sentence
from ui import core, filters, mapping
from ui import planning as up

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

VIEWS = {"sites": "Où lancer les prochains stages collectifs ?", "programme": "Concevoir un stage collectif"}
MEASURES = {
    "unserved": "Élèves sans aucune offre accessible",
    "shortfall": "Places manquantes (2SFCA, par rapport à une cible)",
}
ORIGINS = {"school": core.ORIGIN_LABELS["school"], "commune": core.ORIGIN_LABELS["commune"]}
REACH = {m: core.mode_label(m, "short") for m in st_sites.REACH_MODES}
MODES = list(catalogue.DISPLAY_ORDER)
#: Largest minimum of known host structures near a site offered on the page.
HOSTS_MAX = 20

k_view = core.state("plan_view", core.qp_get("vue", "sites", VIEWS))
st.radio("Étape", list(VIEWS), key=k_view, format_func=VIEWS.get, horizontal=True)
view = st.session_state[k_view]
communes = up.communes_with_epci(v)
commune_names = dict(zip(communes["code"], communes["name"]))


def sites_view() -> None:
    sb = st.sidebar
    sb.header("Où lancer les prochains projets")
    mode = filters.mode_choice("plan_mode", MODES, label="Mode de déplacement des élèves")
    k_min = core.state("plan_minutes", core.qp_get("minutes", config.DEFAULT_BUDGET_MIN, list(core.BUDGETS), int))
    sb.select_slider("Budget-temps (minutes)", list(core.BUDGETS), key=k_min)
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
    minutes, origin = int(st.session_state[k_min]), st.session_state[k_org]
    measure, target, k = st.session_state[k_mes], float(st.session_state[k_tgt]), int(st.session_state[k_k])
    include = bool(st.session_state[k_inc])
    min_hosts = int(st.session_state[k_hosts])
    core.sync_query(
        {
            "vue": "sites",
            "mode": mode,
            "minutes": minutes,
            "origine": origin,
            "mesure": measure,
            "cible": target if measure == "shortfall" else None,
            "k": k,
            "existants": "inclus" if include else None,
            "structures": min_hosts if min_hosts != st_sites.DEFAULT_MIN_HOSTS else None,
            "commune": None,
        }
    )
    with st.spinner("Calcul des sites (solveur exact CP-SAT et glouton)…"):
        try:
            res = up.site_plan(mode, minutes, origin, measure, target, k, include, v, min_hosts)
        except dm.PlanningError as exc:
            st.error(str(exc))
            return
    unit = res["unit"]
    # pupils (estimated or declared) and missing places (2SFCA) are shown whole on the page; the
    # files keep the exact values
    dec = 0
    sites, projects, dem = res["sites"], res["projects"], res["demand"]
    status = (
        "optimum prouvé"
        if res["exact_status"] == "optimal"
        else f"meilleure solution trouvée, borne {core.fnum(res['exact_bound'], dec)}"
        if res["exact_bound"] != float("inf")
        else "limite de temps atteinte : solution gloutonne gardée"
    )
    st.markdown(
        f"**En bref :** {core.mode_label(mode, 'phrase')} en {minutes} min au plus, la demande totale est de "
        f"**{core.fnum(res['demand_total'], dec, unit)}** ({text.lower_first(MEASURES[measure])}, "
        f"{text.lower_first(ORIGINS[origin])}). "
        + (
            f"Les {len(sites)} sites proposés en couvrent "
            if len(sites) > 1
            else "Le site proposé en couvre "
            if len(sites) == 1
            else "Aucun site n'est proposé (raisons ci-dessous) : demande couverte "
        )
        + f"**{core.fnum(res['exact_value'], dec, unit)}** (solveur exact : {status}) ; la méthode gloutonne "
        f"en couvre {core.fnum(res['greedy_value'], dec, unit)} (écart {core.fpct(res['gap'], 1)}). "
        f"Les 26 projets existants couvrent déjà {core.fnum(res['already'], dec, unit)}"
        + (" (laissés de côté)." if not include else ".")
    )
    for note in res["notes"]:  # why fewer sites than asked
        st.warning(note, icon="ℹ️")
    if origin == "commune":
        core.estimate_badge("élèves par commune de résidence estimés (total régional réparti selon la population).")
    if mode == "transit":
        st.caption(catalogue.transit_caveat(core.networks()) + " Les manques sont donc surestimés hors des gares.")
    m = mapping.base_map()
    layers = []
    g_dem = mapping.group("Demande (origines)")
    vmax = float(dem["demand"].max()) if len(dem) else 1.0
    covered = {o for ids in sites["covered_origin_ids"] for o in ids}
    for r in dem.dropna(subset=["lat"]).itertuples():
        is_cov = r.origin_id in covered
        folium.CircleMarker(
            [r.lat, r.lon],
            radius=3 + 9 * (r.demand / vmax) ** 0.5,
            color="#1a1a1a" if is_cov else "#7a4b00",
            weight=1,
            fill=True,
            fill_color="#2b8cbe" if is_cov else "#fdae6b",
            fill_opacity=0.75,
            tooltip=f"{html_text(r.origin_name)} : {core.fnum(r.demand, dec, unit)}"
            + (" (couverte)" if is_cov else ""),
        ).add_to(g_dem)
    layers.append(g_dem)
    g_proj = mapping.group("Projets existants")
    for r in projects.itertuples():
        row = communes[communes["code"] == r.commune_code]
        if row.empty:
            continue
        folium.CircleMarker(
            [row["lat"].iloc[0], row["lon"].iloc[0]],
            radius=6,
            color="#000000",
            weight=2,
            fill=True,
            fill_color="#7b3294",
            fill_opacity=0.9,
            tooltip=f"Projet existant : {html_text(r.name)}",
        ).add_to(g_proj)
    layers.append(g_proj)
    g_sites = mapping.group("Sites proposés")
    for r in sites.itertuples():
        folium.Marker(
            [r.lat, r.lon],
            tooltip=f"Site n° {r.rank} : {html_text(r.site_name)}",
            icon=folium.DivIcon(
                html=(
                    '<div style="background:#08306b;color:#fff;border:2px solid #fff;border-radius:50%;'
                    'width:24px;height:24px;text-align:center;font:bold 13px/20px sans-serif">'
                    f"{int(r.rank)}</div>"
                )
            ),
        ).add_to(g_sites)
    layers.append(g_sites)
    mapping.add_legend(
        g_sites,
        "Planification",
        [
            ("#08306b", "site proposé (rang)"),
            ("#2b8cbe", "origine couverte"),
            ("#fdae6b", "origine non couverte"),
            ("#7b3294", "projet existant"),
        ],
        shape="circle",
    )
    mapping.show(m, "plan_sites_map", height=520, layers=layers, control=True)

    st.header("Sites proposés (classés) — alternative textuelle de la carte")
    table = export.sites_table(sites)
    shown = table.drop(columns=["Origines couvertes (codes)", "Code", "Code commune"], errors="ignore")
    # whole pupils or places on screen, as on every page (the files keep the decimals)
    shown = shown.round({c: 0 for c in ("Demande couverte", "Gain marginal") if c in shown})
    core.html_table(shown)
    c1, c2 = st.columns(2)
    c1.download_button(
        "Télécharger les sites (CSV)", core.csv_bytes(table), file_name="sites_stages_collectifs.csv", mime="text/csv"
    )
    c2.download_button(
        "Télécharger les sites et les projets existants (XLSX)",
        export.sites_xlsx(sites, projects, unit, res["notes"]),
        file_name="sites_stages_collectifs.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
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
    if len(res["greedy"]) and list(res["greedy"]["site_key"]) != list(sites["site_key"]):
        with st.expander("Solution gloutonne (comparaison)"):
            g = (
                res["greedy"][["rank", "site_name", "commune_name", "pupils_new"]]
                .rename(
                    columns={
                        "rank": "Rang",
                        "site_name": "Site",
                        "commune_name": "Commune",
                        "pupils_new": "Gain marginal",
                    }
                )
                .round({"Gain marginal": 0})
            )
            core.html_table(g)

    st.header("Les projets existants sur cette demande")
    st.markdown(
        "Chaque projet est placé à la mairie de sa commune (point d'origine). Il « couvre » les origines qui l'atteignent dans le "
        "budget-temps. Avec la mesure « élèves sans offre », un projet situé dans une commune qui a déjà des "
        "offres ne peut couvrir personne : ses voisins atteignent déjà ces offres. Le rang de l'EPCI situe le "
        "manque du territoire du projet parmi tous les EPCI."
    )
    labels = export.project_columns(unit)  # one vocabulary with the XLSX sheet « Projets existants »
    pt = export.projects_table(projects, unit)
    for key in ("covered", "epci_demand"):
        pt[labels[key]] = pt[labels[key]].map(lambda x: core.fnum(x, dec))
    keys = ("name", "commune_name", "epci_name", "covered", "rank_text", "epci_demand", "epci_rank_text")
    core.html_table(pt[[labels[k] for k in keys]], height=420)
    if len(projects):
        st.caption(_best_epci_caption(projects, unit, dec))


def _best_epci_caption(projects: pd.DataFrame, unit: str, dec: int) -> str:
    """The EPCI in most need among those hosting a project, ties said as such."""
    b = projects.sort_values(["epci_rank", "epci_rank_max"]).iloc[0]
    rank = export.rank_text(b["epci_rank"], b["epci_rank_max"], b["n_epci"])
    if not b["epci_demand"] > 0:
        return (
            "Aucun EPCI qui accueille un projet n'a de demande à couvrir : tous sont ex æquo avec les EPCI "
            f"sans demande (rang {rank})."
        )
    return (
        f"L'EPCI le plus en manque qui accueille un projet, {markdown_text(str(b['epci_name']))} "
        f"({core.fnum(b['epci_demand'], dec, unit)}), est classé {rank}."
    )


def _capacity_table(offers: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "retenir": True,
            "offer_id": offers["offer_id"].astype(str),
            "structure": offers["sector"] + " — " + offers["town"].astype(str),
            "secteur": offers["sector"],
            "siret": offers["siret"].fillna(""),
            "minutes": offers["minutes"].round(0),
            "capacite": offers["capacity"].astype("Int64"),
        }
    )


def programme_view() -> None:
    sb = st.sidebar
    sb.header("Concevoir un stage collectif")
    codes = list(communes["code"])
    default_commune = core.qp_get("commune", "27467", codes)
    epci = core.qp_get("epci", "", [""] + list(communes["epci_siren"].dropna().unique()))
    if epci and "commune" not in st.query_params:
        inside = communes[communes["epci_siren"] == epci].sort_values("n_offers", ascending=False)
        default_commune = inside["code"].iloc[0]
    k_com = core.state("plan_commune", default_commune)
    projects = up.projects(v)
    proj_names = dict(zip(projects["project_id"], projects["name"]))

    def _from_project() -> None:
        pid = st.session_state.get("plan_project")
        if pid:
            st.session_state[k_com] = projects.loc[projects["project_id"] == pid, "commune_code"].iloc[0]

    sb.selectbox(
        "Partir d'un projet existant (facultatif)",
        [""] + list(proj_names),
        key="plan_project",
        format_func=lambda p: proj_names.get(p, "—"),
        on_change=_from_project,
    )
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
    k_rad = core.state("plan_radius", core.qp_get("rayon", 20, [10, 15, 20, 30, 45], int))
    sb.select_slider("Rayon autour du site (minutes)", [10, 15, 20, 30, 45], key=k_rad)
    commune, pupils, kind = st.session_state[k_com], int(st.session_state[k_pup]), st.session_state[k_kind]
    days_n, reach, radius = int(st.session_state[k_days]), st.session_state[k_reach], int(st.session_state[k_rad])
    core.sync_query(
        {
            "vue": "programme",
            "commune": commune,
            "eleves": pupils,
            "type": kind,
            "jours": days_n,
            "acces": reach,
            "rayon": radius,
            "mode": None,
            "minutes": None,
            "origine": None,
            "mesure": None,
            "k": None,
            "epci": None,
        }
    )
    name = commune_names.get(commune, commune)
    st.markdown(
        f"**Site : {markdown_text(name)} ({commune})** — {pg.KINDS[kind]} : {pg.KIND_RULES[pg.KINDS[kind]]}"
        + (
            f" (N = {pg.DEFAULT_VARIETY} par défaut, moins si la période ou les structures ne le permettent pas)."
            if " N " in pg.KIND_RULES[pg.KINDS[kind]]
            else "."
        )
    )
    offers = up.site_offers(commune, reach, radius, v)
    if kind == "mono-secteur" and len(offers):
        secs = sorted(offers["sector"].unique())
        k_sec = core.state("plan_sector", core.qp_get("secteur", secs[0], secs))
        if st.session_state[k_sec] not in secs:
            st.session_state[k_sec] = secs[0]
        sb.selectbox("Secteur", secs, key=k_sec)
        sector = st.session_state[k_sec]
        core.sync_query({"secteur": sector})
    else:
        sector = None
    offers = pg.pick_structures(offers, kind, 12, sector)
    st.header("Structures candidates et capacités d'accueil")
    if offers.empty:
        st.warning(
            f"Aucune offre à moins de {radius} min {REACH[reach]} de {markdown_text(name)} : élargissez le rayon."
        )
        return
    st.markdown(
        "Les offres de la plateforme à moins de "
        f"{radius} min {REACH[reach]} de la mairie de {markdown_text(name)} (au plus 12, les plus proches, secteurs "
        "alternés). **La plateforme ne publie pas de capacité** : indiquez, pour chaque structure retenue, le nombre "
        "d'élèves qu'elle peut accueillir par jour (colonne « Capacité / jour »)."
    )
    edited = st.data_editor(
        _capacity_table(offers),
        key=f"plan_caps_{commune}_{reach}_{radius}_{kind}_{sector}",
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
    use_default = st.checkbox("Compléter les capacités vides par une hypothèse", key="plan_use_default")
    default_cap = None
    if use_default:
        default_cap = int(st.number_input("Hypothèse : places par jour", 1, 50, 3, key="plan_default_cap"))
        core.estimate_badge(
            f"capacité supposée de {count_of(default_cap, 'place')} par jour pour les structures non "
            "renseignées : à confirmer avec chaque structure."
        )
    kept = edited[edited["retenir"]]
    caps = {r.offer_id: int(r.capacite) for r in kept.itertuples() if pd.notna(r.capacite)}
    chosen = offers[offers["offer_id"].astype(str).isin(kept["offer_id"])]
    structures = pg.structures_from_offers(chosen, caps, default_cap)
    days = tuple(pg.working_days(pg.DEFAULT_START, days_n))
    if not st.button("Concevoir le programme", type="primary"):
        st.caption("Le programme est calculé par un solveur de contraintes (OR-Tools CP-SAT), en quelques secondes.")
        return
    spec = pg.ProgrammeSpec(pupils, kind, days, sector=sector)
    with st.spinner("Recherche du programme (solveur CP-SAT)…"):
        try:
            minutes = up.structure_minutes(structures, reach)
            prog = pg.design_programme(
                structures, spec, minutes, radius_text=f" à moins de {radius} min {REACH[reach]} de {name}"
            )
        except pg.ProgrammeInfeasible as exc:
            st.error("**Programme impossible.** " + end_sentence(" ; ".join(exc.reasons)))
            st.info("**Pour le rendre possible :** " + end_sentence(" ; ".join(exc.fixes)))
            return
    st.success(
        f"Programme trouvé : {count_of(len(prog.sizes), 'sous-groupe')} de {' + '.join(map(str, prog.sizes))} élèves, "
        f"{prog.total_minutes:.0f} min de déplacement entre structures au total "
        f"({'optimum prouvé' if prog.status == 'optimal' else 'meilleur trouvé'})."
    )
    if prog.variety:
        st.markdown(f"Règle appliquée : {pg.rule_text(kind, prog.variety)}.")
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
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    row = communes[communes["code"] == commune]
    c2.download_button(
        "Télécharger le programme (PDF, avec carte et champs à compléter)",
        up.programme_pdf(prog, site_label, (float(row["lon"].iloc[0]), float(row["lat"].iloc[0]))),
        file_name=f"programme_{commune}.pdf",
        mime="application/pdf",
    )


if view == "programme":
    programme_view()
else:
    sites_view()
st.caption(
    "Méthode et limites : docs/planning.md (offres placées à la mairie de leur commune, capacités inconnues "
    "de la plateforme, transports en commun = TER seulement hors ligne)."
)
core.footer_sources()
