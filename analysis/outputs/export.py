"""The one writer of the spreadsheet files the product emits (CSV and XLSX): no formula, valid XML.

Every CSV and XLSX file written by the observatory — reports, planner sites and programmes,
page downloads, per-pupil reach and scenario exports — goes through this module:

- :func:`csv_bytes` writes a data frame as CSV (French Excel by default: UTF-8 with BOM, ``;``,
  decimal comma, CRLF);
- :func:`xlsx_bytes` writes data frames as the sheets of an XLSX workbook (header row in bold,
  frozen, column widths), without pandas' Excel writer;
- :func:`workbook_bytes` saves an openpyxl workbook built cell by cell (the reports), after a
  last pass over every cell and sheet title.

Two rules hold for every text cell, whatever its origin (import, build source, database):

- a text cell whose first character is ``= + - @``, tab or carriage return is taken for a
  formula by spreadsheet programs (OWASP "CSV injection"): it gets a leading apostrophe
  (:func:`analysis.sanitize.spreadsheet_text`). Numbers stay numbers: numeric cells are never
  touched, and a text cell holding a plain number (``-3``, ``+2,5``) is left as it is (it
  evaluates to itself);
- characters that XML 1.0 cannot hold are removed (:func:`clean_text`): the C0 control
  characters except tab, line feed and carriage return, the surrogates, and the noncharacters
  U+FFFE and U+FFFF (openpyxl writes them, and the workbook can no longer be opened: "not
  well-formed"). They are removed before the formula check, so that ``"\\x00=1+1"`` is
  neutralised too.

openpyxl writes any string starting with ``=`` as a formula cell: :func:`workbook_bytes`
turns any formula cell left in a workbook into neutralised text before saving (the product
never writes formulas on purpose).
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from analysis.sanitize import spreadsheet_text

#: A text cell that is just a number: left as is (``-3`` is not a formula).
_NUMBER = re.compile(r"^[+-]?(?:\d[\d\u202f\u00a0]*(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?$")
#: Characters that XML 1.0 (hence XLSX) cannot hold: C0 controls except tab, LF and CR,
#: surrogates, and the noncharacters U+FFFE and U+FFFF.
XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
#: Characters forbidden in an Excel sheet title, and its maximum length.
_SHEET_FORBIDDEN = re.compile(r"[\[\]\*\?/\\:]")
SHEET_TITLE_MAX = 31
#: Widest column of :func:`xlsx_bytes` (characters).
_MAX_WIDTH = 60
#: MIME type of an XLSX file.
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def clean_text(value: str) -> str:
    """``value`` without the characters XML 1.0 cannot hold (:data:`XML_ILLEGAL`)."""
    return XML_ILLEGAL.sub("", value)


def text_cell(value: Any) -> Any:
    """A cell value made safe for a spreadsheet: text cleaned (:func:`clean_text`) and
    neutralised (leading apostrophe before a formula character); plain numbers and non-text
    values kept."""
    if isinstance(value, str):
        value = clean_text(value)
        if not _NUMBER.match(value):
            return spreadsheet_text(value)
    return value


def neutralise_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells (and column names) are made safe (:func:`text_cell`)."""
    out = df.copy()
    for c in out.columns:
        if not (
            pd.api.types.is_numeric_dtype(out[c])
            or pd.api.types.is_bool_dtype(out[c])
            or pd.api.types.is_datetime64_any_dtype(out[c])
        ):
            out[c] = out[c].map(text_cell)
    out.columns = [text_cell(str(c)) for c in out.columns]
    return out


def csv_bytes(df: pd.DataFrame, decimal: str = ",", *, sep: str = ";", bom: bool = True, index: bool = False) -> bytes:
    """A data frame as CSV bytes, text cells made safe (:func:`text_cell`).

    Parameters
    ----------
    df : pandas.DataFrame
    decimal : str
        Decimal mark (``","`` for French spreadsheets, ``"."`` for scripts).
    sep : str
        Field separator (``";"`` for French spreadsheets, ``","`` for scripts).
    bom : bool
        Start with a UTF-8 byte-order mark (lets Excel detect UTF-8).
    index : bool
        Write the index as the first column.

    Returns
    -------
    bytes
        UTF-8, CRLF line ends; floats at full precision.
    """
    frame = df.reset_index() if index else df
    text = neutralise_frame(frame).to_csv(sep=sep, decimal=decimal, index=False, lineterminator="\r\n")
    return (("\ufeff" if bom else "") + text).encode("utf-8")


def xlsx_value(value: Any) -> Any:
    """A cell value for openpyxl: missing values as empty cells, numpy scalars as Python
    numbers, lists joined with `` ; ``, text made safe (:func:`text_cell`)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, (list, tuple, set, np.ndarray)):
        value = " ; ".join(str(v) for v in value)
    if isinstance(value, (bool, int, float)) or hasattr(value, "isoformat"):
        return value
    return text_cell(str(value))


def sheet_title(text: str, used: set[str]) -> str:
    """A valid, unique (case-insensitive, within ``used``) Excel sheet title from ``text``;
    the title is added to ``used``."""
    base = _SHEET_FORBIDDEN.sub(" ", clean_text(str(text))).strip().strip("'")[: SHEET_TITLE_MAX - 3].strip()
    base = base or "Feuille"
    name, k = base, 2
    while name.lower() in used:
        name = f"{base[: SHEET_TITLE_MAX - 4]} {k}"
        k += 1
    used.add(name.lower())
    return name


def _write_sheet(ws: Any, df: pd.DataFrame) -> None:
    """Write ``df`` (header row then values) into the openpyxl sheet ``ws``."""
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    bold = Font(bold=True)
    for j, name in enumerate(df.columns, start=1):
        cell = ws.cell(row=1, column=j, value=xlsx_value(str(name)))
        cell.font = bold
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for i, rec in enumerate(df.itertuples(index=False), start=2):
        for j, v in enumerate(rec, start=1):
            ws.cell(row=i, column=j, value=xlsx_value(v))
    ws.freeze_panes = "A2"
    for j, name in enumerate(df.columns, start=1):
        lengths = [len(str(name))] + [len(str(v)) for v in df.iloc[:200, j - 1] if v is not None]
        ws.column_dimensions[get_column_letter(j)].width = min(max(lengths) + 2, _MAX_WIDTH)


def xlsx_bytes(sheets: Mapping[str, pd.DataFrame]) -> bytes:
    """Data frames as the sheets of an XLSX workbook, every cell made safe.

    Parameters
    ----------
    sheets : mapping of str to pandas.DataFrame
        Sheet title (made valid and unique: :func:`sheet_title`) → table, in order. The
        columns are the header row (write French labels); the index is not written (call
        ``reset_index()`` first to keep it).

    Returns
    -------
    bytes
        The workbook (:func:`workbook_bytes`): no formula cell, no XML-illegal character.
    """
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    used: set[str] = set()
    for title, df in sheets.items():
        _write_sheet(wb.create_sheet(sheet_title(title, used)), df)
    if not wb.worksheets:
        wb.create_sheet("Feuille")
    return workbook_bytes(wb)


def workbook_bytes(wb: Any) -> bytes:
    """Save an openpyxl workbook to bytes, after a last pass over every cell and sheet title.

    openpyxl writes any string starting with ``=`` as a formula, and writes U+FFFE / U+FFFF
    as they are (the file then cannot be opened): whatever path wrote a cell, a formula cell is
    saved as neutralised text and every text cell and sheet title is cleaned
    (:func:`clean_text`).
    """
    for ws in wb.worksheets:
        clean_title = clean_text(ws.title)
        if clean_title != ws.title:
            ws.title = clean_title or "Feuille"
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    text = str(cell.value)
                    cell.value = None
                    cell.value = spreadsheet_text(clean_text(text))
                    cell.data_type = "s"
                elif isinstance(cell.value, str) and XML_ILLEGAL.search(cell.value):
                    cell.value = text_cell(cell.value)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
