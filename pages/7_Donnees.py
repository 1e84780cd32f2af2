"""Données: datasets with publisher, licence and vintage, rejected rows, quarantine, schema."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from ui import core, data

core.page_setup("Données", "📚")
st.title("Données : sources, licences, millésimes et contrôles")
v = core.db_version()

tabs = {"sources": "Sources", "rejets": "Lignes rejetées", "quarantaine": "Quarantaine des imports",
        "tables": "Tables", "schema": "Schéma"}
k_tab = core.state("data_tab", core.qp_get("vue", "sources", list(tabs)))
st.radio("Afficher", list(tabs), key=k_tab, format_func=tabs.get, horizontal=True,
         label_visibility="collapsed")
tab = st.session_state[k_tab]
core.sync_query({"vue": tab})

if tab == "sources":
    prov = data.provenance(v)
    st.markdown(f"**{len(prov)} fichiers sources** chargés dans la base. Chaque ligne indique le "
                "producteur, la licence, le millésime, le nombre de lignes lues et l'empreinte "
                "SHA-256 du fichier.")
    cols = {"dataset": "Jeu de données", "description": "Description", "publisher": "Producteur",
            "licence": "Licence", "vintage": "Millésime", "rows": "Lignes (nombre)",
            "path": "Fichier", "url": "Adresse", "sha256": "SHA-256", "loaded_at": "Chargé le"}
    show = prov[[k for k in cols if k in prov.columns]].rename(columns=cols)
    st.dataframe(show, hide_index=True, width="stretch")
    st.download_button("Télécharger la provenance (CSV)", core.csv_bytes(show),
                       file_name="provenance.csv", mime="text/csv")
    info = data.build_info(v)
    if info:
        st.caption("Construction de la base : " + " · ".join(
            f"{k} = {val}" for k, val in info.items() if k != "settings"))

elif tab == "rejets":
    rej = data.offer_rejects(v)
    if rej is None:
        st.info("Table offer_rejects absente.")
    else:
        n_off = data.offer_count(v)
        st.markdown(f"Offres : **{n_off:,} lignes chargées** et **{len(rej):,} lignes rejetées** "
                    "au chargement (lignes lues = chargées + rejetées).".replace(",", "\u202f"))
        if rej.empty:
            st.success("Aucune ligne rejetée : toutes les offres ont été chargées et situées.")
        else:
            st.dataframe(rej.value_counts(["field", "reason"]).reset_index().rename(columns={
                "field": "Champ", "reason": "Motif", "count": "Lignes"}), hide_index=True,
                width="stretch")
            st.dataframe(rej.rename(columns={"source": "Source", "row_number": "Ligne",
                                             "field": "Champ", "reason": "Motif",
                                             "raw": "Contenu brut"}),
                         hide_index=True, width="stretch")
    if data.has("offers"):
        prec = data.location_precision_counts(v)
        core.estimate_badge("Précision de localisation des offres : " + " ; ".join(
            f"{'centre de la commune' if p == 'commune' else p} : {n}"
            for p, n in zip(prec["location_precision"], prec["n"])) + " offres.")

elif tab == "quarantaine":
    q = data.import_quarantine(v)
    if q is None:
        st.info("Aucun import n'a encore été fait : la table import_quarantine n'existe pas. "
                "Les lignes refusées lors d'un import (page « Import ») s'afficheront ici.")
    else:
        st.markdown(f"**{len(q):,} ligne(s) en quarantaine**, avec le fichier, la ligne, le "
                    "champ et le motif.".replace(",", "\u202f"))
        if len(q) and {"field", "reason"} <= set(q.columns):
            st.dataframe(q.value_counts(["field", "reason"]).reset_index().rename(columns={
                "field": "Champ", "reason": "Motif", "count": "Lignes"}), hide_index=True,
                width="stretch")
        st.dataframe(q, hide_index=True, width="stretch")
        if data.has("imports"):
            st.markdown("**Journal des imports**")
            st.dataframe(data.import_log(v, full=True), hide_index=True, width="stretch")

elif tab == "tables":
    counts = data.table_counts(v)
    st.dataframe(pd.DataFrame(counts, columns=["Table", "Lignes (nombre)"]), hide_index=True,
                 width="stretch")
    est = data.estimate_counts(v)
    if est:
        st.caption("Temps de trajet estimés à vol d'oiseau (pas de réseau) : " + " ; ".join(
            f"{core.MODE_LABELS.get(m, m).lower()} : {core.fnum(n)}" for m, n in est.items()))

else:
    path = Path(__file__).resolve().parent.parent / "docs" / "schema.md"
    if path.exists():
        st.markdown(path.read_text(encoding="utf-8"))
    else:
        st.info("docs/schema.md absent.")
core.footer_sources()
