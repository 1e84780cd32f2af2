"""Tabular report files: CSV and XLSX, and the value formatting they share with the PDF.

Owns :func:`format_value`, :func:`report_filename`, :func:`to_csv`, :func:`to_xlsx` and the
key figures of the XLSX summary sheet, and the caveats (:func:`caveats`) shown by the XLSX and the PDF.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from analysis import access, catalogue
from analysis.access import Filters
from analysis.outputs import export
from analysis.report.columns import (
    CSV_ROWS,
    NO_OFFER_COLUMNS,
    ORIGIN_COLUMNS,
    ORIGIN_LABELS,
    PROJECT_COLUMNS,
    SCHOOL_COLUMNS,
    SECTOR_COLUMNS,
    SOURCE_COLUMNS,
    Column,
    display_value,
    is_missing,
    mode_phrase,
    pick_columns,
    table_columns,
)
from analysis.report.data import ReportData, parameters_text
from analysis.report.errors import ReportError
from analysis.report.territory import Territory
from analysis.text import MISSING, count, format_number, format_percent, lower_first, strip_accents


def format_value(value: Any, kind: str) -> str:
    """A value as French text for the PDF, according to the column kind."""
    if is_missing(value):
        return MISSING
    if isinstance(value, str) and kind != "text":  # words for a missing figure (« non déclaré »)
        return value
    if kind in ("int", "dec0"):
        return format_number(value, 0)
    if kind == "dec1":
        return format_number(value, 1)
    if kind == "dec2":
        return format_number(value, 2)
    if kind == "dec4":
        return format_number(value, 4)
    if kind == "pct":
        return format_percent(value, 1)
    if kind == "bool":
        return "oui" if bool(value) else "non"
    if isinstance(value, str) and value in access.DENSITY_LABELS:  # density-class codes
        return access.DENSITY_LABELS[value]
    return str(value)


def _slug(text: str) -> str:
    s = strip_accents(str(text)).lower()
    out = "".join(ch if ch.isalnum() else "-" for ch in s)
    while "--" in out:
        out = out.replace("--", "-")
    return out.strip("-")[:60] or "territoire"


def report_filename(terr: Territory, filters: Filters, fmt: str) -> str:
    """File name of a report, e.g. ``rapport_epci_200067205_cc-de-la-hague_transit_45min.pdf``."""
    sec = "_" + _slug("-".join(filters.sectors))[:30] if filters.sectors else ""
    orig = "_lycees" if filters.origin_kind == "school" else ""
    return (
        f"rapport_{terr.level}_{terr.code}_{_slug(terr.name)}_{filters.mode}_"
        f"{format_number(filters.minutes, 0)}min{sec}{orig}.{fmt}"
    )


# --------------------------------------------------------------------------------------------
# CSV
# --------------------------------------------------------------------------------------------


def _csv_frame(
    df: pd.DataFrame, columns: Sequence[Column], header: str = "fr", networks: Sequence[str] | None = None
) -> pd.DataFrame:
    out = df[[c.key for c in columns]].copy()
    for c in columns:
        if c.kind == "text" and header == "fr":
            out[c.key] = out[c.key].map(lambda v, k=c.key: display_value(k, v, networks))
        if c.kind == "bool":
            out[c.key] = out[c.key].map(lambda v: "" if is_missing(v) else ("oui" if bool(v) else "non"))
        elif c.kind == "int" or (c.kind == "dec0" and header == "fr"):  # whole pupils (estimates)
            out[c.key] = out[c.key].map(lambda v: "" if is_missing(v) else str(int(round(float(v)))))
        elif c.kind == "pct" and header == "fr":  # « (%) » header: 0–100, one decimal as on screen
            out[c.key] = (pd.to_numeric(out[c.key], errors="coerce").astype(float) * 100).round(1)
        elif c.kind != "text":
            out[c.key] = pd.to_numeric(out[c.key], errors="coerce").astype(float)
    if header == "fr":
        out.columns = [c.header_for(networks) for c in columns]
    return out


#: Header rows of the CSV: French labels (default) or the stable technical keys.
CSV_HEADERS: tuple[str, ...] = ("fr", "cles")


def to_csv(data: ReportData, rows: str = "territoires", header: str = "fr") -> bytes:
    """The main table as CSV: UTF-8 with BOM, ``;`` separator, decimal comma (French Excel).

    ``rows='territoires'``: one row per territory (:data:`TABLE_COLUMNS`);
    ``rows='origines'``: one row per origin of the territory (:data:`ORIGIN_COLUMNS`).
    ``header='fr'`` (default): the header row holds the French labels with units (those of
    the XLSX) and the codes of the text columns (mode, level, role, origin kind, density
    class) are written in French; ``header='cles'``: technical keys and codes, for scripts
    (both documented in ``docs/reports.md``). With French headers, pupils (estimated, fractional
    in the database) are written whole and shares in % (0–100, one decimal, as on screen and in
    the PDF); with ``header='cles'`` decimal numbers are written at full precision (``repr``), so
    that reading them back gives exactly the values of ``analysis.access`` (shares 0–1);
    booleans are ``oui``/``non``; missing values are empty.
    """
    if rows not in CSV_ROWS:
        raise ReportError(f"Lignes du CSV inconnues : {rows!r} (attendu : {', '.join(CSV_ROWS)})")
    if header not in CSV_HEADERS:
        raise ReportError(f"En-tête du CSV inconnu : {header!r} (attendu : {', '.join(CSV_HEADERS)})")
    out = (
        _csv_frame(data.table, table_columns(), header, data.networks)
        if rows == "territoires"
        else _csv_frame(data.origins, ORIGIN_COLUMNS, header, data.networks)
    )
    return export.csv_bytes(out)  # text cells neutralised (no formula from the data)


# --------------------------------------------------------------------------------------------
# XLSX
# --------------------------------------------------------------------------------------------

#: Excel number formats (codes are locale-independent: French Excel shows "1 234,5").
_XLSX_FORMATS = {
    "int": "#,##0",
    "dec0": "#,##0",
    "dec1": "#,##0.0",
    "dec2": "#,##0.00",
    "dec4": "0.0000",
    "pct": "0.0%",
}


def _xlsx_value(value: Any, kind: str) -> Any:
    if is_missing(value):
        return None
    if isinstance(value, str) and kind != "text":  # words for a missing figure (« non déclaré »)
        return value
    if kind == "bool":
        return "oui" if bool(value) else "non"
    if kind in ("int", "dec0"):  # whole pupils: the estimate keeps its decimals in the database only
        return int(round(float(value)))
    if kind in ("dec0", "dec1", "dec2", "dec4", "pct"):
        return float(value)
    if isinstance(value, (np.generic,)):
        return value.item()
    return value if isinstance(value, (int, float)) else export.xlsx_value(str(value))


def _xlsx_sheet(
    wb: Any,
    title: str,
    df: pd.DataFrame,
    columns: Sequence[Column],
    note: str | None = None,
    networks: Sequence[str] | None = None,
) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    ws = wb.create_sheet(title)
    start = 1
    if note:
        ws.cell(row=1, column=1, value=note).font = Font(italic=True)
        start = 3
    header_fill = PatternFill("solid", fgColor="DDDDDD")
    for j, c in enumerate(columns, start=1):
        cell = ws.cell(row=start, column=j, value=c.header_for(networks))
        cell.font = Font(bold=True)
        cell.fill = header_fill
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for i, rec in enumerate(df[[c.key for c in columns]].itertuples(index=False), start=start + 1):
        for j, (c, v) in enumerate(zip(columns, rec), start=1):
            cell = ws.cell(row=i, column=j, value=_xlsx_value(display_value(c.key, v, networks), c.kind))
            _xlsx_number(cell, c.kind)
    ws.freeze_panes = ws.cell(row=start + 1, column=1)
    ws.row_dimensions[start].height = 45
    for j, c in enumerate(columns, start=1):
        values = [len(str(x)) for x in df[c.key].head(200) if not is_missing(x)] if c.kind == "text" else [10]
        width = max([min(max(values, default=8), 60), 10 if c.kind != "text" else 8])
        if c.kind != "text":
            width = 14
        ws.column_dimensions[get_column_letter(j)].width = width + 2
    if len(df):
        ws.auto_filter.ref = f"A{start}:{get_column_letter(len(columns))}{start + len(df)}"


#: Key figures shown in the summary (XLSX « Synthèse » and PDF page 1), by column key.
KEY_FIGURES: tuple[str, ...] = (
    "pupils",
    "offers_located",
    "offers_per_100_pupils",
    "offers_reachable_mean",
    "sectors_reachable_mean",
    "places_per_pupil_2sfca",
    "pupils_no_offer",
    "share_no_offer",
    "pupils_no_offer_transit",
    "share_no_offer_transit",
    "median_minutes_{mode}",
    "car_transit_ratio",
    "n_stops",
    "morning_departures",
    "population",
    "density_per_km2",
    "density_class",
    "pupils_low_density_share",
)


def key_figure_columns(filters: Filters) -> list[Column]:
    """The :data:`TABLE_COLUMNS` entries of the key figures, for the chosen mode."""
    return list(pick_columns(table_columns(), *(k.format(mode=filters.mode) for k in KEY_FIGURES)))


def _xlsx_number(cell: Any, kind: str) -> None:
    """Give ``cell`` the Excel number format of the column kind (if it has one)."""
    if kind in _XLSX_FORMATS:
        cell.number_format = _XLSX_FORMATS[kind]


def _summary_parameters(ws: Any, r: int, data: ReportData) -> int:
    """The « Paramètres » block of the summary sheet from row ``r``; the next free row."""
    from openpyxl.styles import Font

    ws.cell(row=r, column=1, value="Paramètres").font = Font(bold=True)
    r += 1
    for label, value in parameters_text(data.filters, data.networks):
        ws.cell(row=r, column=1, value=label)
        ws.cell(row=r, column=2, value=export.xlsx_value(value))
        r += 1
    return r


def _summary_key_figures(ws: Any, r: int, data: ReportData) -> int:
    """The « Chiffres clés » block (territory beside its references) from row ``r``; the next free row."""
    from openpyxl.styles import Font, PatternFill

    bold = Font(bold=True)
    nets = data.networks
    ws.cell(row=r, column=1, value="Chiffres clés").font = bold
    r += 1
    key_rows = data.key_rows
    head = ["Indicateur", "Unité"] + [export.xlsx_value(str(x["name"])) for x in key_rows]
    fill = PatternFill("solid", fgColor="DDDDDD")
    for j, h in enumerate(head, start=1):
        cell = ws.cell(row=r, column=j, value=h)
        cell.font = bold
        cell.fill = fill
    r += 1
    for c in key_figure_columns(data.filters):
        ws.cell(row=r, column=1, value=c.label_for(nets))
        ws.cell(row=r, column=2, value=c.unit)
        for j, row in enumerate(key_rows, start=3):
            cell = ws.cell(row=r, column=j, value=_xlsx_value(display_value(c.key, row[c.key], nets), c.kind))
            _xlsx_number(cell, c.kind)
        r += 1
    return r


def _optional_text(value: Any) -> Any:
    """A database text for a cell: None when missing, else neutralised text."""
    return None if is_missing(value) else export.xlsx_value(str(value))


def _summary_vintages(ws: Any, r: int, data: ReportData) -> int:
    """The « Millésimes des données » block (sources, then travel-time runs) from row ``r``;
    the next free row."""
    from openpyxl.styles import Font

    ws.cell(row=r, column=1, value="Millésimes des données").font = Font(bold=True)
    r += 1
    for rec in data.sources.itertuples(index=False):
        ws.cell(
            row=r,
            column=1,
            value=export.xlsx_value(str(rec.description if not is_missing(rec.description) else rec.dataset)),
        )
        ws.cell(row=r, column=2, value=_optional_text(rec.vintage))
        ws.cell(row=r, column=3, value=_optional_text(rec.publisher))
        r += 1
    for rec in data.runs.itertuples(index=False):
        mode = lower_first(str(display_value("mode", rec.mode, data.networks)))
        ws.cell(row=r, column=1, value="temps de trajet : " + mode)
        ws.cell(row=r, column=2, value=export.xlsx_value(str(getattr(rec, "computed_at", ""))))
        ws.cell(row=r, column=3, value=export.xlsx_value(str(getattr(rec, "network_source", ""))))
        r += 1
    return r


def _summary_sheet(wb: Any, data: ReportData) -> None:
    """The « Synthèse » sheet (the workbook's first): title, date, parameters, key figures,
    data vintages, caveats."""
    from openpyxl.styles import Alignment, Font

    ws = wb.active
    ws.title = "Synthèse"
    ws["A1"] = f"Observatoire des stages — Normandie : rapport {data.territory.label}"
    ws["A1"].font = Font(bold=True, size=14)
    ws["A2"] = f"Édité le {data.generated_at:%d/%m/%Y à %H:%M}"
    r = _summary_parameters(ws, 4, data)
    r = _summary_key_figures(ws, r + 1, data)
    r = _summary_vintages(ws, r + 1, data)
    r += 1
    for line in caveats(data):
        ws.cell(row=r, column=1, value=line).alignment = Alignment(wrap_text=False)
        r += 1
    ws.column_dimensions["A"].width = 52
    ws.column_dimensions["B"].width = 40
    for letter in "CDEF":
        ws.column_dimensions[letter].width = 24


def _detail_sheets(data: ReportData) -> tuple[tuple[str, pd.DataFrame, Sequence[Column], str | None], ...]:
    """The workbook's table sheets after the summary, in order: title, table, columns, note."""
    f, nets = data.filters, data.networks
    return (
        ("Territoires", data.table, table_columns(), None),
        (
            "Lycées",
            data.schools,
            SCHOOL_COLUMNS,
            "Lycées situés dans le territoire ; origine = le lycée, effectifs de seconde "
            "déclarés ; même mode, budget et filtres d'offres.",
        ),
        (
            "Offres par secteur",
            data.sectors,
            SECTOR_COLUMNS,
            "Offres situées dans le territoire (filtres appliqués), à la mairie de leur commune.",
        ),
        (
            "Élèves sans offre",
            data.no_offer,
            NO_OFFER_COLUMNS,
            f"Origines du territoire ayant des élèves et aucune offre accessible "
            f"{mode_phrase(f.mode, nets)} en {format_number(f.minutes)} min.",
        ),
        (
            "Projets collectifs",
            data.projects,
            PROJECT_COLUMNS,
            "Projets de stages collectifs situés dans le territoire (carte du 15/12/2025).",
        ),
        (
            "Origines",
            data.origins,
            ORIGIN_COLUMNS,
            "Une ligne par origine du territoire (" + ORIGIN_LABELS[f.origin_kind] + ").",
        ),
        ("Sources", data.sources, SOURCE_COLUMNS, None),
    )


def to_xlsx(data: ReportData) -> bytes:
    """The report as an Excel workbook (openpyxl).

    Sheets: « Synthèse » (parameters, key figures beside the references, data vintages),
    « Territoires » (:data:`TABLE_COLUMNS`), « Lycées », « Offres par secteur », « Élèves sans
    offre », « Projets collectifs », « Origines », « Sources ». Frozen headers, column widths,
    number formats.
    """
    from openpyxl import Workbook

    wb = Workbook()
    _summary_sheet(wb, data)
    for title, df, columns, note in _detail_sheets(data):
        _xlsx_sheet(wb, title, df, columns, note, data.networks)
    return export.workbook_bytes(wb)  # any formula cell left becomes neutralised text


def _transit_caveat(networks: Sequence[str]) -> str:
    """The caveat on the public-transport networks loaded."""
    return "- " + catalogue.transit_caveat(networks)


def caveats(data: ReportData) -> list[str]:
    f = data.filters
    lines = [
        "Avertissements :",
        "- Élèves par commune de résidence : estimation (total régional réparti au prorata de la population)."
        if f.origin_kind == "commune"
        else "- Origines = lycées : effectifs de seconde déclarés (lycées sans effectif comptés 0).",
        "- Offres placées à la mairie de leur commune ; capacité inconnue : 1 place par offre.",
        f"- Temps de trajet calculés jusqu'à {format_number(data.horizon)} min ; au-delà, hors d'atteinte.",
        _transit_caveat(data.networks),
        "- Classe de densité : approximation communale de la grille de densité INSEE.",
    ]
    row = data.row()
    if row is not None and bool(row["uses_estimated_times"]):
        lines.append("- Une partie des temps de ce territoire sont des estimations à vol d'oiseau.")
    flagged = data.table[(data.table["level"] == "commune") & data.table["origin_note"].notna()]
    flagged = flagged.drop_duplicates("code")
    if len(flagged):
        names = ", ".join(flagged["name"].astype(str).head(6)) + (", etc." if len(flagged) > 6 else "")
        lines.append(
            f"- {catalogue.SINGLE_ORIGIN[:1].upper() + catalogue.SINGLE_ORIGIN[1:]} : "
            f"{count(len(flagged), 'grande commune')} ({names}) {'est comptée' if len(flagged) < 2 else 'sont comptées'} "
            "depuis un seul point alors que leurs élèves habitent parfois à plusieurs kilomètres "
            "(50 km² ou plus, ou commune nouvelle ; colonne « Point de départ des élèves »)."
        )
    return lines
