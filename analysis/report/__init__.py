"""Gap reports to download: CSV, XLSX and a PDF territory portrait (issue 6).

One query path feeds the screen and every file: :func:`collect` gathers a :class:`ReportData`
(the territory, its reference territories and sub-territories from
``analysis.access`` in one query, the lycées, offers by sector, pupils without a reachable
offer, collective projects, sources) and the renderers only format it. The figures are
therefore exactly those of :func:`analysis.access.territory_indicators` and
:func:`analysis.access.origin_accessibility` for the same :class:`analysis.access.Filters`.

The package reads like the way a report is made:

- :mod:`analysis.report.columns`: what each table shows (:class:`Column`, column lists, labels,
  :func:`display_value`);
- :mod:`analysis.report.territory`: :class:`Territory` / :func:`resolve_territory`;
- :mod:`analysis.report.data`: :class:`ReportData` / :func:`collect`, :func:`report_table` and
  their queries;
- :mod:`analysis.report.tables`: CSV and XLSX files and the value formatting;
- :mod:`analysis.report.mapimage`: the printable map; :mod:`analysis.report.pdf`: the PDF portrait
  and the PDF helpers reused by :mod:`analysis.planning.export`;
- :mod:`analysis.report.render`: :func:`build_report` ``(bytes, filename, mime)`` for ``'csv'``,
  ``'xlsx'`` or ``'pdf'``; :mod:`analysis.report.cli`: the command line;
- :mod:`analysis.report.errors`: :class:`ReportError` (French message; nothing is written when
  it is raised).

This module re-exports the public API, so callers write ``from analysis import report`` and
``report.build_report(...)``.

Command line::

    python -m analysis.report --level epci --code 200067205 --format pdf --out portrait.pdf

The columns of each format are documented in French in ``docs/reports.md``.
"""

from __future__ import annotations

from typing import Any

from analysis.report.cli import (
    main,
)
from analysis.report.columns import (
    COMPONENT_LEVELS,
    CSV_ROWS,
    FORMATS,
    LEVEL_LABELS,
    LEVELS,
    NO_OFFER_COLUMNS,
    NOT_DECLARED,
    NOT_DECLARED_KEYS,
    ORIGIN_COLUMNS,
    ORIGIN_KIND_LABELS,
    ORIGIN_LABELS,
    PROJECT_COLUMNS,
    ROLE_COMPONENT,
    ROLE_LABELS,
    ROLE_REFERENCE,
    ROLE_TERRITORY,
    SCHOOL_COLUMNS,
    SECTOR_COLUMNS,
    SOURCE_COLUMNS,
    TABLE_HEAD_COLUMNS,
    Column,
    ProgressFn,
    display_value,
    indicator_column,
    mode_phrase,
    table_columns,
)
from analysis.report.data import (
    ReportData,
    collect,
    parameters_text,
    report_table,
)
from analysis.report.errors import (
    ReportError,
)
from analysis.report.mapimage import (
    MAP_CLASSES,
    map_class,
    render_map,
)
from analysis.report.pdf import (
    DEFINITIONS,
    PDF_LABELS,
    font_paths,
    heading,
    para,
    pdf_class,
    pdf_label,
    pdf_table,
    to_pdf,
)
from analysis.report.render import (
    build_report,
    render,
    write_report,
)
from analysis.report.tables import (
    CSV_HEADERS,
    KEY_FIGURES,
    format_value,
    key_figure_columns,
    report_filename,
    to_csv,
    to_xlsx,
)
from analysis.report.territory import (
    Territory,
    resolve_territory,
)


def __getattr__(name: str) -> Any:
    """``TABLE_COLUMNS``: :func:`table_columns` now (follows the catalogue's registry)."""
    if name == "TABLE_COLUMNS":
        return table_columns()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ReportError",
    "COMPONENT_LEVELS",
    "CSV_ROWS",
    "Column",
    "FORMATS",
    "LEVELS",
    "LEVEL_LABELS",
    "NOT_DECLARED",
    "NOT_DECLARED_KEYS",
    "NO_OFFER_COLUMNS",
    "ORIGIN_COLUMNS",
    "ORIGIN_KIND_LABELS",
    "ORIGIN_LABELS",
    "PROJECT_COLUMNS",
    "ProgressFn",
    "ROLE_COMPONENT",
    "ROLE_LABELS",
    "ROLE_REFERENCE",
    "ROLE_TERRITORY",
    "SCHOOL_COLUMNS",
    "SECTOR_COLUMNS",
    "SOURCE_COLUMNS",
    "TABLE_HEAD_COLUMNS",
    "display_value",
    "indicator_column",
    "mode_phrase",
    "table_columns",
    "ReportData",
    "Territory",
    "collect",
    "parameters_text",
    "report_table",
    "resolve_territory",
    "CSV_HEADERS",
    "KEY_FIGURES",
    "format_value",
    "key_figure_columns",
    "report_filename",
    "to_csv",
    "to_xlsx",
    "MAP_CLASSES",
    "map_class",
    "render_map",
    "DEFINITIONS",
    "PDF_LABELS",
    "font_paths",
    "heading",
    "para",
    "pdf_class",
    "pdf_label",
    "pdf_table",
    "to_pdf",
    "build_report",
    "render",
    "write_report",
    "main",
]
