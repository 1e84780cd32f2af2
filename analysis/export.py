"""The one writer path for spreadsheet exports (CSV and XLSX): no formula from the data.

A text cell whose first character is ``= + - @``, tab or carriage return is taken for a
formula by spreadsheet programs (OWASP "CSV injection"): :func:`csv_bytes` and
:func:`xlsx_value` prefix such cells with an apostrophe (:func:`analysis.sanitize.spreadsheet_text`).
Numbers stay numbers: numeric cells are never touched, and a text cell holding a plain number
(``-3``, ``+2,5``) is left as it is (it evaluates to itself). XLSX cells also lose the control
characters that XML cannot hold (a NUL byte made openpyxl fail on the whole report), and
:func:`workbook_bytes` turns any formula cell left in a workbook into neutralised text
before saving (the reports never write formulas on purpose).

Used by the reports (:mod:`analysis.report`), the CSV download buttons of the pages
(``ui.core.csv_bytes``) and the quarantine download of the Import page.
"""

from __future__ import annotations

import io
import re
from typing import Any

import pandas as pd

from analysis.sanitize import spreadsheet_text

#: A text cell that is just a number: left as is (``-3`` is not a formula).
_NUMBER = re.compile(r"^[+-]?(?:\d[\d\u202f\u00a0]*(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?$")
#: Characters that XML 1.0 (hence XLSX) cannot hold.
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def text_cell(value: Any) -> Any:
    """A cell value neutralised for a spreadsheet (text only; plain numbers and non-text kept)."""
    if isinstance(value, str) and not _NUMBER.match(value):
        return spreadsheet_text(value)
    return value


def neutralise_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells (and column names) are neutralised."""
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


def csv_bytes(df: pd.DataFrame, decimal: str = ",") -> bytes:
    """CSV for French Excel: UTF-8 with BOM, ``;`` separator, decimal comma, CRLF line ends,
    text cells neutralised (:func:`text_cell`); floats at full precision."""
    text = neutralise_frame(df).to_csv(sep=";", decimal=decimal, index=False, lineterminator="\r\n")
    return ("\ufeff" + text).encode("utf-8")


def xlsx_value(value: Any) -> Any:
    """A cell value for openpyxl: text without XML-illegal characters, neutralised."""
    if isinstance(value, str):
        return text_cell(_XML_ILLEGAL.sub("", value))
    return value


def workbook_bytes(wb: Any) -> bytes:
    """Save an openpyxl workbook to bytes, after turning every formula cell into text.

    openpyxl writes any string starting with ``=`` as a formula: whatever path wrote it, it is
    saved as neutralised text instead.
    """
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    text = str(cell.value)
                    cell.value = None
                    cell.value = spreadsheet_text(text)
                    cell.data_type = "s"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
