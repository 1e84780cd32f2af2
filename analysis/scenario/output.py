"""A scenario's result as JSON, CSV, XLSX and PDF (French headers, whole pupils, no live formula)."""

from __future__ import annotations

import io
import json
from typing import Any

import pandas as pd

from analysis import catalogue
from analysis.outputs import export
from analysis.report.columns import Column, compact_frame
from analysis.report.pdf import font_paths, heading, para, pdf_class, pdf_table
from analysis.scenario.evaluate import ScenarioResult, as_dict
from analysis.text import count, format_number

FORMATS = ("json", "csv", "xlsx", "pdf")

#: Columns of the per-origin table, declared as every exported column is
#: (:class:`analysis.report.columns.Column`: key, French label, unit, kind): the one place they are named.
ORIGIN_COLUMNS: tuple[Column, ...] = (
    Column("code", "Code", "", "text"),
    Column("name", "Nom", "", "text"),
    Column("pupils", "Élèves de seconde (estimation)", "élèves", "int"),
    Column("offers_before", "Offres accessibles avant", "offres", "int"),
    Column("offers_after", "Offres accessibles après", "offres", "int"),
    Column("minutes_before", "Offre la plus proche avant", "min", "dec1"),
    Column("minutes_after", "Offre la plus proche après", "min", "dec1"),
    Column("places_per_pupil_before", "Places par élève (2SFCA) avant", "", "dec4"),
    Column("places_per_pupil_after", "Places par élève (2SFCA) après", "", "dec4"),
)
EPCI_COLUMNS: tuple[Column, ...] = (
    Column("code", "SIREN", "", "text"),
    Column("name", "EPCI", "", "text"),
    Column("pupils", "Élèves de seconde (estimation)", "élèves", "int"),
    Column("pupils_without_offer_before", "Élèves sans offre avant", "élèves", "int"),
    Column("pupils_without_offer_after", "Élèves sans offre après", "élèves", "int"),
    Column("gain_pupils", "Élèves gagnés", "élèves", "int"),
)


def labelled(df: pd.DataFrame, columns: tuple[Column, ...] = ORIGIN_COLUMNS) -> pd.DataFrame:
    """The table as shown and exported: French headers, whole pupils, minutes to a tenth
    (:func:`analysis.report.columns.compact_frame`)."""
    return compact_frame(df, columns)


def mode_text(result: ScenarioResult) -> str:
    return catalogue.mode_label(result.mode, result.networks)


def summary_lines(result: ScenarioResult) -> list[str]:
    """The French summary: budget, pupils without an offer before and after, the gain."""
    kind = "communes de résidence" if result.origin_kind == "commune" else "lycées"
    lines = [
        f"Scénario « {result.name} » — {mode_text(result)}, {format_number(result.minutes)} min, origine : {kind}.",
        f"Élèves sans offre accessible : {format_number(round(result.without_before))} avant, "
        f"{format_number(round(result.without_after))} après.",
        f"Gain : {count(round(result.gain_pupils), 'élève')} atteignent désormais au moins une offre.",
    ]
    if result.service_date:
        lines.append(f"Horaires : jour évalué {result.service_date} (TER SNCF et lignes du scénario).")
    lines.append("Élèves par commune : estimation (population × effectif régional de seconde).")
    return lines + list(result.notes)


def to_json(result: ScenarioResult, all_origins: bool = False) -> bytes:
    return json.dumps(as_dict(result, all_origins), ensure_ascii=False, indent=2).encode("utf-8")


def to_csv(result: ScenarioResult, all_origins: bool = True) -> bytes:
    rows = result.origins if all_origins else result.changed()
    return export.csv_bytes(labelled(rows, ORIGIN_COLUMNS))


def to_xlsx(result: ScenarioResult) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Résumé"
    for line in summary_lines(result):
        ws.append([export.xlsx_value(line)])
    for title, df, cols in (
        (
            "Communes qui changent" if result.origin_kind == "commune" else "Lycées qui changent",
            result.changed(),
            ORIGIN_COLUMNS,
        ),
        ("EPCI", result.epci, EPCI_COLUMNS),
        ("Toutes les origines", result.origins, ORIGIN_COLUMNS),
    ):
        sheet = wb.create_sheet(title)
        table = labelled(df, cols)
        sheet.append([export.xlsx_value(c) for c in table.columns])
        for rec in table.itertuples(index=False):
            sheet.append([None if pd.isna(v) else export.xlsx_value(v) for v in rec])
    return export.workbook_bytes(wb)


def to_pdf(result: ScenarioResult) -> bytes:
    regular, bold = font_paths()
    pdf = pdf_class()(orientation="L", format="A4")
    pdf.add_font("DejaVu", "", str(regular))
    pdf.add_font("DejaVu", "B", str(bold))
    pdf.footer_text = f"Observatoire des stages — scénario « {result.name} »"
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    heading(pdf, f"Scénario de mobilité : {result.name}", 14)
    for line in summary_lines(result):
        para(pdf, line)
    changed = result.changed()
    heading(pdf, "Origines qui changent")
    if changed.empty:
        para(pdf, "Aucune : le scénario ne change l'accès d'aucune origine.")
    else:
        pdf_table(pdf, changed, ORIGIN_COLUMNS, (18, 50, 28, 26, 26, 28, 28, 32, 32), max_rows=60)
    gained = result.epci[result.epci["gain_pupils"] > 0]
    heading(pdf, "EPCI")
    if gained.empty:
        para(pdf, "Aucun EPCI ne gagne d'élèves atteignant une offre.")
    else:
        pdf_table(pdf, gained, EPCI_COLUMNS, (24, 90, 36, 36, 36, 30), max_rows=40)
    return bytes(pdf.output())


def render(result: ScenarioResult, fmt: str, all_origins: bool = False) -> bytes:
    """The result in ``fmt`` (one of :data:`FORMATS`)."""
    writers: dict[str, Any] = {
        "json": lambda r: to_json(r, all_origins),
        "csv": lambda r: to_csv(r, True),
        "xlsx": to_xlsx,
        "pdf": to_pdf,
    }
    return writers[fmt](result)


def file_name(result: ScenarioResult, fmt: str) -> str:
    from analysis.sanitize import safe_file_name

    return safe_file_name(f"scenario_{result.name}_{result.mode}_{int(result.minutes)}min.{fmt}")


__all__ = ["FORMATS", "render", "file_name", "summary_lines", "to_csv", "to_json", "to_pdf", "to_xlsx", "io"]
