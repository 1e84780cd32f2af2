"""Couverture: coverage gaps by commune or EPCI for the chosen mode, budget and offer filters."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analysis import maps
from ui import core, data, filters, mapping

core.page_setup("Couverture", "🗺️")
st.title("Couverture : où les élèves manquent-ils d'offres accessibles ?")
v = core.require_travel_times()

view = filters.sidebar("cov")
levels = {"commune": "Communes", "epci": "EPCI"}
c1, c2 = st.columns([1, 2])
k_level = core.state("cov_level", core.qp_get("niveau_carte", "epci", list(levels)))
c1.radio("Maille", list(levels), key=k_level, format_func=levels.get, horizontal=True)
k_ind = core.state("cov_ind", core.qp_get("indicateur", "share_no_offer", list(core.INDICATORS)))
c2.selectbox("Indicateur", list(core.INDICATORS), key=k_ind,
             format_func=lambda k: core.INDICATORS[k][0])
level, ind = st.session_state[k_level], st.session_state[k_ind]
core.sync_query({**view.query(), "niveau_carte": level, "indicateur": ind})

label, unit, scale, dec, pal, worse_high = core.INDICATORS[ind]
col = core.indicator_column(ind, view.mode)
if ind == "median_minutes":
    label = f"{label} ({core.MODE_LABELS[view.mode].lower()})"
try:
    tab = data.territory_table(level, view.mode, view.minutes, view.sectors, view.grade,
                               view.host, view.origin_kind, v)
except Exception as exc:  # noqa: BLE001 - e.g. a budget beyond the computed horizon
    st.error(f"Indicateur impossible à calculer : {exc}")
    st.stop()
pts = data.offer_points(view.sectors, view.grade, view.host, v)
sch = data.school_points(v)

m = mapping.base_map()
g_ind, g_off = mapping.group(label, control=False), mapping.group("Offres de stage")
# outlines drawn once in the base map (named after the indicator, not the mode), recoloured
mapping.choropleth(g_ind, data.geojson(level, v), tab, "code", col, label, unit, decimals=dec, palette=pal,
                   reverse=False, scale=scale, name=core.INDICATORS[ind][0], outlines=m)
mapping.offers_layer(g_off, pts)
mapping.schools_layer(m, sch)
mapping.points_legend_box(m)
mapping.show(m, "cov_map", height=560, layers=[g_ind, g_off], control=True)

vals = pd.to_numeric(tab[col], errors="coerce") * scale
n_known = int(vals.notna().sum())
worst = tab.loc[vals.idxmax() if worse_high else vals.idxmin()] if n_known else None
noun = "communes" if level == "commune" else "EPCI"
summary = (f"**En bref :** {label.lower()} par {noun[:-1] if level == 'commune' else 'EPCI'} "
           f"({view.describe()}) — {n_known} {noun} renseignés")
if worst is not None:
    wv = vals[worst.name]
    summary += (f" ; valeur la plus défavorable : {maps.format_number(wv, dec)} {unit} "
                f"({worst['name']}) ; médiane : {maps.format_number(vals.median(), dec)} {unit}")
st.markdown(summary + f". Points orange : {int(pts['n_offers'].sum()) if len(pts) else 0} "
            "offres filtrées (regroupées par lieu, chiffre = nombre de lieux) ; lycées en bleu.")

summary_counts = data.offers_summary(v)
est = data.estimate_counts(v)
notes = []
if view.origin_kind == "commune":
    notes.append("élèves par commune de résidence estimés (total régional réparti au prorata "
                 "de la population)")
notes.append(f"offres placées au centre de leur commune ({summary_counts['at_commune_centre']} "
             f"sur {summary_counts['offers']})")
notes.append("1 place par offre faute de capacité connue")
if est.get(view.mode if view.mode != "transit" else "walk", 0):
    n_est = est.get(view.mode if view.mode != "transit" else "walk", 0)
    notes.append(f"{core.fnum(n_est)} temps {core.MODE_LABELS[view.mode].lower()} estimés à vol "
                 "d'oiseau (pas de réseau à proximité)")
core.estimate_badge(" ; ".join(notes) + ".")

st.subheader(f"Classement des {noun}")
order_worst = not worse_high
ranked = tab.assign(_v=vals).sort_values("_v", ascending=order_worst, na_position="last")
table = pd.DataFrame({
    "Rang": range(1, len(ranked) + 1),
    "Territoire": ranked["name"].to_numpy(),
    "Code": ranked["code"].to_numpy(),
    f"{label} ({unit})": ranked["_v"].round(dec if dec else 0).to_numpy(),
    "Élèves" + (" (estimés)" if view.origin_kind == "commune" else ""):
        ranked["pupils"].round(0).to_numpy(),
    "Élèves sans offre accessible": ranked["pupils_no_offer"].round(0).to_numpy(),
    "Offres accessibles par élève (moy.)": ranked["offers_reachable_mean"].round(1).to_numpy(),
    "Offres situées": ranked["offers_located"].to_numpy(),
    "Temps médian à l'offre la plus proche (min)":
        ranked[f"median_minutes_{view.mode}"].round(0).to_numpy(),
    "Temps estimés à vol d'oiseau": ranked["uses_estimated_times"].map(
        {True: "oui", False: "non"}).to_numpy(),
})
TOP = 25
st.caption(f"{len(table)} {noun}, du plus défavorable au plus favorable selon l'indicateur choisi"
           + (f" : les {TOP} premiers ci-dessous, tous dans le tableau complet et le téléchargement."
              if len(table) > TOP else "."))
core.html_table(table, max_rows=TOP, height=420)
with core.table_expander(f"Tableau complet ({len(table)} {noun}, tri et recherche)", "cov_full") as opened:
    if opened:
        st.dataframe(table, hide_index=True, width="stretch", height=360)
core.report_downloads("region", "28",
                      data.filters_of(view.mode, view.minutes, view.sectors, view.grade,
                                      view.host, view.origin_kind),
                      table, f"couverture_{level}_{view.mode}_{view.minutes}min.csv", "cov")
core.footer_sources()
