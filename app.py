"""Observatoire des stages — Normandie: entry point (navigation) and the Accueil page.

Run: ``streamlit run app.py`` (the database is built by ``python -m analysis.build``).
"""

from __future__ import annotations

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
    ("pages/8_Planification.py", "Planification", "planification", ":material/event_note:"),
    ("pages/11_Scenarios.py", "Scénarios", "scenarios", ":material/alt_route:"),
    ("pages/4_Territoire.py", "Territoire", "territoire", ":material/location_on:"),
    ("pages/10_Eleves.py", "Élèves", "eleves", ":material/school:"),
    ("pages/5_Rapports.py", "Rapports", "rapports", ":material/description:"),
    ("pages/6_Import.py", "Import", "import", ":material/upload_file:"),
    ("pages/7_Donnees.py", "Données", "donnees", ":material/dataset:"),
    ("pages/9_Accessibilite.py", "Accessibilité", "accessibilite", ":material/accessibility_new:"),
]


def home() -> None:
    """Accueil: key regional figures, EPCI map of the main indicator, vintages, next steps."""
    import pandas as pd

    from analysis import access, catalogue, config, text
    from analysis.outputs import maps, ranking
    from ui import core, data, mapping

    core.page_setup("Accueil", "🏠")
    st.title("Observatoire des stages de seconde — Normandie")
    st.markdown(
        "Quelles offres de stage chaque élève de seconde de Normandie peut-il **réellement "
        "atteindre** — à pied, à vélo, en transports en commun le matin, en voiture — et quels "
        "territoires manquent d'offres ?"
    )
    v = core.require_travel_times()
    budget = config.DEFAULT_BUDGET_MIN  # the default view: access.Filters()

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
        f"Sans offre à {budget} min en {tc_short} ou à pied",
        core.fnum(r["pupils_no_offer_transit"], 0, "élèves"),
        help="Élèves (estimés par commune de résidence) n'ayant aucune offre accessible "
        f"{core.mode_label('transit', 'phrase')} en {budget} min le matin.",
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

    st.header("Carte régionale par EPCI")
    indicators = {k: catalogue.indicator(k) for k in ("share_no_offer_transit", "offers_per_100_pupils")}
    titles = {k: core.indicator_label(k) + (f" à {budget} min" if k.startswith("share") else "") for k in indicators}
    key = core.state("home_ind", core.qp_get("indicateur", "share_no_offer_transit", titles))
    st.radio("Indicateur", list(indicators), key=key, horizontal=True, format_func=titles.get)
    ind = st.session_state[key]
    core.sync_query({"indicateur": ind})
    spec = indicators[ind]
    label, unit, scale, dec, pal, rev = titles[ind], spec.unit, spec.scale, spec.decimals, spec.palette, False
    epci = data.territory_table("epci", access.Filters(), v)
    m = mapping.base_map()
    g = mapping.group(label)
    mapping.choropleth(
        g, data.geojson("epci", v), epci, "code", ind, label, unit, decimals=dec, palette=pal, reverse=rev, scale=scale
    )
    mapping.show(m, "home_map", height=560, layers=[g])
    # one ranking (analysis.outputs.ranking), least favourable first: "En bref" and the table read it
    worse_high = catalogue.INDICATORS[ind].higher_is_worse
    epci = ranking.rank_territories(epci, ind, higher_is_worse=worse_high)
    vals = pd.to_numeric(epci[ind], errors="coerce") * scale
    known = epci[vals.notna()]
    first, last = known.iloc[0], known.iloc[-1]
    lo, hi = (last, first) if worse_high else (first, last)
    st.markdown(
        f"**En bref :** {label[:1].lower() + label[1:]} par EPCI (origine : communes de résidence, élèves estimés) "
        f"— de {maps.format_number(vals.min(), dec)} {unit} ({lo['name']}) à "
        f"{maps.format_number(vals.max(), dec)} {unit} ({hi['name']}) ; "
        f"région : {maps.format_number(float(r[ind]) * scale, dec)} {unit}."
    )
    with core.table_expander("Tableau de la carte (alternative textuelle)", "home_table") as opened:
        if opened:
            tab = pd.DataFrame(
                {
                    "EPCI": epci["name"],
                    "SIREN": epci["code"],
                    "Élèves (estimés)": epci["pupils"].round(0),
                    "Offres situées": epci["offers_located"],
                    "Offres pour 100 élèves": epci["offers_per_100_pupils"].round(1),
                    f"Élèves sans offre à {budget} min en {tc_short} ou à pied": epci["pupils_no_offer_transit"].round(
                        0
                    ),
                    f"Part sans offre à {budget} min en {tc_short} ou à pied (%)": (
                        epci["share_no_offer_transit"] * 100
                    ).round(1),
                }
            )
            core.html_table(tab, height=420)

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

    st.header("Aller plus loin")
    cols = st.columns(3)
    links = [(p, t, i) for p, t, _, i in PAGES if (ROOT / p).exists()]
    texts = {
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
    for k, (p, t, i) in enumerate(links):
        with cols[k % 3]:
            # the page name as the link and its description beneath, wrapped: a page link is
            # one line, cut with an ellipsis when the description followed the name
            st.page_link(p, label=t, icon=i)
            st.caption(texts.get(t, ""))


def main() -> None:
    pages = [st.Page(home, title="Accueil", icon=":material/home:", default=True)]
    for path, title, url, icon in PAGES:
        if (ROOT / path).exists():
            pages.append(st.Page(path, title=title, url_path=url, icon=icon))
    _start_warmup()
    page = st.navigation(pages)
    from analysis import settings
    from ui import core

    if settings.current().timing_on:
        t0 = time.perf_counter()
        try:
            with core.guard(getattr(page, "title", "page")):
                page.run()
        finally:
            print(
                f"[timing] {getattr(page, 'title', 'page')}: {time.perf_counter() - t0:.3f} s",
                file=sys.stderr,
                flush=True,
            )
    else:
        with core.guard(getattr(page, "title", "page")):  # no traceback in the browser (French message + log)
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
