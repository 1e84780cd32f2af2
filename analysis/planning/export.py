"""Exports of the planner: programme XLSX / PDF, site tables.

The PDF reuses the report tooling of :mod:`analysis.report` (fonts, page class, headings,
tables) so that every PDF of the observatory looks the same.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence

import duckdb
import numpy as np
import pandas as pd

from analysis import report
from analysis.outputs import export
from analysis.planning.programme import Programme, day_label, rule_text
from analysis.report.columns import PROJECT_COLUMNS as REPORT_PROJECT_COLUMNS

#: French column labels of the proposed-sites table (CSV/XLSX and the page).
SITE_COLUMNS: dict[str, str] = {
    "rank": "Rang",
    "site_name": "Site",
    "site_kind": "Type de site",
    "commune_name": "Commune",
    "epci_name": "EPCI (porteur probable de la convention)",
    "pupils_covered": "Demande couverte",
    "pupils_new": "Gain marginal",
    "n_origins": "Origines couvertes",
    "lycees": "Lycées concernés",
    "offers_within": "Offres à 30 min (TC ou à pied)",
    "sectors_within": "Secteurs à 30 min (TC ou à pied)",
    "sectors_list": "Liste des secteurs",
    "sirets_known": "Offres avec SIRET",
    "morning_departures": "Départs en transports en commun 7 h–8 h 30",
    "site_id": "Code",
    "commune_code": "Code commune",
}


def sites_table(df: pd.DataFrame) -> pd.DataFrame:
    """The proposed sites with French headers (lists joined), for CSV/XLSX."""
    cols = [c for c in SITE_COLUMNS if c in df.columns]
    out = df[cols].copy()
    if "site_kind" in out:
        out["site_kind"] = out["site_kind"].map({"commune": "commune (mairie)", "school": "lycée"})
    for col in ("pupils_covered", "pupils_new"):
        if col in out:
            out[col] = pd.to_numeric(out[col]).round(1)
    out["covered_origin_ids"] = [" ; ".join(v) for v in df["covered_origin_ids"]]
    return out.rename(columns={**SITE_COLUMNS, "covered_origin_ids": "Origines couvertes (codes)"})


def programme_frames(prog: Programme) -> dict[str, pd.DataFrame]:
    """Tables of a programme: ``rotation`` (subgroups × days), one per subgroup, one per structure."""
    days = prog.spec.days
    sts = prog.structures
    G = len(prog.sizes)
    frames: dict[str, pd.DataFrame] = {}
    frames["rotation"] = pd.DataFrame(
        {day_label(d): [sts[prog.assignment[g, i]].label for g in range(G)] for i, d in enumerate(days)},
        index=[f"Sous-groupe {g + 1} ({prog.sizes[g]} élèves)" for g in range(G)],
    )
    for g in range(G):
        rows = []
        for i, d in enumerate(days):
            s = int(prog.assignment[g, i])
            prev = int(prog.assignment[g, i - 1]) if i else None
            minutes = None if prev is None else float(prog.minutes[prev, s])
            st = sts[s]
            rows.append(
                {
                    "Jour": day_label(d),
                    "Date": d.isoformat(),
                    "Structure": st.label,
                    "Secteur": st.sector,
                    "SIRET": st.siret,
                    "Adresse": st.address,
                    "Minutes depuis la structure de la veille": None if minutes is None else round(minutes),
                }
            )
        frames[f"Sous-groupe {g + 1}"] = pd.DataFrame(rows)
    for s in prog.used():
        st = sts[s]
        rows = []
        for i, d in enumerate(days):
            groups = [g + 1 for g in range(G) if prog.assignment[g, i] == s]
            rows.append(
                {
                    "Jour": day_label(d),
                    "Date": d.isoformat(),
                    "Sous-groupes": ", ".join(map(str, groups)),
                    "Élèves": prog.load(i, s),
                    "Capacité du jour": st.capacity_on(d),
                    "Source de la capacité": st.capacity_source,
                }
            )
        head = pd.DataFrame(
            [
                {"Jour": "Structure", "Date": st.label},
                {"Jour": "Secteur", "Date": st.sector},
                {"Jour": "SIRET", "Date": st.siret or "inconnu"},
                {"Jour": "Adresse", "Date": st.address},
                {"Jour": "", "Date": ""},
            ]
        )
        frames[f"Structure {st.key}"] = pd.concat([head, pd.DataFrame(rows)], ignore_index=True)
    return frames


def programme_xlsx(prog: Programme, site_label: str) -> bytes:
    """XLSX: a summary sheet, the rotation, one sheet per subgroup and one per structure used."""
    frames = programme_frames(prog)
    summary = pd.DataFrame(
        [
            ("Site", site_label),
            ("Type", prog.spec.kind),
            ("Règle du type", rule_text(prog.spec.kind, prog.variety)),
            ("Élèves", prog.spec.pupils),
            ("Sous-groupes", " + ".join(map(str, prog.sizes))),
            (
                "Jours",
                f"{day_label(prog.spec.days[0])} – {day_label(prog.spec.days[-1])} ({len(prog.spec.days)} jours)",
            ),
            ("Minutes de déplacement entre structures (total)", round(prog.total_minutes)),
            ("Résolution", "optimale" if prog.status == "optimal" else f"meilleure trouvée (borne {prog.bound:g} min)"),
            ("Porteur de la convention", ""),
            ("Référent du groupe", ""),
            (
                "Limites",
                "offres placées à la mairie de leur commune ; capacités saisies ou supposées "
                "(voir la colonne « Source de la capacité »)",
            ),
            *[("Remarque", n) for n in prog.notes],
        ],
        columns=["Rubrique", "Valeur"],
    )
    sheets = {"Synthèse": summary}
    for name, df in frames.items():
        if name == "rotation":
            sheets["Rotation"] = df.rename_axis("Sous-groupe").reset_index()
        else:
            sheets[name] = df
    return export.xlsx_bytes(sheets)


#: French column labels of the potential host structures of each proposed site (sheet
#: « Structures potentielles »: the offers of ``describe_sites``).
OFFER_COLUMNS: dict[str, str] = {
    "rank": "Rang du site",
    "site_name": "Site",
    "offer_id": "Offre",
    "sector": "Secteur",
    "siret": "SIRET",
    "town": "Commune de l'offre",
    "minutes": "Minutes depuis le site (TC ou à pied)",
}


def offers_table(sites: pd.DataFrame) -> pd.DataFrame:
    """The potential host structures of the proposed sites, one row per (site, offer), French
    headers; a site without any known offer within reach gets one row saying so."""
    rows = []
    for r in sites.itertuples():
        offers = list(getattr(r, "offers", None) or [])
        for o in offers:
            rows.append(
                {
                    "rank": r.rank,
                    "site_name": r.site_name,
                    "offer_id": o["offer_id"],
                    "sector": o["sector"],
                    "siret": o["siret"] or "inconnu",
                    "town": o["town"],
                    "minutes": o["minutes"],
                }
            )
        if not offers:
            rows.append(
                {
                    "rank": r.rank,
                    "site_name": r.site_name,
                    "offer_id": "aucune offre connue à moins de 30 min (TC ou à pied)",
                }
            )
    return pd.DataFrame(rows, columns=list(OFFER_COLUMNS)).rename(columns=OFFER_COLUMNS)


def rank_text(low: int, high: int, n: int) -> str:
    """A rank among ``n`` in French, ties said as such: ``"3 sur 26"``, or
    ``"1 à 26 ex æquo sur 26"`` when positions ``low`` to ``high`` share the same value."""
    if int(low) == int(high):
        return f"{int(low)} sur {int(n)}"
    return f"{int(low)} à {int(high)} ex æquo sur {int(n)}"


def _report_label(key: str) -> str:
    return next(c.label for c in REPORT_PROJECT_COLUMNS if c.key == key)


def project_columns(unit: str) -> dict[str, str]:
    """French labels of the existing-projects table of the planner (sheet « Projets
    existants » and the page), by column of :func:`analysis.planning.sites.existing_projects`;
    the labels shared with the reports come from :data:`analysis.report.PROJECT_COLUMNS`."""
    return {
        "project_id": _report_label("project_id"),
        "name": _report_label("name"),
        "kind": _report_label("kind"),
        "commune_name": "Commune",
        "commune_code": "Code commune",
        "epci_name": "EPCI",
        "epci_siren": "SIREN de l'EPCI",
        "project_pupils": _report_label("pupils"),
        "covered": f"Demande couverte ({unit})",
        "rank_text": "Rang parmi les projets",
        "rank_among_sites_text": "Rang parmi les sites candidats",
        "epci_demand": f"Demande de l'EPCI ({unit})",
        "epci_rank_text": "Rang de l'EPCI",
    }


def projects_table(projects: pd.DataFrame, unit: str, decimals: int | None = None) -> pd.DataFrame:
    """The existing projects scored on the demand, French headers, ranks with their ties
    (:func:`rank_text`); ``decimals`` rounds the demand columns (None: as computed)."""
    out = projects.copy()
    out["rank_text"] = [rank_text(a, b, len(out)) for a, b in zip(out["rank"], out["rank_max"])]
    out["rank_among_sites_text"] = [
        rank_text(a, b, n) for a, b, n in zip(out["rank_among_sites"], out["rank_among_sites_max"], out["n_sites"])
    ]
    out["epci_rank_text"] = [
        "" if pd.isna(a) else rank_text(a, b, n)
        for a, b, n in zip(out["epci_rank"], out["epci_rank_max"], out["n_epci"])
    ]
    if decimals is not None:
        out = out.round({"covered": decimals, "epci_demand": decimals})
    labels = project_columns(unit)
    return out[[c for c in labels if c in out.columns]].rename(columns=labels)


def sites_xlsx(
    sites: pd.DataFrame,
    projects: pd.DataFrame | None = None,
    unit: str = "élèves",
    notes: Sequence[str] = (),
) -> bytes:
    """XLSX of the proposed sites, their potential host structures (known offers within 30 min
    by public transport or on foot) and the existing projects' scores, French headers; the
    ``notes`` of the plan (why fewer sites than asked) come first, in a sheet « Remarques »."""
    sheets: dict[str, pd.DataFrame] = {}
    if notes:
        sheets["Remarques"] = pd.DataFrame({"Remarque": list(notes)})
    sheets["Sites proposés"] = sites_table(sites)
    if "offers" in sites:
        sheets["Structures potentielles"] = offers_table(sites)
    if projects is not None:
        sheets["Projets existants"] = projects_table(projects, unit)
    return export.xlsx_bytes(sheets)


def _programme_map(con: duckdb.DuckDBPyConnection, prog: Programme, site_lonlat: tuple[float, float] | None) -> bytes:
    import geopandas as gpd
    import shapely
    from matplotlib.figure import Figure

    used = [prog.structures[s] for s in prog.used()]
    pts = [(s.lon, s.lat) for s in used if s.lon is not None]
    if site_lonlat:
        pts.append(site_lonlat)
    arr = np.array(pts, dtype=float)
    pad = 0.03
    env = tuple(
        float(v) for v in (arr[:, 0].min() - pad, arr[:, 1].min() - pad, arr[:, 0].max() + pad, arr[:, 1].max() + pad)
    )
    com = con.execute(
        f"""SELECT name, ST_AsWKB(geom_simple) AS wkb FROM communes
            WHERE ST_Intersects(geom_simple, ST_MakeEnvelope({env[0]!r}, {env[1]!r}, {env[2]!r}, {env[3]!r}))"""
    ).df()
    gdf = gpd.GeoDataFrame(
        com.drop(columns="wkb"), geometry=shapely.from_wkb([bytes(b) for b in com["wkb"]]), crs="EPSG:4326"
    ).to_crs(2154)
    fig = Figure(figsize=(7, 5), dpi=130)
    ax = fig.add_axes((0, 0, 1, 1))
    gdf.plot(ax=ax, facecolor="#f2f2f2", edgecolor="#888888", linewidth=0.4)
    # one marker per location (offers of a commune share its centre), labelled with the numbers
    # of its structures (numbers of the PDF's structure table)
    by_loc: dict = {}
    for k, s in enumerate(prog.used()):
        st = prog.structures[s]
        by_loc.setdefault((st.lon, st.lat), []).append(k + 1)
    locs = list(by_loc.items())
    pts = gpd.GeoSeries(gpd.points_from_xy([p[0][0] for p in locs], [p[0][1] for p in locs]), crs=4326).to_crs(2154)
    pts.plot(ax=ax, color="white", edgecolor="black", markersize=260, zorder=3)
    for (_, nums), p in zip(locs, pts):
        label = ", ".join(map(str, nums)) if len(nums) <= 3 else f"{nums[0]}–{nums[-1]}"
        ax.annotate(
            label,
            (p.x, p.y),
            xytext=(0, 11),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=7,
            zorder=4,
            bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "#555555", "lw": 0.5},
        )
    if site_lonlat:
        sp = gpd.GeoSeries(gpd.points_from_xy([site_lonlat[0]], [site_lonlat[1]]), crs=4326).to_crs(2154)
        sp.plot(ax=ax, marker="*", color="black", markersize=160, zorder=5)
    ax.set_axis_off()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def programme_pdf(
    con: duckdb.DuckDBPyConnection, prog: Programme, site_label: str, site_lonlat: tuple[float, float] | None = None
) -> bytes:
    """PDF (A4 landscape): map of the structures, rotation table, structures, blank fields for the
    convention holder and the group referent (the seed document's vigilance points)."""
    site_label = export.clean_text(site_label)
    regular, bold = report.font_paths()
    pdf = report.pdf_class()(orientation="L", unit="mm", format="A4")
    pdf.set_margins(12, 12, 12)
    pdf.set_auto_page_break(True, margin=14)
    pdf.add_font("DejaVu", "", str(regular))
    pdf.add_font("DejaVu", "B", str(bold))
    now = dt.datetime.now()
    pdf.footer_text = f"Observatoire des stages — Normandie · stage collectif · {site_label} · édité le {now:%d/%m/%Y}"
    pdf.set_title(f"Programme de stage collectif : {site_label}")
    pdf.set_author("Observatoire des stages — Normandie")
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 16)
    pdf.multi_cell(0, 8, f"Programme de stage collectif — {site_label}", new_x="LMARGIN", new_y="NEXT")
    spec = prog.spec
    report.para(
        pdf,
        f"Type : {spec.kind} ({rule_text(spec.kind, prog.variety)}). {spec.pupils} élèves en "
        f"{len(prog.sizes)} sous-groupe(s) de {' + '.join(map(str, prog.sizes))} ; "
        f"du {day_label(spec.days[0])} au {day_label(spec.days[-1])} ({len(spec.days)} jours). "
        f"Déplacements entre structures : {prog.total_minutes:.0f} min au total.",
    )
    report.heading(pdf, "Porteur de la convention et encadrement (à compléter)")
    epw = pdf.epw
    pdf.set_font("DejaVu", "", 9)
    with pdf.table(
        col_widths=(70, epw - 70), text_align=("LEFT", "LEFT"), first_row_as_headings=False, line_height=7
    ) as table:
        for label in (
            "Structure porteuse de la convention",
            "Signataire",
            "Référent / animateur du groupe",
            "Téléphone du référent",
            "Établissements scolaires d'origine",
        ):
            row = table.row()
            row.cell(label)
            row.cell("")
    report.heading(pdf, "Carte des structures")
    png = _programme_map(con, prog, site_lonlat)
    pdf.image(io.BytesIO(png), w=150)
    report.para(
        pdf,
        "Étoile : le site ; cercles : les lieux des structures, avec leurs numéros (tableau page suivante). "
        "Les offres sont placées à la mairie de leur commune (pas d'adresse géolocalisée).",
        8,
    )
    pdf.add_page()
    report.heading(pdf, "Rotation des sous-groupes")
    rot = programme_frames(prog)["rotation"]
    numbers = {prog.structures[s].key: k + 1 for k, s in enumerate(prog.used())}
    cols = [report.Column("group", "Sous-groupe")] + [
        report.Column(f"d{i}", day_label(d)) for i, d in enumerate(spec.days)
    ]
    df = pd.DataFrame({"group": rot.index})
    for i in range(len(spec.days)):
        df[f"d{i}"] = [f"n° {numbers[prog.structures[prog.assignment[g, i]].key]}" for g in range(len(prog.sizes))]
    w_day = (epw - 34) / len(spec.days)
    report.pdf_table(pdf, df, cols, [34] + [w_day] * len(spec.days), font_size=7)
    report.heading(pdf, "Structures")
    sdf = pd.DataFrame(
        [
            {
                "n": str(k + 1),
                "label": prog.structures[s].label,
                "sector": prog.structures[s].sector,
                "siret": prog.structures[s].siret or "inconnu",
                "address": prog.structures[s].address,
                "cap": str(prog.structures[s].capacity),
                "src": prog.structures[s].capacity_source,
            }
            for k, s in enumerate(prog.used())
        ]
    )
    scols = [
        report.Column("n", "N°"),
        report.Column("label", "Structure"),
        report.Column("sector", "Secteur"),
        report.Column("siret", "SIRET"),
        report.Column("address", "Adresse"),
        report.Column("cap", "Capacité/jour"),
        report.Column("src", "Source capacité"),
    ]
    report.pdf_table(pdf, sdf, scols, [10, 70, 45, 30, 70, 20, 28], font_size=7)
    report.heading(pdf, "Limites")
    report.para(
        pdf,
        "Capacités : saisies par l'utilisateur ou supposées (colonne « Source capacité ») — la "
        "plateforme n'en publie pas. Temps de déplacement : à pied (ou en TER et à pied) entre mairies "
        "de communes ; 0 min entre deux structures d'une même commune. " + " ".join(prog.notes),
        8,
    )
    return bytes(pdf.output())
