"""Mobilité rurale: car versus public transport, density classes, stops served in the morning,
minutes from a chosen commune or lycée, lycées ranked by pupils without a reachable offer."""

from __future__ import annotations

import folium
import pandas as pd
import streamlit as st

from analysis import access, catalogue, text
from analysis.outputs import maps
from analysis.sanitize import html_text
from ui import charts, core, data, filters, mapping, panels

DENSITY_LABELS = access.DENSITY_LABELS
KIND_COLOURS = {"train": "#D55E00", "car": "#56B4E9", "train et car": "#CC79A7", "sans desserte": "#999999"}
ORIGIN_KINDS = {"school": "Un lycée", "commune": "Une commune"}
#: Classes of the « minutes from an origin » map.
MINUTE_BREAKS = [15.0, 30.0, 45.0, 60.0, 90.0]


def stops_geojson(df: pd.DataFrame, small_unserved: bool = True) -> dict:
    """Stops as GeoJSON points (colour by kind, tooltip with morning departures)."""
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [r.lon, r.lat]},
                "properties": {
                    "colour": KIND_COLOURS.get(r.kind, "#999999"),
                    "line": "#000000",
                    "radius": 3 if (small_unserved and r.morning_departures == 0) else 5,
                    "tip": f"<b>{html_text(r.name)}</b> ({html_text(r.kind)})<br>"
                    f"{text.count(r.morning_departures, 'départ')} entre "
                    f"{maps.MORNING_WINDOW[0]} et {maps.MORNING_WINDOW[1]}",
                },
            }
            for r in df.itertuples()
        ],
    }


def budget_sidebar() -> int:
    """The sidebar's time budget (URL-backed), in minutes."""
    sb = st.sidebar
    sb.header("Filtres")
    minutes = filters.budget_choice("mob_minutes")
    core.sync_query({"minutes": minutes})
    sb.caption("Le lien de la page (barre d'adresse) conserve ces choix.")
    return minutes


def served_stops_layer(m, v: int) -> list:
    """The stops served in the morning, drawn once in the base map (hidden at first)."""
    stops_df, _day = data.stops(v)
    if len(stops_df):
        served = stops_df[stops_df["morning_departures"] > 0]
        mapping.FastGeoJson(
            stops_geojson(served), "Arrêts desservis le matin (TER train et car)", opacity=1.0, weight=1, show=False
        ).add_to(m)
    return []


def gap_table(gap: pd.DataFrame, tc_short: str) -> pd.DataFrame:
    """The car / transit map's table (text alternative), largest gap first."""
    t = gap.sort_values("gap", ascending=False)
    return pd.DataFrame(
        {
            "Commune": t["name"],
            "Code INSEE": t["code"],
            "Élèves (estimés)": t["pupils"].round(0),
            "Offres accessibles en voiture (moy.)": t["offers_reachable_car_mean"].round(1),
            f"Offres accessibles en {tc_short} ou à pied (moy.)": t["offers_reachable_transit_mean"].round(1),
            "Écart (offres)": t["gap"].round(1),
            f"Rapport voiture / {tc_short}": t["car_transit_ratio"].round(1),
        }
    )


def car_transit_gap(car: pd.DataFrame) -> pd.DataFrame:
    """Per commune: offers reachable by car minus by transit (``gap``), with the map's columns."""
    gap = car[
        [
            "code",
            "name",
            "pupils",
            "density_class",
            "density_per_km2",
            "offers_reachable_car_mean",
            "offers_reachable_transit_mean",
            "car_transit_ratio",
            "n_stops",
            "morning_departures",
        ]
    ].copy()
    gap["gap"] = gap["offers_reachable_car_mean"] - gap["offers_reachable_transit_mean"]
    return gap


def gap_section(minutes: int, v: int) -> pd.DataFrame:
    """« 1. Écart voiture / transports en commun » (map, En bref, table); returns the car table."""
    nets = core.networks()
    tc_phrase = core.mode_label("transit", "phrase")  # « en transports en commun (TER seulement) ou à pied »
    tc_short = catalogue.transit_short(nets)  # « TER » when it is the only network loaded
    st.header("1. Écart voiture / transports en commun")
    car = data.territory_table("commune", access.Filters(mode="car", minutes=minutes), v)
    gap = car_transit_gap(car)
    panel = panels.MapPanel(
        key="mob_gap_map",
        geojson=data.geojson("commune", v),
        table=gap,
        column="gap",
        label=f"Offres en plus accessibles en voiture ({minutes} min)",
        unit="offres",
        decimals=0,
        palette="cividis",
        reverse=True,
        name=f"Écart voiture / {tc_short}",
        layer=f"Écart voiture / {tc_short}",
        layer_control=False,
        height=600,
        outlines=True,
        control=True,
    )
    panels.show_map(panel, overlays=lambda m: served_stops_layer(m, v))
    n_zero_tc = int((gap["offers_reachable_transit_mean"] == 0).sum())
    panels.brief(
        f"nombre moyen d'offres accessibles en {minutes} min en voiture moins "
        f"{tc_phrase}, par commune : écart médian "
        f"{maps.format_number(gap['gap'].median(), 0)} offres ; "
        f"{text.count(n_zero_tc, 'commune')} sur {text.format_count(len(gap))} "
        f"n'{'atteignent' if n_zero_tc > 1 else 'atteint'} aucune offre {tc_phrase} en {minutes} min."
    )
    core.estimate_badge(
        "Élèves par commune estimés ; offres à la mairie de leur commune. " + catalogue.transit_caveat(nets)
    )
    panels.table_alternative(
        "Tableau de la carte (alternative textuelle)",
        "mob_gap_table",
        lambda: gap_table(gap, tc_short),
        grid=True,
        height=300,
    )
    return car


def density_table(car: pd.DataFrame, tc: pd.DataFrame) -> pd.DataFrame:
    """Offers reachable per pupil by car and by transit, and pupils without one, by density class."""
    tc_short = catalogue.transit_short(core.networks())
    dens = car[["code", "density_class", "pupils", "offers_reachable_car_mean"]].merge(
        tc[["code", "offers_reachable_mean", "pupils_no_offer"]], on="code"
    )
    dens["w_car"] = dens["pupils"] * dens["offers_reachable_car_mean"]
    dens["w_tc"] = dens["pupils"] * dens["offers_reachable_mean"]
    g = (
        dens.groupby("density_class", dropna=False)
        .agg(
            communes=("code", "count"),
            pupils=("pupils", "sum"),
            w_car=("w_car", "sum"),
            w_tc=("w_tc", "sum"),
            no_offer=("pupils_no_offer", "sum"),
        )
        .reset_index()
    )
    g["order"] = g["density_class"].map({k: i for i, k in enumerate(DENSITY_LABELS)})
    g = g.sort_values("order")
    return pd.DataFrame(
        {
            "Classe de densité (approximation)": g["density_class"].map(DENSITY_LABELS).fillna("—"),
            "Communes": g["communes"],
            "Élèves (estimés)": g["pupils"].round(0),
            "Offres accessibles en voiture (moy. par élève)": (g["w_car"] / g["pupils"]).round(1),
            f"Offres accessibles en {tc_short} ou à pied (moy. par élève)": (g["w_tc"] / g["pupils"]).round(1),
            f"Élèves sans offre en {tc_short} ou à pied": g["no_offer"].round(0),
            f"Part sans offre en {tc_short} ou à pied (%)": (100 * g["no_offer"] / g["pupils"]).round(1),
        }
    )


def density_section(car: pd.DataFrame, minutes: int, v: int) -> None:
    """« 2. Classes de densité »: bar chart and its table."""
    tc_short = catalogue.transit_short(core.networks())
    st.header("2. Classes de densité")
    tc = data.territory_table("commune", access.Filters(mode="transit", minutes=minutes), v)
    dtab = density_table(car, tc)
    c1, _c2 = st.columns([3, 2])
    with c1:
        # plain SVG: no chart library to load (Vega-Lite's script is 0.75 MB, Plotly's 4.7 MB)
        st.markdown(
            charts.grouped_bars_svg(
                dtab["Classe de densité (approximation)"].tolist(),
                {
                    "Voiture": dtab["Offres accessibles en voiture (moy. par élève)"].tolist(),
                    f"{tc_short} ou marche": dtab[
                        f"Offres accessibles en {tc_short} ou à pied (moy. par élève)"
                    ].tolist(),
                },
                ["#E69F00", "#0072B2"],
                "Offres accessibles / élève",
                "Classe de densité (approximation)",
            ),
            unsafe_allow_html=True,
        )
    # the table below the chart, full width (beside it, its seven columns overflowed)
    core.html_table(dtab)
    st.caption(
        "Classe de densité : approximation de la grille communale de densité INSEE à partir de "
        "la densité de population communale (dense ≥ 1 500 hab./km², intermédiaire ≥ 300, "
        "peu dense ≥ 25, très peu dense < 25)."
    )


def stops_map(cov: pd.DataFrame, stops_df: pd.DataFrame, v: int) -> None:
    """The map of the communes with a stop served in the morning, and the stops."""
    m2 = mapping.base_map()
    cov2 = cov.assign(served=cov["has_served_stop"].astype(int))
    # only the served communes are drawn (few polygons: the map stays light); the others keep the
    # white background of the départements
    served_codes = tuple(sorted(cov2.loc[cov2["has_served_stop"], "code"]))
    gj = data.geojson("commune", v, served_codes)
    props = {
        c: {
            "colour": "#009E73",
            "tip": f"<b>{html_text(n)}</b><br>arrêt desservi à {maps.format_number(d, 0)} m du centre",
        }
        for c, n, d in zip(cov2["code"], cov2["name"], cov2["nearest_served_stop_m"])
        if c in served_codes
    }
    mapping.FastGeoJson(
        maps.attach_properties(gj, props), "Communes avec arrêt desservi", opacity=0.8, line="#333333", weight=0.6
    ).add_to(m2)
    if len(stops_df):
        mapping.FastGeoJson(stops_geojson(stops_df), "Arrêts TER (train et car)", opacity=1.0, weight=0.8).add_to(m2)
    mapping.add_legend(
        m2,
        "Arrêts desservis le matin (07:00–08:30)",
        [
            ("#009E73", "commune avec arrêt desservi à moins de 1 km"),
            ("#ffffff", "autre commune (sans arrêt desservi à moins de 1 km)"),
            ("#D55E00", "arrêt de train"),
            ("#56B4E9", "arrêt de car TER"),
            ("#CC79A7", "arrêt train et car"),
            ("#999999", "arrêt sans départ le matin (petit point)"),
        ],
    )
    mapping.show(m2, "mob_stops_map", height=560, control=True)


def no_stop_table(no_stop: pd.DataFrame) -> pd.DataFrame:
    """The communes without a served stop, most populated first (French headers)."""
    return (
        no_stop.sort_values("population", ascending=False)
        .rename(
            columns={
                "code": "Code INSEE",
                "name": "Commune",
                "population": "Population (hab.)",
                "nearest_served_stop_m": "Arrêt desservi le plus proche (m)",
            }
        )
        .drop(columns=["has_served_stop"])
        .round(0)
    )


def stops_section(v: int) -> None:
    """« 3. Communes sans arrêt desservi le matin à distance de marche »."""
    st.header("3. Communes sans arrêt desservi le matin à distance de marche")
    stops_df, service_day = data.stops(v)
    cov = data.stop_coverage(v)
    no_stop = cov[~cov["has_served_stop"]]
    st.markdown(
        f"**{text.count(len(no_stop), 'commune')} sur {text.format_count(len(cov))}** ("
        + f"{core.fnum(no_stop['population'].sum(), 0, 'habitants')}) n'ont aucun arrêt avec au moins "
        f"un départ entre {maps.MORNING_WINDOW[0]} et {maps.MORNING_WINDOW[1]} à moins de "
        f"{maps.format_number(maps.WALK_RADIUS_M)} m à vol d'oiseau de leur centre (≈ 15 min à pied)"
        + (f", jour de service {service_day}." if service_day else ".")
    )
    stops_map(cov, stops_df, v)
    st.caption(catalogue.transit_caveat(core.networks()) + " Seuls les arrêts des réseaux chargés sont comptés.")
    panels.table_alternative(
        "Tableau : communes sans arrêt desservi le matin",
        "mob_stops_table",
        lambda: no_stop_table(no_stop),
        grid=True,
        height=300,
    )


def origin_choice(schools: pd.DataFrame, communes: pd.DataFrame, modes: list[str]) -> tuple:
    """Section 4's widgets (URL-backed): (origin kind, origin id or None, mode, names by id)."""
    k_kind = core.state("mob_okind", core.qp_get("depuis", "school", ORIGIN_KINDS))
    c1, c2, c3 = st.columns([1, 2, 2])
    c1.radio("Départ", list(ORIGIN_KINDS), key=k_kind, format_func=ORIGIN_KINDS.get)
    okind = st.session_state[k_kind]
    if okind == "school":
        opts = schools["uai"].tolist()
        names = dict(zip(schools["uai"], schools["name"] + " — " + schools["commune"].fillna("")))
    else:
        opts = communes["code"].tolist()
        names = dict(zip(communes["code"], communes["name"] + " (" + communes["code"] + ")"))
    # No origin until one is chosen (or given by the URL): this section's map is drawn on
    # demand, which keeps the page's first display to two maps (bench/browser.py).
    k_orig = f"mob_origin_{okind}"
    core.state(k_orig, core.qp_get("origine_id", None, opts))
    c2.selectbox(
        "Origine",
        opts,
        key=k_orig,
        format_func=names.get,
        index=None,
        placeholder="Choisir un lycée…" if okind == "school" else "Choisir une commune…",
    )
    origin_id = st.session_state[k_orig]
    mode = filters.mode_choice("mob_mode", modes, label="Mode", where=c3, radio=True)
    core.sync_query({"depuis": okind, "origine_id": origin_id, "mode": mode})
    return okind, origin_id, mode, names


def origin_map(origin: pd.Series, label: str, per_commune: pd.DataFrame, mode: str, v: int) -> None:
    """Communes coloured by the minutes to their offers from the origin (a star)."""
    gj3 = data.geojson("commune", v, tuple(per_commune["commune_code"]))
    b3 = maps.bounds_of(gj3)
    if b3:  # zoom on the reachable communes and the origin
        b3 = [
            [min(b3[0][0], origin["lat"]) - 0.05, min(b3[0][1], origin["lon"]) - 0.05],
            [max(b3[1][0], origin["lat"]) + 0.05, max(b3[1][1], origin["lon"]) + 0.05],
        ]
    m3 = mapping.base_map(b3)
    mapping.choropleth(
        m3,
        gj3,
        per_commune,
        "commune_code",
        "minutes",
        f"Minutes jusqu'aux offres de la commune ({core.mode_label(mode, 'lower')})",
        "min",
        decimals=0,
        palette="viridis",
        reverse=False,
        breaks=MINUTE_BREAKS,
    )
    folium.Marker(
        [origin["lat"], origin["lon"]],
        tooltip=html_text(label),
        icon=folium.DivIcon(html='<div style="font-size:22px;color:#000">★</div>'),
    ).add_to(m3)
    mapping.show(m3, "mob_origin_map", height=480)


def origin_brief(label: str, times: pd.DataFrame, mode: str, minutes: int) -> None:
    """« En bref » of section 4: offers and communes reached in the budget, nearest offer."""
    reach = times[times["minutes"] <= minutes]
    panels.brief(
        f"depuis {label}, {core.fnum(reach['n_offers'].sum(), 0, 'offres')} "
        f"dans {text.count(reach['commune_code'].nunique(), 'commune')} {'est accessible' if reach['n_offers'].sum() < 2 else 'sont accessibles'} en {minutes} min "
        f"({core.mode_label(mode, 'lower')}) ; offre la plus proche à "
        + (f"{maps.format_number(times['minutes'].min(), 0)} min." if len(times) else "plus de 90 min.")
        + " Communes sans offre atteignable en 90 min : non colorées."
    )
    if times["is_estimate"].any():
        core.estimate_badge(f"{text.count(int(times['is_estimate'].sum()), 'temps estimé')} à vol d'oiseau.")


def origin_table(per_commune: pd.DataFrame, communes: pd.DataFrame) -> pd.DataFrame:
    """Section 4's map table (text alternative), nearest first."""
    tt = per_commune.merge(communes[["code", "name"]], left_on="commune_code", right_on="code")
    return pd.DataFrame(
        {
            "Commune": tt["name"],
            "Code INSEE": tt["commune_code"],
            "Minutes (min)": tt["minutes"].round(0),
            "Offres (nombre)": tt["offers"],
        }
    ).sort_values("Minutes (min)")


@st.fragment
@core.guarded
def from_origin(minutes: int, v: int) -> None:
    """Section 4 (its widgets re-run only this fragment)."""
    st.header("4. Depuis une commune ou un lycée : minutes jusqu'aux offres")
    communes = data.communes_list(v)
    schools = data.school_points(v)
    okind, origin_id, mode, names = origin_choice(schools, communes, data.modes_available(v))
    if origin_id is None:
        st.info(
            "Choisissez un lycée ou une commune : la carte colore alors chaque commune selon les "
            "minutes pour y atteindre une offre depuis ce point, avec son tableau.",
            icon=":material/touch_app:",
        )
        return
    times = data.times_from_origin(okind, origin_id, mode, v)
    if okind == "school":
        o = schools[schools["uai"] == origin_id].iloc[0]
    else:
        o = communes[communes["code"] == origin_id].iloc[0]
    per_commune = (
        times.groupby("commune_code").agg(minutes=("minutes", "min"), offers=("n_offers", "sum")).reset_index()
    )
    origin_map(o, names[origin_id], per_commune, mode, v)
    origin_brief(names[origin_id], times, mode, minutes)
    panels.table_alternative(
        "Tableau des communes d'offres atteignables (alternative textuelle)",
        "mob_origin_table",
        lambda: origin_table(per_commune, communes),
        grid=True,
        height=300,
    )


def ranked_lycees(acc: pd.DataFrame, schools: pd.DataFrame) -> pd.DataFrame:
    """Lycées without an offer first (by declared pupils), then by offers reachable."""
    lyc = acc.merge(schools[["uai", "commune"]], left_on="origin_id", right_on="uai", how="left")
    lyc["pupils_without"] = lyc["pupils"].where(lyc["offers_reachable"] == 0, 0)
    # every lycée without an offer first (those with a declared headcount by pupils, then the
    # others), so that the count below is the first rows of the table
    lyc["_none"] = lyc["offers_reachable"] == 0
    return lyc.sort_values(
        ["_none", "pupils_without", "offers_reachable", "origin_name"],
        ascending=[False, False, True, True],
        na_position="last",
    )


def lycees_sentence(lyc: pd.DataFrame, lmode: str, minutes: int) -> None:
    """How many lycées reach no offer, and their declared pupils."""
    none = lyc[lyc["_none"]]
    n_none, n_declared = len(none), int(none["pupils"].notna().sum())
    verb = "n'a" if n_none < 2 else "n'ont"
    st.markdown(
        f"**{text.count(n_none, 'lycée')}** {verb} aucune offre accessible en "
        f"{minutes} min ({core.mode_label(lmode, 'lower')})"
        + (
            f" : {n_declared} avec un effectif de seconde déclaré, soit "
            f"{core.fnum(none['pupils'].sum(), 0, 'élèves de seconde')}, et "
            f"{text.count(n_none - n_declared, 'lycée')} sans effectif de seconde déclaré "
            "(« non déclaré » dans le tableau)."
            if n_none > n_declared
            else f", soit {core.fnum(none['pupils'].sum(), 0, 'élèves de seconde')} (effectifs déclarés)."
        )
    )


@st.fragment
@core.guarded
def lycees_ranked(minutes: int, v: int) -> None:
    """Section 5 (its widget re-runs only this fragment)."""
    st.header("5. Lycées dont les élèves n'atteignent aucune offre")
    modes = data.modes_available(v)
    lmode = filters.mode_choice(
        "mob_lmode", modes, param="mode_lycees", label="Mode pour le classement", where=st, radio=True
    )
    core.sync_query({"mode_lycees": lmode})
    acc = data.origin_table(access.Filters(mode=lmode, minutes=minutes, origin_kind="school"), v)
    lyc = ranked_lycees(acc, data.school_points(v))
    lycees_sentence(lyc, lmode, minutes)
    ranked = pd.DataFrame(
        {
            "Lycée": lyc["origin_name"],
            "UAI": lyc["origin_id"],
            "Commune": lyc["commune"],
            "Élèves de seconde (déclarés)": core.declared(lyc["pupils"]),
            "Élèves sans offre accessible": core.declared(lyc["pupils_without"]),
            f"Offres accessibles en {minutes} min": lyc["offers_reachable"],
            "Minutes jusqu'à l'offre la plus proche": lyc["minutes_nearest"].round(0),
        }
    )
    top = 20
    st.caption(f"Les {top} premiers des {len(ranked)} lycées ; tous dans le tableau complet.")
    core.html_table(ranked, max_rows=top, height=420)
    with core.table_expander(f"Tableau complet ({len(ranked)} lycées, tri et recherche)", "mob_lyc_full") as opened:
        if opened:
            st.dataframe(ranked, hide_index=True, width="stretch", height=360)
            st.download_button(
                "Télécharger le classement (CSV)",
                core.csv_bytes(ranked),
                file_name=f"lycees_sans_offre_{lmode}_{minutes}min.csv",
                mime="text/csv",
                key="mob_lyc_csv",
            )


def render() -> None:
    """The Mobilité rurale page."""
    core.page_setup("Mobilité rurale", "🚌")
    st.title("Mobilité rurale : voiture, transports en commun et accès aux stages")
    v = core.require_travel_times()
    minutes = budget_sidebar()
    car = gap_section(minutes, v)
    density_section(car, minutes, v)
    stops_section(v)
    from_origin(minutes, v)
    lycees_ranked(minutes, v)
    core.footer_sources()


render()
