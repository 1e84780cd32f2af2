"""Couverture: coverage gaps by commune or EPCI for the chosen mode, budget and offer filters."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analysis import catalogue, text
from analysis.outputs import maps, ranking
from ui import core, data, filters, mapping

core.page_setup("Couverture", "🗺️")
st.title("Couverture : où les élèves manquent-ils d'offres accessibles ?")
v = core.require_travel_times()

view = filters.sidebar("cov")
levels = {"commune": "Communes", "epci": "EPCI"}
c1, c2 = st.columns([1, 2])
k_level = core.state("cov_level", core.qp_get("niveau_carte", "epci", levels))
c1.radio("Maille", list(levels), key=k_level, format_func=levels.get, horizontal=True)
indicators = catalogue.map_indicators()
k_ind = core.state(
    "cov_ind", core.qp_get("indicateur", "share_no_offer", {k: core.indicator_label(k) for k in indicators})
)
c2.selectbox("Indicateur", list(indicators), key=k_ind, format_func=core.indicator_label)
level, ind = st.session_state[k_level], st.session_state[k_ind]
k_hide = core.state("cov_hide_outside", core.qp_get("masquer_hors", "", ["", "1"]) == "1")
if level == "epci":
    st.sidebar.checkbox(
        "Masquer les EPCI majoritairement hors Normandie",
        key=k_hide,
        help="EPCI dont moins de la moitié de la population vit en Normandie "
        "(seules leurs communes normandes sont dans la base).",
    )
hide_outside = level == "epci" and bool(st.session_state[k_hide])
core.sync_query(
    {**view.query(), "niveau_carte": level, "indicateur": ind, "masquer_hors": "1" if hide_outside else None}
)

spec = indicators[ind]
label, unit, scale, dec = core.indicator_label(ind, view.mode), spec.unit, spec.scale, spec.decimals
pal, worse_high = spec.palette, spec.higher_is_worse
col = spec.column(view.mode)
try:
    tab = data.territory_table(level, view.filters, v)
except Exception as exc:  # noqa: BLE001 - e.g. a budget beyond the computed horizon
    st.error(f"Indicateur impossible à calculer : {exc}")
    st.stop()
pts = data.offer_points(view.filters, v)
# large communes: every pupil starts at the town hall (docs/indicators.md, « origine unique »)
single = data.single_origin_notes(v) if level == "commune" and view.origin_kind == "commune" else {}
sch = data.school_points(v)

m = mapping.base_map()
g_ind, g_off = mapping.group(label, control=False), mapping.group("Offres de stage")
# outlines drawn once in the base map (named after the indicator, not the mode), recoloured
mapping.choropleth(
    g_ind,
    data.geojson(level, v),
    tab,
    "code",
    col,
    label,
    unit,
    decimals=dec,
    palette=pal,
    reverse=False,
    scale=scale,
    name=core.indicator_label(ind),
    outlines=m,
    notes=single,
)
mapping.offers_layer(g_off, pts)
mapping.schools_layer(m, sch)
mapping.points_legend_box(m)
mapping.show(m, "cov_map", height=640, layers=[g_ind, g_off], control=True)

# one ranking (analysis.outputs.ranking): the table below and "En bref" both read its first row
ranked = ranking.rank_territories(tab, col, higher_is_worse=worse_high)
ranked["_v"] = pd.to_numeric(ranked[col], errors="coerce") * scale
if level == "epci":
    ranked = ranked.merge(data.epci_region_share(v), on="code", how="left")
    ranked["mostly_outside"] = ranked["mostly_outside"].fillna(False).astype(bool)
    n_outside = int(ranked["mostly_outside"].sum())
    if hide_outside:
        ranked = ranked[~ranked["mostly_outside"]].reset_index(drop=True)
        ranked["rank"] = range(1, len(ranked) + 1)
vals = ranked["_v"]
n_known = int(vals.notna().sum())
worst = ranked.iloc[0] if n_known else None
noun = "communes" if level == "commune" else "EPCI"
summary = (
    f"**En bref :** {label[:1].lower() + label[1:]} par "
    f"{noun[:-1] if level == 'commune' else 'EPCI'} ({view.describe()}) — "
    + (
        text.count(n_known, "commune renseignée")
        if level == "commune"
        else text.count(n_known, "EPCI renseigné", "EPCI renseignés")
    )
)
if worst is not None:
    wv = worst["_v"]
    summary += (
        f" ; valeur la plus défavorable : {maps.format_number(wv, dec)} {unit} "
        f"({worst['name']}) ; médiane : {maps.format_number(vals.median(), dec)} {unit}"
    )
st.markdown(
    summary + f". Points orange : {text.count(int(pts['n_offers'].sum()) if len(pts) else 0, 'offre filtrée')}"
    " (regroupées par lieu, chiffre = nombre de lieux) ; lycées en bleu."
)

summary_counts = data.offers_summary(v)
est = data.estimate_counts(v)
notes = []
if view.origin_kind == "commune":
    notes.append("élèves par commune de résidence estimés (total régional réparti au prorata de la population)")
    n_single = len(data.single_origin_notes(v))
    if n_single:
        notes.append(
            f"{text.count(n_single, 'grande commune')} (50 km² ou plus, ou communes nouvelles) "
            f"{'comptée' if n_single < 2 else 'comptées'} depuis leur seule mairie : « {catalogue.SINGLE_ORIGIN} »"
        )
notes.append(
    f"offres placées à la mairie de leur commune ({text.format_count(summary_counts['at_commune_centre'])} "
    f"sur {text.format_count(summary_counts['offers'])})"
)
notes.append("1 place par offre faute de capacité connue")
est_note = core.estimated_times_note(view.mode, est)
if est_note:
    notes.append(est_note)
core.estimate_badge(" ; ".join(notes) + ".")

st.header(f"Classement des {noun}")
names_shown = ranked["name"]
if level == "epci":
    names_shown = names_shown.where(~ranked["mostly_outside"], names_shown + " (majoritairement hors Normandie)")
else:
    names_shown = names_shown.where(~ranked["code"].isin(single), names_shown + f" ({catalogue.SINGLE_ORIGIN})")
table = pd.DataFrame(
    {
        "Rang": ranked["rank"].to_numpy(),
        "Territoire": names_shown.to_numpy(),
        "Code": ranked["code"].to_numpy(),
        f"{label} ({unit})": ranked["_v"].round(dec if dec else 0).to_numpy(),
        "Élèves" + (" (estimés)" if view.origin_kind == "commune" else ""): ranked["pupils"].round(0).to_numpy(),
        "Élèves sans offre accessible": ranked["pupils_no_offer"].round(0).to_numpy(),
        "Offres accessibles par élève (moy.)": ranked["offers_reachable_mean"].round(1).to_numpy(),
        "Offres situées": ranked["offers_located"].to_numpy(),
        "Temps médian à l'offre la plus proche (min)": ranked[f"median_minutes_{view.mode}"].round(0).to_numpy(),
        "Temps estimés à vol d'oiseau": ranked["uses_estimated_times"].map({True: "oui", False: "non"}).to_numpy(),
    }
)
if level == "epci":
    table["Population de l'EPCI en Normandie (%)"] = (ranked["share_in_region"] * 100).round(1).to_numpy()
TOP = 25
outside_note = ""
if level == "epci" and n_outside:
    outside_note = f" {n_outside} EPCI majoritairement hors Normandie " + (
        "masqués (case du panneau latéral)."
        if hide_outside
        else "signalés : seules leurs communes normandes sont comptées."
    )
st.caption(
    f"{text.format_count(len(table))} {noun}, du plus défavorable au plus favorable selon l'indicateur choisi "
    "(à égalité : le plus d'élèves concernés d'abord, puis par nom)"
    + (
        f" : les {TOP} {'premières' if level == 'commune' else 'premiers'} ci-dessous, "
        f"{'toutes' if level == 'commune' else 'tous'} dans le tableau complet et le téléchargement."
        if len(table) > TOP
        else "."
    )
    + outside_note
)
core.html_table(table, max_rows=TOP, height=420)
with core.table_expander(
    f"Tableau complet ({text.format_count(len(table))} {noun}, tri et recherche)", "cov_full"
) as opened:
    if opened:
        st.dataframe(table, hide_index=True, width="stretch", height=360)
core.report_downloads(
    "region",
    "28",
    view.filters,
    table,
    f"couverture_{level}_{view.mode}_{view.minutes}min.csv",
    "cov",
)
core.footer_sources()
