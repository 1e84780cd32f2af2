"""The PDF territory portrait and the PDF tooling reused by other exports.

Owns the fonts (:func:`font_paths`), the page class (:func:`pdf_class`), the public layout
helpers :func:`heading`, :func:`para` and :func:`pdf_table` (also used by
:mod:`analysis.planning.export`), the caveats, the summary sentence and :func:`to_pdf`.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from analysis import catalogue
from analysis.outputs.export import clean_text
from analysis.report.columns import (
    COMPONENT_LEVELS,
    LEVEL_LABELS,
    NO_OFFER_COLUMNS,
    PROJECT_COLUMNS,
    ROLE_COMPONENT,
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
from analysis.report.mapimage import render_map
from analysis.report.tables import caveats, format_value, key_figure_columns
from analysis.text import count, format_number, in_territory

# --------------------------------------------------------------------------------------------
# PDF
# --------------------------------------------------------------------------------------------


def font_paths() -> tuple[Path, Path]:
    """Regular and bold DejaVu Sans TTF files (system fonts, else matplotlib's copies)."""
    system = Path("/usr/share/fonts/truetype/dejavu")
    if (system / "DejaVuSans.ttf").exists() and (system / "DejaVuSans-Bold.ttf").exists():
        return system / "DejaVuSans.ttf", system / "DejaVuSans-Bold.ttf"
    import matplotlib

    mpl = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    return mpl / "DejaVuSans.ttf", mpl / "DejaVuSans-Bold.ttf"


def pdf_class():
    from fpdf import FPDF

    class _Portrait(FPDF):
        footer_text = ""

        def footer(self) -> None:
            self.set_y(-12)
            self.set_font("DejaVu", "", 7)
            self.set_text_color(90)
            self.cell(0, 5, clean_text(f"{self.footer_text} — page {self.page_no()}/{{nb}}"), align="C")
            self.set_text_color(0)

    return _Portrait


#: Shorter headers for the narrow PDF columns of the other tables (by column key); the
#: indicators use their catalogue short label (:func:`pdf_label`).
PDF_LABELS: dict[str, str] = {
    "seconde_pupils": "Élèves de seconde",
    "offers_reachable": "Offres access.",
    "sectors_reachable": "Secteurs access.",
    "minutes_nearest": "Plus proche (mode choisi)",
    **{f"nearest_{m}": "Plus proche " + catalogue.Mode(m).info.short for m in catalogue.MODES},
    "sector_label": "Statut",
    "commune_name": "Commune",
    "origin_name": "Origine",
    "offers_reachable_car": "Offres access. en voiture",
    "for_seconde": "Pour secondes",
    "for_troisieme": "Pour 3e",
    "public": "Publics",
    "private": "Privés",
    "share": "Part",
    "offers": "Offres",
}


def pdf_label(c: Column, networks: Sequence[str] | None = None) -> str:
    """Short header of a PDF column: the catalogue's short label for an indicator column,
    else :data:`PDF_LABELS`, else the column label; with the loaded networks."""
    for col, ind, mode in catalogue.indicator_columns():
        if col == c.key:
            return ind.short_text(networks, mode)
    return catalogue.fill_labels(PDF_LABELS.get(c.key, c.label), networks)


#: Most lines a PDF table cell shows: a longer text is cut with « … » (the full text is in the
#: XLSX file). Without a bound, a 2,000-character field made a row taller than the page
#: ("row too high", no PDF at all).
CELL_MAX_LINES = 8
#: Narrowest width of a DejaVu Sans character, in millimetres per point of font size (« i »,
#: « l », spaces): the most characters a line can hold, to cut a text before measuring it.
_MIN_CHAR_MM_PER_PT = 0.09


def cell_text(text: str, width: float, font_size: float, pdf: Any = None, max_lines: int = CELL_MAX_LINES) -> str:
    """``text`` made fit for a PDF table cell ``width`` mm wide at ``font_size`` points.

    Characters a PDF font cannot show (controls, U+FFFE / U+FFFF: :func:`analysis.outputs.export.clean_text`)
    are removed, tabs become spaces, and a text taking more than ``max_lines`` lines is cut,
    ending with « … ». With ``pdf`` (whose current font is the table's), the lines are measured
    by fpdf2 itself (the table wraps the same way); without it, a text is cut to the number of
    characters ``max_lines`` lines of the narrowest characters could hold (an upper bound).
    """
    text = clean_text(str(text)).replace("\t", " ")
    most = max(int(width / (font_size * _MIN_CHAR_MM_PER_PT)), 4) * max_lines
    if len(text) > most:
        text = text[: most - 1].rstrip() + "…"
    if pdf is None:
        return text

    def n_lines(t: str) -> int:
        return len(pdf.multi_cell(width - 0.3, font_size * 0.5, t, dry_run=True, output="LINES"))

    if n_lines(text) <= max_lines:
        return text
    lines = pdf.multi_cell(width - 0.3, font_size * 0.5, text, dry_run=True, output="LINES")
    cut = text[: sum(map(len, lines[:max_lines]))].rstrip(" …")  # at most the first lines' characters
    while cut and n_lines(cut + "…") > max_lines:
        cut = cut[:-2].rstrip()
    return cut + "…"


def pdf_table(
    pdf: Any,
    df: pd.DataFrame,
    columns: Sequence[Column],
    widths: Sequence[float],
    max_rows: int | None = None,
    font_size: float = 7.5,
    networks: Sequence[str] | None = None,
) -> None:
    from fpdf.fonts import FontFace

    shown = df if max_rows is None else df.head(max_rows)
    pdf.set_font("DejaVu", "", font_size)
    head_style = FontFace(emphasis="BOLD", fill_color=(225, 225, 225))
    align = tuple("LEFT" if c.kind == "text" else "RIGHT" for c in columns)
    with pdf.table(
        col_widths=tuple(widths),
        width=sum(widths),
        align="LEFT",
        text_align=align,
        headings_style=head_style,
        line_height=font_size * 0.5,
        first_row_as_headings=True,
        repeat_headings=1,
    ) as table:
        hr = table.row()
        for c in columns:
            hr.cell(c.compact_header(networks, pdf_label(c, networks)))
        for rec in shown[[c.key for c in columns]].itertuples(index=False):
            row = table.row()
            for c, v, w in zip(columns, rec, widths):
                row.cell(cell_text(format_value(display_value(c.key, v, networks), c.kind), w, font_size, pdf))
    if max_rows is not None and len(df) > max_rows:
        pdf.set_font("DejaVu", "", 7)
        pdf.multi_cell(
            0, 4, f"… {count(len(df) - max_rows, 'ligne')} de plus dans le fichier XLSX.", new_x="LMARGIN", new_y="NEXT"
        )


def heading(pdf: Any, text: str, size: float = 12) -> None:
    pdf.ln(2)
    pdf.set_font("DejaVu", "B", size)
    pdf.multi_cell(0, size * 0.55, clean_text(text), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)
    pdf.set_font("DejaVu", "", 9)


def para(pdf: Any, text: str, size: float = 9) -> None:
    pdf.set_font("DejaVu", "", size)
    pdf.multi_cell(0, size * 0.5, clean_text(text), new_x="LMARGIN", new_y="NEXT")


DEFINITIONS: tuple[tuple[str, str], ...] = (
    (
        "Offre accessible",
        "offre dont le temps de trajet depuis l'origine (mairie de la commune "
        "de résidence, ou lycée) est inférieur ou égal au budget-temps, avec le mode choisi. Mode "
        "« transports en commun + marche » : le plus court entre transports en commun (réseaux "
        "chargés : voir « À savoir » ; accès et correspondances à pied) et marche.",
    ),
    (
        "Élèves sans offre accessible",
        "élèves des origines du territoire n'ayant aucune offre "
        "accessible ; la part rapporte ce nombre aux élèves du territoire. La variante « en "
        "transports ou à pied » vaut quel que soit le mode choisi.",
    ),
    (
        "Offres pour 100 élèves",
        "offres situées dans le territoire (après filtres) / élèves × 100 (indicateur de la circulaire de 2015).",
    ),
    (
        "Offres accessibles, moyenne par élève",
        "nombre d'offres accessibles depuis chaque origine, moyenne pondérée par les élèves.",
    ),
    (
        "Places par élève avec concurrence (2SFCA)",
        "chaque lieu d'offres partage ses places "
        "entre tous les élèves qui l'atteignent ; somme, pour une origine, des parts des lieux "
        "qu'elle atteint ; moyenne pondérée par les élèves. 0,05 = une place pour 20 élèves.",
    ),
    (
        "Temps médian jusqu'à l'offre la plus proche",
        "la moitié au moins des élèves ont une "
        "offre à ce temps ou moins ; 0 = offre dans la commune même ; vide si plus de la moitié "
        "n'en ont aucune dans l'horizon de calcul.",
    ),
    (
        "Écart voiture / transports",
        "offres accessibles en voiture ÷ offres accessibles en transports ou à pied (moyennes par élève).",
    ),
    (
        "Départs du matin",
        "départs de véhicules depuis les arrêts du territoire entre 07:00 et 08:30 le jour de service des calculs.",
    ),
    (
        "Classe de densité",
        "approximation communale de la grille de densité INSEE : dense ≥ "
        "1 500 hab./km², intermédiaire 300-1 500, peu dense 25-300, très peu dense < 25.",
    ),
)


def _new_portrait(data: ReportData) -> Any:
    """An empty A4 portrait document: fonts, margins, footer, title and author metadata."""
    regular, bold = font_paths()
    pdf = pdf_class()(orientation="P", unit="mm", format="A4")
    pdf.set_margins(15, 15, 15)
    pdf.set_auto_page_break(True, margin=16)
    pdf.add_font("DejaVu", "", str(regular))
    pdf.add_font("DejaVu", "B", str(bold))
    terr = data.territory
    pdf.footer_text = f"Observatoire des stages — Normandie · {terr.label} · édité le {data.generated_at:%d/%m/%Y}"
    pdf.set_title(f"Portrait de territoire : {terr.name}")
    pdf.set_author("Observatoire des stages — Normandie")
    pdf.set_creation_date(data.generated_at.astimezone())
    return pdf


def _title_block(pdf: Any, data: ReportData) -> None:
    """Page 1 head: « Portrait de territoire : … », level, code, communes, date of edition."""
    terr = data.territory
    pdf.set_font("DejaVu", "B", 18)
    pdf.multi_cell(0, 9, clean_text(f"Portrait de territoire : {terr.name}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 10)
    pdf.multi_cell(
        0,
        5,
        f"{LEVEL_LABELS[terr.level]} · code {terr.code} · "
        f"{terr.n_communes} commune{'s' if terr.n_communes > 1 else ''} · "
        f"accès des élèves de seconde aux offres de stage",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.multi_cell(
        0,
        5,
        f"Édité le {data.generated_at:%d/%m/%Y à %H:%M} par l'Observatoire des stages — Normandie",
        new_x="LMARGIN",
        new_y="NEXT",
    )


def _parameters_table(pdf: Any, data: ReportData) -> None:
    """The « Paramètres » section: one row per filter of the view."""
    heading(pdf, "Paramètres")
    pdf.set_font("DejaVu", "", 8.5)
    with pdf.table(
        col_widths=(50, pdf.epw - 50), text_align=("LEFT", "LEFT"), first_row_as_headings=False, line_height=4.2
    ) as table:
        for label, value in parameters_text(data.filters, data.networks):
            row = table.row()
            row.cell(label)
            row.cell(clean_text(value))


def _key_figures_table(pdf: Any, data: ReportData) -> None:
    """The « Chiffres clés » section: one row per key figure, the territory beside its references."""
    from fpdf.fonts import FontFace

    key_rows = data.key_rows
    heading(pdf, "Chiffres clés")
    cols = key_figure_columns(data.filters)
    names = [str(r["name"]) for r in key_rows]
    w0 = 84 if len(names) <= 3 else 70
    wk = (pdf.epw - w0) / max(len(names), 1)
    pdf.set_font("DejaVu", "", 8)
    with pdf.table(
        col_widths=(w0,) + (wk,) * len(names),
        text_align=("LEFT",) + ("RIGHT",) * len(names),
        line_height=4,
        headings_style=FontFace(emphasis="BOLD", fill_color=(225, 225, 225)),
    ) as table:
        hr = table.row()
        hr.cell("Indicateur")
        for k, n in enumerate(names):
            hr.cell(cell_text(n + (" (territoire)" if k == 0 else ""), wk, 8))
        for c in cols:
            row = table.row()
            row.cell(c.label_for(data.networks) + (f" ({c.unit})" if c.unit and c.unit != "%" else ""))
            for r in key_rows:
                row.cell(format_value(display_value(c.key, r[c.key], data.networks), c.kind))


def _first_page(pdf: Any, data: ReportData) -> None:
    """Page 1: title, parameters, key figures, summary sentence, « À savoir » caveats."""
    pdf.add_page()
    _title_block(pdf, data)
    _parameters_table(pdf, data)
    _key_figures_table(pdf, data)
    pdf.ln(2)
    para(pdf, summary_sentence(data))
    pdf.ln(1)
    pdf.ln(1)
    pdf.set_font("DejaVu", "B", 8)
    pdf.multi_cell(0, 4, "À savoir", new_x="LMARGIN", new_y="NEXT")
    for line in caveats(data)[1:]:
        para(pdf, "• " + line.removeprefix("- "), size=7.5)


def _map_page(pdf: Any, data: ReportData, con: duckdb.DuckDBPyConnection) -> None:
    """Page 2: the map (:func:`analysis.report.mapimage.render_map`), its summary and how to read it."""
    f = data.filters
    pdf.add_page()
    heading(pdf, f"Carte : offres accessibles {mode_phrase(f.mode, data.networks)} en {format_number(f.minutes)} min")
    png, summary = render_map(con, data)
    pdf.image(io.BytesIO(png), x=pdf.l_margin, w=pdf.epw)
    pdf.ln(2)
    para(pdf, summary)
    para(
        pdf,
        "Lecture : chaque commune est colorée selon le nombre d'offres accessibles depuis "
        "son centre (origine commune, mêmes filtres) ; hachures = aucune offre. Les communes "
        "voisines sont éclaircies. Fond de carte : contours IGN ADMIN EXPRESS simplifiés, sans "
        "tuiles en ligne.",
        size=7.5,
    )


def _components_table(pdf: Any, data: ReportData) -> None:
    """The sub-territories of the first component level, by number of pupils (none for a commune)."""
    terr = data.territory
    comp = data.table[data.table["role"] == ROLE_COMPONENT]
    if comp.empty:
        return
    first = COMPONENT_LEVELS[terr.level][0]
    comp = comp[comp["level"] == first].sort_values(["pupils", "name"], ascending=[False, True])
    comp = comp.assign(name=_with_single_origin(comp["name"], comp["origin_note"]))
    heading(pdf, f"{LEVEL_LABELS[first]}s du territoire, par nombre d'élèves ({len(comp)})".replace("EPCIs", "EPCI"))
    ccols = pick_columns(
        table_columns(),
        "name",
        "pupils",
        "offers_located",
        "offers_per_100_pupils",
        "offers_reachable_mean",
        "share_no_offer",
        "share_no_offer_transit",
        f"median_minutes_{data.filters.mode}",
    )
    pdf_table(pdf, comp, ccols, (50, 17, 17, 19, 19, 20, 20, 18), max_rows=30, networks=data.networks)


def _table_sections(data: ReportData) -> tuple[tuple[Any, ...], ...]:
    """The tables after the components: (title, table, text when empty, columns, widths, rows
    shown at most) for lycées, offers by sector, pupils without an offer, collective projects."""
    scols = pick_columns(
        SCHOOL_COLUMNS,
        "name",
        "commune_name",
        "sector_label",
        "seconde_pupils",
        "offers_reachable",
        "sectors_reachable",
        "minutes_nearest",
        "nearest_car",
    )
    ncols = pick_columns(
        NO_OFFER_COLUMNS,
        "origin_name",
        "commune_code",
        "pupils",
        "minutes_nearest",
        "nearest_car",
        "offers_reachable_car",
    )
    pcols = [c for c in PROJECT_COLUMNS if c.key != "project_id"]
    no_offer = data.no_offer.assign(
        origin_name=_with_single_origin(data.no_offer["origin_name"], data.no_offer["origin_note"])
    )
    return (
        (
            f"Lycées du territoire ({len(data.schools)})",
            data.schools,
            "Aucun lycée dans le territoire.",
            scols,
            (48, 30, 14, 18, 18, 18, 17, 17),
            40,
        ),
        (
            f"Offres situées dans le territoire par secteur ({count(int(data.sectors['offers'].sum()), 'offre')})",
            data.sectors,
            "Aucune offre située dans le territoire avec ces filtres.",
            SECTOR_COLUMNS[:7],
            (62, 18, 18, 18, 18, 23, 23),
            25,
        ),
        (
            f"Élèves sans offre accessible ({count(len(no_offer), 'origine')})",
            no_offer,
            "Toutes les origines ayant des élèves ont au moins une offre accessible.",
            ncols,
            (55, 20, 20, 30, 30, 25),
            25,
        ),
        (
            f"Projets de stages collectifs ({len(data.projects)})",
            data.projects,
            "Aucun projet de stage collectif recensé dans le territoire.",
            pcols,
            (38, 30, 25, 27, 15, 22, 23),
            None,
        ),
    )


def _tables_pages(pdf: Any, data: ReportData) -> None:
    """From page 3: sub-territories, lycées, sectors, pupils without an offer, projects."""
    pdf.add_page()
    _components_table(pdf, data)
    for title, df, empty_text, cols, widths, max_rows in _table_sections(data):
        heading(pdf, title)
        if df.empty:
            para(pdf, empty_text)
        else:
            pdf_table(pdf, df, cols, widths, max_rows=max_rows, networks=data.networks)


#: Travel-time runs listed under the sources (those present in ``data.runs``).
RUN_COLUMNS: tuple[Column, ...] = (
    Column("mode", "Mode"),
    Column("network_source", "Réseau"),
    Column("precision", "Précision"),
    Column("computed_at", "Calculé le"),
)


def _definitions_and_sources(pdf: Any, data: ReportData) -> None:
    """Last pages: definitions of the indicators, sources with vintages, travel-time runs."""
    pdf.add_page()
    heading(pdf, "Définitions des indicateurs")
    for term, text in DEFINITIONS:
        pdf.set_font("DejaVu", "B", 8.5)
        pdf.multi_cell(0, 4.3, term, new_x="LMARGIN", new_y="NEXT")
        para(pdf, text, size=8.5)
        pdf.ln(0.8)
    heading(pdf, "Sources et millésimes")
    src_cols = [c for c in SOURCE_COLUMNS if c.key in ("description", "publisher", "licence", "vintage")]
    src = data.sources.copy()
    src["description"] = src["description"].fillna(src["dataset"])
    pdf_table(pdf, src, src_cols, (55, 55, 35, 35), font_size=7, networks=data.networks)
    if not data.runs.empty:
        pdf.ln(2)
        pdf_table(
            pdf,
            data.runs,
            [c for c in RUN_COLUMNS if c.key in data.runs],
            (20, 65, 60, 35),
            font_size=7,
            networks=data.networks,
        )


def to_pdf(data: ReportData, con: duckdb.DuckDBPyConnection) -> bytes:
    """The A4 French territory portrait (fpdf2, DejaVu Sans).

    Page 1: title, parameters, date, key figures beside the reference territories, summary.
    Page 2: map (PNG) with legend and summary. Then tables of sub-territories, lycées,
    sectors, pupils without offer, collective projects; definitions; sources with vintages.
    """
    pdf = _new_portrait(data)
    _first_page(pdf, data)
    _map_page(pdf, data, con)
    _tables_pages(pdf, data)
    _definitions_and_sources(pdf, data)
    return bytes(pdf.output())


def _with_single_origin(names: pd.Series, notes: pd.Series) -> pd.Series:
    """Names followed by « (origine unique : la mairie) » for the large communes."""
    return names.where(notes.isna(), names.astype(str) + f" ({catalogue.SINGLE_ORIGIN})")


def summary_sentence(data: ReportData) -> str:
    """« CA du Cotentin : 12,3 % des élèves … n'ont aucune offre …, contre 20,1 % dans la
    Manche et 23,8 % en Normandie. … » (territory names with their preposition, plurals
    agreeing: :mod:`analysis.text`)."""
    f = data.filters
    rows = data.key_rows
    parts = [
        f"{format_value(r['share_no_offer'], 'pct')} {in_territory(str(r['name']), str(r['level']), str(r['code']))}"
        for r in rows[1:]
    ]
    main = rows[0]
    who = "des élèves (estimation par commune de résidence)" if f.origin_kind == "commune" else "des élèves des lycées"
    text = (
        f"{main['name']} : {format_value(main['share_no_offer'], 'pct')} {who} "
        f"n'ont aucune offre de stage accessible {mode_phrase(f.mode, data.networks)} en "
        f"{format_number(f.minutes)} min"
    )
    if parts:
        text += ", contre " + " et ".join(parts)
    mean = main["offers_reachable_mean"]
    located = 0 if is_missing(main["offers_located"]) else int(main["offers_located"])
    text += (
        f". Un élève atteint en moyenne {format_value(mean, 'dec1')} "
        f"{'offre' if is_missing(mean) or float(mean) < 2 else 'offres'} ; le territoire "
        f"compte {count(located, 'offre située')}, soit "
        f"{format_value(main['offers_per_100_pupils'], 'dec2')} pour 100 élèves."
    )
    return text
