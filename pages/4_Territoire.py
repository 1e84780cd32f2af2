"""Territoire: the sheet of an EPCI or a commune beside its département and the region."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import plotly.express as px
import streamlit as st

from analysis import access, catalogue, config, text
from analysis.outputs import maps, ranking
from analysis.sanitize import markdown_text
from ui import charts, core, data, filters, mapping, panels, territory

LEVELS = {"epci": "EPCI", "commune": "Commune"}


@dataclass(frozen=True)
class Sheet:
    """The territory shown: its level and code, names, member communes and the view's filters.

    ``filt`` is the view's :class:`analysis.access.Filters` (pupils by commune of residence),
    ``filt_sch`` the same counted from the lycées (declared pupils); ``v`` the database version.
    """

    level: str
    code: str
    title: str
    subtitle: str
    dep: str
    dep_name: str
    epci: str  # the EPCI (of the commune)
    member_codes: list[str]
    single: dict[str, str]
    view: filters.View
    filt: access.Filters
    filt_sch: access.Filters
    v: int


def known_territories(communes: pd.DataFrame, epcis: pd.DataFrame) -> tuple[dict, dict]:
    """Names of the EPCI and communes by code, and the default sheet of each level."""
    known = {
        "epci": dict(zip(epcis["siren"], epcis["name"])),
        "commune": dict(zip(communes["code"], communes["name"] + " (" + communes["code"] + ")")),
    }
    defaults = {
        "epci": "200065597" if "200065597" in known["epci"] else epcis["siren"].iloc[0],
        "commune": "14118" if "14118" in known["commune"] else communes["code"].iloc[0],
    }
    return known, defaults


def territory_from_url(known: dict, defaults: dict) -> None:
    """The territory a shared link asks for, read once per session."""
    # URL: ``echelon`` (territory level) and ``code``; ``niveau`` is the grade filter, except in
    # the older documented form ``niveau=epci|commune`` (read here when ``echelon`` is absent).
    if "echelon" not in st.query_params and st.query_params.get("niveau") in LEVELS:
        st.query_params["echelon"] = st.query_params["niveau"]
        del st.query_params["niveau"]
    if "ter_level" not in st.session_state:
        lv0, code0, msg0 = territory.from_url(
            st.query_params.get("echelon"), st.query_params.get("code"), known, defaults
        )
        st.session_state["ter_level"] = lv0
        st.session_state[f"ter_code_{lv0}"] = code0
        if msg0:
            core.url_notice("code", code0, msg0)


def choose_territory(communes: pd.DataFrame, epcis: pd.DataFrame) -> tuple[str, str]:
    """The sidebar's search, level and territory (URL-backed); returns (level, code)."""
    known, defaults = known_territories(communes, epcis)
    territory_from_url(known, defaults)
    sb = st.sidebar
    sb.header("Territoire")
    territory.search_box(sb, communes, epcis, known)
    sb.radio("Niveau", list(LEVELS), key="ter_level", format_func=LEVELS.get, horizontal=True)
    level = st.session_state["ter_level"]
    opts = list(known[level])
    names = known[level]
    k_code = f"ter_code_{level}"
    core.state(k_code, defaults[level])
    sb.selectbox(
        "EPCI" if level == "epci" else "Commune", opts, key=k_code, format_func=names.get, **territory.NO_TYPING
    )
    return level, st.session_state[k_code]


def describe(level: str, code: str, communes: pd.DataFrame, epcis: pd.DataFrame, v: int) -> tuple:
    """(title, subtitle, département, EPCI, member communes) of the territory."""
    if level == "epci":
        row = epcis[epcis["siren"] == code].iloc[0]
        member_codes = communes.loc[communes["epci_siren"] == code, "code"].tolist()
        # « (partie normande) » only for an EPCI partly outside Normandie (DGCL populations)
        share = data.epci_region_share(v).set_index("code")["share_in_region"].get(code, 1.0)
        subtitle = (
            f"{row['kind']} · {text.count(len(member_codes), 'commune')} · "
            f"{core.fnum(row['population'], 0, 'habitants')}"
            + (f" (partie normande : {core.fpct(share, 1)} de la population de l'EPCI)" if share < 1 else "")
        )
        return row["name"], subtitle, row["dep"], code, member_codes
    row = communes[communes["code"] == code].iloc[0]
    subtitle = (
        f"Commune {code} · EPCI : {row['epci_name']} · "
        f"{core.fnum(row['population'], 0, 'habitants')} · "
        f"{core.fnum(row['density_per_km2'], 0, 'hab./km²')}"
    )
    return row["name"], subtitle, row["dep"], row["epci_siren"], [code]


def make_sheet(level: str, code: str, view, communes: pd.DataFrame, epcis: pd.DataFrame, v: int) -> Sheet:
    """The :class:`Sheet` of the chosen territory."""
    deps = data.departements_list(v)
    title, subtitle, dep, epci, member_codes = describe(level, code, communes, epcis, v)
    dep_name = deps.set_index("code")["name"].get(dep, dep)
    # large communes: every pupil starts at the town hall (docs/indicators.md, « origine unique »)
    single = data.single_origin_notes(v)
    if level == "commune" and code in single:
        subtitle += f" · {single[code]}"
    filt, filt_sch = view.filters, view.for_origin("school")
    return Sheet(level, code, title, subtitle, dep, dep_name, epci, member_codes, single, view, filt, filt_sch, v)


def indicator_rows(view) -> list[tuple]:
    """(label, column, scale, decimals, unit) of each key figure."""
    mode_l = core.mode_label(view.mode, "lower")

    def _row(key: str, label: str | None = None, mode: str | None = None) -> tuple:
        """(label, column, scale, decimals, unit) of a catalogue indicator."""
        ind = catalogue.indicator(key)
        return (label or core.indicator_label(key, mode), ind.column(mode), ind.scale, ind.decimals, ind.unit)

    rows = [
        _row("population"),
        _row("pupils", "Élèves de seconde résidents (estimés)"),
        _row("offers_located", "Offres situées dans le territoire"),
        _row("offers_per_100_pupils"),
        _row("offers_reachable_mean", f"Offres accessibles en {view.minutes} min ({mode_l}), moyenne par élève"),
        _row("places_per_pupil_2sfca"),
        _row("pupils_no_offer", f"Élèves sans offre accessible ({mode_l}, {view.minutes} min)"),
        _row("share_no_offer"),
        _row("share_no_offer_transit", core.indicator_label("share_no_offer_transit") + f" ({view.minutes} min)"),
        _row("median_minutes", mode=view.mode),
        _row("car_transit_ratio"),
        _row("n_stops"),
        _row("morning_departures"),
        _row("pupils_low_density_share"),
    ]
    # indicators added to the catalogue's maps show here too
    rows += [
        _row(k)
        for k in catalogue.map_indicators()
        if k not in {r[1] for r in rows} and not catalogue.indicator(k).per_mode
    ]
    return rows


def _single_origin_caveat(level: str, notes: dict[str, str], communes: pd.DataFrame) -> str:
    """« ; origine unique : la mairie … » for a large commune, or the large communes of an EPCI."""
    if not notes:
        return ""
    if level == "commune":
        return (
            " ; tous les élèves de cette grande commune partent de sa mairie (un seul point pour toute la "
            "commune) : ses indicateurs à pied et à vélo sont à lire avec prudence, les élèves éloignés de la "
            "mairie n'y sont pas distingués"
        )
    names = communes.set_index("code")["name"]
    listed = ", ".join(names.get(c, c) for c in sorted(notes, key=lambda c: names.get(c, c))[:6])
    more = ", etc." if len(notes) > 6 else ""
    return (
        f" ; {text.count(len(notes), 'grande commune')} ({listed}{more}) : "
        f"« {catalogue.SINGLE_ORIGIN} », tous leurs élèves partent d'un seul point"
    )


def _val(df: pd.DataFrame, col: str, scale: float, dec: int, unit: str) -> str:
    if df.empty or col not in df:
        return "—"
    return core.fnum(pd.to_numeric(df[col], errors="coerce").iloc[0] * scale, dec, unit)


def key_figures(s: Sheet, communes: pd.DataFrame) -> pd.DataFrame:
    """« Chiffres clés »: the territory beside its département and the region; returns the table."""
    level, code, dep, filt, filt_sch, v = s.level, s.code, s.dep, s.filt, s.filt_sch, s.v
    t = data.territory_table(level, filt, v, code=code)
    d = data.territory_table("departement", filt, v, code=dep)
    r = data.territory_table("region", filt, v)
    ts = data.territory_table(level, filt_sch, v, code=code)
    st.header("Chiffres clés")
    st.caption(
        f"Filtres : {s.view.describe()}. Élèves par commune de résidence (estimation), sauf "
        "ligne « Élèves de seconde des lycées du territoire » (effectifs déclarés)."
    )
    rows = indicator_rows(s.view)
    fig_tab = pd.DataFrame(
        {
            "Indicateur": [x[0] for x in rows],
            s.title: [_val(t, c, sc, dd, u) for _, c, sc, dd, u in rows],
            f"Département : {s.dep_name}": [_val(d, c, sc, dd, u) for _, c, sc, dd, u in rows],
            f"Région : {config.REGION_NAME}": [_val(r, c, sc, dd, u) for _, c, sc, dd, u in rows],
        }
    )
    lyc_row = pd.DataFrame(
        {
            "Indicateur": ["Élèves de seconde des lycées du territoire (déclarés)"],
            s.title: [_val(ts, "pupils", 1, 0, "élèves")],
            f"Département : {s.dep_name}": [
                _val(data.territory_table("departement", filt_sch, v, code=dep), "pupils", 1, 0, "élèves")
            ],
            f"Région : {config.REGION_NAME}": [
                _val(data.territory_table("region", filt_sch, v), "pupils", 1, 0, "élèves")
            ],
        }
    )
    fig_tab = pd.concat([fig_tab.iloc[:2], lyc_row, fig_tab.iloc[2:]], ignore_index=True)
    core.html_table(fig_tab)
    single_here = {c: s.single[c] for c in s.member_codes if c in s.single}
    core.estimate_badge(
        "Élèves par commune de résidence estimés au prorata de la population ; offres "
        "placées à la mairie de leur commune ; 1 place par offre faute de capacité"
        + (" ; certains temps sont estimés à vol d'oiseau" if bool(t["uses_estimated_times"].iloc[0]) else "")
        + _single_origin_caveat(level, single_here, communes)
        + "."
    )
    return fig_tab


def gap_table(ctab: pd.DataFrame, single: dict[str, str], mode: str) -> pd.DataFrame:
    """The map's table (text alternative): communes ranked by their share without an offer."""
    gaps = ranking.rank_territories(ctab, "share_no_offer")  # ties: pupils, then name
    return pd.DataFrame(
        {
            "Commune": gaps["name"].where(~gaps["code"].isin(single), gaps["name"] + f" ({catalogue.SINGLE_ORIGIN})"),
            "Code INSEE": gaps["code"],
            "Élèves (estimés)": gaps["pupils"].round(0),
            "Élèves sans offre accessible (estimés)": gaps["pupils_no_offer"].round(0),
            "Part sans offre (%)": (gaps["share_no_offer"] * 100).round(1),
            "Offres situées": gaps["offers_located"],
            "Offres accessibles par élève (moy.)": gaps["offers_reachable_mean"].round(1),
            "Temps médian à l'offre la plus proche (min)": gaps[f"median_minutes_{mode}"].round(0),
        }
    )


def near(df: pd.DataFrame, bounds: list, pad: float = 0.05) -> pd.DataFrame:
    """The points of ``df`` within ``bounds`` widened by ``pad`` degrees."""
    (la0, lo0), (la1, lo1) = bounds
    return df[(df["lat"].between(la0 - pad, la1 + pad)) & (df["lon"].between(lo0 - pad, lo1 + pad))]


def territory_map(s: Sheet, communes: pd.DataFrame) -> None:
    """« Carte »: the share without an offer in the EPCI's communes, offers and lycées."""
    level, code, v, view = s.level, s.code, s.v, s.view
    st.header("Carte")
    mode_l = core.mode_label(view.mode, "lower")
    area = communes[communes["epci_siren"] == s.epci]["code"].tolist() if level == "commune" else s.member_codes
    ctab = data.territory_table("commune", s.filt, v, within=(s.epci if level == "commune" else code))
    gj = data.geojson("commune", v, tuple(sorted(area)))
    bounds = maps.bounds_of(gj)
    panel = panels.MapPanel(
        key="ter_map",
        geojson=gj,
        table=ctab,
        column="share_no_offer",
        label=f"Part des élèves sans offre ({mode_l}, {view.minutes} min)",
        unit="%",
        decimals=0,
        palette="YlOrRd",
        scale=100.0,
        name="Part sans offre",
        layer="Part sans offre",
        notes=s.single,
        height=500,
        control=True,
    )

    def overlays(m) -> list:
        g_off = mapping.group("Offres de stage")
        if level == "commune":
            mapping.outline(m, data.geojson("commune", v, (code,)), s.title)
        if bounds:
            mapping.offers_layer(g_off, near(data.offer_points(s.filt, v), bounds))
            mapping.schools_layer(m, near(data.school_points(v), bounds))
            mapping.points_legend_box(m)
        return [g_off]

    panels.show_map(panel, mapping.base_map(bounds), overlays)
    vals = pd.to_numeric(ctab["share_no_offer"], errors="coerce") * 100
    panels.brief(
        f"part des élèves sans offre accessible ({mode_l}, {view.minutes} min) "
        + ("dans la commune" if len(ctab) == 1 else "dans les " + text.count(len(ctab), "commune"))
        + f" {'de l’EPCI' if level == 'epci' else 'de son EPCI'} : "
        + text.value_range(f"{maps.format_number(vals.min(), 0)} %", f"{maps.format_number(vals.max(), 0)} %")
        + " ; offres en orange (regroupées), lycées en bleu."
    )
    panels.table_alternative(
        "Tableau des communes (alternative textuelle) — manques",
        "ter_table",
        lambda: gap_table(ctab, s.single, view.mode),
        grid=True,
        height=300,
    )


def schools_section(s: Sheet) -> None:
    """« Lycées et élèves »: the territory's lycées and the offers their pupils reach."""
    v, view, filt_sch = s.v, s.view, s.filt_sch
    st.header("Lycées et élèves")
    schools = data.school_points(v)
    acc = data.origin_table(filt_sch, v)
    lyc = schools[schools["commune_code"].isin(s.member_codes)].merge(
        acc[["origin_id", "offers_reachable", "minutes_nearest"]], left_on="uai", right_on="origin_id", how="left"
    )
    if lyc.empty:
        st.info("Aucun lycée dans ce territoire.")
        return
    core.html_table(
        pd.DataFrame(
            {
                "Lycée": lyc["name"],
                "Commune": lyc["commune"],
                "Public": lyc["is_public"].map({True: "oui", False: "non"}),
                "Élèves de seconde (déclarés)": core.declared(lyc["seconde_pupils"]),
                f"Offres accessibles ({view.minutes} min)": lyc["offers_reachable"],
                "Offre la plus proche (min)": lyc["minutes_nearest"].round(0),
            }
        ),
        height=420,
    )


def sectors_section(s: Sheet) -> None:
    """« Offres par secteur »: the offers located in the territory, by sector (bar chart)."""
    st.header("Offres par secteur")
    sec = data.sector_counts(tuple(s.member_codes), s.v)
    if s.view.sectors:
        sec = sec[sec["sector"].isin(s.view.sectors)]
    if sec.empty:
        st.info("Aucune offre située dans ce territoire.")
        return
    fig = px.bar(
        sec.head(15).iloc[::-1],
        x="n",
        y="sector",
        orientation="h",
        labels={"n": "Offres situées (nombre)", "sector": ""},
        color_discrete_sequence=["#0072B2"],
    )
    fig.update_layout(margin=dict(l=10, r=10, t=10, b=10))
    charts.count_axis(fig, "x", float(sec["n"].head(15).max()))
    charts.plotly_chart(fig, max(220, 26 * min(len(sec), 15) + 80))
    st.caption(
        f"{text.count(int(sec['n'].sum()), 'offre située', 'offres situées')} dans le territoire, "
        f"{text.count(len(sec), 'secteur')} (15 premiers affichés)."
    )


def transport_section(s: Sheet) -> None:
    """« Offre de transport »: stops and morning departures, the EPCI's mobility services."""
    st.header("Offre de transport")
    stops_df, day = data.stops(s.v)
    local = stops_df[stops_df["commune_code"].isin(s.member_codes)]
    st.markdown(
        f"{text.count(len(local), 'arrêt')} de {catalogue.transit_phrase(core.networks())}, "
        f"{text.count(local['morning_departures'].sum(), 'départ')} "
        f"entre 07:00 et 08:30" + (f" (jour de service {day})." if day else ".")
    )
    if len(local):
        core.html_table(
            local[["name", "kind", "morning_departures"]].rename(
                columns={"name": "Arrêt", "kind": "Desserte", "morning_departures": "Départs du matin"}
            ),
            height=360,
        )
    for ms in data.mobility_services(str(s.epci), s.v):
        st.markdown("**Services de mobilité de l'EPCI**")
        if ms.empty:
            st.caption("Aucun service de mobilité importé pour cet EPCI.")
        else:
            core.html_table(ms, height=360)


def projects_section(s: Sheet) -> None:
    """« Projets de stages collectifs » of the territory, and a link to plan one here."""
    level, code = s.level, s.code
    st.header("Projets de stages collectifs")
    proj = data.collective(s.v)
    proj = proj[proj["commune_code"].isin(s.member_codes)] if level == "commune" else proj[proj["epci_siren"] == code]
    if proj.empty:
        st.info("Aucun projet de stage collectif recensé (carte du 15/12/2025).")
    else:
        core.html_table(
            pd.DataFrame(
                {
                    "Projet": proj["name"],
                    "Type": proj["kind"],
                    "Statut": proj["status"],
                    "Commune": proj["town"],
                    "Secteurs": proj["sectors"],
                    "Élèves (nombre)": proj["pupils"].astype("Int64").astype(str).replace("<NA>", "non précisé"),
                }
            ),
            height=360,
        )
    core.page_link(
        "pages/8_Planification.py",
        label="Proposer un stage collectif ici",
        icon=":material/event_note:",
        query_params={"vue": "programme", **({"commune": code} if level == "commune" else {"epci": code})},
    )


def render() -> None:
    """The Territoire page."""
    core.page_setup("Territoire", "📍")
    v = core.db_version()
    communes = data.communes_list(v)
    epcis = data.epci_list(v)
    level, code = choose_territory(communes, epcis)
    view = filters.sidebar("ter", origin=False)
    core.sync_query({"echelon": level, "code": code, **view.query()})
    s = make_sheet(level, code, view, communes, epcis, v)
    # names from the data are shown as typed (Markdown: no link, no image from a name)
    st.title(f"Fiche territoire : {markdown_text(s.title)}")
    st.caption(markdown_text(s.subtitle + f" · département : {s.dep_name}"))

    core.require_travel_times()
    fig_tab = key_figures(s, communes)
    territory_map(s, communes)
    # lycées and offers, then transport and projects: one below the other, full width (side
    # by side, the projects' Statut column was cut)
    for section in (schools_section, sectors_section, transport_section, projects_section):
        with st.container():
            section(s)
    st.header("Téléchargements")
    core.report_downloads(
        level,
        code,
        s.filt,
        fig_tab,
        f"territoire_{level}_{code}.csv",
        "ter",
    )
    core.footer_sources()


render()
