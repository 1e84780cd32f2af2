"""From collected data to a report file: format dispatch and the end-to-end entry point.

Owns :func:`render` (CSV, XLSX or PDF), :func:`build_report` (``(bytes, filename, mime)``)
and :func:`write_report` (atomic file write).
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import duckdb

from analysis.access import Filters
from analysis.report.columns import CSV_ROWS, FORMATS, ProgressFn
from analysis.report.data import ReportData, collect
from analysis.report.errors import ReportError
from analysis.report.pdf import to_pdf
from analysis.report.tables import CSV_HEADERS, report_filename, to_csv, to_xlsx

# --------------------------------------------------------------------------------------------
# entry points
# --------------------------------------------------------------------------------------------


def render(
    data: ReportData, fmt: str, con: duckdb.DuckDBPyConnection, rows: str = "territoires", header: str = "fr"
) -> bytes:
    """Render collected data in ``fmt`` (``'csv'``, ``'xlsx'`` or ``'pdf'``); ``rows`` and
    ``header`` are for the CSV (:func:`to_csv`)."""
    if fmt == "csv":
        return to_csv(data, rows, header)
    if fmt == "xlsx":
        return to_xlsx(data)
    if fmt == "pdf":
        return to_pdf(data, con)
    raise ReportError(f"Format inconnu : {fmt!r} (attendu : {', '.join(FORMATS)})")


def build_report(
    con: duckdb.DuckDBPyConnection,
    level: str,
    code: str | None,
    fmt: str,
    filters: Filters | None = None,
    *,
    rows: str = "territoires",
    header: str = "fr",
    generated_at: dt.datetime | None = None,
    progress: ProgressFn | None = None,
) -> tuple[bytes, str, str]:
    """Produce a report file in memory.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Database (read-only is enough).
    level : str
        ``'region'``, ``'departement'``, ``'epci'`` or ``'commune'``.
    code : str or None
        Territory code (None for the region).
    fmt : str
        ``'csv'``, ``'xlsx'`` or ``'pdf'``.
    filters : analysis.access.Filters, optional
        Same filters as the screen (default ``Filters()``).
    rows : str
        CSV only: ``'territoires'`` (one row per territory, default) or ``'origines'`` (one
        row per commune of residence or lycée of the territory).
    header : str
        CSV only: ``'fr'`` (French header row and labels, default) or ``'cles'`` (technical
        keys and codes).
    generated_at : datetime.datetime, optional
        Date printed in the report (default: now).

    Returns
    -------
    (bytes, str, str)
        File content, file name, MIME type.

    Raises
    ------
    ReportError
        Unknown level, code, format or sector, empty territory, missing tables.
    """
    if fmt not in FORMATS:
        raise ReportError(f"Format inconnu : {fmt!r} (attendu : {', '.join(FORMATS)})")
    if rows not in CSV_ROWS:
        raise ReportError(f"Lignes du CSV inconnues : {rows!r} (attendu : {', '.join(CSV_ROWS)})")
    if header not in CSV_HEADERS:
        raise ReportError(f"En-tête du CSV inconnu : {header!r} (attendu : {', '.join(CSV_HEADERS)})")
    data = collect(con, level, code, filters, generated_at=generated_at, progress=progress)
    content = render(data, fmt, con, rows, header)
    name = report_filename(data.territory, data.filters, fmt)
    if fmt == "csv" and rows == "origines":
        name = name.replace("rapport_", "origines_", 1)
    return content, name, FORMATS[fmt]


def write_report(path: str | os.PathLike, content: bytes) -> Path:
    """Write ``content`` to ``path`` atomically (temporary file then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        tmp.write_bytes(content)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path
