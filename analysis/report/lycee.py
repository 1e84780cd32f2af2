"""The sheet of one lycée: its seconde pupils, the offers reachable from it by each mode with the
minutes, the sectors within reach and missing, compared with the lycées of its département.

Figures come from the stored travel times of the lycée (``travel_times`` with
``origin_kind = 'school'``), the same as the indicators of the dashboard's « lycée » origin: a
lycée's sheet and its département's lycées are measured the same way. Owns :class:`LyceeSheet`,
:func:`collect_lycee`, :func:`search_lycees` and the CSV / XLSX / PDF renderers
(:func:`build_lycee_report`); ``python -m analysis.report --level lycee --code UAI`` calls it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import duckdb
import pandas as pd

from analysis import catalogue
from analysis.access import Filters
from analysis.report.errors import ReportError
from analysis.text import count, format_number, strip_accents
from analysis.validate_args import match_key

#: Columns of the offers table (CSV, XLSX, PDF): key -> French header.
OFFER_HEADERS: dict[str, str] = {
    "mode": "Mode",
    "offer_id": "Offre",
    "minutes": "Minutes",
    "sector": "Secteur",
    "employer": "Employeur",
    "commune": "Commune",
    "address": "Adresse",
    "is_estimate": "Temps estimé",
}

#: Columns of the per-mode comparison: key -> French header.
MODE_HEADERS: dict[str, str] = {
    "mode": "Mode",
    "offers": "Offres accessibles",
    "nearest": "Plus proche (min)",
    "sectors": "Secteurs accessibles",
    "dep_mean_offers": "Moyenne des lycées du département",
    "dep_share_without": "Lycées du département sans offre (%)",
}


@dataclass
class LyceeSheet:
    """Everything the sheet of one lycée shows.

    Attributes
    ----------
    school : dict
        ``uai``, ``name``, ``commune``, ``commune_code``, ``dep``, ``dep_name``, ``seconde_pupils``.
    filters : Filters
        Budget, sectors and public/private hosts (the mode is the highlighted one; every mode is shown).
    offers : pandas.DataFrame
        One row per mode and reachable offer (:data:`OFFER_HEADERS`), sorted by mode then minutes.
    modes : pandas.DataFrame
        One row per mode (:data:`MODE_HEADERS`).
    sectors : pandas.DataFrame
        ``sector``, ``dep_offers`` and one column per mode: offers reachable in that sector.
    """

    school: dict
    filters: Filters
    offers: pd.DataFrame
    modes: pd.DataFrame
    sectors: pd.DataFrame
    generated_at: dt.datetime = field(default_factory=dt.datetime.now)

    def missing_sectors(self, mode: str | None = None) -> list[str]:
        """Sectors with offers in the département that are out of reach by ``mode``."""
        m = mode or self.filters.mode
        s = self.sectors
        return s.loc[(s["dep_offers"] > 0) & (s[m] == 0), "sector"].tolist()

    def reachable_sectors(self, mode: str | None = None) -> list[str]:
        m = mode or self.filters.mode
        return self.sectors.loc[self.sectors[m] > 0, "sector"].tolist()


def search_lycees(con: duckdb.DuckDBPyConnection, query: str, limit: int = 20) -> pd.DataFrame:
    """Lycées whose name, town or UAI matches ``query`` (case- and accent-insensitive; every word
    must appear): ``uai``, ``name``, ``commune``, ``seconde_pupils``."""
    df = con.execute(
        """SELECT s.uai, s.name, coalesce(c.name, '') AS commune, s.seconde_pupils
           FROM schools s LEFT JOIN communes c ON c.code = s.commune_code ORDER BY s.name, s.uai"""
    ).df()
    words = match_key(query).split()
    if not words:
        return df.head(0)
    hay = [match_key(f"{n} {c} {u}") for n, c, u in zip(df["name"], df["commune"], df["uai"])]
    keep = [all(w in h for w in words) for h in hay]
    return df[keep].head(limit).reset_index(drop=True)


def _school(con: duckdb.DuckDBPyConnection, uai: str | None) -> dict:
    code = str(uai or "").strip().upper()
    if not code:
        raise ReportError("Code UAI du lycée manquant : --code UAI (ex. 0141555P)")
    row = con.execute(
        """SELECT s.uai, s.name, c.name AS commune, s.commune_code, c.dep, d.name AS dep_name, s.seconde_pupils
           FROM schools s LEFT JOIN communes c ON c.code = s.commune_code
           LEFT JOIN departements d ON d.code = c.dep WHERE upper(s.uai) = ?""",
        [code],
    ).fetchone()
    if row is None:
        raise ReportError(f"Lycée inconnu : UAI « {code} » (8 caractères, ex. 0141555P)")
    keys = ("uai", "name", "commune", "commune_code", "dep", "dep_name", "seconde_pupils")
    return dict(zip(keys, row))


def _offer_filter(filters: Filters) -> tuple[str, list]:
    sql, params = "coalesce(o.for_seconde, TRUE)", []
    if filters.sectors:
        sql += f" AND o.sector IN ({', '.join('?' for _ in filters.sectors)})"
        params += list(filters.sectors)
    if filters.public is not None:
        sql += " AND o.is_public = ?"
        params.append(bool(filters.public))
    return sql, params


def _reachable(con, filters: Filters, where: str, params: list) -> pd.DataFrame:
    cond, p2 = _offer_filter(filters)
    return con.execute(
        f"""SELECT t.origin_id AS uai, t.mode, o.offer_id, t.minutes, o.sector,
                   o.public_employer_type AS employer, coalesce(c.name, o.town) AS commune,
                   o.street AS address, t.is_estimate
            FROM travel_times t JOIN offers o ON o.loc_id = t.loc_id
            LEFT JOIN communes c ON c.code = o.commune_code
            WHERE t.origin_kind = 'school' AND t.minutes <= ? AND {where} AND {cond}
            ORDER BY t.mode, t.minutes, o.offer_id""",
        [float(filters.minutes), *params, *p2],
    ).df()


def collect_lycee(
    con: duckdb.DuckDBPyConnection, uai: str | None, filters: Filters | None = None, generated_at=None
) -> LyceeSheet:
    """Gather the sheet of lycée ``uai`` (:class:`LyceeSheet`).

    Raises
    ------
    ReportError
        Unknown or missing UAI.
    """
    f = filters or Filters()
    school = _school(con, uai)
    dep_schools = con.execute(
        """SELECT s.uai, coalesce(s.seconde_pupils, 0) AS pupils FROM schools s
           JOIN communes c ON c.code = s.commune_code WHERE c.dep = ? AND coalesce(s.seconde_pupils, 0) > 0""",
        [school["dep"]],
    ).df()
    dep_reach = _reachable(con, f, "t.origin_id IN (SELECT unnest(?))", [dep_schools["uai"].tolist() or [""]])
    offers = _reachable(con, f, "t.origin_id = ?", [school["uai"]]).drop(columns=["uai"])
    offers["minutes"] = offers["minutes"].astype(float).round(1)
    offers["is_estimate"] = offers["is_estimate"].map({True: "oui", False: "non"})
    modes = _mode_table(offers, dep_reach, dep_schools)
    cond, p2 = _offer_filter(f)
    dep_offers = con.execute(
        f"""SELECT o.sector, count(*) AS n FROM offers o JOIN communes c ON c.code = o.commune_code
            WHERE c.dep = ? AND o.sector IS NOT NULL AND {cond} GROUP BY 1""",
        [school["dep"], *p2],
    ).df()
    sectors = _sector_table(offers, dep_offers)
    order = {m: k for k, m in enumerate(catalogue.MODES)}
    offers = offers.sort_values(["mode", "minutes", "offer_id"], key=lambda s: s.map(order) if s.name == "mode" else s)
    return LyceeSheet(school, f, offers.reset_index(drop=True), modes, sectors, generated_at or dt.datetime.now())


def _mode_table(offers: pd.DataFrame, dep_reach: pd.DataFrame, dep_schools: pd.DataFrame) -> pd.DataFrame:
    rows = []
    weights = dep_schools.set_index("uai")["pupils"].astype(float)
    for m in catalogue.MODES:
        mine = offers[offers["mode"] == m]
        per = dep_reach[dep_reach["mode"] == m].groupby("uai")["offer_id"].nunique().reindex(weights.index).fillna(0)
        total = float(weights.sum())
        rows.append(
            {
                "mode": m,
                "offers": int(mine["offer_id"].nunique()),
                "nearest": float(mine["minutes"].min()) if len(mine) else None,
                "sectors": int(mine["sector"].nunique()),
                "dep_mean_offers": round(float((per * weights).sum() / total), 1) if total else None,
                "dep_share_without": round(100.0 * float(weights[per == 0].sum()) / total, 1) if total else None,
            }
        )
    return pd.DataFrame(rows, columns=list(MODE_HEADERS))


def _sector_table(offers: pd.DataFrame, dep_offers: pd.DataFrame) -> pd.DataFrame:
    names = sorted(set(dep_offers["sector"]) | set(offers["sector"].dropna()), key=lambda s: strip_accents(s).lower())
    out = pd.DataFrame({"sector": names})
    out["dep_offers"] = out["sector"].map(dict(zip(dep_offers["sector"], dep_offers["n"]))).fillna(0).astype(int)
    for m in catalogue.MODES:
        counts = offers[offers["mode"] == m].groupby("sector")["offer_id"].nunique()
        out[m] = out["sector"].map(counts).fillna(0).astype(int)
    return out


# --------------------------------------------------------------------------------------------
# files
# --------------------------------------------------------------------------------------------


def _mode_labels(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    out["mode"] = out["mode"].map(lambda m: catalogue.mode_label(m))
    return out


def _title(sheet: LyceeSheet) -> str:
    s = sheet.school
    return f"Fiche lycée : {s['name']} ({s['uai']}), {s['commune'] or 'commune inconnue'}"


def summary_lines(sheet: LyceeSheet) -> list[str]:
    """The sheet's headline sentences (French)."""
    s, f = sheet.school, sheet.filters
    pupils = "non déclaré" if pd.isna(s["seconde_pupils"]) else format_number(s["seconde_pupils"])
    mode = catalogue.mode_label(f.mode)
    row = sheet.modes.set_index("mode").loc[f.mode]
    reach = ", ".join(sheet.reachable_sectors()) or "aucun"
    missing = ", ".join(sheet.missing_sectors()) or "aucun"
    return [
        f"Élèves de seconde : {pupils}. Département : {s['dep_name']} ({s['dep']}).",
        f"{mode}, {format_number(f.minutes)} min : {count(row['offers'], 'offre accessible', 'offres accessibles')} depuis le "
        f"lycée, contre {format_number(row['dep_mean_offers'], 1)} en moyenne pour les lycées du département "
        "(pondérée par les élèves de seconde).",
        f"Secteurs à portée : {reach}.",
        f"Secteurs présents dans le département mais hors de portée : {missing}.",
        "Temps depuis le lycée (temps de trajet enregistrés de l'observatoire, modèle intra-communal pour les "
        "offres placées à la mairie de la commune du lycée).",
    ]


def to_csv(sheet: LyceeSheet) -> bytes:
    from analysis.outputs.export import csv_bytes

    return csv_bytes(_mode_labels(sheet.offers)[list(OFFER_HEADERS)].rename(columns=OFFER_HEADERS))


def to_xlsx(sheet: LyceeSheet) -> bytes:
    import openpyxl

    from analysis.outputs.export import workbook_bytes, xlsx_value

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Lycée"
    for line in [_title(sheet), f"Édité le {sheet.generated_at:%d/%m/%Y}", *summary_lines(sheet), ""]:
        ws.append([xlsx_value(line)])
    _append_table(ws, _mode_labels(sheet.modes), MODE_HEADERS, xlsx_value)
    sec = wb.create_sheet("Secteurs")
    heads = {"sector": "Secteur", "dep_offers": "Offres du département"}
    heads.update({m: f"Accessibles : {catalogue.mode_label(m)}" for m in catalogue.MODES})
    _append_table(sec, sheet.sectors, heads, xlsx_value)
    off = wb.create_sheet("Offres accessibles")
    _append_table(off, _mode_labels(sheet.offers), OFFER_HEADERS, xlsx_value)
    return workbook_bytes(wb)


def _append_table(ws, df: pd.DataFrame, headers: dict[str, str], cell) -> None:
    ws.append([cell(headers[c]) for c in headers])
    for rec in df[list(headers)].itertuples(index=False):
        ws.append([None if not isinstance(v, str) and pd.isna(v) else cell(v) for v in rec])


def to_pdf(sheet: LyceeSheet) -> bytes:
    from analysis.report.columns import Column
    from analysis.report.pdf import font_paths, heading, para, pdf_class, pdf_table

    regular, bold = font_paths()
    pdf = pdf_class()(orientation="P", unit="mm", format="A4")
    pdf.set_margins(15, 15, 15)
    pdf.set_auto_page_break(True, margin=16)
    pdf.add_font("DejaVu", "", str(regular))
    pdf.add_font("DejaVu", "B", str(bold))
    s = sheet.school
    pdf.footer_text = f"Observatoire des stages — Normandie · {s['name']} · édité le {sheet.generated_at:%d/%m/%Y}"
    pdf.set_title(_title(sheet))
    pdf.add_page()
    heading(pdf, _title(sheet), 15)
    for line in summary_lines(sheet):
        para(pdf, line)
        pdf.ln(1)
    heading(pdf, "Par mode, comparé aux lycées du département", 11)
    cols = [Column(k, v, kind="text" if k == "mode" else "dec1") for k, v in MODE_HEADERS.items()]
    cols[1] = Column("offers", MODE_HEADERS["offers"], kind="int")
    cols[3] = Column("sectors", MODE_HEADERS["sectors"], kind="int")
    pdf_table(pdf, _mode_labels(sheet.modes), cols, [44, 24, 24, 24, 32, 32])
    f = sheet.filters
    mine = sheet.offers[sheet.offers["mode"] == f.mode].copy()
    heading(pdf, f"Offres accessibles : {catalogue.mode_label(f.mode)}, {format_number(f.minutes)} min", 11)
    if mine.empty:
        para(pdf, "Aucune offre connue dans ce temps.")
    else:
        for c in ("employer", "address", "commune", "sector"):
            mine[c] = mine[c].fillna("")
        ocols = [
            Column("minutes", "Minutes", kind="dec1"),
            Column("sector", "Secteur"),
            Column("employer", "Employeur"),
            Column("commune", "Commune"),
            Column("address", "Adresse"),
        ]
        pdf_table(pdf, mine, ocols, [16, 40, 36, 30, 58], max_rows=300, font_size=7)
    return bytes(pdf.output())


def lycee_filename(sheet: LyceeSheet, fmt: str) -> str:
    return f"fiche_lycee_{sheet.school['uai']}_{sheet.filters.mode}_{sheet.filters.minutes}min.{fmt}"


def build_lycee_report(
    con: duckdb.DuckDBPyConnection, code: str | None, fmt: str, filters: Filters | None = None
) -> tuple[bytes, str, str]:
    """The lycée sheet as ``(bytes, file name, MIME type)`` in ``csv``, ``xlsx`` or ``pdf``."""
    from analysis.report.columns import FORMATS

    if fmt not in FORMATS:
        raise ReportError(f"Format inconnu : {fmt!r} (attendu : {', '.join(FORMATS)})")
    sheet = collect_lycee(con, code, filters)
    render = {"csv": to_csv, "xlsx": to_xlsx, "pdf": to_pdf}[fmt]
    return render(sheet), lycee_filename(sheet, fmt), FORMATS[fmt]
