"""Stages collectifs: the collective-internship projects of seed 003 over the coverage gaps."""

from __future__ import annotations

import folium
import pandas as pd
import streamlit as st

from analysis import access, catalogue, config, text
from analysis.outputs import maps
from analysis.sanitize import html_text
from ui import core, data, mapping, panels

#: « Ce que dit le document » (fiche « Stages collectifs » of the Agence régionale de l'orientation).
TYPOLOGY = """**Typologie**
- **Mono-site, mono-entreprise** : plusieurs stagiaires dans une seule grande entreprise ou
  administration (ex. SNCF, juin 2025).
- **Multisectoriel, multi-entreprises** : un parcours de découverte dans plusieurs entreprises de
  secteurs variés (ex. MEDEF, juin 2025).
- **Mono-secteur, multi-entreprises** : un parcours ciblé sur un seul secteur (ex. l'industrie à
  L'Aigle, projet 2026).
- **Bi-entreprises** : deux entreprises seulement sur les deux semaines (ex. Agence de
  l'orientation et Science Action, juin 2025)."""
PROCEDURE = """**Procédure**
1. Délimiter une zone précise (ville ou EPCI) facile d'accès pour les jeunes.
2. Cibler un ou plusieurs secteurs et recruter les structures volontaires.
3. Désigner le porteur qui signe la convention (ex. communauté de communes).
4. Construire le programme avec tous les acteurs.
5. Valider le stage pour le cartographier et le promouvoir."""
VIGILANCE = """**Points de vigilance**
- **Mobilité** : structures proches, idéalement à pied ou en transport collectif ; mobiliser les
  communautés de communes.
- **Sécurité et encadrement** : règles de sécurité et droit du travail respectés ; un référent
  identifié pour le groupe.
- **Outil pédagogique** recommandé, avec un temps de restitution.
- **Capacité d'accueil** : équilibrer les groupes entre entreprises.
- **Portage de la convention** : le porteur endosse la responsabilité légale des jeunes."""


def gap_options() -> dict[str, str]:
    """The map's background choices (manques by EPCI, or none), in French."""
    return {
        "share_no_offer_transit": core.indicator_label("share_no_offer_transit")
        + f" à {config.DEFAULT_BUDGET_MIN} min",
        "offers_per_100_pupils": core.indicator_label("offers_per_100_pupils"),
        "": "Aucune",
    }


def load_projects(v: int) -> pd.DataFrame:
    """The collective projects, with their sectors as lists."""
    proj = data.collective(v)
    proj["sector_list"] = proj["sectors"].fillna("").map(lambda s: [x.strip() for x in str(s).split(";") if x.strip()])
    return proj


def sidebar_filters(proj: pd.DataFrame) -> tuple:
    """The sidebar's filters (URL-backed): (types, sectors, EPCI, statuses, background)."""
    kinds = list(maps.COLLECTIVE_KIND_COLOURS)
    all_sectors = sorted({s for lst in proj["sector_list"] for s in lst})
    epcis = proj.dropna(subset=["epci_siren"]).drop_duplicates("epci_siren").sort_values("epci_name")
    epci_names = dict(zip(epcis["epci_siren"], epcis["epci_name"]))
    statuses = sorted(proj["status"].dropna().unique())
    gap_opts = gap_options()
    sb = st.sidebar
    sb.header("Filtres")
    k_kind = core.state("col_kinds", core.qp_get_list("type", kinds))
    sb.multiselect("Type de stage collectif (vide : tous)", kinds, key=k_kind, placeholder="Tous les types")
    k_sec = core.state("col_sectors", core.qp_get_list("secteur", all_sectors))
    sb.multiselect("Secteur (vide : tous)", all_sectors, key=k_sec, placeholder="Tous les secteurs")
    k_epci = core.state("col_epci", core.qp_get("epci", "", [""] + list(epci_names)))
    sb.selectbox("EPCI", [""] + list(epci_names), key=k_epci, format_func=lambda c: epci_names.get(c, "Tous les EPCI"))
    k_status = core.state("col_status", core.qp_get_list("statut", statuses))
    sb.multiselect("Statut (vide : tous)", statuses, key=k_status, placeholder="Tous les statuts")
    _fond = core.qp_get("fond", "share_no_offer_transit", {**gap_opts, "aucun": "Aucune"})
    k_gap = core.state("col_gap", "" if _fond == "aucun" else _fond)
    sb.radio("Fond de carte (manques, par EPCI)", list(gap_opts), key=k_gap, format_func=gap_opts.get)
    sb.caption("Le lien de la page (barre d'adresse) conserve ces choix.")
    sel_kinds, sel_sectors = st.session_state[k_kind], st.session_state[k_sec]
    sel_epci, sel_status, gap_ind = (st.session_state[k_epci], st.session_state[k_status], st.session_state[k_gap])
    core.sync_query(
        {"type": sel_kinds, "secteur": sel_sectors, "epci": sel_epci, "statut": sel_status, "fond": gap_ind or "aucun"}
    )
    return sel_kinds, sel_sectors, sel_epci, sel_status, gap_ind


def filter_projects(proj: pd.DataFrame, sel_kinds, sel_sectors, sel_epci: str, sel_status) -> pd.DataFrame:
    """The projects the filters keep."""
    f = proj
    if sel_kinds:
        f = f[f["kind"].isin(sel_kinds)]
    if sel_sectors:
        f = f[f["sector_list"].map(lambda lst: any(s in lst for s in sel_sectors))]
    if sel_epci:
        f = f[f["epci_siren"] == sel_epci]
    if sel_status:
        f = f[f["status"].isin(sel_status)]
    return f


def gap_layer(gap_ind: str, v: int) -> folium.FeatureGroup:
    """The background: an EPCI indicator in opaque light greys."""
    epci_tab = data.territory_table("epci", access.Filters(), v)
    spec = catalogue.indicator(gap_ind)
    unit, scale, dec = spec.unit, spec.scale, spec.decimals
    g_gap = mapping.group("Manques (fond)")
    # opaque light greys: the map shows the legend's colours exactly (at 55 % opacity they
    # did not match it), and the darkest class stays light enough for the markers
    mapping.choropleth(
        g_gap,
        data.geojson("epci", v),
        epci_tab,
        "code",
        gap_ind,
        "Fond : "
        + text.lower_first(core.indicator_label(gap_ind, short=True))
        + (f" à {config.DEFAULT_BUDGET_MIN} min" if unit == "%" else ""),
        unit,
        decimals=dec,
        palette="LightGreys",
        reverse=False,
        scale=scale,
        name="Manques (fond)",
        opacity=1.0,
        corner=mapping.LEGEND_BOTTOM_LEFT,
    )
    return g_gap


def project_popup(r) -> str:
    """A project's popup (HTML, names escaped)."""
    return (
        f"<b>{html_text(r.name)}</b><br>Type : {html_text(r.kind)}"
        + (f" <i>({html_text(r.kind_basis)})</i>" if pd.notna(r.kind_basis) else "")
        + f"<br>Lieu : {html_text(r.town or '')}"
        + (f" <i>({html_text(r.location_basis)})</i>" if pd.notna(r.location_basis) else "")
        + f"<br>Secteurs : {html_text(r.sectors or 'non précisé')}"
        + f"<br>Élèves : {html_text(r.pupils) if pd.notna(r.pupils) else 'non précisé'}"
        + f"<br>Période : {html_text(r.period or 'non précisée')}"
        + f"<br>Statut : {html_text(r.status or '')}"
    )


def projects_layer(f: pd.DataFrame) -> folium.FeatureGroup:
    """The projects as circles coloured by type, with their popups."""
    fg = folium.FeatureGroup(name="Projets de stages collectifs")
    for r in f.itertuples():
        if pd.isna(r.lat) or pd.isna(r.lon):
            continue
        colour = maps.COLLECTIVE_KIND_COLOURS.get(r.kind, maps.COLLECTIVE_KIND_COLOURS["non précisé"])
        folium.CircleMarker(
            [r.lat, r.lon],
            radius=9,
            color="#000000",
            weight=1.5,
            fill_color=colour,
            fill_opacity=0.95,
            popup=mapping.popup(project_popup(r)),
            tooltip=html_text(r.name),
        ).add_to(fg)
    return fg


def projects_map(f: pd.DataFrame, gap_ind: str, v: int) -> None:
    """The projects over the chosen background (manques by EPCI)."""
    m = mapping.base_map()
    layers = []
    if gap_ind and data.travel_times_ready():
        layers.append(gap_layer(gap_ind, v))
    elif gap_ind:
        core.no_travel_times()
    layers.append(projects_layer(f))
    legend = [(c, k) for k, c in maps.COLLECTIVE_KIND_COLOURS.items()]
    mapping.add_legend(m, "Type de stage collectif (typologie du document)", legend, shape="circle")
    mapping.show(m, "col_map", height=640, layers=layers, control=True)


def summary(f: pd.DataFrame, proj: pd.DataFrame, gap_ind: str) -> None:
    """« En bref » (projects by type, background) and the badge of the deduced types and places."""
    gap_opts = gap_options()
    by_kind = f["kind"].value_counts()
    panels.brief(
        f"{text.count(len(f), 'projet')} de stage collectif sur {len(proj)} "
        "(carte du 15/12/2025), "
        + ", ".join(f"{n} « {k} »" for k, n in by_kind.items())
        + (f" ; fond : {text.lower_first(gap_opts[gap_ind])} par EPCI (élèves estimés)." if gap_ind else ".")
    )
    n_deduced = int(
        f["kind_basis"].fillna("").str.startswith("déduit").sum()
        + f["location_basis"].fillna("").str.startswith("déduit").sum()
    )
    if n_deduced:
        core.estimate_badge(
            f"{text.count(f['kind_basis'].fillna('').str.startswith('déduit').sum(), 'type')} et "
            f"{text.count(f['location_basis'].fillna('').str.startswith('déduit').sum(), 'lieu', 'lieux')}"
            " sont « déduits » (le document ne les précise pas) : voir « Base du type » et « Base du "
            "lieu » sous la liste des projets et dans son téléchargement."
        )


def projects_table(f: pd.DataFrame) -> pd.DataFrame:
    """The projects' list, in French (missing values as « — »)."""
    return (
        pd.DataFrame(
            {
                "Projet": f["name"],
                "Type": f["kind"],
                "Statut": f["status"],
                "Commune": f["town"],
                "EPCI": f["epci_name"],
                "Secteurs": f["sectors"],
                "Élèves (nombre)": f["pupils"].astype("Int64").astype(str).replace("<NA>", "non précisé"),
                "Période": f["period"],
                "Base du type": f["kind_basis"],
                "Base du lieu": f["location_basis"],
            }
        )
        .astype(str)
        .replace({"None": "—", "nan": "—", "<NA>": "—"})
    )


def projects_list(f: pd.DataFrame, sel_epci: str) -> None:
    """« Liste des projets », its bases, its download and the link to Planification."""
    st.header("Liste des projets")
    table = projects_table(f)
    # eight columns fit the page width (with the two « Base » columns the Statut column was cut):
    # the bases are in their own table below and in the download
    core.html_table(table.drop(columns=["Base du type", "Base du lieu"]), height=480)
    with core.table_expander(
        "Bases du type et du lieu (« déduit » quand le document ne les précise pas)", "col_bases"
    ) as opened:
        if opened:
            core.html_table(table[["Projet", "Base du type", "Base du lieu"]], height=360)
    st.download_button(
        "Télécharger la liste (CSV)", core.csv_bytes(table), file_name="stages_collectifs.csv", mime="text/csv"
    )
    core.page_link(
        "pages/8_Planification.py",
        label="Proposer un stage collectif ici : où lancer les prochains projets, et leur programme",
        icon=":material/event_note:",
        query_params={"vue": "programme", "epci": sel_epci} if sel_epci else {"vue": "sites"},
    )


def document_summary() -> None:
    """« Ce que dit le document »: typology, procedure and points of attention."""
    st.header("Ce que dit le document (carte des projets du 15/12/2025)")
    for col, block in zip(st.columns(3), (TYPOLOGY, PROCEDURE, VIGILANCE)):
        with col:
            st.markdown(block)
    st.caption(
        "Résumé de la fiche « Stages collectifs » de l'Agence régionale de l'orientation et des "
        "métiers de Normandie (document de travail, mise à jour du 15/12/2025)."
    )


def render() -> None:
    """The Stages collectifs page."""
    core.page_setup("Stages collectifs", "👥")
    st.title("Stages collectifs : les projets et les territoires à couvrir")
    v = core.db_version()
    if not data.has("collective_projects"):
        st.warning("Table collective_projects absente : lancez « python -m analysis.build ».")
        st.stop()
    proj = load_projects(v)
    sel_kinds, sel_sectors, sel_epci, sel_status, gap_ind = sidebar_filters(proj)
    f = filter_projects(proj, sel_kinds, sel_sectors, sel_epci, sel_status)
    projects_map(f, gap_ind, v)
    summary(f, proj, gap_ind)
    projects_list(f, sel_epci)
    document_summary()
    core.footer_sources()


render()
