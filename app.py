"""Observatoire des stages — Normandie: entry point (navigation) and the Accueil page.

Run: ``streamlit run app.py`` (the database is built by ``python -m analysis.build``).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

#: Page files and their French titles / URL paths (pages absent from disk are skipped).
PAGES: list[tuple[str, str, str, str]] = [
    ("pages/1_Couverture.py", "Couverture", "couverture", ":material/map:"),
    ("pages/2_Mobilite_rurale.py", "Mobilité rurale", "mobilite_rurale", ":material/directions_bus:"),
    ("pages/3_Stages_collectifs.py", "Stages collectifs", "stages_collectifs", ":material/groups:"),
    ("pages/4_Territoire.py", "Territoire", "territoire", ":material/location_on:"),
    ("pages/5_Rapports.py", "Rapports", "rapports", ":material/description:"),
    ("pages/6_Import.py", "Import", "import", ":material/upload_file:"),
    ("pages/7_Donnees.py", "Données", "donnees", ":material/dataset:"),
    ("pages/9_Accessibilite.py", "Accessibilité", "accessibilite", ":material/accessibility_new:"),
]


def home() -> None:
    """Accueil: key regional figures, EPCI map of the main indicator, vintages, next steps."""
    import pandas as pd

    from analysis import maps
    from ui import core, data, mapping

    core.page_setup("Accueil", "🏠")
    st.title("Observatoire des stages de seconde — Normandie")
    st.markdown(
        "Quelles offres de stage chaque élève de seconde de Normandie peut-il **réellement "
        "atteindre** — à pied, à vélo, en transports en commun le matin, en voiture — et quels "
        "territoires manquent d'offres ?")
    v = core.require_travel_times()

    region = data.territory_table("region", "transit", 45, (), "", "", "commune", v)
    region_sch = data.territory_table("region", "transit", 45, (), "", "", "school", v)
    r = region.iloc[0]
    rs = region_sch.iloc[0]
    n_coll = len(data.collective(v)) if data.has("collective_projects") else 0
    summary = data.offers_summary(v)

    c1, c2, c3 = st.columns(3)
    c4, c5, _ = st.columns(3)
    c1.metric("Élèves de seconde", core.fnum(rs["pupils"], 0, "élèves"),
              help="Somme des effectifs de seconde déclarés par les lycées (donnée réelle).")
    c2.metric("Offres de stage", core.fnum(summary["offers"], 0, "offres"),
              help="Offres 2025 de la plateforme « 1 élève, 1 stage » situées en Normandie.")
    c3.metric("Offres pour 100 élèves", core.fnum(rs["offers_per_100_pupils"], 1, "offres"),
              help="Indicateur de la circulaire de 2015 : offres situées / élèves × 100.")
    c4.metric("Élèves sans offre à 45 min en transports",
              core.fnum(r["pupils_no_offer_transit"], 0, "élèves"),
              delta=core.fpct(r["share_no_offer_transit"], 1) + " des élèves", delta_color="off",
              help="Élèves (estimés par commune de résidence) n'ayant aucune offre accessible "
                   "en transports en commun ou à pied en 45 min le matin.")
    c5.metric("Projets de stages collectifs", core.fnum(n_coll, 0, "projets"),
              help="Carte des projets du 15/12/2025 (Agence régionale de l'orientation).")
    core.estimate_badge(
        "Élèves par commune de résidence : répartition du total régional au prorata de la "
        f"population ; offres placées au centre de leur commune ({summary['at_commune_centre']} "
        f"sur {summary['offers']}) ; 1 place par offre faute de capacité "
        f"({summary['default_capacity']} offres).")

    st.subheader("Carte régionale par EPCI")
    indicators = {
        "share_no_offer_transit": ("Part des élèves sans offre à 45 min en transports", "%", 100.0,
                                   0, "YlOrRd", False),
        "offers_per_100_pupils": ("Offres situées pour 100 élèves", "offres / 100 élèves", 1.0, 1,
                                  "YlGnBu", False),
    }
    key = core.state("home_ind", core.qp_get("indicateur", "share_no_offer_transit",
                                             list(indicators)))
    st.radio("Indicateur", list(indicators), key=key, horizontal=True,
             format_func=lambda k: indicators[k][0])
    ind = st.session_state[key]
    core.sync_query({"indicateur": ind})
    label, unit, scale, dec, pal, rev = indicators[ind]
    epci = data.territory_table("epci", "transit", 45, (), "", "", "commune", v)
    m = mapping.base_map()
    g = mapping.group(label)
    mapping.choropleth(g, data.geojson("epci", v), epci, "code", ind, label, unit, dec, pal, rev,
                       scale)
    mapping.show(m, "home_map", 480, layers=[g])
    vals = pd.to_numeric(epci[ind], errors="coerce") * scale
    lo, hi = epci.loc[vals.idxmin()], epci.loc[vals.idxmax()]
    st.markdown(
        f"**En bref :** {label.lower()} par EPCI (origine : communes de résidence, élèves estimés) "
        f"— de {maps.format_number(vals.min(), dec)} {unit} ({lo['name']}) à "
        f"{maps.format_number(vals.max(), dec)} {unit} ({hi['name']}) ; "
        f"région : {maps.format_number(float(r[ind]) * scale, dec)} {unit}.")
    with core.table_expander("Tableau de la carte (alternative textuelle)", "home_table") as opened:
        if opened:
            tab = pd.DataFrame({
                "EPCI": epci["name"], "SIREN": epci["code"],
                "Élèves (estimés)": epci["pupils"].round(0),
                "Offres situées": epci["offers_located"],
                "Offres pour 100 élèves": epci["offers_per_100_pupils"].round(1),
                "Élèves sans offre à 45 min en TC": epci["pupils_no_offer_transit"].round(0),
                "Part sans offre à 45 min en TC (%)": (epci["share_no_offer_transit"] * 100).round(1),
            }).sort_values("Part sans offre à 45 min en TC (%)", ascending=False)
            core.html_table(tab, height=420)

    st.subheader("Millésimes des données")
    prov = data.provenance(v)
    core.html_table(prov[["dataset", "publisher", "vintage", "rows"]].rename(columns={
        "dataset": "Jeu de données", "publisher": "Producteur", "vintage": "Millésime",
        "rows": "Lignes"}))

    st.subheader("Aller plus loin")
    cols = st.columns(3)
    links = [(p, t, i) for p, t, _, i in PAGES if (ROOT / p).exists()]
    texts = {
        "Couverture": "carte des manques par commune ou EPCI, selon le mode et le temps",
        "Mobilité rurale": "voiture contre transports, arrêts desservis le matin, lycées",
        "Stages collectifs": "projets de stages collectifs et zones à combler",
        "Territoire": "la fiche d'un EPCI ou d'une commune, avec téléchargements",
        "Rapports": "rapports CSV, XLSX et PDF à télécharger",
        "Import": "importer de nouvelles offres (administrateurs)",
        "Données": "sources, licences, lignes rejetées et schéma",
        "Accessibilité": "déclaration d'accessibilité (RGAA)",
    }
    for k, (p, t, i) in enumerate(links):
        with cols[k % 3]:
            st.page_link(p, label=f"{t} — {texts.get(t, '')}", icon=i)


def main() -> None:
    pages = [st.Page(home, title="Accueil", icon=":material/home:", default=True)]
    for path, title, url, icon in PAGES:
        if (ROOT / path).exists():
            pages.append(st.Page(path, title=title, url_path=url, icon=icon))
    _start_warmup()
    page = st.navigation(pages)
    if os.environ.get("OBSERVATOIRE_TIMING"):
        t0 = time.perf_counter()
        try:
            page.run()
        finally:
            print(f"[timing] {page.title}: {time.perf_counter() - t0:.3f} s", file=sys.stderr,
                  flush=True)
    else:
        page.run()
    from ui import a11y

    a11y.footer()  # « Accessibilité : … » on every page (RGAA)


def _start_warmup() -> None:
    """Warm the data caches once per server process in a background thread (never blocks
    nor fails the page; see :mod:`ui.warmup`)."""
    try:
        from ui import warmup

        warmup.start()
    except Exception:  # noqa: BLE001 - an optimisation only
        import logging

        logging.getLogger("observatoire.warmup").warning("préchauffage non lancé", exc_info=True)


if __name__ == "__main__":  # streamlit runs the script as __main__
    main()
