"""Couverture: coverage gaps by commune or EPCI for the chosen mode, budget and offer filters."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analysis import catalogue, text
from analysis.outputs import maps
from ui import core, data, filters, mapping, panels

LEVELS = {"commune": "Communes", "epci": "EPCI"}
#: Rows of the ranking shown at once (all in the full table and the download).
TOP = 25


def choices(view) -> tuple[str, str, bool]:
    """The map's level, indicator and « hide the EPCI mostly outside Normandie » (URL-backed)."""
    c1, c2 = st.columns([1, 2])
    k_level = core.state("cov_level", core.qp_get("niveau_carte", "epci", LEVELS))
    c1.radio("Maille", list(LEVELS), key=k_level, format_func=LEVELS.get, horizontal=True)
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
    return level, ind, hide_outside


def coverage_map(view, level: str, ind: str, tab: pd.DataFrame, pts: pd.DataFrame, v: int) -> pd.DataFrame:
    """The indicator's map with the offers and lycées; returns the territories ranked."""
    spec = catalogue.map_indicators()[ind]
    # large communes: every pupil starts at the town hall (docs/indicators.md, « origine unique »)
    single = data.single_origin_notes(v) if level == "commune" and view.origin_kind == "commune" else {}
    label = core.indicator_label(ind, view.mode)
    # outlines drawn once in the base map (named after the indicator, not the mode), recoloured
    panel = panels.MapPanel(
        key="cov_map",
        geojson=data.geojson(level, v),
        table=tab,
        column=spec.column(view.mode),
        label=label,
        unit=spec.unit,
        decimals=spec.decimals,
        palette=spec.palette,
        scale=spec.scale,
        name=core.indicator_label(ind),
        layer_control=False,
        notes=single,
        higher_is_worse=spec.higher_is_worse,
        height=640,
        outlines=True,
        control=True,
    )

    def overlays(m) -> list:
        g_off = mapping.group("Offres de stage")
        mapping.offers_layer(g_off, pts)
        mapping.schools_layer(m, data.school_points(v))
        mapping.points_legend_box(m)
        return [g_off]

    # one ranking (analysis.outputs.ranking): the table below and "En bref" both read its first row
    panels.show_map(panel, overlays=overlays)
    ranked = panels.ranked(panel)
    ranked["_v"] = pd.to_numeric(ranked[panel.column], errors="coerce") * spec.scale
    return ranked


def mark_outside(ranked: pd.DataFrame, v: int) -> pd.DataFrame:
    """EPCI: flag those mostly outside Normandie (``mostly_outside``) and add their share."""
    ranked = ranked.merge(data.epci_region_share(v), on="code", how="left")
    ranked["mostly_outside"] = ranked["mostly_outside"].fillna(False).astype(bool)
    return ranked


def drop_outside(ranked: pd.DataFrame) -> pd.DataFrame:
    """The ranking without the EPCI mostly outside Normandie, ranks renumbered."""
    ranked = ranked[~ranked["mostly_outside"]].reset_index(drop=True)
    ranked["rank"] = range(1, len(ranked) + 1)
    return ranked


def summary_sentence(view, level: str, ind: str, ranked: pd.DataFrame, pts: pd.DataFrame) -> None:
    """« En bref »: territories known, the least favourable, the median, the offers shown."""
    spec = catalogue.map_indicators()[ind]
    label, unit, dec = core.indicator_label(ind, view.mode), spec.unit, spec.decimals
    vals = ranked["_v"]
    n_known = int(vals.notna().sum())
    worst = ranked.iloc[0] if n_known else None
    noun = "communes" if level == "commune" else "EPCI"
    summary = (
        f"{label[:1].lower() + label[1:]} par "
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
    panels.brief(
        summary + f". Points orange : {text.count(int(pts['n_offers'].sum()) if len(pts) else 0, 'offre filtrée')}"
        " (regroupées par lieu, chiffre = nombre de lieux) ; lycées en bleu."
    )


def estimates(view, v: int) -> None:
    """The estimate badge: estimated pupils, large communes, offers at the town hall, times."""
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


def ranking_table(view, level: str, ind: str, ranked: pd.DataFrame, v: int) -> pd.DataFrame:
    """The ranking's columns, in French, least favourable first."""
    spec = catalogue.map_indicators()[ind]
    label, unit, dec = core.indicator_label(ind, view.mode), spec.unit, spec.decimals
    names_shown = ranked["name"]
    if level == "epci":
        names_shown = names_shown.where(~ranked["mostly_outside"], names_shown + " (majoritairement hors Normandie)")
    else:
        single = data.single_origin_notes(v) if view.origin_kind == "commune" else {}
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
    return table


def ranking_caption(level: str, n_rows: int, n_outside: int, hide_outside: bool) -> str:
    """The caption over the ranking: its order, the rows shown, the EPCI mostly outside."""
    noun = "communes" if level == "commune" else "EPCI"
    outside_note = ""
    if level == "epci" and n_outside:
        outside_note = f" {n_outside} EPCI majoritairement hors Normandie " + (
            "masqués (case du panneau latéral)."
            if hide_outside
            else "signalés : seules leurs communes normandes sont comptées."
        )
    return (
        f"{text.format_count(n_rows)} {noun}, du plus défavorable au plus favorable selon l'indicateur choisi "
        "(à égalité : le plus d'élèves concernés d'abord, puis par nom)"
        + (
            f" : les {TOP} {'premières' if level == 'commune' else 'premiers'} ci-dessous, "
            f"{'toutes' if level == 'commune' else 'tous'} dans le tableau complet et le téléchargement."
            if n_rows > TOP
            else "."
        )
        + outside_note
    )


def render() -> None:
    """The Couverture page."""
    core.page_setup("Couverture", "🗺️")
    st.title("Couverture : où les élèves manquent-ils d'offres accessibles ?")
    v = core.require_travel_times()
    view = filters.sidebar("cov")
    level, ind, hide_outside = choices(view)
    try:
        tab = data.territory_table(level, view.filters, v)
    except Exception as exc:  # noqa: BLE001 - e.g. a budget beyond the computed horizon
        st.error(f"Indicateur impossible à calculer : {exc}")
        st.stop()
    pts = data.offer_points(view.filters, v)
    ranked = coverage_map(view, level, ind, tab, pts, v)
    n_outside = 0
    if level == "epci":
        ranked = mark_outside(ranked, v)
        n_outside = int(ranked["mostly_outside"].sum())
        if hide_outside:
            ranked = drop_outside(ranked)
    summary_sentence(view, level, ind, ranked, pts)
    estimates(view, v)
    noun = "communes" if level == "commune" else "EPCI"
    st.header(f"Classement des {noun}")
    table = ranking_table(view, level, ind, ranked, v)
    panels.ranked_table(
        table,
        ranking_caption(level, len(table), n_outside, hide_outside),
        f"Tableau complet ({text.format_count(len(table))} {noun}, tri et recherche)",
        "cov_full",
        top=TOP,
    )
    core.report_downloads(
        "region",
        "28",
        view.filters,
        table,
        f"couverture_{level}_{view.mode}_{view.minutes}min.csv",
        "cov",
    )
    core.footer_sources()


render()
