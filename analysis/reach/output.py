"""The per-pupil results as files: JSON, CSV, XLSX (summary + one sheet per pupil), PDF
(summary page + one page per pupil to hand out).

Spreadsheets go through :mod:`analysis.outputs.export` (no live formula from any text); the PDF uses the
report's primitives (:mod:`analysis.report.pdf`). Everything is built in memory; the command
line writes only the file the user names.
"""

from __future__ import annotations

import datetime as dt
import json
import re

import pandas as pd

from analysis import catalogue
from analysis.reach.model import ReachResult
from analysis.text import count, format_number

FORMATS: dict[str, str] = {
    "json": "application/json",
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}

#: Column key -> French header of the detail table (CSV, XLSX sheets, PDF).
DETAIL_HEADERS: dict[str, str] = {
    "eleve": "Élève",
    "status": "Statut",
    "reason": "Motif du refus",
    "origin_precision": "Départ placé par",
    "offer_id": "Offre",
    "minutes": "Minutes",
    "sector": "Secteur",
    "employer": "Employeur",
    "commune": "Commune",
    "address": "Adresse",
    "line": "Ligne",
    "stop": "Arrêt de départ",
    "time": "Heure de départ",
    "headsign": "Direction",
}

#: Column key -> French header of the summary table.
SUMMARY_HEADERS: dict[str, str] = {
    "eleve": "Élève",
    "status": "Statut",
    "reason": "Motif du refus",
    "origin_precision": "Départ placé par",
    "note": "Remarque",
    "mode": "Mode",
    "minutes": "Budget-temps (min)",
    "offers": "Offres accessibles",
    "nearest": "Plus proche (min)",
    "sectors": "Secteurs accessibles",
}


def to_json(result: ReachResult) -> bytes:
    return json.dumps(result.to_dict(), ensure_ascii=False, indent=2).encode("utf-8")


def summary_frame(result: ReachResult) -> pd.DataFrame:
    """One row per pupil: status, offers reachable, nearest in minutes, sectors within reach."""
    rows = []
    for p in result.pupils:
        o = p.origin
        rows.append(
            {
                "eleve": o.eleve,
                "status": p.status,
                "reason": o.reason or "",
                "origin_precision": o.precision or "",
                "note": o.note or "",
                "mode": catalogue.mode_label(o.mode) if o.mode in catalogue.MODES else (o.mode or ""),
                "minutes": o.minutes,
                "offers": len(p.offers) if o.ok else None,
                "nearest": p.nearest_minutes,
                "sectors": ", ".join(p.sectors),
            }
        )
    return pd.DataFrame(rows, columns=list(SUMMARY_HEADERS))


def detail_frame(result: ReachResult) -> pd.DataFrame:
    """One row per pupil and reachable offer (one row for a pupil without any), sorted as the file."""
    rows = []
    for p in result.pupils:
        o = p.origin
        base = {"eleve": o.eleve, "status": p.status, "reason": o.reason or "", "origin_precision": o.precision or ""}
        if not p.offers:
            rows.append(base)
        for it in p.offers:
            dep = it.get("departure") or {}
            rows.append(
                {
                    **base,
                    **{k: it.get(k) for k in ("offer_id", "minutes", "sector", "employer", "commune", "address")},
                    **{k: dep.get(k) for k in ("line", "stop", "time", "headsign")},
                }
            )
    return pd.DataFrame(rows, columns=list(DETAIL_HEADERS))


def to_csv(result: ReachResult) -> bytes:
    from analysis.outputs.export import csv_bytes

    return csv_bytes(detail_frame(result).rename(columns=DETAIL_HEADERS))


def _sheet_names(names: list[str]) -> list[str]:
    """Valid, distinct sheet names (31 characters, none of ``[]:*?/\\``)."""
    out: list[str] = []
    for n in names:
        base = re.sub(r"[\[\]:*?/\\']", "_", n).strip() or "élève"
        base = base[:28]
        name, k = base, 2
        while name.lower() in {x.lower() for x in out} or name.lower() == "synthèse":
            name, k = f"{base[:26]}~{k}", k + 1
        out.append(name)
    return out


def _write_sheet(ws, df: pd.DataFrame, headers: dict[str, str], title: str | None = None) -> None:
    from analysis.outputs.export import xlsx_value

    if title:
        ws.append([xlsx_value(title)])
    ws.append([xlsx_value(headers[c]) for c in df.columns])
    for rec in df.itertuples(index=False):
        ws.append([None if not isinstance(v, str) and pd.isna(v) else xlsx_value(v) for v in rec])
    for col in ws.columns:
        width = max(len(str(c.value or "")) for c in col[:60])
        ws.column_dimensions[col[0].column_letter].width = min(max(width + 2, 8), 60)


def to_xlsx(result: ReachResult) -> bytes:
    import openpyxl

    from analysis.outputs.export import workbook_bytes

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Synthèse"
    _write_sheet(ws, summary_frame(result), SUMMARY_HEADERS, title=parameters_text(result))
    detail = detail_frame(result)
    names = _sheet_names([p.origin.eleve for p in result.pupils])
    keep = [c for c in DETAIL_HEADERS if c not in ("eleve", "status", "reason", "origin_precision")]
    for p, name, (_, rows) in zip(result.pupils, names, _by_pupil(detail, result)):
        sheet = wb.create_sheet(name)
        head = f"Élève {p.origin.eleve} : " + (
            count(len(p.offers), "offre accessible", "offres accessibles")
            if p.origin.ok
            else f"refusé ({p.origin.reason})"
        )
        _write_sheet(sheet, rows[keep].dropna(how="all"), DETAIL_HEADERS, title=head)
    return workbook_bytes(wb)


def _by_pupil(detail: pd.DataFrame, result: ReachResult):
    """The detail rows of each pupil, in file order (pseudonyms may repeat: by position)."""
    sizes = [max(len(p.offers), 1) for p in result.pupils]
    start = 0
    for p, n in zip(result.pupils, sizes):
        yield p, detail.iloc[start : start + n]
        start += n


def parameters_text(result: ReachResult) -> str:
    mode = catalogue.mode_label(result.mode) if result.mode in catalogue.MODES else result.mode
    text = f"Offres accessibles par élève — {mode}, {format_number(result.minutes)} min"
    if result.mode == "transit" or any(p.origin.mode == "transit" for p in result.pupils):
        when = (
            f"départ à {result.depart}"
            if result.depart
            else "meilleur départ entre 07:00 et 08:30, arrivée avant 09:00"
        )
        text += f" ; transports du {result.service_date or result.date or 'jour de service par défaut'}, {when}"
    if result.sectors:
        text += " ; secteurs : " + ", ".join(result.sectors)
    return text


def _pdf_columns(transit: bool):
    from analysis.report.columns import Column

    cols = [
        Column("minutes", "Minutes", kind="dec1"),
        Column("sector", "Secteur"),
        Column("employer", "Employeur"),
        Column("commune", "Commune"),
        Column("address", "Adresse"),
    ]
    widths = [16, 38, 34, 30, 62]
    if transit:
        cols += [Column("how", "Comment y aller")]
        widths = [14, 30, 24, 24, 40, 48]
    return cols, widths


def to_pdf(result: ReachResult, generated_at: dt.datetime | None = None) -> bytes:
    """Summary page, then one page per pupil (their offers, times, how to get there)."""
    from analysis.report.columns import Column
    from analysis.report.pdf import font_paths, heading, para, pdf_class, pdf_table

    when = generated_at or dt.datetime.now()
    regular, bold = font_paths()
    pdf = pdf_class()(orientation="P", unit="mm", format="A4")
    pdf.set_margins(15, 15, 15)
    pdf.set_auto_page_break(True, margin=16)
    pdf.add_font("DejaVu", "", str(regular))
    pdf.add_font("DejaVu", "B", str(bold))
    pdf.footer_text = f"Observatoire des stages — Normandie · offres par élève · édité le {when:%d/%m/%Y}"
    pdf.set_title("Offres de stage accessibles par élève")
    pdf.set_creation_date(when.astimezone())
    pdf.add_page()
    heading(pdf, "Offres de stage accessibles par élève", 16)
    para(pdf, parameters_text(result))
    para(pdf, PDF_NOTE, 8)
    summary = summary_frame(result)
    cols = [
        Column("eleve", "Élève"),
        Column("status", "Statut"),
        Column("offers", "Offres", kind="int"),
        Column("nearest", "Plus proche (min)", kind="dec1"),
        Column("sectors", "Secteurs accessibles"),
        Column("reason", "Motif du refus"),
    ]
    pdf_table(pdf, summary, cols, [18, 14, 14, 18, 66, 50])
    for p in result.pupils:
        _pupil_page(pdf, p, result, heading, para, pdf_table)
    return bytes(pdf.output())


PDF_NOTE = (
    "Temps de porte à porte calculés par l'observatoire (réseau routier régional, horaires chargés) ; "
    "une offre placée « à la commune » est comptée à la mairie de sa commune. Document nominatif à remettre "
    "à l'élève : ne pas le diffuser."
)


def how_to_get_there(it: dict) -> str:
    """« à pied », or the first transit departure of a reached offer (line, time, stop), in French."""
    dep = it.get("departure")
    if not dep:
        return "à pied"
    return f"ligne {dep['line']} à {dep['time']}, arrêt {dep['stop']}"


def _pupil_page(pdf, p, result: ReachResult, heading, para, pdf_table) -> None:
    o = p.origin
    pdf.add_page()
    heading(pdf, f"Élève {o.eleve}", 14)
    if not o.ok:
        para(pdf, f"Aucun calcul pour cette ligne : {o.reason}")
        return
    mode = catalogue.mode_label(o.mode) if o.mode in catalogue.MODES else o.mode
    where = {"coordonnées": "aux coordonnées données", "adresse": "à l'adresse donnée"}.get(
        o.precision or "", f"à la mairie de {o.commune_name}"
    )
    para(pdf, f"Départ {where} ; {mode}, au plus {format_number(o.minutes)} min.")
    if o.note:
        para(pdf, o.note, 8)
    if not p.offers:
        para(pdf, "Aucune offre connue n'est accessible dans ce temps : voir avec le professeur référent.")
        return
    para(
        pdf, f"{count(len(p.offers), 'offre accessible', 'offres accessibles')}, de la plus proche à la plus lointaine."
    )
    transit = o.mode == "transit"
    df = pd.DataFrame(p.offers)
    if transit:
        df["how"] = [how_to_get_there(it) for it in p.offers]
    for c in ("employer", "address", "commune", "sector"):
        df[c] = df[c].fillna("") if c in df else ""
    cols, widths = _pdf_columns(transit)
    pdf_table(pdf, df, cols, widths, font_size=7)


def render(result: ReachResult, fmt: str) -> bytes:
    if fmt == "json":
        return to_json(result)
    if fmt == "csv":
        return to_csv(result)
    if fmt == "xlsx":
        return to_xlsx(result)
    if fmt == "pdf":
        return to_pdf(result)
    raise ValueError(f"format inconnu : {fmt!r} (attendu : {', '.join(FORMATS)})")
