"""UI helpers of the page « Élèves »: the lycée sheet (cached: public data) and the per-pupil
reach of an uploaded class file (kept in this session only, never in a cross-session cache).

Privacy (``docs/privacy.md``): the uploaded bytes and the results live in
``st.session_state`` (dropped with the session) and are never written; the only shared cache
holds the networks (:class:`analysis.reach.ReachNetworks`), which carry no pupil data.
"""

from __future__ import annotations

import hashlib

import folium
import pandas as pd
import streamlit as st

from analysis import access, reach
from analysis.report import lycee
from analysis.sanitize import html_text
from analysis.text import count
from ui import mapping
from ui.database import con

#: session_state key of the last computed class (one at a time).
RESULT_KEY = "elv_result"


@st.cache_resource(show_spinner=False)
def networks() -> reach.ReachNetworks:
    """The road arrays and timetable of the computation, loaded once per server (no pupil data)."""
    return reach.ReachNetworks()


@st.cache_data(show_spinner=False, max_entries=64)
def search(query: str, version: int) -> pd.DataFrame:
    return lycee.search_lycees(con(), query, limit=30)


@st.cache_data(show_spinner=False, max_entries=16)
def sheet(uai: str, filters: access.Filters, version: int) -> lycee.LyceeSheet:
    """The lycée's sheet for the page's view (mode and budget; every offer)."""
    return lycee.collect_lycee(con(), uai, filters)


@st.cache_data(show_spinner=False, max_entries=16)
def sheet_file(uai: str, filters: access.Filters, fmt: str, version: int) -> tuple[bytes, str, str]:
    """The lycée's report file (PDF, XLSX or CSV) for the page's view."""
    return lycee.build_lycee_report(con(), uai, fmt, filters)


def check_uai(raw: str) -> str:
    """A UAI of the database (URL parameter ``lycee``)."""
    from analysis.validate_args import ArgumentError

    code = str(raw or "").strip().upper()
    found = lycee.search_lycees(con(), code, limit=5)
    if code not in set(found["uai"]):
        raise ArgumentError(f"lycée inconnu : UAI « {code} »")
    return code


def compute(data: bytes, name: str, mode: str, minutes: int, geocode: bool) -> reach.ReachResult:
    """The class's result, computed once per file and parameters in this session only."""
    key = hashlib.sha256(data).hexdigest() + f"|{mode}|{minutes}|{geocode}"
    held = st.session_state.get(RESULT_KEY)
    if held is None or held[0] != key:
        result = reach.reach_from_bytes(
            data, name, con(), reach.ReachRequest(mode, minutes, geocode=geocode), networks=networks()
        )
        st.session_state[RESULT_KEY] = (key, result)  # replaces the previous class
    return st.session_state[RESULT_KEY][1]


def forget() -> None:
    """Drop the class's result and its files (the file was removed)."""
    for k in [k for k in st.session_state if k == RESULT_KEY or str(k).startswith("elv_out_")]:
        del st.session_state[k]


def downloads(result: reach.ReachResult) -> None:
    """Download buttons of the results: CSV at once; XLSX and PDF prepared on demand (a PDF page
    per pupil takes seconds), kept in this session only."""
    key = st.session_state[RESULT_KEY][0]
    cols = st.columns(3)
    cols[0].download_button(
        "Résultats (CSV)", reach.render(result, "csv"), file_name="offres_par_eleve.csv", mime="text/csv",
        key="elv_dl_csv",
    )  # fmt: skip
    for col, fmt in zip(cols[1:], ("xlsx", "pdf")):
        store = f"elv_out_{fmt}"
        held = st.session_state.get(store)
        if held is None or held[0] != key:
            if col.button(f"Préparer les résultats ({fmt.upper()})", key=f"elv_prep_{fmt}"):
                with st.spinner(f"Préparation du {fmt.upper()}…"):
                    st.session_state[store] = (key, reach.render(result, fmt))
                st.rerun()  # the prepare button gives way to the download button
        if held is not None and held[0] == key:
            col.download_button(
                f"Résultats ({fmt.upper()})", held[1], file_name=f"offres_par_eleve.{fmt}", mime=reach.FORMATS[fmt],
                key=f"elv_dl_{fmt}",
            )  # fmt: skip


def summary_table(result: reach.ReachResult) -> pd.DataFrame:
    """The per-pupil table in French."""
    df = reach.summary_frame(result)
    df["nearest"] = df["nearest"].map(lambda x: "" if pd.isna(x) else f"{x:.0f} min".replace(".", ","))
    df["offers"] = df["offers"].map(lambda x: "" if pd.isna(x) else str(int(x)))
    return df.rename(columns=reach.output.SUMMARY_HEADERS)


def pupil_offers_table(p: reach.PupilReach) -> pd.DataFrame:
    rows = [
        {
            "Minutes": round(o["minutes"]),
            "Secteur": o.get("sector") or "",
            "Employeur": o.get("employer") or "",
            "Commune": o.get("commune") or "",
            "Adresse": o.get("address") or "",
            "Comment y aller": reach.output.how_to_get_there(o) if p.origin.mode == "transit" else "",
        }
        for o in p.offers
    ]
    return pd.DataFrame(rows)


def pupil_map(p: reach.PupilReach, offers_xy: pd.DataFrame) -> folium.Map:
    """The pupil's starting point and the offers they reach (grouped by place)."""
    o = p.origin
    pts = pd.DataFrame(p.offers).merge(offers_xy, on="offer_id", how="left") if p.offers else pd.DataFrame()
    lons = [o.lon] + (pts["lon"].tolist() if len(pts) else [])
    lats = [o.lat] + (pts["lat"].tolist() if len(pts) else [])
    pad = 0.02
    m = mapping.base_map([[min(lats) - pad, min(lons) - pad], [max(lats) + pad, max(lons) + pad]], height=480)
    folium.CircleMarker(
        [o.lat, o.lon], radius=9, color="#000000", weight=2, fill=True, fill_color="#CC79A7", fill_opacity=1,
        tooltip=f"Départ de l'élève {html_text(o.eleve)}",
    ).add_to(m)  # fmt: skip
    if len(pts):
        by_place = pts.groupby(["lon", "lat"], as_index=False).agg(
            n=("offer_id", "size"), minutes=("minutes", "min"), commune=("commune", "first"),
            sectors=("sector", lambda s: ", ".join(sorted({str(x) for x in s if x}))),
        )  # fmt: skip
        popup = [
            f"<b>{count(int(r.n), 'offre')}</b> — {html_text(r.commune or '')}<br>à {r.minutes:.0f} min<br>"
            f"Secteurs : {html_text(r.sectors)}"
            for r in by_place.itertuples()
        ]
        tips = [f"{count(int(r.n), 'offre')}, {r.minutes:.0f} min" for r in by_place.itertuples()]
        mapping.clustered_points(m, by_place, popup, tips, "Offres accessibles", fill="#E69F00")
    mapping.add_legend(
        m, "Points", [("#CC79A7", "départ de l'élève"), ("#E69F00", "offres accessibles")], shape="circle",
        corner=mapping.LEGEND_BOTTOM_LEFT,
    )  # fmt: skip
    return m


@st.cache_data(show_spinner=False, max_entries=4)
def offer_points(version: int) -> pd.DataFrame:
    """Offer ids and their place (public data)."""
    return reach.load_offers(con())[["offer_id", "lon", "lat"]]
