"""Tests of analysis.report (issue 6): CSV, XLSX and PDF gap reports.

The produced files are read back with independent readers (the ``csv`` module, openpyxl,
pypdf) and their figures compared with ``analysis.access`` called directly with the same
parameters. Real-data tests use the database built from the mirror (skipped only when the
mirror is absent); the « empty territory » case uses a tiny SYNTHETIC database.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from analysis import access, report
from analysis.access import Filters
from analysis.report import ReportError

COTENTIN = "200067205"  # CA du Cotentin (EPCI, Manche)
ORNE = "61"

INDICATORS = [
    c.key
    for c in report.TABLE_COLUMNS
    # origin_note: the report's own caveat (« origine unique : la mairie »), tested in test_new_user.py
    if c.key not in ("role", "sectors_filter", "grade_filter", "hosts_filter", "origin_note")
]


@pytest.fixture(scope="module")
def real(source_dir):
    from analysis import build, db

    path = build.ensure_database()
    con = db.connect(path, read_only=True)
    assert access.has_relation(con, "travel_times"), "base sans temps de trajet"
    yield con
    con.close()


@pytest.fixture(scope="module")
def epci_data(real):
    return report.collect(real, "epci", COTENTIN, Filters())


@pytest.fixture(scope="module")
def dep_data(real):
    """Département, other mode and budget, a sector filter and lycée origins."""
    f = Filters(mode="car", minutes=30, sectors=("Enseignement",), origin_kind="school")
    return report.collect(real, "departement", ORNE, f)


def _same(a, b) -> bool:
    if a is None or b is None or (isinstance(a, float) and math.isnan(a)) or (isinstance(b, float) and math.isnan(b)):
        return (a is None or pd.isna(a)) and (b is None or pd.isna(b))
    if isinstance(a, (bool, str)) or isinstance(b, (bool, str)):
        return a == b
    return float(a) == pytest.approx(float(b), rel=1e-12, abs=1e-12)


def _assert_rows_equal(got: pd.Series, want: pd.Series, keys=INDICATORS) -> None:
    for k in keys:
        assert _same(got[k], want[k]), (k, got[k], want[k])


# ----------------------------------------------------------------------------------------------
# the table equals analysis.access
# ----------------------------------------------------------------------------------------------


def test_table_equals_access_epci(real, epci_data):
    f = Filters()
    t = epci_data.table
    assert list(t.columns) == [c.key for c in report.TABLE_COLUMNS]
    assert t.iloc[0]["role"] == "territoire" and t.iloc[0]["code"] == COTENTIN
    _assert_rows_equal(t.iloc[0], access.territory_indicators(real, "epci", f, COTENTIN).iloc[0])
    refs = t[t["role"] == "reference"]
    assert list(refs["level"]) == ["departement", "region"]
    assert list(refs["code"]) == ["50", "28"]  # the Manche, then Normandie
    _assert_rows_equal(refs.iloc[0], access.territory_indicators(real, "departement", f, "50").iloc[0])
    _assert_rows_equal(refs.iloc[1], access.territory_indicators(real, "region", f).iloc[0])
    comp = t[t["role"] == "composante"].set_index("code")
    want = access.territory_indicators(real, "commune", f, within=COTENTIN).set_index("code")
    assert set(comp.index) == set(want.index) and len(comp) == 129
    for code in want.index:
        _assert_rows_equal(comp.loc[code], want.loc[code], [k for k in INDICATORS if k != "code"])
    # the screen function gives the same table
    pd.testing.assert_frame_equal(report.report_table(real, "epci", COTENTIN, f), t)


def test_table_equals_access_with_filters(real, dep_data):
    f = dep_data.filters
    t = dep_data.table
    assert (t["mode"] == "car").all() and (t["budget_min"] == 30).all()
    assert (t["origin_kind"] == "school").all() and (t["sectors_filter"] == "Enseignement").all()
    _assert_rows_equal(t.iloc[0], access.territory_indicators(real, "departement", f, ORNE).iloc[0])
    epcis = t[(t["role"] == "composante") & (t["level"] == "epci")].set_index("code")
    want = access.territory_indicators(real, "epci", f, within=ORNE).set_index("code")
    assert set(epcis.index) == set(want.index)
    for code in want.index:
        _assert_rows_equal(epcis.loc[code], want.loc[code], [k for k in INDICATORS if k != "code"])
    assert (t["level"] == "commune").sum() == real.execute(
        "SELECT count(*) FROM communes WHERE dep = ?", [ORNE]
    ).fetchone()[0]


def test_side_tables_consistent_with_access(real, epci_data, dep_data):
    for data in (epci_data, dep_data):
        row = data.row()
        # offers by sector add up to the offers located in the territory
        assert data.sectors["offers"].sum() == row["offers_located"]
        # pupils of the origins without a reachable offer add up to pupils_no_offer
        assert data.no_offer["pupils"].sum() == pytest.approx(row["pupils_no_offer"], rel=1e-9)
        assert (data.no_offer["pupils"] > 0).all()
    # lycées: the real headcounts and access.origin_accessibility for lycée origins
    acc = access.origin_accessibility(real, Filters(origin_kind="school")).set_index("origin_id")
    sch = epci_data.schools.set_index("uai")
    n = real.execute(
        """SELECT count(*) FROM schools s JOIN communes c ON c.code = s.commune_code
                        WHERE c.epci_siren = ?""",
        [COTENTIN],
    ).fetchone()[0]
    assert len(sch) == n > 0
    for uai, r in sch.iterrows():
        assert r["offers_reachable"] == acc.loc[uai, "offers_reachable"]
        assert _same(r["minutes_nearest"], acc.loc[uai, "minutes_nearest"])
    assert dep_data.sectors["sector"].tolist() == ["Enseignement"]
    # collective projects of the Cotentin in the seed map (Flamanville, Cherbourg, La Hague)
    assert {"SC01", "SC02", "SC03"} <= set(epci_data.projects["project_id"])


# ----------------------------------------------------------------------------------------------
# files read back with independent readers
# ----------------------------------------------------------------------------------------------


def _parse_fr(text: str):
    if text == "":
        return None
    if text in ("oui", "non"):
        return text == "oui"
    try:
        return float(text.replace(",", "."))
    except ValueError:
        return text


def test_csv_read_back(epci_data):
    raw = report.to_csv(epci_data, header="cles")
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM for Excel
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == [c.key for c in report.TABLE_COLUMNS]
    assert len(rows) - 1 == len(epci_data.table)
    assert rows[1][0] == "territoire" and rows[1][3] == "CA du Cotentin"
    kinds = {c.key: c.kind for c in report.TABLE_COLUMNS}
    for line, (_, want) in zip(rows[1:], epci_data.table.iterrows()):
        got = dict(zip(rows[0], line))
        for k in INDICATORS:
            if kinds[k] == "text":
                assert got[k] == ("" if pd.isna(want[k]) else str(want[k])), k
            else:
                assert _same(_parse_fr(got[k]), want[k]), (k, got[k], want[k])
    # French decimal comma and no dot in numbers
    share = dict(zip(rows[0], rows[1]))["share_no_offer"]
    assert "," in share and "." not in share


@pytest.mark.parametrize("which", ["epci_data", "dep_data"])
def test_csv_per_origin_equals_origin_accessibility(real, request, which):
    data = request.getfixturevalue(which)
    raw = report.to_csv(data, rows="origines", header="cles")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert list(rows[0]) == [c.key for c in report.ORIGIN_COLUMNS]
    acc = access.origin_accessibility(real, data.filters).set_index("origin_id")
    inside = {r[0] for r in real.execute(report.data.territory_communes_sql(data.territory)).fetchall()}
    assert {r["origin_id"] for r in rows} == set(acc.index[acc["commune_code"].isin(inside)])
    kinds = {c.key: c.kind for c in report.ORIGIN_COLUMNS}
    for r in rows:
        want = acc.loc[r["origin_id"]]
        for k in (
            "pupils",
            "offers_reachable",
            "sectors_reachable",
            "places_per_pupil_2sfca",
            "minutes_nearest",
            "nearest_car",
            "offers_reachable_transit",
        ):
            assert _same(_parse_fr(r[k]), want[k]), (k, r[k], want[k])
        assert r["origin_kind"] == data.filters.origin_kind and kinds["pupils"] == "dec0"
    # the pupils of these origins add up to the territory's pupils in the main table
    total = sum(_parse_fr(r["pupils"]) or 0 for r in rows)
    assert total == pytest.approx(data.row()["pupils"], rel=1e-9)


def test_xlsx_read_back(epci_data):
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(report.to_xlsx(epci_data)))
    assert wb.sheetnames == [
        "Synthèse",
        "Territoires",
        "Lycées",
        "Offres par secteur",
        "Élèves sans offre",
        "Projets collectifs",
        "Origines",
        "Sources",
    ]
    ws = wb["Territoires"]
    assert ws.freeze_panes == "A2"
    header = [c.value for c in ws[1]]
    assert header == [c.header_for(epci_data.networks) for c in report.TABLE_COLUMNS]
    col = {c.key: i for i, c in enumerate(report.TABLE_COLUMNS)}
    values = list(ws.iter_rows(min_row=2, values_only=True))
    assert len(values) == len(epci_data.table)
    first = values[0]
    want = epci_data.row()
    assert first[col["pupils"]] == round(want["pupils"]) and isinstance(first[col["pupils"]], int)  # whole pupils
    for k in (
        "offers_located",
        "share_no_offer",
        "places_per_pupil_2sfca",
        "offers_reachable_mean",
        "share_no_offer_transit",
        "morning_departures",
    ):
        assert _same(first[col[k]], want[k]), k
    assert ws.cell(row=2, column=col["share_no_offer"] + 1).number_format == "0.0%"
    assert ws.column_dimensions["D"].width >= 10
    # summary: parameters and the vintages of provenance
    summary = [v for row in wb["Synthèse"].iter_rows(values_only=True) for v in row if v]
    assert "Budget-temps" in summary and any("CA du Cotentin" in str(v) for v in summary)
    for vintage in epci_data.sources["vintage"].dropna():
        assert vintage in summary
    # lycées sheet: note line, header on row 3, declared headcounts
    lyc = wb["Lycées"]
    assert lyc.freeze_panes == "A4"
    uais = [r[0] for r in lyc.iter_rows(min_row=4, values_only=True)]
    assert uais == epci_data.schools["uai"].tolist()
    sect = list(wb["Offres par secteur"].iter_rows(min_row=4, values_only=True))
    assert sum(r[1] for r in sect) == want["offers_located"]
    sans = list(wb["Élèves sans offre"].iter_rows(min_row=4, values_only=True))
    k_pupils = [c.key for c in report.NO_OFFER_COLUMNS].index("pupils")
    assert all(isinstance(r[k_pupils], int) for r in sans)  # whole pupils, each rounded
    assert sum(r[k_pupils] for r in sans) == pytest.approx(want["pupils_no_offer"], abs=len(sans) / 2)


def test_pdf_read_back(real, dep_data):
    from pypdf import PdfReader

    content, name, mime = report.build_report(real, "departement", ORNE, "pdf", dep_data.filters)
    assert mime == "application/pdf" and name.endswith(".pdf") and "orne" in name
    pdf = PdfReader(io.BytesIO(content))
    assert 3 <= len(pdf.pages) <= 10
    box = pdf.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)  # A4
    text = "\n".join(p.extract_text() for p in pdf.pages)
    flat = " ".join(text.split())
    assert "Portrait de territoire : Orne" in flat
    assert "car (" not in flat  # the mode in French, not its code
    for needle in (
        "30 min",
        "Mode de déplacement Voiture",
        "Enseignement",
        "lycées (effectifs",
        "Normandie",
        "Sources et millésimes",
        "Définitions des indicateurs",
    ):
        assert needle in flat, needle
    images = [img for p in pdf.pages for img in p.images]
    assert images and images[0].image.size[0] > 500  # the map, as a raster image
    # key figure printed as in the table (French format)
    share = report.format_value(dep_data.row()["share_no_offer"], "pct").replace("\u202f", " ")
    assert share in flat


# ----------------------------------------------------------------------------------------------
# errors: clear message, no file
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "level, code, fmt, filters, message",
    [
        ("canton", "14", "csv", Filters(), "Niveau territorial inconnu"),
        ("epci", "999999999", "csv", Filters(), "EPCI inconnu"),
        ("commune", "99999", "pdf", Filters(), "Commune inconnue"),
        ("departement", "75", "xlsx", Filters(), "Département inconnu"),
        ("region", "11", "csv", Filters(), "Code de région inconnu"),
        ("epci", None, "csv", Filters(), "Code de territoire manquant"),
        ("epci", COTENTIN, "docx", Filters(), "Format inconnu"),
        ("epci", COTENTIN, "csv:lignes", Filters(), "Lignes du CSV inconnues"),
        ("epci", COTENTIN, "csv", Filters(sectors=("Astronautique",)), "Secteur d'activité inconnu"),
        ("epci", COTENTIN, "csv", Filters(minutes=120), "horizon"),
    ],
)
def test_errors_are_clear(real, level, code, fmt, filters, message):
    fmt, _, rows = fmt.partition(":")
    with pytest.raises(ReportError, match=message.replace("(", r"\(").replace(")", r"\)")):
        report.build_report(real, level, code, fmt, filters, rows=rows or "territoires")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--level", "epci", "--code", "123", "--format", "csv"], "EPCI inconnu"),
        (["--level", "canton", "--code", "14", "--format", "pdf"], "Niveau territorial inconnu"),
        (["--level", "epci", "--code", COTENTIN, "--format", "ods"], "Format inconnu"),
    ],
)
def test_cli_error_writes_no_file(real, tmp_path, capsys, args, message):
    out = tmp_path / "rapport.out"
    assert report.main(args + ["--out", str(out)]) == 2
    assert not out.exists() and list(tmp_path.iterdir()) == []
    assert message in capsys.readouterr().err


def test_cli_writes_the_report(real, tmp_path):
    out = tmp_path / "sub" / "caen.csv"
    assert (
        report.main(
            [
                "--level",
                "commune",
                "--code",
                "14118",
                "--format",
                "csv",
                "--mode",
                "bike",
                "--minutes",
                "15",
                "--entetes",
                "cles",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    rows = list(csv.DictReader(io.StringIO(out.read_bytes().decode("utf-8-sig")), delimiter=";"))
    assert [r["role"] for r in rows] == ["territoire", "reference", "reference", "reference"]
    assert [r["level"] for r in rows] == ["commune", "epci", "departement", "region"]
    want = access.territory_indicators(real, "commune", Filters(mode="bike", minutes=15), "14118").iloc[0]
    assert rows[0]["name"] == "Caen" == want["name"]
    assert _parse_fr(rows[0]["offers_reachable_mean"]) == want["offers_reachable_mean"]


def test_empty_territory_synthetic():
    """SYNTHETIC database: an EPCI listed without any member commune."""
    con = duckdb.connect(":memory:")
    con.execute(
        "CREATE TABLE communes (code VARCHAR, name VARCHAR, dep VARCHAR, epci_siren VARCHAR, population INTEGER)"
    )
    con.execute("INSERT INTO communes VALUES ('14001', 'Synthé-A', '14', '200000001', 10)")
    con.execute(
        "CREATE TABLE epci AS SELECT * FROM (VALUES ('200000001', 'CC Synthé 1'), "
        "('200000009', 'CC Synthé vide')) t(siren, name)"
    )
    con.execute(
        "CREATE TABLE departements AS SELECT * FROM (VALUES ('14', 'Calvados'), ('50', 'Manche')) t(code, name)"
    )
    with pytest.raises(ReportError, match="Territoire vide"):
        report.resolve_territory(con, "epci", "200000009")
    with pytest.raises(ReportError, match="Territoire vide"):
        report.resolve_territory(con, "departement", "50")
    terr = report.resolve_territory(con, "commune", " 14001 ")
    assert terr.references == (
        ("epci", "200000001", "CC Synthé 1"),
        ("departement", "14", "Calvados"),
        ("region", "28", "Normandie"),
    )
    # no travel times in this database: clear message rather than a DuckDB error
    con.execute("CREATE TABLE offers (offer_id VARCHAR, sector VARCHAR)")
    with pytest.raises(ReportError, match="Temps de trajet non calculés"):
        report.report_table(con, "commune", "14001", Filters())


# ----------------------------------------------------------------------------------------------
# small pure helpers
# ----------------------------------------------------------------------------------------------


def test_map_classes_and_french_numbers():
    assert [report.map_class(v) for v in (None, 0, 0.5, 1, 4, 5, 19, 20, 99, 100, 5000)] == [
        0,
        0,
        0,
        1,
        1,
        2,
        2,
        3,
        3,
        4,
        4,
    ]
    assert report.format_value(12345.678, "dec1") == "12\u202f345,7"
    assert report.format_value(0.2345, "pct") == "23,4\u202f%"
    assert report.format_value(float("nan"), "int") == "—"
    assert report.format_value(True, "bool") == "oui"


def test_rapports_page_shows_the_report_figures(real):
    """The Rapports page (run headless with Streamlit's AppTest) shows the report_table figures
    and offers the file for download."""
    from streamlit.testing.v1 import AppTest

    page = Path(__file__).resolve().parent.parent / "pages" / "5_Rapports.py"
    at = AppTest.from_file(str(page), default_timeout=120)
    for k, val in {"echelle": "commune", "code": "14118", "mode": "bike", "minutes": "15"}.items():
        at.query_params[k] = val
    at.run()
    assert not at.exception
    assert at.header[0].value == "Commune : Caen"
    from apptest_pages import html_table_frame

    shown = html_table_frame(at, "Indicateur")
    assert list(shown.columns) == ["Indicateur", "Caen", "CU Caen la Mer", "Calvados", "Normandie"]
    table = report.report_table(real, "commune", "14118", Filters(mode="bike", minutes=15))
    kcols = report.key_figure_columns(Filters(mode="bike", minutes=15))
    for j, name in enumerate(shown.columns[1:]):
        row = table.iloc[j]
        assert row["name"] == name
        assert shown[name].tolist() == [report.format_value(row[c.key], c.kind) for c in kcols]
    at.button(key="rep_make_csv").click().run()
    assert not at.exception
    assert [b.label for b in at.get("download_button")] == ["Télécharger (CSV)"]


def test_every_column_is_documented():
    doc = (Path(__file__).resolve().parent.parent / "docs" / "reports.md").read_text("utf-8")
    for cols in (
        report.TABLE_COLUMNS,
        report.ORIGIN_COLUMNS,
        report.SCHOOL_COLUMNS,
        report.SECTOR_COLUMNS,
        report.NO_OFFER_COLUMNS,
        report.PROJECT_COLUMNS,
        report.SOURCE_COLUMNS,
    ):
        for c in cols:
            assert f"| `{c.key}` | {c.label_for(('TER',))} |" in doc, c.key


def test_public_api_fallback_gives_the_same_table(real, monkeypatch):
    """If the combined access query is unavailable, the report falls back to one public
    territory_indicators call per level and gets the same table."""
    f = Filters(mode="walk", minutes=30, grade="seconde")
    fast = report.report_table(real, "departement", "14", f)

    def gone(*args, **kwargs):
        raise TypeError("signature changed")

    monkeypatch.setattr(report.data, "_combined_query", gone)
    slow = report.report_table(real, "departement", "14", f)
    n_epci, n_com = real.execute(
        "SELECT count(DISTINCT epci_siren), count(*) FROM communes WHERE dep = '14'"
    ).fetchone()
    assert len(slow) == len(fast) == 1 + 1 + n_epci + n_com  # dep, region, EPCI, communes
    pd.testing.assert_frame_equal(slow, fast)


def test_map_is_grey_scale_with_distinct_classes(real, epci_data):
    """Printable in black and white: only grey pixels, one distinct grey (or hatching) per
    class, and the summary counts the communes without any reachable offer."""
    import numpy as np
    from PIL import Image

    png, summary = report.render_map(real, epci_data)
    img = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    assert img.shape[1] >= 1000
    assert np.abs(img[..., 0] - img[..., 1]).max() <= 2
    assert np.abs(img[..., 1] - img[..., 2]).max() <= 2
    faces = [c[2] for c in report.MAP_CLASSES]
    assert len(set(faces)) == len(faces) and report.MAP_CLASSES[0][3]  # « aucune offre » hatched
    inside = set(epci_data.table.loc[epci_data.table["level"] == "commune", "code"])
    vals = epci_data.commune_values[epci_data.commune_values["commune_code"].isin(inside)]
    n_zero = int((vals["offers_reachable"] == 0).sum())
    assert summary.startswith(f"{n_zero} communes sur {len(inside)} du territoire")


def test_region_report_rows(real):
    t = report.report_table(real, "region", None, Filters(mode="car", minutes=15))
    counts = t.groupby(["role", "level"]).size().to_dict()
    n_com, n_epci = real.execute("SELECT count(*), count(DISTINCT epci_siren) FROM communes").fetchone()
    assert counts == {
        ("territoire", "region"): 1,
        ("composante", "departement"): 5,
        ("composante", "epci"): n_epci,
        ("composante", "commune"): n_com,
    }
    # composantes ordered by level then name; the départements add up to the region
    assert list(t["level"].iloc[1:7]) == ["departement"] * 5 + ["epci"]
    deps = t[t["level"] == "departement"]
    assert deps["pupils"].sum() == pytest.approx(t.iloc[0]["pupils"], rel=1e-9)
    assert deps["offers_located"].sum() == t.iloc[0]["offers_located"]


# --------------------------------------------------------------------------- long fields (issue 24 item 5)


@pytest.mark.parametrize("width,size", [(20, 7.5), (45, 7), (70, 7.5), (100, 9)])
@pytest.mark.parametrize("text", [("mot " * 500)[:2000], "x" * 2000, ("Établissement Ω " * 130)[:2000]])
def test_pdf_cell_text_fits_in_its_line_budget(width, size, text):
    """Measured by fpdf2 itself (dry run of the text in a cell of the column's width): a
    2,000-character field is cut to at most CELL_MAX_LINES lines, ending with « … » (without
    the PDF to measure with, to a bounded number of lines)."""
    from fpdf import FPDF

    pdf = FPDF(orientation="P", unit="mm", format="A4")
    regular, _bold = report.font_paths()
    pdf.add_font("DejaVu", "", str(regular))
    pdf.add_page()
    pdf.set_font("DejaVu", "", size)
    shown = report.pdf.cell_text(text, width, size, pdf)
    assert shown.endswith("…") and len(shown) < len(text)
    lines = pdf.multi_cell(width, size * 0.5, shown, dry_run=True, output="LINES")
    assert 1 < len(lines) <= report.pdf.CELL_MAX_LINES
    assert len(shown) > len("".join(lines[:-1])) * 0.5  # cut near the end of the budget, not far before
    # without the PDF to measure with: bounded by the narrowest characters (« i ») a line can hold
    unmeasured = report.pdf.cell_text(text, width, size)
    assert unmeasured.endswith("…") and len(unmeasured) <= int(width / (size * 0.09)) * report.pdf.CELL_MAX_LINES
    assert report.pdf.cell_text("Caen\ufffe\tsud", width, size, pdf) == "Caen sud"  # short text kept, cleaned


def test_pdf_table_renders_a_2000_character_cell():
    """Old code: fpdf2 raised « The row with index 1 is too high and cannot be rendered on a single page »."""
    import pypdf

    pdf = report.pdf_class()(orientation="P", unit="mm", format="A4")
    regular, bold = report.font_paths()
    pdf.add_font("DejaVu", "", str(regular))
    pdf.add_font("DejaVu", "B", str(bold))
    pdf.add_page()
    df = pd.DataFrame({"name": [("=1+1 texte\ufffe long " * 120)[:2000], "x" * 2000], "n": [1, 2]})
    cols = [report.Column("name", "Nom"), report.Column("n", "Nombre", "", "int")]
    report.pdf_table(pdf, df, cols, (45, 20))
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(bytes(pdf.output()))).pages)
    assert "=1+1 texte long" in text and "…" in text and "\ufffe" not in text


def test_compact_headers_and_frame_shared_by_pdf_tables_and_scenario_exports():
    """One way to show a column in a narrow table: count units left out, other units kept,
    whole numbers for 'int' (nullable), tenths for 'dec1', other kinds untouched."""
    from analysis.report.columns import compact_frame
    from analysis.scenario import output

    pupils = report.Column("pupils", "Élèves de seconde", "élèves", "int")
    minutes = report.Column("minutes", "Offre la plus proche", "min", "dec1")
    ratio = report.Column("ratio", "Places par élève", "places/élève", "dec4")
    assert pupils.compact_header() == "Élèves de seconde"
    assert minutes.compact_header() == "Offre la plus proche (min)"
    assert ratio.compact_header(None, "Places") == "Places (places/élève)"
    assert pupils.header_for(None) == "Élèves de seconde (élèves)"  # the XLSX / CSV header keeps it
    df = pd.DataFrame({"pupils": [2.6, None], "minutes": [12.345, 7.0], "ratio": [0.123456, 0.5], "x": [1, 2]})
    out = compact_frame(df, (pupils, minutes, ratio))
    assert list(out.columns) == ["Élèves de seconde", "Offre la plus proche (min)", "Places par élève (places/élève)"]
    assert out.iloc[0].tolist() == [3, 12.3, 0.123456] and pd.isna(out.iloc[1, 0])
    assert str(out.dtypes.iloc[0]) == "Int64"
    # the scenario's exported headers (docs/scenarios.md) come from the same machinery
    assert [c.compact_header() for c in output.ORIGIN_COLUMNS][2:6] == [
        "Élèves de seconde (estimation)",
        "Offres accessibles avant",
        "Offres accessibles après",
        "Offre la plus proche avant (min)",
    ]
