"""Accueil: key regional figures, EPCI map of the main indicator, vintages, next steps.

The default page of the navigation (at "/", registered by app.py).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analysis import access, catalogue, config, text
from analysis.outputs import maps
from ui import core, data, panels
from ui.navigation import existing_pages

#: the budget of the default view (``access.Filters()``), said in the texts
BUDGET = config.DEFAULT_BUDGET_MIN

#: « Aller plus loin »: what each page offers, under its link.
PAGE_TEXTS = {
    "Couverture": "carte des manques par commune ou EPCI, selon le mode et le temps",
    "Mobilité rurale": "voiture contre transports, arrêts desservis le matin, lycées",
    "Stages collectifs": "projets de stages collectifs et zones à combler",
    "Planification": "où lancer les prochains stages collectifs, et leur programme",
    "Territoire": "la fiche d'un EPCI ou d'une commune, avec téléchargements",
    "Élèves": "la fiche d'un lycée, et les offres à portée de chaque élève d'une classe",
    "Rapports": "rapports CSV, XLSX et PDF à télécharger",
    "Import": "importer de nouvelles offres (administrateurs)",
    "Données": "sources, licences, lignes rejetées et schéma",
    "Accessibilité": "déclaration d'accessibilité (RGAA)",
}

#: Indicators of the regional map.
MAP_INDICATORS = ("share_no_offer_transit", "offers_per_100_pupils")


def key_figures(v: int) -> pd.Series:
    """The regional key figures (metrics and estimate badge); returns the region's row."""
    region = data.territory_table("region", access.Filters(), v)
    # the seconde headline counts the offers open to seconde pupils (not those for 3e pupils only)
    region_sch = data.territory_table("region", access.Filters(grade="seconde", origin_kind="school"), v)
    r = region.iloc[0]
    rs = region_sch.iloc[0]
    n_coll = len(data.collective(v)) if data.has("collective_projects") else 0
    summary = data.offers_summary(v)

    c1, c2, c3 = st.columns(3)
    c4, c5, _ = st.columns(3)
    c1.metric(
        "Élèves de seconde",
        core.fnum(rs["pupils"], 0, "élèves"),
        help="Somme des effectifs de seconde déclarés par les lycées (donnée réelle).",
    )
    third_only = int(summary["troisieme_only"])
    c2.metric(
        "Offres de stage ouvertes aux secondes",
        core.fnum(summary["for_seconde"], 0, "offres"),
        help="Offres 2025 de la plateforme « 1 élève, 1 stage » situées en Normandie et ouvertes aux élèves "
        f"de seconde ; sans les {text.count(third_only, 'offre réservée', 'offres réservées')} aux élèves de 3e "
        f"({core.fnum(summary['offers'], 0, 'offres')} en tout).",
    )
    if third_only:
        c2.caption(f"hors {text.count(third_only, 'offre réservée', 'offres réservées')} aux élèves de 3e")
    c3.metric(
        "Offres pour 100 élèves",
        core.fnum(rs["offers_per_100_pupils"], 1, "offres"),
        help="Indicateur de la circulaire de 2015 : offres situées ouvertes aux secondes / élèves × 100.",
    )
    tc_short = catalogue.transit_short(core.networks())
    c4.metric(
        f"Sans offre à {BUDGET} min en {tc_short} ou à pied",
        core.fnum(r["pupils_no_offer_transit"], 0, "élèves"),
        help="Élèves (estimés par commune de résidence) n'ayant aucune offre accessible "
        f"{core.mode_label('transit', 'phrase')} en {BUDGET} min le matin.",
    )
    # a plain comparison under the figure (a metric delta draws an arrow that reads as a rise)
    c4.caption(f"soit {core.fpct(r['share_no_offer_transit'], 1)} des élèves de seconde (estimés) de la région")
    c5.metric(
        "Projets de stages collectifs",
        core.fnum(n_coll, 0, "projets"),
        help="Carte des projets du 15/12/2025 (Agence régionale de l'orientation).",
    )
    core.estimate_badge(
        "Élèves par commune de résidence : répartition du total régional au prorata de la "
        f"population ; offres placées à la mairie de leur commune ({summary['at_commune_centre']} "
        f"sur {summary['offers']}) ; 1 place par offre faute de capacité "
        f"({summary['default_capacity']} offres)."
    )
    return r


def epci_table(epci: pd.DataFrame) -> pd.DataFrame:
    """The regional map's table (its text alternative), in the ranking's order."""
    tc_short = catalogue.transit_short(core.networks())
    return pd.DataFrame(
        {
            "EPCI": epci["name"],
            "SIREN": epci["code"],
            "Élèves (estimés)": epci["pupils"].round(0),
            "Offres situées": epci["offers_located"],
            "Offres pour 100 élèves": epci["offers_per_100_pupils"].round(1),
            f"Élèves sans offre à {BUDGET} min en {tc_short} ou à pied": epci["pupils_no_offer_transit"].round(0),
            f"Part sans offre à {BUDGET} min en {tc_short} ou à pied (%)": (epci["share_no_offer_transit"] * 100).round(
                1
            ),
        }
    )


def regional_map(v: int, r: pd.Series) -> None:
    """« Carte régionale par EPCI »: the chosen indicator, its « En bref » and its table."""
    st.header("Carte régionale par EPCI")
    indicators = {k: catalogue.indicator(k) for k in MAP_INDICATORS}
    titles = {k: core.indicator_label(k) + (f" à {BUDGET} min" if k.startswith("share") else "") for k in indicators}
    key = core.state("home_ind", core.qp_get("indicateur", "share_no_offer_transit", titles))
    st.radio("Indicateur", list(indicators), key=key, horizontal=True, format_func=titles.get)
    ind = st.session_state[key]
    core.sync_query({"indicateur": ind})
    spec = indicators[ind]
    label, unit, scale, dec = titles[ind], spec.unit, spec.scale, spec.decimals
    epci = data.territory_table("epci", access.Filters(), v)
    panel = panels.MapPanel(
        key="home_map",
        geojson=data.geojson("epci", v),
        table=epci,
        column=ind,
        label=label,
        unit=unit,
        decimals=dec,
        palette=spec.palette,
        scale=scale,
        higher_is_worse=catalogue.INDICATORS[ind].higher_is_worse,
        height=560,
    )
    # one ranking (analysis.outputs.ranking), least favourable first: "En bref" and the table read it
    panels.show_map(panel)
    epci = panels.ranked(panel)
    vals = pd.to_numeric(epci[ind], errors="coerce") * scale
    known = epci[vals.notna()]
    first, last = known.iloc[0], known.iloc[-1]
    lo, hi = (last, first) if panel.higher_is_worse else (first, last)
    panels.brief(
        f"{label[:1].lower() + label[1:]} par EPCI (origine : communes de résidence, élèves estimés) "
        f"— de {maps.format_number(vals.min(), dec)} {unit} ({lo['name']}) à "
        f"{maps.format_number(vals.max(), dec)} {unit} ({hi['name']}) ; "
        f"région : {maps.format_number(float(r[ind]) * scale, dec)} {unit}."
    )
    panels.table_alternative("Tableau de la carte (alternative textuelle)", "home_table", lambda: epci_table(epci))


def vintages(v: int) -> None:
    """« Millésimes des données »: each dataset's producer, vintage and rows."""
    st.header("Millésimes des données")
    prov = data.provenance(v)
    core.html_table(
        pd.DataFrame(
            {
                "Jeu de données": prov["description"].fillna(prov["dataset"]),
                "Producteur": prov["publisher"],
                "Millésime": prov["vintage"],
                "Lignes": prov["rows"],
            }
        )
    )


def next_steps() -> None:
    """« Aller plus loin »: a link to each page, its description beneath."""
    st.header("Aller plus loin")
    cols = st.columns(3)
    links = [(p, t, i) for p, t, _, i in existing_pages()]
    for k, (p, t, i) in enumerate(links):
        with cols[k % 3]:
            # the page name as the link and its description beneath, wrapped: a page link is
            # one line, cut with an ellipsis when the description followed the name
            st.page_link(p, label=t, icon=i)
            st.caption(PAGE_TEXTS.get(t, ""))


def render() -> None:
    """The Accueil page."""
    core.page_setup("Accueil", "🏠")
    st.title("Observatoire des stages de seconde — Normandie")
    st.markdown(
        "Quelles offres de stage chaque élève de seconde de Normandie peut-il **réellement "
        "atteindre** — à pied, à vélo, en transports en commun le matin, en voiture — et quels "
        "territoires manquent d'offres ?"
    )
    v = core.require_travel_times()
    r = key_figures(v)
    regional_map(v, r)
    vintages(v)
    next_steps()


render()
