"""Every spreadsheet and PDF the product writes, built from hostile texts (issue 24 items 1 and 5).

A copy of the built database gets texts an attacker could bring in through an import or a
source file: sectors, addresses and towns of every offer, names of every commune, EPCI and
collective project, source paths, each starting with one of ``= + - @``, tab or carriage
return, some of them 2,000 characters long (the longest field an import accepts) and holding
U+FFFE / U+FFFF. Every export is then built from it — reports at each level (CSV, XLSX, PDF),
the planner's sites (CSV, XLSX, from the page's functions and from the command line), its
programme (XLSX, PDF), the page CSVs, the import templates, the ``access`` command's CSV — and
every cell of every file is scanned, independently of the writer:

- XLSX: the sheet XML of the zip holds no ``<f>`` element, openpyxl reopens the file (no "not
  well-formed"), no cell has ``data_type == 'f'`` nor a text starting with a formula character
  (unless it is a plain number), no cell holds U+FFFE / U+FFFF;
- CSV: no field starts with a formula character (unless a plain number);
- PDF: pypdf opens it and reads its text.

Old code: the planner wrote with ``pandas.to_excel`` (43 formula cells in a 6-pupil programme),
the reports' XLSX could not be reopened with U+FFFE, and a 2,000-character field made every
report PDF from the EPCI up fail with "row too high".
"""

from __future__ import annotations

import csv
import io
import re
import shutil
import zipfile

import openpyxl
import pandas as pd
import pytest

from analysis.outputs import export

#: First characters a spreadsheet takes for a formula (OWASP), written here independently.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: Hostile texts, one per formula character; the first also carries a hyperlink formula.
HOSTILE = [
    '=HYPERLINK("http://evil.example","clic")',
    "+33 6 00 00 00 00",
    "-2+3",
    "@SUM(A1:A9)",
    "\t=1+1",
    "\r=1+1",
]
#: The hostile texts as the writer must save them (apostrophe first; XML reads CR back as LF).
NEUTRALISED = tuple("'" + h.replace("\r", "\n") for h in HOSTILE)
#: A 2,000-character field (the import limit) with U+FFFE, starting with a formula.
LONG = ("=1+1 " + "texte\ufffe long " * 200)[:2000]


def _plain_number(text: str) -> bool:
    try:
        float(text.replace("\u202f", "").replace("\u00a0", "").replace(",", "."))
    except ValueError:
        return False
    return True


def _formula_like(value: object) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_START) and not _plain_number(value)


def _xlsx_formula_like(value: object) -> bool:
    """An XLSX text cell that would be a formula if typed or converted to CSV: any text
    starting with « = », and the planted texts (whatever their first character) left as they
    are. (The product's own bullets, « - Élèves… », are text cells: not formulas in XLSX.)"""
    if not isinstance(value, str):
        return False
    planted = tuple(h.replace("\r", "\n") for h in HOSTILE) + tuple(HOSTILE)
    return value.startswith("=") or value.startswith(planted)


def xlsx_problems(content: bytes) -> list[str]:
    """Formula cells, formula-like texts and XML-illegal characters of an XLSX file (empty = safe)."""
    problems = []
    with zipfile.ZipFile(io.BytesIO(content)) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                xml = z.read(name).decode("utf-8")
                if re.search(r"<f[ >/]", xml):
                    problems.append(f"{name}: formula element")
    wb = openpyxl.load_workbook(io.BytesIO(content))  # raises on a file that is not well-formed
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                where = f"{ws.title}!{c.coordinate}"
                if c.data_type == "f":
                    problems.append(f"{where}: formula cell {c.value!r}")
                elif _xlsx_formula_like(c.value):
                    problems.append(f"{where}: formula-like text {c.value[:40]!r}")
                if isinstance(c.value, str) and re.search("[\ufffe\uffff\x00-\x08\x0b\x0c\x0e-\x1f]", c.value):
                    problems.append(f"{where}: XML-illegal character")
    return problems


def csv_problems(content: bytes | str, sep: str = ";") -> list[str]:
    """Fields of a CSV file that a spreadsheet would take for a formula (empty = safe)."""
    text = content.decode("utf-8") if isinstance(content, bytes) else content
    rows = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""), delimiter=sep)
    return [f"row {i} field {j}: {v[:40]!r}" for i, r in enumerate(rows) for j, v in enumerate(r) if _formula_like(v)]


def pdf_text(content: bytes) -> str:
    import pypdf

    reader = pypdf.PdfReader(io.BytesIO(content))
    assert len(reader.pages) > 0
    return " ".join(" ".join(p.extract_text() for p in reader.pages).split())  # spacing normalised


# --------------------------------------------------------------------------- the scanners themselves


def test_scanners_catch_what_pandas_to_excel_writes():
    """The checks can fail: pandas' Excel writer (the planner's old path) writes live formulas."""
    buf = io.BytesIO()
    pd.DataFrame({"Secteur": HOSTILE}).to_excel(buf, index=False)
    found = xlsx_problems(buf.getvalue())
    assert any("formula element" in p for p in found) and any("formula cell" in p for p in found)
    assert len(csv_problems(pd.DataFrame({"a": HOSTILE}).to_csv(sep=";", index=False))) == len(HOSTILE)


def test_one_writer_neutralises_and_cleans_every_cell():
    df = pd.DataFrame(
        {
            "Texte": HOSTILE + ["-3", "\x00=cmd", "a\ufffeb\uffff"],
            "Nombre": [-1.5, 2, 3, 4, 5, 6, 7, 8, 9],
            "Liste": [["=x", "y"]] * 9,
        }
    )
    content = export.xlsx_bytes({"=Feuille\ufffe": df, "Secteur [1]": df.head(2)})
    assert xlsx_problems(content) == []
    wb = openpyxl.load_workbook(io.BytesIO(content))
    assert wb.sheetnames == ["=Feuille", "Secteur  1"]
    ws = wb.worksheets[0]
    got = [ws.cell(row=i, column=1).value for i in range(2, 11)]
    # (XML reads a carriage return back as a line feed)
    assert got == ["'" + h.replace("\r", "\n") for h in HOSTILE] + ["-3", "'=cmd", "ab"]
    assert [ws.cell(row=i, column=2).value for i in range(2, 5)] == [-1.5, 2, 3]  # numbers stay numbers
    assert ws["C2"].value == "'=x ; y"  # a list is joined, then neutralised
    text = export.csv_bytes(df).decode("utf-8")
    assert csv_problems(text) == [] and "\ufffe" not in text and "\x00" not in text


def test_workbook_bytes_cleans_cells_written_behind_its_back():
    """A report sheet built cell by cell: a U+FFFE or a formula assigned directly is saved safe."""
    wb = openpyxl.Workbook()
    wb.active["A1"] = "=1+1"
    wb.active["A2"] = "Caen\ufffe"
    wb.active.title = "Synthèse\uffff"
    content = export.workbook_bytes(wb)
    assert xlsx_problems(content) == []
    ws = openpyxl.load_workbook(io.BytesIO(content)).active
    assert (ws.title, ws["A1"].value, ws["A2"].value) == ("Synthèse", "'=1+1", "Caen")


# --------------------------------------------------------------------------- every export of a hostile database


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory):
    """A copy of the built database where every imported or source text is hostile."""
    from analysis import config, db

    src = config.default_db_path()
    if not src.exists():
        pytest.skip("base construite absente (python -m analysis.build)")
    out = tmp_path_factory.mktemp("hostile") / "observatoire.duckdb"
    shutil.copyfile(src, out)
    con = db.connect(out)
    names = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    if "site_travel_times" not in names:
        con.close()
        pytest.skip("base sans site_travel_times")
    cases = " ".join(f"WHEN {i} THEN ${i + 1}" for i in range(len(HOSTILE)))
    pick = f"CASE hash({{key}}) % {len(HOSTILE)} {cases} END"
    params = {str(i + 1): h for i, h in enumerate(HOSTILE)}
    con.execute(
        f"UPDATE offers SET sector = {pick.format(key='offer_id')} || ' ' || sector, "
        f"street = {pick.format(key='street')} || ' rue', town = {pick.format(key='town')} || town",
        params,
    )
    con.execute(f"UPDATE communes SET name = {pick.format(key='code')} || name", params)
    con.execute(f"UPDATE epci SET name = {pick.format(key='siren')} || name", params)
    con.execute(f"UPDATE territory_indicators SET name = {pick.format(key='code')} || name", params)
    con.execute(f"UPDATE collective_projects SET name = {pick.format(key='project_id')} || name", params)
    # 2,000-character fields with U+FFFE: one project's sectors and note, and the sector of every
    # offer of Giberville's EPCI (CU Caen la Mer), four distinct sectors there
    con.execute("UPDATE collective_projects SET sectors = ?, note = ? WHERE project_id = 'SC01'", [LONG, LONG])
    con.execute(
        """UPDATE offers SET sector = substr(?, 1, 1990) || ' secteur ' || (hash(offer_id) % 4)
           WHERE commune_code IN (SELECT code FROM communes
                                  WHERE epci_siren = (SELECT epci_siren FROM communes WHERE code = '14301'))""",
        [LONG],
    )
    con.execute("UPDATE provenance SET path = ?, publisher = ?", ["\t=cmd|' /C calc'!A0", "@x\uffff"])
    con.execute("CHECKPOINT")
    con.close()
    return out


@pytest.fixture(scope="module")
def hostile_con(hostile_db):
    from analysis import db

    con = db.connect(hostile_db, read_only=True)
    yield con
    con.close()


def _territories(con) -> list[tuple[str, str | None]]:
    epci, dep = con.execute("SELECT epci_siren, dep FROM communes WHERE code = '14118'").fetchone()
    return [("commune", "14118"), ("epci", epci), ("departement", dep), ("region", None)]


@pytest.mark.parametrize("level", ["commune", "epci", "departement", "region"])
def test_reports_at_every_level_hold_no_formula_and_stay_valid(hostile_con, level):
    from analysis import report

    code = dict(_territories(hostile_con))[level]
    xlsx, _, _ = report.build_report(hostile_con, level, code, "xlsx")
    assert xlsx_problems(xlsx) == []
    values = {c.value for ws in openpyxl.load_workbook(io.BytesIO(xlsx)).worksheets for r in ws.iter_rows() for c in r}
    assert any(isinstance(v, str) and v.startswith(NEUTRALISED) for v in values)  # planted texts, as text
    for rows in ("territoires", "origines"):
        for header in ("fr", "cles"):
            content = report.build_report(hostile_con, level, code, "csv", rows=rows, header=header)[0]
            assert csv_problems(content) == [], (rows, header)
            assert "\ufffe" not in content.decode("utf-8")
    text = pdf_text(report.build_report(hostile_con, level, code, "pdf")[0])
    assert "Portrait de territoire" in text


def test_report_pdf_cuts_the_2000_character_field(hostile_con):
    """The sector of the offers of CU Caen la Mer (2,000 characters): the EPCI's PDF shows its start and
    « … » (table « Offres par secteur »), the XLSX all of it."""
    from analysis import report

    epci = dict(_territories(hostile_con))["epci"]
    text = pdf_text(report.build_report(hostile_con, "epci", epci, "pdf")[0])
    assert re.search(r"=1\+1 texte long[^…]{0,600}…", text)  # its start, then « … »
    cells = text.count("=1+1 texte")  # cells showing the field (several tables)
    assert cells and text.count("texte long") <= 30 * cells  # each cut: the whole field has 117
    wb = openpyxl.load_workbook(io.BytesIO(report.build_report(hostile_con, "epci", epci, "xlsx")[0]))
    longest = max(len(c.value) for ws in wb.worksheets for r in ws.iter_rows() for c in r if isinstance(c.value, str))
    assert longest == len("'" + LONG[:1990].replace("\ufffe", "") + " secteur 0")  # whole, U+FFFE dropped


def test_planner_sites_exports_hold_no_formula(hostile_con):
    from analysis.planning import demand, sites
    from analysis.planning import export as pexport

    spec = demand.DemandSpec("walk", 30, "commune")
    plan = sites.plan_sites(hostile_con, spec, 5)
    described = sites.describe_sites(hostile_con, plan.sites, "commune")
    assert len(described) == 5 and described["offers_within"].min() >= 1
    content = pexport.sites_xlsx(described, plan.projects, spec.unit, plan.notes)
    assert xlsx_problems(content) == []
    wb = openpyxl.load_workbook(io.BytesIO(content))
    sheet = wb["Structures potentielles"]
    assert sheet.max_row - 1 == int(described["offers_within"].sum())  # one row per potential host
    sectors = [r[3] for r in sheet.iter_rows(min_row=2, values_only=True)]
    assert sectors and all(s.startswith("'") or not s.startswith(FORMULA_START) for s in sectors)
    names = [r[1] for r in wb["Projets existants"].iter_rows(min_row=2, values_only=True)]
    assert any(n.startswith("'=HYPERLINK") for n in names)  # a collective project's name, as text
    assert csv_problems(export.csv_bytes(pexport.sites_table(described))) == []


def test_planner_cli_sites_files_hold_no_formula(hostile_db, tmp_path, capsys):
    from analysis.planning.__main__ import main

    for fmt in ("xlsx", "csv"):
        out = tmp_path / f"sites.{fmt}"
        args = ["sites", "--mode", "walk", "--minutes", "30", "--origin", "commune", "--count", "3"]
        assert main([*args, "--format", fmt, "--out", str(out), "--db", str(hostile_db)]) == 0, capsys.readouterr()
        problems = xlsx_problems(out.read_bytes()) if fmt == "xlsx" else csv_problems(out.read_bytes())
        assert problems == []


@pytest.mark.parametrize("fmt", ["xlsx", "pdf"])
def test_programme_files_hold_no_formula_and_stay_valid(hostile_db, tmp_path, capsys, fmt):
    """A programme at Caen, where every offer's sector is 2,000 characters with U+FFFE."""
    from analysis.planning.__main__ import main

    out = tmp_path / f"programme.{fmt}"
    args = ["programme", "--commune", "14118", "--pupils", "6", "--type", "multisectoriel", "--days", "5"]
    rc = main([*args, "--capacity", "3", "--radius", "30", "--out", str(out), "--db", str(hostile_db)])
    err = capsys.readouterr().err
    assert rc == 0, err
    if fmt == "xlsx":
        content = out.read_bytes()
        assert xlsx_problems(content) == []
        values = [c.value for ws in openpyxl.load_workbook(io.BytesIO(content)).worksheets for r in ws for c in r]
        assert any(isinstance(v, str) and v.startswith("'=1+1 texte long") for v in values)
    else:
        text = pdf_text(out.read_bytes())
        assert "Rotation des sous-groupes" in text and "…" in text


def test_page_and_command_csvs_hold_no_formula(hostile_db, hostile_con, capsys):
    """The pages' CSV buttons (ui.core.csv_bytes) and the access command's CSV."""
    from analysis import access
    from ui import core

    table = hostile_con.execute("SELECT code, name, population FROM communes").df()
    assert csv_problems(core.csv_bytes(table)) == []
    assert access.main(["--level", "commune", "--format", "csv", "--db", str(hostile_db)]) == 0
    out = capsys.readouterr().out
    assert csv_problems(out, sep=",") == [] and "'@SUM(A1:A9)" in out  # commune names, neutralised


def test_import_templates_go_through_the_writer(tmp_path):
    from analysis.imports.templates import write_templates

    for path in write_templates(tmp_path):
        content = path.read_bytes()
        assert (xlsx_problems(content) if path.suffix == ".xlsx" else csv_problems(content)) == []


# --------------------------------------------------------------------------- import: bidi controls, noncharacters


@pytest.fixture(scope="module")
def import_db(tmp_path_factory):
    """A copy of the built database for dry-run imports."""
    from analysis import config

    src = config.default_db_path()
    if not src.exists():
        pytest.skip("base construite absente (python -m analysis.build)")
    out = tmp_path_factory.mktemp("imports") / "observatoire.duckdb"
    shutil.copyfile(src, out)
    return out


def _offer_csv(employer: str = "Acme", street: str = "1 rue de la Gare", town: str = "Giberville") -> bytes:
    return (
        "identifiant;employeur;secteur;adresse;code_postal;commune;niveaux\n"
        f"t1;{employer};Industrie;{street};14730;{town};seconde\n"
    ).encode()


@pytest.mark.parametrize(
    "kwargs,field,words",
    [
        ({"employer": "Acme\u202eexe.pdf"}, "employeur", "U+202E"),
        ({"street": "1 rue\u2066 de la Gare"}, "adresse", "U+2066"),
        ({"street": "1 rue\ufffe"}, "adresse", "U+FFFE"),
        ({"employer": "Acme\uffff"}, "employeur", "U+FFFF"),
        ({"town": "Giberville\ufdd0"}, "commune", "U+FDD0"),
    ],
)
def test_import_refuses_bidi_controls_and_noncharacters(import_db, kwargs, field, words):
    """Old code: « Acme\\u202eexe.pdf » and U+FFFE were accepted (U+FFFE then broke every XLSX)."""
    from analysis import imports

    res = imports.import_file(
        imports.ImportRequest(None, "offers", data=_offer_csv(**kwargs), name="b.csv", db_path=import_db, dry_run=True)
    )
    assert (res.rows_in, res.accepted, res.quarantined) == (1, 0, 1)
    q = res.quarantine.iloc[0]
    assert q["field"] == field and words in q["reason"] and q["row_number"] == 1
    assert "sens d'écriture" in q["reason"] or "non-caractère" in q["reason"]


def test_import_accepts_right_to_left_text_without_controls(import_db):
    """Arabic or Hebrew letters are text, not controls: accepted."""
    from analysis import imports

    res = imports.import_file(
        imports.ImportRequest(
            None, "offers", data=_offer_csv(employer="مكتبة Acme"), name="ok.csv", db_path=import_db, dry_run=True
        )
    )
    assert (res.accepted, res.quarantined) == (1, 0)


def test_uploaded_file_name_loses_bidi_controls(import_db):
    from analysis import imports

    res = imports.import_file(
        imports.ImportRequest(
            None, "offers", data=_offer_csv(), name="offres\u202excslx.csv", db_path=import_db, dry_run=True
        )
    )
    assert res.file == "offresxcslx.csv"


def test_scenario_exports_hold_no_formula(hostile_con):
    """Scenario exports (issue 23): hostile commune and EPCI names, a hostile scenario name and
    host sector; XLSX, CSV and PDF valid and without live formula."""
    from analysis.scenario import evaluate, output, spec

    doc = {
        "name": '=HYPERLINK("http://x","y")',
        "bike": {"communes": ["14118"], "kph": 20},
        "hosts": [{"commune": "14301", "sector": "+cmd|' /C calc'!A0", "places": 2}],
    }
    res = evaluate.evaluate(hostile_con, spec.parse(doc))
    assert not res.changed().empty
    assert xlsx_problems(output.to_xlsx(res)) == []
    assert csv_problems(output.to_csv(res)) == []
    assert pdf_text(output.to_pdf(res))
